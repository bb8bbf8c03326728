"""What a worker does with one run: pin threads, execute it, log it, and report how it went.

:func:`run_task` runs in a worker process (a local process pool or a Dask
worker). It never raises for a failed run: an exception (a NaN loss raises
``FloatingPointError`` in the trainer) comes back as an outcome with its type,
message and traceback, so the grid records it and goes on. An error the user
can fix (a :class:`~bench.errors.BenchError`, e.g. a damaged checkpoint) is
recorded as its one-line message, without a traceback; a retried run
(``--retry-failed``) whose checkpoints cannot be resumed from starts afresh.

Two ways the finished run directory reaches the grid directory:

- ``shared`` (local processes, or a cluster whose workers see the grid
  directory at the same path): the worker executes the run straight into
  ``GRID_DIR/runs/<key>`` (``<key>.partial`` until complete), so checkpoints
  live in the grid directory and a rerun resumes them from any worker;
- ``return`` (the default with Dask): the worker executes the run in a
  local scratch directory (``$BENCH_SCRATCH_DIR``, else the temp directory)
  and returns the run directory's small files (config, history, scores,
  metrics, environment; not ``checkpoint.pt``) to the client, which writes
  them. It needs no shared file system, which clusters often lack or mount at
  other paths; the price is that an interrupted run resumes only where the
  same worker machine (or a shared ``BENCH_SCRATCH_DIR``) holds its checkpoint,
  and that the supernet weights stay behind.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import socket
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench import metric_names as names

SCRATCH_ENV = "BENCH_SCRATCH_DIR"
CHECKPOINT_FILE = "checkpoint.pt"
# The files bench.checkpoint keeps beside it (not imported: it loads torch); never returned to the client.
CHECKPOINT_FILES = (CHECKPOINT_FILE, "checkpoint.prev.pt", "checkpoint.pt.tmp", "checkpoint.pt.damaged")
RETRY_FIX = "`bench grid --retry-failed` starts this run afresh"
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (plain data: it travels to other processes and machines)."""

    key: str
    label: str
    config: dict  # the resolved config (bench.config.to_dict), validated again by the worker
    data_dir: str | None
    run_dir: str | None = None  # shared: GRID_DIR/runs/<key>; None: return the files
    log_file: str | None = None  # shared: GRID_DIR/logs/<key>.log
    scratch: str | None = None  # return: where the run is executed (None: $BENCH_SCRATCH_DIR or the temp dir)
    threads: int | None = None  # torch threads for the run; None: decided on the worker (see worker_threads)
    retry: bool = False  # a retry of a failed run: unusable checkpoints are discarded, the run starts afresh
    gpu_memory_fraction: float | None = None  # packed runs (--jobs-per-device): the run's share of its GPU

    @property
    def returns_files(self) -> bool:
        return self.run_dir is None


@dataclass
class RunOutcome:
    key: str
    ok: bool
    seconds: float
    host: str
    threads: int
    metrics: dict | None = None
    error: dict | None = None  # type, message, traceback, host, seconds, code_version
    files: dict[str, bytes] | None = None  # return mode: the run directory's files but the checkpoint
    log: str | None = None  # return mode: the text this attempt added to the run's log


def pin_threads(threads: int) -> None:
    """Limit this process's math libraries to ``threads`` threads (so N jobs share the cores, not N times them)."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # only possible before any inter-op work in the process
        torch.set_num_interop_threads(1)


def bound_gpu_memory(fraction: float | None, device: str) -> str | None:
    """Bound this process's share of its GPU's memory to ``fraction`` where the run trains on CUDA (runs packed
    by ``bench grid --jobs-per-device``); returns what was done, for the run's log."""
    if fraction is None or device == "cpu":
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    # K runs share the device, each with a caching allocator that keeps what it once held: unbounded, one run's
    # peak can take memory another then fails to get, and which run fails depends on timing. Bounded to 1/K, a
    # run that needs more fails itself, every time, with PyTorch's out-of-memory error naming the limit (the
    # allocator frees its cache before it gives up). Each process's CUDA context lies outside the bound.
    torch.cuda.set_per_process_memory_fraction(fraction)
    return f"GPU memory bounded to {fraction:.3g} of {torch.cuda.get_device_name()}"


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_threads() -> int:
    """Threads for a run on a Dask worker: this host's CPUs over the task slots of all workers on the host."""
    cpus = usable_cpus()
    try:
        from distributed import get_client, get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return cpus
    host = worker.address.rsplit(":", 1)[0]
    try:
        workers = get_client().scheduler_info(n_workers=-1)["workers"]
        slots = sum(w["nthreads"] for address, w in workers.items() if address.rsplit(":", 1)[0] == host)
    except Exception:  # noqa: BLE001 - scheduler unreachable: this worker's own slots are a fair guess
        slots = worker.state.nthreads
    return max(1, cpus // max(1, slots))


def scratch_dir(task: RunTask) -> Path:
    root = task.scratch or os.environ.get(SCRATCH_ENV) or Path(tempfile.gettempdir()) / "bench-grid-scratch"
    return Path(root)


def run_task(task: RunTask) -> RunOutcome:
    """Execute one run; never raises for a failure of the run itself (see the module docstring)."""
    start = time.perf_counter()
    threads = task.threads or worker_threads()
    pin_threads(threads)
    host = socket.gethostname()
    if task.returns_files:
        scratch = scratch_dir(task)
        out, log_path = scratch / task.key, scratch / f"{task.key}.log"
    else:
        out, log_path = Path(task.run_dir), Path(task.log_file)
    log_path.parent.mkdir(parents=True, exist_ok=True)

    outcome = RunOutcome(task.key, ok=False, seconds=0.0, host=host, threads=threads)
    with log_path.open("a", buffering=1) as stream, _run_logger(task.key, stream) as log:
        log.info("run %s  %s", task.key, task.label)
        log.info("host %s, pid %d, torch threads %d, output %s%s", host, os.getpid(), threads, out,
                 f", CUDA_VISIBLE_DEVICES {os.environ['CUDA_VISIBLE_DEVICES']}"
                 if "CUDA_VISIBLE_DEVICES" in os.environ else "")
        if (out.with_name(out.name + ".partial") / CHECKPOINT_FILE).is_file():
            log.info("a checkpoint of an interrupted attempt exists: resuming from it")
        try:
            from bench.config import build_config
            from bench.run import execute_run

            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                config = build_config(task.config)
                bounded = bound_gpu_memory(task.gpu_memory_fraction, config.train.device)
                if bounded:
                    log.info("%s", bounded)
                _adopt_renamed_partial(out, config)
                record = execute_run(config, data_dir=task.data_dir, out=out, progress=False,
                                     fresh_if_unusable=task.retry)
        except Exception as exc:  # noqa: BLE001 - every failure of a run is recorded, the grid goes on
            outcome.seconds = time.perf_counter() - start
            message, trace = _failure(exc)
            outcome.error = {"type": type(exc).__name__, "message": message, "traceback": trace,
                             "host": host, "seconds": outcome.seconds, "code_version": code_version()}
            log.error("FAILED after %.1f s: %s: %s%s", outcome.seconds, type(exc).__name__, message,
                      "" if trace is None else "\n" + trace.rstrip())
        else:
            outcome.ok = True
            outcome.metrics = record.metrics
            outcome.seconds = time.perf_counter() - start
            _log_result(log, record.path, record.metrics, outcome.seconds)

    if task.returns_files:
        # The scratch log holds only text not yet delivered (an attempt killed before it returned included).
        outcome.log = log_path.read_text()
        log_path.unlink(missing_ok=True)
        if outcome.ok:
            outcome.files = {p.name: p.read_bytes() for p in sorted(out.iterdir())
                             if p.is_file() and p.name not in CHECKPOINT_FILES}
            shutil.rmtree(out, ignore_errors=True)
    return outcome


def _failure(exc: Exception) -> tuple[str, str | None]:
    """(message, traceback) of a failed run: a user-fixable error is its one line, with a grid's fix."""
    if not isinstance(exc, BenchError):
        return str(exc), traceback.format_exc()
    from bench.checkpoint import CheckpointError

    if isinstance(exc, CheckpointError) and exc.unusable:
        exc = exc.with_fix(RETRY_FIX)
    return str(exc), None


def _adopt_renamed_partial(out: Path, config) -> None:
    """An interrupted run whose saved config differs only by name (a renamed grid) is resumed under the new name.

    The run key leaves the name out, so a renamed grid finds its runs; bench.run refuses a ``.partial``
    whose config differs in any way, so the saved name is brought up to date first.
    """
    import yaml

    from bench.config import to_dict, to_yaml

    saved = out.with_name(out.name + ".partial") / "config.yaml"
    if not saved.is_file():
        return
    old = yaml.safe_load(saved.read_text())
    new = to_dict(config)
    if isinstance(old, dict) and old.get("name") != new["name"] and {**old, "name": new["name"]} == new:
        saved.write_text(to_yaml(config))


@contextlib.contextmanager
def _run_logger(key: str, stream: io.TextIOBase):
    log = logging.getLogger(f"bench.grid.run.{key}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    try:
        yield log
    finally:
        log.removeHandler(handler)


def _log_result(log: logging.Logger, path: Path, metrics: dict, seconds: float) -> None:
    import pandas as pd

    history = path / "history.csv"
    if history.is_file():
        frame = pd.read_csv(history)
        log.info("history (per epoch):\n%s", frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    shown = ", ".join(f"{k} {metrics[k]:.4f}" for k in (names.KENDALL_TAU, names.SPARSE_KENDALL_TAU, names.SPEARMAN)
                      if isinstance(metrics.get(k), float))
    log.info("done in %.1f s (train %.1f s, score %.1f s): %s", seconds, metrics.get(names.TRAIN_SECONDS, 0.0),
             metrics.get(names.SCORE_SECONDS, 0.0), shown)


def code_version() -> str:
    """``<bench version>+<git commit[:12]>[.dirty]`` of the code running here."""
    from bench import __version__
    from bench.environment import git_commit

    git = git_commit()
    if not git.get("commit"):
        return __version__
    return f"{__version__}+{git['commit'][:12]}" + (".dirty" if git.get("dirty") else "")
