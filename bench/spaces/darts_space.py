"""``supernet.space = darts``: the DARTS / NDS space as a run sees it (Liu et al., ICLR 2019; Radosavovic
et al., 2019).

The genotypes are those of :mod:`bench.spaces.darts` (a normal and a
reduction cell of 8 (op, input) pairs each, 7 ops); the supernet is
:mod:`bench.supernets.darts`.

- MS clusters on one of the 8 (op, input) pairs of the normal cell, by its op
  (7) (our operationalization: the normal cell is the one repeated most).
- Sampling: every pair's op and input uniform
  (:func:`bench.spaces.darts.random_genotype`).
- Complexity is that of the DARTS evaluation network (C=36, 20 cells;
  NAS-Bench-301's own training used a smaller network, so absolute counts
  differ from its records, ranks hardly). CaLR's extremes (Jeon et al., CVPR
  2025, Eq. (4): c_min, c_max): the smaller and larger, per measure, of
  constructed extreme genotypes (every pair on ``max_pool_3x3`` or on
  ``sep_conv_5x5``, inputs (0, 1) for every node or a chain) and of 2,000
  sampled ones (our operationalization: the exact extremes would need the
  whole space).
- Ground truth on CIFAR-10 only: the 725-cell NAS-Bench-301 sample
  ``darts/nb301_surrogate_sample.json`` of the data directory: surrogate
  predictions (Siems et al., 2020), labelled so in the table and in every
  record (docs/data.md).
- ``supernet.N`` normal cells per stage: 3N + 2 cells with the 2 reductions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from bench.spaces import darts
from bench.spaces.base import Benchmark, SearchSpace, ground_truth_file, register_space

SURROGATE_FILE = Path("darts") / "nb301_surrogate_sample.json"
"""The ground truth on CIFAR-10, in the data directory (docs/data.md)."""


class DARTSSpace(SearchSpace):
    name = "darts"
    label = "DARTS / NDS"
    citation = "Liu et al., ICLR 2019; Radosavovic et al., ICCV 2019"
    ops = darts.OPS
    ms_unit = "normal-cell pair"
    ms_positions = darts.PAIRS_PER_CELL
    ms_clusters = len(darts.OPS)
    datasets = ("cifar10",)
    supernet = "bench.supernets.darts:DARTSSupernet"

    def sample(self, rng: np.random.Generator, n: int) -> list[darts.Genotype]:
        return [darts.random_genotype(rng) for _ in range(n)]

    def cluster(self, genotype: darts.Genotype, pair: int) -> int:
        return darts.OPS.index(genotype.normal.pairs[pair][0])

    def complexity(self, genotype: darts.Genotype, **setting) -> darts.Complexity:
        return darts.complexity(genotype, **setting)

    def extreme_candidates(self) -> list[darts.Genotype]:
        """Every pair on one op, inputs (0, 1) for every node or a chain, for the lightest and heaviest ops."""
        out = []
        for op in (darts.MAX_POOL, darts.SEP_CONV_5):
            for chain in (False, True):
                pairs = []
                for node in range(darts.NUM_NODES):
                    inputs = (node, node + 1) if chain else (0, 1)
                    pairs += [(op, inputs[0]), (op, inputs[1])]
                out.append(darts.Genotype(normal=pairs, reduce=pairs))
        return out

    def standalone_setting(self, task) -> dict:
        return dict(C=darts.DEFAULT_C, layers=darts.DEFAULT_LAYERS, num_classes=task.num_classes,
                    input_size=task.standalone.input_size, in_channels=task.in_channels)

    def supernet_kwargs(self, *, C: int, N: int, drop_path: float, channels: str) -> dict:
        return dict(C=C, layers=3 * N + 2)

    def load_benchmark(self, task, data_dir: Path | None) -> Benchmark:
        """The 725-cell NAS-Bench-301 sample: surrogate predictions, labelled so in the table."""
        # Here, not at the top: config loading stays free of pandas, and the loader imports bench.spaces.darts.
        from bench.groundtruth.darts import SURROGATE_COLUMN, load_darts

        self.check_dataset(task.dataset)
        path = ground_truth_file(data_dir, SURROGATE_FILE)
        return Benchmark(load_darts(path), SURROGATE_COLUMN, self.parse_keys)

    def parse_keys(self, keys: Sequence[str], cells: dict | None = None) -> list[darts.Genotype]:
        return [darts.parse_genotype(k) for k in keys]


DARTS = register_space(DARTSSpace())
