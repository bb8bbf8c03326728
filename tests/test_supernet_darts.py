"""DARTS supernet: shapes, parameter counts vs the closed form and the stand-alone network, the selected
path equals the stand-alone network, gradients only on the path, determinism, errors.

Tiny settings (C=4, 5 cells: reductions at cells 1 and 3; 16x16 inputs, batch 2-4), so the file runs in seconds.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from bench.spaces import darts as space
from bench.spaces.darts_network import build_network
from bench.supernets.darts import (
    NUM_EDGES,
    DARTSSupernet,
    active_parameter_count,
    edge_index,
)
from bench.supernets.bn import BNConfig

C, LAYERS = 4, 5


def make_supernet(seed: int = 0, **kwargs) -> DARTSSupernet:
    torch.manual_seed(seed)
    return DARTSSupernet(C=C, layers=LAYERS, **kwargs)


def images(batch: int = 2, size: int = 16, channels: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, channels, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def supernet() -> DARTSSupernet:
    return make_supernet()


def test_layout(supernet):
    assert [cell.reduction for cell in supernet.cells] == [False, True, False, True, False]
    assert space.reduction_layers(LAYERS) == (1, 3)
    for cell in supernet.cells:
        assert len(cell.edges) == NUM_EDGES == 14
        assert all(list(edge) == list(space.OPS) for edge in cell.edges)
    # Edge (node k, input j) in DARTS order: node 0 has inputs 0, 1; node 3 has inputs 0..4.
    assert [edge_index(0, 0), edge_index(0, 1), edge_index(1, 0), edge_index(3, 4)] == [0, 1, 2, 13]


@pytest.mark.parametrize("size", [16, 32])
def test_output_shape(supernet, size):
    x = images(batch=3, size=size)
    for genotype in space.sample_genotypes(4, seed=size):
        out = supernet(x, genotype)
        assert out.shape == (3, 10)
        assert torch.isfinite(out).all()


def test_other_classes_and_input_channels():
    model = DARTSSupernet(C=C, layers=LAYERS, num_classes=7, in_channels=1)
    genotype = space.sample_genotypes(1, seed=3)[0]
    assert model(images(channels=1), genotype).shape == (2, 7)
    expected = space.params(genotype, C=C, layers=LAYERS, num_classes=7, in_channels=1)
    assert active_parameter_count(model, genotype) == expected


def test_active_parameter_count_matches_closed_form_and_standalone(supernet):
    for genotype in space.sample_genotypes(10, seed=4):
        standalone = sum(p.numel() for p in build_network(genotype, C=C, layers=LAYERS).parameters())
        closed_form = space.params(genotype, C=C, layers=LAYERS)
        assert active_parameter_count(supernet, genotype) == closed_form == standalone


def test_non_affine_bn_drops_two_parameters_per_bn_channel():
    model = make_supernet(bn=BNConfig(affine=False))
    for genotype in space.sample_genotypes(3, seed=5):
        network = build_network(genotype, C=C, layers=LAYERS)
        bn_params = sum(p.numel() for m in network.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
        assert active_parameter_count(model, genotype) == space.params(genotype, C=C, layers=LAYERS) - bn_params


def load_path(network: nn.Module, model: DARTSSupernet, genotype: space.Genotype) -> None:
    """Copy the path's weights into the stand-alone network, module by module."""
    pairs = [(network.stem, model.stem), (network.classifier, model.classifier)]
    for cell, super_cell in zip(network.cells, model.cells):
        pairs += [(cell.preprocess0, super_cell.preprocess0), (cell.preprocess1, super_cell.preprocess1)]
        for position, (op, source) in enumerate(genotype.cell(super_cell.reduction).pairs):
            pairs.append((cell.ops[position], super_cell.op_module(position // 2, source, op)))
    with torch.no_grad():
        for target, source in pairs:
            params = list(zip(target.parameters(), source.parameters(), strict=True))
            for t, s in params:
                t.copy_(s)


def test_path_computes_the_standalone_network(supernet):
    # Both in training mode: BN uses batch statistics in either, so the functions are the same.
    x = images(batch=4)
    for genotype in space.sample_genotypes(3, seed=6):
        network = build_network(genotype, C=C, layers=LAYERS)
        load_path(network, supernet, genotype)
        torch.testing.assert_close(supernet(x, genotype), network(x), rtol=1e-4, atol=1e-5)


def test_gradients_reach_only_the_selected_path():
    model = make_supernet()
    genotype = space.sample_genotypes(1, seed=7)[0]
    nn.functional.cross_entropy(model(images(), genotype), torch.tensor([0, 1])).backward()
    # Every selected module gets a gradient: node 0 always reads states 0 and 1, so both preprocessings
    # and every cell output are live.
    active = {id(p) for p in model.active_parameters(genotype)}
    with_grad = {id(p) for p in model.parameters() if p.grad is not None}
    assert with_grad == active
    # The same, spelled out for one cell: the selected sep/dil convs have gradients, the others none.
    cell, pairs = model.cells[0], genotype.normal.pairs
    chosen = {(position // 2, source, op) for position, (op, source) in enumerate(pairs)}
    for node in range(space.NUM_NODES):
        for source in range(node + 2):
            for op in (space.SEP_CONV_3, space.SEP_CONV_5, space.DIL_CONV_3, space.DIL_CONV_5):
                grads = [p.grad for p in cell.op_module(node, source, op).parameters()]
                used = (node, source, op) in chosen
                assert all((g is not None) == used for g in grads), (node, source, op)


def test_deterministic():
    x = images(batch=4)
    genotype = space.sample_genotypes(1, seed=8)[0]
    a, b = make_supernet(seed=3), make_supernet(seed=3)
    first = a(x, genotype)
    assert torch.equal(first, a(x, genotype))
    assert torch.equal(first, b(x, genotype))
    assert not torch.equal(first, make_supernet(seed=4)(x, genotype))


def test_genotype_as_string_or_mapping(supernet):
    genotype = space.sample_genotypes(1, seed=9)[0]
    x = images()
    expected = supernet(x, genotype)
    assert torch.equal(supernet(x, str(genotype)), expected)
    assert torch.equal(supernet(x, genotype.to_dict()), expected)


@pytest.mark.parametrize("value", [42, None, [("sep_conv_3x3", 0)] * 8])
def test_wrong_genotype_type_is_rejected(supernet, value):
    with pytest.raises(space.GenotypeError, match="expected a Genotype, a genotype string or a mapping"):
        supernet(images(), value)


def test_input_out_of_range_is_rejected(supernet):
    genotype = space.sample_genotypes(1, seed=10)[0]
    pairs = list(genotype.normal.pairs)
    pairs[2] = (pairs[2][0], 3)  # node 1 reads states 0..2 only
    with pytest.raises(space.GenotypeError, match="must take an input state in 0..2"):
        dataclasses.replace(genotype, normal=pairs)
    # The constructor cannot make such a cell; one tampered after construction is still caught.
    tampered = space.Cell(genotype.normal.pairs)
    object.__setattr__(tampered, "pairs", tuple(pairs))
    with pytest.raises(space.GenotypeError, match=r"normal cell, pair 2 .*node 1 has edges from states 0..2"):
        supernet(images(), dataclasses.replace(genotype, normal=tampered))


@pytest.mark.parametrize("kwargs", [{"C": 0}, {"layers": 0}, {"num_classes": 1.5}, {"in_channels": True}])
def test_bad_settings_are_rejected(kwargs):
    settings = {"C": C, "layers": LAYERS} | kwargs
    with pytest.raises(ValueError, match="must be an int >= 1"):
        DARTSSupernet(**settings)
