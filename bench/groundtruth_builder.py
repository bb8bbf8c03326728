"""Build a ground-truth table by training NAS-Bench-201 cells stand-alone.

This is how the embedded digits table was made (``bench groundtruth build``):
a pool of cells sampled uniformly with a seed, each trained from scratch as
the stand-alone network of :class:`bench.supernets.nb201.NB201Standalone` on
the supernet-training part of the split, with tracked BN statistics, and
scored on the held-out part, like NAS-Bench-201's ``cifar10-valid`` protocol
(Dong & Yang, ICLR 2020, Sec. 2.3). Accuracy is averaged over training seeds.

Each finished (cell, seed) is appended to a ``.partial.jsonl`` file beside
the output, so an interrupted build resumes where it stopped.

It trains, so it lives beside the run rather than among the table loaders of
:mod:`bench.groundtruth` (which :mod:`bench.tasks` imports); the network,
recipe and trainer come from :func:`bench.assembly.assemble_standalone`.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from bench.assembly import assemble_standalone
from bench.config import DataConfig, TrainConfig
from bench.data import DeviceBatches
from bench.evaluate import accuracy
from bench.groundtruth.table import GroundTruthTable, write_frame_atomic
from bench.spaces import nb201 as space
from bench.tasks import get_task, load_split


@dataclass(frozen=True)
class BuildSpec:
    dataset: str
    archs: int
    arch_seed: int
    seeds: tuple[int, ...]
    C: int
    N: int
    train: TrainConfig


def _train_one(spec: BuildSpec, arch_str: str, seed: int) -> float:
    """Held-out accuracy (percent) of one cell trained stand-alone with one seed."""
    torch.set_num_threads(1)  # one process per core
    task = get_task(spec.dataset)
    train_set, valid_set = load_split(task, DataConfig(dataset=spec.dataset), None)
    batches = DeviceBatches(train_set, spec.train.batch_size, pad=task.default_pad,
                            flip=task.default_flip, seed=seed)
    built = assemble_standalone(space.parse_arch(arch_str), spec.C, spec.N, task, spec.train, batches, seed)
    built.trainer.fit()
    model = built.model
    held_out = DeviceBatches(valid_set, 256, augment=False, shuffle=False, drop_last=False,
                             mean=batches.mean, std=batches.std)
    return accuracy(model, model.arch, held_out)


def _load_partial(path: Path) -> dict[tuple[str, int], float]:
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: that net is trained again
            done[(row["arch_str"], row["seed"])] = row["accuracy"]
    return done


def build_table(spec: BuildSpec, out: Path, column: str, jobs: int = 1, progress: bool = True) -> GroundTruthTable:
    """Train every (cell, seed) not yet done, then write the table ``index, arch_str, column, ...``."""
    pool = [str(a) for a in space.sample_archs(spec.archs, seed=spec.arch_seed)]
    partial = out.with_suffix(".partial.jsonl")
    done = _load_partial(partial)
    todo = [(a, s) for a in pool for s in spec.seeds if (a, s) not in done]
    with open(partial, "a") as log, ProcessPoolExecutor(max_workers=jobs) as executor:
        futures = {executor.submit(_train_one, spec, a, s): (a, s) for a, s in todo}
        for future in tqdm(futures, desc="stand-alone training", disable=not progress, unit="net"):
            a, s = futures[future]
            done[(a, s)] = future.result()
            log.write(json.dumps({"arch_str": a, "seed": s, "accuracy": done[(a, s)]}) + "\n")
            log.flush()
    table = _assemble(pool, spec, done, column)
    write_frame_atomic(table.to_frame(), out, float_format="%.4f")
    os.remove(partial)
    return table


def _assemble(pool: Sequence[str], spec: BuildSpec, done: dict, column: str) -> GroundTruthTable:
    rows = []
    for index, arch_str in enumerate(pool):
        per_seed = [done[(arch_str, s)] for s in spec.seeds]
        row = {"index": index, "arch_str": arch_str, column: float(np.mean(per_seed))}
        row.update({f"{column}_seed{s}": acc for s, acc in zip(spec.seeds, per_seed)})
        rows.append(row)
    return GroundTruthTable(pd.DataFrame(rows), benchmark=f"nb201-{spec.dataset}", source="bench groundtruth build")
