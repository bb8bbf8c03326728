"""Regression baselines: the tolerance rule, compare() on hand-made frames, and the real baseline grid.

The unit tests build run frames by hand (no training). The regression test trains the baseline grid
(tests/baselines/grid.yaml: 6 runs, about 1.5 minutes on 2 busy cores) once per module and checks it against
the stored baseline; the CLI tests reuse those runs through --results. Nothing here holds the numbers of one
machine: trained metrics are compared with stored ones only within the stored tolerance (which covers another
machine or thread count), and exact equality only between runs made here, in this session (determinism).
A perturbation of the code (in-process runs, monkeypatched) shows that the tolerance still catches a real change.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import baseline as bl
from bench.cli import main
from bench.config import ConfigError
from bench.grid import load_grid
from bench.grid.store import GridDir
from bench.heuristics.lr_policy import LRPolicy, StepLR

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


def frame(grid, threads=1) -> pd.DataFrame:
    """One ok row per run of ``grid``; every guarded metric varies with the seed (so sd > 0)."""
    rows = []
    for i, run in enumerate(grid.runs):
        setting = run.label.rsplit(",seed=", 1)[0]
        row = {"key": run.key, "status": "ok", "setting": setting, "seed": run.seed, "torch_threads": threads}
        for j, metric in enumerate(bl.GUARDED_METRICS):
            row[metric] = 0.1 * (j + 1) + 0.01 * run.seed + 0.001 * (i % 2) + 0.0005 * threads
        rows.append(row)
    return pd.DataFrame(rows)


def replicates_frame(grid) -> pd.DataFrame:
    """The runs an update trains (replicate_plan): more seeds at 1 thread, the grid's seeds at 2."""
    plan = bl.replicate_plan(grid)
    return pd.concat([frame(bl.with_seeds(grid, seeds), threads) for threads, seeds in plan.items()],
                     ignore_index=True)


def test_tolerance_rule():
    assert bl.TOLERANCE_UNITS == 4.5 and bl.TOLERANCE_FLOOR == 1e-6  # what TOLERANCE_RULE states
    assert bl.TOLERANCE_RULE.startswith("max(4.5 * sd * sqrt(1/n + 1/N), 1e-6): ")
    # N = 3 replicates, n = 3 seeds in a check: 4.5 * sd * sqrt(2/3)
    assert bl.tolerance([1.0, 2.0, 3.0], 3) == pytest.approx(4.5 * 1.0 * math.sqrt(2 / 3))
    values = [0.30, 0.32, 0.36, 0.31, 0.28, 0.35, 0.29, 0.33, 0.27, 0.32, 0.34, 0.30]  # N = 12, n = 3
    assert bl.tolerance(values, 3) == pytest.approx(4.5 * np.std(values, ddof=1) * math.sqrt(1 / 3 + 1 / 12))
    assert bl.tolerance([0.5, 0.5, 0.5], 3) == bl.TOLERANCE_FLOOR  # constant: the floor, not 0
    assert bl.tolerance([1.0, float("nan"), 3.0], 3) == pytest.approx(4.5 * math.sqrt(2) * math.sqrt(1 / 3 + 1 / 2))
    assert bl.tolerance([4.0], 3) == bl.TOLERANCE_FLOOR  # one value: no spread


def test_metric_entry_keeps_the_check_seeds_and_the_replicates():
    by_seed = {0: 1.0, 1: 2.0, 2: 6.0}
    replicates = {1: {**by_seed, 3: 3.0}, 2: {0: 1.5, 1: 2.5, 2: 5.0}}
    entry = bl.metric_entry(by_seed, replicates)
    everything = [1.0, 2.0, 6.0, 3.0, 1.5, 2.5, 5.0]
    assert entry["seeds"] == {"0": 1.0, "1": 2.0, "2": 6.0}  # the check's seeds, at BASELINE_THREADS
    assert entry["replicates"] == {"1": {"0": 1.0, "1": 2.0, "2": 6.0, "3": 3.0}, "2": {"0": 1.5, "1": 2.5, "2": 5.0}}
    assert entry["n"] == 7 and entry["mean"] == pytest.approx(np.mean(everything))
    assert entry["sd"] == pytest.approx(np.std(everything, ddof=1))
    assert entry["tolerance"] == pytest.approx(4.5 * entry["sd"] * math.sqrt(1 / 3 + 1 / 7))
    assert entry["thread_shift"] == {"2": pytest.approx((1.5 + 2.5 + 5.0 - 1.0 - 2.0 - 6.0) / 3)}
    alone = bl.metric_entry(by_seed)  # no replicates: the seeds alone
    assert alone["n"] == 3 and alone["replicates"] == {"1": alone["seeds"]} and alone["thread_shift"] == {}


def test_replicate_plan(grid):
    assert bl.replicate_plan(grid) == {1: list(SEEDS) + list(bl.SPREAD_SEEDS), 2: list(SEEDS)}
    more = bl.with_seeds(grid, [0, 1, 2, 3])
    assert len(more.runs) == 8 and {r.key for r in grid.runs} < {r.key for r in more.runs}  # shared seeds, same keys


def test_stored_baseline_follows_its_rule(grid):
    """The file records how it was made (replicates, rule), and its numbers are what the rule gives."""
    data = bl.load_baseline(STORED)
    assert data["format"] == bl.FORMAT and data["tolerance_rule"] == bl.TOLERANCE_RULE
    assert data["torch_threads"] == bl.BASELINE_THREADS and data["seeds"] == list(SEEDS)
    assert data["replicates"] == {str(t): s for t, s in bl.replicate_plan(grid).items()}
    assert "seeds 0-8 at 1 torch thread(s); seeds 0-2 at 2 torch thread(s)" in data["derivation"]
    assert set(data["settings"]) == {"lr_schedule=cosine", "lr_schedule=calr"}
    for metrics in data["settings"].values():
        assert set(metrics) == set(bl.GUARDED_METRICS)
        for entry in metrics.values():
            assert {t: sorted(map(int, v)) for t, v in entry["replicates"].items()} == data["replicates"]
            assert entry["seeds"] == {str(s): entry["replicates"]["1"][str(s)] for s in SEEDS}
            values = [v for per_seed in entry["replicates"].values() for v in per_seed.values()]
            assert entry["n"] == len(values) == 12
            assert entry["mean"] == pytest.approx(np.mean(values))
            assert entry["sd"] == pytest.approx(np.std(values, ddof=1))
            assert entry["tolerance"] == pytest.approx(bl.tolerance(values, len(SEEDS)))
            shift = np.mean([entry["replicates"]["2"][str(s)] - entry["replicates"]["1"][str(s)] for s in SEEDS])
            assert entry["thread_shift"] == {"2": pytest.approx(shift)}


def test_compute_baseline_records_every_setting_and_metric(grid):
    data = bl.compute_baseline(replicates_frame(grid), grid, "grid.yaml")
    assert data["seeds"] == list(SEEDS) and data["torch_threads"] == 1 and data["grid_spec"] == "grid.yaml"
    assert data["replicates"] == {"1": list(SEEDS) + list(bl.SPREAD_SEEDS), "2": list(SEEDS)}
    assert list(data["settings"]) == ["lr_schedule=cosine", "lr_schedule=calr"]
    entry = data["settings"]["lr_schedule=calr"]["kendall_tau"]
    assert entry["seeds"] == {"0": pytest.approx(0.1015), "1": pytest.approx(0.1115), "2": pytest.approx(0.1215)}
    assert entry["n"] == 12 and entry["thread_shift"] == {"2": pytest.approx(0.0005)}
    assert data["derivation"].startswith("Per setting, 12 replicate runs (seeds 0-8 at 1 torch thread(s); "
                                         "seeds 0-2 at 2 torch thread(s))")
    # Runs of the grid alone (what `update --results` of a check's directory has): the seeds are the replicates.
    alone = bl.compute_baseline(frame(grid), grid, "grid.yaml")
    assert alone["replicates"] == {"1": list(SEEDS)}
    assert alone["settings"]["lr_schedule=calr"]["kendall_tau"]["n"] == 3


def test_compute_baseline_needs_the_grid_at_the_baseline_thread_count(grid):
    with pytest.raises(ConfigError, match=r"finished at 1 torch thread\(s\); missing or failed: lr_schedule=cosine"):
        bl.compute_baseline(frame(grid, threads=2), grid, "grid.yaml")


def test_compute_baseline_refuses_an_incomplete_grid(grid):
    runs = frame(grid)
    runs.loc[3, "status"] = "failed"
    with pytest.raises(ConfigError, match=r"missing or failed: lr_schedule=calr,seed=1"):
        bl.compute_baseline(runs, grid, "grid.yaml")


def test_identical_runs_pass_and_are_exact(grid):
    runs = frame(grid)
    result = bl.compare(bl.compute_baseline(runs, grid, "grid.yaml"), runs)
    assert result.ok, result.table()
    assert len(result.rows) == 2 * len(bl.GUARDED_METRICS)
    assert all(r.difference == 0.0 for r in result.rows)
    assert result.exact is True
    assert "per-seed values: all 48 equal the stored ones exactly" in "\n".join(result.notes)


def test_per_seed_differences_within_tolerance_pass_but_are_not_exact(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    elsewhere = runs.copy()  # another machine: each seed's value moves, the mean stays within tolerance
    elsewhere.loc[elsewhere["seed"] == 0, "spearman"] += 1e-3
    elsewhere.loc[elsewhere["seed"] == 1, "spearman"] -= 1e-3
    result = bl.compare(baseline, elsewhere)
    assert result.ok and result.exact is False
    assert "per-seed values: 4 of 48 differ from the stored ones" in "\n".join(result.notes)


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


def test_another_thread_count_is_held_to_the_tolerance(grid):
    runs = frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    result = bl.compare(baseline, runs.assign(torch_threads=2))
    assert result.ok, result.table()
    assert result.exact is None
    assert "the runs used 2 torch thread(s), the stored ones were made with 1" in "\n".join(result.notes)


def test_runs_at_several_thread_counts_are_compared_per_thread_count(grid):
    runs = replicates_frame(grid)
    baseline = bl.compute_baseline(runs, grid, "grid.yaml")
    result = bl.compare(baseline, runs)  # e.g. `check --results` of an update's work directory
    assert result.ok, result.table()
    assert {r.setting for r in result.rows} == {"lr_schedule=cosine @1 threads", "lr_schedule=calr @1 threads",
                                                "lr_schedule=cosine @2 threads", "lr_schedule=calr @2 threads"}
    assert result.exact is True  # the 1-thread runs are the stored ones


@pytest.mark.parametrize("content, message", [
    (None, r"does not exist; `bench baseline update --baseline"),
    ("{not json", r"is not valid JSON"),
    (json.dumps({"format": 99}), r"format = 99; this code reads format 2"),
    (json.dumps({"format": 2, "grid_spec": "g.yaml", "seeds": [0], "settings": {"s": {"kendall_tau": {}}}}),
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


@pytest.fixture(scope="module")
def measured(checked, grid) -> pd.DataFrame:
    """The checked runs as a frame (one row per run)."""
    return bl.results_frame(checked[2], grid)


def test_the_baseline_grid_matches_the_stored_baseline(checked):
    code, output, _ = checked
    assert code == 0, output
    assert "all 16 (setting, metric) pairs within tolerance" in output
    # Whether the per-seed values are the stored ones exactly depends on the machine; the check says which.
    assert "per-seed values: all 48 equal the stored ones exactly" in output or \
           "differ from the stored ones" in output, output


def perturbed_copy(tmp_path: Path, measured: pd.DataFrame, setting: str, metric: str, by_tolerances: float) -> Path:
    """The stored baseline with one mean put ``by_tolerances`` tolerances away from what these runs measured.

    Relative to this machine's runs, not the stored mean: the runs' own mean may be anywhere within tolerance.
    """
    data = json.loads(STORED.read_text())
    data["grid_spec"] = str(bl.spec_path(data, STORED))  # the copy lives elsewhere
    entry = data["settings"][setting][metric]
    here = measured[measured["setting"] == setting].set_index("seed")[metric]
    entry["mean"] = float(np.mean([here[s] for s in SEEDS])) + by_tolerances * entry["tolerance"]
    path = tmp_path / "perturbed.json"
    path.write_text(json.dumps(data))
    return path


def test_cli_check_fails_when_the_baseline_is_perturbed_beyond_tolerance(checked, measured, tmp_path):
    _, _, work = checked
    code, out, _ = run_cli("baseline", "check", "--results", work,
                           "--baseline", perturbed_copy(tmp_path, measured, "lr_schedule=calr", "kendall_tau", 1.5))
    assert code == 1, out
    failing = [line for line in out.splitlines() if line.rstrip().endswith("FAIL")]
    assert len(failing) == 1 and "lr_schedule=calr" in failing[0] and "kendall_tau" in failing[0], out
    # Within tolerance, the same runs pass:
    code, out, _ = run_cli("baseline", "check", "--results", work,
                           "--baseline", perturbed_copy(tmp_path, measured, "lr_schedule=calr", "kendall_tau", -0.5))
    assert code == 0, out


def test_cli_update_writes_the_runs_it_was_given(checked, measured, tmp_path):
    """`update --results` stores exactly the values of those runs (no retraining), their means near the stored."""
    _, _, work = checked
    target = tmp_path / "baselines" / "new.json"
    code, out, _ = run_cli("baseline", "update", "--results", work, "--baseline", target,
                           "--spec", bl.DEFAULT_SPEC)
    assert code == 0 and f"wrote {target}" in out, out
    new, stored = bl.load_baseline(target), bl.load_baseline(STORED)
    assert bl.spec_path(new, target) == bl.DEFAULT_SPEC.resolve()
    assert new["settings"].keys() == stored["settings"].keys()
    assert new["replicates"] == {"1": list(SEEDS)}  # a check's directory: the grid's seeds at one thread
    for setting, metrics in stored["settings"].items():
        here = measured[measured["setting"] == setting].set_index("seed")
        for metric, entry in metrics.items():
            written = new["settings"][setting][metric]
            assert written["seeds"] == {str(s): bl._json_number(here[metric][s]) for s in SEEDS}
            # The means agree within the stored tolerance (the check above); the seeds need not, elsewhere.
            assert abs(written["mean"] - entry["mean"]) <= entry["tolerance"], (setting, metric)


def test_an_update_work_directory_is_read_per_thread_count(checked, grid, tmp_path):
    """`update` trains into WORK/threads-N, one grid directory per thread count; they are read together."""
    _, _, work = checked
    for threads in (1, 2):
        shutil.copytree(work, tmp_path / f"threads-{threads}")
    runs = bl.results_frame(tmp_path, grid)
    assert len(runs) == 2 * len(grid.runs)
    # Both copies say 1 thread: the same (setting, seed, thread count) twice, which a baseline refuses.
    with pytest.raises(ConfigError, match=r"more than once: lr_schedule=calr seed 0 at 1"):
        bl.compute_baseline(runs, grid, "grid.yaml")


def test_cli_check_refuses_a_work_dir_that_holds_runs(checked):
    _, _, work = checked
    code, _, err = run_cli("baseline", "check", "--work", work)
    assert code == 2 and "already holds runs" in err and "--results" in err


# ---------------------------------------------------------------------------
# Exact where exactness is possible; the code perturbed, in this process
# ---------------------------------------------------------------------------


def runs_of(grid, setting: str, seeds=SEEDS):
    """The grid restricted to one setting's runs of ``seeds``."""
    return dataclasses.replace(grid, runs=[r for r in grid.runs
                                           if r.label.startswith(setting + ",") and r.seed in seeds])


def only(baseline: dict, setting: str) -> dict:
    """The baseline of one setting (to compare a part of the grid)."""
    return {**baseline, "settings": {setting: baseline["settings"][setting]}}


def test_a_run_repeated_on_this_machine_gives_identical_numbers(checked, grid, tmp_path):
    """Same config, seed, machine, torch version and thread count: the same floats, bit for bit.

    The check trained the run in a worker process; here it runs again in this process, at the same thread count.
    """
    _, _, work = checked
    again = runs_of(grid, "lr_schedule=cosine", seeds=(0,))
    (run,) = again.runs
    report = bl.run_grid_in_process(again, tmp_path / "again", threads=bl.BASELINE_THREADS)
    assert report.trained == [run.key], report.summary()
    first, second = (GridDir(d).run_dir(run.key) for d in (work, tmp_path / "again"))
    assert json.loads((second / "environment.json").read_text())["torch_threads"] == bl.BASELINE_THREADS
    pd.testing.assert_frame_equal(pd.read_csv(first / "scores.csv"), pd.read_csv(second / "scores.csv"),
                                  check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(first / "history.csv").drop(columns="seconds"),
                                  pd.read_csv(second / "history.csv").drop(columns="seconds"), check_exact=True)
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (first, second))
    assert {m: a[m] for m in bl.GUARDED_METRICS if m in a} == {m: b[m] for m in bl.GUARDED_METRICS if m in b}


def quarter_lr(monkeypatch):
    """A real change of training: the schedule gives every step a quarter of its learning rate."""
    original = LRPolicy.for_step

    def for_step(self, step, archs):
        planned = original(self, step, archs)
        return StepLR(0.25 * planned.lr, planned.weights)

    monkeypatch.setattr(LRPolicy, "for_step", for_step)


def misaligned_scores(monkeypatch):
    """A real change of scoring: each subnet gets its neighbour's supernet accuracy (an indexing bug)."""
    import bench.run

    original = bench.run.score_pool
    monkeypatch.setattr(bench.run, "score_pool", lambda *args, **kwargs: np.roll(original(*args, **kwargs), 1))


def test_a_real_change_of_training_fails_the_check(monkeypatch, tmp_path):
    """The code, not the stored file, perturbed: a quarter of the learning rate, the cosine setting's 3 seeds.

    Measured when the tolerance was set: the final training loss moves by 2.0 tolerances (+0.31, about 6 seed
    sds), the final accuracy by 1.5; the ranking metrics by less than one (a slower schedule barely changes
    them on this grid). Halving the learning rate moves the loss by 1.4 tolerances: caught here, but too close
    to the line to assert on every machine.
    """
    grid = load_grid(bl.DEFAULT_SPEC)
    quarter_lr(monkeypatch)
    report = bl.run_grid_in_process(runs_of(grid, "lr_schedule=cosine"), tmp_path / "perturbed")
    assert len(report.trained) == 3, report.summary()
    result = bl.compare(only(bl.load_baseline(STORED), "lr_schedule=cosine"),
                        bl.results_frame(tmp_path / "perturbed", grid))
    assert not result.ok, result.table()
    failed = {r.metric for r in result.failures}
    assert "final_train_loss" in failed, result.table()
    loss = next(r for r in result.rows if r.metric == "final_train_loss")
    assert loss.difference > loss.tolerance > 0  # slower learning: a higher loss, not a missing value


@pytest.mark.slow
def test_a_real_change_of_scoring_fails_the_check_on_the_whole_grid(monkeypatch, tmp_path):
    """Scores attached to the wrong subnets, the whole grid (6 runs in this process, ~2-3 minutes).

    Measured on the cosine setting: Kendall tau, Spearman, CB and C3 move by 2-3.6 tolerances; training is
    untouched, so the final training loss and accuracy still pass.
    """
    grid = load_grid(bl.DEFAULT_SPEC)
    misaligned_scores(monkeypatch)
    report = bl.run_grid_in_process(grid, tmp_path / "perturbed")
    assert len(report.trained) == 6, report.summary()
    result = bl.compare(bl.load_baseline(STORED), bl.results_frame(tmp_path / "perturbed", grid))
    failed = {(r.setting, r.metric) for r in result.failures}
    for setting in ("lr_schedule=cosine", "lr_schedule=calr"):
        assert {(setting, "kendall_tau"), (setting, "spearman")} <= failed, result.table()
        assert (setting, "final_train_loss") not in failed, result.table()
