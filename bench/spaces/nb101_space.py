"""``supernet.space = nb101``: NAS-Bench-101 as a run sees it (Ying et al., ICML 2019).

The cells are those of :mod:`bench.spaces.nb101` (a DAG of at most 7
vertices and 9 edges, ops on the 5 interior vertices); the supernet is
:mod:`bench.supernets.nb101`.

- MS: ops sit on vertices, so MS clusters on an interior vertex slot (5), by
  its op (3), with a fourth cluster for cells that have no vertex in that
  slot (our operationalization).
- Sampling: the official ``random_spec`` (:func:`bench.spaces.nb101.random_cell`).
- Complexity is that of the stand-alone network at the benchmark setting
  (stem 128, 3 stacks of 3 cells). CaLR's extremes (Jeon et al., CVPR 2025,
  Eq. (4): c_min, c_max): the smaller and larger, per measure, of the minimal
  cell, the widest chain (5 conv3x3 in a chain, every vertex at full width,
  plus three input projections: the 9-edge limit) and 2,000 sampled cells
  (our operationalization: the exact maxima would need the whole space).
- Ground truth on CIFAR-10 only: the 292-cell sample
  ``nb101/nb101_sample.json`` of the data directory, one training repeat each
  (docs/data.md); its keys are graph hashes, looked up in the sample's cells.
- ``supernet.channels``: ``dynamic`` (each vertex sliced to the stand-alone
  width) or ``fixed`` (bench.supernets.nb101); ``supernet.C`` is the stem's
  channels and needs one channel per vertex that may feed the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from bench.spaces import nb101
from bench.spaces.base import Benchmark, SearchSpace, ground_truth_file, register_space
from bench.validation import ConfigError

SAMPLE_FILE = Path("nb101") / "nb101_sample.json"
"""The ground truth on CIFAR-10, in the data directory (docs/data.md)."""

MIN_C = 5
"""Interior vertices that may feed an NB101 cell's output: the narrowest ``supernet.C``."""

STANDALONE = dict(stem_channels=128, num_stacks=3, cells_per_stack=3)
"""The benchmark network (Ying et al. 2019, Sec. 2.1): what the ground truth and complexity refer to."""


class NB101Space(SearchSpace):
    name = "nb101"
    label = "NAS-Bench-101"
    citation = "Ying et al., ICML 2019"
    ops = nb101.OPS
    ms_unit = "vertex slot"
    ms_positions = nb101.MAX_VERTICES - 2
    ms_clusters = len(nb101.OPS) + 1  # the last: no vertex in the slot
    datasets = ("cifar10",)
    supernet = "bench.supernets.nb101:NB101Supernet"
    channel_modes = ("dynamic", "fixed")

    def sample(self, rng: np.random.Generator, n: int) -> list[nb101.Cell]:
        return [nb101.random_cell(rng) for _ in range(n)]

    def cluster(self, cell: nb101.Cell, position: int) -> int:
        vertex = position + 1  # slot t holds vertex t (bench.supernets.nb101)
        if vertex >= cell.num_vertices - 1:
            return len(nb101.OPS)  # the cell has no vertex in this slot
        return nb101.OPS.index(cell.ops[vertex])

    def complexity(self, cell: nb101.Cell, **setting) -> nb101.Complexity:
        return nb101.complexity(cell, **setting)

    def extreme_candidates(self) -> list[nb101.Cell]:
        """The minimal cell, and the widest: 5 conv3x3 in a chain (every vertex at full width) plus three
        input projections (the 9-edge limit)."""
        minimal = nb101.make_cell([[0, 1], [0, 0]], [nb101.INPUT, nb101.OUTPUT])
        n = nb101.MAX_VERTICES
        matrix = np.zeros((n, n), dtype=int)
        for v in range(n - 1):
            matrix[v, v + 1] = 1
        matrix[0, 2] = matrix[0, 3] = matrix[0, 4] = 1
        widest = nb101.make_cell(matrix, [nb101.INPUT] + [nb101.CONV3X3] * (n - 2) + [nb101.OUTPUT])
        return [minimal, widest]

    def standalone_setting(self, task) -> dict:
        return dict(**STANDALONE, num_classes=task.num_classes, input_size=task.standalone.input_size,
                    in_channels=task.in_channels)

    def supernet_kwargs(self, *, C: int, N: int, drop_path: float, channels: str) -> dict:
        return dict(C=C, num_stacks=3, cells_per_stack=N, channels=channels)

    def load_benchmark(self, task, data_dir: Path | None) -> Benchmark:
        """The 292-cell sample (``nb101/nb101_sample.json``, one training repeat each)."""
        # Here, not at the top: config loading stays free of pandas, and the loader imports bench.spaces.nb101.
        from bench.groundtruth.nb101 import DEFAULT_COLUMN, load_nb101, read_cells_json

        self.check_dataset(task.dataset)
        path = ground_truth_file(data_dir, SAMPLE_FILE)
        cells = {c.hash: c for c in read_cells_json(path)}
        return Benchmark(load_nb101(path), DEFAULT_COLUMN, lambda keys: self.parse_keys(keys, cells))

    def parse_keys(self, keys: Sequence[str], cells: dict | None = None) -> list[nb101.Cell]:
        """The cells of graph hashes, looked up in ``cells`` (hash -> Cell: a hash does not give the graph
        back)."""
        return [cells[k] for k in keys]

    def check_options(self, config) -> None:
        super().check_options(config)
        if config.supernet.C < MIN_C:
            raise ConfigError(f"supernet.C = {config.supernet.C} is too narrow for NB101: a cell's output channels "
                              f"are split among up to {MIN_C} vertices, each needs one; allowed: supernet.C >= "
                              f"{MIN_C}")


NB101 = register_space(NB101Space())
