import pytest
import torch

from bench.spaces import nb201 as space
from bench.supernets.nb201 import NB201Standalone


BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_parse_format_round_trip():
    arch = space.parse_arch(BEST)
    assert arch.ops == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3",
                        "nor_conv_3x3")
    assert space.format_arch(arch) == BEST
    assert str(arch) == BEST


@pytest.mark.parametrize("bad, reason", [
    ("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_7x7'"),
    ("|none~0|+|none~0|none~1|", "expected 3 node groups"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "should be 'op~1'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 inputs"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "should be 'op~0'"),
])
def test_parse_rejects_with_reason(bad, reason):
    with pytest.raises(space.ArchError, match=reason.replace("|", r"\|")):
        space.parse_arch(bad)


def test_arch_rejects_unknown_op_and_wrong_length():
    with pytest.raises(space.ArchError, match="allowed: none, skip_connect"):
        space.Arch(("none",) * 5 + ("sep_conv",))
    with pytest.raises(space.ArchError, match="6 edges"):
        space.Arch(("none",) * 5)


def test_enumeration_covers_the_space_once():
    archs = space.all_archs()
    assert len(archs) == space.SPACE_SIZE == 15625
    assert len(set(archs)) == 15625
    assert [space.arch_from_code(i) for i in range(15625)] == archs


def test_sampling_is_seeded_uniform_and_distinct():
    a = space.sample_archs(500, seed=3)
    assert a == space.sample_archs(500, seed=3)
    assert a != space.sample_archs(500, seed=4)
    assert len(set(a)) == 500
    # Each op appears on edge 0 about 1/5 of the time (500 draws: 100 +- ~3 sd of 9).
    counts = [sum(arch.ops[0] == op for arch in a) for op in space.OPS]
    assert all(70 <= c <= 130 for c in counts), counts


def test_degenerate_cells():
    assert space.is_degenerate(space.Arch(("none",) * 6))
    # Only path 0->1->3 but edge 3<-1 is none, 0->3 none, 2 unreachable: degenerate.
    assert space.is_degenerate(space.parse_arch("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
    assert not space.is_degenerate(space.parse_arch("|none~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|"))
    assert not space.is_degenerate(space.parse_arch("|skip_connect~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|skip_connect~2|"))
    # Counted by brute force over the space: 5^6 cells, 341 degenerate (the benchmark's chance-level cells).
    assert sum(space.is_degenerate(a) for a in space.all_archs()) == 341


def test_official_parameter_counts():
    largest, smallest = space.complexity(space.Arch(("nor_conv_3x3",) * 6)), space.complexity(space.Arch(("none",) * 6))
    assert largest.params == 1_531_546  # NAS-Bench-201 API: 1.531546 MB
    assert smallest.params == 73_306  # 0.073306 MB
    assert space.complexity_extremes() == (smallest, largest)


@pytest.mark.parametrize("setting", [dict(C=16, N=5), dict(C=8, N=1, num_classes=10, input_size=8, in_channels=1),
                                     dict(C=4, N=2, num_classes=100)])
def test_closed_form_params_match_built_network(setting):
    for arch in space.sample_archs(6, seed=1) + [space.parse_arch(BEST)]:
        kwargs = {k: v for k, v in setting.items() if k != "input_size"}
        net = NB201Standalone(arch, **kwargs)
        built = sum(p.numel() for p in net.parameters())
        assert space.complexity(arch, **setting).params == built


def test_flops_count_conv_and_linear_macs():
    # Count MACs with forward hooks on the built network and compare.
    arch = space.parse_arch(BEST)
    net = NB201Standalone(arch, C=8, N=2)
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            macs.append(output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1])
        elif isinstance(module, torch.nn.Linear):
            macs.append(module.in_features * module.out_features)

    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    net(torch.zeros(1, 3, 32, 32))
    assert space.complexity(arch, C=8, N=2).flops == sum(macs)
