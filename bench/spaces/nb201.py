"""The NAS-Bench-201 search space: arch strings, enumeration, sampling, complexity.

Source: Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible
Neural Architecture Search", ICLR 2020, Sec. 2.1 and Fig. 1. A cell is a DAG
over 4 nodes with 6 edges, in the order (1<-0), (2<-0), (2<-1), (3<-0),
(3<-1), (3<-2), which is also the order of the official arch string
``|o~0|+|o~0|o~1|+|o~0|o~1|o~2|``. Each edge carries one of 5 ops, so the
space has 5**6 = 15,625 cells.

Complexity is that of the stand-alone network of the benchmark (stem, 3
stages of N cells, residual reduction blocks, classifier), computed in closed
form so it is cheap for every cell; ``tests/test_spaces_nb201.py`` checks it
against a network built in PyTorch and summed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from bench.errors import BenchError

NONE = "none"
SKIP = "skip_connect"
CONV1 = "nor_conv_1x1"
CONV3 = "nor_conv_3x3"
AVGPOOL = "avg_pool_3x3"

OPS: tuple[str, ...] = (NONE, SKIP, CONV1, CONV3, AVGPOOL)
"""Candidate ops in the official NAS-Bench-201 order."""

EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
"""(to_node, from_node) for each of the 6 edges, in arch-string order."""

NUM_EDGES = len(EDGES)
NUM_NODES = 4
SPACE_SIZE = len(OPS) ** NUM_EDGES


class ArchError(BenchError):
    """A malformed or invalid NAS-Bench-201 arch string or op tuple."""


@dataclass(frozen=True, order=True)
class Arch:
    """One NAS-Bench-201 cell: the op on each of the 6 edges (immutable, hashable)."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.ops) != NUM_EDGES:
            raise ArchError(f"a NAS-Bench-201 cell has {NUM_EDGES} edges, got {len(self.ops)} ops: {self.ops}")
        for edge, op in enumerate(self.ops):
            if op not in OPS:
                raise ArchError(f"unknown op {op!r} on edge {edge}; allowed: {', '.join(OPS)}")

    def __str__(self) -> str:
        return format_arch(self)

    @property
    def op_indices(self) -> tuple[int, ...]:
        return tuple(OPS.index(op) for op in self.ops)

    @classmethod
    def from_indices(cls, indices) -> "Arch":
        return cls(tuple(OPS[int(i)] for i in indices))

    def with_op(self, edge: int, op: str) -> "Arch":
        ops = list(self.ops)
        ops[edge] = op
        return Arch(tuple(ops))


def parse_arch(arch_str: str) -> Arch:
    """Parse an official arch string such as ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``.

    Fails with :class:`ArchError` naming what is wrong: the number of nodes,
    a token without ``~``, an input index that does not match its position,
    or an unknown op.
    """
    if not isinstance(arch_str, str):
        raise ArchError(f"an arch string must be a str, got {type(arch_str).__name__}")
    nodes = arch_str.strip().split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ArchError(
            f"malformed arch string {arch_str!r}: expected {NUM_NODES - 1} node groups joined by '+', "
            f"got {len(nodes)}"
        )
    ops: list[str] = []
    for node, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            raise ArchError(f"malformed arch string {arch_str!r}: node group {group!r} must start and end with '|'")
        tokens = group[1:-1].split("|")
        if len(tokens) != node:
            raise ArchError(
                f"malformed arch string {arch_str!r}: node {node} needs {node} inputs, got {len(tokens)} in {group!r}"
            )
        for expected_input, token in enumerate(tokens):
            op, sep, source = token.partition("~")
            if not sep or source != str(expected_input):
                raise ArchError(
                    f"malformed arch string {arch_str!r}: token {token!r} should be 'op~{expected_input}'"
                )
            if op not in OPS:
                raise ArchError(f"unknown op {op!r} in {arch_str!r}; allowed: {', '.join(OPS)}")
            ops.append(op)
    return Arch(tuple(ops))


def format_arch(arch: Arch) -> str:
    """The official arch string of ``arch``; the inverse of :func:`parse_arch`."""
    groups = []
    edge = 0
    for node in range(1, NUM_NODES):
        tokens = []
        for source in range(node):
            tokens.append(f"{arch.ops[edge]}~{source}")
            edge += 1
        groups.append("|" + "|".join(tokens) + "|")
    return "+".join(groups)


def all_archs() -> list[Arch]:
    """All 15,625 cells, in lexicographic order of op indices (not the official benchmark index)."""
    return [Arch(ops) for ops in itertools.product(OPS, repeat=NUM_EDGES)]


def iter_archs() -> Iterator[Arch]:
    return (Arch(ops) for ops in itertools.product(OPS, repeat=NUM_EDGES))


def sample_archs(n: int, seed: int, replace: bool = False) -> list[Arch]:
    """``n`` cells drawn uniformly with a seed (without replacement by default)."""
    if not 1 <= n <= SPACE_SIZE and not replace:
        raise ArchError(f"cannot sample {n} distinct cells from a space of {SPACE_SIZE}")
    rng = np.random.default_rng(seed)
    codes = rng.choice(SPACE_SIZE, size=n, replace=replace)
    return [arch_from_code(int(c)) for c in codes]


def arch_from_code(code: int) -> Arch:
    """The cell whose op indices are the base-5 digits of ``code`` (edge 0 most significant)."""
    digits = []
    for _ in range(NUM_EDGES):
        code, digit = divmod(code, len(OPS))
        digits.append(digit)
    return Arch.from_indices(reversed(digits))


def _walk(arch: Arch) -> tuple[set[int], tuple[str, ...]]:
    """The nodes reachable from the input (node 0), and the ops with those of unreachable nodes set to none.

    Only ``none`` cuts an edge; every other op passes information. EDGES is
    ordered by destination node, so one pass suffices.
    """
    reachable, ops = {0}, list(arch.ops)
    for e, ((to_node, from_node), op) in enumerate(zip(EDGES, arch.ops)):
        if from_node not in reachable:
            ops[e] = NONE
        elif op != NONE:
            reachable.add(to_node)
    return reachable, tuple(ops)


def is_degenerate(arch: Arch) -> bool:
    """True when the cell's output (node 3) is not reachable from its input (node 0).

    Such cells output zeros, and the benchmark records chance-level accuracy for them.
    """
    return NUM_NODES - 1 not in _walk(arch)[0]


def executed_arch(arch: Arch) -> Arch:
    """``arch`` with every op whose input node is unreachable replaced by ``none``: what a supernet runs
    (:class:`bench.supernets.nb201.NB201SupernetCell` skips an op whose input node received nothing)."""
    return Arch(_walk(arch)[1])


# ---------------------------------------------------------------------------
# Complexity of the stand-alone network (Dong & Yang 2020, Sec. 2.2 "macro
# skeleton"): conv3x3 stem (C) + BN; 3 stages of N cells with C, 2C, 4C
# channels; a ResNet basic block (stride 2) between stages; BN-ReLU, global
# average pool, linear classifier. Conv ops are ReLU-Conv-BN without bias; BN
# is affine. FLOPs count multiply-accumulates of convolutions and the linear
# layer (the convention of the benchmark's reported FLOPs), ignoring BN,
# ReLU, pooling and additions.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Complexity:
    params: int
    flops: int


def _conv_bn(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + 2 * c_out


def _op_cost(op: str, channels: int, spatial: int) -> tuple[int, int]:
    """(params, FLOPs) of one op on one edge of a cell with ``channels`` at ``spatial`` x ``spatial``."""
    if op == CONV3:
        return _conv_bn(channels, channels, 3), channels * channels * 9 * spatial * spatial
    if op == CONV1:
        return _conv_bn(channels, channels, 1), channels * channels * spatial * spatial
    return 0, 0


def _reduction_cost(c_in: int, c_out: int, spatial_out: int) -> tuple[int, int]:
    """ResNet basic block with stride 2: conv_a (3x3, s2), conv_b (3x3), shortcut avgpool + 1x1 conv."""
    params = _conv_bn(c_in, c_out, 3) + _conv_bn(c_out, c_out, 3) + c_in * c_out
    hw = spatial_out * spatial_out
    flops = (c_in * c_out * 9 + c_out * c_out * 9 + c_in * c_out) * hw
    return params, flops


def complexity(
    arch: Arch,
    C: int = 16,
    N: int = 5,
    num_classes: int = 10,
    input_size: int = 32,
    in_channels: int = 3,
) -> Complexity:
    """Parameter count and FLOPs of the stand-alone NAS-Bench-201 network for ``arch``.

    At the benchmark setting (C=16, N=5, 10 classes, 32x32 input) the counts
    equal those of the official networks (all conv 3x3: 1,531,546 parameters;
    all none: 73,306).
    """
    params = in_channels * C * 9 + 2 * C  # stem conv + BN
    flops = in_channels * C * 9 * input_size * input_size
    channels, spatial = C, input_size
    for stage in range(3):
        if stage > 0:
            spatial = (spatial + 1) // 2
            p, f = _reduction_cost(channels, 2 * channels, spatial)
            params, flops = params + p, flops + f
            channels *= 2
        cell_p = cell_f = 0
        for op in arch.ops:
            p, f = _op_cost(op, channels, spatial)
            cell_p, cell_f = cell_p + p, cell_f + f
        params, flops = params + N * cell_p, flops + N * cell_f
    params += 2 * channels  # final BN
    params += channels * num_classes + num_classes  # classifier
    flops += channels * num_classes
    return Complexity(params=params, flops=flops)


def complexity_extremes(C: int = 16, N: int = 5, num_classes: int = 10, input_size: int = 32, in_channels: int = 3):
    """(smallest, largest) complexity in the space: all ``none`` and all ``nor_conv_3x3``."""
    kwargs = dict(C=C, N=N, num_classes=num_classes, input_size=input_size, in_channels=in_channels)
    return (
        complexity(Arch((NONE,) * NUM_EDGES), **kwargs),
        complexity(Arch((CONV3,) * NUM_EDGES), **kwargs),
    )
