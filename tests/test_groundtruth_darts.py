"""DARTS ground truth: the NDS record format (on files the tests write) and the NAS-Bench-301 surrogate sample.

The surrogate checks read ../shared/data/darts (skipped when absent).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.groundtruth import GroundTruthError, load_darts, load_nb301_surrogate_json, load_nds_json
from bench.groundtruth.darts import (
    NDS_BEST_COLUMN,
    NDS_DEFAULT_COLUMN,
    SURROGATE_COLUMN,
    SURROGATE_LABEL,
    read_genotypes_json,
)
from bench.spaces import darts as space
from conftest import require_shared


def nds_record(genotype: space.Genotype, errors, width=16, depth=8, **extra) -> dict:
    """One record in the NDS layout: the network under ``net``, per-epoch top-1 test errors in percent."""
    record = {
        "net": {"genotype": genotype.to_dict(), "width": width, "depth": depth, "aux": False, "drop_prob": 0.0},
        "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": len(errors)},
        "test_ep_top1": list(errors),
        "train_ep_top1": [e - 1.0 for e in errors],
        "min_test_top1": min(errors),
    }
    record.update(extra)
    return record


def write(tmp_path, data, name="DARTS.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def genotypes():
    return space.sample_genotypes(3, seed=7)


def test_nds_loader_reads_final_and_best_accuracy(tmp_path, genotypes):
    records = [
        nds_record(genotypes[0], [60.0, 20.0, 9.5], params=1.2e6, flops=2.1e8),
        nds_record(genotypes[1], [55.0, 8.0, 8.25], width=32, depth=20, params=3.0e6, flops=5.0e8),
        nds_record(genotypes[2], [70.0, 30.0, 12.0], params=0.9e6, flops=1.0e8),
    ]
    table = load_nds_json(write(tmp_path, records))
    assert table.benchmark == "darts" and table.label == ""
    assert table.columns == (NDS_DEFAULT_COLUMN, NDS_BEST_COLUMN, "width", "depth", "params", "flops")
    assert table.arch_strs == tuple(str(g) for g in genotypes)
    np.testing.assert_allclose(table.values(NDS_DEFAULT_COLUMN), [90.5, 91.75, 88.0])
    np.testing.assert_allclose(table.values(NDS_BEST_COLUMN), [90.5, 92.0, 88.0])
    np.testing.assert_allclose(table.values("width"), [16, 32, 16])
    assert table.by_arch(genotypes[1], "depth") == 20.0  # a Genotype is looked up by its string
    assert table.indices.tolist() == [0, 1, 2]


def test_nds_optional_columns_only_when_every_record_has_them(tmp_path, genotypes):
    records = [nds_record(genotypes[0], [10.0], params=1e6), nds_record(genotypes[1], [11.0])]
    del records[1]["net"]["width"]
    table = load_nds_json(write(tmp_path, records))
    assert table.columns == (NDS_DEFAULT_COLUMN, NDS_BEST_COLUMN, "depth")


def test_nds_top_mid_layout_and_non_canonical_pair_order(tmp_path, genotypes):
    first = nds_record(genotypes[0], [10.0])
    normal = first["net"]["genotype"]["normal"]
    normal[0], normal[1] = normal[1], normal[0]  # same network, pairs of node 2 listed the other way
    data = {"top": [first], "mid": [nds_record(genotypes[1], [20.0])]}
    table = load_darts(write(tmp_path, data))
    assert table.arch_strs == (str(genotypes[0]), str(genotypes[1]))
    assert table.by_arch(genotypes[0], NDS_DEFAULT_COLUMN) == 90.0


def test_nds_accepts_darts_style_concat_and_genotype_strings_match(tmp_path, genotypes):
    record = nds_record(genotypes[0], [5.0])
    record["net"]["genotype"]["normal_concat"] = [2, 3, 4, 5]
    table = load_nds_json(write(tmp_path, [record]))
    assert space.parse_genotype(table.arch_strs[0]) == genotypes[0]


def bad(genotypes, **changes):
    record = nds_record(genotypes[0], [12.0, 10.0])
    for key, value in changes.items():
        if key == "genotype":
            record["net"]["genotype"].update(value)
        elif value is None:
            record.pop(key)
        else:
            record[key] = value
    return [nds_record(genotypes[1], [9.0]), record]


@pytest.mark.parametrize("changes, message", [
    (dict(net=None), "entry 1: missing 'net'"),
    (dict(test_ep_top1=None), "entry 1: missing 'test_ep_top1'"),
    (dict(test_ep_top1=[]), "entry 1: test_ep_top1 must be a non-empty list"),
    (dict(test_ep_top1=[10.0, 101.0]), "entry 1, test_ep_top1\\[1\\] \\(a top-1 error in percent\\): 101.0 is not"),
    (dict(test_ep_top1=[10.0, float("nan")]), "entry 1, test_ep_top1\\[1\\]"),
    (dict(genotype={"normal_concat": [4, 5]}), "entry 1: invalid DARTS genotype: normal_concat \\[4, 5\\] is not supp"),
    (dict(genotype={"reduce": [["none", 0]] * 8}), "entry 1: invalid DARTS genotype: reduce cell: unknown op 'none'"),
    (dict(genotype={"normal": [["skip_connect", 0], ["sep_conv_3x3", 0]] * 4}),
     "entry 1: invalid DARTS genotype: normal cell: node 2 takes input 0 twice"),
])
def test_nds_errors_name_the_entry(tmp_path, genotypes, changes, message):
    with pytest.raises(GroundTruthError, match=message):
        load_nds_json(write(tmp_path, bad(genotypes, **changes)))


def test_nds_duplicate_genotypes_are_an_error(tmp_path, genotypes):
    records = [nds_record(genotypes[0], [10.0], width=16), nds_record(genotypes[1], [9.0]),
               nds_record(genotypes[0], [8.0], width=32)]
    message = "entries \\[0, 2\\] hold the same genotype normal=.*one row per genotype"
    with pytest.raises(GroundTruthError, match=message):
        load_nds_json(write(tmp_path, records))


@pytest.mark.parametrize("data, message", [
    ({"records": []}, "expected a JSON list of objects"),
    ([1, 2], "expected a JSON list of objects"),
    ([], "no records"),
])
def test_nds_file_shape_errors(tmp_path, data, message):
    with pytest.raises(GroundTruthError, match=message):
        load_nds_json(write(tmp_path, data))


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(GroundTruthError, match="NDS file not found at"):
        load_nds_json(tmp_path / "DARTS.json")
    path = tmp_path / "broken.json"
    path.write_text("[{")
    with pytest.raises(GroundTruthError, match="cannot parse as JSON"):
        load_darts(path)
    with pytest.raises(GroundTruthError, match="neither NDS records .* first entry has keys normal, reduce"):
        load_darts(write(tmp_path, [{"normal": [], "reduce": []}]))


# -- NAS-Bench-301 surrogate sample ---------------------------------------------------


def test_surrogate_sample_is_labelled_as_predictions():
    path = require_shared("darts", "nb301_surrogate_sample.json")
    table = load_nb301_surrogate_json(path)
    records = json.loads(path.read_text())
    assert len(table) == len(records) == 725
    assert table.columns == (SURROGATE_COLUMN,) and "surrogate" in SURROGATE_COLUMN
    assert table.label == SURROGATE_LABEL == "surrogate predictions (NAS-Bench-301)"
    assert table.benchmark == "darts"
    np.testing.assert_allclose(table.values(SURROGATE_COLUMN), [r["val_accuracy"] for r in records])
    genotypes = [space.genotype_from_dict(r) for r in records]
    np.testing.assert_allclose(table.lookup(genotypes[::50], SURROGATE_COLUMN),
                               [r["val_accuracy"] for r in records[::50]])
    assert load_darts(path).label == SURROGATE_LABEL
    assert read_genotypes_json(path) == genotypes


def test_surrogate_entry_errors(tmp_path):
    genotype = space.sample_genotypes(1, seed=0)[0]
    good = {**genotype.to_dict(), "val_accuracy": 93.1}
    with pytest.raises(GroundTruthError, match="entry 1: missing 'val_accuracy'"):
        load_nb301_surrogate_json(write(tmp_path, [good, genotype.to_dict()]))
    message = "entry 0, val_accuracy \\(percent\\): '0.93' is not a finite number in \\[0, 100\\]"
    with pytest.raises(GroundTruthError, match=message):
        load_nb301_surrogate_json(write(tmp_path, [{**good, "val_accuracy": "0.93"}]))
    with pytest.raises(GroundTruthError, match="entry 0: invalid DARTS genotype: genotype lacks 'reduce'"):
        load_nb301_surrogate_json(write(tmp_path, [{"normal": good["normal"], "val_accuracy": 90.0}]))
