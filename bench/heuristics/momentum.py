"""Slots ``momentum_buffers`` and ``unused_params``: what momentum remembers, and what moves unused weights.

``momentum_buffers``:

- ``shared``: one momentum buffer per weight, fed by every sampled subnet
  (plain SGD with momentum).
- ``ms``: momentum separation (Jeon et al., CVPR 2025, Sec. 3.3, Eq. (8)):
  subnets are clustered by the op they use on one edge ``e``; each cluster
  keeps its own buffer over all shared weights, and a step of a subnet in
  cluster i reads and updates only buffer i: ``mu_i = beta * mu_i + g;
  W -= lr * mu_i``. The edge is the first searchable one by default; last,
  random (seeded) or an index are options (our choice of names; the paper
  uses the first layer).

``unused_params`` (docs/heuristics.md#unused_params): a weight the sampled subnet did
not use has no gradient.

- ``skip``: it is not touched (PyTorch >= 2.0, where ``zero_grad`` sets
  gradients to None and SGD skips them);
- ``stale``: its gradient counts as zero, so weight decay and its stale
  momentum still move it (PyTorch < 2.0 with zero-filled gradients, the
  behaviour the published supernet code was written against).

Momentum value (beta, 0 allowed) and Nesterov are the knobs ``train.momentum``
and ``train.nesterov`` (listed under the knob slot ``sgd_momentum``); the
CaLR+MS supplement, Table J, compares beta = 0, 0.9 and MS.

Components: a ``momentum_buffers`` choice builds :class:`MomentumBuffers`
(how many buffers the optimizer keeps, the MS position, and the cluster of a
subnet, on the run's search space); an ``unused_params`` choice builds the
``unused`` policy of :class:`bench.heuristics.clustered_sgd.ClusteredSGD`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Sequence, Union

import numpy as np

from bench.heuristics.registry import Selection, param, register, register_slot
from bench.spaces import DEFAULT_SPACE, SearchSpace, get_space
from bench.validation import ConfigError

MS_SOURCE = "Jeon et al., CVPR 2025 (CaLR+MS), Sec. 3.3, Eq. (8); supplement Table J"
SHARING = "spatial / parameter optimization / global weight sharing"

register_slot("momentum_buffers", "which momentum buffer a step reads and updates", default="shared")
register_slot("unused_params", "what moves weights the sampled subnet did not use", default="skip")


@dataclass(frozen=True)
class MomentumBuffers:
    """The momentum buffers of a run: ``clusters`` buffers per weight (1: shared), the MS position ``edge``
    (None: no separation) and the cluster of each subnet on ``search_space``."""

    clusters: int
    edge: int | None
    search_space: SearchSpace

    def cluster_of(self, arch: Any) -> int:
        return 0 if self.edge is None else self.search_space.cluster(arch, self.edge)

    def for_leaf(self, split_edges: Sequence[int]) -> MomentumBuffers:
        """The buffers of a sub-supernet that has split ``split_edges`` (NB201): MS (CaLR+MS supplement,
        Algorithm 3) clusters on an edge other than the split edges: this one unless the leaf has split it,
        then the first edge the leaf has not split (our choice of which one)."""
        if self.edge is None or self.edge not in split_edges:
            return self
        unsplit = [e for e in range(self.search_space.ms_positions) if e not in split_edges]
        return replace(self, edge=unsplit[0] if unsplit else self.edge)


@dataclass(frozen=True)
class MomentumBufferChoice(Selection):
    """Base of the ``momentum_buffers`` choices: ``build(search_space=)`` -> :class:`MomentumBuffers`."""

    slot = "momentum_buffers"
    taxonomy = SHARING
    separates: ClassVar[bool] = False  # a step reads and updates one of several buffers (MS)

    def build(self, *, search_space: SearchSpace) -> MomentumBuffers:
        raise NotImplementedError


@register
@dataclass(frozen=True)
class SharedMomentum(MomentumBufferChoice):
    name = "shared"
    description = "one momentum buffer per weight, shared by all subnets"
    source = "Guo et al., ECCV 2020 (SPOS): SGD with momentum 0.9"

    def build(self, *, search_space: SearchSpace) -> MomentumBuffers:
        return MomentumBuffers(1, None, search_space)


@register
@dataclass(frozen=True)
class MomentumSeparation(MomentumBufferChoice):
    """Momentum separation, MS (Jeon et al., CVPR 2025, Sec. 3.3, Eqs. (7)-(8)): one buffer per cluster of
    subnets, the clusters being the ops of one position. Ours: the position's names ('first', 'last',
    'random') and the positions of NB101 and DARTS (:mod:`bench.spaces`)."""

    name = "ms"
    description = "momentum separation: one buffer per cluster of subnets (the op on one edge)"
    source = MS_SOURCE
    separates = True
    edge: Union[int, str] = param("first", "clustering edge: 'first', 'last', 'random' (with edge_seed) or an "
                                  "index", low=0, words=("first", "last", "random"))
    edge_seed: int = param(0, "seed of the 'random' edge choice", low=0)

    def resolve_edge(self, num_edges: int, unit: str = "edge") -> int:
        """The index of the MS clustering position among ``num_edges``."""
        edge = self.edge
        if edge == "first":
            return 0
        if edge == "last":
            return num_edges - 1
        if edge == "random":
            return int(np.random.default_rng(self.edge_seed).integers(num_edges))
        if not 0 <= edge < num_edges:
            raise ConfigError(f"heuristics.momentum_buffers.edge = {edge} is out of range: MS clusters on one of "
                              f"{num_edges} positions ({unit}s) here; allowed: 'first', 'last', 'random' or an "
                              f"int in [0, {num_edges - 1}]")
        return int(edge)

    def build(self, *, search_space: SearchSpace) -> MomentumBuffers:
        return MomentumBuffers(search_space.ms_clusters, self.resolve_edge(search_space.ms_positions), search_space)

    def check(self, chosen, config) -> None:
        search_space = get_space(config.supernet.space if config is not None else DEFAULT_SPACE)
        self.resolve_edge(search_space.ms_positions, search_space.ms_unit)
        if config is not None and config.train.momentum == 0:
            raise ConfigError("heuristics.momentum_buffers = 'ms' needs train.momentum > 0: with beta = 0 there is "
                              "no momentum buffer to separate")


@dataclass(frozen=True)
class UnusedParams(Selection):
    """Base of the ``unused_params`` choices: ``build()`` -> the ``unused`` policy of ClusteredSGD."""

    slot = "unused_params"
    taxonomy = "spatial / parameter optimization"
    policy: ClassVar[str]  # one of bench.heuristics.clustered_sgd.UNUSED_POLICIES

    def build(self) -> str:
        return self.policy


@register
@dataclass(frozen=True)
class SkipUnused(UnusedParams):
    name = "skip"
    description = "unused weights are not touched (PyTorch >= 2.0: gradient None, skipped)"
    source = "ours (docs/heuristics.md#unused_params); PyTorch 2.0 release notes (zero_grad set_to_none default)"
    policy = "skip"


@register
@dataclass(frozen=True)
class StaleUnused(UnusedParams):
    name = "stale"
    description = ("unused weights still moved by weight decay and stale momentum (PyTorch < 2.0, as the "
                   "published code ran)")
    source = "ours (docs/heuristics.md#unused_params)"
    policy = "stale"
