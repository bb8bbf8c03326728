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
- :func:`local_backend` with a :class:`DevicePacking` (``--jobs-per-device K``):
  K runs per CUDA device, D x K at once on D devices (``--jobs`` caps the
  total). Worker process i is pinned to device i mod D through
  ``CUDA_VISIBLE_DEVICES`` (set in the worker initializer, before the process
  touches CUDA, so the run's ``cuda`` is that device and nothing else is
  visible to it), and each run bounds its share of the device's memory to 1/K
  (:func:`bench.grid.worker.bound_gpu_memory`).
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
from typing import Callable, Sequence

from bench.grid.worker import pin_threads, usable_cpus
from bench.validation import ConfigError

SHARED = "shared"
RETURN = "return"
CUDA_VISIBLE = "CUDA_VISIBLE_DEVICES"


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
    gpu_memory_fraction: float | None = None  # packed runs: each run's share of its GPU's memory

    def close(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self.closers.clear()


# ---------------------------------------------------------------------------
# Packing runs onto CUDA devices (--jobs-per-device)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DevicePacking:
    """``per_device`` runs at a time on each of ``devices`` (their ``CUDA_VISIBLE_DEVICES`` names)."""

    devices: tuple[str, ...]
    per_device: int

    @property
    def slots(self) -> int:
        return len(self.devices) * self.per_device

    def jobs(self, cap: int | None) -> int:
        """Runs at once: every slot of the devices, ``--jobs`` (``cap``) capping the total where given."""
        return min(cap, self.slots) if cap else self.slots

    def sharing(self, jobs: int) -> int:
        """How many of ``jobs`` round-robin workers share the busiest device (K, or fewer where capped)."""
        return -(-jobs // len(self.devices))


def assign_devices(devices: Sequence[str], jobs: int) -> list[str]:
    """The device of each of ``jobs`` worker processes: round-robin, so D devices get the first D workers
    (a grid capped below D x K still spreads over every device), then a second worker each, and so on."""
    return [devices[i % len(devices)] for i in range(jobs)]


def cuda_devices() -> tuple[str, ...]:
    """The CUDA devices torch sees here, as ``CUDA_VISIBLE_DEVICES`` names a worker can be pinned with.

    Where this process was itself given ``CUDA_VISIBLE_DEVICES`` (a SLURM job's GPUs, say), those names: index
    0 of this process is the first of them, not the machine's device 0.
    """
    import torch

    count = torch.cuda.device_count()
    visible = [d.strip() for d in os.environ.get(CUDA_VISIBLE, "").split(",") if d.strip()]
    if CUDA_VISIBLE in os.environ and len(visible) >= count:
        return tuple(visible[:count])
    return tuple(str(i) for i in range(count))


def device_packing(per_device: int | None, executor: str, devices: Sequence[str]) -> DevicePacking | None:
    """The packing ``--jobs-per-device`` asks for, checked (None: not asked for, or 1 with no device: runs go
    as without it)."""
    if per_device is None:
        return None
    if per_device < 1:
        raise ConfigError(f"--jobs-per-device = {per_device}: at least 1")
    if executor != "local":
        # A Dask worker's GPU is decided where the worker starts (its job's CUDA_VISIBLE_DEVICES), not here.
        raise ConfigError(f"--jobs-per-device {per_device} packs runs onto this machine's CUDA devices with local "
                          "processes, not with Dask: start K Dask workers per GPU instead (README, Executors)")
    if not devices:
        if per_device > 1:
            raise ConfigError(f"--jobs-per-device {per_device} needs CUDA devices, and torch sees none here; "
                              "for several runs at once on the CPU use --jobs N")
        return None
    return DevicePacking(tuple(devices), per_device)


def _take_device(devices: tuple[str, ...], counter) -> None:
    """Pin this worker process to the next device of the pool's round-robin list (before it touches CUDA)."""
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    os.environ[CUDA_VISIBLE] = devices[slot % len(devices)]


# ---------------------------------------------------------------------------
# Local processes
# ---------------------------------------------------------------------------


def _init_local_worker(threads: int, parent_pid: int, devices: tuple[str, ...] = (), counter=None) -> None:
    if devices:
        _take_device(devices, counter)
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


def _local_description(jobs: int, threads: int, packing: DevicePacking | None, sharing: int) -> str:
    text = f"local processes: {jobs} job(s) x {threads} thread(s)"
    if packing:
        text += (f", up to {sharing} per CUDA device on {len(packing.devices)} device(s) "
                 f"({CUDA_VISIBLE} {','.join(packing.devices)})")
        if sharing > 1:
            text += f", each run bounded to 1/{sharing} of its device's memory"
    return text


def local_backend(jobs: int, transfer: str = SHARED, threads: int | None = None,
                  packing: DevicePacking | None = None) -> Backend:
    """A pool of ``jobs`` worker processes; with ``packing``, each pinned to one of its devices, round-robin
    (``jobs`` is then the runs at once that :meth:`DevicePacking.jobs` gives)."""
    if jobs < 1:
        raise ConfigError(f"--jobs = {jobs}: at least 1")
    threads = threads or default_threads(jobs)
    devices = tuple(assign_devices(packing.devices, jobs)) if packing else ()
    context = multiprocessing.get_context("spawn")

    def make() -> concurrent.futures.Executor:
        # A fresh counter per pool: a pool started afresh after a crash hands out the devices from the first again.
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_init_local_worker,
            initargs=(threads, os.getpid(), devices, context.Value("i", 0) if devices else None))

    sharing = packing.sharing(jobs) if packing else 1
    fraction = 1.0 / sharing if sharing > 1 else None  # one run per device needs no bound
    backend = Backend(_local_description(jobs, threads, packing, sharing), make(), lambda: jobs, transfer,
                      threads, local_data=True, gpu_memory_fraction=fraction)

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
