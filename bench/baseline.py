"""Regression baselines: a grid's metrics stored with a seed-noise tolerance, and new runs compared to them.

A baseline (``tests/baselines/nb201_digits.json``, written by ``bench baseline
update``) holds, for every setting of a small grid (``tests/baselines/grid.yaml``)
and every guarded metric (:data:`GUARDED_METRICS`), the per-seed values, their
mean, their sample standard deviation and a tolerance. ``bench baseline check``
trains the grid afresh and fails where a metric's mean over the same seeds has
moved by more than its tolerance.

Why the tolerance is ``max(3 * sd / sqrt(n), 1e-6)``:

- With the same code, torch version and thread count, a CPU rerun gives the
  same numbers (difference 0), so any nonzero difference means behaviour
  changed. The question the tolerance answers is whether the change is larger
  than what changing the random seeds alone would do.
- ``sd / sqrt(n)`` is the standard error of an n-seed mean. A change that only
  reshuffles randomness (another order of RNG calls, another BLAS kernel)
  moves the mean by a difference of two such means, whose spread is
  ``sqrt(2) * sd / sqrt(n)``; 3 standard errors is about 2.1 of those spreads,
  so such a neutral change fails rarely (about 3% under normality), while a
  change that shifts a metric by more than the seed noise fails.
- With 3 seeds the sd is itself uncertain (it can be off by a factor of 2 or
  more), so this is a screen for unintended changes, not a significance test.
- The floor (1e-6) is for metrics that do not vary across seeds: a zero
  tolerance would fail on float rounding alone.

CPU results depend on the torch thread count (the order of floating-point
reductions), so baseline runs use one thread (:data:`BASELINE_THREADS`) and a
comparison fails where the runs used another count.
"""

from __future__ import annotations

import datetime
import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from bench.grid.collect import HISTORY_TABLE, collect, setting_of
from bench.grid.spec import Grid
from bench.grid.store import GridDir
from bench.validation import ConfigError

FORMAT = 1
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASELINE = PROJECT_ROOT / "tests" / "baselines" / "nb201_digits.json"
DEFAULT_SPEC = PROJECT_ROOT / "tests" / "baselines" / "grid.yaml"
BASELINE_THREADS = 1  # CPU results depend on the thread count; one thread is the same on every machine

# Ranking quality and the complexity-bias diagnostics (metrics.json of each run), and where training ended
# (the last epoch of history.csv): a change to training that leaves the ranking alone still shows there.
GUARDED_METRICS = ("kendall_tau", "sparse_kendall_tau", "spearman", "complexity_bias", "complexity_bias_matched",
                   "complexity_convergence_correlation", "final_train_loss", "final_train_accuracy")
TOLERANCE_SDS = 3.0
TOLERANCE_FLOOR = 1e-6
TOLERANCE_RULE = ("max(3 * sd / sqrt(n), 1e-6): sd is the sample standard deviation "
                  "(ddof=1) of the n per-seed values; 3 standard errors of the n-seed mean, so a change that only "
                  "reshuffles randomness rarely fails, and the floor keeps metrics constant across seeds from "
                  "failing on rounding")


# ---------------------------------------------------------------------------
# The baseline: per setting and metric, per-seed values, mean, sd, tolerance
# ---------------------------------------------------------------------------


def tolerance(values: Any) -> float:
    """:data:`TOLERANCE_RULE` for one metric's per-seed values (NaN entries are left out; see the module doc)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:  # no spread to go by
        return TOLERANCE_FLOOR
    return max(TOLERANCE_SDS * float(x.std(ddof=1)) / math.sqrt(len(x)), TOLERANCE_FLOOR)


def metric_entry(by_seed: dict[int, float]) -> dict:
    """A metric's baseline entry: per-seed values (null where undefined), mean, sd, n and tolerance."""
    values = np.array([by_seed[s] for s in sorted(by_seed)], dtype=float)
    defined = values[~np.isnan(values)]
    return {
        "seeds": {str(s): _json_number(by_seed[s]) for s in sorted(by_seed)},
        "mean": _json_number(defined.mean()) if len(defined) else None,
        "sd": _json_number(defined.std(ddof=1)) if len(defined) >= 2 else None,
        "n": int(len(defined)),
        "tolerance": tolerance(values),
    }


def compute_baseline(runs: pd.DataFrame, grid: Grid, spec_ref: str) -> dict:
    """The baseline of a complete grid's runs (``runs``: :func:`results_frame`); ``spec_ref`` is recorded as is.

    Every run of the grid must have finished (a baseline of part of a grid would guard fewer seeds than
    its tolerance assumes), with one thread count, and every setting needs 2 seeds or more (one seed
    gives no spread, hence no tolerance).
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    missing = [r.label for r in grid.runs if r.key not in set(ok["key"])]
    if missing:
        raise ConfigError(f"a baseline needs every run of grid {grid.spec.name} finished; missing or failed: "
                          + ", ".join(missing))
    seeds = sorted({r.seed for r in grid.runs})
    if len(seeds) < 2:
        raise ConfigError(f"{grid.spec.path}: seeds = {seeds}: a baseline needs 2 seeds or more (its tolerance "
                          "comes from the spread across seeds)")
    absent = [m for m in GUARDED_METRICS if m not in ok.columns]
    if absent:
        raise ConfigError(f"the runs lack the guarded metric(s) {', '.join(absent)}")
    settings = {}
    for setting, group in ok.groupby("setting", sort=False):
        by_seed = group.set_index("seed")
        settings[setting] = {m: metric_entry({int(s): float(v) for s, v in by_seed[m].items()})
                             for m in GUARDED_METRICS}
    return {
        "about": "Regression baseline of the grid below, written by `bench baseline update` from real runs; "
                 "do not edit by hand. `bench baseline check` compares a fresh run of the grid with it.",
        "format": FORMAT,
        "grid_spec": spec_ref,
        "grid_name": grid.spec.name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch_version": _single(ok, "torch_version"),
        "torch_threads": _single(ok, "torch_threads"),
        "device": _single(ok, "device"),
        "code_versions": _values(ok, "code_version"),  # a record, not a condition: commits may land mid-grid
        "seeds": seeds,
        "tolerance_rule": TOLERANCE_RULE,
        "settings": settings,
    }


def _single(frame: pd.DataFrame, column: str) -> Any:
    """The one value of a column over the runs (ConfigError where the runs disagree); None where absent."""
    values = _values(frame, column)
    if len(values) > 1:
        raise ConfigError(f"the runs disagree on {column}: {values}; a baseline is made from runs of one "
                          "environment")
    return values[0] if values else None


def _values(frame: pd.DataFrame, column: str) -> list:
    """The distinct values of a column (missing values left out; none where the column is absent)."""
    if column not in frame:
        return []
    return sorted({_plain(v) for v in frame[column] if v is not None and v == v}, key=str)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _json_number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value  # JSON has no NaN


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def save_baseline(baseline: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(baseline, indent=2) + "\n")
    tmp.replace(path)


def load_baseline(path: str | Path) -> dict:
    """A baseline file, its structure checked (ConfigError naming the file and what is wrong)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"baseline {path} does not exist; `bench baseline update --baseline {path}` makes one")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"baseline {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"baseline {path}: expected a JSON object at the top level")
    if data.get("format") != FORMAT:
        raise ConfigError(f"baseline {path}: format = {data.get('format')!r}; this code reads format {FORMAT}")
    for key, kind in (("grid_spec", str), ("settings", dict), ("seeds", list)):
        if not isinstance(data.get(key), kind):
            raise ConfigError(f"baseline {path}: {key} = {data.get(key)!r}; expected a {kind.__name__}")
    for setting, metrics in data["settings"].items():
        for metric, entry in (metrics.items() if isinstance(metrics, dict) else [("?", None)]):
            if not isinstance(entry, dict) or not {"seeds", "mean", "tolerance"} <= set(entry):
                raise ConfigError(f"baseline {path}: settings[{setting!r}][{metric!r}] needs seeds, mean and "
                                  "tolerance")
    return data


def spec_path(baseline: dict, baseline_path: str | Path) -> Path:
    """The grid spec a baseline names (a relative path is relative to the baseline file's directory)."""
    spec = Path(baseline["grid_spec"])
    return spec if spec.is_absolute() else Path(baseline_path).resolve().parent / spec


def spec_reference(spec: Path, baseline_path: str | Path) -> str:
    """How a baseline file records its spec: relative to the file's directory where possible (portable)."""
    spec, folder = Path(spec).resolve(), Path(baseline_path).resolve().parent
    try:
        return spec.relative_to(folder).as_posix()
    except ValueError:
        return str(spec)


# ---------------------------------------------------------------------------
# Runs: train the grid with one thread per run, and gather what a baseline guards
# ---------------------------------------------------------------------------


def run_grid_fresh(grid: Grid, work_dir: Path, jobs: int, progress: bool = True, stream: TextIO | None = None):
    """Train every run of ``grid`` in ``work_dir`` (which must hold no runs), one torch thread each.

    A grid directory skips finished runs, so a directory holding runs would compare old results with
    the baseline, not the code as it is now; hence the refusal.
    """
    from bench.grid.executors import local_backend
    from bench.grid.runner import run_grid

    if GridDir(work_dir).done_keys() or GridDir(work_dir).failed_keys():
        raise ConfigError(f"--work {work_dir} already holds runs; a check trains afresh (finished runs would be "
                          "skipped and old results compared). Give an empty directory, or --results "
                          f"{work_dir} to compare its finished runs on purpose")
    return run_grid(grid, work_dir, lambda: local_backend(jobs, threads=BASELINE_THREADS), progress=progress,
                    stream=stream)


def results_frame(grid_dir: str | Path, grid: Grid) -> pd.DataFrame:
    """The runs of ``grid`` in ``grid_dir`` (collected): metrics, final training loss/accuracy, environment.

    Rows are matched to the grid by run key (the hash of the resolved config), so runs of another config
    that happen to carry the same label are never compared; ``setting`` comes from the grid's labels.
    """
    root = Path(grid_dir)
    runs, _ = collect(root)
    planned = grid.by_key()
    runs = runs[runs["key"].isin(list(planned))].copy()
    runs["setting"] = [setting_of(planned[k].label) for k in runs["key"]]
    runs["seed"] = [planned[k].seed for k in runs["key"]]
    runs = _with_final_training(runs, pd.read_parquet(root / HISTORY_TABLE))
    runs["torch_version"] = [_torch_version(GridDir(root), k) for k in runs["key"]]
    return runs.reset_index(drop=True)


def _with_final_training(runs: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """``final_train_loss`` / ``final_train_accuracy``: the last epoch's training loss and accuracy of each run."""
    if history.empty or "epoch" not in history:
        return runs.assign(final_train_loss=np.nan, final_train_accuracy=np.nan)
    last = history.sort_values("epoch").groupby("key").tail(1).set_index("key")
    return runs.assign(final_train_loss=runs["key"].map(last["loss"]),
                       final_train_accuracy=runs["key"].map(last["train_accuracy"]))


def _torch_version(gd: GridDir, key: str) -> str | None:
    path = gd.run_dir(key) / "environment.json"
    if not path.is_file():
        return None
    return (json.loads(path.read_text()).get("packages") or {}).get("torch")


def fresh_work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-baseline-"))


def remove_work_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One (setting, metric) of a comparison; ``problem`` says why it failed when it is not a difference."""

    setting: str
    metric: str
    stored: float | None
    measured: float | None
    tolerance: float | None
    ok: bool
    problem: str = ""

    @property
    def difference(self) -> float | None:
        if self.stored is None or self.measured is None:
            return None
        return self.measured - self.stored


@dataclass
class Comparison:
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    def table(self) -> str:
        return format_rows(self.rows)

    def summary(self) -> str:
        failed = self.failures
        if not failed:
            return f"baseline check: all {len(self.rows)} (setting, metric) pairs within tolerance"
        names = ", ".join(f"{r.setting} {r.metric}" for r in failed[:10]) + (" ..." if len(failed) > 10 else "")
        return f"baseline check: {len(failed)} of {len(self.rows)} FAILED: {names}"


def compare(baseline: dict, runs: pd.DataFrame) -> Comparison:
    """Every stored (setting, metric) against the mean of ``runs`` over the stored seeds.

    A row fails where the difference exceeds the stored tolerance, where the setting, the metric or one
    of its seeds is missing from ``runs`` (a failed run counts as missing), where a metric is defined
    (not NaN) for other seeds than stored, and where a guarded metric is missing from the baseline.
    Settings of ``runs`` that the baseline lacks fail too: the baseline must cover the grid. Runs with
    another torch thread count than the baseline's fail as one row (CPU results depend on it).
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    rows: list[Row] = []
    for setting, metrics in baseline["settings"].items():
        group = ok[ok["setting"] == setting]
        if group.empty:
            rows.append(_fail(setting, "*", f"setting missing from the runs (they have: "
                                            f"{', '.join(sorted(set(ok['setting']))) or 'none'})"))
            continue
        duplicated = sorted(group["seed"][group["seed"].duplicated()].unique().tolist())
        if duplicated:
            rows.append(_fail(setting, "*", f"seed(s) {duplicated} appear more than once among the runs"))
            continue
        rows.extend(compare_metric(setting, m, entry, group) for m, entry in metrics.items())
        rows.extend(_fail(setting, m, "guarded metric missing from the baseline (bench baseline update stores it)")
                    for m in GUARDED_METRICS if m not in metrics)
    rows.extend(_fail(s, "*", "setting not in the baseline (bench baseline update adds it)")
                for s in sorted(set(ok["setting"]) - set(baseline["settings"])))
    rows.extend(_thread_rows(baseline, ok))
    return Comparison(rows, _environment_notes(baseline, ok))


def compare_metric(setting: str, metric: str, entry: dict, group: pd.DataFrame) -> Row:
    """One stored metric against the same seeds' values in ``group`` (one setting's runs)."""
    stored, tol = entry["mean"], entry["tolerance"]
    if metric not in group.columns:
        return Row(setting, metric, stored, None, tol, False, "metric missing from the runs")
    seeds = [int(s) for s in entry["seeds"]]
    values = group.set_index("seed")[metric]
    missing = [s for s in seeds if s not in values.index]
    if missing:
        return Row(setting, metric, stored, None, tol, False, f"seed(s) {missing} missing (failed or not run)")
    measured = np.array([float(values[s]) for s in seeds], dtype=float)
    stored_nan = [s for s in seeds if entry["seeds"][str(s)] is None]
    measured_nan = [s for s, v in zip(seeds, measured) if math.isnan(v)]
    if stored_nan != measured_nan:
        return Row(setting, metric, stored, None, tol, False,
                   f"undefined (NaN) for seeds {measured_nan} here, {stored_nan} in the baseline")
    defined = measured[~np.isnan(measured)]
    if stored is None or not len(defined):  # undefined for every seed, on both sides
        return Row(setting, metric, stored, None, tol, True, "undefined for every seed")
    mean = float(defined.mean())
    return Row(setting, metric, stored, mean, tol, abs(mean - stored) <= tol)


def _fail(setting: str, metric: str, problem: str) -> Row:
    return Row(setting, metric, None, None, None, False, problem)


def _thread_rows(baseline: dict, ok: pd.DataFrame) -> list[Row]:
    want = baseline.get("torch_threads")
    if want is None or "torch_threads" not in ok:
        return []
    other = sorted({int(t) for t in ok["torch_threads"].dropna() if int(t) != int(want)})
    if not other:
        return []
    return [_fail("*", "torch_threads", f"runs used {other} torch thread(s); the baseline was made with {want} "
                                        "(CPU results depend on the thread count)")]


def _environment_notes(baseline: dict, ok: pd.DataFrame) -> list[str]:
    notes = []
    versions = sorted({v for v in ok.get("torch_version", pd.Series(dtype=object)).dropna()})
    stored = baseline.get("torch_version")
    if stored and versions and versions != [stored]:
        notes.append(f"note: the baseline was made with torch {stored}, these runs with torch "
                     f"{', '.join(versions)}; small differences can come from that alone")
    return notes


def format_rows(rows: list[Row]) -> str:
    """A fixed-width table: setting, metric, stored, measured, difference, tolerance, OK/FAIL (and why)."""
    header = ("setting", "metric", "stored", "measured", "difference", "tolerance", "result")
    body = [(r.setting, r.metric, _num(r.stored), _num(r.measured), _num(r.difference, signed=True),
             _num(r.tolerance, short=True), "OK" if r.ok else "FAIL") for r in rows]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for i, r in enumerate(rows):
        if r.problem:
            lines[i + 2] += f"  {r.problem}"
    return "\n".join(lines)


def _num(value: float | None, signed: bool = False, short: bool = False) -> str:
    if value is None:
        return "-"
    if short:
        return f"{value:.2g}"
    return f"{value:+.3g}" if signed else f"{value:.6g}"


def describe(baseline: dict) -> str:
    """Per setting and metric: mean, sd over seeds, tolerance (what `bench baseline update` prints it wrote)."""
    lines = [f"{'setting':24s} {'metric':36s} {'mean':>10s} {'sd':>9s} {'tolerance':>9s}"]
    for setting, metrics in baseline["settings"].items():
        for metric, e in metrics.items():
            lines.append(f"{setting:24s} {metric:36s} {_num(e['mean']):>10s} {_num(e.get('sd'), short=True):>9s} "
                         f"{_num(e['tolerance'], short=True):>9s}")
    return "\n".join(lines)
