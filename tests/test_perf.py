"""`bench perf` runs end to end and reports consistent figures (speed targets live in its output, not here);
the FLOP accounting of achieved FLOP/s is checked by hand and against the supernet itself."""

import pytest
import torch
from torch import nn

from bench.perf import VARIANTS, format_report, measure
from bench.perf_ceiling import conv_train_flops, subnet_macs, train_flops_per_image
from bench.spaces.nb201 import executed_arch
from bench.spaces import nb201 as space
from bench.supernets.nb201 import NB201Supernet

C1, C3, NONE = space.CONV1, space.CONV3, space.NONE


def test_perf_measures_every_variant():
    result = measure(C=2, N=1, batch_size=16, steps=2, repeats=1, variants=tuple(VARIANTS), score_subnets=2,
                     score_images=64, matmul_n=32, ceiling_seconds=0.01)
    assert set(result.loop_images_per_s) == set(VARIANTS)
    assert all(v[0] > 0 for v in result.loop_images_per_s.values())
    assert result.bare_images_per_s[0] > 0 and result.score_subnet_images_per_s[0] > 0
    report = format_report(result)
    assert "loop spos / bare" in report and "fairnas+calr+ms / spos" in report
    for line in ("training FLOPs per image", "[fp32] achieved loop spos", "[fp32] attainable matmul 32",
                 "[fp32] attainable conv3x3 2ch 32x32 b16 fwd+bwd", "[fp32] achieved/attainable loop / conv",
                 "[fp32] achieved/attainable loop / matmul"):
        assert line in report, line


def test_perf_measures_both_precisions_side_by_side():
    result = measure(C=2, N=1, batch_size=8, steps=2, repeats=2, score_subnets=1, score_images=32,
                     precisions=("fp32", "bf16"), matmul_n=32, ceiling_seconds=0.01)
    assert result.precisions == ("fp32", "bf16")
    for p in result.precisions:
        assert len(result.loop[p]["spos"]) == len(result.bare[p]) == len(result.conv_flops[p]) == 2
        assert min(result.achieved(p)) > 0 and min(result.matmul_flops[p]) > 0
    report = format_report(result)
    for line in ("[bf16] loop spos", "[bf16] achieved/attainable loop / conv", "bf16 / fp32 loop spos",
                 "bf16 / fp32 bare fwd+bwd", "bf16 / fp32 matmul 32", "bf16 / fp32 conv3x3 fwd+bwd"):
        assert line in report, line


def test_flops_of_an_all_1x1_subnet_by_hand():
    # C=4, N=1, 8x8 input: every count is a product of small numbers.
    arch = space.Arch((C1,) * 6)
    stem = 3 * 4 * 9 * 8 * 8  # 3 -> 4 channels, 3x3, 8x8
    cells = 6 * (4 * 4 * 8 * 8) + 6 * (8 * 8 * 4 * 4) + 6 * (16 * 16 * 2 * 2)  # 6 1x1 convs per cell, 3 stages
    reductions = (4 * 8 * 9 + 8 * 8 * 9 + 4 * 8) * 4 * 4 + (8 * 16 * 9 + 16 * 16 * 9 + 8 * 16) * 2 * 2
    classifier = 16 * 10
    macs = stem + cells + reductions + classifier
    assert macs == 54176
    assert subnet_macs(arch, C=4, N=1, input_size=8) == macs
    # 2 FLOPs per multiply-accumulate, x3 for forward + backward; the mean over the subnets trained.
    assert train_flops_per_image([arch], C=4, N=1, input_size=8) == 6 * macs
    empty = space.Arch((NONE,) * 6)
    none_macs = stem + reductions + classifier
    assert train_flops_per_image([arch, empty], C=4, N=1, input_size=8) == 3 * (macs + none_macs)
    assert conv_train_flops(batch=64, channels=16, size=32) == 6 * 64 * 16 * 16 * 9 * 32 * 32


def test_ops_after_an_empty_node_are_not_counted():
    # Edge 1<-0 is none: node 1 receives nothing, so the supernet skips 2<-1 and 3<-1.
    arch = space.Arch((NONE, C1, C1, C1, C1, C1))
    assert executed_arch(arch) == space.Arch((NONE, C1, NONE, C1, NONE, C1))
    assert executed_arch(space.Arch((C3,) * 6)) == space.Arch((C3,) * 6)
    assert subnet_macs(arch, C=4, N=1, input_size=8) == subnet_macs(executed_arch(arch), C=4, N=1, input_size=8)
    assert subnet_macs(arch, C=4, N=1, input_size=8) < space.complexity(arch, C=4, N=1, input_size=8).flops


@pytest.mark.parametrize("seed", range(4))
def test_flop_count_matches_the_convolutions_the_supernet_runs(seed):
    """MACs of every nn.Conv2d / nn.Linear the forward pass calls (pooling convs are functional, not counted)."""
    model = NB201Supernet(C=4, N=2)
    macs = []

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            macs.append(output[0].numel() * module.in_channels // module.groups * k)
        else:
            macs.append(output[0].numel() * module.in_features)

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(count)
    for arch in space.sample_archs(5, seed=seed):
        macs.clear()
        with torch.no_grad():
            model(torch.zeros(2, 3, 16, 16), arch)
        assert sum(macs) == subnet_macs(arch, C=4, N=2, input_size=16), arch
