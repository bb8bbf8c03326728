"""The NAS-Bench-101 supernet: shapes, parameter counts against the space, weight sharing, BN modes."""

from __future__ import annotations

import pytest
import torch

from bench.spaces import nb101 as space
from bench.supernets.nb101 import CHANNEL_MODES, NB101Supernet, active_parameter_count
from bench.supernets.bn import BNConfig

SMALL = {"C": 8, "num_stacks": 3, "cells_per_stack": 1, "num_classes": 10, "in_channels": 3}

SMALLEST = space.make_cell([[0, 1], [0, 0]], [space.INPUT, space.OUTPUT])
# A 7-vertex chain with input -> output, every op and a skip from vertex 1 to the output (9 edges).
CHAIN7 = space.make_cell(
    [[0, 1, 0, 0, 0, 0, 1],
     [0, 0, 1, 0, 0, 0, 1],
     [0, 0, 0, 1, 0, 0, 0],
     [0, 0, 0, 0, 1, 0, 0],
     [0, 0, 0, 0, 0, 1, 0],
     [0, 0, 0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0, 0, 0]],
    [space.INPUT, space.CONV3X3, space.CONV1X1, space.MAXPOOL3X3, space.CONV3X3, space.CONV1X1, space.OUTPUT],
)
# Output fed by three interior vertices: 8 / 16 channels do not split evenly, so widths differ by one.
FAN3 = space.make_cell(
    [[0, 1, 1, 1, 0],
     [0, 0, 0, 0, 1],
     [0, 0, 0, 0, 1],
     [0, 0, 0, 0, 1],
     [0, 0, 0, 0, 0]],
    [space.INPUT, space.CONV3X3, space.MAXPOOL3X3, space.CONV1X1, space.OUTPUT],
)


def _model(seed: int = 0, **kwargs) -> NB101Supernet:
    torch.manual_seed(seed)
    return NB101Supernet(**{**SMALL, **kwargs})


def _input(batch: int = 4, size: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _loss(out: torch.Tensor) -> torch.Tensor:
    # Random output weights: a plain sum gives every logit the same gradient, a degenerate case for BN.
    return (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(2))).sum()


def _space_params(model: NB101Supernet, cell: space.Cell) -> int:
    return space.params(cell.matrix, cell.ops, stem_channels=model.C, num_stacks=model.num_stacks,
                        cells_per_stack=model.cells_per_stack, num_classes=model.num_classes, in_channels=3)


@pytest.mark.parametrize("channels", CHANNEL_MODES)
def test_output_shape_for_sampled_and_extreme_cells(channels):
    model = _model(channels=channels)
    cells = [SMALLEST, CHAIN7, FAN3] + space.sample_cells(6, seed=0)
    assert {c.num_vertices for c in cells} >= {2, 7}
    for size in (8, 9):  # an odd size exercises the rounding-up pool between stacks
        x = _input(size=size)
        for cell in cells:
            out = model(x, cell)
            assert out.shape == (4, 10)
            assert torch.isfinite(out).all()


def test_dynamic_active_parameters_equal_the_space_count():
    model = _model()
    cells = [SMALLEST, CHAIN7, FAN3] + space.sample_cells(20, seed=3)
    for cell in cells:
        assert active_parameter_count(model, cell) == _space_params(model, cell), cell.to_dict()
    two_cells = _model(C=4, num_stacks=2, cells_per_stack=2)
    for cell in cells[:8]:
        assert active_parameter_count(two_cells, cell) == _space_params(two_cells, cell), cell.to_dict()


def test_fixed_channels_use_more_weights_than_dynamic_when_the_output_has_fan_in():
    dynamic, fixed = _model(), _model(channels="fixed")
    assert active_parameter_count(fixed, SMALLEST) == active_parameter_count(dynamic, SMALLEST)
    assert active_parameter_count(fixed, FAN3) > active_parameter_count(dynamic, FAN3)


def test_gradients_reach_exactly_the_weights_the_subnet_uses():
    model = _model()
    cell = FAN3  # slot 1 conv3x3, slot 2 maxpool, slot 3 conv1x1; input feeds slots 1-3, not the output
    # 16x16 and 8 images: at 8x8 the last stack is 2x2, and a BN-ReLU unit can be dead on the whole batch.
    _loss(model(_input(batch=8, size=16), cell)).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    first = "stacks.0.0."
    assert grads[first + "slots.0.conv3x3.conv.weight"] is not None
    assert grads[first + "slots.2.conv1x1.conv.weight"] is not None
    for unused in ("slots.0.conv1x1.conv.weight", "slots.1.conv3x3.conv.weight", "slots.1.conv1x1.conv.weight",
                   "slots.3.conv3x3.conv.weight", "slots.4.conv1x1.bn.weight", "projections.3.conv.weight",
                   "projections.5.conv.weight"):
        assert grads[first + unused] is None, unused
    # Inside used weights only the active slice gets gradient: as many nonzero entries as active parameters.
    nonzero = sum(int((g != 0).sum()) for g in grads.values() if g is not None)
    assert nonzero == active_parameter_count(model, cell)
    # Slot 1 of the 8-channel first cell has 3 channels (8 = 3 + 3 + 2): filters 3.. are untouched.
    slot1 = grads[first + "slots.0.conv3x3.conv.weight"]
    assert slot1[:3, :3].abs().sum() > 0 and slot1[3:].abs().sum() == 0 and slot1[:, 3:].abs().sum() == 0


def test_nonzero_gradients_count_the_active_parameters_for_sampled_cells():
    for cell in [CHAIN7, SMALLEST] + space.sample_cells(3, seed=11):
        model = _model()
        _loss(model(_input(batch=8, size=16), cell)).backward()
        nonzero = sum(int((p.grad != 0).sum()) for p in model.parameters() if p.grad is not None)
        assert nonzero == active_parameter_count(model, cell), cell.to_dict()


def test_smallest_cell_uses_only_the_output_projection():
    model = _model()
    _loss(model(_input(), SMALLEST)).backward()
    used = {name for name, p in model.named_parameters() if p.grad is not None and "stacks" in name}
    assert used and all(".projections.5." in name for name in used)


@pytest.mark.parametrize("channels", CHANNEL_MODES)
def test_same_seed_gives_the_same_output(channels):
    cell = space.sample_cells(1, seed=5)[0]
    a = _model(seed=7, channels=channels)(_input(), cell)
    b = _model(seed=7, channels=channels)(_input(), cell)
    c = _model(seed=8, channels=channels)(_input(), cell)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_fixed_mode_sums_at_full_width():
    model = _model(channels="fixed")
    first = model.searchable_cells()[0]
    assert first.widths(FAN3) == (8, 8, 8, 8, 8)
    assert model.searchable_cells()[1].widths(FAN3) == (8, 16, 16, 16, 16)
    out = model(_input(), FAN3)
    _loss(out).backward()
    # Every interior vertex runs at full width, so the whole slot weight gets gradient.
    assert (model.stacks[0][0].slots[0]["conv3x3"].conv.weight.grad != 0).all()


def test_dynamic_widths_follow_the_space():
    model = _model()
    assert model.searchable_cells()[0].widths(FAN3) == tuple(space.vertex_channels(8, 8, FAN3.matrix))
    assert model.searchable_cells()[1].widths(FAN3) == (8, 6, 5, 5, 16)


def test_bad_channels_value_names_the_allowed_ones():
    with pytest.raises(ValueError, match="'dynamic', 'fixed'"):
        NB101Supernet(**SMALL, channels="slimmable")


def test_forward_needs_a_cell():
    with pytest.raises(TypeError, match="Cell"):
        _model()(_input(), CHAIN7.to_dict())


def test_batch_statistics_mode_keeps_no_buffers():
    model = _model(bn=BNConfig(track_running_stats=False))
    assert not list(model.buffers())
    model.eval()
    a = model(_input(), CHAIN7)
    model.train()
    assert torch.allclose(a, model(_input(), CHAIN7))  # eval still normalizes with the batch statistics


def test_tracked_running_stats_update_only_the_active_slice():
    model = _model(bn=BNConfig(track_running_stats=True))
    model.train()
    model(_input(), FAN3)
    bn = model.stacks[0][0].slots[0]["conv3x3"].bn  # 3 of 8 channels active
    assert (bn.running_mean[:3] != 0).all() and (bn.running_mean[3:] == 0).all()
    assert (bn.running_var[3:] == 1).all() and int(bn.num_batches_tracked) == 1
    unused = model.stacks[0][0].slots[0]["conv1x1"].bn
    assert int(unused.num_batches_tracked) == 0
    model.eval()
    assert model(_input(), FAN3).shape == (4, 10)


def test_cumulative_recalibration_mode_works():
    # bench.evaluate.recalibrate_bn sets momentum=None after reset_running_stats.
    model = _model(bn=BNConfig(track_running_stats=True))
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        model(_input(seed=1), CHAIN7)
        model(_input(seed=2), CHAIN7)
    sliced = model.stacks[0][0].projections[0].bn  # feeds vertex 1 from the cell input: a sliced BN
    assert int(sliced.num_batches_tracked) == 2 and torch.isfinite(sliced.running_mean).all()
