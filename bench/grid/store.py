"""The grid directory: where a grid's spec, runs, failures and logs live.

::

    GRID_DIR/
      spec.yaml            copy of the spec as given (and its base_config file beside it, when it is a plain name)
      grid.json            the expansion last run: name, description, and per run key, label, overrides
                           (and the runs of earlier versions of the spec, so that their labels are kept)
      grid.log             the runner's log: each run started, finished, failed
      grid.lock            held while `bench grid` runs on this directory (a second one is refused)
      runs/<key>/          a complete run directory (bench.run: config, history, scores, metrics, environment)
      runs/<key>.partial/  a run in progress or interrupted: its checkpoint, resumed on the next `bench grid`
      failed/<key>.json    a run that raised: error, traceback, config, attempts (retried with --retry-failed)
      logs/<key>.log       the run's own readable log (appended to by every attempt)
      runs.parquet, scores.parquet, history.parquet     written by `bench collect`

A run directory appears only complete: :func:`bench.run.execute_run` writes
``<key>.partial`` and renames it, and runs returned by remote workers are
written to ``<key>.receiving`` and renamed the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

# The names bench.run gives a run directory's parts (not imported: bench.run loads torch, and
# `bench collect` should not need to; tests/test_grid.py checks that they agree).
METRICS_FILE = "metrics.json"
PARTIAL_SUFFIX = ".partial"

SPEC_FILE = "spec.yaml"
MANIFEST_FILE = "grid.json"
GRID_LOG = "grid.log"
LOCK_FILE = "grid.lock"
RUNS_DIR = "runs"
FAILED_DIR = "failed"
LOGS_DIR = "logs"
RECEIVING_SUFFIX = ".receiving"


class Status(str, Enum):
    DONE = "done"
    FAILED = "failed"
    PARTIAL = "partial"
    TODO = "todo"


@dataclass(frozen=True)
class GridDir:
    root: Path

    @property
    def runs(self) -> Path:
        return self.root / RUNS_DIR

    def run_dir(self, key: str) -> Path:
        return self.runs / key

    def partial_dir(self, key: str) -> Path:
        return self.runs / f"{key}{PARTIAL_SUFFIX}"

    def failed_file(self, key: str) -> Path:
        return self.root / FAILED_DIR / f"{key}.json"

    def log_file(self, key: str) -> Path:
        return self.root / LOGS_DIR / f"{key}.log"

    # -- state ---------------------------------------------------------------------------
    def is_done(self, key: str) -> bool:
        return (self.run_dir(key) / METRICS_FILE).is_file()

    def status(self, key: str) -> Status:
        if self.is_done(key):
            return Status.DONE
        if self.failed_file(key).is_file():
            return Status.FAILED
        if self.partial_dir(key).is_dir():
            return Status.PARTIAL
        return Status.TODO

    def done_keys(self) -> list[str]:
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir() if p.is_dir() and (p / METRICS_FILE).is_file()
                      and "." not in p.name)

    def failed_keys(self) -> list[str]:
        folder = self.root / FAILED_DIR
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.json") if not self.is_done(p.stem))

    def read_failure(self, key: str) -> dict | None:
        path = self.failed_file(key)
        return json.loads(path.read_text()) if path.is_file() else None

    def manifest(self) -> dict:
        path = self.root / MANIFEST_FILE
        return json.loads(path.read_text()) if path.is_file() else {}

    # -- writing -------------------------------------------------------------------------
    def prepare(self, grid) -> None:
        """Create the layout and record the spec and its expansion (before any run starts)."""
        for sub in (RUNS_DIR, FAILED_DIR, LOGS_DIR):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        spec = grid.spec
        write_atomic(self.root / SPEC_FILE, spec.text)
        if spec.base_config is not None:
            relative = Path(spec.base_config_ref)
            if not relative.is_absolute() and len(relative.parts) == 1:  # keeps the copied spec loadable
                write_atomic(self.root / relative.name, spec.base_config.read_text())
        runs = [{"key": r.key, "label": r.label, "seed": r.seed, "overrides": {o.key: o.value for o in r.overrides}}
                for r in grid.runs]
        previous = self.manifest()
        current = {r["key"] for r in runs}
        earlier = [r for r in previous.get("runs", []) + previous.get("earlier_runs", []) if r["key"] not in current]
        manifest = {
            "name": spec.name,
            "description": spec.description,
            "spec": str(spec.path),
            "paper_scale": spec.paper_scale,
            "runs": runs,
            "earlier_runs": list({r["key"]: r for r in earlier}.values()),  # of earlier versions of the spec
        }
        write_atomic(self.root / MANIFEST_FILE, json.dumps(manifest, indent=2, default=str))

    def record_failure(self, key: str, label: str, config: dict, error: dict) -> dict:
        previous = self.read_failure(key) or {}
        record = {
            "key": key,
            "label": label,
            "error_type": error.get("type"),
            "error": error.get("message"),
            "traceback": error.get("traceback"),
            "host": error.get("host"),
            "seconds": error.get("seconds"),
            "attempts": previous.get("attempts", 0) + 1,
            "failed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "code_version": error.get("code_version"),
            "config": config,
        }
        path = self.failed_file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(record, indent=2, default=str))
        return record

    def clear_failure(self, key: str) -> None:
        self.failed_file(key).unlink(missing_ok=True)

    def publish_returned(self, key: str, files: dict[str, bytes]) -> Path:
        """Write a run directory a remote worker returned: to ``<key>.receiving``, then rename into place."""
        final = self.run_dir(key)
        tmp = self.runs / f"{key}{RECEIVING_SUFFIX}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if final.exists():
            shutil.rmtree(final)  # an incomplete leftover (no metrics.json)
        os.replace(tmp, final)
        stale = self.partial_dir(key)  # from an earlier attempt that wrote here directly
        if stale.exists():
            shutil.rmtree(stale, ignore_errors=True)
        return final

    def append_log(self, key: str, text: str) -> None:
        path = self.log_file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(text)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class GridLock:
    """An exclusive lock on a grid directory while `bench grid` runs on it (fcntl; local file systems)."""

    def __init__(self, root: Path):
        self.path = root / LOCK_FILE
        self._file = None

    def __enter__(self) -> "GridLock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            from bench.validation import ConfigError

            raise ConfigError(f"{self.path.parent} is in use by {holder}; wait for it to finish or choose "
                              "another --out") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        self._file.flush()
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
