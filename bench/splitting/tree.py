"""The partition tree of the NAS-Bench-201 space: sub-supernets (leaves), membership, sampling, partitions.

A leaf is a sub-supernet in the sense of GM-NAS (Hu et al., "Generalizing
Few-Shot NAS with Gradient Matching", ICLR 2022), Sec. 3.2 (Eq. (1)): the
set of archs whose op on every split edge lies in that sub-supernet's group
of ops. Splitting a leaf on one edge into groups of that edge's ops gives its
children; the leaves of a run partition the space.

Operationalizations (ours, where the papers leave a choice open)
----------------------------------------------------------------
- Leaves store each edge's allowed ops in the space's op order
  (``space.OPS``), so equal sub-supernets compare and hash equal whatever
  order the groups were given in.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence, Union

import numpy as np

from bench.errors import BenchError
from bench.spaces import nb201 as space

__all__ = ["SplitError", "Partition", "Leaf", "root_leaf", "leaf_of", "leaf_index", "sample_in", "size",
           "is_partition"]


class SplitError(BenchError):
    """A malformed leaf, partition, score matrix, split request or schedule."""


def _check_edge(edge: Any, num_edges: int = space.NUM_EDGES) -> int:
    if isinstance(edge, (bool, np.bool_)) or not isinstance(edge, (int, np.integer)):
        raise SplitError(f"an edge index must be an int in [0, {num_edges - 1}], got {edge!r}")
    if not 0 <= edge < num_edges:
        raise SplitError(f"edge {edge} is out of range; a NAS-Bench-201 cell has edges 0..{num_edges - 1}")
    return int(edge)


def _canonical_ops(ops: Sequence[str], where: str) -> tuple[str, ...]:
    if isinstance(ops, str):
        raise SplitError(f"{where}: expected a sequence of op names, got the string {ops!r}")
    ops = tuple(ops)
    if not ops:
        raise SplitError(f"{where}: no ops allowed (a sub-supernet needs at least one op per edge)")
    for op in ops:
        if op not in space.OPS:
            raise SplitError(f"{where}: unknown op {op!r}; allowed: {', '.join(space.OPS)}")
    if len(set(ops)) != len(ops):
        raise SplitError(f"{where}: duplicate ops in {ops}")
    return tuple(op for op in space.OPS if op in ops)


def _as_arch(arch: Union[space.Arch, str]) -> space.Arch:
    if isinstance(arch, space.Arch):
        return arch
    if isinstance(arch, str):
        return space.parse_arch(arch)
    raise SplitError(f"expected an Arch or an arch string, got {type(arch).__name__}")


Partition = tuple[tuple[str, ...], ...]


def _check_groups(groups: Sequence[Sequence[str]], ops: Sequence[str], where: str) -> Partition:
    if isinstance(groups, str):
        raise SplitError(f"{where}: groups must be a sequence of op groups, got the string {groups!r}")
    out = []
    seen: set[str] = set()
    for group in groups:
        if isinstance(group, str):
            raise SplitError(f"{where}: each group is a sequence of ops; got the string {group!r} "
                             f"(write ({group!r},) for a single op)")
        group = tuple(group)
        if not group:
            raise SplitError(f"{where}: empty group in {groups!r}")
        for op in group:
            if op not in ops:
                raise SplitError(f"{where}: op {op!r} is not among the ops to partition {tuple(ops)}")
            if op in seen:
                raise SplitError(f"{where}: op {op!r} appears in more than one group")
            seen.add(op)
        out.append(tuple(o for o in ops if o in group))
    missing = [op for op in ops if op not in seen]
    if missing:
        raise SplitError(f"{where}: ops {missing} are in no group; the groups must cover {tuple(ops)}")
    return tuple(out)


@dataclass(frozen=True)
class Leaf:
    """A sub-supernet: for each of the 6 edges, the ops still allowed on it (GM-NAS Eq. (1)).

    Immutable and hashable; each edge's ops are kept in ``space.OPS`` order.
    """

    allowed: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        allowed = self.allowed
        if isinstance(allowed, str) or len(allowed) != space.NUM_EDGES:
            raise SplitError(f"a leaf lists the allowed ops of each of the {space.NUM_EDGES} edges, got {allowed!r}")
        canon = tuple(_canonical_ops(ops, f"leaf edge {e}") for e, ops in enumerate(allowed))
        object.__setattr__(self, "allowed", canon)

    # -- membership and size -------------------------------------------------
    def contains(self, arch: Union[space.Arch, str]) -> bool:
        """True when every edge's op of ``arch`` is allowed on that edge."""
        ops = _as_arch(arch).ops
        return all(op in allowed for op, allowed in zip(ops, self.allowed))

    __contains__ = contains

    @property
    def size(self) -> int:
        """Number of archs in the leaf (the product of the allowed op counts)."""
        return math.prod(len(ops) for ops in self.allowed)

    def archs(self) -> Iterator[space.Arch]:
        """Every arch of the leaf, in lexicographic order of the allowed ops."""
        return (space.Arch(ops) for ops in itertools.product(*self.allowed))

    def arch_at(self, code: int) -> space.Arch:
        """The ``code``-th arch of :meth:`archs` (mixed radix, edge 0 most significant)."""
        if not 0 <= code < self.size:
            raise SplitError(f"arch code {code} out of range for a leaf of {self.size} archs")
        ops = []
        for allowed in reversed(self.allowed):
            code, digit = divmod(int(code), len(allowed))
            ops.append(allowed[digit])
        return space.Arch(tuple(reversed(ops)))

    # -- structure -------------------------------------------------------------
    @property
    def is_root(self) -> bool:
        return all(len(ops) == len(space.OPS) for ops in self.allowed)

    def split_edges(self, root: "Leaf | None" = None) -> tuple[int, ...]:
        """Edges on which some op of ``root`` (default: all ops) has been removed (already split)."""
        full = root.allowed if root is not None else (space.OPS,) * space.NUM_EDGES
        return tuple(e for e, ops in enumerate(self.allowed) if len(ops) < len(full[e]))

    def split(self, edge: int, groups: Sequence[Sequence[str]]) -> list["Leaf"]:
        """Child leaves, one per group of ops on ``edge`` (in the order of ``groups``).

        ``groups`` must partition the ops allowed on that edge: non-empty,
        disjoint, covering. A single group (no split) is refused. Each
        child keeps its group's ops in ``space.OPS`` order.
        """
        edge = _check_edge(edge)
        groups = _check_groups(groups, self.allowed[edge], f"split of edge {edge}")
        if len(groups) < 2:
            raise SplitError(f"splitting edge {edge} into one group does not split it; give 2 or more groups")
        children = []
        for group in groups:
            allowed = list(self.allowed)
            allowed[edge] = group
            children.append(Leaf(tuple(allowed)))
        return children

    # -- serialization -----------------------------------------------------------
    def to_dict(self) -> dict:
        return {"edges": [list(ops) for ops in self.allowed]}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Leaf":
        if not isinstance(data, Mapping) or set(data) != {"edges"}:
            raise SplitError(f"a leaf dict has exactly one key 'edges' (a list of 6 op lists), got {data!r}")
        return cls(tuple(tuple(ops) for ops in data["edges"]))

    @property
    def key(self) -> str:
        """Compact, file-name-safe id: each edge's op indices, edges joined by '-' (root: 01234-...-01234)."""
        return "-".join("".join(str(space.OPS.index(op)) for op in ops) for ops in self.allowed)

    @classmethod
    def from_key(cls, key: str) -> "Leaf":
        parts = key.split("-")
        try:
            return cls(tuple(tuple(space.OPS[int(c)] for c in part) for part in parts))
        except (ValueError, IndexError) as exc:
            raise SplitError(f"malformed leaf key {key!r}: expected 6 groups of op indices 0-4 joined by '-'") from exc

    def __str__(self) -> str:
        restricted = [f"edge {e} in {{{', '.join(self.allowed[e])}}}" for e in self.split_edges()]
        if not restricted:
            return f"root (all {len(space.OPS)} ops on all {space.NUM_EDGES} edges)"
        return "; ".join(restricted)


def root_leaf(ops: Sequence[str] = space.OPS) -> Leaf:
    """The one-shot supernet: ``ops`` on all 6 edges (default all 5: 15,625 archs).

    A smaller op set is a smaller space, e.g. the 4-op space without ``none``
    of GM-NAS Table 1 (4^6 = 4,096 archs).
    """
    return Leaf((tuple(ops),) * space.NUM_EDGES)


def size(leaf: Leaf) -> int:
    """Number of archs in ``leaf``."""
    return leaf.size


def leaf_index(leaves: Sequence[Leaf], arch: Union[space.Arch, str]) -> int:
    """Position in ``leaves`` of the unique leaf holding ``arch``; SplitError if none or several do."""
    arch = _as_arch(arch)
    hits = [i for i, leaf in enumerate(leaves) if leaf.contains(arch)]
    if not hits:
        raise SplitError(f"no leaf holds {arch} (the {len(leaves)} leaves do not cover the space)")
    if len(hits) > 1:
        raise SplitError(f"{arch} is in {len(hits)} leaves (positions {hits}); the leaves overlap")
    return hits[0]


def leaf_of(leaves: Sequence[Leaf], arch: Union[space.Arch, str]) -> Leaf:
    """The unique leaf holding ``arch`` (the sub-supernet that trains and scores it)."""
    return leaves[leaf_index(leaves, arch)]


def sample_in(leaf: Leaf, rng: np.random.Generator, n: int, replace: bool = True) -> list[space.Arch]:
    """``n`` archs drawn uniformly from ``leaf`` with a seeded numpy Generator.

    With replacement (default) each edge's op is drawn independently and
    uniformly among the ops allowed on it, which is uniform over the leaf
    (the single-path sampling of the Few-shot paper's sub-supernets); the
    draws are one ``rng.integers`` call per edge, in edge order. Without
    replacement, ``n`` distinct codes are drawn with ``rng.choice`` and
    decoded with :meth:`Leaf.arch_at`.
    """
    if not isinstance(rng, np.random.Generator):
        raise SplitError(f"sample_in needs a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise SplitError(f"n must be an int >= 0, got {n!r}")
    if replace:
        columns = [rng.integers(0, len(ops), size=n) for ops in leaf.allowed]
        return [space.Arch(tuple(leaf.allowed[e][int(columns[e][i])] for e in range(space.NUM_EDGES)))
                for i in range(n)]
    if n > leaf.size:
        raise SplitError(f"cannot draw {n} distinct archs from a leaf of {leaf.size}")
    return [leaf.arch_at(int(c)) for c in rng.choice(leaf.size, size=n, replace=False)]


def is_partition(leaves: Sequence[Leaf], parent: Leaf | None = None) -> bool:
    """True when ``leaves`` are pairwise disjoint, inside ``parent`` (default: root) and cover it."""
    parent = parent or root_leaf()
    for leaf in leaves:
        if any(not set(ops) <= set(p) for ops, p in zip(leaf.allowed, parent.allowed)):
            return False
    for a, b in itertools.combinations(leaves, 2):
        # Two product sets are disjoint iff some edge has disjoint op sets.
        if all(set(x) & set(y) for x, y in zip(a.allowed, b.allowed)):
            return False
    return sum(leaf.size for leaf in leaves) == parent.size
