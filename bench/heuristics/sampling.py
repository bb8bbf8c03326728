"""Slot ``sampling``: which subnets a training step trains.

- ``spos``: one subnet per step, every edge's op uniform and independent
  (single-path one-shot, Guo et al., ECCV 2020; RSPS, Li & Talwalkar, 2019);
  on NAS-Bench-101 and DARTS, uniform as the space defines it
  (:meth:`bench.spaces.SearchSpace.sample`), and the only sampler offered
  there (the others rely on NAS-Bench-201's fixed edges:
  ``SearchSpace.supports_edge_samplers``).
- ``fairnas``: strict fairness (Chu et al., ICCV 2021, Sec. 3.2, Alg. 1): per
  step, draw a permutation of the ops of every edge and build n subnets, the
  k-th taking the k-th op of each permutation; their gradients on the same
  batch are accumulated and one optimizer step is taken, so every op of every
  edge is trained exactly once per step.
- ``complexity_proportional``: one subnet per step drawn with probability
  proportional to its complexity (the CaLR paper's alternative to CaLR,
  Jeon et al., CVPR 2025, supplement Table G).

With momentum separation (MS), a step belongs to one cluster (the op on the
MS edge). SPOS and complexity-proportional sampling take the cluster of the
drawn subnet; FairNAS draws a cluster uniformly and fixes the MS edge to
that cluster's op in all of the step's subnets (CaLR+MS paper, Sec. 3.3).

Each choice builds a sampler (``plan_epoch(rng, steps)`` -> the steps'
:class:`StepPlan`); what generic code needs to know of a choice without
building it is a class attribute: ``subnets_per_step``,
``collects_gradients`` (MGCS: its gradient statistics are the experiment's
output), ``uniform_single_path`` (the sampling a split run's leaves use) and
``needs_fixed_edges`` (built on NAS-Bench-201's fixed edges).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Sequence

import numpy as np

from bench.heuristics.momentum import MomentumBuffers
from bench.heuristics.registry import (
    Selection,
    choices,
    compatibility_rule,
    param,
    register,
    register_slot,
    selection,
)
from bench.spaces import SearchSpace, Subnet, get_space
from bench.spaces import nb201 as space
from bench.splitting import Leaf, sample_in
from bench.validation import ConfigError

register_slot("sampling", "which subnets each training step trains", default="spos")

MGCS_CHANGES = (1, 3, 5)  # n of the MGCS subnets A_n (supplement Table I)
MGCS_LABELS = tuple(f"A{n}" for n in MGCS_CHANGES)  # their labels in metric names (metric_names.mgcs)


@dataclass(frozen=True)
class StepPlan:
    """What one training step trains: its MS cluster and its subnets (one for SPOS, n for FairNAS)."""

    cluster: int
    archs: tuple[Subnet, ...]


ClusterOf = Callable[[Subnet], int]


class UniformSampler:
    """One subnet per step, drawn as the search space defines uniform sampling (NB201: every edge's op
    uniform; NB101: the official random_spec; DARTS: every pair's op and input uniform)."""

    subnets_per_step = 1

    def __init__(self, cluster_of: ClusterOf, search_space: SearchSpace):
        self.cluster_of = cluster_of
        self.sample = search_space.sample

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        return [StepPlan(self.cluster_of(a), (a,)) for a in self.sample(rng, steps)]


class LeafSampler:
    """Uniform single path inside a sub-supernet (few-shot / GM leaf): each edge's op uniform among the
    ops the leaf allows there (:func:`bench.splitting.sample_in`)."""

    subnets_per_step = 1

    def __init__(self, leaf: Leaf, cluster_of: ClusterOf):
        self.leaf = leaf
        self.cluster_of = cluster_of

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        return [StepPlan(self.cluster_of(a), (a,)) for a in sample_in(self.leaf, rng, steps)]


class FairSampler:
    """FairNAS strict fairness; with MS, the MS edge is fixed to the step's cluster op."""

    subnets_per_step = len(space.OPS)

    def __init__(self, ms_edge: int | None):
        self.ms_edge = ms_edge

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        n_ops = len(space.OPS)
        plans = []
        for _ in range(steps):
            perms = np.stack([rng.permutation(n_ops) for _ in range(space.NUM_EDGES)], axis=1)  # (n_ops, edges)
            cluster = 0
            if self.ms_edge is not None:
                cluster = int(rng.integers(n_ops))
                perms[:, self.ms_edge] = cluster
            plans.append(StepPlan(cluster, tuple(space.Arch.from_indices(row) for row in perms)))
        return plans


class ProportionalSampler:
    """Subnets drawn with probability proportional to a complexity table over the whole space."""

    subnets_per_step = 1

    def __init__(self, weights: np.ndarray, cluster_of: ClusterOf):
        if weights.shape != (space.SPACE_SIZE,) or np.any(weights <= 0):
            raise ValueError("complexity-proportional sampling needs a positive weight for every cell")
        self.p = weights / weights.sum()
        self.cluster_of = cluster_of

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        codes = rng.choice(space.SPACE_SIZE, size=steps, p=self.p)
        archs = [space.arch_from_code(int(c)) for c in codes]
        return [StepPlan(self.cluster_of(a), (a,)) for a in archs]


def space_complexity(measure: str, setting: dict) -> np.ndarray:
    """Complexity of every cell (in code order, see :func:`bench.spaces.nb201.arch_from_code`)."""
    values = [getattr(space.complexity(a, **setting), measure) for a in space.iter_archs()]
    return np.asarray(values, dtype=np.float64)


def fixed_arch_sampler(arch: Subnet) -> "FixedSetSampler":
    """Always the same subnet: trains a stand-alone network with the supernet loop."""
    return FixedSetSampler((arch,))


class FixedSetSampler:
    """The same subnets, all trained in every step (the MGCS experiment)."""

    def __init__(self, archs: tuple[Subnet, ...]):
        self.archs = archs

    @property
    def subnets_per_step(self) -> int:
        return len(self.archs)

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        return [StepPlan(0, self.archs)] * steps


def mgcs_subnets(seed: int, changes: Sequence[int] = MGCS_CHANGES) -> tuple[space.Arch, ...]:
    """A_0 and, for each n in ``changes``, A_n: A_0 with the ops of n random edges changed to other ops.

    Our choice where the supplement (Sec. C.6, Fig. D) leaves it open: ops are
    drawn without ``none``, so that no subnet is degenerate (a degenerate
    subnet's first-layer gradient is zero and its cosine undefined).
    """
    rng = np.random.default_rng(seed)
    ops = [op for op in space.OPS if op != space.NONE]
    base = space.Arch(tuple(ops[i] for i in rng.integers(0, len(ops), size=space.NUM_EDGES)))
    archs = [base]
    for n in changes:
        arch = base
        for edge in rng.choice(space.NUM_EDGES, size=n, replace=False):
            others = [op for op in ops if op != base.ops[edge]]
            arch = arch.with_op(int(edge), others[int(rng.integers(len(others)))])
        archs.append(arch)
    return tuple(archs)


@dataclass(frozen=True)
class Sampling(Selection):
    """Base of the ``sampling`` choices: ``build(momentum=, setting=, search_space=)`` -> a sampler
    (``plan_epoch(rng, steps)``); ``momentum`` is the run's :class:`~bench.heuristics.momentum.MomentumBuffers`
    (the cluster of a step), ``setting`` the complexity setting of the stand-alone network."""

    slot = "sampling"
    subnets_per_step: ClassVar[int] = 1  # subnets a step trains (their gradients accumulated)
    collects_gradients: ClassVar[bool] = False  # the run collects gradient statistics whatever the diagnostics say
    uniform_single_path: ClassVar[bool] = False  # one subnet per step, each edge's op uniform (what a leaf trains)
    needs_fixed_edges: ClassVar[bool] = True  # built on NAS-Bench-201's fixed edges

    def build(self, *, momentum: MomentumBuffers, setting: dict, search_space: SearchSpace):
        raise NotImplementedError


@register
@dataclass(frozen=True)
class SPOSSampling(Sampling):
    name = "spos"
    description = "uniform single path: one subnet per step, each edge's op uniform"
    source = "Guo et al., ECCV 2020 (SPOS), Sec. 3; Li & Talwalkar, UAI 2019 (RSPS)"
    taxonomy = "temporal / decoupled / static sampling (uniform)"
    uniform_single_path = True
    needs_fixed_edges = False

    def build(self, *, momentum: MomentumBuffers, setting: dict, search_space: SearchSpace):
        return UniformSampler(momentum.cluster_of, search_space)


@register
@dataclass(frozen=True)
class FairNASSampling(Sampling):
    name = "fairnas"
    description = ("strict fairness: n subnets per step, each op of every edge exactly once, gradients "
                   "accumulated, one optimizer step")
    source = "Chu et al., ICCV 2021 (FairNAS), Sec. 3.2, Alg. 1"
    taxonomy = "spatial / parameter optimization / global weight sharing"
    subnets_per_step = len(space.OPS)

    def build(self, *, momentum: MomentumBuffers, setting: dict, search_space: SearchSpace):
        return FairSampler(momentum.edge)


@register
@dataclass(frozen=True)
class ComplexityProportionalSampling(Sampling):
    name = "complexity_proportional"
    description = "one subnet per step, drawn with probability proportional to its complexity"
    source = "Jeon et al., CVPR 2025 (CaLR+MS), supplement Table G"
    taxonomy = "temporal / decoupled / static sampling (non-uniform)"
    complexity: str = param("params", "complexity measure of the stand-alone network", choices=("params", "flops"))

    def build(self, *, momentum: MomentumBuffers, setting: dict, search_space: SearchSpace):
        return ProportionalSampler(space_complexity(self.complexity, setting), momentum.cluster_of)


@register
@dataclass(frozen=True)
class MGCSSampling(Sampling):
    """The MGCS experiment (Jeon et al., CVPR 2025, supplement Sec. C.6, Table I); our choice of the subnets:
    :func:`mgcs_subnets`."""

    name = "mgcs"
    description = ("diagnostic, not a training method: the subnets A_0, A_1, A_3, A_5 (n random edges of A_0 "
                   "changed) trained together every step, for the MGCS gradient-similarity experiment")
    source = "Jeon et al., CVPR 2025 (CaLR+MS), supplement Sec. C.6, Table I"
    taxonomy = "diagnostic"
    subnets_per_step = 1 + len(MGCS_CHANGES)
    collects_gradients = True
    seed: int = param(0, "seed of A_0 and of the changed edges", low=0)

    def build(self, *, momentum: MomentumBuffers, setting: dict, search_space: SearchSpace):
        return FixedSetSampler(mgcs_subnets(self.seed))

    def check(self, chosen, config) -> None:
        if chosen["momentum_buffers"].separates:
            raise ConfigError("heuristics.sampling = 'mgcs' trains A_0..A_5 together in every step, so a step has "
                              "no single MS cluster; use heuristics.momentum_buffers = 'shared'")


@compatibility_rule
def _other_samplers_are_nb201_only(heuristics, config) -> None:
    sampling = selection(heuristics, "sampling")
    if config is None or get_space(config.supernet.space).supports_edge_samplers or not sampling.needs_fixed_edges:
        return
    allowed = ", ".join(repr(name) for name, h in choices("sampling").items()
                        if not h.selection_type.needs_fixed_edges)
    raise ConfigError(f"heuristics.sampling = {sampling.name!r} is built on NAS-Bench-201's fixed edges (FairNAS "
                      "permutes each edge's ops, complexity-proportional sampling enumerates the space, MGCS changes "
                      f"edges of one cell); on supernet.space = {config.supernet.space!r} the sampled graph decides "
                      f"which ops exist; allowed there: {allowed}")
