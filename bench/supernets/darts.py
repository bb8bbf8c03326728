"""The DARTS weight-sharing supernet: every candidate op on every edge, one genotype's path per forward.

Sources: Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search",
ICLR 2019 (Sec. 2.1, the cell; the official ``cnn/model_search.py``, whose
search network holds every candidate op on each of a cell's 14 edges);
Radosavovic et al., "On Network Design Spaces for Visual Recognition" (NDS),
ICCV 2019, whose DARTS design space and network (pycls ``models/nas``) are
those of :mod:`bench.spaces.darts` and :mod:`bench.spaces.darts_network`;
Guo et al., "Single Path One-Shot Neural Architecture Search with Uniform
Sampling", ECCV 2020, the training this supernet is made for: each step runs
(and updates) the single subnet that one sampled genotype selects.

Layout
------
The macro skeleton is DARTS ``NetworkCIFAR`` exactly as
:class:`bench.spaces.darts_network.NetworkCIFAR` builds it: 3x3 conv stem with
``3*C`` channels + BN; ``layers`` cells, reductions at
:func:`bench.spaces.darts.reduction_layers` doubling the channels; each
cell preprocesses state 0 with ReLU-conv1x1-BN (a ``FactorizedReduce`` after
a reduction cell) and state 1 with ReLU-conv1x1-BN; global average pooling
and a linear classifier. No auxiliary head, no drop path.

A cell has, like the DARTS search network, one edge per (intermediate node k,
input state j), j = 0..k+1: 2 + 3 + 4 + 5 = 14 edges; each edge holds one
module per op of :data:`bench.spaces.darts.OPS` (``none`` is not an op of
the space, so it has no module), with stride 2 on edges from states 0 and 1
in reduction cells. A genotype pair (op, j) feeding node k runs edge (k, j)'s
``op`` module. Every cell position has its own weights (channels differ
between positions anyway). Our operationalization: weights are shared per
(cell position, node, input, op), the DARTS edge granularity, not per
(cell position, node, op); a node's two pairs always have distinct inputs
(:class:`bench.spaces.darts.Cell` enforces it), so they never share a module.

The selected path is module for module the stand-alone network of
:func:`bench.spaces.darts_network.build_network` (the op modules are built by
that module's ``make_op``), so :func:`active_parameter_count` equals
:func:`bench.spaces.darts.params` when BN is affine. Our operationalization:
no BN after the pools. DARTS's search network adds a non-affine BN to pools
in its ``MixedOp`` to balance the weighted mixture; a single path has no
mixture, and the subnet stays the network whose complexity the space prices.

Batch norm follows :class:`bench.supernets.bn.BNConfig` in every BN layer
(stem, preprocessing, ops), as in the NB201 supernet. The default,
``track_running_stats=False``, normalizes with batch statistics always, as
running statistics shared between subnets would mix different paths' moments.
DARTS's search phase uses ``affine=False`` for the BNs of preprocessing and
ops (its stem BN stays affine); ``BNConfig(affine=False)`` comes close but
also drops the stem BN's affine parameters. Without affine BN the subnet has
2 parameters per BN channel fewer than :func:`bench.spaces.darts.params`
counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn

from bench.spaces import darts as space
from bench.spaces.darts import Cell, Genotype, GenotypeError
from bench.spaces.darts_network import FactorizedReduce, ReLUConvBN, make_op
from bench.supernets.bn import BNConfig

GenotypeLike = Genotype | str | Mapping


def _use_bn(module: nn.Module, bn: BNConfig) -> nn.Module:
    """``module`` with every BatchNorm2d replaced by ``bn.make``.

    The stand-alone op modules hard-code the evaluation network's BN (affine,
    running statistics); swapping it keeps one definition of each op's
    structure, so a supernet path is the stand-alone network by construction.
    """
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, bn.make(child.num_features))
        else:
            _use_bn(child, bn)
    return module


def edge_index(node: int, source: int) -> int:
    """Position of edge (intermediate node ``node`` = 0..3, input state ``source``) among a cell's 14
    edges, in DARTS's order: node by node, inputs ascending (node k has k + 2 edges)."""
    return node * (node + 3) // 2 + source


NUM_EDGES = edge_index(space.NUM_NODES, 0)
"""Edges of a cell: 14."""


class SupernetCell(nn.Module):
    """One cell position: its two preprocessings and all 7 ops on each of its 14 edges."""

    def __init__(self, c_pp: int, c_p: int, C: int, reduction: bool, reduction_prev: bool, bn: BNConfig) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = _use_bn(FactorizedReduce(c_pp, C) if reduction_prev else ReLUConvBN(c_pp, C, 1), bn)
        self.preprocess1 = _use_bn(ReLUConvBN(c_p, C, 1), bn)
        self.edges = nn.ModuleList()
        for node in range(space.NUM_NODES):
            for source in range(node + space.NUM_INPUTS):
                stride = 2 if reduction and source < space.NUM_INPUTS else 1
                self.edges.append(nn.ModuleDict({op: _use_bn(make_op(op, C, stride), bn) for op in space.OPS}))

    def op_module(self, node: int, source: int, op: str) -> nn.Module:
        """The module that a pair (``op``, ``source``) feeding intermediate node ``node`` runs."""
        return self.edges[edge_index(node, source)][op]

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, cell: Cell) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node, ((op_a, a), (op_b, b)) in enumerate(cell.nodes):
            states.append(self.op_module(node, a, op_a)(states[a]) + self.op_module(node, b, op_b)(states[b]))
        return torch.cat(states[space.NUM_INPUTS:], dim=1)

    def active_modules(self, cell: Cell) -> Iterator[nn.Module]:
        """The preprocessings (the stand-alone cell always has both) and the ops ``cell`` selects."""
        yield self.preprocess0
        yield self.preprocess1
        for node, pairs in enumerate(cell.nodes):
            for op, source in pairs:
                yield self.op_module(node, source, op)


def _check_positive(**settings: int) -> None:
    for name, value in settings.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _checked(genotype: GenotypeLike) -> Genotype:
    """``genotype`` as a Genotype, re-checking its pairs against the supernet's edges.

    :class:`Genotype` validates on construction; the re-check (16 pairs, cheap)
    catches a frozen Cell tampered with after construction, which would
    otherwise fail with a bare IndexError or KeyError deep in the forward.
    """
    genotype = space.as_genotype(genotype)
    for cell_type in space.CELL_TYPES:
        for position, (op, source) in enumerate(getattr(genotype, cell_type).pairs):
            node = position // 2
            if op not in space.OPS or not (isinstance(source, int) and 0 <= source < node + space.NUM_INPUTS):
                raise GenotypeError(f"{cell_type} cell, pair {position} ({op!r}, {source!r}): node {node} has "
                                    f"edges from states 0..{node + 1} with ops {', '.join(space.OPS)}")
    return genotype


class DARTSSupernet(nn.Module):
    """Every candidate op on every edge of every cell; ``forward(x, genotype)`` runs one subnet.

    ``C`` is DARTS's ``init_channels`` (NDS ``width``), ``layers`` the number
    of cells (NDS ``depth``); the other settings as in
    :func:`bench.spaces.darts_network.build_network`.
    """

    def __init__(self, C: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3,
                 bn: BNConfig = BNConfig()) -> None:  # noqa: B008 (frozen, so a shared default is safe)
        super().__init__()
        _check_positive(C=C, layers=layers, num_classes=num_classes, in_channels=in_channels)
        self.C, self.layers, self.num_classes = C, layers, num_classes
        self.reductions = space.reduction_layers(layers)
        stem = 3 * C  # DARTS stem_multiplier
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 3, padding=1, bias=False), bn.make(stem))
        c_pp, c_p, c_cur = stem, stem, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in self.reductions
            c_cur *= 2 if reduction else 1
            self.cells.append(SupernetCell(c_pp, c_p, c_cur, reduction, reduction_prev, bn))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(space.CONCAT) * c_cur
        self.classifier = nn.Linear(c_p, num_classes)
        # Channels-last (NHWC) convolutions are faster than NCHW on the CPU (oneDNN), as in the NB201 supernet.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, genotype: GenotypeLike) -> torch.Tensor:
        genotype = _checked(genotype)
        s0 = s1 = self.stem(x.contiguous(memory_format=torch.channels_last))
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, genotype.cell(cell.reduction))
        return self.classifier(s1.mean(dim=(2, 3)))

    def active_modules(self, genotype: GenotypeLike) -> list[nn.Module]:
        """The modules of the subnet ``genotype`` selects (stem, preprocessings, selected ops, classifier)."""
        genotype = _checked(genotype)
        modules: list[nn.Module] = [self.stem]
        for cell in self.cells:
            modules += cell.active_modules(genotype.cell(cell.reduction))
        return modules + [self.classifier]

    def active_parameters(self, genotype: GenotypeLike) -> list[nn.Parameter]:
        """The parameters of the subnet, each once."""
        seen: dict[int, nn.Parameter] = {}
        for module in self.active_modules(genotype):
            for p in module.parameters():
                seen.setdefault(id(p), p)
        return list(seen.values())


def active_parameter_count(model: DARTSSupernet, genotype: GenotypeLike) -> int:
    """Parameters of the subnet that ``genotype`` selects in ``model``.

    With affine BN (the default) it equals :func:`bench.spaces.darts.params`
    at the model's ``C``, ``layers`` and ``num_classes`` (and the parameter
    count of the stand-alone network); with ``affine=False`` it is 2 per BN
    channel fewer.
    """
    return sum(p.numel() for p in model.active_parameters(genotype))
