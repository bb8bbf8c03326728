"""Few-shot NAS's exhaustive split, and the choice of the edge to split.

Sources
-------
- Few-shot NAS: Zhao et al., "Few-shot Neural Architecture Search", ICML
  2021. After training the one-shot supernet for some epochs, split it on one
  edge into one sub-supernet per op of that edge (exhaustive split, branching
  factor = number of ops); the edge is chosen at random. Each sub-supernet
  trains the subnets it contains; a subnet is scored by the sub-supernet
  holding it. The CaLR+MS supplement (Jeon et al., CVPR 2025), Algorithm 3
  (FSNAS), trains each of the K sub-supernets with SPOS for the full T
  iterations.
- GM-NAS: Hu et al., "Generalizing Few-Shot NAS with Gradient Matching", ICLR
  2022. Sec. 5.1: ablations with random edge selection
  (:func:`choose_edge`); the authors' code splits an edge at most once on a
  path (:func:`candidate_edges`).
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from bench.spaces import nb201 as space
from bench.splitting.tree import Leaf, SplitError, _check_edge

__all__ = ["few_shot_split", "choose_edge", "candidate_edges"]


def few_shot_split(leaf: Leaf, edge: int) -> list[Leaf]:
    """Zhao et al. 2021: one child per op allowed on ``edge`` (exhaustive split)."""
    edge = _check_edge(edge)
    ops = leaf.allowed[edge]
    if len(ops) < 2:
        raise SplitError(f"edge {edge} of this leaf carries only {ops}; nothing left to split")
    return leaf.split(edge, [(op,) for op in ops])


def choose_edge(rng: np.random.Generator | None, edge: Union[int, str, None] = "random",
                candidates: Sequence[int] | None = None) -> int:
    """The edge to split: a given index (validated) or a uniformly random one.

    ``edge``: an int in 0..5, ``"first"`` / ``"last"`` (of the candidates),
    or ``"random"`` / None: one uniform draw ``rng.integers(len(candidates))``
    (Few-shot NAS picks the edge at random; GM-NAS's random-edge ablation,
    Sec. 5.1). ``candidates`` (default: all 6 edges) restricts the choice,
    e.g. to :func:`candidate_edges` of a leaf; a given index must be one of
    them. ``rng`` is only used for a random choice.
    """
    pool = tuple(range(space.NUM_EDGES)) if candidates is None else tuple(_check_edge(e) for e in candidates)
    if not pool:
        raise SplitError("no candidate edge to split (every edge is already split down to single ops?)")
    if edge is None or edge == "random":
        if not isinstance(rng, np.random.Generator):
            raise SplitError("a random edge choice needs a numpy Generator (np.random.default_rng(seed))")
        return pool[int(rng.integers(len(pool)))]
    if edge == "first":
        return pool[0]
    if edge == "last":
        return pool[-1]
    if isinstance(edge, str):
        raise SplitError(f"edge choice {edge!r} not understood; allowed: 'random', 'first', 'last' "
                         f"or an int in [0, {space.NUM_EDGES - 1}]")
    edge = _check_edge(edge)
    if edge not in pool:
        raise SplitError(f"edge {edge} is not a candidate for this split; candidates: {list(pool)}")
    return edge


def candidate_edges(leaf: Leaf, groups: int = 2, unsplit_only: bool = True, root: Leaf | None = None) -> tuple[int, ...]:
    """Edges of ``leaf`` that may be split next into ``groups`` groups.

    ``unsplit_only`` (default): only edges still carrying every op, as in the
    GM-NAS authors' code (an edge is split at most once on a path). Otherwise
    every edge with at least ``groups`` ops. ``root`` is the unsplit supernet (default: all ops on every
    edge; :func:`root_leaf` with fewer ops for a smaller space).
    """
    if unsplit_only:
        unsplit = set(range(space.NUM_EDGES)) - set(leaf.split_edges(root))
        return tuple(e for e, ops in enumerate(leaf.allowed) if e in unsplit and len(ops) >= groups)
    return tuple(e for e, ops in enumerate(leaf.allowed) if len(ops) >= max(2, groups))
