"""``supernet.space = nb201``: NAS-Bench-201 as a run sees it (Dong & Yang, ICLR 2020).

The cells are those of :mod:`bench.spaces.nb201` (6 edges, 5 ops, 15,625
cells); the supernet is :mod:`bench.supernets.nb201`.

- MS clusters on an edge (6), by its op (5) (Jeon et al., CVPR 2025, Sec. 3.3).
- Sampling: every edge's op uniform and independent (SPOS / RSPS); the draws
  are those of :class:`bench.heuristics.sampling.UniformSampler` before the
  spaces shared one interface, so runs on NB201 keep their numbers.
- Complexity is that of the stand-alone network at the task's setting
  (C=16, N=5 for CIFAR-10, the benchmark's network; the embedded digits
  table's own setting on digits). CaLR's extremes (Jeon et al., CVPR 2025,
  Eq. (4): c_min, c_max) are exact: all ``none`` and all ``nor_conv_3x3``.
- Ground truth: the task's own table (NAS-Bench-201 on CIFAR-10, the embedded
  table on digits; ``bench.tasks.Task.load_table``).
- The only space with op subsets (``supernet.op_set``: the 4-op space without
  ``none`` of GM-NAS, Hu et al., ICLR 2022, Table 1), drop-path on cell edges,
  the GM probe, few-shot / GM-NAS splitting and the samplers built on fixed
  edges (FairNAS, complexity-proportional, MGCS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from bench.spaces import nb201
from bench.spaces.base import Benchmark, SearchSpace, register_space
from bench.validation import ConfigError

OP_SETS: dict[str, tuple[str, ...]] = {
    "all": nb201.OPS,
    "without_none": tuple(op for op in nb201.OPS if op != nb201.NONE),  # GM-NAS Table 1
}
"""The edge ops of each ``supernet.op_set``."""


class NB201Space(SearchSpace):
    name = "nb201"
    label = "NAS-Bench-201"
    citation = "Dong & Yang, ICLR 2020"
    ops = nb201.OPS
    ms_unit = "edge"
    ms_positions = nb201.NUM_EDGES
    ms_clusters = len(nb201.OPS)
    datasets = None  # every task has its own NB201 table
    supernet = "bench.supernets.nb201:NB201Supernet"
    supports_splitting = True
    supports_edge_samplers = True
    supports_op_subsets = True
    supports_drop_path = True
    supports_gm_probe = True

    def sample(self, rng: np.random.Generator, n: int) -> list[nb201.Arch]:
        # The exact draws of bench.heuristics.sampling.UniformSampler (runs on NB201 keep their numbers).
        return [nb201.Arch.from_indices(row) for row in rng.integers(0, len(nb201.OPS), size=(n, nb201.NUM_EDGES))]

    def cluster(self, arch: nb201.Arch, edge: int) -> int:
        return nb201.OPS.index(arch.ops[edge])

    def complexity(self, arch: nb201.Arch, **setting) -> nb201.Complexity:
        return nb201.complexity(arch, **setting)

    def complexity_extremes(self, **setting) -> tuple:
        return nb201.complexity_extremes(**setting)

    def standalone_setting(self, task) -> dict:
        return task.standalone.as_kwargs()

    def supernet_kwargs(self, *, C: int, N: int, drop_path: float, channels: str) -> dict:
        return dict(C=C, N=N, drop_path=drop_path)

    def load_benchmark(self, task, data_dir: Path | None) -> Benchmark:
        """The task's table: NAS-Bench-201 on CIFAR-10, the embedded table on digits."""
        self.check_dataset(task.dataset)
        return Benchmark(task.load_table(data_dir), task.default_column, self.parse_keys)

    def parse_keys(self, keys: Sequence[str], cells: dict | None = None) -> list[nb201.Arch]:
        return [nb201.parse_arch(k) for k in keys]

    def root_ops(self, op_set: str) -> tuple[str, ...]:
        if op_set not in OP_SETS:
            raise ConfigError(f"supernet.op_set = {op_set!r} is not an op set of NAS-Bench-201; allowed: "
                              f"{', '.join(map(repr, OP_SETS))}")
        return OP_SETS[op_set]

    def in_op_set(self, keys: Sequence[str], op_set: str) -> list[str]:
        ops = self.root_ops(op_set)
        if set(ops) == set(nb201.OPS):
            return list(keys)
        return [a for a in keys if set(nb201.parse_arch(a).ops) <= set(ops)]


NB201 = register_space(NB201Space())
