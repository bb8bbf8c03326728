"""The runner: execute the runs of a grid that are not done yet, on any executor, and record each outcome.

What is done is read from the grid directory (:mod:`bench.grid.store`), so a
rerun trains only what is missing: complete runs are skipped, interrupted
ones (``runs/<key>.partial``) resume from their last epoch's checkpoint, and
failed ones (``failed/<key>.json``) are skipped unless ``retry_failed``. A
retried run resumes from its checkpoint where it can, and starts afresh where
its checkpoints cannot be resumed from (damaged, another format): otherwise a
run whose only checkpoint is damaged would fail on every retry. A run
that raises is recorded with its error and the grid goes on (a user-fixable
error, such as a damaged checkpoint, as its one-line message); a worker process
that dies (killed, out of memory) fails the runs it held, and the local pool is
started afresh for the rest.

Progress: a bar (on a terminal) or a line per finished run, with runs done /
running / failed / left, elapsed time and an estimate of the time left; the
same events go to ``GRID_DIR/grid.log``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import sys
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from bench.config import to_dict
from bench.grid.estimate import Estimate, PackingEfficiency, estimate_runs, format_seconds, packed_wall_seconds
from bench.grid.executors import RETURN, Backend
from bench.grid.spec import Grid, PlannedRun
from bench.grid.store import GRID_LOG, GridDir, GridLock, Status
from bench.grid.worker import RunOutcome, RunTask, run_task
from bench import metric_names as names

POLL_SECONDS = 1.0


@dataclass
class GridReport:
    name: str
    grid_dir: Path
    total: int
    done_before: int
    trained: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # failed in this invocation
    skipped_failed: list[str] = field(default_factory=list)  # failed earlier, not retried
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failed and not self.skipped_failed

    def summary(self) -> str:
        done = self.done_before + len(self.trained)
        text = (f"grid {self.name}: {done}/{self.total} runs done ({len(self.trained)} trained now, "
                f"{self.done_before} before), {len(self.failed)} failed now")
        if self.skipped_failed:
            text += f", {len(self.skipped_failed)} failed before (not retried: --retry-failed)"
        text += f"; {format_seconds(self.seconds)} in {self.grid_dir}"
        if self.failed or self.skipped_failed:
            text += f"\n  failures: {self.grid_dir / 'failed'}/<key>.json, logs: {self.grid_dir / 'logs'}/<key>.log"
        return text


def plan(grid: Grid, grid_dir: GridDir, retry_failed: bool = False):
    """(runs to execute in order: interrupted first, then new, then retried failures; status of every run)."""
    status = {r.key: grid_dir.status(r.key) for r in grid.runs}
    order = [Status.PARTIAL, Status.TODO] + ([Status.FAILED] if retry_failed else [])
    to_run = [r for s in order for r in grid.runs if status[r.key] == s]
    return to_run, status


def preflight(runs: list[PlannedRun], data_dir: str | None) -> None:
    """Check what each setting's scoring needs (data directory, its space's ground truth and column, pools)
    before any run starts: the checks ``bench run`` makes first (:func:`bench.run.prepare_evaluation`)."""
    from bench.run import prepare_evaluation
    from bench.validation import ConfigError

    checked = set()
    for run in runs:
        e, s = run.config.eval, run.config.supernet
        item = (run.config.data.dataset, s.space, s.op_set, e.ground_truth_column, e.pool_size, e.top_sample)
        if item in checked:
            continue
        checked.add(item)
        try:
            prepare_evaluation(run.config, data_dir)
        except ConfigError as exc:
            raise ConfigError(f"run {run.label}: {exc}") from None


def dry_run(grid: Grid, grid_dir: str | Path | None, slots: int, threads: int | None, measure: bool = True,
            retry_failed: bool = False, packing: PackingEfficiency | None = None) -> str:
    """The table ``bench grid --dry-run`` prints: every run, its status and estimated cost, and totals.

    ``packing``: where runs share CUDA devices (``--jobs-per-device``), how much each is slowed by it."""
    gd = GridDir(Path(grid_dir)) if grid_dir is not None else None
    status = {r.key: (gd.status(r.key) if gd is not None else Status.TODO) for r in grid.runs}
    to_run = [r for r in grid.runs if status[r.key] in (Status.PARTIAL, Status.TODO)
              or (retry_failed and status[r.key] == Status.FAILED)]
    estimates = estimate_runs(to_run, gd, threads, measure=measure)
    spec = grid.spec
    lines = [f"grid {spec.name} ({spec.path}): {len(grid.runs)} runs"]
    if spec.description:
        lines.append(f"  {spec.description}")
    width = max(len(r.label) for r in grid.runs)
    lines.append(f"{'key':12s}  {'status':7s}  {'est.':>7s}  {'label':{width}s}")
    for r in grid.runs:
        est = estimates.get(r.key)
        shown = format_seconds(est.seconds) if est is not None else "-"
        lines.append(f"{r.key:12s}  {status[r.key].value:7s}  {shown:>7s}  {r.label}")
    counts = {s: sum(v == s for v in status.values()) for s in Status}
    lines.append(f"{counts[Status.DONE]} done, {counts[Status.FAILED]} failed"
                 f"{' (retried)' if retry_failed else ' (skipped; --retry-failed retries them)'}, "
                 f"{counts[Status.PARTIAL]} interrupted (resume from their checkpoints), {counts[Status.TODO]} new")
    known = [e.seconds for e in estimates.values() if e.seconds is not None]
    if to_run:
        hows = {}
        for e in estimates.values():
            hows[e.how] = hows.get(e.how, 0) + 1
        total = sum(known)
        unknown = len(to_run) - len(known)
        if known:
            text = (f"estimated cost of the {len(to_run)} run(s) to execute: {format_seconds(total)} of run time, "
                    f"about {format_seconds(_wall(total, slots, packing))} wall with {slots} run(s) at a time")
            if packing is not None and packing.per_device > 1:
                text += f" ({packing.how})"
            if unknown:
                text += f" (+{unknown} run(s) of unknown cost)"
        else:
            text = (f"estimated cost of the {len(to_run)} run(s) to execute: unknown (no finished run to go by"
                    + ("; without --no-measure a few steps are timed here)" if not measure else ")"))
        lines.append(text)
        lines.append("  estimated from: " + ", ".join(f"{how}: {n}" for how, n in hows.items())
                     + "  (bench.grid.estimate explains how; rough, for this machine)")
    if gd is not None and gd.root.is_dir():
        lines.extend(_code_versions(gd, [r.key for r in grid.runs if status[r.key] == Status.DONE]))
    lines.extend(f"note: {n}" for n in grid.notes)
    return "\n".join(lines)


def _wall(total: float, slots: int, packing: PackingEfficiency | None) -> float:
    return packed_wall_seconds(total, slots, packing.value if packing is not None else 1.0)


def _code_versions(gd: GridDir, keys: list[str]) -> list[str]:
    import json

    from bench.grid.worker import code_version

    current = code_version()
    versions: dict[str, int] = {}
    for key in keys:
        path = gd.run_dir(key) / "environment.json"
        if path.is_file():
            env = json.loads(path.read_text())
            commit = (env.get("git") or {}).get("commit")
            version = env.get("bench_version", "?") + (f"+{commit[:12]}" if commit else "")
            if (env.get("git") or {}).get("dirty"):
                version += ".dirty"
            versions[version] = versions.get(version, 0) + 1
    if not versions:
        return []
    return ["done runs by code version: " + ", ".join(f"{v}: {n}" for v, n in versions.items())
            + f" (this code: {current})"]


def run_grid(grid: Grid, grid_dir: str | Path, backend: Backend | Callable[[], Backend],
             data_dir: str | None = None, retry_failed: bool = False, progress: bool = True,
             scratch: str | None = None, stream: TextIO | None = None) -> GridReport:
    """Execute the grid's missing runs on ``backend``; returns what happened (failures do not raise).

    ``backend`` may be a function that makes one: it is then called only when
    there is something to run, and closed at the end.
    """
    gd = GridDir(Path(grid_dir).resolve())
    stream = stream or sys.stdout
    with GridLock(gd.root):
        gd.prepare(grid)
        to_run, status = plan(grid, gd, retry_failed)
        report = GridReport(grid.spec.name, gd.root, len(grid.runs),
                            done_before=sum(s == Status.DONE for s in status.values()))
        report.skipped_failed = [k for k, s in status.items() if s == Status.FAILED and not retry_failed]
        if not to_run:
            if progress:
                print(f"grid {grid.spec.name}: nothing to run ({report.done_before} of {report.total} done, "
                      f"{len(report.skipped_failed)} failed)", file=stream)
            return report
        if not isinstance(backend, Backend):
            owned = backend()
            try:
                return _run_on(grid, gd, owned, to_run, report, data_dir, progress, scratch, stream)
            finally:
                owned.close()
        return _run_on(grid, gd, backend, to_run, report, data_dir, progress, scratch, stream)


def _run_on(grid: Grid, gd: GridDir, backend: Backend, to_run: list[PlannedRun], report: GridReport,
            data_dir: str | None, progress: bool, scratch: str | None, stream: TextIO) -> GridReport:
    if backend.local_data:
        from bench.data.layout import resolve_data_dir

        resolved = resolve_data_dir(data_dir)
        data_dir = str(resolved.resolve()) if resolved is not None else None
        preflight(to_run, data_dir)
    log = _grid_logger(gd)
    try:
        log.info("grid %s (%s): %d runs, %d done, %d failed before, %d to run; %s", grid.spec.name,
                 grid.spec.path, len(grid.runs), report.done_before, len(report.skipped_failed), len(to_run),
                 backend.description)
        estimates = estimate_runs(to_run, gd, backend.threads, measure=False) if to_run else {}
        display = Progress(report, to_run, estimates, backend, progress, stream)
        start = time.perf_counter()
        try:
            _execute(grid, gd, backend, to_run, data_dir, scratch, report, display, log)
        finally:
            report.seconds = time.perf_counter() - start
            display.close()
        log.info("%s", report.summary())
    finally:
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
    return report


def _execute(grid, gd: GridDir, backend: Backend, to_run: list[PlannedRun], data_dir, scratch,
             report: GridReport, display: "Progress", log: logging.Logger) -> None:
    queue = deque(to_run)
    pending: dict[concurrent.futures.Future, tuple[PlannedRun, concurrent.futures.Executor]] = {}
    bounded = backend.restart is not None  # a local pool: hold no more than it runs, so a crash fails only those
    retried = {run.key for run in to_run if gd.status(run.key) == Status.FAILED}

    def task(run: PlannedRun) -> RunTask:
        shared = backend.transfer != RETURN
        return RunTask(run.key, run.label, to_dict(run.config), data_dir,
                       run_dir=str(gd.run_dir(run.key)) if shared else None,
                       log_file=str(gd.log_file(run.key)) if shared else None,
                       scratch=scratch, threads=backend.threads, retry=run.key in retried,
                       gpu_memory_fraction=backend.gpu_memory_fraction)

    def submit_more() -> None:
        limit = backend.slots() if bounded else len(queue) + len(pending)
        while queue and len(pending) < limit:
            run = queue.popleft()
            pending[backend.executor.submit(run_task, task(run))] = (run, backend.executor)
            log.info("submitted %s %s", run.key, run.label)

    try:
        submit_more()
        display.set_running(len(pending))
        while pending:
            finished, _ = concurrent.futures.wait(list(pending), timeout=POLL_SECONDS,
                                                  return_when=concurrent.futures.FIRST_COMPLETED)
            restart = False
            for future in finished:
                run, executor = pending.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool as exc:
                    outcome = _crashed(run, f"the worker process died ({exc}): killed, crashed or out of memory")
                    restart = restart or executor is backend.executor
                except Exception as exc:  # noqa: BLE001 - e.g. Dask's KilledWorker: the run failed, the grid goes on
                    outcome = _crashed(run, f"{type(exc).__name__}: {exc}")
                _record(gd, run, outcome, report, display, log)
            if restart and backend.restart is not None:
                log.warning("the process pool broke; starting a fresh one for the remaining runs")
                backend.restart()
            submit_more()
            display.set_running(len(pending))
            display.refresh()
    except BaseException:
        for future in pending:
            future.cancel()
        raise


def _crashed(run: PlannedRun, message: str) -> RunOutcome:
    from bench.grid.worker import code_version

    error = {"type": "WorkerDied", "message": message + "; --retry-failed runs it again (from its checkpoint)",
             "traceback": None, "host": None, "seconds": None, "code_version": code_version()}
    return RunOutcome(run.key, ok=False, seconds=0.0, host="?", threads=0, error=error)


def _record(gd: GridDir, run: PlannedRun, outcome: RunOutcome, report: GridReport, display: "Progress",
            log: logging.Logger) -> None:
    if outcome.log:
        gd.append_log(run.key, outcome.log)
    if outcome.ok:
        if outcome.files is not None:
            gd.publish_returned(run.key, outcome.files)
        gd.clear_failure(run.key)
        report.trained.append(run.key)
        tau = outcome.metrics.get(names.KENDALL_TAU) if outcome.metrics else None
        detail = f"kendall_tau {tau:.3f}" if isinstance(tau, float) else ""
        log.info("done %s %s in %.1f s on %s %s", run.key, run.label, outcome.seconds, outcome.host, detail)
        display.finished(run, "done", f"{detail}  {format_seconds(outcome.seconds)}", outcome.seconds)
    else:
        record = gd.record_failure(run.key, run.label, to_dict(run.config), outcome.error or {})
        report.failed.append(run.key)
        reason = f"{record['error_type']}: {record['error']}"
        log.error("FAILED %s %s: %s", run.key, run.label, reason)
        display.finished(run, "FAILED", reason.splitlines()[0][:200], None)


def _grid_logger(gd: GridDir) -> logging.Logger:
    log = logging.getLogger(f"bench.grid.driver.{gd.root}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.FileHandler(gd.root / GRID_LOG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    return log


class Progress:
    """Runs done / running / failed / left, elapsed and estimated time left: a bar on a terminal, else lines."""

    def __init__(self, report: GridReport, to_run: list[PlannedRun], estimates: dict[str, Estimate],
                 backend: Backend, enabled: bool, stream: TextIO):
        self.report = report
        self.to_run = len(to_run)
        self.in_flight = 0
        self.enabled = enabled
        self.stream = stream
        self.backend = backend
        self.start = time.perf_counter()
        self.durations: list[float] = []
        self._lines: list[str] = []
        known = [estimates[r.key].seconds for r in to_run if r.key in estimates and estimates[r.key].seconds]
        self.prior = sum(known) / len(known) if known else None  # mean estimate per run before any finishes
        self.bar = None
        if enabled and getattr(sys.stderr, "isatty", lambda: False)():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=report.total, initial=report.done_before, unit="run", dynamic_ncols=True,
                            bar_format=f"grid {report.name}: {{n_fmt}}/{{total_fmt}} |{{bar}}| {{desc}}")
        if enabled:
            self._write(f"grid {report.name}: {report.total} runs, {report.done_before} done, "
                        f"{len(report.skipped_failed)} failed before, {self.to_run} to run; {backend.description}")
        self.refresh()

    def counts(self) -> tuple[int, int, int, int]:
        """(done, running, failed, left)."""
        r = self.report
        remaining = self.to_run - len(r.trained) - len(r.failed)
        running = min(self.in_flight, max(1, self.backend.slots()), remaining)
        return r.done_before + len(r.trained), running, len(r.failed) + len(r.skipped_failed), remaining - running

    def eta(self) -> float | None:
        per_run = sum(self.durations) / len(self.durations) if self.durations else self.prior
        if per_run is None:
            return None
        _, running, _, left = self.counts()
        if running + left == 0:
            return 0.0
        slots = max(1, min(self.backend.slots(), running + left))
        return per_run * (left + 0.5 * running) / slots

    def status(self) -> str:
        done, running, failed, left = self.counts()
        elapsed = time.perf_counter() - self.start
        return (f"done {done}, running {running}, failed {failed}, left {left}, "
                f"elapsed {format_seconds(elapsed)}, eta {format_seconds(self.eta())}")

    def set_running(self, in_flight: int) -> None:
        self.in_flight = in_flight

    def refresh(self) -> None:
        lines, self._lines = self._lines, []
        for line in lines:
            self._write(line if self.bar is not None else f"{line}\n       [{self.status()}]")
        if self.bar is not None:
            self.bar.n = self.counts()[0]
            self.bar.set_description_str(self.status(), refresh=False)
            self.bar.refresh()

    def finished(self, run: PlannedRun, what: str, detail: str, seconds: float | None) -> None:
        """Note a finished run; its line is written by the next :meth:`refresh` (after the next submissions)."""
        if seconds is not None:
            self.durations.append(seconds)
        if self.enabled:
            self._lines.append(f"{what:6s} {run.key}  {run.label}  {detail}")

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        self.refresh()
        if self.bar is not None:
            self.bar.close()
