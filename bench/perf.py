"""Throughput of supernet training and scoring (``bench perf``).

Three figures, measured in one process on synthetic CIFAR-sized images (no
data directory needed), each the median of several repeats:

- training loop: images/s of :meth:`bench.train.Trainer.train_epoch`, i.e.
  everything a real run does per step (batching and augmentation on the
  device, subnet sampling, LR setting, forward, backward, clipping, SGD step);
- bare model: images/s of forward + backward alone on the same, pre-built
  batches and subnets; the loop/bare ratio is the loop's overhead (1.0 = none);
- scoring: subnet-images/s of :func:`bench.evaluate.score_pool`;

and, against the machine's limit (:mod:`bench.perf_ceiling`):

- achieved FLOP/s of the loop and of the bare model: images/s times the
  training FLOPs per image of the subnets sampled in that repeat, from the
  space's closed-form counts (multiply-accumulates, counted as 2 FLOPs each,
  x3 for forward + backward);
- attainable FLOP/s: a large square matmul and a 3x3 conv of the supernet's
  shape (C channels at the input size, the training batch) forward + backward,
  in the same precision; the report prints achieved / attainable.

``precisions=("fp32", "bf16")`` (``bench perf --precision both``) measures
every figure in both precisions (``train.precision``: bf16 autocast), one
after the other within each repeat, and prints the bf16 / fp32 ratios.

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
from bench.perf_ceiling import conv_rate, matmul_rate, sync, train_flops_per_image
from bench.precision import PRECISIONS, autocast
from bench.run import attach_diagnostics, build_supernet, resolve_device
from bench.spaces import get_space
from bench.spaces import nb201 as space  # the scored subnets; perf_ceiling's FLOP accounting is NB201's
from bench.tasks import get_task
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

@dataclass
class PerfResult:
    C: int
    N: int
    batch_size: int
    steps: int
    repeats: int
    device: str
    precisions: tuple[str, ...]
    # Per precision, then per recipe variant: images trained per second, one value per repeat.
    loop: dict[str, dict[str, list[float]]]
    bare: dict[str, list[float]]  # per precision, images/s
    scoring: dict[str, list[float]]  # per precision, subnet-images/s
    flops_per_image: dict[str, list[float]]  # per variant: training FLOPs per image of the repeat's subnets
    matmul_flops: dict[str, list[float]]  # per precision, attainable FLOP/s of an n x n matmul
    conv_flops: dict[str, list[float]]  # per precision, attainable FLOP/s of the supernet-shaped conv
    matmul_n: int

    @property
    def loop_images_per_s(self) -> dict[str, list[float]]:
        """The first precision's loop throughputs per variant."""
        return self.loop[self.precisions[0]]

    @property
    def bare_images_per_s(self) -> list[float]:
        return self.bare[self.precisions[0]]

    @property
    def score_subnet_images_per_s(self) -> list[float]:
        return self.scoring[self.precisions[0]]

    @property
    def ratio(self) -> float:
        """Median over repeats of the SPOS loop's throughput over the bare model's (first precision)."""
        return _median_ratio(self.loop_images_per_s["spos"], self.bare_images_per_s)

    def achieved(self, precision: str, variant: str | None = "spos") -> list[float]:
        """FLOP/s per repeat of the loop of ``variant`` (None: the bare model, on the SPOS subnets)."""
        rates = self.bare[precision] if variant is None else self.loop[precision][variant]
        return [r * f for r, f in zip(rates, self.flops_per_image["spos" if variant is None else variant])]


def _median_ratio(a: list[float], b: list[float]) -> float:
    """Median of the per-repeat ratios a/b (paired: measured in the same repeat)."""
    return statistics.median(x / y for x, y in zip(a, b))


def synthetic_images(n: int, size: int = 32, channels: int = 3, seed: int = 0) -> ImageSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, channels, size, size), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.int64)
    return ImageSet(images, labels, tuple(str(i) for i in range(10)), "synthetic")


def _time_loop(trainer: Trainer, epoch: int, device: torch.device) -> tuple[float, int]:
    """(seconds, images trained) of one epoch of the full loop."""
    sync(device)
    start = time.perf_counter()
    record = trainer.train_epoch(epoch)
    sync(device)
    return time.perf_counter() - start, record.images


def _time_bare(model: nn.Module, batches: list, archs: list, device: torch.device, precision: str = "fp32") -> float:
    loss_fn = nn.CrossEntropyLoss()
    sync(device)
    start = time.perf_counter()
    for (x, y), arch in zip(batches, archs):
        model.zero_grad(set_to_none=True)
        with autocast(device, precision):
            loss = loss_fn(model(x, arch), y)
        loss.backward()
    sync(device)
    return time.perf_counter() - start


def _trainer(variant: list[str], C: int, N: int, batch_size: int, data: DeviceBatches, dev: torch.device,
             precision: str = "fp32"):
    config = load_config(None, [f"supernet.C={C}", f"supernet.N={N}", f"train.batch_size={batch_size}",
                                "train.epochs=100", f"train.precision={precision}"] + variant)
    cifar10 = get_task("cifar10")  # the synthetic images are CIFAR-sized; complexity is the benchmark network's
    torch.manual_seed(0)
    model = build_supernet(config, cifar10).to(dev)
    recipe = build_recipe(config, get_space(config.supernet.space).standalone_setting(cifar10), len(data))
    trainer = Trainer(model, data, config.train, recipe, seed=0, progress=False)
    attach_diagnostics(trainer, config, recipe)
    return trainer


def _epoch_archs(trainer: Trainer, epoch: int, steps: int) -> list:
    """Every subnet the trainer's loop trains in ``epoch`` (the plan is a function of seed and epoch alone)."""
    plans = trainer.recipe.sampler.plan_epoch(epoch_rng(trainer.seed, epoch, SAMPLER_STREAM), steps)
    return [arch for plan in plans for arch in plan.archs]


def measure(C: int = 16, N: int = 1, batch_size: int = 64, steps: int = 50, repeats: int = 3,
            device: str = "auto", variants: tuple[str, ...] = ("spos",), score_subnets: int = 5,
            score_images: int = 1024, precisions: tuple[str, ...] = ("fp32",), matmul_n: int = 2048,
            ceiling_seconds: float = 0.3) -> PerfResult:
    """Throughputs of the named recipe variants, the bare model, scoring and the attainable kernels, in each
    precision, interleaved per repeat."""
    for p in precisions:
        if p not in PRECISIONS:
            raise ValueError(f"precision {p!r}; allowed: {', '.join(PRECISIONS)}")
    dev = resolve_device(device)
    data = DeviceBatches(synthetic_images(steps * batch_size), batch_size, dev, seed=0)
    names = ("spos",) + tuple(v for v in variants if v != "spos")
    trainers = {p: {name: _trainer(VARIANTS[name], C, N, batch_size, data, dev, p) for name in names}
                for p in precisions}
    for by_name in trainers.values():
        for trainer in by_name.values():
            _time_loop(trainer, 0, dev)  # warm-up: allocator, kernels, caches
    loop = {p: {name: [] for name in names} for p in precisions}
    bare = {p: [] for p in precisions}
    scoring = {p: [] for p in precisions}
    matmul = {p: [] for p in precisions}
    conv = {p: [] for p in precisions}
    flops = {name: [] for name in names}
    for repeat in range(repeats):
        epoch = repeat + 1
        batches = list(data.epoch(epoch))
        for name in names:  # the same plans in every precision: they depend on the seed and epoch alone
            flops[name].append(train_flops_per_image(_epoch_archs(trainers[precisions[0]][name], epoch,
                                                                  len(batches)), C, N))
        archs = [plan.archs[0] for plan in trainers[precisions[0]]["spos"].recipe.sampler.plan_epoch(
            epoch_rng(0, epoch, SAMPLER_STREAM), len(batches))]
        for p in precisions:
            model = trainers[p]["spos"].model
            bare[p].append(len(batches) * batch_size / _time_bare(model, batches, archs, dev, p))
            for name, trainer in trainers[p].items():
                seconds, images = _time_loop(trainer, epoch, dev)
                loop[p][name].append(images / seconds)
            scoring[p].append(_score_rate(model, dev, score_subnets, score_images, seed=repeat, precision=p))
            matmul[p] += matmul_rate(matmul_n, p, dev, 1, ceiling_seconds)
            conv[p] += conv_rate(batch_size, C, 32, p, dev, 1, ceiling_seconds)
    return PerfResult(C, N, batch_size, steps, repeats, str(dev), tuple(precisions), loop, bare, scoring, flops,
                      matmul, conv, matmul_n)


def _score_rate(model: nn.Module, dev: torch.device, subnets: int, images: int, seed: int,
                precision: str = "fp32") -> float:
    held_out = DeviceBatches(synthetic_images(images, seed=seed + 1), 256, dev, augment=False, shuffle=False,
                             drop_last=False)
    pool = space.sample_archs(subnets, seed=seed)
    sync(dev)
    start = time.perf_counter()
    score_pool(model, pool, held_out, progress=False, precision=precision)
    sync(dev)
    return subnets * images / (time.perf_counter() - start)


def format_report(r: PerfResult) -> str:
    def fmt(values, scale=1.0):
        values = [v / scale for v in values]
        return f"{statistics.median(values):10.1f}  (runs: {', '.join(f'{v:.1f}' for v in values)})"

    width = 34
    lines = [
        f"supernet NB201 C={r.C} N={r.N}, batch {r.batch_size}, {r.steps} steps x {r.repeats} repeats, "
        f"device {r.device}, torch threads {torch.get_num_threads()}, precision {' and '.join(r.precisions)}",
        f"{'training FLOPs per image':{width}s} MFLOP           {fmt(r.flops_per_image['spos'], 1e6)}  "
        f"(2 x MACs x 3 for fwd+bwd, mean of the SPOS subnets)",
    ]
    conv_name = f"conv3x3 {r.C}ch 32x32 b{r.batch_size} fwd+bwd"
    for p in r.precisions:
        tag = f"[{p}] "
        loop = r.loop[p]
        for name, values in loop.items():
            lines.append(f"{tag + 'loop ' + name:{width}s} images/s        {fmt(values)}")
        lines += [
            f"{tag + 'bare fwd+bwd':{width}s} images/s        {fmt(r.bare[p])}",
            f"{tag + 'loop spos / bare':{width}s} ratio           {_median_ratio(loop['spos'], r.bare[p]):10.3f}"
            f"  (1.0 = no loop overhead)",
        ]
        for name, values in loop.items():
            if name != "spos":
                lines.append(f"{tag + name + ' / spos':{width}s} ratio           "
                             f"{_median_ratio(values, loop['spos']):10.3f}  (per image trained)")
        lines.append(f"{tag + 'scoring':{width}s} subnet-images/s {fmt(r.scoring[p])}")
        achieved_loop, achieved_bare = r.achieved(p), r.achieved(p, None)
        lines += [
            f"{tag + 'achieved loop spos':{width}s} GFLOP/s         {fmt(achieved_loop, 1e9)}",
            f"{tag + 'achieved bare fwd+bwd':{width}s} GFLOP/s         {fmt(achieved_bare, 1e9)}",
            f"{tag + f'attainable matmul {r.matmul_n}':{width}s} GFLOP/s         {fmt(r.matmul_flops[p], 1e9)}",
            f"{tag + 'attainable ' + conv_name:{width}s} GFLOP/s         {fmt(r.conv_flops[p], 1e9)}",
            f"{tag + 'achieved/attainable loop / conv':{width}s} ratio           "
            f"{_median_ratio(achieved_loop, r.conv_flops[p]):10.3f}",
            f"{tag + 'achieved/attainable loop / matmul':{width}s} ratio           "
            f"{_median_ratio(achieved_loop, r.matmul_flops[p]):10.3f}",
            f"{tag + 'achieved/attainable bare / conv':{width}s} ratio           "
            f"{_median_ratio(achieved_bare, r.conv_flops[p]):10.3f}",
        ]
    if len(r.precisions) > 1:
        base, other = r.precisions[0], r.precisions[1]
        pairs = [(f"loop {name}", r.loop[other][name], r.loop[base][name]) for name in r.loop[base]]
        pairs += [("bare fwd+bwd", r.bare[other], r.bare[base]), ("scoring", r.scoring[other], r.scoring[base]),
                  (f"matmul {r.matmul_n}", r.matmul_flops[other], r.matmul_flops[base]),
                  ("conv3x3 fwd+bwd", r.conv_flops[other], r.conv_flops[base])]
        for name, a, b in pairs:
            lines.append(f"{other + ' / ' + base + ' ' + name:{width}s} speed-up        {_median_ratio(a, b):10.3f}")
    return "\n".join(lines)
