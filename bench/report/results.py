"""A grid directory's results as a report reads them, and what the grid still lacks.

:func:`load_results` reads the tables ``bench collect`` writes (and collects
them first when the grid directory has none yet), the spec that made them,
and each run's own gradient and GM tables. A partly finished grid is
reported as it stands: :attr:`Results.missing` names the runs the spec lists
that have no finished record (not started, interrupted, or failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from bench.grid.collect import HISTORY_TABLE, RUNS_TABLE, SCORES_TABLE, collect, setting_of
from bench.grid.store import MANIFEST_FILE, SPEC_FILE, GridDir, Status
from bench import metric_names as names
from bench.validation import ConfigError

# Metrics summarized per setting, in the order reports show them.
RANKING_METRICS = [names.KENDALL_TAU, names.SPARSE_KENDALL_TAU, names.SPEARMAN]
BIAS_METRICS = [names.COMPLEXITY_BIAS, names.COMPLEXITY_BIAS_MATCHED, names.COMPLEXITY_CONVERGENCE_CORRELATION]
GRADIENT_METRICS = [names.GRAD_STD, names.GRAD_STD_WITHIN_CLUSTERS, names.GRAD_COS_SUCCESSIVE,
                    names.GRAD_COS_SUCCESSIVE_WITHIN_CLUSTERS, names.MGCS_A1, names.MGCS_A3, names.MGCS_A5]


@dataclass
class Results:
    directory: Path
    runs: pd.DataFrame  # every finished run (status ok), one row each: config columns, metrics, cost
    scores: pd.DataFrame  # one row per scored subnet per run
    history: pd.DataFrame  # one row per epoch per run
    spec: dict = field(default_factory=dict)  # the grid spec as given (spec.yaml), {} when absent
    manifest: dict = field(default_factory=dict)  # grid.json: the expansion last run
    missing: pd.DataFrame = field(default_factory=pd.DataFrame)  # planned runs without a record: label, status
    failed: pd.DataFrame = field(default_factory=pd.DataFrame)  # failed runs: label, error

    @property
    def name(self) -> str:
        return self.manifest.get("name") or self.spec.get("name") or self.directory.name

    @property
    def settings(self) -> list[str]:
        """Settings in the order the spec lists them (finished ones only)."""
        planned = [setting_of(r["label"]) for r in self.manifest.get("runs", [])]
        present = list(dict.fromkeys(self.runs[names.SETTING]))
        ordered = [s for s in dict.fromkeys(planned) if s in present]
        return ordered + [s for s in present if s not in ordered]

    @property
    def baseline(self) -> str | None:
        """The setting others are compared with: the spec's first (its base, or every axis's first value)."""
        return self.settings[0] if len(self.runs) else None

    def metrics_present(self, names: list[str]) -> list[str]:
        return [m for m in names if m in self.runs.columns and self.runs[m].notna().any()]

    def run_table(self, filename: str) -> pd.DataFrame:
        """A per-run CSV (``gradient_stats.csv``, ``gm_scores.csv``) of every finished run, with its ids."""
        frames = []
        for row in self.runs.itertuples():
            path = self.directory / "runs" / row.key / filename
            if path.is_file():
                frames.append(pd.read_csv(path).assign(**{names.KEY: row.key, names.SETTING: row.setting,
                                                          names.SEED: row.seed}))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_results(directory: str | Path, recollect: bool = True) -> Results:
    """The results of the grid directory ``directory`` (collected afresh when it holds runs)."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"results directory {root} does not exist (bench grid SPEC --out {root} makes one)")
    grid = GridDir(root)
    has_grid = (root / MANIFEST_FILE).is_file() or grid.runs.is_dir()
    if has_grid and (recollect or not (root / RUNS_TABLE).is_file()):
        collect(root)
    if not (root / RUNS_TABLE).is_file():
        raise ConfigError(f"{root} holds neither a grid ({MANIFEST_FILE}, runs/) nor the collected tables "
                          f"({RUNS_TABLE}, {SCORES_TABLE}, {HISTORY_TABLE}): give the directory that "
                          "`bench grid --out` wrote")
    runs = pd.read_parquet(root / RUNS_TABLE)
    scores = _read_optional(root / SCORES_TABLE)
    history = _read_optional(root / HISTORY_TABLE)
    manifest = _read_yaml(root / MANIFEST_FILE)
    spec = _read_yaml(root / SPEC_FILE)
    ok = runs[runs[names.STATUS] == "ok"].reset_index(drop=True) if len(runs) else runs
    failed = (runs[runs[names.STATUS] == "failed"][[names.LABEL, names.ERROR_TYPE, names.ERROR]] if len(runs)
              else pd.DataFrame())
    return Results(root, ok, scores, history, spec, manifest, _missing(grid, manifest), failed.reset_index(drop=True))


def finished_runs(directory: str | Path) -> Results:
    """The finished runs of a grid directory, read without writing anything (``bench grid --dry-run``'s pilot):
    the runs table only, no scores or history."""
    root = Path(directory)
    runs, _ = collect(root, write=False)
    ok = runs[runs[names.STATUS] == "ok"].reset_index(drop=True) if len(runs) else runs
    return Results(root, ok, pd.DataFrame(), pd.DataFrame(), _read_yaml(root / SPEC_FILE),
                   _read_yaml(root / MANIFEST_FILE))


def _read_optional(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=[names.KEY, names.SETTING, names.SEED])


def _read_yaml(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def _missing(grid: GridDir, manifest: dict) -> pd.DataFrame:
    rows = []
    for run in manifest.get("runs", []):
        status = grid.status(run["key"])
        if status != Status.DONE:
            rows.append({names.KEY: run["key"], names.LABEL: run["label"], names.STATUS: status.value})
    return pd.DataFrame(rows, columns=[names.KEY, names.LABEL, names.STATUS])
