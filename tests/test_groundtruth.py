"""Ground-truth tables: the generic table type, the NAS-Bench-201 loader, the .pth importer and the builder.

Full-size fixtures are synthetic (every cell of the space with random values);
the real table is only read from ../shared/data at run time.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bench.config import TrainConfig
from bench.groundtruth.embedded import DIGITS_SETTING
from bench.groundtruth.nb201 import (
    DEFAULT_COLUMN,
    NB201_COLUMNS,
    default_table_path,
    import_nb201_pth,
    load_nb201_csv,
)
from bench.groundtruth.table import GroundTruthError, GroundTruthTable
from bench.groundtruth_builder import BuildSpec, _train_one, build_table
from bench.spaces.nb201 import SPACE_SIZE, all_archs, format_arch, is_degenerate, parse_arch, sample_archs

from conftest import SHARED_DATA  # $BENCH_DATA_DIR, else the development copy beside the project
REAL_TABLE = default_table_path(SHARED_DATA)


# -- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_frame() -> pd.DataFrame:
    """All 15,625 cells in a shuffled index order with random accuracies in [0, 100]."""
    rng = np.random.default_rng(0)
    archs = [format_arch(a) for a in all_archs()]
    order = rng.permutation(len(archs))
    frame = pd.DataFrame({"index": np.arange(len(archs)), "arch_str": [archs[i] for i in order]})
    for column in NB201_COLUMNS:
        frame[column] = np.round(rng.uniform(0.0, 100.0, len(archs)), 4)
    return frame


def write(frame: pd.DataFrame, tmp_path: Path, name: str = "t.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def small_table() -> GroundTruthTable:
    archs = [format_arch(a) for a in all_archs()[:4]]
    frame = pd.DataFrame(
        {"index": [10, 11, 12, 13], "arch_str": archs, "acc": [50.0, 60.0, 70.0, 80.0], "other": [1, 2, 3, 4]}
    )
    return GroundTruthTable(frame, benchmark="nb201", source="unit test")


# -- the generic table -------------------------------------------------------------


def test_table_lookups():
    table = small_table()
    archs = table.arch_strs
    assert len(table) == 4
    assert table.columns == ("acc", "other")
    assert table.by_arch(archs[2], "acc") == 70.0
    assert table.by_index(13, "acc") == 80.0
    assert table.by_arch(parse_arch(archs[1]), "other") == 2.0  # an Arch works as its string
    np.testing.assert_array_equal(table.lookup([archs[3], archs[0], archs[3]], "acc"), [80.0, 50.0, 80.0])
    assert table.lookup([], "acc").shape == (0,)
    assert table.contains(archs[0]) and not table.contains("nope")
    values = table.values("acc")
    values[0] = -1  # a copy
    assert table.values("acc")[0] == 50.0
    np.testing.assert_array_equal(table.indices, [10, 11, 12, 13])


def test_table_unknown_column_lists_available():
    table = small_table()
    with pytest.raises(GroundTruthError, match=r"unknown column 'cifar10'.*available: acc, other"):
        table.by_arch(table.arch_strs[0], "cifar10")
    with pytest.raises(GroundTruthError, match="available: acc, other"):
        table.values("x")


def test_table_missing_arch_named():
    table = small_table()
    with pytest.raises(GroundTruthError, match=r"2 of 3 architecture\(s\) not in the nb201 table.*'missing-a'.*'missing-b'"):
        table.lookup([table.arch_strs[0], "missing-a", "missing-b"], "acc")
    with pytest.raises(GroundTruthError, match="not in the nb201 table"):
        table.by_arch("missing", "acc")
    with pytest.raises(GroundTruthError, match=r"index 99 not in the nb201 table \(4 rows, indices 10..13\)"):
        table.by_index(99, "acc")


def test_table_generic_keys_and_label(tmp_path):
    frame = pd.DataFrame({"index": [0, 1], "arch_str": ["hashA", "hashB"], "val_accuracy": [90.5, 91.25]})
    table = GroundTruthTable(frame, benchmark="darts", source="sample.json", label="surrogate predictions")
    assert table.label == "surrogate predictions"
    assert "surrogate predictions" in repr(table)
    assert table.by_arch("hashB", "val_accuracy") == 91.25
    out = table.to_csv(tmp_path / "sub" / "out.csv")
    assert pd.read_csv(out).equals(frame)
    assert [p.name for p in out.parent.iterdir()] == ["out.csv"]  # no temp file left behind


def test_table_rejects_bad_frames():
    with pytest.raises(GroundTruthError, match=r"lacks required column\(s\) \['arch_str'\]"):
        GroundTruthTable(pd.DataFrame({"index": [0], "acc": [1.0]}), "x", "s")
    with pytest.raises(GroundTruthError, match="duplicate arch_str.*'a'"):
        GroundTruthTable(pd.DataFrame({"index": [0, 1], "arch_str": ["a", "a"], "acc": [1.0, 2.0]}), "x", "s")
    with pytest.raises(GroundTruthError, match="duplicate index.*0"):
        GroundTruthTable(pd.DataFrame({"index": [0, 0], "arch_str": ["a", "b"], "acc": [1.0, 2.0]}), "x", "s")
    with pytest.raises(GroundTruthError, match="metric column 'acc'.*numeric"):
        GroundTruthTable(pd.DataFrame({"index": [0], "arch_str": ["a"], "acc": ["high"]}), "x", "s")
    with pytest.raises(GroundTruthError, match="no metric columns"):
        GroundTruthTable(pd.DataFrame({"index": [0], "arch_str": ["a"]}), "x", "s")


# -- the NAS-Bench-201 loader on synthetic full-size tables ---------------------------


def test_load_synthetic_full_table(synthetic_frame, tmp_path):
    path = write(synthetic_frame, tmp_path)
    start = time.perf_counter()
    table = load_nb201_csv(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"loading took {elapsed:.2f} s"
    assert len(table) == SPACE_SIZE
    assert table.columns == NB201_COLUMNS
    assert table.benchmark == "nb201" and table.source == str(path) and table.label == ""
    row = synthetic_frame.iloc[1234]
    assert table.by_index(1234, DEFAULT_COLUMN) == row[DEFAULT_COLUMN]
    assert table.by_arch(row["arch_str"], "cifar100_test") == row["cifar100_test"]
    np.testing.assert_array_equal(table.indices, np.arange(SPACE_SIZE))


def test_load_sorts_by_index(synthetic_frame, tmp_path):
    shuffled = synthetic_frame.sample(frac=1.0, random_state=1)
    table = load_nb201_csv(write(shuffled, tmp_path))
    np.testing.assert_array_equal(table.indices, np.arange(SPACE_SIZE))
    assert table.by_index(5, "cifar10_test") == synthetic_frame.loc[5, "cifar10_test"]


def test_load_missing_file(tmp_path):
    missing = tmp_path / "nb201" / "nb201_hp200.csv"
    with pytest.raises(GroundTruthError, match=f"not found at {missing}"):
        load_nb201_csv(missing)


def test_load_bad_arch_string(synthetic_frame, tmp_path):
    frame = synthetic_frame.copy()
    frame.loc[7, "arch_str"] = "|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    with pytest.raises(GroundTruthError, match=r"row 7 \(file line 9\) \(index 7\): bad arch_str.*unknown op 'conv_7x7'"):
        load_nb201_csv(write(frame, tmp_path))
    frame = synthetic_frame.copy()
    frame.loc[3, "arch_str"] = "|none~0|+|none~0|"
    with pytest.raises(GroundTruthError, match=r"row 3 .*expected 3 node groups"):
        load_nb201_csv(write(frame, tmp_path))
    frame = synthetic_frame.copy()
    frame.loc[4, "arch_str"] = " " + frame.loc[4, "arch_str"]  # parses, but not the official form
    with pytest.raises(GroundTruthError, match=r"row 4 .*not in canonical form"):
        load_nb201_csv(write(frame, tmp_path))


def test_load_value_out_of_range(synthetic_frame, tmp_path):
    frame = synthetic_frame.copy()
    frame.loc[42, "cifar100_valid"] = 100.5
    with pytest.raises(GroundTruthError, match=r"column 'cifar100_valid', row 42 \(file line 44\).*100.5 outside \[0, 100\]"):
        load_nb201_csv(write(frame, tmp_path))
    frame = synthetic_frame.copy()
    frame.loc[9, "cifar10_test"] = -0.1
    with pytest.raises(GroundTruthError, match=r"column 'cifar10_test', row 9 .*outside"):
        load_nb201_csv(write(frame, tmp_path))


def test_load_non_finite_value(synthetic_frame, tmp_path):
    frame = synthetic_frame.copy()
    frame["ImageNet16-120_test"] = frame["ImageNet16-120_test"].astype(object)
    frame.loc[11, "ImageNet16-120_test"] = "high"
    with pytest.raises(GroundTruthError, match=r"column 'ImageNet16-120_test', row 11 .*'high' is not a finite number"):
        load_nb201_csv(write(frame, tmp_path))
    frame = synthetic_frame.copy()
    frame.loc[12, "cifar10-valid_train"] = np.nan
    with pytest.raises(GroundTruthError, match=r"column 'cifar10-valid_train', row 12 .*not a finite number"):
        load_nb201_csv(write(frame, tmp_path))


def test_load_missing_columns(synthetic_frame, tmp_path):
    frame = synthetic_frame.drop(columns=["cifar100_test", "ImageNet16-120_valid"])
    with pytest.raises(GroundTruthError, match=r"missing column\(s\) cifar100_test, ImageNet16-120_valid"):
        load_nb201_csv(write(frame, tmp_path))


def test_load_wrong_row_count(synthetic_frame, tmp_path):
    frame = synthetic_frame.drop(index=100)
    with pytest.raises(GroundTruthError, match=r"expected 15625 rows \(one per NAS-Bench-201 cell\), found 15624"):
        load_nb201_csv(write(frame, tmp_path))
    # a deliberate partial table is fine when asked for
    table = load_nb201_csv(write(frame.iloc[:50], tmp_path, "part.csv"), expected_rows=None)
    assert len(table) == 50


def test_load_duplicate_index(synthetic_frame, tmp_path):
    frame = synthetic_frame.copy()
    frame.loc[21, "index"] = 20
    with pytest.raises(GroundTruthError, match=r"duplicate index 20 in rows \[20, 21\]"):
        load_nb201_csv(write(frame, tmp_path))


def test_load_bad_index(synthetic_frame, tmp_path):
    frame = synthetic_frame.copy()
    frame.loc[0, "index"] = SPACE_SIZE
    with pytest.raises(GroundTruthError, match=r"row 0 .*index 15625 outside 0..15624"):
        load_nb201_csv(write(frame, tmp_path))
    frame = synthetic_frame.copy()
    frame["index"] = frame["index"].astype(float)
    frame.loc[5, "index"] = 5.5
    with pytest.raises(GroundTruthError, match=r"row 5 .*index 5.5 is not an integer"):
        load_nb201_csv(write(frame, tmp_path))


def test_load_duplicate_arch(synthetic_frame, tmp_path):
    frame = synthetic_frame.copy()
    frame.loc[30, "arch_str"] = frame.loc[10, "arch_str"]
    with pytest.raises(GroundTruthError, match=r"arch_str '.*' appears in rows \[10, 30\]"):
        load_nb201_csv(write(frame, tmp_path))


# -- the real table (../shared/data) -----------------------------------------------


@pytest.fixture(scope="module")
def real_table() -> GroundTruthTable:
    if not REAL_TABLE.is_file():
        pytest.skip(f"NAS-Bench-201 table not available at {REAL_TABLE} (set BENCH_DATA_DIR; docs/data.md)")
    return load_nb201_csv(REAL_TABLE)


@pytest.mark.shared_data
def test_real_table_loads(real_table):
    assert len(real_table) == SPACE_SIZE
    assert real_table.columns == NB201_COLUMNS


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "index, column, value",
    [
        (6111, "cifar10_test", 94.3733),
        (6111, "cifar10-valid_valid", 91.6067),
        (1459, "cifar10-valid_test", 91.5233),
        (9930, "cifar100_valid", 73.4933),
        (9930, "cifar100_test", 73.5133),
        (10676, "ImageNet16-120_valid", 46.7333),
        (857, "ImageNet16-120_test", 47.3111),
    ],
)
def test_real_table_known_values(real_table, index, column, value):
    assert real_table.by_index(index, column) == pytest.approx(value, abs=1e-4)
    # each of these cells is the best of its column (README for 6111; checked on the table for the rest)
    assert real_table.values(column).max() == pytest.approx(value, abs=1e-4)


@pytest.mark.shared_data
def test_real_table_degenerate_cells_at_chance(real_table):
    degenerate = np.array([is_degenerate(parse_arch(s)) for s in real_table.arch_strs])
    valid = real_table.values(DEFAULT_COLUMN)
    assert degenerate.sum() > 0
    # measured: degenerate cells sit at 9.712 (chance on the 25k valid half),
    # the worst connected cell at 32.356; 15 separates them with a wide margin
    assert valid[degenerate].max() < 15.0
    assert valid[~degenerate].min() > 15.0
    np.testing.assert_allclose(real_table.values("cifar10_test")[degenerate], 10.0)


# -- building the table from the official .pth (fake nas_201_api) --------------------


FAKE_ARCHS = [format_arch(a) for a in all_archs()[100:106]]


def fake_accuracy(index: int, dataset: str, split: str, hp: str) -> float:
    base = {"cifar10-valid": 60.0, "cifar10": 70.0, "cifar100": 30.0, "ImageNet16-120": 10.0}[dataset]
    return base + {"train": 20.0, "x-valid": 1.0, "x-test": 2.0, "ori-test": 3.0}[split] + index / 8 + (hp == "12")


def make_fake_api_module(calls: list, old_signature: bool = False, drop_key: str | None = None):
    """A stand-in for nas_201_api that mimics NASBench201API (v2.0 get_more_info keys)."""

    class NASBench201API:
        def __init__(self, file_path_or_dict=None, verbose=True):
            assert not verbose
            self.path = file_path_or_dict

        def __len__(self):
            return len(FAKE_ARCHS)

        def arch(self, index):
            return FAKE_ARCHS[index]

        def _info(self, index, dataset, hp, is_random):
            calls.append((index, dataset, hp, is_random))
            acc = lambda split: fake_accuracy(index, dataset, split, hp)  # noqa: E731
            info = {"train-loss": 0.1, "train-accuracy": acc("train"), "train-all-time": 1.0}
            if dataset == "cifar10-valid":
                info.update({"valid-accuracy": acc("x-valid"), "test-accuracy": acc("ori-test")})
            elif dataset == "cifar10":
                info.update({"test-accuracy": acc("ori-test")})
            else:
                info.update(
                    {"valid-accuracy": acc("x-valid"), "test-accuracy": acc("x-test"), "valtest-accuracy": 0.0}
                )
            if drop_key and dataset == "cifar100":
                del info[drop_key]
            return info

        if old_signature:

            def get_more_info(self, index, dataset, iepoch=None, use_12epochs_result=False, is_random=True):
                return self._info(index, dataset, "12" if use_12epochs_result else "200", is_random)

        else:

            def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
                return self._info(index, dataset, hp, is_random)

    module = types.ModuleType("nas_201_api")
    module.NASBench201API = NASBench201API
    return module


@pytest.fixture
def pth(tmp_path) -> Path:
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    path.write_bytes(b"not really a torch file")
    return path


@pytest.mark.parametrize("old_signature", [False, True])
def test_import_pth_with_fake_api(monkeypatch, tmp_path, pth, old_signature):
    calls: list = []
    monkeypatch.setitem(sys.modules, "nas_201_api", make_fake_api_module(calls, old_signature))
    out = tmp_path / "out" / "nb201_hp200.csv"
    table = import_nb201_pth(pth, out, hp="200", expected_rows=None)
    assert out.is_file() and [p.name for p in out.parent.iterdir()] == [out.name]
    assert len(table) == len(FAKE_ARCHS)
    assert {c[2] for c in calls} == {"200"} and {c[3] for c in calls} == {False}
    assert {c[1] for c in calls} == {"cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"}
    expected = {
        "cifar10_test": ("cifar10", "ori-test"),
        "cifar10-valid_train": ("cifar10-valid", "train"),
        "cifar10-valid_valid": ("cifar10-valid", "x-valid"),
        "cifar10-valid_test": ("cifar10-valid", "ori-test"),
        "cifar100_train": ("cifar100", "train"),
        "cifar100_valid": ("cifar100", "x-valid"),
        "cifar100_test": ("cifar100", "x-test"),
        "ImageNet16-120_train": ("ImageNet16-120", "train"),
        "ImageNet16-120_valid": ("ImageNet16-120", "x-valid"),
        "ImageNet16-120_test": ("ImageNet16-120", "x-test"),
    }
    assert set(expected) == set(NB201_COLUMNS)
    for i, arch in enumerate(FAKE_ARCHS):
        for column, (dataset, split) in expected.items():
            want = round(fake_accuracy(i, dataset, split, "200"), 4)
            assert table.by_arch(arch, column) == pytest.approx(want)
            assert table.by_index(i, column) == pytest.approx(want)
    reloaded = load_nb201_csv(out, expected_rows=None)
    for column in NB201_COLUMNS:
        np.testing.assert_allclose(reloaded.values(column), table.values(column))


def test_import_pth_hp12(monkeypatch, tmp_path, pth):
    calls: list = []
    monkeypatch.setitem(sys.modules, "nas_201_api", make_fake_api_module(calls))
    table = import_nb201_pth(pth, tmp_path / "t.csv", hp="12", expected_rows=None)
    assert {c[2] for c in calls} == {"12"}
    assert table.by_index(0, "cifar10_test") == pytest.approx(fake_accuracy(0, "cifar10", "ori-test", "12"))


def test_import_pth_short_table_fails_loudly(monkeypatch, tmp_path, pth):
    monkeypatch.setitem(sys.modules, "nas_201_api", make_fake_api_module([]))
    out = tmp_path / "t.csv"
    with pytest.raises(GroundTruthError, match=r"expected 15625 rows .*found 6"):
        import_nb201_pth(pth, out)
    assert not out.exists()  # nothing written on failure


def test_import_pth_missing_key(monkeypatch, tmp_path, pth):
    monkeypatch.setitem(sys.modules, "nas_201_api", make_fake_api_module([], drop_key="valid-accuracy"))
    with pytest.raises(GroundTruthError, match=r"get_more_info\(0, 'cifar100', hp='200'\) has no 'valid-accuracy'"):
        import_nb201_pth(pth, tmp_path / "t.csv", expected_rows=None)


def test_import_pth_without_package(monkeypatch, tmp_path, pth):
    monkeypatch.setitem(sys.modules, "nas_201_api", None)  # makes `import nas_201_api` fail
    with pytest.raises(GroundTruthError, match="pip install nas-bench-201"):
        import_nb201_pth(pth, tmp_path / "t.csv")


def test_import_pth_missing_file(tmp_path):
    with pytest.raises(GroundTruthError, match="benchmark file not found at .*nope.pth"):
        import_nb201_pth(tmp_path / "nope.pth", tmp_path / "t.csv")


def test_default_table_path(tmp_path):
    assert default_table_path(tmp_path) == tmp_path / "nb201" / "nb201_hp200.csv"
    assert default_table_path(str(tmp_path)) == tmp_path / "nb201" / "nb201_hp200.csv"


# -- the builder (bench groundtruth build) ---------------------------------------------


def test_the_builder_trains_each_cell_and_seed_and_resumes_from_its_partial_file(tmp_path):
    previous = torch.get_num_threads()
    train = dataclasses.replace(TrainConfig(**DIGITS_SETTING["train"]), epochs=1)
    spec = BuildSpec("digits", archs=2, arch_seed=0, seeds=(0,), C=2, N=1, train=train)
    out = tmp_path / "table.csv"
    first = [str(a) for a in sample_archs(2, seed=0)]
    try:
        done = _train_one(spec, first[0], 0)
        # As if killed after the first cell: the build trains only the second one, in a worker process.
        out.with_suffix(".partial.jsonl").write_text(json.dumps({"arch_str": first[0], "seed": 0, "accuracy": done})
                                                     + "\n")
        table = build_table(spec, out, "digits_valid", jobs=1, progress=False)
    finally:
        torch.set_num_threads(previous)  # _train_one pins one thread (one process per core)
    frame = pd.read_csv(out)
    assert frame["arch_str"].tolist() == first and len(table) == 2
    assert frame.loc[0, "digits_valid"] == pytest.approx(done, abs=1e-4)
    assert frame["digits_valid_seed0"].tolist() == frame["digits_valid"].tolist()
    assert not out.with_suffix(".partial.jsonl").exists()
