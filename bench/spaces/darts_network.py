"""The stand-alone DARTS CIFAR network in PyTorch, for a :class:`~bench.spaces.darts.Genotype`.

Written from the DARTS code's documented structure (github.com/quark0/darts,
``cnn/operations.py``: ``OPS``, ``ReLUConvBN``, ``SepConv``, ``DilConv``,
``FactorizedReduce``; ``cnn/model.py``: ``Cell``, ``NetworkCIFAR``), which
NDS's pycls ``models/nas`` ports unchanged except that its
``FactorizedReduce`` pads its shifted branch, so odd resolutions work; we do
the same (no parameters, same counts). Auxiliary head and drop path are left
out (see :mod:`bench.spaces.darts`).

Why a module and not a test helper: the closed form of
:func:`bench.spaces.darts.complexity` is checked against this network
(``tests/test_spaces_darts.py``), and the same op modules are what a DARTS
supernet and any stand-alone training of DARTS cells need, so they live in
the package once. The layout loop below is written as DARTS writes it, not
from the closed form, so the check is not circular. Importing this module
imports torch; :mod:`bench.spaces.darts` does not.
"""

from __future__ import annotations

import torch
from torch import nn

from bench.spaces.darts import (
    AVG_POOL,
    DIL_CONV_3,
    DIL_CONV_5,
    MAX_POOL,
    SEP_CONV_3,
    SEP_CONV_5,
    SKIP,
    Genotype,
    as_genotype,
)


class ReLUConvBN(nn.Sequential):
    """ReLU, bias-free conv, affine BN (DARTS ``ReLUConvBN``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out))


class DilConv(nn.Sequential):
    """ReLU, depthwise dilated kxk conv, pointwise 1x1 conv, BN (DARTS ``DilConv``)."""

    def __init__(self, C: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, kernel, stride, padding, dilation=dilation, groups=C, bias=False),
            nn.Conv2d(C, C, 1, bias=False),
            nn.BatchNorm2d(C),
        )


class SepConv(nn.Sequential):
    """Two stacked ReLU, depthwise kxk, pointwise 1x1, BN; the first with ``stride`` (DARTS ``SepConv``)."""

    def __init__(self, C: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, kernel, stride, padding, groups=C, bias=False),
            nn.Conv2d(C, C, 1, bias=False),
            nn.BatchNorm2d(C),
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, kernel, 1, padding, groups=C, bias=False),
            nn.Conv2d(C, C, 1, bias=False),
            nn.BatchNorm2d(C),
        )


class FactorizedReduce(nn.Module):
    """ReLU, two stride-2 1x1 convs (the second on the input shifted by one pixel), concatenated, BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(name: str, C: int, stride: int) -> nn.Module:
    """The module of one op (DARTS ``OPS[name](C, stride, affine=True)``)."""
    if name == MAX_POOL:
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == AVG_POOL:
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == SKIP:
        return nn.Identity() if stride == 1 else FactorizedReduce(C, C)
    if name in (SEP_CONV_3, SEP_CONV_5):
        k = 3 if name == SEP_CONV_3 else 5
        return SepConv(C, k, stride, k // 2)
    if name in (DIL_CONV_3, DIL_CONV_5):
        k = 3 if name == DIL_CONV_3 else 5
        return DilConv(C, k, stride, 2 * (k // 2), 2)
    raise ValueError(f"unknown DARTS op {name!r}")


class DARTSNetworkCell(nn.Module):
    """One cell of the evaluation network (DARTS ``model.Cell``), without drop path."""

    def __init__(self, genotype: Genotype, c_pp: int, c_p: int, C: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_pp, C) if reduction_prev else ReLUConvBN(c_pp, C, 1)
        self.preprocess1 = ReLUConvBN(c_p, C, 1)
        cell = genotype.cell(reduction)
        self.indices = cell.inputs
        self.concat = (2, 3, 4, 5)
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList(make_op(op, C, 2 if reduction and index < 2 else 1) for op, index in cell.pairs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(len(self.ops) // 2):
            a, b = 2 * k, 2 * k + 1
            states.append(self.ops[a](states[self.indices[a]]) + self.ops[b](states[self.indices[b]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class NetworkCIFAR(nn.Module):
    """The DARTS evaluation network for 32x32 images (DARTS ``model.NetworkCIFAR``), no auxiliary head."""

    def __init__(self, genotype, C: int = 36, layers: int = 20, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        genotype = as_genotype(genotype)
        stem_multiplier = 3
        c_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c_curr = c_curr, c_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = DARTSNetworkCell(genotype, c_pp, c_p, c_curr, reduction, reduction_prev)
            reduction_prev = reduction
            self.cells.append(cell)
            c_pp, c_p = c_p, cell.multiplier * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))


def build_network(genotype, C: int = 36, layers: int = 20, num_classes: int = 10, in_channels: int = 3) -> NetworkCIFAR:
    """The stand-alone network of ``genotype`` (a Genotype, string or mapping); defaults as in
    :func:`bench.spaces.darts.complexity`."""
    return NetworkCIFAR(genotype, C=C, layers=layers, num_classes=num_classes, in_channels=in_channels)
