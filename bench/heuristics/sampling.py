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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bench.heuristics.registry import Heuristic, Param, compatibility_rule, register, register_slot
from bench.spaces import SearchSpace, Subnet, get_space
from bench.spaces import nb201 as space  # FairNAS, complexity-proportional and MGCS are NB201's
from bench.splitting import Leaf, sample_in
from bench.validation import ConfigError

register_slot("sampling", "which subnets each training step trains", default="spos")

register(Heuristic(
    "spos", "sampling", "uniform single path: one subnet per step, each edge's op uniform",
    "Guo et al., ECCV 2020 (SPOS), Sec. 3; Li & Talwalkar, UAI 2019 (RSPS)",
    "temporal / decoupled / static sampling (uniform)"))

register(Heuristic(
    "fairnas", "sampling", "strict fairness: n subnets per step, each op of every edge exactly once, "
    "gradients accumulated, one optimizer step",
    "Chu et al., ICCV 2021 (FairNAS), Sec. 3.2, Alg. 1", "spatial / parameter optimization / global weight sharing"))

register(Heuristic(
    "complexity_proportional", "sampling", "one subnet per step, drawn with probability proportional to "
    "its complexity", "Jeon et al., CVPR 2025 (CaLR+MS), supplement Table G",
    "temporal / decoupled / static sampling (non-uniform)",
    {"complexity": Param(str, "params", "complexity measure of the stand-alone network", choices=("params", "flops"))}))


register(Heuristic(
    "mgcs", "sampling", "diagnostic, not a training method: the subnets A_0, A_1, A_3, A_5 (n random edges of "
    "A_0 changed) trained together every step, for the MGCS gradient-similarity experiment",
    "Jeon et al., CVPR 2025 (CaLR+MS), supplement Sec. C.6, Table I", "diagnostic",
    {"seed": Param(int, 0, "seed of A_0 and of the changed edges", low=0)}))


@compatibility_rule
def _mgcs_is_one_cluster(selection, config) -> None:
    if selection["sampling"]["name"] == "mgcs" and selection["momentum_buffers"]["name"] == "ms":
        raise ConfigError("heuristics.sampling = 'mgcs' trains A_0..A_5 together in every step, so a step has no "
                          "single MS cluster; use heuristics.momentum_buffers = 'shared'")


@compatibility_rule
def _other_samplers_are_nb201_only(selection, config) -> None:
    name = selection["sampling"]["name"]
    if config is None or get_space(config.supernet.space).supports_edge_samplers or name == "spos":
        return
    raise ConfigError(f"heuristics.sampling = {name!r} is built on NAS-Bench-201's fixed edges (FairNAS permutes "
                      "each edge's ops, complexity-proportional sampling enumerates the space, MGCS changes edges "
                      f"of one cell); on supernet.space = {config.supernet.space!r} the sampled graph decides which "
                      "ops exist; allowed there: 'spos'")


@dataclass(frozen=True)
class StepPlan:
    """What one training step trains: its MS cluster and its subnets (one for SPOS, n for FairNAS)."""

    cluster: int
    archs: tuple[Subnet, ...]


ClusterOf = Callable[[Subnet], int]


class UniformSampler:
    """One subnet per step, drawn as the search space defines uniform sampling (NB201: every edge's op
    uniform; NB101: the official random_spec; DARTS: every pair's op and input uniform)."""

    def __init__(self, cluster_of: ClusterOf, search_space: SearchSpace):
        self.cluster_of = cluster_of
        self.sample = search_space.sample

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        return [StepPlan(self.cluster_of(a), (a,)) for a in self.sample(rng, steps)]


class LeafSampler:
    """Uniform single path inside a sub-supernet (few-shot / GM leaf): each edge's op uniform among the
    ops the leaf allows there (:func:`bench.splitting.sample_in`)."""

    def __init__(self, leaf: Leaf, cluster_of: ClusterOf):
        self.leaf = leaf
        self.cluster_of = cluster_of

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        return [StepPlan(self.cluster_of(a), (a,)) for a in sample_in(self.leaf, rng, steps)]


class FairSampler:
    """FairNAS strict fairness; with MS, the MS edge is fixed to the step's cluster op."""

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

    def plan_epoch(self, rng: np.random.Generator, steps: int) -> list[StepPlan]:
        return [StepPlan(0, self.archs)] * steps


def build_sampler(selection: dict, ms_edge: int | None, cluster_of: ClusterOf, setting: dict,
                  search_space: SearchSpace):
    name = selection["name"]
    if name == "mgcs":
        from bench.metrics.gradients import mgcs_subnets

        return FixedSetSampler(mgcs_subnets(selection["seed"]))
    if name == "spos":
        return UniformSampler(cluster_of, search_space)
    if name == "fairnas":
        return FairSampler(ms_edge)
    if name == "complexity_proportional":
        return ProportionalSampler(space_complexity(selection["complexity"], setting), cluster_of)
    raise ValueError(f"no sampler for {name!r}")  # unreachable: the registry validated the name
