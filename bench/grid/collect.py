"""Gather a grid directory's runs into tables (pandas, saved as Parquet).

:func:`collect` returns, and ``bench collect GRID_DIR`` writes:

- ``runs.parquet``: one row per run, finished or failed: ``key``, ``label``,
  ``setting`` (the label without the seed), ``in_spec`` (whether the spec last
  run lists it; runs of an earlier version of the spec are kept),
  ``status`` (``ok`` / ``failed``), ``error_type`` and ``error`` (the failure
  reason), ``attempts``; the resolved config flattened into dotted columns
  (``seed``, ``train.lr``, ``heuristics.lr_schedule.name``,
  ``heuristics.lr_schedule.gamma_prime``, ...; a heuristic's parameters are
  empty where another heuristic is selected); the metrics (``kendall_tau``,
  ``sparse_kendall_tau``, ``spearman``, ``complexity_bias``, ...); the cost
  (``train_seconds``, ``score_seconds``, ``images_trained``, ``epochs``, and
  ``run_seconds``: their total, or a failed attempt's wall time); and the code
  version (``code_version``, ``bench_version``, ``git_commit``, ``git_dirty``)
  with ``device``, ``torch_threads`` (CPU results depend on it) and
  ``finished_at``;
- ``scores.parquet``: one row per scored subnet per run: ``key``, ``label``,
  ``setting``, ``seed``, then the run's ``scores.csv`` columns (``arch_str``,
  ``supernet_accuracy``, ``ground_truth``, ``params``, ``flops``);
- ``history.parquet``: one row per epoch per run (``key``, ``label``, ``seed``
  and the columns of ``history.csv``).

They read back with plain pandas: ``pd.read_parquet(GRID_DIR / "runs.parquet")``.
Columns that mix numbers and words in a config key (``eval.pool_size``: 200 or
``all``) are stored as text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import yaml

from bench.grid.store import MANIFEST_FILE, RUNS_DIR, GridDir
from bench import metric_names as names
from bench.validation import ConfigError

RUNS_TABLE = "runs.parquet"
SCORES_TABLE = "scores.parquet"
HISTORY_TABLE = "history.parquet"
FIRST_COLUMNS = [names.KEY, names.LABEL, names.SETTING, names.IN_SPEC, names.STATUS, names.ERROR_TYPE, names.ERROR,
                 names.ATTEMPTS, names.SEED]
COST_COLUMNS = [names.TRAIN_SECONDS, names.SCORE_SECONDS, names.RUN_SECONDS, names.IMAGES_TRAINED, names.EPOCHS]
CODE_COLUMNS = [names.CODE_VERSION, names.BENCH_VERSION, names.GIT_COMMIT, names.GIT_DIRTY, names.DEVICE,
                names.TORCH_THREADS, names.FINISHED_AT]


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def setting_of(label: str) -> str:
    """A run label without its seed: the setting it belongs to ("base" for the spec's base itself)."""
    return ",".join(part for part in label.split(",") if not part.startswith("seed=")) or "base"


def collect(grid_dir: str | Path, write: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, scores)`` of a grid directory (see the module docstring); with ``write``, also the Parquet files."""
    gd = GridDir(Path(grid_dir))
    if not gd.root.is_dir():
        raise ConfigError(f"{gd.root} is not a grid directory (bench grid SPEC --out {gd.root} makes one)")
    if not (gd.root / MANIFEST_FILE).is_file() and not gd.runs.is_dir():
        # Checked before writing: three empty tables would otherwise land in whatever folder was named.
        raise ConfigError(f"{gd.root} is not a grid results folder: it has neither {MANIFEST_FILE} (the grid's "
                          f"manifest) nor {RUNS_DIR}/ (its runs); give the directory `bench grid --out` wrote")
    recorded = gd.manifest()
    manifest = {r["key"]: r for r in recorded.get("runs", [])}
    labels = {r["key"]: r["label"] for r in recorded.get("earlier_runs", []) + recorded.get("runs", [])}
    rows, scores, histories = [], [], []
    for key in gd.done_keys():
        run = gd.run_dir(key)
        config = yaml.safe_load((run / "config.yaml").read_text())
        metrics = json.loads((run / "metrics.json").read_text())
        env_path = run / "environment.json"
        env = json.loads(env_path.read_text()) if env_path.is_file() else {}
        label = labels.get(key) or config.get("name", key)
        row = {names.KEY: key, names.LABEL: label, names.SETTING: setting_of(label), names.IN_SPEC: key in manifest,
               names.STATUS: "ok", names.ERROR_TYPE: None, names.ERROR: None, names.ATTEMPTS: None}
        row.update(flatten(config))
        row.update(metrics)
        row[names.RUN_SECONDS] = metrics.get(names.TRAIN_SECONDS, 0.0) + metrics.get(names.SCORE_SECONDS, 0.0)
        row.update(_code(env))
        rows.append(row)
        ids = {names.KEY: key, names.LABEL: label, names.SETTING: row[names.SETTING], names.SEED: config.get("seed")}
        if (run / "scores.csv").is_file():
            scores.append(pd.read_csv(run / "scores.csv").assign(**ids))
        if (run / "history.csv").is_file():
            histories.append(pd.read_csv(run / "history.csv").assign(**ids))
    for key in gd.failed_keys():
        failure = gd.read_failure(key)
        label = labels.get(key) or failure.get("label") or key
        row = {names.KEY: key, names.LABEL: label, names.SETTING: setting_of(label), names.IN_SPEC: key in manifest,
               names.STATUS: "failed", names.ERROR_TYPE: failure.get("error_type"),
               names.ERROR: failure.get("error"), names.ATTEMPTS: failure.get("attempts"),
               names.RUN_SECONDS: failure.get("seconds"), names.CODE_VERSION: failure.get("code_version"),
               names.FINISHED_AT: failure.get("failed_at")}
        row.update(flatten(failure.get("config") or {}))
        rows.append(row)

    runs = _order(pd.DataFrame(rows)) if rows else pd.DataFrame(columns=FIRST_COLUMNS)
    runs = _text_if_mixed(runs)
    ids = [names.KEY, names.LABEL, names.SETTING, names.SEED]
    scores_df = _front(pd.concat(scores, ignore_index=True), ids) if scores else pd.DataFrame(columns=ids)
    history_df = _front(pd.concat(histories, ignore_index=True), ids) if histories else pd.DataFrame(columns=ids)
    if write:
        _write_parquet(runs, gd.root / RUNS_TABLE)
        _write_parquet(scores_df, gd.root / SCORES_TABLE)
        _write_parquet(history_df, gd.root / HISTORY_TABLE)
    return runs, scores_df


def _code(env: dict) -> dict:
    git = env.get("git") or {}
    commit = git.get("commit")
    version = env.get("bench_version")
    code = version
    if version and commit:
        code = f"{version}+{commit[:12]}" + (".dirty" if git.get("dirty") else "")
    return {names.CODE_VERSION: code, names.BENCH_VERSION: version, names.GIT_COMMIT: commit,
            names.GIT_DIRTY: git.get("dirty"), names.DEVICE: env.get("device"),
            names.TORCH_THREADS: env.get("torch_threads"), names.FINISHED_AT: env.get("date")}


def _order(frame: pd.DataFrame) -> pd.DataFrame:
    config_cols = [c for c in frame.columns if "." in c or c == "name"]
    first = [c for c in FIRST_COLUMNS if c in frame.columns]
    last = [c for c in COST_COLUMNS + CODE_COLUMNS if c in frame.columns]
    metric_cols = [c for c in frame.columns if c not in first + config_cols + last]
    return frame[first + config_cols + metric_cols + last]


def _front(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns + [c for c in frame.columns if c not in columns]]


def _text_if_mixed(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding several kinds of value (200 and 'all') become text, so Parquet can store them."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        kinds = {type(v).__name__ for v in frame[column] if v is not None and not _is_nan(v)}
        kinds = {"number" if k in ("int", "float") else k for k in kinds}
        if len(kinds) > 1 or kinds - {"str", "bool", "number"}:
            frame[column] = pd.Series([None if v is None or _is_nan(v) else str(v) for v in frame[column]],
                                      index=frame.index, dtype=object)
        elif kinds == {"number"}:
            frame[column] = pd.to_numeric(frame[column])
        else:  # missing values as None, as they read back from Parquet
            frame[column] = pd.Series([None if v is None or _is_nan(v) else v for v in frame[column]],
                                      index=frame.index, dtype=object)
    return frame


def _is_nan(value) -> bool:
    return isinstance(value, float) and value != value


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def summary(runs: pd.DataFrame, metric: str = names.KENDALL_TAU) -> str:
    """Per setting: runs, mean and spread of ``metric`` over seeds (what `bench collect` prints)."""
    ok = runs[runs[names.STATUS] == "ok"] if names.STATUS in runs else runs
    if ok.empty or metric not in ok:
        return "no finished runs"
    table = ok.groupby(names.SETTING)[metric].agg(["count", "mean", "std", "min", "max"])
    table = table.rename(columns={"count": "runs"})
    return f"{metric} per setting (over seeds):\n" + table.to_string(float_format=lambda v: f"{v:.3f}")
