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
and ``train.nesterov``; the CaLR+MS supplement, Table J, compares beta = 0,
0.9 and MS.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from bench.heuristics.registry import Heuristic, Param, compatibility_rule, register, register_slot
from bench.spaces import DEFAULT_SPACE, get_space
from bench.validation import ConfigError

MS_SOURCE = "Jeon et al., CVPR 2025 (CaLR+MS), Sec. 3.3, Eq. (8); supplement Table J"

register_slot("momentum_buffers", "which momentum buffer a step reads and updates", default="shared")
register_slot("unused_params", "what moves weights the sampled subnet did not use", default="skip")

register(Heuristic(
    "shared", "momentum_buffers", "one momentum buffer per weight, shared by all subnets",
    "Guo et al., ECCV 2020 (SPOS): SGD with momentum 0.9", "spatial / parameter optimization / global weight sharing"))

register(Heuristic(
    "ms", "momentum_buffers", "momentum separation: one buffer per cluster of subnets (the op on one edge)",
    MS_SOURCE, "spatial / parameter optimization / global weight sharing",
    {"edge": Param(Union[int, str], "first", "clustering edge: 'first', 'last', 'random' (with edge_seed) or an index",
                   low=0, words=("first", "last", "random")),
     "edge_seed": Param(int, 0, "seed of the 'random' edge choice", low=0)}))

register(Heuristic(
    "skip", "unused_params", "unused weights are not touched (PyTorch >= 2.0: gradient None, skipped)",
    "ours (docs/heuristics.md#unused_params); PyTorch 2.0 release notes (zero_grad set_to_none default)",
    "spatial / parameter optimization"))

register(Heuristic(
    "stale", "unused_params", "unused weights still moved by weight decay and stale momentum (PyTorch < 2.0, "
    "as the published code ran)", "ours (docs/heuristics.md#unused_params)",
    "spatial / parameter optimization"))


def resolve_edge(selection: dict, num_edges: int, unit: str = "edge") -> int:
    """The index of the MS clustering edge."""
    edge = selection["edge"]
    if edge == "first":
        return 0
    if edge == "last":
        return num_edges - 1
    if edge == "random":
        return int(np.random.default_rng(selection["edge_seed"]).integers(num_edges))
    if not 0 <= edge < num_edges:
        raise ConfigError(f"heuristics.momentum_buffers.edge = {edge} is out of range: MS clusters on one of "
                          f"{num_edges} positions ({unit}s) here; allowed: 'first', 'last', 'random' or an int "
                          f"in [0, {num_edges - 1}]")
    return int(edge)


@compatibility_rule
def _ms_needs_momentum(selection, config) -> None:
    if selection["momentum_buffers"]["name"] == "ms":
        search_space = get_space(config.supernet.space if config is not None else DEFAULT_SPACE)
        resolve_edge(selection["momentum_buffers"], search_space.ms_positions, search_space.ms_unit)
        if config is not None and config.train.momentum == 0:
            raise ConfigError("heuristics.momentum_buffers = 'ms' needs train.momentum > 0: with beta = 0 there is "
                              "no momentum buffer to separate")
