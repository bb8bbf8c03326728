"""The NAS-Bench-101 search space: cells, validity and pruning, graph hash, sampling, complexity.

Source: Ying, Klein, Real, Christiansen, Murphy & Hutter, "NAS-Bench-101:
Towards Reproducible Neural Architecture Search", ICML 2019, Sec. 2.1
("Architectures") and Fig. 1; and the official code
(github.com/google-research/nasbench): ``lib/model_spec.py`` (``ModelSpec``,
``_prune``), ``lib/graph_util.py`` (``hash_module``), ``lib/model_builder.py``
(``build_module``, ``compute_vertex_channels``, ``build_model_fn``) and
``api.py`` (``_check_spec``). The code below is written from the paper and
from those functions' documented behaviour, not copied.

A cell is a DAG of at most 7 vertices given by an upper-triangular 0/1
adjacency matrix (``matrix[i][j] = 1``: an edge i -> j) and one op label per
vertex: ``input`` first, ``output`` last, and ``conv3x3-bn-relu``,
``conv1x1-bn-relu`` or ``maxpool3x3`` between. A cell is valid when, after
pruning the vertices that lie on no input -> output path (as ``ModelSpec``
does), input and output are still connected, at most 7 vertices remain and
at most 9 edges. The benchmark holds 423,624 such cells up to isomorphism.

:class:`Cell` always holds the pruned form; :func:`make_cell` checks, prunes
and validates a raw (matrix, ops) spec. ``str(cell)`` is the official graph
hash (:func:`graph_hash`), the key of NAS-Bench-101 ground-truth tables.

Complexity (:func:`complexity`, :func:`params`) is that of the stand-alone
network of ``build_model_fn``: conv3x3-BN-ReLU stem, ``num_stacks`` stacks of
``cells_per_stack`` cells with a 2x2 max-pool and channel doubling between
stacks, global average pool, dense classifier with bias. Every convolution is
bias-free and followed by an affine BN (2 trainable parameters per channel).
At the benchmark setting (stem 128, 3 stacks of 3 cells, 10 classes) the count
equals the official ``trainable_parameters`` (``tests/test_spaces_nb101.py``
checks all 52 records of a data directory's ``nb101/nb101_records.json``, docs/data.md).
The count depends on the vertex order, not only on the graph: when the
output's channels do not split evenly, the extra channels go to the first
vertices feeding the output, so two isomorphic orderings (same hash) can
differ (in ``nb101_sample.json`` 3 of 292 stored orderings differ from the
official count, by 0.22% to 0.84%). The official number is that of the
ordering the dataset stores for the hash.

Why the PyTorch port ``nasbench_pytorch`` (romulus0914/NASBench-PyTorch)
reports a few dozen more parameters: its ``Cell`` fills the unused slots of
``vertex_op`` (slot 0) and ``input_op`` (slot 0 and every vertex not fed by
the input) with a ``Placeholder`` module that holds one scalar
``nn.Parameter`` (``torch.randn(())``); those scalars are never used in
``forward`` but ``sum(p.numel() for p in net.parameters())`` counts them.
Each cell therefore adds ``2 + (number of vertices 1..n-1 without an edge from
the input)`` parameters, times 9 cells: 18 to 63 in all
(:func:`nasbench_pytorch_extra_params`). Checked with ``nasbench-pytorch``
1.3.1 on the 52 official records: its ``Network`` counts 27 to 63 more than
``trainable_parameters`` (27: 2 records, 36: 7, 45: 9, 54: 25, 63: 9), exactly
the placeholder scalars. Convolutions, BN and the classifier
are the same as in the TensorFlow model (conv ``bias=False``, affine BN,
``nn.Linear`` with bias); its ``dev_param`` is an empty tensor and adds 0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from bench.errors import BenchError
from bench.spaces.base import draw_distinct

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"

OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
"""Interior ops, in the order of the official ``available_ops`` (their index is the hash label)."""

MAX_VERTICES = 7
"""``module_vertices`` of the official config (Ying et al. 2019, Sec. 2.1)."""

MAX_EDGES = 9
"""``max_edges`` of the official config (Ying et al. 2019, Sec. 2.1)."""

NUM_CELLS = 423_624
"""Unique valid cells (up to isomorphism) in the benchmark (Ying et al. 2019, Sec. 2.1)."""


class CellError(BenchError):
    """A malformed or invalid NAS-Bench-101 cell (matrix and ops)."""


# ---------------------------------------------------------------------------
# Structure checks and pruning (official ModelSpec.__init__, _prune, and
# NASBench._check_spec).
# ---------------------------------------------------------------------------


def _as_matrix(matrix) -> np.ndarray:
    """``matrix`` as a square 2-D int array of 0/1, or :class:`CellError` saying what is wrong."""
    try:
        arr = np.asarray(matrix)
    except (TypeError, ValueError) as exc:
        raise CellError(f"the adjacency matrix must be a square 0/1 array, got {matrix!r}: {exc}") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise CellError(f"the adjacency matrix must be square with at least 2 vertices, got shape {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
        bad = arr.ravel()[~np.isin(arr.ravel(), (0, 1))][:3] if np.issubdtype(arr.dtype, np.number) else arr.dtype
        raise CellError(f"the adjacency matrix must hold only 0 and 1, found {bad!r}")
    arr = arr.astype(np.int64)
    lower = np.tril(arr)
    if lower.any():
        i, j = (int(x) for x in np.argwhere(lower)[0])
        raise CellError(
            f"the adjacency matrix must be strictly upper-triangular (edges go from a lower to a higher vertex); "
            f"found an edge {i} -> {j}"
        )
    return arr


def _check_ops(ops: Sequence[str], num_vertices: int) -> tuple[str, ...]:
    ops = tuple(ops) if not isinstance(ops, str) else (ops,)
    if len(ops) != num_vertices:
        raise CellError(f"the matrix has {num_vertices} vertices but {len(ops)} ops were given: {list(ops)}")
    if ops[0] != INPUT:
        raise CellError(f"the first op must be {INPUT!r}, got {ops[0]!r}")
    if ops[-1] != OUTPUT:
        raise CellError(f"the last op must be {OUTPUT!r}, got {ops[-1]!r}")
    for v, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            raise CellError(f"unknown op {op!r} at vertex {v}; allowed between input and output: {', '.join(OPS)}")
    return ops


def _reachable(matrix: np.ndarray, start: int, forward: bool) -> set[int]:
    """Vertices reachable from ``start`` along edges (``forward``) or against them."""
    adj = matrix if forward else matrix.T
    seen, frontier = {start}, [start]
    while frontier:
        v = frontier.pop()
        for w in np.flatnonzero(adj[v]).tolist():
            if w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


def prune(matrix, ops: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Drop the vertices on no input -> output path, with their ops (official ``ModelSpec._prune``).

    Returns the pruned (matrix, ops). Raises :class:`CellError` when input
    and output are not connected (the official spec is then invalid). Only
    checks structure (square 0/1 upper-triangular matrix, ops), not the
    vertex and edge limits: see :func:`make_cell`.
    """
    arr = _as_matrix(matrix)
    ops = _check_ops(ops, arr.shape[0])
    n = arr.shape[0]
    keep = sorted(_reachable(arr, 0, forward=True) & _reachable(arr, n - 1, forward=False))
    if 0 not in keep or n - 1 not in keep:
        raise CellError(f"no path from the input (vertex 0) to the output (vertex {n - 1})")
    pruned = arr[np.ix_(keep, keep)]
    return pruned, tuple(ops[v] for v in keep)


# ---------------------------------------------------------------------------
# The official graph hash (graph_util.hash_module): Weisfeiler-Lehman-style
# iterated md5 of vertex labels, so isomorphic cells share the hash.
# ---------------------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def graph_hash(matrix, ops: Sequence[str]) -> str:
    """The official NAS-Bench-101 hash of a (pruned) cell: 32 hex digits.

    Algorithm of ``graph_util.hash_module`` as ``ModelSpec.hash_spec`` calls
    it: each vertex starts with the md5 of ``str((out_degree, in_degree,
    label))`` where the label is -1 for input, -2 for output and the index in
    :data:`OPS` otherwise; then, as many rounds as there are vertices, each
    vertex's hash becomes the md5 of its sorted in-neighbour hashes joined,
    ``|``, its sorted out-neighbour hashes joined, ``|``, its own hash; the
    fingerprint is the md5 of ``str(sorted(hashes))``. Isomorphic cells get
    the same hash. Python ints are used throughout, since ``str`` of a
    tuple of numpy integers differs under numpy >= 2.
    """
    arr = _as_matrix(matrix)
    ops = _check_ops(ops, arr.shape[0])
    n = arr.shape[0]
    labels = [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2]
    out_degree = arr.sum(axis=1).tolist()
    in_degree = arr.sum(axis=0).tolist()
    preds = [np.flatnonzero(arr[:, v]).tolist() for v in range(n)]
    succs = [np.flatnonzero(arr[v]).tolist() for v in range(n)]
    hashes = [_md5(str((out_degree[v], in_degree[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5("".join(sorted(hashes[w] for w in preds[v])) + "|"
                 + "".join(sorted(hashes[w] for w in succs[v])) + "|" + hashes[v])
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


# ---------------------------------------------------------------------------
# The cell value
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One valid, pruned NAS-Bench-101 cell (immutable, hashable; ``str`` is the official hash).

    Construct from a raw spec with :func:`make_cell` (prunes first); the
    constructor itself demands the pruned form. Two isomorphic cells are
    different ``Cell`` values (different vertex order) with the same
    :attr:`hash`; compare hashes to compare graphs.
    """

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        arr = _as_matrix(self.matrix)
        ops = _check_ops(self.ops, arr.shape[0])
        object.__setattr__(self, "matrix", tuple(tuple(int(x) for x in row) for row in arr.tolist()))
        object.__setattr__(self, "ops", ops)
        pruned, _ = prune(arr, ops)
        if pruned.shape != arr.shape:
            raise CellError(
                f"cell not pruned: {arr.shape[0] - pruned.shape[0]} vertex(es) lie on no input -> output path; "
                "build it with make_cell(matrix, ops), which prunes them as the official ModelSpec does"
            )
        _check_limits(arr)

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def array(self) -> np.ndarray:
        """The adjacency matrix as a new int64 array."""
        return np.array(self.matrix, dtype=np.int64)

    @property
    def hash(self) -> str:
        """The official graph hash (:func:`graph_hash`); computed once per cell."""
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = graph_hash(self.matrix, self.ops)
            object.__setattr__(self, "_hash", cached)
        return cached

    def __str__(self) -> str:
        return self.hash

    def to_dict(self) -> dict:
        """``{"matrix": [[...]], "ops": [...]}``, the shape of the shared JSON files."""
        return {"matrix": [list(row) for row in self.matrix], "ops": list(self.ops)}


def _check_limits(matrix: np.ndarray) -> None:
    n, edges = matrix.shape[0], int(matrix.sum())
    if n > MAX_VERTICES:
        raise CellError(f"too many vertices after pruning: {n} (NAS-Bench-101 allows at most {MAX_VERTICES})")
    if edges > MAX_EDGES:
        raise CellError(f"too many edges after pruning: {edges} (NAS-Bench-101 allows at most {MAX_EDGES})")


def make_cell(matrix, ops: Sequence[str]) -> Cell:
    """Check, prune and validate a raw spec: the official ``ModelSpec`` plus ``NASBench.is_valid``.

    As in the official code the vertex (<= 7) and edge (<= 9) limits apply
    to the pruned cell. Raises :class:`CellError` naming the problem.
    """
    pruned, pruned_ops = prune(matrix, ops)
    return Cell(tuple(map(tuple, pruned.tolist())), pruned_ops)


def is_valid(matrix, ops: Sequence[str]) -> bool:
    """True when :func:`make_cell` accepts the spec."""
    try:
        make_cell(matrix, ops)
    except CellError:
        return False
    return True


# ---------------------------------------------------------------------------
# Sampling (the official examples' random_spec: a random upper-triangular
# matrix and random ops, rejected until valid).
# ---------------------------------------------------------------------------


def random_cell(rng: np.random.Generator, num_vertices: int = MAX_VERTICES) -> Cell:
    """One cell drawn as the official ``random_spec``: every edge of the strict upper
    triangle of a ``num_vertices`` matrix on with probability 1/2, every interior op
    uniform over :data:`OPS`, redrawn until valid; returned pruned.

    This is uniform over raw specs, not over the 423,624 graphs, and far
    from uniform over graphs: a raw matrix has 10.5 edges on average, so the
    9-edge limit after pruning favours heavily pruned cells. With seed 0,
    2,000 draws had 2 to 7 vertices in proportions 9%, 20%, 27%, 29%, 14%,
    0.2%. For graphs drawn uniformly, sample the hashes of a full
    ground-truth table (:func:`bench.groundtruth.nb101.load_nb101_tfrecord`).
    """
    if not 2 <= num_vertices <= MAX_VERTICES:
        raise CellError(f"num_vertices must be in [2, {MAX_VERTICES}], got {num_vertices}")
    while True:
        matrix = np.triu(rng.integers(0, 2, size=(num_vertices, num_vertices)), k=1)
        ops = [INPUT] + [OPS[i] for i in rng.integers(0, len(OPS), size=num_vertices - 2)] + [OUTPUT]
        try:
            return make_cell(matrix, ops)
        except CellError:
            continue


def sample_cells(n: int, seed: int, replace: bool = False) -> list[Cell]:
    """``n`` cells from :func:`random_cell` with ``np.random.default_rng(seed)``.

    Without replacement (the default) a cell whose graph hash was already
    drawn is redrawn, so the ``n`` cells are distinct graphs.
    """
    if n < 0 or (not replace and n > NUM_CELLS):
        raise CellError(f"cannot sample {n} distinct cells from a space of {NUM_CELLS}")
    rng = np.random.default_rng(seed)
    return draw_distinct(lambda: random_cell(rng), n, key=lambda cell: cell.hash, replace=replace)


# ---------------------------------------------------------------------------
# Complexity of the stand-alone network (model_builder.build_model_fn and
# build_module). Parameters: conv weights (no bias), 2 per BN channel (gamma,
# beta: the trainable ones), dense weights + bias. FLOPs: multiply-accumulates
# of the convolutions and the dense layer for one image (our convention, as
# for NAS-Bench-201 in bench.spaces.nb201; the paper reports no FLOPs),
# ignoring BN, ReLU, pooling, additions and concatenations.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Complexity:
    params: int
    flops: int


def vertex_channels(in_channels: int, out_channels: int, matrix) -> list[int]:
    """Output channels of every vertex of a cell (official ``compute_vertex_channels``).

    The cell's output channels are split evenly among the interior vertices
    that feed the output (the first ``out_channels % k`` of them, in vertex
    order, get one more); every other interior vertex gets the maximum of the
    vertices it feeds, filled in from the back. Vertex 0 has
    ``in_channels``, the output ``out_channels``.
    """
    arr = np.asarray(matrix)
    n = arr.shape[0]
    channels = [0] * n
    channels[0], channels[n - 1] = in_channels, out_channels
    if n == 2:
        return channels
    fan_in = int(arr[1:, n - 1].sum())  # in-degree of the output, ignoring the input
    share, extra = divmod(out_channels, fan_in)
    for v in range(1, n - 1):
        if arr[v, n - 1]:
            channels[v] = share + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for v in range(n - 3, 0, -1):
        if not arr[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if arr[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def _conv_bn(c_in: int, c_out: int, k: int, hw: int) -> tuple[int, int]:
    """(params, MACs) of a bias-free k x k convolution + affine BN at ``hw`` output pixels."""
    return c_in * c_out * k * k + 2 * c_out, c_in * c_out * k * k * hw


def _cell_cost(cell: Cell, c_in: int, c_out: int, spatial: int) -> tuple[int, int]:
    """(params, MACs) of one cell (official ``build_module``).

    The input feeds each vertex through a 1x1 conv-BN-ReLU projection to that
    vertex's channels (``projection``); interior edges are truncated to the
    destination's channels (no parameters); each vertex sums its inputs and
    applies its op; the output concatenates the vertices feeding it and adds
    a projection of the input when input -> output is an edge. A cell with
    no interior vertex is a single projection.
    """
    m, n, hw = cell.matrix, cell.num_vertices, spatial * spatial
    channels = vertex_channels(c_in, c_out, m)
    params = flops = 0
    for t in range(1, n):
        if m[0][t]:
            p, f = _conv_bn(c_in, channels[t], 1, hw)
            params, flops = params + p, flops + f
    for t in range(1, n - 1):
        op = cell.ops[t]
        if op in (CONV3X3, CONV1X1):
            p, f = _conv_bn(channels[t], channels[t], 3 if op == CONV3X3 else 1, hw)
            params, flops = params + p, flops + f
    return params, flops


def complexity(
    cell: Cell,
    stem_channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
    num_classes: int = 10,
    input_size: int = 32,
    in_channels: int = 3,
) -> Complexity:
    """Parameter count and MACs of the stand-alone NAS-Bench-101 network for ``cell``.

    Defaults are the benchmark setting (official config ``stem_filter_size``
    128, ``num_stacks`` 3, ``num_modules_per_stack`` 3, ``num_labels`` 10,
    CIFAR-10 32x32 RGB input). Each stack after the first starts with a 2x2
    max-pool of stride 2 ('same' padding: the size rounds up) and doubles the
    channels.
    """
    if not isinstance(cell, Cell):
        raise CellError(f"complexity() needs a Cell (see make_cell), got {type(cell).__name__}")
    for name, value in (("stem_channels", stem_channels), ("num_stacks", num_stacks),
                        ("cells_per_stack", cells_per_stack), ("num_classes", num_classes),
                        ("input_size", input_size), ("in_channels", in_channels)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise CellError(f"{name} must be an int >= 1, got {value!r}")
    spatial = input_size
    params, flops = _conv_bn(in_channels, stem_channels, 3, spatial * spatial)
    channels = stem_channels
    for stack in range(num_stacks):
        c_out = channels if stack == 0 else 2 * channels
        if stack > 0:
            spatial = (spatial + 1) // 2
        c_in = channels
        for _ in range(cells_per_stack):
            p, f = _cell_cost(cell, c_in, c_out, spatial)
            params, flops = params + p, flops + f
            c_in = c_out
        channels = c_out
    params += channels * num_classes + num_classes
    flops += channels * num_classes
    return Complexity(params=params, flops=flops)


def params(matrix, ops: Sequence[str], **kwargs) -> int:
    """Trainable parameters of the network for a raw spec (pruned first); keywords as :func:`complexity`.

    At the defaults this is the official ``trainable_parameters``.
    """
    return complexity(make_cell(matrix, ops), **kwargs).params


def flops(matrix, ops: Sequence[str], **kwargs) -> int:
    """Multiply-accumulates of the network for a raw spec (pruned first); keywords as :func:`complexity`."""
    return complexity(make_cell(matrix, ops), **kwargs).flops


def nasbench_pytorch_extra_params(cell: Cell, num_stacks: int = 3, cells_per_stack: int = 3) -> int:
    """How many more parameters ``nasbench_pytorch``'s ``Network`` counts than the official model.

    Its ``Cell`` holds one scalar ``Placeholder`` parameter in ``vertex_op[0]``,
    ``input_op[0]``, and ``input_op[t]`` for every vertex t >= 1 that has no
    edge from the input; none is used in ``forward``. See the module docstring.
    """
    unfed = sum(1 for t in range(1, cell.num_vertices) if not cell.matrix[0][t])
    return (2 + unfed) * num_stacks * cells_per_stack
