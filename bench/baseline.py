"""Regression baselines: a grid's metrics stored with a tolerance that holds across machines, and new runs compared.

A baseline (``tests/baselines/nb201_digits.json``, written by ``bench baseline
update``) holds, for every setting of a small grid (``tests/baselines/grid.yaml``)
and every guarded metric (:data:`GUARDED_METRICS`): the per-seed values of the
grid's seeds at :data:`BASELINE_THREADS` torch thread(s) (the reference for
exact reproduction), the values of every replicate run, their mean and
sample standard deviation, and a tolerance. ``bench baseline check`` trains the
grid's seeds afresh and fails where a metric's mean over them is further from
the stored mean than its tolerance.

What reproduces where. On one machine, with the same torch version and torch
thread count, a CPU rerun gives the same floats (the check says so when every
per-seed value equals the stored one). Another machine (other CPU kernels) or
another thread count changes the order of floating-point reductions, and
training amplifies those last-bit differences: a seed's metrics then move by as
much as the spread between seeds (measured on this grid: a seed's value at 2
threads differs from its 1-thread value by up to 1.4 seed sds; on another 2-core
machine, one thread, a seed's C3 moved by 0.05, about 1.5 seed sds). Hence the
tolerance treats a run elsewhere as a fresh draw from the seed distribution,
which covers a thread-count or machine shift of any size up to that.

The replicates (:func:`replicate_plan`; ``bench baseline update`` trains them all):
the grid's seeds plus :data:`SPREAD_SEEDS` at :data:`BASELINE_THREADS` thread,
and the grid's seeds again at each other count of :data:`REPLICATE_THREADS`
(the thread count stands in for another machine): 12 runs per setting.

The rule, ``tolerance = max(4.5 * sd * sqrt(1/n + 1/N), 1e-6)``:

- ``N`` replicates (seeds x thread counts) give the stored mean and ``sd``
  (ddof=1); a check averages ``n`` seeds (the grid's). If the check's runs are
  fresh draws, its mean minus the stored mean has standard deviation
  ``sd * sqrt(1/n + 1/N)`` (0.65 sd for n = 3, N = 12).
- 4.5 such units: the sd comes from N = 12 values (9 independent seeds, and 3
  thread replicates correlated with their seeds: about 8 degrees of freedom),
  and P(|t_8| > 4.5) = 0.002 per (setting, metric), so at most ~3% over the 16
  guarded pairs by the union bound, less in practice since the metrics move
  together. Measured when the rule was set: held-out 3-seed means (seeds 3-5
  and 6-8 against the other replicates; seeds 0-2 at 1 and at 2 threads
  against seeds 3-8) came within 3.8 units over 64 comparisons.
- What still fails: a change that moves a metric's mean by more than about
  4.5 * 0.65 = 2.9 seed sds (Kendall tau ~0.06-0.09, final training loss
  ~0.15, final training accuracy ~9 points on this grid). Measured with the
  code perturbed (tests/test_baseline.py): a quarter of the learning rate
  moves the cosine setting's final training loss by 2.0 tolerances (fails);
  half of it by 1.4 (fails here, but too close to the line to assert
  everywhere); scores attached to the wrong subnets move tau, CB and C3 by
  2-3.6 tolerances (fail).
- The floor (1e-6) is for metrics that do not vary across replicates: a zero
  tolerance would fail on float rounding alone.

The per-seed values stay exact where exactness is possible: ``bench baseline
check`` reports whether every per-seed value equals the stored one (same
machine, torch and thread count: any difference is a change of behaviour),
and tests/test_baseline.py checks in-process that one run repeated gives
identical numbers.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from bench.grid.collect import HISTORY_TABLE, collect, setting_of
from bench.grid.spec import Grid, expand
from bench.grid.store import GridDir
from bench import metric_names as names
from bench.validation import ConfigError

FORMAT = 2
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASELINE = PROJECT_ROOT / "tests" / "baselines" / "nb201_digits.json"
DEFAULT_SPEC = PROJECT_ROOT / "tests" / "baselines" / "grid.yaml"
BASELINE_THREADS = 1  # what `check` runs with and what the stored per-seed values were made with
REPLICATE_THREADS = (1, 2)  # `update` trains the grid's seeds at each (another count stands in for another machine)
SPREAD_SEEDS = (3, 4, 5, 6, 7, 8)  # `update` also trains these at BASELINE_THREADS: independent seeds for sd and mean

# Ranking quality and the complexity-bias diagnostics (metrics.json of each run), and where training ended
# (the last epoch of history.csv): a change to training that leaves the ranking alone still shows there.
GUARDED_METRICS = (names.KENDALL_TAU, names.SPARSE_KENDALL_TAU, names.SPEARMAN, names.COMPLEXITY_BIAS,
                   names.COMPLEXITY_BIAS_MATCHED, names.COMPLEXITY_CONVERGENCE_CORRELATION, "final_train_loss",
                   "final_train_accuracy")
TOLERANCE_UNITS = 4.5
TOLERANCE_FLOOR = 1e-6
TOLERANCE_RULE = ("max(4.5 * sd * sqrt(1/n + 1/N), 1e-6): N replicate runs (seeds x torch thread counts) give "
                  "the stored mean and sd (ddof=1); a check averages the n seeds of the grid; a run on another "
                  "machine or thread count is treated as a fresh draw of its seed, so its n-seed mean differs from "
                  "the stored mean by sd * sqrt(1/n + 1/N) typically; 4.5 of those (sd from ~8 degrees of freedom: "
                  "P ~ 0.002 per setting and metric); the floor keeps metrics constant across replicates from "
                  "failing on rounding")


# ---------------------------------------------------------------------------
# The baseline: per setting and metric, per-seed values, replicates, mean, sd, tolerance
# ---------------------------------------------------------------------------


def tolerance(values: Any, n_check: int) -> float:
    """:data:`TOLERANCE_RULE` for one metric's replicate values (NaN left out) and a check of ``n_check`` seeds."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2 or n_check < 1:  # no spread to go by
        return TOLERANCE_FLOOR
    return max(TOLERANCE_UNITS * float(x.std(ddof=1)) * math.sqrt(1 / n_check + 1 / len(x)), TOLERANCE_FLOOR)


def metric_entry(by_seed: dict[int, float], replicates: dict[int, dict[int, float]] | None = None) -> dict:
    """A metric's baseline entry.

    ``by_seed``: the grid's seeds at :data:`BASELINE_THREADS` (stored per seed, the check's seeds);
    ``replicates``: thread count -> seed -> value, every run that makes the mean and sd (default: ``by_seed``
    alone). ``thread_shift``: per other thread count, its mean minus the :data:`BASELINE_THREADS` mean over
    the seeds both have (a record of how far a thread count moved this metric; not used by the check).
    """
    replicates = replicates if replicates is not None else {BASELINE_THREADS: by_seed}
    values = np.array([v for t in sorted(replicates) for v in replicates[t].values()], dtype=float)
    defined = values[~np.isnan(values)]
    n_check = int(np.sum(~np.isnan(np.array(list(by_seed.values()), dtype=float))))
    return {
        "seeds": {str(s): _json_number(by_seed[s]) for s in sorted(by_seed)},
        "mean": _json_number(defined.mean()) if len(defined) else None,
        "sd": _json_number(defined.std(ddof=1)) if len(defined) >= 2 else None,
        "n": len(defined),
        "tolerance": tolerance(values, n_check),
        "replicates": {str(t): {str(s): _json_number(v) for s, v in sorted(replicates[t].items())}
                       for t in sorted(replicates)},
        "thread_shift": {str(t): _shift(replicates.get(BASELINE_THREADS, {}), replicates[t])
                         for t in sorted(replicates) if t != BASELINE_THREADS},
    }


def _shift(base: dict[int, float], other: dict[int, float]) -> float | None:
    common = sorted(set(base) & set(other))
    a = np.array([base[s] for s in common], dtype=float)
    b = np.array([other[s] for s in common], dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    return _json_number(b[keep].mean() - a[keep].mean()) if keep.any() else None


def replicate_plan(grid: Grid) -> dict[int, list[int]]:
    """Thread count -> the seeds `bench baseline update` trains at it (see the module doc)."""
    seeds = sorted({r.seed for r in grid.runs})
    return {t: (seeds + [s for s in SPREAD_SEEDS if s not in seeds] if t == BASELINE_THREADS else seeds)
            for t in sorted(set(REPLICATE_THREADS) | {BASELINE_THREADS})}


def with_seeds(grid: Grid, seeds: list[int]) -> Grid:
    """The grid's settings with other seeds (the runs of seeds it shares with ``grid`` have the same keys)."""
    return expand(dataclasses.replace(grid.spec, seeds=list(seeds)))


def compute_baseline(runs: pd.DataFrame, grid: Grid, spec_ref: str) -> dict:
    """The baseline of a grid's runs (``runs``: :func:`results_frame`); ``spec_ref`` is recorded as is.

    Every run of the grid must have finished at :data:`BASELINE_THREADS` thread(s) (a baseline of part of a
    grid would guard fewer seeds than its tolerance assumes), and every setting needs 2 seeds or more. Every
    other finished run of the grid's settings (more seeds, other thread counts: :func:`replicate_plan`) is a
    replicate: it enters the mean, the sd and hence the tolerance.
    """
    ok = runs[runs[names.STATUS] == "ok"] if names.STATUS in runs else runs
    ok = ok.assign(**{names.TORCH_THREADS: _threads_column(ok)})
    at_base = ok[ok[names.TORCH_THREADS] == BASELINE_THREADS]
    missing = [r.label for r in grid.runs if r.key not in set(at_base[names.KEY])]
    if missing:
        raise ConfigError(f"a baseline needs every run of grid {grid.spec.name} finished at {BASELINE_THREADS} "
                          f"torch thread(s); missing or failed: " + ", ".join(missing))
    seeds = sorted({r.seed for r in grid.runs})
    if len(seeds) < 2:
        raise ConfigError(f"{grid.spec.path}: seeds = {seeds}: a baseline needs 2 seeds or more (its tolerance "
                          "comes from the spread across seeds)")
    absent = [m for m in GUARDED_METRICS if m not in ok.columns]
    if absent:
        raise ConfigError(f"the runs lack the guarded metric(s) {', '.join(absent)}")
    settings_order = list(dict.fromkeys(setting_of(r.label) for r in grid.runs))
    ok = ok[ok[names.SETTING].isin(settings_order)]
    twice = ok[ok.duplicated([names.SETTING, names.SEED, names.TORCH_THREADS], keep=False)]
    if len(twice):
        raise ConfigError("the runs hold a (setting, seed, thread count) more than once: "
                          + ", ".join(sorted({f"{r.setting} seed {r.seed} at {r.torch_threads}" for r in
                                              twice.itertuples()})))
    settings = {}
    for setting in settings_order:
        group = ok[ok[names.SETTING] == setting]
        settings[setting] = {}
        for m in GUARDED_METRICS:
            replicates = {int(t): {int(s): float(v) for s, v in g.set_index(names.SEED)[m].items()}
                          for t, g in group.groupby(names.TORCH_THREADS)}
            by_seed = {s: replicates[BASELINE_THREADS][s] for s in seeds}
            settings[setting][m] = metric_entry(by_seed, replicates)
    made = {str(int(t)): sorted(int(s) for s in set(g[names.SEED])) for t, g in ok.groupby(names.TORCH_THREADS)}
    return {
        "about": "Regression baseline of the grid below, written by `bench baseline update` from real runs; "
                 "do not edit by hand. `bench baseline check` compares a fresh run of the grid with it.",
        "format": FORMAT,
        "grid_spec": spec_ref,
        "grid_name": grid.spec.name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch_version": _single(ok, "torch_version"),
        "torch_threads": BASELINE_THREADS,
        "device": _single(ok, names.DEVICE),
        "code_versions": _values(ok, names.CODE_VERSION),  # a record, not a condition: commits may land mid-grid
        "seeds": seeds,
        "replicates": made,
        "tolerance_rule": TOLERANCE_RULE,
        "derivation": _derivation(made, seeds),
        "settings": settings,
    }


def _derivation(made: dict[str, list[int]], seeds: list[int]) -> str:
    runs = "; ".join(f"seeds {_seed_text(s)} at {t} torch thread(s)" for t, s in made.items())
    per_setting = sum(len(s) for s in made.values())
    return (f"Per setting, {per_setting} replicate runs ({runs}) on one machine: 'replicates' lists their values, "
            f"'mean' and 'sd' are over all of them, 'tolerance' follows tolerance_rule with N = {per_setting} "
            f"and n = {len(seeds)} (the check's seeds {_seed_text(seeds)} at {BASELINE_THREADS} thread(s)); "
            "'seeds' are the check's per-seed values, which a rerun on this machine, torch version and thread "
            "count reproduces exactly; 'thread_shift' is, per other thread count, its mean minus the "
            f"{BASELINE_THREADS}-thread mean over the same seeds (a record of the shift the tolerance covers). "
            "bench/baseline.py explains the rule.")


def _seed_text(seeds: list[int]) -> str:
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _threads_column(frame: pd.DataFrame) -> pd.Series:
    """Each run's torch thread count (BASELINE_THREADS where unrecorded)."""
    if names.TORCH_THREADS not in frame:
        return pd.Series(BASELINE_THREADS, index=frame.index)
    return frame[names.TORCH_THREADS].fillna(BASELINE_THREADS).astype(int)


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
    return sorted({_plain(v) for v in frame[column] if v is not None and pd.notna(v)}, key=str)


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
        raise ConfigError(f"baseline {path}: format = {data.get('format')!r}; this code reads format {FORMAT} "
                          "(`bench baseline update` rewrites it)")
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
# Runs: train the grid (and for an update, its replicates), and gather what a baseline guards
# ---------------------------------------------------------------------------

THREADS_DIR = "threads-{}"  # an update's work directory holds one grid directory per thread count


@dataclass
class Trained:
    """What :func:`run_grid_fresh` trained: one grid report per thread count."""

    reports: dict[int, Any]

    def summary(self) -> str:
        if len(self.reports) == 1:
            return next(iter(self.reports.values())).summary()
        return "\n".join(f"at {t} torch thread(s): {r.summary()}" for t, r in self.reports.items())


def run_grid_fresh(grid: Grid, work_dir: Path, jobs: int, progress: bool = True, stream: TextIO | None = None,
                   replicates: bool = False) -> Trained:
    """Train ``grid`` in ``work_dir`` (which must hold no runs), :data:`BASELINE_THREADS` torch thread(s) per run.

    With ``replicates`` (``bench baseline update``), train :func:`replicate_plan` instead: one grid directory
    per thread count, ``work_dir/threads-N`` (:func:`results_frame` reads them together); ``jobs`` runs at
    once at one thread, fewer at more threads. A grid directory skips finished runs, so a directory holding
    runs would compare old results with the baseline, not the code as it is now; hence the refusal.
    """
    from bench.grid.executors import local_backend
    from bench.grid.runner import run_grid

    work_dir = Path(work_dir)
    seeds = sorted({r.seed for r in grid.runs})
    plan = replicate_plan(grid) if replicates else {BASELINE_THREADS: seeds}
    dirs = {t: work_dir / THREADS_DIR.format(t) for t in plan} if replicates else {BASELINE_THREADS: work_dir}
    for d in [work_dir, *dirs.values()]:
        if GridDir(d).done_keys() or GridDir(d).failed_keys():
            raise ConfigError(f"--work {work_dir} already holds runs; a check trains afresh (finished runs would be "
                              "skipped and old results compared). Give an empty directory, or --results "
                              f"{work_dir} to compare its finished runs on purpose")
    reports = {}
    for threads, run_seeds in plan.items():
        planned = grid if run_seeds == seeds else with_seeds(grid, run_seeds)
        slots = max(1, jobs // threads)
        reports[threads] = run_grid(planned, dirs[threads], lambda s=slots, t=threads: local_backend(s, threads=t),
                                    progress=progress, stream=stream)
    return Trained(reports)


class _InProcess(concurrent.futures.Executor):
    """Runs each submitted task at once, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the runner like a worker's exception
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def _thread_settings_kept() -> Iterator[None]:
    """Restore this process's torch thread count and thread variables (a run pins them) afterwards."""
    import torch

    from bench.grid.worker import THREAD_ENV_VARS

    threads, env = torch.get_num_threads(), {v: os.environ.get(v) for v in THREAD_ENV_VARS}
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        for var, value in env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def run_grid_in_process(grid: Grid, work_dir: Path, threads: int = BASELINE_THREADS):
    """Train the runs of ``grid`` one after another in this process, ``threads`` torch threads each.

    Slower than :func:`run_grid_fresh` on several cores, but a function patched in this process (a test's
    monkeypatch) reaches the runs, which spawned workers would import afresh. The same machine, torch
    version and thread count give the same numbers either way. Returns the grid report.
    """
    from bench.grid.executors import SHARED, Backend
    from bench.grid.runner import run_grid

    backend = Backend(f"this process: {threads} thread(s)", _InProcess(), lambda: 1, SHARED, threads,
                      local_data=True)
    with _thread_settings_kept():
        return run_grid(grid, work_dir, backend, progress=False)


def results_frame(grid_dir: str | Path, grid: Grid) -> pd.DataFrame:
    """The runs of ``grid``'s settings in ``grid_dir`` (collected): metrics, final training loss/accuracy, environment.

    ``grid_dir`` is a grid directory, or an update's work directory (one ``threads-N`` grid directory per
    thread count, read together). Rows are matched to the grid's settings by run key (the hash of the
    resolved config), so runs of another config that happen to carry the same label are never compared;
    runs of other seeds of the same settings (an update's replicates) are kept. ``setting`` comes from the
    grid's labels.
    """
    root = Path(grid_dir)
    parts = sorted(d for d in root.glob(THREADS_DIR.format("*")) if d.is_dir()) if root.is_dir() else []
    if parts:
        return pd.concat([_results_of(d, grid) for d in parts], ignore_index=True)
    return _results_of(root, grid)


def _results_of(root: Path, grid: Grid) -> pd.DataFrame:
    runs, _ = collect(root)
    seeds = {r.seed for r in grid.runs} | {int(s) for s in runs.get(names.SEED, pd.Series(dtype=float)).dropna()}
    planned = (grid if seeds == {r.seed for r in grid.runs} else with_seeds(grid, sorted(seeds))).by_key()
    runs = runs[runs[names.KEY].isin(list(planned))].copy()
    runs[names.SETTING] = [setting_of(planned[k].label) for k in runs[names.KEY]]
    runs[names.SEED] = [planned[k].seed for k in runs[names.KEY]]
    runs = _with_final_training(runs, pd.read_parquet(root / HISTORY_TABLE))
    runs["torch_version"] = [_torch_version(GridDir(root), k) for k in runs[names.KEY]]
    return runs.reset_index(drop=True)


def _with_final_training(runs: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """``final_train_loss`` / ``final_train_accuracy``: the last epoch's training loss and accuracy of each run."""
    if history.empty or "epoch" not in history:
        return runs.assign(final_train_loss=np.nan, final_train_accuracy=np.nan)
    last = history.sort_values("epoch").groupby(names.KEY).tail(1).set_index(names.KEY)
    return runs.assign(final_train_loss=runs[names.KEY].map(last["loss"]),
                       final_train_accuracy=runs[names.KEY].map(last["train_accuracy"]))


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
    exact: bool | None = None  # every per-seed value equal to the stored one (None: no runs at the stored threads)

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
        listed = ", ".join(f"{r.setting} {r.metric}" for r in failed[:10]) + (" ..." if len(failed) > 10 else "")
        return f"baseline check: {len(failed)} of {len(self.rows)} FAILED: {listed}"


def compare(baseline: dict, runs: pd.DataFrame) -> Comparison:
    """Every stored (setting, metric) against the mean of ``runs`` over the stored seeds.

    A row fails where the difference exceeds the stored tolerance, where the setting, the metric or one
    of its seeds is missing from ``runs`` (a failed run counts as missing), where a metric is defined
    (not NaN) for other seeds than stored, and where a guarded metric is missing from the baseline.
    Settings of ``runs`` that the baseline lacks fail too: the baseline must cover the grid. Runs at any
    torch thread count are held to the same tolerance (it covers another thread count or machine); runs at
    several thread counts (an update's work directory) are compared per thread count, the setting named
    ``SETTING @N threads``. :attr:`Comparison.exact` and a note say whether the per-seed values equal the
    stored ones exactly.
    """
    ok = runs[runs[names.STATUS] == "ok"] if names.STATUS in runs else runs
    ok = ok.assign(**{names.TORCH_THREADS: _threads_column(ok)})
    counts = sorted(set(ok[names.TORCH_THREADS])) or [BASELINE_THREADS]
    rows: list[Row] = []
    for threads in counts:
        group = ok[ok[names.TORCH_THREADS] == threads]
        rows.extend(_compare_runs(baseline, group, f" @{threads} threads" if len(counts) > 1 else ""))
    exact, exactness = _exactness(baseline, ok, counts)
    return Comparison(rows, _environment_notes(baseline, ok, counts) + [exactness], exact)


def _compare_runs(baseline: dict, ok: pd.DataFrame, suffix: str) -> list[Row]:
    """The rows for runs of one thread count (``suffix`` is appended to the setting names)."""
    rows: list[Row] = []
    for setting, metrics in baseline["settings"].items():
        group = ok[ok[names.SETTING] == setting]
        name = setting + suffix
        if group.empty:
            rows.append(_fail(name, "*", f"setting missing from the runs (they have: "
                                         f"{', '.join(sorted(set(ok['setting']))) or 'none'})"))
            continue
        duplicated = sorted(group[names.SEED][group[names.SEED].duplicated()].unique().tolist())
        if duplicated:
            rows.append(_fail(name, "*", f"seed(s) {duplicated} appear more than once among the runs"))
            continue
        rows.extend(dataclasses.replace(compare_metric(setting, m, entry, group), setting=name)
                    for m, entry in metrics.items())
        rows.extend(_fail(name, m, "guarded metric missing from the baseline (bench baseline update stores it)")
                    for m in GUARDED_METRICS if m not in metrics)
    rows.extend(_fail(s + suffix, "*", "setting not in the baseline (bench baseline update adds it)")
                for s in sorted(set(ok[names.SETTING]) - set(baseline["settings"])))
    return rows


def compare_metric(setting: str, metric: str, entry: dict, group: pd.DataFrame) -> Row:
    """One stored metric against the same seeds' values in ``group`` (one setting's runs)."""
    stored, tol = entry["mean"], entry["tolerance"]
    if metric not in group.columns:
        return Row(setting, metric, stored, None, tol, False, "metric missing from the runs")
    seeds = [int(s) for s in entry["seeds"]]
    values = group.set_index(names.SEED)[metric]
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


def _exactness(baseline: dict, ok: pd.DataFrame, counts: list[int]) -> tuple[bool | None, str]:
    """Whether the runs at the baseline's thread count give the stored per-seed values exactly, and a note."""
    want = int(baseline.get("torch_threads") or BASELINE_THREADS)
    group = ok[ok[names.TORCH_THREADS] == want]
    if group.empty:
        return None, (f"per-seed values: the runs used {', '.join(map(str, counts))} torch thread(s), the stored "
                      f"ones were made with {want}, so they cannot match exactly; the means are held to the "
                      "tolerance, which covers another thread count or machine")
    total, differing, missing, largest = 0, 0, 0, 0.0
    for setting, metrics in baseline["settings"].items():
        values = group[group[names.SETTING] == setting].set_index(names.SEED)
        for metric, entry in metrics.items():
            for seed, stored in entry["seeds"].items():
                total += 1
                if metric not in values or int(seed) not in values.index:
                    missing += 1
                    continue
                have = float(values[metric][int(seed)])
                if (stored is None and math.isnan(have)) or stored == have:
                    continue
                differing += 1
                if stored is not None and not math.isnan(have):
                    largest = max(largest, abs(have - stored) / (entry.get("sd") or 1.0))
    if missing:
        return None, (f"per-seed values: {missing} of {total} are missing from the runs (the FAIL rows say which), "
                      "so exact reproduction cannot be told")
    if not differing:
        return True, (f"per-seed values: all {total} equal the stored ones exactly (this machine, torch version and "
                      "thread count reproduce the baseline bit for bit)")
    return False, (f"per-seed values: {differing} of {total} differ from the stored ones (the largest by "
                   f"{largest:.2g} sd), as expected on another machine or torch version than the baseline's "
                   f"({baseline.get('device')}, torch {baseline.get('torch_version')}, {want} thread(s)); on the "
                   "machine that made it, any difference means the numbers changed. The means are held to the "
                   "tolerance")


def _environment_notes(baseline: dict, ok: pd.DataFrame, counts: list[int]) -> list[str]:
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
    """Per setting and metric: mean, sd and n over the replicates, thread shift, tolerance (what `update` wrote)."""
    lines = [f"{'setting':24s} {'metric':36s} {'mean':>10s} {'sd':>9s} {'n':>3s} {'shift':>9s} {'tolerance':>9s}"]
    for setting, metrics in baseline["settings"].items():
        for metric, e in metrics.items():
            shifts = [v for v in (e.get("thread_shift") or {}).values() if v is not None]
            shift = _num(max(shifts, key=abs), signed=True) if shifts else "-"
            lines.append(f"{setting:24s} {metric:36s} {_num(e['mean']):>10s} {_num(e.get('sd'), short=True):>9s} "
                         f"{e.get('n', ''):>3} {shift:>9s} {_num(e['tolerance'], short=True):>9s}")
    lines.append("shift: the mean at another torch thread count minus the mean at "
                 f"{baseline.get('torch_threads')} over the same seeds")
    return "\n".join(lines)
