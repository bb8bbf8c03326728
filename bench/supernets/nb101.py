"""The NAS-Bench-101 weight-sharing supernet.

Network layout after Ying et al., "NAS-Bench-101: Towards Reproducible Neural
Architecture Search", ICML 2019 (Sec. 2.1), as the official
``model_builder.build_model_fn`` builds it (see :mod:`bench.spaces.nb101`):
conv3x3-BN-ReLU stem with ``C`` channels, ``num_stacks`` stacks of
``cells_per_stack`` cells, a 2x2 max-pool of stride 2 before every stack
after the first, whose first cell doubles the channels, then global average
pooling and a linear classifier (no BN or ReLU in the head).

Inside a cell (official ``build_module``): the cell input reaches every
vertex it feeds through a 1x1 conv-BN-ReLU *projection* to that vertex's
channels; an edge between interior vertices truncates the source to the
destination's channels (its first channels); a vertex sums its inputs and
applies its op; the output vertex concatenates the interior vertices that
feed it and adds a projection of the cell input when input -> output is an
edge. A 2-vertex cell (input -> output) is that projection alone.

Weight sharing. As in the weight-sharing NAS-Bench-101 supernets of Yu et
al., "Evaluating the Search Phase of Neural Architecture Search", ICLR 2020,
and Zela et al., "NAS-Bench-1Shot1", ICLR 2020, ops sit on the nodes and the
edges are what is sampled. Our operationalization: every supernet cell has
``MAX_VERTICES - 2 = 5`` interior vertex slots, each holding all three
candidate ops (conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3; the pool has no
weights) at the maximal width (the cell's output channels), plus one input
projection per slot and one for the output vertex. A pruned cell with ``k``
interior vertices uses slots ``1..k`` in its vertex order (vertex ``t`` runs
in slot ``t``) and the output slot for its output vertex. So two isomorphic
orderings of one graph (same hash) may use different slots, and a deep
vertex of a small cell shares weights with a shallow vertex of a large one.

Channels (the ``channels`` argument; the "dynamic channels" question of the
weight-sharing literature) -- both are our operationalization:

* ``"dynamic"``: every vertex has the channel count that
  :func:`bench.spaces.nb101.vertex_channels` gives for the subnet, taken as
  the first ``c`` output (and input) channels of the shared max-width
  weights: conv weights are sliced, BN uses the sliced affine parameters
  and, when running statistics are tracked, the sliced running buffers (the
  slices are views, so updates land in the shared buffers). A subnet's
  forward pass is then the stand-alone network's computation with shared
  weights, and :func:`active_parameter_count` equals
  :func:`bench.spaces.nb101.params` (with affine BN).
* ``"fixed"``: every interior vertex has the cell's full output width and
  the output vertex *sums* the interior vertices feeding it instead of
  concatenating them (a common simplification); no slicing at all. The
  subnet is then not the benchmark's stand-alone network.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from bench.spaces import nb101 as space
from bench.supernets.bn import BNConfig

CHANNEL_MODES: tuple[str, ...] = ("dynamic", "fixed")
"""Allowed values of ``NB101Supernet(channels=...)``; see the module docstring."""

NUM_SLOTS = space.MAX_VERTICES - 2
"""Interior vertex slots per supernet cell."""

_CONV_KEYS = {space.CONV3X3: "conv3x3", space.CONV1X1: "conv1x1"}
_KERNELS = {space.CONV3X3: 3, space.CONV1X1: 1}


def sliced_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``bn`` applied to the first ``x.shape[1]`` of its channels; same modes as ``nn.BatchNorm2d.forward``.

    Kept in step with ``_BatchNorm.forward`` so that BN recalibration
    (``momentum=None``: cumulative average over ``num_batches_tracked``) and
    ``track_running_stats=False`` (batch statistics always) behave as for a
    plain BN layer.
    """
    c = x.shape[1]
    factor = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:
            factor = 1.0 / float(bn.num_batches_tracked)
    use_batch_stats = bn.training or bn.running_mean is None
    mean = bn.running_mean[:c] if bn.running_mean is not None else None
    var = bn.running_var[:c] if bn.running_var is not None else None
    weight = bn.weight[:c] if bn.weight is not None else None
    bias = bn.bias[:c] if bn.bias is not None else None
    return F.batch_norm(x, mean, var, weight, bias, use_batch_stats, factor, bn.eps)


class SlicedConvBNReLU(nn.Module):
    """Bias-free conv + BN + ReLU held at max width; runs on the first channels it is asked for.

    ``forward(x, c_out)`` uses the first ``c_out`` filters over the first
    ``x.shape[1]`` input channels, so narrower subnets share the leading
    slice of the weights (as in slimmable / once-for-all networks).
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, bn: BNConfig):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
        self.bn = bn.make(c_out)

    def forward(self, x: torch.Tensor, c_out: int) -> torch.Tensor:
        weight = self.conv.weight[:c_out, : x.shape[1]]
        y = F.conv2d(x, weight, padding=self.conv.padding)
        return F.relu(sliced_batch_norm(self.bn, y))

    def active_params(self, c_in: int, c_out: int) -> int:
        """Weight elements ``forward`` uses for ``c_in`` input and ``c_out`` output channels."""
        k_h, k_w = self.conv.kernel_size
        return c_out * c_in * k_h * k_w + (2 * c_out if self.bn.affine else 0)


@lru_cache(maxsize=4096)
def _dynamic_widths(c_in: int, c_out: int, matrix: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
    # Cached: the same few cells are run many times per epoch, and vertex_channels goes through numpy.
    return tuple(space.vertex_channels(c_in, c_out, matrix))


class SupernetCell(nn.Module):
    """One NB101 cell position: 5 interior slots with every op, and 6 input projections.

    ``projections[t - 1]`` feeds slot ``t`` (1..5) from the cell input;
    ``projections[-1]`` feeds the output vertex.
    """

    def __init__(self, c_in: int, c_out: int, bn: BNConfig, channels: str):
        super().__init__()
        self.c_in, self.c_out, self.channels = c_in, c_out, channels
        self.projections = nn.ModuleList(SlicedConvBNReLU(c_in, c_out, 1, bn) for _ in range(NUM_SLOTS + 1))
        self.slots = nn.ModuleList(
            nn.ModuleDict({key: SlicedConvBNReLU(c_out, c_out, _KERNELS[op], bn) for op, key in _CONV_KEYS.items()})
            for _ in range(NUM_SLOTS)
        )

    def widths(self, cell: space.Cell) -> tuple[int, ...]:
        """Channels of every vertex of ``cell`` in this position (input first, output last)."""
        if self.channels == "dynamic":
            return _dynamic_widths(self.c_in, self.c_out, cell.matrix)
        return (self.c_in,) + (self.c_out,) * (cell.num_vertices - 1)

    def forward(self, x: torch.Tensor, cell: space.Cell) -> torch.Tensor:
        m, n = cell.matrix, cell.num_vertices
        widths = self.widths(cell)
        states: list[torch.Tensor] = [x]
        to_output: list[torch.Tensor] = []
        for t in range(1, n - 1):
            # Interior edges truncate the source to the destination's width (a no-op in "fixed" mode).
            inputs = [states[s][:, : widths[t]] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                inputs.append(self.projections[t - 1](x, widths[t]))
            states.append(self._vertex_op(t, cell.ops[t], _sum(inputs), widths[t]))
            if m[t][n - 1]:
                to_output.append(states[t])
        out = self._merge(to_output)
        if m[0][n - 1]:
            projected = self.projections[-1](x, self.c_out)
            out = projected if out is None else out + projected
        return out

    def _vertex_op(self, t: int, op: str, h: torch.Tensor, width: int) -> torch.Tensor:
        if op == space.MAXPOOL3X3:
            return F.max_pool2d(h, 3, stride=1, padding=1)
        return self.slots[t - 1][_CONV_KEYS[op]](h, width)

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor | None:
        """The output vertex: concatenation ("dynamic", as the benchmark) or sum ("fixed")."""
        if not tensors:
            return None  # only in the 2-vertex cell, which is the input projection alone
        if len(tensors) == 1:
            return tensors[0]
        return torch.cat(tensors, dim=1) if self.channels == "dynamic" else _sum(tensors)

    def active_params(self, cell: space.Cell) -> int:
        """Weight elements ``forward(., cell)`` uses."""
        m, n = cell.matrix, cell.num_vertices
        widths = self.widths(cell)
        total = 0
        for t in range(1, n):
            if m[0][t]:
                proj = self.projections[-1] if t == n - 1 else self.projections[t - 1]
                total += proj.active_params(self.c_in, widths[t])
        for t in range(1, n - 1):
            if cell.ops[t] in _CONV_KEYS:
                total += self.slots[t - 1][_CONV_KEYS[cell.ops[t]]].active_params(widths[t], widths[t])
        return total


def _sum(tensors: list[torch.Tensor]) -> torch.Tensor:
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    return total


class NB101Supernet(nn.Module):
    """NAS-Bench-101 supernet; ``forward(x, cell)`` runs the subnet of a pruned :class:`bench.spaces.nb101.Cell`.

    Defaults are the benchmark network (stem 128, 3 stacks of 3 cells, 10
    classes), as in :func:`bench.spaces.nb101.complexity`; proxy runs pass
    smaller values (e.g. ``C=16, cells_per_stack=1``). Every cell position
    runs the same ``cell`` (as in the benchmark). ``channels`` is
    ``"dynamic"`` or ``"fixed"`` (module docstring).
    """

    def __init__(
        self,
        C: int = 128,
        num_stacks: int = 3,
        cells_per_stack: int = 3,
        num_classes: int = 10,
        in_channels: int = 3,
        bn: BNConfig = BNConfig(),  # noqa: B008 (a frozen dataclass: a shared default is safe)
        channels: str = "dynamic",
    ):
        super().__init__()
        if channels not in CHANNEL_MODES:
            raise ValueError(f"unknown channels mode {channels!r}; allowed: {', '.join(map(repr, CHANNEL_MODES))}")
        for name, value in (("C", C), ("num_stacks", num_stacks), ("cells_per_stack", cells_per_stack),
                            ("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.C, self.num_stacks, self.cells_per_stack = C, num_stacks, cells_per_stack
        self.num_classes, self.channels = num_classes, channels
        # The stem is never sliced; a plain Sequential keeps the name "stem.0.weight" that the gradient
        # diagnostics observe by default in every space.
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), bn.make(C), nn.ReLU())
        self.stacks = nn.ModuleList()
        width = C
        for stack in range(num_stacks):
            c_out = width if stack == 0 else 2 * width
            cells = [SupernetCell(width if i == 0 else c_out, c_out, bn, channels) for i in range(cells_per_stack)]
            self.stacks.append(nn.ModuleList(cells))
            width = c_out
        self.classifier = nn.Linear(width, num_classes)
        # Channels-last (NHWC) convolutions are faster on the CPU (oneDNN), as for the NB201 supernet.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, cell: space.Cell) -> torch.Tensor:
        if not isinstance(cell, space.Cell):
            raise TypeError(f"NB101Supernet needs a bench.spaces.nb101.Cell (see make_cell), got {type(cell).__name__}")
        x = self.stem(x.contiguous(memory_format=torch.channels_last))
        for stack, cells in enumerate(self.stacks):
            if stack > 0:
                # 'same' padding of the official 2x2 pool: odd sizes round up, as ceil_mode does.
                x = F.max_pool2d(x, 2, stride=2, ceil_mode=True)
            for supernet_cell in cells:
                x = supernet_cell(x, cell)
        return self.classifier(x.mean(dim=(2, 3)))

    def searchable_cells(self) -> list[SupernetCell]:
        return [c for cells in self.stacks for c in cells]


def active_parameter_count(model: NB101Supernet, cell: space.Cell) -> int:
    """Weight elements the subnet of ``cell`` uses (conv weights, affine BN, classifier weight and bias).

    With ``channels="dynamic"`` and affine BN this equals
    ``bench.spaces.nb101.params(cell.matrix, cell.ops, stem_channels=model.C, num_stacks=model.num_stacks,
    cells_per_stack=model.cells_per_stack, num_classes=model.num_classes, in_channels=...)``.
    """
    total = sum(p.numel() for p in model.stem.parameters())
    total += sum(c.active_params(cell) for c in model.searchable_cells())
    return total + sum(p.numel() for p in model.classifier.parameters())
