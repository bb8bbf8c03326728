"""DARTS space: validation, canonical strings, sampling, closed-form complexity vs a built network, the CLI.

Checks on the 725 NAS-Bench-301 cells read ../shared/data/darts (skipped when absent).
Networks built here are small (C <= 8, at most 8 cells), so the file runs in seconds.
"""

from __future__ import annotations

import io
import json
import math
import re
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
import torch
from torch import nn

from bench.cli import main
from bench.spaces import darts as space
from bench.spaces.darts_network import build_network
from conftest import require_shared

SEP3, SEP5, DIL3, DIL5 = space.SEP_CONV_3, space.SEP_CONV_5, space.DIL_CONV_3, space.DIL_CONV_5
MAX, AVG, SKIP = space.MAX_POOL, space.AVG_POOL, space.SKIP

# DARTS_V2 of the official cnn/genotypes.py (second-order DARTS, the paper's CIFAR-10 cell).
DARTS_V2 = dict(
    normal=[(SEP3, 0), (SEP3, 1), (SEP3, 0), (SEP3, 1), (SEP3, 1), (SKIP, 0), (SKIP, 0), (DIL3, 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[(MAX, 0), (MAX, 1), (SKIP, 2), (MAX, 1), (MAX, 0), (SKIP, 2), (SKIP, 2), (MAX, 1)],
    reduce_concat=[2, 3, 4, 5],
)
DARTS_V2_PARAMS = 3_349_342
"""At C=36, 20 cells, 10 classes: the 'param size = 3.349342MB' that DARTS's train.py logs for DARTS_V2
(its count_parameters_in_MB leaves the auxiliary head out); recalled from public training logs,
confirmed here by the closed form and by the built network."""

NORMAL = [(SEP3, 0), (SKIP, 1), (DIL5, 0), (MAX, 2), (AVG, 1), (SEP5, 3), (DIL3, 4), (SKIP, 0)]


def shared_records() -> list[dict]:
    return json.loads(require_shared("darts", "nb301_surrogate_sample.json").read_text())


# -- validation ------------------------------------------------------------------


def with_pair(position: int, pair) -> list:
    pairs = list(NORMAL)
    pairs[position] = pair
    return pairs


@pytest.mark.parametrize("pairs, message", [
    (NORMAL[:6], "a DARTS cell has 8 \\(op, input\\) pairs, 2 for each of its 4 intermediate nodes; got 6"),
    (with_pair(3, ("conv_3x3", 1)), "unknown op 'conv_3x3' in pair 3; allowed: max_pool_3x3, avg_pool_3x3, "
                                    "skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5"),
    (with_pair(0, ("none", 0)), "unknown op 'none' in pair 0; .*'none' is the zero op of the DARTS search phase"),
    (with_pair(1, (SEP3, 2)), "pair 1 feeds node 2 and must take an input state in 0..1 .* got 2"),
    (with_pair(7, (SEP3, 5)), "pair 7 feeds node 5 and must take an input state in 0..4 .* got 5"),
    (with_pair(4, (SEP3, -1)), "pair 4 feeds node 4 .* got -1"),
    (with_pair(2, (SEP3, 1.0)), "pair 2 feeds node 3 .* got 1.0"),
    (with_pair(2, (SEP3, True)), "pair 2 feeds node 3 .* got True"),
    (with_pair(2, (SEP3, "1")), "pair 2 feeds node 3 .* got '1'"),
    (with_pair(5, (SEP3,)), "pair 5 must be \\(op, input\\), got \\('sep_conv_3x3',\\)"),
    (with_pair(5, "sep_conv_3x3~1"), "pair 5 must be \\(op, input\\)"),
    (with_pair(5, (SEP3, 1)), "node 4 takes input 1 twice \\(pairs 4 and 5\\); the two inputs of a node must differ"),
    ("sep_conv_3x3", "a DARTS cell is a sequence of \\(op, input\\) pairs, got str"),
])
def test_invalid_cells_are_rejected_with_reason(pairs, message):
    with pytest.raises(space.GenotypeError, match=message):
        space.Cell(pairs)


def test_genotype_errors_name_the_cell():
    with pytest.raises(space.GenotypeError, match="^reduce cell: unknown op 'sep_conv_7x7' in pair 0"):
        space.Genotype(NORMAL, with_pair(0, ("sep_conv_7x7", 0)))
    with pytest.raises(space.GenotypeError, match="^normal cell: a DARTS cell has 8"):
        space.Genotype(NORMAL[:7], NORMAL)


@pytest.mark.parametrize("obj, message", [
    ({"normal": NORMAL}, "genotype lacks 'reduce'; it has keys normal"),
    ({"net": {"width": 16}}, "genotype lacks 'normal' and 'reduce'; it has keys width"),
    ({"net": [1, 2]}, "'net' must be a mapping holding the genotype, got list"),
    ({"normal": NORMAL, "reduce": NORMAL, "normal_concat": [2, 3, 4]},
     "normal_concat \\[2, 3, 4\\] is not supported: the DARTS space concatenates all 4 intermediate nodes"),
    ({"normal": NORMAL, "reduce": NORMAL, "reduce_concat": [4, 5]}, "reduce_concat \\[4, 5\\] is not supported"),
    ([NORMAL, NORMAL], "a genotype must be a mapping with 'normal' and 'reduce', got list"),
])
def test_invalid_genotype_dicts(obj, message):
    with pytest.raises(space.GenotypeError, match=message):
        space.genotype_from_dict(obj)


@pytest.mark.parametrize("text, message", [
    ("normal=|sep_conv_3x3~0|skip_connect~1|", "expected 'normal=<cell>;reduce=<cell>'"),
    ("reduce=|a~0|b~1|;normal=|a~0|b~1|", "expected 'normal=<cell>;reduce=<cell>'"),
    ("normal=|max_pool_3x3~0|max_pool_3x3~1|+|max_pool_3x3~0|max_pool_3x3~1|;reduce=x",
     "the normal cell needs 4 node groups joined by '\\+', got 2"),
    ("normal=" + "+".join(["|max_pool_3x3~0|max_pool_3x3~1|"] * 3 + ["|max_pool_3x3~0|"]) + ";reduce=x",
     "node group '\\|max_pool_3x3~0\\|' of the normal cell should be '\\|op~input\\|op~input\\|'"),
    ("normal=" + "+".join(["|max_pool_3x3~0|max_pool_3x3-1|"] * 4) + ";reduce=x",
     "token 'max_pool_3x3-1' \\(pair 1\\) should be 'op~input'"),
    ("Genotype(normal=[('sep_conv_3x3', 0)], reduce=x)", "cannot read .* as a DARTS Genotype"),
    ("Genotype(normal=__import__('os'))", "cannot read .* as a DARTS Genotype"),
    ("{not json", "cannot parse .* as JSON"),
])
def test_malformed_strings(text, message):
    with pytest.raises(space.GenotypeError, match=message):
        space.parse_genotype(text)


def test_parse_rejects_non_strings():
    with pytest.raises(space.GenotypeError, match="must be a str, got list"):
        space.parse_genotype(NORMAL)
    with pytest.raises(space.GenotypeError, match="expected a Genotype, a genotype string or a mapping, got int"):
        space.as_genotype(3)


# -- canonical form and round trips ----------------------------------------------------


def test_node_pair_order_does_not_matter():
    swapped = [NORMAL[1], NORMAL[0], *NORMAL[2:6], NORMAL[7], NORMAL[6]]
    a, b = space.Genotype(NORMAL, NORMAL), space.Genotype(swapped, NORMAL)
    assert a == b and hash(a) == hash(b) and str(a) == str(b)
    assert a.normal.pairs[6:] == ((SKIP, 0), (DIL3, 4))  # lower input first
    assert space.Genotype(NORMAL, NORMAL) != space.Genotype(NORMAL, swapped[:2] + [(MAX, 0), (SEP3, 2)] + NORMAL[4:])


def test_string_form_is_csv_safe_and_round_trips():
    genotype = space.genotype_from_dict(DARTS_V2)
    text = str(genotype)
    assert text == ("normal=|sep_conv_3x3~0|sep_conv_3x3~1|+|sep_conv_3x3~0|sep_conv_3x3~1|+|skip_connect~0|"
                    "sep_conv_3x3~1|+|skip_connect~0|dil_conv_3x3~2|;reduce=|max_pool_3x3~0|max_pool_3x3~1|+|"
                    "max_pool_3x3~1|skip_connect~2|+|max_pool_3x3~0|skip_connect~2|+|max_pool_3x3~1|skip_connect~2|")
    assert not re.search(r"[\s,\"']", text)
    assert space.parse_genotype(text) == genotype
    assert space.parse_genotype(f"  {text}\n") == genotype


def test_darts_repr_and_json_are_read():
    genotype = space.genotype_from_dict(DARTS_V2)
    darts_repr = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                  "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
                  "('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), "
                  "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                  "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
    assert space.parse_genotype(darts_repr) == genotype
    assert space.parse_genotype(json.dumps(genotype.to_dict())) == genotype
    assert space.parse_genotype(json.dumps({"net": {"genotype": genotype.to_dict(), "width": 16}})) == genotype
    assert space.genotype_from_dict(genotype.to_dict()) == genotype


def test_round_trip_on_the_725_shared_cells():
    records = shared_records()
    assert len(records) == 725
    genotypes = [space.genotype_from_dict(r) for r in records]
    strings = [str(g) for g in genotypes]
    assert len(set(strings)) == 725
    for record, genotype, text in zip(records, genotypes, strings):
        assert space.parse_genotype(text) == genotype
        assert str(space.parse_genotype(text)) == text
        assert space.genotype_from_dict(genotype.to_dict()) == genotype
        for cell_type in space.CELL_TYPES:  # the same pairs per node, possibly in the other order
            given = [sorted(map(tuple, record[cell_type][2 * k: 2 * k + 2])) for k in range(4)]
            ours = [sorted(node) for node in genotype.cell(cell_type == "reduce").nodes]
            assert given == ours


# -- sampling -------------------------------------------------------------------------


def test_sampling_is_seeded_valid_and_distinct():
    genotypes = space.sample_genotypes(200, seed=3)
    assert genotypes == space.sample_genotypes(200, seed=3)
    assert genotypes != space.sample_genotypes(200, seed=4)
    assert len(set(genotypes)) == 200
    for g in genotypes:
        assert space.parse_genotype(str(g)) == g  # valid: construction re-checks every pair


def test_sampling_is_uniform_over_ops_and_input_pairs():
    cells = [c for g in space.sample_genotypes(400, seed=0) for c in (g.normal, g.reduce)]
    ops = [op for c in cells for op in c.ops]
    shares = np.array([ops.count(op) for op in space.OPS]) / len(ops)
    assert np.all(np.abs(shares - 1 / 7) < 0.02), shares
    last = [c.inputs[6:] for c in cells]  # node 5: one of the 10 pairs of states 0..4
    counts = np.array([last.count(pair) for pair in [(i, j) for i in range(5) for j in range(i + 1, 5)]])
    assert counts.sum() == len(cells) and counts.min() > 0.5 * len(cells) / 10 and counts.max() < 1.5 * len(cells) / 10


def test_space_size():
    assert space.CELL_SPACE_SIZE == 1 * 3 * 6 * 10 * 49**4 == 1_037_664_180
    assert space.SPACE_SIZE == space.CELL_SPACE_SIZE**2


def test_sample_rejects_bad_n():
    with pytest.raises(space.GenotypeError, match="n must be an int >= 0, got -1"):
        space.sample_genotypes(-1, seed=0)


# -- complexity ---------------------------------------------------------------------------


def test_darts_v2_at_the_default_setting():
    assert space.params(DARTS_V2) == DARTS_V2_PARAMS
    assert space.params(space.genotype_from_dict(DARTS_V2), C=36, layers=20, num_classes=10) == DARTS_V2_PARAMS


def test_reduction_layers_follow_networkcifar():
    assert space.reduction_layers(20) == (6, 13)
    assert space.reduction_layers(8) == (2, 5)
    assert space.reduction_layers(2) == (0, 1)
    assert space.reduction_layers(1) == (0,)


def _macs_of(net: nn.Module, size: int) -> int:
    """MACs of every Conv2d and Linear in one forward pass of a size x size image."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            macs.append(output.numel() * per_output)
        else:
            macs.append(module.in_features * module.out_features)

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        out = net.eval()(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    assert out.shape[0] == 1
    return sum(macs)


SETTINGS = [dict(C=2, layers=1), dict(C=2, layers=2), dict(C=4, layers=3), dict(C=6, layers=5),
            dict(C=8, layers=8, num_classes=7), dict(C=36, layers=20)]


def test_closed_form_params_match_the_built_network():
    torch.manual_seed(0)
    genotypes = space.sample_genotypes(6, seed=11) + [space.genotype_from_dict(DARTS_V2)]
    worst = 0
    for genotype in genotypes:
        for setting in SETTINGS:
            if setting["C"] == 36 and genotype != genotypes[0]:
                continue  # one full-size network is enough (slower to build)
            net = build_network(genotype, **setting)
            built = sum(p.numel() for p in net.parameters())
            worst = max(worst, abs(built - space.params(genotype, **setting)))
    assert worst == 0


@pytest.mark.parametrize("size", [8, 9, 32])
def test_closed_form_macs_match_a_forward_pass(size):
    for genotype in space.sample_genotypes(3, seed=size):
        setting = dict(C=4, layers=5, num_classes=10)
        net = build_network(genotype, **setting)
        assert _macs_of(net, size) == space.flops(genotype, input_size=size, **setting)


def test_every_op_in_both_cells_is_priced_like_its_module():
    # A reduction cell with each op on states 0/1 (stride 2) and on a node (stride 1).
    for op in space.OPS:
        others = [o for o in space.OPS if o != op]
        cell = [(op, 0), (op, 1), (op, 2), (others[0], 0), (op, 3), (others[1], 1), (op, 4), (others[2], 2)]
        genotype = space.Genotype(cell, cell)
        net = build_network(genotype, C=4, layers=3)
        assert sum(p.numel() for p in net.parameters()) == space.params(genotype, C=4, layers=3), op
        assert _macs_of(net, 8) == space.flops(genotype, C=4, layers=3, input_size=8), op


def test_params_on_the_shared_cells_at_the_default_setting():
    counts = np.array([space.params(r) for r in shared_records()])
    assert counts.min() == 1_722_862 and counts.max() == 4_346_398
    assert 2.5e6 < np.median(counts) < 3.2e6


def test_complexity_rejects_bad_settings():
    with pytest.raises(space.GenotypeError, match="C must be an int >= 1, got 0"):
        space.complexity(DARTS_V2, C=0)
    with pytest.raises(space.GenotypeError, match="layers must be an int >= 1, got 2.5"):
        space.complexity(DARTS_V2, layers=2.5)


# -- CLI ---------------------------------------------------------------------------------


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_one_genotype_default_and_small_settings():
    genotype = space.genotype_from_dict(DARTS_V2)
    code, out, _ = run_cli("complexity", "darts", "--genotype", str(genotype))
    assert code == 0
    assert out.splitlines() == ["arch_str,params,flops", f"{genotype},{DARTS_V2_PARAMS},{space.flops(genotype)}"]
    code, out, _ = run_cli("complexity", "darts", "--genotype", json.dumps(DARTS_V2), "--C", "16", "--layers", "8",
                           "--classes", "100")
    c = space.complexity(genotype, C=16, layers=8, num_classes=100)
    assert code == 0 and out.splitlines()[1] == f"{genotype},{c.params},{c.flops}"


def test_cli_records_file():
    path = require_shared("darts", "nb301_surrogate_sample.json")
    code, out, _ = run_cli("complexity", "darts", "--records", str(path), "--C", "8", "--layers", "5")
    assert code == 0
    lines = out.splitlines()
    records = json.loads(path.read_text())
    assert lines[0] == "arch_str,params,flops" and len(lines) == 1 + len(records)
    first = space.genotype_from_dict(records[0])
    assert lines[1] == f"{first},{space.params(first, C=8, layers=5)},{space.flops(first, C=8, layers=5)}"


def test_cli_reads_nds_records(tmp_path):
    genotype = space.genotype_from_dict(DARTS_V2)
    path = tmp_path / "nds.json"
    path.write_text(json.dumps([{"net": {"genotype": genotype.to_dict(), "width": 16, "depth": 8}}]))
    code, out, _ = run_cli("complexity", "darts", "--records", str(path))
    assert code == 0 and out.splitlines()[1].startswith(f"{genotype},{DARTS_V2_PARAMS},")


@pytest.mark.parametrize("argv, message", [
    (["complexity", "darts"], "needs --records PATH or --genotype STRING"),
    (["complexity", "darts", "--records", "x.json", "--genotype", "y"], "either --records or --genotype, not both"),
    (["complexity", "darts", "--genotype", "normal=x", "--N", "5"], "--N: not option\\(s\\) of darts"),
    (["complexity", "darts", "--genotype", "normal=x", "--stem", "8"], "--stem: not option\\(s\\) of darts"),
    (["complexity", "darts", "--genotype", str(space.genotype_from_dict(DARTS_V2)), "--layers", "0"],
     "--layers must be >= 1, got 0"),
    (["complexity", "darts", "--genotype", "normal=x"], "malformed genotype string"),
    (["complexity", "darts", "--genotype", json.dumps({"normal": NORMAL, "reduce": with_pair(0, ("none", 0))})],
     "reduce cell: unknown op 'none'"),
    (["complexity", "darts", "--records", "no_such_file.json"], "DARTS genotypes file not found at no_such_file.json"),
    (["complexity", "nb201", "--layers", "8"], "--layers: option\\(s\\) of darts only"),
    (["complexity", "nb101", "--genotype", "x"], "--genotype: option\\(s\\) of darts only"),
    (["complexity", "nb201", "--records", "x.json"], "--records: option\\(s\\) of nb101 and darts"),
])
def test_cli_errors(argv, message):
    code, _, err = run_cli(*argv)
    assert code == 2 and "bench: error:" in err
    assert re.search(message, err), err


def test_cli_help_explains_darts(capsys):
    with pytest.raises(SystemExit):
        main(["complexity", "--help"])
    text = capsys.readouterr().out
    assert "darts" in text and "--genotype" in text and "--layers" in text and "3,349,342" in text
