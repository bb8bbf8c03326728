"""N-shot supernet splitting on NAS-Bench-201: partition tree, few-shot and GM splits, budget, record.

Pure logic (numpy only, no torch, no training): which sub-supernets exist,
which arch belongs to which, how a sub-supernet is split, and what the
splitting schedule costs. The trainer computes the GM score matrices
(:func:`bench.metrics.gradients.gm_score_matrix`) and trains the leaves; this
module decides and records.

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
  2022. Sec. 3.2 (Eq. (1)): a sub-supernet is the set of archs whose op on
  every split edge lies in that sub-supernet's group of ops. Sec. 3.3 (Eqs.
  (2), (3)): the gradient-matching (GM) score of two ops of an edge is the
  cosine similarity of the shared weights' gradients with each op forced; the
  ops are divided into B groups "of roughly balanced size" by brute-force
  graph min-cut (minimum summed GM score over the links between groups).
  Sec. 3.4: the cut cost of every edge's best cut is an edge-importance
  measure, and "a lower cut cost" means the edge is split first; the supernet
  is warmed up before each split and the leaves are re-initialized after the
  last one ("restart"). Sec. 5.1: ablations with random edge selection and
  (Sec. 3.3, Table 1) random partitioning. Appendix B.3: balance is a hard
  constraint because unconstrained min-cut splits off single ops.

Operationalizations (ours, where the papers leave a choice open)
----------------------------------------------------------------
- Leaves store each edge's allowed ops in the space's op order
  (``space.OPS``), so equal sub-supernets compare and hash equal whatever
  order the groups were given in.
- "Balanced" (Eq. (3)): group sizes differ by at most 1 (n = qB + r gives r
  groups of q+1 ops and B-r of q). For 5 ops and B = 2 these are the 2-vs-3
  splits the paper uses on NAS-Bench-201.
- Cut cost: the sum over unordered pairs {o, o'} of ops in different groups
  (each pair counted once) of the symmetrized score
  ``(M[o][o'] + M[o'][o]) / 2``. The diagonal is never used. The authors'
  code (github.com/skhu101/GM-NAS, ``mincut_split_201``) reads the upper
  triangle only, which is the same number for a symmetric matrix (a GM
  matrix is symmetric up to rounding); it minimizes the summed distance
  1 - cos *inside* the groups, which for a fixed number of ops and group
  sizes selects the same cut as the minimum cross-group similarity.
- Ties: among partitions of equal cost (within 1e-12, relative to the
  cost's size) the first in :func:`balanced_partitions`' order wins; among
  edges of equal selection cost, the lowest edge index wins (the authors'
  code keeps the first edge found with a strict comparison, over ascending
  edge indices).
- Edge selection with edges of different numbers of ops: the paper's cut
  cost is a plain sum (Eq. (3), Sec. 3.4) and the authors' code only ever
  compares edges that are still unsplit in the sub-supernet, which all carry
  the same ops, so the question does not arise there (:func:`candidate_edges`
  reproduces that rule by default). When edges with different numbers of
  ops do compete, a plain sum favours the edge with fewer cross-group pairs,
  and the authors' code (which maximizes the summed cross-group *distance*
  1 - cos) would favour the opposite. We therefore rank edges by the *mean*
  similarity per cross-group pair (``normalize=True``, the default): it gives
  the same choice as the plain sum whenever the candidate edges have the
  same number of ops (every setting of the paper), and the same choice
  whether similarity or distance is used. The record keeps the plain sums.
- Random partition (ablation): uniform over the balanced partitions. (The
  authors' code permutes the ops and cuts the permutation into chunks of
  n // B, the last chunk taking the remainder; for 5 ops and B = 2 that is
  the same distribution.)
- Budget: a split applies to every current sub-supernet, each of which is
  warmed up first (as in the authors' code, where every supernet of a level
  trains until the next split point); a leaf epoch is one pass of one leaf
  over the training data, so every (sub-)supernet epoch costs the same number
  of steps. When leaf epochs are scaled to a one-shot budget they are rounded
  down, so the total never exceeds the budget.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple, Sequence, Union

import numpy as np

from bench.errors import BenchError
from bench.spaces import nb201 as space

__all__ = [
    "SplitError", "Leaf", "root_leaf", "leaf_of", "leaf_index", "sample_in", "size", "is_partition",
    "few_shot_split", "choose_edge", "candidate_edges",
    "balanced_sizes", "balanced_partitions", "n_cross_pairs", "cut_cost", "Cut", "best_cut", "EdgeChoice",
    "choose_split_edge", "random_partition", "submatrix",
    "SplitSchedule", "plan_schedule", "scaled_leaf_epochs",
    "SplitEvent", "PartitionRecord", "write_partition_record", "read_partition_record",
]

RECORD_FORMAT = "bench.partition/1"
"""The ``format`` tag of a serialized :class:`PartitionRecord`."""

_TIE_TOL = 1e-12


class SplitError(BenchError):
    """A malformed leaf, partition, score matrix, split request or schedule."""


# ---------------------------------------------------------------------------
# Partition tree of the NAS-Bench-201 space
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Few-shot split and edge choice
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# GM-NAS balanced min-cut
# ---------------------------------------------------------------------------

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


def _check_ops(ops: Sequence[str]) -> tuple[str, ...]:
    if isinstance(ops, str):
        raise SplitError(f"expected a sequence of op names, got the string {ops!r}")
    ops = tuple(ops)
    if not ops:
        raise SplitError("no ops to partition")
    if len(set(ops)) != len(ops):
        raise SplitError(f"duplicate ops in {ops}")
    return ops


def balanced_sizes(n: int, groups: int) -> tuple[int, ...]:
    """Group sizes of a balanced partition of ``n`` ops into ``groups`` groups, largest first."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or not 1 <= groups <= n:
        raise SplitError(f"cannot divide {n} ops into {groups!r} non-empty groups; groups must be in [1, {n}]")
    q, r = divmod(n, int(groups))
    return (q + 1,) * r + (q,) * (int(groups) - r)


def balanced_partitions(ops: Sequence[str], groups: int) -> list[Partition]:
    """Every partition of ``ops`` into ``groups`` groups whose sizes differ by at most 1, each once.

    Group order is irrelevant, so each partition is listed once in a
    canonical form: groups ordered by the position of their first op in
    ``ops``, ops within a group in ``ops`` order. Enumeration order: the
    group holding the first op is chosen first (larger sizes first, then
    ``itertools.combinations`` order), recursively. Counts: 5 ops into 2
    groups, 10; 4 into 2, 3; 6 into 3, 15; 5 into 5 or into 1, 1.
    """
    ops = _check_ops(ops)
    sizes = balanced_sizes(len(ops), groups)

    def rec(remaining: tuple[str, ...], sizes_left: tuple[int, ...]) -> Iterator[Partition]:
        if not remaining:
            yield ()
            return
        first, rest = remaining[0], remaining[1:]
        for s in sorted(set(sizes_left), reverse=True):
            left = list(sizes_left)
            left.remove(s)
            for companions in itertools.combinations(rest, s - 1):
                group = (first,) + companions
                others = tuple(o for o in rest if o not in companions)
                for tail in rec(others, tuple(left)):
                    yield (group,) + tail

    return list(rec(ops, sizes))


def n_cross_pairs(partition: Sequence[Sequence[str]]) -> int:
    """Number of unordered op pairs whose ops lie in different groups."""
    counts = [len(g) for g in partition]
    total = sum(counts)
    return (total * total - sum(c * c for c in counts)) // 2


def _as_matrix(score_matrix: Any) -> np.ndarray:
    m = np.asarray(score_matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise SplitError(f"a score matrix must be square (ops x ops), got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise SplitError("the score matrix has non-finite entries (NaN or inf)")
    return m


def _resolve_labels(n: int, ops: Sequence[str] | None, labels: Sequence[str] | None) -> tuple[str, ...]:
    """Row/column labels of an n x n score matrix.

    Explicit ``labels`` win. Otherwise: ``ops`` as given when the matrix has
    one row per op; else ``space.OPS`` when it has 5 rows (what
    :func:`bench.metrics.gradients.gm_score_matrix` returns); else, for a
    matrix over a subset of NB201 ops, those ops in ``space.OPS`` order.
    """
    if labels is not None:
        labels = _check_ops(labels)
        if len(labels) != n:
            raise SplitError(f"{len(labels)} labels for a {n} x {n} score matrix")
        return labels
    if ops is not None and len(ops) == n:
        return tuple(ops)
    if n == len(space.OPS):
        return space.OPS
    if ops is not None and set(ops) <= set(space.OPS):
        raise SplitError(f"a {n} x {n} score matrix does not match the {len(ops)} ops {tuple(ops)}; "
                         "pass labels= naming the matrix's rows")
    raise SplitError(f"cannot tell which op each row of the {n} x {n} score matrix is; pass labels=")


def _cost(sym: np.ndarray, index: Mapping[str, int], partition: Partition) -> float:
    total = 0.0
    for a, b in itertools.combinations(range(len(partition)), 2):
        for x in partition[a]:
            for y in partition[b]:
                total += sym[index[x], index[y]]
    return float(total)


def cut_cost(score_matrix: Any, partition: Sequence[Sequence[str]], labels: Sequence[str] | None = None) -> float:
    """GM-NAS cut cost (Eq. (3)): summed similarity over op pairs in different groups.

    Each unordered pair {o, o'} with o and o' in different groups counts
    once, with the symmetrized score ``(M[o][o'] + M[o'][o]) / 2``; pairs
    inside a group and the diagonal do not count. ``labels`` names the
    matrix's rows (default: ``space.OPS`` for a 5 x 5 matrix, or the
    partition's ops in ``space.OPS`` order for a smaller one).
    """
    m = _as_matrix(score_matrix)
    partition = tuple(tuple(g) for g in partition)
    ops = [op for g in partition for op in g]
    if len(set(ops)) != len(ops):
        raise SplitError(f"an op appears in more than one group of {partition}")
    if labels is None and m.shape[0] != len(space.OPS) and set(ops) <= set(space.OPS):
        labels = tuple(op for op in space.OPS if op in ops)
    labels = _resolve_labels(m.shape[0], None, labels)
    unknown = [op for op in ops if op not in labels]
    if unknown:
        raise SplitError(f"ops {unknown} are not rows of the score matrix (rows: {labels})")
    sym = (m + m.T) / 2.0
    return _cost(sym, {op: i for i, op in enumerate(labels)}, partition)


class Cut(NamedTuple):
    """A partition of one edge's ops and its cut cost (unpacks as ``partition, cost``)."""

    partition: Partition
    cost: float

    @property
    def n_cross_pairs(self) -> int:
        return n_cross_pairs(self.partition)

    @property
    def mean_cost(self) -> float:
        """Cut cost per cross-group pair (the mean similarity across groups)."""
        pairs = self.n_cross_pairs
        return self.cost / pairs if pairs else 0.0


def best_cut(score_matrix: Any, ops: Sequence[str], groups: int, labels: Sequence[str] | None = None) -> Cut:
    """Brute-force balanced min-cut of ``ops`` into ``groups`` groups (GM-NAS Eq. (3)).

    Minimizes :func:`cut_cost` over :func:`balanced_partitions`; ties (within
    1e-12 relative) go to the partition listed first. The matrix is labelled
    by ``labels``; by default its rows follow ``ops`` when it has one row per
    op, or ``space.OPS`` when it is 5 x 5 (so a full GM matrix serves an edge
    whose ops a split has already reduced).
    """
    ops = _check_ops(ops)
    m = _as_matrix(score_matrix)
    labels = _resolve_labels(m.shape[0], ops, labels)
    unknown = [op for op in ops if op not in labels]
    if unknown:
        raise SplitError(f"ops {unknown} are not rows of the score matrix (rows: {labels})")
    sym = (m + m.T) / 2.0
    index = {op: i for i, op in enumerate(labels)}
    best: Cut | None = None
    for partition in balanced_partitions(ops, groups):
        cost = _cost(sym, index, partition)
        if best is None or cost < best.cost - _TIE_TOL * max(1.0, abs(best.cost)):
            best = Cut(partition, cost)
    assert best is not None
    return best


@dataclass(frozen=True)
class EdgeChoice:
    """GM-NAS edge selection: the chosen edge, its best cut, and every candidate's best cut."""

    edge: int
    partition: Partition
    cost: float
    cuts: dict[int, Cut]
    normalize: bool

    @property
    def mean_cost(self) -> float:
        return self.cuts[self.edge].mean_cost

    def selection_cost(self, edge: int) -> float:
        """The number edges were ranked by: mean cost when ``normalize``, else the plain cut cost."""
        cut = self.cuts[edge]
        return cut.mean_cost if self.normalize else cut.cost


def _ops_by_edge(ops_by_edge: Union[Leaf, Mapping[int, Sequence[str]], Sequence[Sequence[str]]]) -> dict[int, tuple]:
    if isinstance(ops_by_edge, Leaf):
        return dict(enumerate(ops_by_edge.allowed))
    if isinstance(ops_by_edge, Mapping):
        return {_check_edge(e): tuple(o) for e, o in ops_by_edge.items()}
    return dict(enumerate(tuple(o) for o in ops_by_edge))


def choose_split_edge(matrices_by_edge: Mapping[int, Any],
                      ops_by_edge: Union[Leaf, Mapping[int, Sequence[str]], Sequence[Sequence[str]]],
                      groups: int, normalize: bool = True,
                      labels: Sequence[str] | None = None) -> EdgeChoice:
    """GM-NAS Sec. 3.4: the candidate edge whose best balanced cut costs least is split first.

    ``matrices_by_edge`` maps each candidate edge to its GM score matrix
    (the candidates are its keys, visited in ascending order);
    ``ops_by_edge`` gives each edge's ops (a :class:`Leaf`, a mapping, or a
    6-sequence). Edges are ranked by the cut cost per cross-group pair when
    ``normalize`` (default; see the module notes: same choice as the plain
    sum whenever the candidates carry the same number of ops) or by the plain
    sum; ties go to the lowest edge index. ``labels`` as in :func:`best_cut`.
    """
    if not matrices_by_edge:
        raise SplitError("no candidate edge: matrices_by_edge is empty")
    ops_map = _ops_by_edge(ops_by_edge)
    cuts: dict[int, Cut] = {}
    for edge in sorted(_check_edge(e) for e in matrices_by_edge):
        if edge not in ops_map:
            raise SplitError(f"edge {edge} has a score matrix but no ops in ops_by_edge")
        ops = ops_map[edge]
        if len(ops) < max(2, groups):
            raise SplitError(f"edge {edge} carries {len(ops)} op(s) {ops}; it cannot be split into {groups} groups")
        cuts[edge] = best_cut(matrices_by_edge[edge], ops, groups, labels=labels)
    best_edge = None
    best_value = math.inf
    for edge, cut in cuts.items():
        value = cut.mean_cost if normalize else cut.cost
        if best_edge is None or value < best_value - _TIE_TOL * max(1.0, abs(best_value)):
            best_edge, best_value = edge, value
    chosen = cuts[best_edge]
    return EdgeChoice(edge=best_edge, partition=chosen.partition, cost=chosen.cost, cuts=cuts, normalize=normalize)


def random_partition(ops: Sequence[str], groups: int, rng: np.random.Generator) -> Partition:
    """A balanced partition drawn uniformly (one ``rng.integers`` draw) from :func:`balanced_partitions`.

    The random-split ablation of GM-NAS (Sec. 3.3, Table 1).
    """
    if not isinstance(rng, np.random.Generator):
        raise SplitError(f"random_partition needs a numpy Generator, got {type(rng).__name__}")
    partitions = balanced_partitions(ops, groups)
    return partitions[int(rng.integers(len(partitions)))]


def submatrix(score_matrix: Any, labels: Sequence[str], ops: Sequence[str]) -> np.ndarray:
    """The rows and columns of ``ops`` (in that order) of a matrix labelled by ``labels``."""
    m = _as_matrix(score_matrix)
    labels = _resolve_labels(m.shape[0], None, labels)
    idx = [labels.index(op) for op in _check_ops(ops)]
    return m[np.ix_(idx, idx)]


# ---------------------------------------------------------------------------
# Budget accounting
# ---------------------------------------------------------------------------


def _nonneg_int(name: str, value: Any, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SplitError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _per_split(name: str, value: Any, splits: int, low: int) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (_nonneg_int(name, value, low),) * splits
    values = tuple(value)
    if len(values) != splits:
        raise SplitError(f"{name} lists {len(values)} values for {splits} splits")
    return tuple(_nonneg_int(f"{name}[{i}]", v, low) for i, v in enumerate(values))


@dataclass(frozen=True)
class SplitSchedule:
    """A splitting schedule and what it costs, counted in (sub-)supernet epochs and training steps.

    Split k (k = 0..S-1) is preceded by ``warmup_epochs[k]`` epochs of every
    supernet at that level, and turns each of them into ``branching[k]``
    children; the L = prod(branching) leaves then train ``leaf_epochs`` each
    (after a restart, in GM-NAS). S = 0 is one-shot training. Every epoch of
    every (sub-)supernet is ``steps_per_epoch`` steps.
    """

    warmup_epochs: tuple[int, ...]
    branching: tuple[int, ...]
    leaf_epochs: int
    steps_per_epoch: int
    budget_epochs: int | None = None
    """The one-shot budget (epochs) the leaf epochs were scaled to, or None when not scaled."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "warmup_epochs", tuple(self.warmup_epochs))
        object.__setattr__(self, "branching", tuple(self.branching))
        if len(self.warmup_epochs) != len(self.branching):
            raise SplitError(f"{len(self.warmup_epochs)} warm-up lengths for {len(self.branching)} splits")
        for k, b in enumerate(self.branching):
            _nonneg_int(f"branching[{k}]", b, 2)
        for k, w in enumerate(self.warmup_epochs):
            _nonneg_int(f"warmup_epochs[{k}]", w)
        _nonneg_int("leaf_epochs", self.leaf_epochs)
        _nonneg_int("steps_per_epoch", self.steps_per_epoch, 1)
        if self.budget_epochs is not None and self.total_supernet_epochs > self.budget_epochs:
            raise SplitError(f"the schedule trains {self.total_supernet_epochs} supernet-epochs, over its budget "
                             f"of {self.budget_epochs}")

    @property
    def splits(self) -> int:
        return len(self.branching)

    @property
    def supernets_per_level(self) -> tuple[int, ...]:
        """Number of (sub-)supernets warmed up before each split: 1, b_0, b_0 b_1, ..."""
        return tuple(math.prod(self.branching[:k]) for k in range(self.splits))

    @property
    def n_leaves(self) -> int:
        return math.prod(self.branching)

    @property
    def warmup_supernet_epochs(self) -> int:
        return sum(w * n for w, n in zip(self.warmup_epochs, self.supernets_per_level))

    @property
    def leaf_supernet_epochs(self) -> int:
        return self.leaf_epochs * self.n_leaves

    @property
    def total_supernet_epochs(self) -> int:
        return self.warmup_supernet_epochs + self.leaf_supernet_epochs

    @property
    def total_steps(self) -> int:
        """Training steps over all (sub-)supernets, warm-ups and leaves (GM scoring passes not included)."""
        return self.total_supernet_epochs * self.steps_per_epoch

    @property
    def path_epochs(self) -> int:
        """Epochs along one root-to-leaf path (what one subnet's weights went through, before any restart)."""
        return sum(self.warmup_epochs) + self.leaf_epochs

    @property
    def unused_budget_epochs(self) -> int | None:
        return None if self.budget_epochs is None else self.budget_epochs - self.total_supernet_epochs

    def to_dict(self) -> dict:
        return {"warmup_epochs": list(self.warmup_epochs), "branching": list(self.branching),
                "leaf_epochs": self.leaf_epochs, "steps_per_epoch": self.steps_per_epoch,
                "budget_epochs": self.budget_epochs, "n_leaves": self.n_leaves,
                "total_supernet_epochs": self.total_supernet_epochs, "total_steps": self.total_steps}

    @classmethod
    def from_dict(cls, data: Mapping) -> "SplitSchedule":
        return cls(tuple(data["warmup_epochs"]), tuple(data["branching"]), data["leaf_epochs"],
                   data["steps_per_epoch"], data.get("budget_epochs"))


def scaled_leaf_epochs(budget_epochs: int, warmup_epochs: Union[int, Sequence[int]], splits: int,
                       branching: Union[int, Sequence[int]]) -> int:
    """Epochs per leaf that keep warm-ups plus leaves within a one-shot budget of ``budget_epochs``.

    ``floor((budget - warm-up supernet-epochs) / leaves)``: rounded down, so
    the total never exceeds the budget (the shortfall is below one epoch per
    leaf). SplitError when the warm-ups leave less than one epoch per leaf.
    """
    budget_epochs = _nonneg_int("budget_epochs", budget_epochs, 1)
    warm = SplitSchedule(_per_split("warmup_epochs", warmup_epochs, splits, 0),
                         _per_split("branching", branching, splits, 2), 0, 1)
    left = budget_epochs - warm.warmup_supernet_epochs
    per_leaf = left // warm.n_leaves if left > 0 else 0
    if per_leaf < 1:
        raise SplitError(f"a budget of {budget_epochs} epochs leaves {max(left, 0)} for {warm.n_leaves} leaves after "
                         f"{warm.warmup_supernet_epochs} warm-up supernet-epochs: less than one epoch per leaf")
    return per_leaf


def plan_schedule(*, warmup_epochs: Union[int, Sequence[int]], splits: int, branching: Union[int, Sequence[int]],
                  steps_per_epoch: int, leaf_epochs: int | None = None, budget_epochs: int | None = None,
                  scale_leaf_epochs: bool = False) -> SplitSchedule:
    """The schedule of an N-shot run.

    ``warmup_epochs`` and ``branching`` are one value for every split or one
    per split (e.g. GM-NAS on MobileNet: branching (2, 3)). With
    ``scale_leaf_epochs`` the leaf epochs come from :func:`scaled_leaf_epochs`
    for the one-shot ``budget_epochs`` (``leaf_epochs`` must then be None);
    otherwise ``leaf_epochs`` is given as is (the papers' protocol: every
    leaf trains as long as a one-shot supernet) and a ``budget_epochs``, if
    given, is checked, not enforced by scaling.
    """
    splits = _nonneg_int("splits", splits)
    warm = _per_split("warmup_epochs", warmup_epochs, splits, 0)
    branch = _per_split("branching", branching, splits, 2)
    if scale_leaf_epochs:
        if budget_epochs is None:
            raise SplitError("scale_leaf_epochs needs budget_epochs (the one-shot budget in epochs)")
        if leaf_epochs is not None:
            raise SplitError("give either leaf_epochs or scale_leaf_epochs=True with budget_epochs, not both")
        leaf_epochs = scaled_leaf_epochs(budget_epochs, warm, splits, branch)
    elif leaf_epochs is None:
        raise SplitError("leaf_epochs is required unless scale_leaf_epochs=True")
    return SplitSchedule(warm, branch, _nonneg_int("leaf_epochs", leaf_epochs), steps_per_epoch, budget_epochs)


# ---------------------------------------------------------------------------
# Partition record (run directory)
# ---------------------------------------------------------------------------


def _finite(name: str, value: Any) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise SplitError(f"{name} must be a finite number, got {value}")
    return value


@dataclass
class SplitEvent:
    """One split: ``parent`` divided on ``edge`` into ``groups`` (one child leaf per group, in order).

    ``epoch``: training epochs completed along the parent's path when it was
    split (the sum of the warm-ups so far). ``score_matrix``: the GM matrix
    used for the cut (rows labelled by ``matrix_ops``), None for a few-shot or
    random cut. ``cost``: its cut cost (plain sum, Eq. (3)), None when no
    matrix was used. ``candidate_costs``: every candidate edge's best-cut
    cost (plain sums). ``edge_rule`` / ``cut_rule`` say how the edge and the
    groups were chosen (e.g. "gm", "random", "fixed"; "gm", "random",
    "exhaustive"). ``probe_passes`` / ``probe_seconds``: the forward-backward
    passes and seconds the GM scores of this decision cost (0 without GM), for
    the run's budget.
    """

    epoch: int
    parent: Leaf
    edge: int
    groups: Partition
    score_matrix: list[list[float]] | None = None
    matrix_ops: tuple[str, ...] | None = None
    cost: float | None = None
    candidate_costs: dict[int, float] = field(default_factory=dict)
    edge_rule: str = ""
    cut_rule: str = ""
    probe_passes: int = 0
    probe_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.epoch = _nonneg_int("epoch", self.epoch)
        if not isinstance(self.parent, Leaf):
            raise SplitError(f"parent must be a Leaf, got {type(self.parent).__name__}")
        self.edge = _check_edge(self.edge)
        self.groups = _check_groups(self.groups, self.parent.allowed[self.edge], f"split event on edge {self.edge}")
        if self.score_matrix is not None:
            m = _as_matrix(self.score_matrix)
            self.score_matrix = m.tolist()
            self.matrix_ops = _resolve_labels(m.shape[0], self.parent.allowed[self.edge], self.matrix_ops)
        self.cost = None if self.cost is None else _finite("cost", self.cost)
        self.candidate_costs = {_check_edge(int(e)): _finite(f"candidate_costs[{e}]", c)
                                for e, c in self.candidate_costs.items()}

    @property
    def children(self) -> list[Leaf]:
        return self.parent.split(self.edge, self.groups)

    @classmethod
    def from_choice(cls, epoch: int, parent: Leaf, choice: EdgeChoice, score_matrix: Any = None,
                    matrix_ops: Sequence[str] | None = None, edge_rule: str = "gm",
                    cut_rule: str = "gm") -> "SplitEvent":
        """The event of a GM decision from :func:`choose_split_edge`."""
        return cls(epoch, parent, choice.edge, choice.partition, score_matrix,
                   None if matrix_ops is None else tuple(matrix_ops), choice.cost,
                   {e: c.cost for e, c in choice.cuts.items()}, edge_rule, cut_rule)

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "parent": self.parent.to_dict(), "edge": self.edge,
                "groups": [list(g) for g in self.groups], "score_matrix": self.score_matrix,
                "matrix_ops": None if self.matrix_ops is None else list(self.matrix_ops), "cost": self.cost,
                "candidate_costs": {str(e): c for e, c in sorted(self.candidate_costs.items())},
                "edge_rule": self.edge_rule, "cut_rule": self.cut_rule,
                "probe_passes": self.probe_passes, "probe_seconds": self.probe_seconds}

    @classmethod
    def from_dict(cls, data: Mapping) -> "SplitEvent":
        known = {"epoch", "parent", "edge", "groups", "score_matrix", "matrix_ops", "cost", "candidate_costs",
                 "edge_rule", "cut_rule", "probe_passes", "probe_seconds"}
        unknown = set(data) - known
        if unknown:
            raise SplitError(f"unknown keys in a split event: {sorted(unknown)}")
        return cls(epoch=data["epoch"], parent=Leaf.from_dict(data["parent"]), edge=data["edge"],
                   groups=tuple(tuple(g) for g in data["groups"]), score_matrix=data.get("score_matrix"),
                   matrix_ops=None if data.get("matrix_ops") is None else tuple(data["matrix_ops"]),
                   cost=data.get("cost"),
                   candidate_costs={int(e): c for e, c in data.get("candidate_costs", {}).items()},
                   edge_rule=data.get("edge_rule", ""), cut_rule=data.get("cut_rule", ""),
                   probe_passes=data.get("probe_passes", 0), probe_seconds=data.get("probe_seconds", 0.0))


@dataclass
class PartitionRecord:
    """The splits of a run, in the order they happened; replaying them from the root gives the leaves."""

    events: list[SplitEvent] = field(default_factory=list)
    method: str = ""
    schedule: SplitSchedule | None = None
    root: Leaf = field(default_factory=root_leaf)

    def add(self, event: SplitEvent) -> None:
        """Append ``event`` after checking that its parent is a current leaf."""
        self._replay(self.events + [event], self.root)
        self.events.append(event)

    def leaves(self) -> list[Leaf]:
        """The current leaves: the root with every event applied in turn (children replace the parent in place)."""
        return self._replay(self.events, self.root)

    @staticmethod
    def _replay(events: Sequence[SplitEvent], root: Leaf) -> list[Leaf]:
        leaves = [root]
        for i, event in enumerate(events):
            try:
                pos = leaves.index(event.parent)
            except ValueError:
                raise SplitError(f"split event {i} divides {event.parent}, which is not a current leaf") from None
            leaves[pos:pos + 1] = event.children
        return leaves

    def to_dict(self) -> dict:
        return {"format": RECORD_FORMAT, "method": self.method,
                "schedule": None if self.schedule is None else self.schedule.to_dict(),
                "root": self.root.to_dict(),
                "events": [e.to_dict() for e in self.events],
                "leaves": [leaf.to_dict() for leaf in self.leaves()]}

    @classmethod
    def from_dict(cls, data: Mapping) -> "PartitionRecord":
        if data.get("format") != RECORD_FORMAT:
            raise SplitError(f"not a partition record (format {data.get('format')!r}, expected {RECORD_FORMAT!r})")
        record = cls(method=data.get("method", ""),
                     schedule=None if data.get("schedule") is None else SplitSchedule.from_dict(data["schedule"]),
                     root=Leaf.from_dict(data["root"]) if data.get("root") else root_leaf())
        for event in data.get("events", []):
            record.add(SplitEvent.from_dict(event))
        if "leaves" in data and [Leaf.from_dict(d) for d in data["leaves"]] != record.leaves():
            raise SplitError("the record's stored leaves differ from those its events produce")
        return record


def write_partition_record(record: PartitionRecord, path: Union[str, os.PathLike]) -> Path:
    """Write ``record`` as JSON (strict: no NaN), atomically (a temporary file renamed into place)."""
    path = Path(path)
    text = json.dumps(record.to_dict(), indent=2, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_partition_record(path: Union[str, os.PathLike]) -> PartitionRecord:
    """Read a record written by :func:`write_partition_record` (validated by replaying its events)."""
    with open(path) as fh:
        return PartitionRecord.from_dict(json.load(fh))
