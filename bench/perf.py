"""Throughput of supernet training and scoring (``bench perf``).

Three figures, measured in one process on synthetic CIFAR-sized images (no
data directory needed), each the median of several repeats:

- training loop: images/s of :meth:`bench.train.Trainer.train_epoch`, i.e.
  everything a real run does per step (batching and augmentation on the
  device, subnet sampling, LR setting, forward, backward, clipping, SGD step);
- bare model: images/s of forward + backward alone on the same, pre-built
  batches and subnets; the loop/bare ratio is the loop's overhead (1.0 = none);
- scoring: subnet-images/s of :func:`bench.evaluate.score_pool`.

The training figures are measured alternately in the same run, so ratios
are robust to the machine's load drifting between them. ``--compare`` adds
the loops of SPOS+CaLR+MS and FairNAS+CaLR+MS, per image trained (FairNAS
trains each batch through 5 subnets).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bench.config import load_config
from bench.data import DeviceBatches, ImageSet
from bench.evaluate import score_pool
from bench.heuristics.recipe import build_recipe
from bench.run import attach_diagnostics, resolve_device
from bench.spaces import nb201 as space
from bench.supernets.nb201 import NB201Supernet
from bench.train import SAMPLER_STREAM, Trainer, epoch_rng


VARIANTS = {
    "spos": [],
    "spos-no-gradstats": ["diagnostics.grad_stats=false"],
    "spos+calr+ms": ["heuristics.lr_schedule=calr", "heuristics.momentum_buffers=ms"],
    "fairnas+calr+ms": ["heuristics.sampling=fairnas", "heuristics.lr_schedule=calr",
                        "heuristics.momentum_buffers=ms"],
}
"""Recipes ``bench perf --compare`` times side by side: the cost of the default gradient statistics
(``spos`` collects them, ``spos-no-gradstats`` does not) and of CaLR, MS and FairNAS per image trained."""

CIFAR_STANDALONE = dict(C=16, N=5, num_classes=10, input_size=32, in_channels=3)


@dataclass
class PerfResult:
    C: int
    N: int
    batch_size: int
    steps: int
    repeats: int
    device: str
    loop_images_per_s: dict[str, list[float]]  # per recipe variant, images trained per second
    bare_images_per_s: list[float]
    score_subnet_images_per_s: list[float]

    @property
    def ratio(self) -> float:
        """Median over repeats of the SPOS loop's throughput over the bare model's."""
        return statistics.median(a / b for a, b in zip(self.loop_images_per_s["spos"], self.bare_images_per_s))


def synthetic_images(n: int, size: int = 32, channels: int = 3, seed: int = 0) -> ImageSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, channels, size, size), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.int64)
    return ImageSet(images, labels, tuple(str(i) for i in range(10)), "synthetic")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_loop(trainer: Trainer, epoch: int, device: torch.device) -> tuple[float, int]:
    """(seconds, images trained) of one epoch of the full loop."""
    _sync(device)
    start = time.perf_counter()
    record = trainer.train_epoch(epoch)
    _sync(device)
    return time.perf_counter() - start, record.images


def _time_bare(model: nn.Module, batches: list, archs: list, device: torch.device) -> float:
    loss_fn = nn.CrossEntropyLoss()
    _sync(device)
    start = time.perf_counter()
    for (x, y), arch in zip(batches, archs):
        model.zero_grad(set_to_none=True)
        loss_fn(model(x, arch), y).backward()
    _sync(device)
    return time.perf_counter() - start


def _trainer(variant: list[str], C: int, N: int, batch_size: int, data: DeviceBatches, dev: torch.device):
    config = load_config(None, [f"supernet.C={C}", f"supernet.N={N}", f"train.batch_size={batch_size}",
                                "train.epochs=100"] + variant)
    torch.manual_seed(0)
    model = NB201Supernet(C=C, N=N).to(dev)
    recipe = build_recipe(config, CIFAR_STANDALONE, len(data))
    trainer = Trainer(model, data, config.train, recipe, seed=0, progress=False)
    attach_diagnostics(trainer, config, recipe)
    return trainer


def measure(C: int = 16, N: int = 1, batch_size: int = 64, steps: int = 50, repeats: int = 3,
            device: str = "auto", variants: tuple[str, ...] = ("spos",), score_subnets: int = 5,
            score_images: int = 1024) -> PerfResult:
    """Throughputs of the named recipe variants, the bare model and scoring, interleaved per repeat."""
    dev = resolve_device(device)
    data = DeviceBatches(synthetic_images(steps * batch_size), batch_size, dev, seed=0)
    trainers = {name: _trainer(VARIANTS[name], C, N, batch_size, data, dev) for name in ("spos",) + tuple(
        v for v in variants if v != "spos")}
    for trainer in trainers.values():
        _time_loop(trainer, 0, dev)  # warm-up: allocator, kernels, caches
    model = trainers["spos"].model
    loop = {name: [] for name in trainers}
    bare, scoring = [], []
    for repeat in range(repeats):
        epoch = repeat + 1
        batches = list(data.epoch(epoch))
        archs = [p.archs[0] for p in trainers["spos"].recipe.sampler.plan_epoch(
            epoch_rng(0, epoch, SAMPLER_STREAM), len(batches))]
        bare.append(len(batches) * batch_size / _time_bare(model, batches, archs, dev))
        for name, trainer in trainers.items():
            seconds, images = _time_loop(trainer, epoch, dev)
            loop[name].append(images / seconds)
        scoring.append(_score_rate(model, dev, score_subnets, score_images, seed=repeat))
    return PerfResult(C, N, batch_size, steps, repeats, str(dev), loop, bare, scoring)


def _score_rate(model: nn.Module, dev: torch.device, subnets: int, images: int, seed: int) -> float:
    held_out = DeviceBatches(synthetic_images(images, seed=seed + 1), 256, dev, augment=False, shuffle=False,
                             drop_last=False)
    pool = space.sample_archs(subnets, seed=seed)
    _sync(dev)
    start = time.perf_counter()
    score_pool(model, pool, held_out, progress=False)
    _sync(dev)
    return subnets * images / (time.perf_counter() - start)


def format_report(r: PerfResult) -> str:
    def fmt(values):
        return f"{statistics.median(values):10.1f}  (runs: {', '.join(f'{v:.1f}' for v in values)})"

    lines = [
        f"supernet NB201 C={r.C} N={r.N}, batch {r.batch_size}, {r.steps} steps x {r.repeats} repeats, "
        f"device {r.device}, torch threads {torch.get_num_threads()}",
    ]
    width = 30
    for name, values in r.loop_images_per_s.items():
        lines.append(f"{'loop ' + name:{width}s} images/s        {fmt(values)}")
    lines += [
        f"{'bare fwd+bwd':{width}s} images/s        {fmt(r.bare_images_per_s)}",
        f"{'loop spos / bare':{width}s} ratio           {r.ratio:10.3f}  (1.0 = no loop overhead)",
    ]
    for name, values in r.loop_images_per_s.items():
        if name != "spos":
            ratio = statistics.median(a / b for a, b in zip(values, r.loop_images_per_s["spos"]))
            lines.append(f"{name + ' / spos':{width}s} ratio           {ratio:10.3f}  (per image trained)")
    lines.append(f"{'scoring':{width}s} subnet-images/s {fmt(r.score_subnet_images_per_s)}")
    return "\n".join(lines)
