"""Regression baselines: the tolerance rule, compare() on hand-made frames, and the real baseline grid.

The unit tests build run frames by hand (no training). The regression test trains the baseline grid
(tests/baselines/grid.yaml: 6 runs, about 1.5 minutes on 2 busy cores) once per module and checks it against
the stored baseline; the CLI tests reuse those runs through --results.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import baseline as bl
from bench.cli import main
from bench.config import ConfigError
from bench.grid import load_grid

STORED = bl.DEFAULT_BASELINE
SEEDS = (0, 1, 2)


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------
# Hand-made frames: the settings of the real baseline grid, made-up metric values
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid():
    return load_grid(bl.DEFAULT_SPEC)  # expands and validates only; nothing trains


def frame(grid, shift=None) -> pd.DataFrame:
    """One ok row per run of ``grid``; every guarded metric varies with the seed (so sd > 0)."""
    rows = []
    for i, run in enumerate(grid.runs):
        setting = run.label.rsplit(",seed=", 1)[0]
        row = {"key": run.key, "status": "ok", "setting": setting, "seed": run.seed, "torch_threads": 1}
        for j, metric in enumerate(bl.GUARDED_METRICS):
            row[metric] = 0.1 * (j + 1) + 0.01 * run.seed + 0.001 * i
        rows.append(row)
    return pd.DataFrame(rows)


def test_tolerance_rule():
    assert bl.TOLERANCE_SDS == 3 and bl.TOLERANCE_FLOOR == 1e-6  # what TOLERANCE_RULE states
    assert bl.TOLERANCE_RULE.startswith("max(3 * sd / sqrt(n), 1e-6): ")
    assert bl.tolerance([1.0, 2.0, 3.0]) == pytest.approx(3 * 1.0 / math.sqrt(3))
    assert bl.tolerance([0.5, 0.5, 0.5]) == bl.TOLERANCE_FLOOR  # constant: the floor, not 0
    assert bl.tolerance([1.0, float("nan"), 3.0]) == pytest.approx(3 * math.sqrt(2) / math.sqrt(2))
    assert bl.tolerance([4.0]) == bl.TOLERANCE_FLOOR  # one value: no spread
    entry = bl.metric_entry({0: 1.0, 1: 2.0, 2: 6.0})
    assert entry["seeds"] == {"0": 1.0, "1": 2.0, "2": 6.0}
    assert entry["mean"] == pytest.approx(3.0) and entry["n"] == 3
    assert entry["sd"] == pytest.approx(np.std([1, 2, 6], ddof=1))
    assert entry["tolerance"] == pytest.approx(3 * entry["sd"] / math.sqrt(3))


def test_stored_baseline_follows_its_rule():
    """The file's tolerances, means and sds are what the rule gives for its per-seed values."""
    data = bl.load_baseline(STORED)
    assert data["tolerance_rule"] == bl.TOLERANCE_RULE
    assert data["torch_threads"] == bl.BASELINE_THREADS and data["seeds"] == list(SEEDS)
    assert set(data["settings"]) == {"lr_schedule=cosine", "lr_schedule=calr"}
    for metrics in data["settings"].values():
        assert set(metrics) == set(bl.GUARDED_METRICS)
        for entry in metrics.values():
            values = [entry["seeds"][str(s)] for s in SEEDS]
            assert entry["mean"] == pytest.approx(np.mean(values))
            assert entry["tolerance"] == pytest.approx(bl.tolerance(values))


def test_compute_baseline_records_every_setting_and_metric(grid):
    data = bl.compute_baseline(frame(grid), grid, "grid.yaml")
    assert data["seeds"] == list(SEEDS) and data["torch_threads"] == 1 and data["grid_spec"] == "grid.yaml"
    assert list(data["settings"]) == ["lr_schedule=cosine", "lr_schedule=calr"]
    entry = data["settings"]["lr_schedule=calr"]["kendall_tau"]
    assert entry["seeds"] == {"0": pytest.approx(0.101), "1": pytest.approx(0.113), "2": pytest.approx(0.125)}


def test_compute_baseline_refuses_an_incomplete_grid(grid):
    runs = frame(grid)
    runs.loc[3, "status"] = "failed"
    with pytest.raises(ConfigError, match=r"missing or failed: lr_schedule=calr,seed=1"):
        bl.compute_baseline(runs, grid, "grid.yaml")


def test_identical_runs_pass(grid):
    runs = frame(grid)
    result = bl.compare(bl.compute_baseline(runs, grid, "grid.yaml"), runs)
    assert result.ok, result.table()
    assert len(result.rows) == 2 * len(bl.GUARDED_METRICS)
    assert all(r.difference == 0.0 for r in result.rows)


def test_a_metric_moved_beyond_its_tolerance_fails_and_is_named(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    tol = baseline["settings"]["lr_schedule=calr"]["spearman"]["tolerance"]
    calr = runs["setting"] == "lr_schedule=calr"

    within = runs.copy()
    within.loc[calr, "spearman"] += 0.99 * tol  # every seed moved: the mean moves by as much
    assert bl.compare(baseline, within).ok

    beyond = runs.copy()
    beyond.loc[calr, "spearman"] += 1.01 * tol
    result = bl.compare(baseline, beyond)
    assert not result.ok
    assert [(r.setting, r.metric) for r in result.failures] == [("lr_schedule=calr", "spearman")]
    assert result.failures[0].difference == pytest.approx(1.01 * tol)
    failing_lines = [line for line in result.table().splitlines() if "FAIL" in line]
    assert len(failing_lines) == 1 and "lr_schedule=calr" in failing_lines[0] and "spearman" in failing_lines[0]
    assert "1 of 16 FAILED: lr_schedule=calr spearman" in result.summary()


def test_a_missing_setting_fails(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    result = bl.compare(baseline, runs[runs["setting"] != "lr_schedule=cosine"])
    assert [(r.setting, r.problem) for r in result.failures] == [
        ("lr_schedule=cosine", "setting missing from the runs (they have: lr_schedule=calr)")]


def test_a_failed_run_is_a_missing_seed(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    runs.loc[(runs["setting"] == "lr_schedule=cosine") & (runs["seed"] == 2), "status"] = "failed"
    result = bl.compare(baseline, runs)
    assert {r.setting for r in result.failures} == {"lr_schedule=cosine"}
    assert len(result.failures) == len(bl.GUARDED_METRICS)
    assert all("seed(s) [2] missing" in r.problem for r in result.failures)


def test_missing_metrics_and_extra_settings_fail(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    del baseline["settings"]["lr_schedule=calr"]["complexity_bias"]
    extra = runs.iloc[:1].assign(setting="lr_schedule=step")
    result = bl.compare(baseline, pd.concat([runs, extra]).drop(columns="final_train_loss"))
    problems = {(r.setting, r.metric): r.problem for r in result.failures}
    assert problems == {
        ("lr_schedule=cosine", "final_train_loss"): "metric missing from the runs",
        ("lr_schedule=calr", "final_train_loss"): "metric missing from the runs",
        ("lr_schedule=calr", "complexity_bias"): "guarded metric missing from the baseline "
                                                 "(bench baseline update stores it)",
        ("lr_schedule=step", "*"): "setting not in the baseline (bench baseline update adds it)",
    }


def test_means_are_over_the_stored_seeds_only(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    extra_seed = runs.iloc[:2].assign(seed=7, key=["x", "y"], kendall_tau=99.0)
    assert bl.compare(baseline, pd.concat([runs, extra_seed])).ok


def test_undefined_values_must_match(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    runs.loc[0, "complexity_bias_matched"] = np.nan  # cosine, seed 0
    result = bl.compare(baseline, runs)
    assert [(r.setting, r.metric) for r in result.failures] == [("lr_schedule=cosine", "complexity_bias_matched")]
    assert "NaN) for seeds [0] here, [] in the baseline" in result.failures[0].problem


def test_another_thread_count_fails(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    result = bl.compare(baseline, runs.assign(torch_threads=2))
    assert [r.metric for r in result.failures] == ["torch_threads"]
    assert "runs used [2] torch thread(s); the baseline was made with 1" in result.failures[0].problem


@pytest.mark.parametrize("content, message", [
    (None, r"does not exist; `bench baseline update --baseline"),
    ("{not json", r"is not valid JSON"),
    (json.dumps({"format": 99}), r"format = 99; this code reads format 1"),
    (json.dumps({"format": 1, "grid_spec": "g.yaml", "seeds": [0], "settings": {"s": {"kendall_tau": {}}}}),
     r"settings\['s'\]\['kendall_tau'\] needs seeds, mean and tolerance"),
])
def test_bad_baseline_files_are_named(tmp_path, content, message):
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        bl.load_baseline(path)
    code, _, err = run_cli("baseline", "check", "--baseline", path, "--results", tmp_path)
    assert code == 2 and str(path) in err


# ---------------------------------------------------------------------------
# The real baseline grid, trained once for the module
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """`bench baseline check` on a fresh run of the grid: (exit code, output, the grid directory it kept)."""
    work = tmp_path_factory.mktemp("baseline") / "grid"
    code, out, err = run_cli("baseline", "check", "--work", work, "--jobs", 2, "--quiet")
    return code, out + err, work


def test_the_baseline_grid_matches_the_stored_baseline(checked):
    code, output, _ = checked
    assert code == 0, output
    assert "all 16 (setting, metric) pairs within tolerance" in output


def perturbed_copy(tmp_path: Path, setting: str, metric: str, by_tolerances: float) -> Path:
    data = json.loads(STORED.read_text())
    data["grid_spec"] = str(bl.spec_path(data, STORED))  # the copy lives elsewhere
    entry = data["settings"][setting][metric]
    entry["mean"] += by_tolerances * entry["tolerance"]
    path = tmp_path / "perturbed.json"
    path.write_text(json.dumps(data))
    return path


def test_cli_check_fails_when_the_baseline_is_perturbed_beyond_tolerance(checked, tmp_path):
    _, _, work = checked
    code, out, _ = run_cli("baseline", "check", "--results", work,
                           "--baseline", perturbed_copy(tmp_path, "lr_schedule=calr", "kendall_tau", 1.5))
    assert code == 1, out
    failing = [line for line in out.splitlines() if line.rstrip().endswith("FAIL")]
    assert len(failing) == 1 and "lr_schedule=calr" in failing[0] and "kendall_tau" in failing[0], out
    # Within tolerance, the same runs pass:
    code, out, _ = run_cli("baseline", "check", "--results", work,
                           "--baseline", perturbed_copy(tmp_path, "lr_schedule=calr", "kendall_tau", 0.5))
    assert code == 0, out


def test_cli_update_rewrites_the_same_values(checked, tmp_path):
    _, _, work = checked
    target = tmp_path / "baselines" / "new.json"
    code, out, _ = run_cli("baseline", "update", "--results", work, "--baseline", target,
                           "--spec", bl.DEFAULT_SPEC)
    assert code == 0 and f"wrote {target}" in out, out
    new, stored = bl.load_baseline(target), bl.load_baseline(STORED)
    assert bl.spec_path(new, target) == bl.DEFAULT_SPEC.resolve()
    assert new["settings"].keys() == stored["settings"].keys()
    for setting, metrics in stored["settings"].items():
        for metric, entry in metrics.items():
            assert new["settings"][setting][metric]["seeds"] == pytest.approx(entry["seeds"], abs=entry["tolerance"])


def test_cli_check_refuses_a_work_dir_that_holds_runs(checked):
    _, _, work = checked
    code, _, err = run_cli("baseline", "check", "--work", work)
    assert code == 2 and "already holds runs" in err and "--results" in err
