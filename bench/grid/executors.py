"""Where a grid's runs execute: local processes, or Dask distributed.

The runner (:mod:`bench.grid.runner`) takes any ``concurrent.futures``
executor; a :class:`Backend` adds what it needs besides: how many runs execute
at once, how many threads each gets, and whether the workers see the grid
directory (``shared``) or return their runs' files (``return``; see
:mod:`bench.grid.worker`).

- :func:`local_backend` (the default, ``--jobs N``): a process pool of N
  workers, each pinned to ``cores // N`` threads (``torch.set_num_threads``
  plus the OMP/MKL/OpenBLAS variables, set in the worker initializer), so N
  jobs do not oversubscribe the cores (``--threads`` overrides the share). Workers are started with ``spawn`` and
  exit when the parent process dies, so a killed grid leaves no orphan
  training behind.
- :func:`dask_backend` with an address (``--scheduler tcp://HOST:PORT``): an
  existing Dask cluster, e.g. one that dask-jobqueue started on SLURM (see the
  README). Each run pins itself to its host's CPUs over the task slots of the
  workers on that host. Workers need the same environment (this package
  installed) and, for CIFAR-10, the data directory (``--data-dir`` as seen by
  the workers, or their ``BENCH_DATA_DIR``).
- :func:`dask_backend` without an address (``--executor dask``): a local
  cluster of N single-threaded worker processes on the loopback interface.

Dask is imported only here, inside the functions: ``import bench`` stays light
and Dask stays optional (``pip install -e '.[grid]'``).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
from dataclasses import dataclass, field
from typing import Callable

from bench.grid.worker import pin_threads, usable_cpus
from bench.validation import ConfigError

SHARED = "shared"
RETURN = "return"


@dataclass
class Backend:
    """An executor and what the runner needs to know about it."""

    description: str
    executor: concurrent.futures.Executor
    slots: Callable[[], int]  # how many runs execute at once (now)
    transfer: str  # SHARED or RETURN
    threads: int | None  # torch threads per run; None: each worker decides (remote clusters)
    local_data: bool  # whether the workers read data on this machine (then the data is checked here first)
    restart: Callable[[], concurrent.futures.Executor] | None = None  # a fresh executor after a crash
    closers: list[Callable[[], None]] = field(default_factory=list)  # run in order by close()

    def close(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self.closers.clear()


# ---------------------------------------------------------------------------
# Local processes
# ---------------------------------------------------------------------------


def _init_local_worker(threads: int, parent_pid: int) -> None:
    pin_threads(threads)

    def exit_with_parent() -> None:
        # A process pool's workers outlive a parent killed with SIGKILL; this one follows it.
        import time

        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=exit_with_parent, daemon=True, name="bench-exit-with-parent").start()


def default_threads(jobs: int) -> int:
    """Each of ``jobs`` runs on one machine gets its share of the cores (at least one thread)."""
    return max(1, usable_cpus() // jobs)


def local_backend(jobs: int, transfer: str = SHARED, threads: int | None = None) -> Backend:
    if jobs < 1:
        raise ConfigError(f"--jobs = {jobs}: at least 1")
    threads = threads or default_threads(jobs)

    def make() -> concurrent.futures.Executor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_local_worker, initargs=(threads, os.getpid()))

    backend = Backend(f"local processes: {jobs} job(s) x {threads} thread(s)", make(), lambda: jobs, transfer,
                      threads, local_data=True)

    def restart() -> concurrent.futures.Executor:
        backend.executor.shutdown(wait=False, cancel_futures=True)
        backend.executor = make()
        return backend.executor

    backend.restart = restart
    backend.closers.append(lambda: backend.executor.shutdown(wait=True, cancel_futures=True))
    return backend


# ---------------------------------------------------------------------------
# Dask distributed
# ---------------------------------------------------------------------------


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("the Dask executor needs dask.distributed: pip install 'dask[distributed]' "
                          "(or: pip install -e '.[grid]')") from None
    return distributed


def dask_backend(address: str | None = None, jobs: int = 1, transfer: str = RETURN,
                 threads: int | None = None) -> Backend:
    """A Dask client on ``address``, or on a local cluster of ``jobs`` single-threaded worker processes.

    ``threads``: torch threads per run (default: on a local cluster the cores' share of each worker; on a
    remote one, decided by each worker from its host's CPUs and task slots).
    """
    distributed = _import_distributed()
    if address is None:
        if jobs < 1:
            raise ConfigError(f"--jobs = {jobs}: at least 1")
        import logging

        cluster = distributed.LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None,
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        closers = [client.close, cluster.close]
        threads = threads or default_threads(jobs)
        description = f"Dask local cluster {cluster.scheduler_address}: {jobs} worker(s) x {threads} thread(s)"
        slots = lambda: jobs  # noqa: E731
        local_data = True
    else:
        try:
            client = distributed.Client(address, timeout="30s")
        except OSError as exc:
            raise ConfigError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") from None
        closers = [client.close]

        def slots() -> int:
            try:
                return max(1, sum(client.nthreads().values()))
            except Exception:  # noqa: BLE001
                return 1

        description = f"Dask scheduler {address}: {slots()} task slot(s) now"
        local_data = False
    executor = client.get_executor(pure=False)
    return Backend(description, executor, slots, transfer, threads, local_data, closers=closers)
