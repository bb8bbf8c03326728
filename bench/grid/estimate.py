"""Rough cost estimates of a grid's runs, for ``bench grid --dry-run`` and the progress display.

A run's cost is estimated, in this order, from:

1. ``same setting``: finished runs in the grid directory whose config equals
   this run's but for seed and name (their mean ``train_seconds +
   score_seconds``);
2. ``finished runs' throughput``: finished runs with the same dataset,
   supernet width and depth and batch size; their images trained per second
   and subnet-images scored per second, applied to this run's work (epochs x
   batches x images, FairNAS counted as 5 subnets per image; pool size x
   held-out images);
3. ``timed here``: a few training steps of this run's recipe and the scoring
   of a few subnets on synthetic images of the dataset's shape, timed on this
   machine with the threads a run will get (the measurement of ``bench perf``,
   on the run's own setting);
4. otherwise unknown.

The figures are for this machine (or wherever the finished runs ran) and
ignore data loading and start-up; treat them as the right order of magnitude.

Wall time (:func:`packed_wall_seconds`): the runs' total over the runs at a
time. Runs packed K to a CUDA device (``bench grid --jobs-per-device K``) do
not each get the device's full speed: each goes at the packing efficiency of
its speed alone, the throughput of K packed runs relative to K times one run
(1: packing is free; 1/K: it gains nothing). :func:`packing_efficiency` takes
the value ``scripts/device_check.sh`` measured on this kind of GPU for that K
(recorded in :func:`packing_file`), else :data:`DEFAULT_PACKING_EFFICIENCY`,
and says which. The estimates of single runs are of runs alone, except those
from finished runs that themselves ran packed: those are already slowed, and
the wall time then comes out long.

Loading a grid spec and ``bench grid --help`` import this module: torch (and
the modules that import it) is imported only inside the functions that time
or query a device, which a dry run without finished runs reaches, a spec
check never.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from bench.config import RunConfig, build_config, to_dict
from bench.grid.store import GridDir
from bench.heuristics import registry
from bench import metric_names as names
from bench.spaces import get_space

TRAIN_SET_SIZES = {"digits": 1797, "cifar10": 50000}  # images in each dataset's training set
TABLE_SIZES = {"digits": 200, "cifar10": 15625}  # cells in the default ground-truth table ('all')
TIMED_STEPS = 8
# Packed runs' throughput relative to the same runs alone, where nothing was measured. An assumption, not a
# measurement: a small supernet (NB201 C=16, batch 64) leaves a large GPU idle between its many small kernels,
# so K processes mostly fill each other's gaps, less the GPU's time-slicing between their contexts and their
# contention for CPU cores; 0.8 is a middle guess between those. scripts/device_check.sh measures it.
DEFAULT_PACKING_EFFICIENCY = 0.8
PACKING_FILE_ENV = "BENCH_PACKING_FILE"


@dataclass(frozen=True)
class Estimate:
    seconds: float | None
    how: str


@dataclass(frozen=True)
class PackingEfficiency:
    per_device: int  # runs sharing one device
    value: float  # throughput of per_device packed runs / (per_device x one run alone)
    how: str  # measured where and when, or assumed


@dataclass(frozen=True)
class Rates:
    train_images_per_s: float
    score_subnet_images_per_s: float


def work(config: RunConfig) -> tuple[int, int]:
    """(images to train, subnet-images to score) of a run, from its config alone."""
    n = TRAIN_SET_SIZES[config.data.dataset]
    train_size, valid_size = config.data.train_size, config.data.valid_size
    if train_size is None and valid_size is None:
        train_size = valid_size = n // 2
    elif train_size is None:
        train_size = n - valid_size
    elif valid_size is None:
        valid_size = n - train_size
    train = max(1, round(config.data.portion * train_size)) if config.data.portion < 1 else train_size
    steps = max(1, train // config.train.batch_size)
    per_step = registry.selection(config.heuristics, "sampling").subnets_per_step
    images = _supernet_epochs(config) * steps * config.train.batch_size * per_step
    held_out = config.data.eval_images or valid_size
    pool = TABLE_SIZES[config.data.dataset] if config.eval.pool_size == "all" else config.eval.pool_size
    return images, pool * held_out


def _supernet_epochs(config: RunConfig) -> int:
    """Epochs over all (sub-)supernets: ``train.epochs``, or a split run's schedule total (bench.nshot)."""
    partition = registry.build(config.heuristics, "partition")
    if not partition.is_split:
        return config.train.epochs

    n_ops = len(get_space(config.supernet.space).root_ops(config.supernet.op_set))
    return partition.schedule(config.train.epochs, 1, n_ops).total_supernet_epochs


def setting_id(config_dict: dict) -> str:
    """A run's setting: its config without seed and name."""
    d = {k: v for k, v in config_dict.items() if k not in ("seed", "name")}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _shape_group(config: RunConfig) -> tuple:
    net = config.supernet
    return (config.data.dataset, net.space, net.channels, net.C, net.N, config.train.batch_size)


def _finished(grid_dir: GridDir) -> list[tuple[RunConfig, dict]]:
    out = []
    for key in grid_dir.done_keys():
        run = grid_dir.run_dir(key)
        try:
            config = build_config(yaml.safe_load((run / "config.yaml").read_text()))
            metrics = json.loads((run / "metrics.json").read_text())
        except Exception:  # noqa: BLE001 - a run of an older schema: not usable for estimates
            continue
        out.append((config, metrics))
    return out


def estimate_runs(runs, grid_dir: GridDir | None, threads: int | None = None, measure: bool = True
                  ) -> dict[str, Estimate]:
    """An :class:`Estimate` per run key (see the module docstring for how)."""
    finished = _finished(grid_dir) if grid_dir is not None else []
    by_setting: dict[str, list[float]] = {}
    totals: dict[tuple, list[float]] = {}
    for config, m in finished:
        by_setting.setdefault(setting_id(to_dict(config)), []).append(m[names.TRAIN_SECONDS] + m[names.SCORE_SECONDS])
        images, subnet_images = work(config)
        t = totals.setdefault(_shape_group(config), [0.0, 0.0, 0.0, 0.0])
        t[0] += m.get(names.IMAGES_TRAINED, images)
        t[1] += m[names.TRAIN_SECONDS]
        t[2] += subnet_images
        t[3] += m[names.SCORE_SECONDS]
    rates = {g: Rates(t[0] / max(t[1], 1e-9), t[2] / max(t[3], 1e-9)) for g, t in totals.items()}

    estimates = {}
    timed: dict[tuple, Rates | None] = {}
    for run in runs:
        same = by_setting.get(setting_id(to_dict(run.config)))
        if same:
            estimates[run.key] = Estimate(sum(same) / len(same), f"same setting ({len(same)} finished)")
            continue
        group = _shape_group(run.config)
        how = "finished runs' throughput"
        rate = rates.get(group)
        if rate is None and measure:
            if group not in timed:
                timed[group] = time_setting(run.config, threads)
            rate, how = timed[group], "timed here"
        if rate is None:
            estimates[run.key] = Estimate(None, "unknown")
            continue
        images, subnet_images = work(run.config)
        seconds = images / rate.train_images_per_s + subnet_images / rate.score_subnet_images_per_s
        estimates[run.key] = Estimate(seconds, how)
    return estimates


def time_setting(config: RunConfig, threads: int | None = None, steps: int = TIMED_STEPS) -> Rates | None:
    """Training and scoring throughput of ``config``'s supernet and recipe (:func:`bench.assembly.assemble`, every
    seed 0) on synthetic images of its dataset's shape."""
    # torch-free spec loading: these import torch, and only timing needs them.
    import torch

    from bench.assembly import assemble
    from bench.data import DeviceBatches
    from bench.evaluate import score_pool
    from bench.perf import synthetic_images
    from bench.run import resolve_device
    from bench.seeds import seed_streams
    from bench.tasks import crop_padding, get_task

    # Two epochs of `steps` steps are timed (a warm-up and a measured one): the schedule must cover them.
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=2))
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        task = get_task(config.data.dataset)
        shape = task.standalone
        device = resolve_device(config.train.device)
        batch = config.train.batch_size
        size = config.data.resolution or shape.input_size
        images = synthetic_images(steps * batch, size=size, channels=shape.in_channels)
        batches = DeviceBatches(images, batch, device, seed=0, pad=crop_padding(task, config.data),
                                flip=task.default_flip)
        seeds = dataclasses.replace(seed_streams(config), init=0, sampling=0, data=0)
        built = assemble(config, task, batches, seeds, progress=False)
        model, trainer = built.model, built.trainer
        trainer.train_epoch(0)  # warm-up
        start = time.perf_counter()
        record = trainer.train_epoch(1)
        train_rate = record.images / (time.perf_counter() - start)
        held_out = DeviceBatches(synthetic_images(512, size=shape.input_size, channels=shape.in_channels, seed=1),
                                 config.eval.batch_size, device, augment=False, shuffle=False, drop_last=False)
        pool = get_space(config.supernet.space).sample(np.random.default_rng(0), 3)
        start = time.perf_counter()
        score_pool(model, pool, held_out, progress=False)
        score_rate = len(pool) * 512 / (time.perf_counter() - start)
        return Rates(train_rate, score_rate)
    except Exception:  # noqa: BLE001 - an estimate is optional; the run itself reports real problems
        return None
    finally:
        torch.set_num_threads(previous)


def packed_wall_seconds(run_seconds: float, slots: int, efficiency: float = 1.0) -> float:
    """Wall time of runs totalling ``run_seconds`` (each timed alone) executed ``slots`` at a time, each at
    ``efficiency`` of its speed alone (1 unless several share a device)."""
    return run_seconds / (max(1, slots) * efficiency)


def packing_efficiency(per_device: int, gpu: str | None, recorded: dict) -> PackingEfficiency:
    """The efficiency of ``per_device`` runs on one ``gpu``: what ``recorded`` (:func:`recorded_packing`) holds
    for that GPU and number of runs, else :data:`DEFAULT_PACKING_EFFICIENCY`."""
    if per_device <= 1:
        return PackingEfficiency(per_device, 1.0, "one run per device")
    entry = (recorded.get(gpu) or {}).get(str(per_device)) if gpu else None
    value = entry.get("efficiency") if isinstance(entry, dict) else None
    if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
        return PackingEfficiency(per_device, float(value),
                                 f"packing efficiency {value:.2f} for {per_device} runs per device, measured on "
                                 f"{gpu} {entry.get('measured', '')}".rstrip())
    return PackingEfficiency(per_device, DEFAULT_PACKING_EFFICIENCY,
                             f"assumed packing efficiency {DEFAULT_PACKING_EFFICIENCY} for {per_device} runs per "
                             f"device; scripts/device_check.sh measures it")


def packing_file() -> Path:
    """Where this machine's measured packing efficiencies are kept: ``$BENCH_PACKING_FILE``, else
    ``$XDG_CACHE_HOME/bench/packing.json`` (``~/.cache``). Keyed by GPU name, as a home directory is often
    shared by machines with other GPUs."""
    if os.environ.get(PACKING_FILE_ENV):
        return Path(os.environ[PACKING_FILE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bench" / "packing.json"


def recorded_packing(path: Path | None = None) -> dict:
    """``{gpu name: {runs per device: {"efficiency": ..., "measured": date, ...}}}``; empty where none is."""
    try:
        data = json.loads((path or packing_file()).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_packing(gpu: str, per_device: int, efficiency: float, path: Path | None = None, **detail) -> Path:
    """Keep a measured packing efficiency for :func:`packing_efficiency` (scripts/device_check.sh calls this)."""
    path = path or packing_file()
    data = recorded_packing(path)
    entry = {"efficiency": round(efficiency, 4), "measured": time.strftime("%Y-%m-%d"), **detail}
    if not isinstance(data.get(gpu), dict):
        data[gpu] = {}
    data[gpu][str(per_device)] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def gpu_name() -> str | None:
    """The name of the first CUDA device torch sees (what measured efficiencies are keyed by); None without."""
    import torch  # torch-free spec loading and `bench grid --help`: only this query needs it

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
