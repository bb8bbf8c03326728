"""Grids: spec expansion and validation, the runner (skip, resume after SIGKILL, failures), Dask, collect.

Runs are tiny digits runs (C=2..4, N=1, 1..8 epochs, pools of 6..8 subnets) so the file stays fast on 2 cores.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bench.cli import main
from bench.config import ConfigError
from bench.grid import collect, load_grid
from bench.grid import store as grid_store
from bench.grid.executors import RETURN, SHARED, Backend
from bench.grid.runner import run_grid
from bench.grid.spec import is_grid_spec
from bench.grid.worker import THREAD_ENV_VARS, usable_cpus

ROOT = Path(__file__).resolve().parents[1]
TINY_BASE = {"train": {"epochs": 1, "batch_size": 128}, "supernet": {"C": 2, "N": 1}, "eval": {"pool_size": 6}}
TIMING_KEYS = {"train_seconds", "score_seconds"}


def write_spec(tmp_path: Path, body: dict, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def spec(tmp_path: Path, **body) -> Path:
    return write_spec(tmp_path, {"name": "t", "base": TINY_BASE, **body})


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def thread_backend(monkeypatch):
    """An in-process executor (runs share the test process, so monkeypatching reaches them)."""
    for var in THREAD_ENV_VARS:  # pin_threads sets them; restore after the test
        monkeypatch.setenv(var, os.environ.get(var, str(usable_cpus())))
    import torch

    previous = torch.get_num_threads()
    backends = []

    def make(transfer=SHARED):
        # One thread: the runs are tiny, and torch's thread pool is slow on a busy machine.
        backend = Backend("threads", concurrent.futures.ThreadPoolExecutor(1), lambda: 1, transfer, 1,
                          local_data=True)
        backends.append(backend)
        return backend

    yield make
    for b in backends:
        b.executor.shutdown()
    torch.set_num_threads(previous)


# ---------------------------------------------------------------------------
# Expansion and validation (nothing trains)
# ---------------------------------------------------------------------------


def test_product_zip_and_seeds(tmp_path):
    grid = load_grid(spec(tmp_path, axes={"heuristics.lr_schedule": ["cosine", "calr"],
                                          "heuristics.momentum_buffers": ["shared", "ms"]},
                          zip=[{"train.epochs": [1, 2], "train.lr": [0.05, 0.025]}], seeds=[0, 1]))
    assert len(grid.runs) == 2 * 2 * 2 * 2
    # seeds outermost: every setting's seed 0 before any seed 1
    assert [r.seed for r in grid.runs] == [0] * 8 + [1] * 8
    settings = {(r.config.heuristics["lr_schedule"]["name"], r.config.heuristics["momentum_buffers"]["name"],
                 r.config.train.epochs, r.config.train.lr) for r in grid.runs}
    assert len(settings) == 8
    assert all((e, lr) in {(1, 0.05), (2, 0.025)} for _, _, e, lr in settings)  # zipped, not crossed
    first = grid.runs[0]
    assert first.label == "lr_schedule=cosine,momentum_buffers=shared,epochs=1,lr=0.05,seed=0"
    assert first.config.name == f"t-{first.label}"
    assert len({r.key for r in grid.runs}) == 16


def test_heuristic_values_as_names_mappings_and_parameters(tmp_path):
    grid = load_grid(spec(tmp_path, base={**TINY_BASE, "heuristics": {"lr_schedule": "calr"}},
                          axes={"heuristics.lr_schedule.gamma_prime": [2, 3],
                                "heuristics.sampling": ["spos", {"name": "complexity_proportional",
                                                                 "complexity": "flops"}]}))
    assert [r.config.heuristics["lr_schedule"]["gamma_prime"] for r in grid.runs] == [2.0, 2.0, 3.0, 3.0]
    assert grid.runs[1].config.heuristics["sampling"] == {"name": "complexity_proportional", "complexity": "flops"}
    assert grid.runs[1].label == "gamma_prime=2,sampling=complexity_proportional(complexity=flops),seed=0"


def test_include_and_exclude(tmp_path):
    grid = load_grid(spec(tmp_path, axes={"heuristics.lr_schedule": ["cosine", "calr"],
                                          "heuristics.momentum_buffers": ["shared", "ms"]},
                          seeds=[0, 1],
                          exclude=[{"heuristics.lr_schedule": "calr", "heuristics.momentum_buffers": "shared"},
                                   {"seed": 1, "heuristics.lr_schedule": {"name": "cosine"}}],
                          include=[{"heuristics.sampling": "fairnas"},
                                   {"heuristics.sampling": "fairnas", "train.lr": 0.1, "seed": 5}]))
    labels = [r.label for r in grid.runs]
    assert "lr_schedule=calr,momentum_buffers=shared,seed=0" not in labels
    assert not any(r.seed == 1 and r.label.startswith("lr_schedule=cosine") for r in grid.runs)
    assert "lr_schedule=calr,momentum_buffers=ms,seed=1" in labels
    # include entries: once per seed, and never dropped by exclude (this one has cosine and seed 1)
    assert "sampling=fairnas,seed=0" in labels and "sampling=fairnas,seed=1" in labels
    assert "sampling=fairnas,lr=0.1,seed=5" in labels  # an entry with its own seed: once
    assert len(grid.runs) == 3 + 1 + 3  # seed 0: 3 settings; seed 1: calr+ms; includes: 3
    # A rule value list matches any of its values; a rule that matches nothing is noted.
    grid = load_grid(spec(tmp_path, axes={"train.lr": [0.1, 0.2, 0.3]},
                          exclude=[{"train.lr": [0.1, 0.3]}, {"train.lr": 0.7}]))
    assert [r.config.train.lr for r in grid.runs] == [0.2]
    assert any("exclude[1] matches no run" in n for n in grid.notes)


def test_identical_configs_are_kept_once(tmp_path):
    grid = load_grid(spec(tmp_path, axes={"train.lr": [0.05, 0.1]}, include=[{"train.lr": 0.05}]))
    assert len(grid.runs) == 2 and any("same config" in n for n in grid.notes)


def test_run_key_ignores_the_name_only(tmp_path):
    a = load_grid(spec(tmp_path, axes={"train.lr": [0.05]}))
    b = load_grid(write_spec(tmp_path, {"name": "renamed", "base": TINY_BASE, "axes": {"train.lr": [0.05]}}, "b.yaml"))
    c = load_grid(spec(tmp_path, axes={"train.lr": [0.06]}))
    assert a.runs[0].key == b.runs[0].key != c.runs[0].key


@pytest.mark.parametrize("body, message", [
    ({"axes": {"train.lr": [0.1, 0.2, -1]}}, r"axes.train.lr\[2\] = -1 \(run lr=-1,seed=0\): train.lr = -1.0 "
                                             r"is out of range"),
    ({"axes": {"train.lrr": [0.1]}}, r"axes.train.lrr\[0\] = 0.1 .*unknown key 'train.lrr'.*did you mean 'lr'"),
    ({"zip": [{"train.epochs": [1, 2], "train.lr": [0.1, "x"]}]}, r"zip\[0\].train.lr\[1\] = x"),
    ({"axes": {"heuristics.lr_schedule": ["cosine", "calrr"]}},
     r"axes.heuristics.lr_schedule\[1\] = calrr .*not a registered heuristic"),
    ({"include": [{"train.momentum": 0}]}, r"include\[0\].train.momentum = 0 .*nesterov = true needs"),
    ({"axis": {"train.lr": [0.1]}}, r"unknown key 'axis' at the top level of the grid spec.*did you mean 'axes'"),
    ({"axes": {"train.lr": 0.1}}, r"axes.train.lr: expected a non-empty list of values, got 0.1"),
    ({"axes": {"seed": [0, 1]}}, r"axes.seed: use the top-level 'seeds' list"),
    ({"zip": [{"train.epochs": [1, 2], "train.lr": [0.1]}]}, r"zip\[0\]: .*equal lengths; got train.epochs: 2, "
                                                             r"train.lr: 1"),
    ({"seeds": [0, -1]}, r"seeds\[1\] = -1: a seed is an int >= 0"),
    ({"axes": {"train.lr": [0.1]}, "zip": [{"train.lr": [0.2]}]}, r"zip\[0\].train.lr: .*already varied by axes"),
    ({"exclude": [{"train.lrr": 0.1}]}, r"exclude\[0\].train.lrr: no run's config has this key"),
    ({"include": [{"train.lr": [0.1, 0.2]}]}, r"include\[0\].train.lr = .*single values"),
    ({"base_config": "nope.yaml"}, r"base_config: config file not found"),
])
def test_malformed_specs_name_the_yaml_path(tmp_path, body, message):
    path = spec(tmp_path, **body)
    with pytest.raises(ConfigError, match=message) as info:
        load_grid(path)
    assert str(info.value).startswith(str(path))


def test_every_problem_is_listed_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_grid(spec(tmp_path, axes={"train.lr": [-1, -2], "supernet.C": [4, 0]}))
    text = str(info.value)
    assert "3 problem(s)" in text  # lr[0], lr[1], C[1] (the same problem in other runs is listed once)
    for path in ("axes.train.lr[0]", "axes.train.lr[1]", "axes.supernet.C[1]"):
        assert path in text
    code, _, err = run_cli("grid", spec(tmp_path, axes={"train.lr": [-1]}), "--out", tmp_path / "g")
    assert code == 2 and "axes.train.lr[0]" in err and not (tmp_path / "g").exists()


def test_base_config_file_relative_to_the_spec(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "base.yaml").write_text(yaml.safe_dump(TINY_BASE))
    path = write_spec(tmp_path / "conf", {"name": "b", "base_config": "base.yaml", "seeds": [3]})
    grid = load_grid(path)
    assert grid.runs[0].config.supernet.C == 2 and grid.runs[0].seed == 3
    (tmp_path / "conf" / "base.yaml").write_text("train: {epochs: 0}\n")
    with pytest.raises(ConfigError, match=r"base: train.epochs = 0 is out of range"):
        load_grid(path)


def test_ablation_grid_specs_expand_and_validate():
    specs = [p for p in sorted((ROOT / "ablations").glob("*.yaml")) if is_grid_spec(p)]
    names = {p.stem for p in specs}
    assert {"quick", "heuristics_study_nb201", "calr_ms_tables"} <= names
    for path in specs:
        grid = load_grid(path)
        assert grid.runs and grid.spec.description and grid.spec.paper_scale, path
    quick = load_grid(ROOT / "ablations" / "quick.yaml")
    assert quick.spec.name == "quick" and len(quick.runs) == 8
    assert {r.config.data.dataset for r in quick.runs} == {"digits"}


def test_store_names_agree_with_bench_run():
    from bench import run

    assert grid_store.METRICS_FILE == run.METRICS_FILE and grid_store.PARTIAL_SUFFIX == run.PARTIAL_SUFFIX


# ---------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------


def test_same_grid_twice_trains_nothing_the_second_time(tmp_path, thread_backend):
    grid = load_grid(spec(tmp_path, axes={"heuristics.lr_schedule": ["cosine", "calr"]}))
    out = tmp_path / "g"
    report = run_grid(grid, out, thread_backend(), progress=False)
    assert len(report.trained) == 2 and report.complete
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*")}

    class NoRuns(concurrent.futures.Executor):
        def submit(self, *args, **kwargs):
            raise AssertionError("a finished run was submitted again")

    backend = thread_backend()
    backend.executor = NoRuns()
    report = run_grid(grid, out, backend, progress=False)
    assert report.trained == [] and report.done_before == 2
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*")} == mtimes
    for key in grid.by_key():
        log = (out / "logs" / f"{key}.log").read_text()
        assert "history (per epoch)" in log and "kendall_tau" in log
    assert (out / "spec.yaml").read_text() == grid.spec.text
    assert {r["key"] for r in json.loads((out / "grid.json").read_text())["runs"]} == set(grid.by_key())


def test_a_failing_run_is_recorded_the_others_finish_and_collect(tmp_path, thread_backend, monkeypatch):
    # train.lr = 1e30 without clipping: a real NaN loss (the trainer raises FloatingPointError).
    grid = load_grid(spec(tmp_path, axes={"train.lr": [0.05, 1.0e30], "train.grad_clip": [None]},
                          include=[{"heuristics.lr_schedule": "calr"}]))
    out = tmp_path / "g"
    bad = next(r.key for r in grid.runs if r.config.train.lr == 1e30)
    report = run_grid(grid, out, thread_backend(), progress=False)
    assert report.failed == [bad] and len(report.trained) == 2 and not report.complete
    failure = json.loads((out / "failed" / f"{bad}.json").read_text())
    assert failure["error_type"] == "FloatingPointError" and "nan" in failure["error"]
    assert failure["attempts"] == 1 and failure["config"]["train"]["lr"] == 1e30 and failure["traceback"]
    assert "FAILED" in (out / "logs" / f"{bad}.log").read_text()

    # A rerun skips it; --retry-failed retries it (the NaN again: attempts 2).
    assert run_grid(grid, out, thread_backend(), progress=False).skipped_failed == [bad]
    report = run_grid(grid, out, thread_backend(), retry_failed=True, progress=False)
    assert report.failed == [bad] and json.loads((out / "failed" / f"{bad}.json").read_text())["attempts"] == 2

    # A failure that goes away: the retry succeeds and the failure record is removed.
    grid2 = load_grid(spec(tmp_path, axes={"train.lr": [0.05]}, include=[{"train.lr": 0.07}]))
    flaky = next(r.key for r in grid2.runs if r.config.train.lr == 0.07)
    import bench.run

    original = bench.run.execute_run

    def broken_once(config, *args, **kwargs):
        if config.train.lr == 0.07:
            raise RuntimeError("disk full")
        return original(config, *args, **kwargs)

    monkeypatch.setattr(bench.run, "execute_run", broken_once)
    assert run_grid(grid2, out, thread_backend(), progress=False).failed == [flaky]
    monkeypatch.setattr(bench.run, "execute_run", original)
    report = run_grid(grid2, out, thread_backend(), retry_failed=True, progress=False)
    assert report.trained == [flaky] and not (out / "failed" / f"{flaky}.json").exists()

    # collect: one row per run, ok and failed, flattened config, metrics, cost, code version.
    code, stdout, _ = run_cli("collect", out)
    # grid (3 runs) and grid2 (2 runs: its lr 0.05 keeps the base's grad_clip, so it is another run)
    assert code == 0 and "collected 5 runs (4 ok, 1 failed)" in stdout
    runs, scores = pd.read_parquet(out / "runs.parquet"), pd.read_parquet(out / "scores.parquet")
    pd.testing.assert_frame_equal(runs, collect(out, write=False)[0])
    assert len(runs) == 5 and set(runs["status"]) == {"ok", "failed"}
    for column in ("key", "label", "setting", "status", "error", "seed", "train.lr", "supernet.C",
                   "heuristics.lr_schedule.name", "heuristics.lr_schedule.gamma_prime", "kendall_tau",
                   "sparse_kendall_tau", "train_seconds", "score_seconds", "images_trained", "code_version",
                   "git_commit"):
        assert column in runs.columns, column
    failed = runs[runs["status"] == "failed"].iloc[0]
    assert failed["key"] == bad and "nan" in failed["error"] and pd.isna(failed["kendall_tau"])
    ok = runs[runs["status"] == "ok"]
    assert ok["kendall_tau"].between(-1, 1).all() and (ok["images_trained"] > 0).all()
    assert set(runs.loc[runs["key"].isin(grid2.by_key()), "in_spec"]) == {True}  # grid2 ran last
    assert set(runs.loc[~runs["key"].isin(grid2.by_key()), "in_spec"]) == {False}
    assert set(runs["label"]) == {r.label for r in grid.runs + grid2.runs}  # earlier runs keep their labels
    assert list(scores.columns[:4]) == ["key", "label", "setting", "seed"]
    assert {"arch_str", "supernet_accuracy", "ground_truth", "params", "flops"} <= set(scores.columns)
    assert len(scores) == 4 * 6 and set(scores["key"]) == set(ok["key"])
    history = pd.read_parquet(out / "history.parquet")
    assert len(history) == 4 and "loss" in history.columns


def _grid_cmd(spec_path, out):
    # One thread: torch's thread pool crawls on a busy 2-core machine, and the runs are tiny.
    return [sys.executable, "-m", "bench.cli", "grid", str(spec_path), "--out", str(out), "--jobs", "1",
            "--threads", "1", "--quiet"]


def test_grid_killed_with_sigkill_resumes_to_the_same_result(tmp_path):
    base = {"train": {"epochs": 6, "batch_size": 128}, "supernet": {"C": 2, "N": 1}, "eval": {"pool_size": 6}}
    path = write_spec(tmp_path, {"name": "k", "base": base, "axes": {"heuristics.lr_schedule": ["cosine", "calr"]},
                                 "seeds": [0, 1]})
    keys = list(load_grid(path).by_key())
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    proc = subprocess.Popen(_grid_cmd(path, killed), start_new_session=True, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 150
    try:
        while True:
            runs = killed / "runs"
            done = [k for k in keys if (runs / k / "metrics.json").is_file()]
            partial = [k for k in keys if (runs / f"{k}.partial" / "checkpoint.pt").is_file()]
            if done and partial:
                break
            if proc.poll() is not None:
                pytest.fail(f"the grid ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("no run finished within the time limit")
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (killed / "runs" / partial[0] / "metrics.json").exists()

    # The rerun, and an uninterrupted grid of the same spec to compare with, side by side.
    procs = [subprocess.Popen(_grid_cmd(path, d), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for d in (killed, whole)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]

    entries = sorted(p.name for p in (killed / "runs").iterdir())
    assert entries == sorted(keys)  # exactly one complete record per run, no .partial left
    assert "resuming" in (killed / "logs" / f"{partial[0]}.log").read_text()
    for key in keys:
        a, b = killed / "runs" / key, whole / "runs" / key
        ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
        assert {k: v for k, v in ma.items() if k not in TIMING_KEYS} == \
               {k: v for k, v in mb.items() if k not in TIMING_KEYS}, key
        pd.testing.assert_frame_equal(pd.read_csv(a / "scores.csv"), pd.read_csv(b / "scores.csv"))
        assert pd.read_csv(a / "history.csv")["loss"].tolist() == pd.read_csv(b / "history.csv")["loss"].tolist()
        env_a = json.loads((a / "environment.json").read_text())
        assert env_a["torch_threads"] == 1  # --threads 1 reached the worker


def test_dask_local_cluster_runs_a_4_run_grid(tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed is not installed: pip install -e '.[grid]'")
    from bench.grid.executors import dask_backend

    grid = load_grid(spec(tmp_path, axes={"heuristics.lr_schedule": ["cosine", "calr"]}, seeds=[0, 1]))
    out = tmp_path / "g"
    backend = dask_backend(None, jobs=2, transfer=RETURN)
    try:
        assert backend.description.startswith("Dask local cluster tcp://127.0.0.1:")
        report = run_grid(grid, out, backend, progress=False, scratch=str(tmp_path / "scratch"))
    finally:
        backend.close()
    assert report.complete and len(report.trained) == 4
    for key in grid.by_key():
        run = out / "runs" / key
        assert (run / "metrics.json").is_file() and not (run / "checkpoint.pt").exists()  # returned files
        assert json.loads((run / "environment.json").read_text())["torch_threads"] == max(1, usable_cpus() // 2)
        assert "done in" in (out / "logs" / f"{key}.log").read_text()
    assert list((tmp_path / "scratch").iterdir()) == []  # the workers cleaned their scratch copies


def test_cli_dry_run_lists_status_and_estimates(tmp_path, thread_backend):
    path = spec(tmp_path, axes={"train.lr": [0.05, 0.1]})
    grid = load_grid(path)
    out = tmp_path / "g"
    code, stdout, _ = run_cli("grid", path, "--out", out, "--dry-run", "--threads", "1")
    assert code == 0 and not out.exists()  # a dry run writes nothing
    assert "2 new" in stdout and "timed here: 2" in stdout
    first = grid.runs[0]
    run_grid(load_grid(write_spec(tmp_path, {"name": "t", "base": TINY_BASE, "axes": {"train.lr": [0.05]}},
                                  "one.yaml")), out, thread_backend(), progress=False)
    code, stdout, _ = run_cli("grid", path, "--out", out, "--dry-run", "--no-measure")
    assert code == 0
    assert next(line for line in stdout.splitlines() if line.startswith(first.key)).split()[1] == "done"
    assert "1 done" in stdout and "1 new" in stdout and "finished runs' throughput: 1" in stdout
    code, stdout, _ = run_cli("grid", out, "--dry-run", "--no-measure")  # a grid directory: its spec.yaml
    assert code == 0 and "1 done" in stdout and "0 new" in stdout


def test_a_renamed_grid_resumes_its_interrupted_runs(tmp_path):
    from bench.config import to_yaml
    from bench.grid.worker import _adopt_renamed_partial

    old = load_grid(spec(tmp_path, axes={"train.lr": [0.05]})).runs[0]
    new = load_grid(write_spec(tmp_path, {"name": "renamed", "base": TINY_BASE, "axes": {"train.lr": [0.05]}},
                               "b.yaml")).runs[0]
    assert old.key == new.key and old.config.name != new.config.name
    partial = tmp_path / "runs" / f"{old.key}.partial"
    partial.mkdir(parents=True)
    (partial / "config.yaml").write_text(to_yaml(old.config))
    _adopt_renamed_partial(tmp_path / "runs" / old.key, new.config)
    assert (partial / "config.yaml").read_text() == to_yaml(new.config)
    other = load_grid(spec(tmp_path, axes={"train.lr": [0.06]})).runs[0]  # another setting: left alone
    _adopt_renamed_partial(tmp_path / "runs" / old.key, other.config)
    assert (partial / "config.yaml").read_text() == to_yaml(new.config)
