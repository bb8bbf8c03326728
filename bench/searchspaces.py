"""The three benchmark spaces as a run sees them: sampling, MS clusters, complexity, supernet.

One :class:`SearchSpace` per value of ``supernet.space``. The trainer, the
heuristics and the run reach a space only through it, so that every
heuristic works on every space or is refused there with the reason (the
compatibility rules of :mod:`bench.heuristics`).

- ``nb201``: NAS-Bench-201 (Dong & Yang, ICLR 2020); :mod:`bench.spaces.nb201`,
  :mod:`bench.supernets.nb201`. MS clusters on an edge (6), by its op (5).
- ``nb101``: NAS-Bench-101 (Ying et al., ICML 2019); :mod:`bench.spaces.nb101`,
  :mod:`bench.supernets.nb101`. Ops sit on vertices, so MS clusters on an
  interior vertex slot (5), by its op (3), with a fourth cluster for cells
  that have no vertex in that slot (our operationalization).
- ``darts``: the DARTS / NDS space (Liu et al., ICLR 2019; Radosavovic et al.,
  2019); :mod:`bench.spaces.darts`, :mod:`bench.supernets.darts`. MS clusters on
  one of the 8 (op, input) pairs of the normal cell, by its op (7) (our
  operationalization: the normal cell is the one repeated most).

Complexity is that of the stand-alone network the ground truth refers to:
NB201 at the task's setting (C=16, N=5 for CIFAR-10), NB101 at the benchmark
setting (stem 128, 3 stacks of 3 cells), DARTS at the DARTS evaluation
network (C=36, 20 cells; NAS-Bench-301's own training used a smaller
network, so absolute counts differ from its records, ranks hardly).
CaLR's extremes (Jeon et al., CVPR 2025, Eq. (4): c_min, c_max) come from
each space: exact for NB201; for NB101 and DARTS, the smaller and larger of
constructed extreme cells (the minimal cell / all parameter-free ops, and
the widest chain / all ``sep_conv_5x5``) and of 2,000 sampled cells, per
measure (our operationalization: the exact maxima would need the whole space).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np

from bench.spaces import darts, nb101, nb201
from bench.validation import ConfigError

SPACES = ("nb201", "nb101", "darts")


@dataclass(frozen=True)
class SearchSpace:
    """What a run needs from a search space (see the module docstring for each space's choices)."""

    name: str
    ms_unit: str  # what MS clusters on: "edge", "vertex slot", "normal-cell pair"
    ms_positions: int  # how many of them (the range of heuristics.momentum_buffers.edge)
    ms_clusters: int  # momentum buffers under MS
    sample: Callable[[np.random.Generator, int], list]  # n subnets, uniform as the space defines it
    cluster: Callable[[Any, int], int]  # the MS cluster of a subnet for a position
    complexity: Callable[..., Any]  # (arch, **setting) -> .params, .flops of the stand-alone network
    complexity_extremes: Callable[..., tuple]  # (**setting) -> (smallest, largest), per measure


# -- NAS-Bench-201 ------------------------------------------------------------------------------------


def _nb201_sample(rng: np.random.Generator, n: int) -> list:
    # The exact draws of bench.heuristics.sampling.UniformSampler (runs on NB201 keep their numbers).
    return [nb201.Arch.from_indices(row) for row in rng.integers(0, len(nb201.OPS), size=(n, nb201.NUM_EDGES))]


NB201 = SearchSpace("nb201", "edge", nb201.NUM_EDGES, len(nb201.OPS), _nb201_sample,
                    lambda arch, e: nb201.OPS.index(arch.ops[e]), nb201.complexity, nb201.complexity_extremes)


# -- NAS-Bench-101 ------------------------------------------------------------------------------------


def _nb101_cluster(cell: nb101.Cell, position: int) -> int:
    vertex = position + 1  # slot t holds vertex t (bench.supernets.nb101)
    if vertex >= cell.num_vertices - 1:
        return len(nb101.OPS)  # the cell has no vertex in this slot
    return nb101.OPS.index(cell.ops[vertex])


def _nb101_extreme_candidates() -> list[nb101.Cell]:
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


NB101 = SearchSpace(
    "nb101", "vertex slot", nb101.MAX_VERTICES - 2, len(nb101.OPS) + 1,
    lambda rng, n: [nb101.random_cell(rng) for _ in range(n)], _nb101_cluster,
    lambda cell, **setting: nb101.complexity(cell, **setting),
    lambda **setting: _extremes("nb101", tuple(sorted(setting.items()))))


# -- DARTS ----------------------------------------------------------------------------------------------


def _darts_extreme_candidates() -> list[darts.Genotype]:
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


DARTS = SearchSpace(
    "darts", "normal-cell pair", darts.PAIRS_PER_CELL, len(darts.OPS),
    lambda rng, n: [darts.random_genotype(rng) for _ in range(n)],
    lambda genotype, pair: darts.OPS.index(genotype.normal.pairs[pair][0]),
    darts.complexity, lambda **setting: _extremes("darts", tuple(sorted(setting.items()))))


_CANDIDATES = {"nb101": _nb101_extreme_candidates, "darts": _darts_extreme_candidates}
EXTREMES_SAMPLE = 2000


@lru_cache(maxsize=None)
def _extremes(space_name: str, setting: tuple) -> tuple:
    space = get_space(space_name)
    cells = _CANDIDATES[space_name]() + space.sample(np.random.default_rng(0), EXTREMES_SAMPLE)
    costs = [space.complexity(c, **dict(setting)) for c in cells]
    params = [c.params for c in costs]
    flops = [c.flops for c in costs]
    complexity = type(costs[0])  # the space's own Complexity(params, flops)
    return complexity(min(params), min(flops)), complexity(max(params), max(flops))


_BY_NAME = {s.name: s for s in (NB201, NB101, DARTS)}


def get_space(name: str) -> SearchSpace:
    if name not in _BY_NAME:
        raise ValueError(f"unknown search space {name!r}; allowed: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def require_ground_truth(space_name: str, dataset: str) -> None:
    """NB101 and DARTS have ground truth on CIFAR-10 only (bench.tasks.load_benchmark); anything else is
    refused, with the config (bench.config) and when loading."""
    if space_name != "nb201" and dataset != "cifar10":
        raise ConfigError(f"supernet.space = {space_name!r} has ground truth for CIFAR-10 only; data.dataset = "
                          f"{dataset!r} has none; allowed with {space_name!r}: data.dataset = 'cifar10'")


def standalone_setting(space_name: str, task) -> dict:
    """Keyword arguments of the space's ``complexity`` for the network the ground truth refers to."""
    if space_name == "nb201":
        return task.standalone.as_kwargs()
    common = dict(num_classes=task.num_classes, input_size=task.standalone.input_size,
                  in_channels=task.in_channels)
    if space_name == "nb101":
        return dict(stem_channels=128, num_stacks=3, cells_per_stack=3, **common)
    return dict(C=darts.DEFAULT_C, layers=darts.DEFAULT_LAYERS, **common)


def parse_keys(space_name: str, keys: Sequence[str], cells: dict | None = None) -> list:
    """Subnets of ground-truth keys: NB201 arch strings, DARTS genotype strings, or NB101 hashes (looked
    up in ``cells``, hash -> Cell, since a hash does not give the graph back)."""
    if space_name == "nb201":
        return [nb201.parse_arch(k) for k in keys]
    if space_name == "darts":
        return [darts.parse_genotype(k) for k in keys]
    return [cells[k] for k in keys]
