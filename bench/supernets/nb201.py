"""NAS-Bench-201 networks: the weight-sharing supernet and the stand-alone network.

Structure after Dong & Yang, ICLR 2020 (Sec. 2.1; the official ``TinyNetwork``):
3x3 conv stem + BN, three stages of ``N`` cells (C, 2C, 4C channels) joined
by stride-2 ResNet basic blocks, then BN-ReLU, global average pooling and a
linear classifier. Conv ops are ReLU-Conv-BN.

The supernet holds every candidate op on every edge; ``forward(x, arch)``
runs the single path that ``arch`` selects (SPOS / RSPS, Guo et al. 2020;
Li & Talwalkar 2019). The stand-alone network is the same module built with
one candidate per edge, so that its parameter count is exactly
:func:`bench.spaces.nb201.complexity`.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bench.spaces import nb201 as space
from bench.supernets.bn import BNConfig


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, bn: BNConfig):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            bn.make(c_out),
        )


class AvgPool3x3(nn.Module):
    """3x3 average pooling, stride 1, padding 1, averaging over in-image pixels only.

    The same function as ``nn.AvgPool2d(3, 1, 1, count_include_pad=False)``
    (the NAS-Bench-201 op), computed as a depthwise box-sum convolution times
    the reciprocal count of in-image pixels: on the CPU, PyTorch's
    ``avg_pool2d`` on NCHW tensors is several times slower than a 3x3 conv of
    the same size, and it dominated supernet scoring time.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, height, width = x.shape[1], x.shape[2], x.shape[3]
        box = torch.ones(channels, 1, 3, 3, dtype=x.dtype, device=x.device)
        total = F.conv2d(x, box, padding=1, groups=channels)
        ones = torch.ones(1, 1, height, width, dtype=x.dtype, device=x.device)
        count = F.conv2d(ones, box[:1], padding=1)
        return total / count


class AvgPool2x2(nn.Module):
    """2x2 average pooling with stride 2 (``nn.AvgPool2d(2, 2)``) as a depthwise conv, faster on the CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        quarter = torch.full((channels, 1, 2, 2), 0.25, dtype=x.dtype, device=x.device)
        return F.conv2d(x, quarter, stride=2, groups=channels)


class ResidualReduction(nn.Module):
    """ResNet basic block with stride 2 that halves the resolution and doubles the width."""

    def __init__(self, c_in: int, c_out: int, bn: BNConfig):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, bn)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, bn)
        self.shortcut = nn.Sequential(
            AvgPool2x2(),
            nn.Conv2d(c_in, c_out, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


def make_op(name: str, channels: int, bn: BNConfig) -> nn.Module | None:
    """One candidate op; ``none`` has no module (the edge contributes nothing)."""
    if name == space.NONE:
        return None
    if name == space.SKIP:
        return nn.Identity()
    if name == space.CONV1:
        return ReLUConvBN(channels, channels, 1, 1, bn)
    if name == space.CONV3:
        return ReLUConvBN(channels, channels, 3, 1, bn)
    if name == space.AVGPOOL:
        return AvgPool3x3()
    raise space.ArchError(f"unknown op {name!r}; allowed: {', '.join(space.OPS)}")


def drop_path(x: torch.Tensor, rate: float) -> torch.Tensor:
    """Zero each image's tensor with probability ``rate`` and rescale the rest (Larsson et al., ICLR 2017;
    as DARTS applies it to cell edges). Draws from torch's global generator, which the trainer seeds per epoch."""
    keep = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= rate).to(x.dtype)
    return x * keep / (1.0 - rate)


class NB201SupernetCell(nn.Module):
    """A NAS-Bench-201 cell whose edges hold the ops in ``candidates[edge]``.

    ``drop_path_rate`` drops the output of parameterized and pooling ops
    (not skip connections, following DARTS) per image during training.
    """

    def __init__(self, channels: int, candidates: Sequence[Sequence[str]], bn: BNConfig,
                 drop_path_rate: float = 0.0):
        super().__init__()
        self.drop_path_rate = drop_path_rate
        self.edges = nn.ModuleList()
        for ops in candidates:
            edge = nn.ModuleDict()
            for name in ops:
                op = make_op(name, channels, bn)
                if op is not None:
                    edge[name] = op
            self.edges.append(edge)

    def forward(self, x: torch.Tensor, arch: space.Arch) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x]
        edge = 0
        for _ in range(1, space.NUM_NODES):
            total = None
            for source in range(len(nodes)):
                op_name = arch.ops[edge]
                if op_name != space.NONE and nodes[source] is not None:
                    out = self.edges[edge][op_name](nodes[source])
                    if self.training and self.drop_path_rate > 0 and op_name != space.SKIP:
                        out = drop_path(out, self.drop_path_rate)
                    total = out if total is None else total + out
                edge += 1
            nodes.append(total)
        # A degenerate cell has no path from input to output: it outputs zeros.
        return nodes[-1] if nodes[-1] is not None else torch.zeros_like(x)


class NB201Network(nn.Module):
    """Macro skeleton shared by the supernet and the stand-alone network."""

    def __init__(
        self,
        candidates: Sequence[Sequence[str]],
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        bn: BNConfig = BNConfig(),
        drop_path_rate: float = 0.0,
    ):
        super().__init__()
        self.C, self.N, self.num_classes = C, N, num_classes
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), bn.make(C))
        self.stages = nn.ModuleList()
        self.reductions = nn.ModuleList()
        channels = C
        for stage in range(3):
            if stage > 0:
                self.reductions.append(ResidualReduction(channels, 2 * channels, bn))
                channels *= 2
            self.stages.append(nn.ModuleList(NB201SupernetCell(channels, candidates, bn, drop_path_rate)
                                             for _ in range(N)))
        self.head_bn = bn.make(channels)
        self.classifier = nn.Linear(channels, num_classes)
        # Channels-last (NHWC) convolutions are about 30% faster than NCHW on the CPU (oneDNN), in
        # training and scoring alike (measured with `bench perf`); same numbers up to float rounding.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, arch: space.Arch) -> torch.Tensor:
        x = self.stem(x.contiguous(memory_format=torch.channels_last))
        for stage, cells in enumerate(self.stages):
            if stage > 0:
                x = self.reductions[stage - 1](x)
            for cell in cells:
                x = cell(x, arch)
        x = torch.relu(self.head_bn(x))
        return self.classifier(x.mean(dim=(2, 3)))

    def searchable_cells(self) -> list[NB201SupernetCell]:
        return [cell for cells in self.stages for cell in cells]


class NB201Supernet(NB201Network):
    """Every candidate op on every edge; ``forward(x, arch)`` runs one subnet."""

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3, bn: BNConfig = BNConfig(),
                 drop_path: float = 0.0):
        super().__init__([space.OPS] * space.NUM_EDGES, C, N, num_classes, in_channels, bn, drop_path)


class NB201Standalone(NB201Network):
    """The stand-alone network of one cell: only the chosen op on each edge."""

    def __init__(
        self,
        arch: space.Arch,
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        bn: BNConfig = BNConfig(track_running_stats=True),
    ):
        super().__init__([[op] for op in arch.ops], C, N, num_classes, in_channels, bn)
        self.arch = arch

    def forward(self, x: torch.Tensor, arch: space.Arch | None = None) -> torch.Tensor:
        return super().forward(x, self.arch if arch is None else arch)
