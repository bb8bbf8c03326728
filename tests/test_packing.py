"""Several runs per CUDA device (``bench grid --jobs-per-device K``): device assignment, the refusal without CUDA
or with Dask, the memory bound, and the dry run's wall time with a packing efficiency.

Only the test marked ``cuda`` trains; the rest run anywhere (worker processes are pinned through
``CUDA_VISIBLE_DEVICES``, which a process can be given without a GPU).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import torch
import yaml

from bench.cli import main
from bench.grid import estimate, load_grid
from bench.grid.estimate import (DEFAULT_PACKING_EFFICIENCY, PackingEfficiency, packed_wall_seconds,
                                 packing_efficiency, recorded_packing, record_packing)
from bench.grid.executors import (CUDA_VISIBLE, DevicePacking, _take_device, assign_devices, cuda_devices,
                                  device_packing, local_backend)
from bench.grid.runner import dry_run
from bench.grid.worker import bound_gpu_memory
from bench.validation import ConfigError

TINY_BASE = {"train": {"epochs": 1, "batch_size": 128}, "supernet": {"C": 2, "N": 1}, "eval": {"pool_size": 6}}


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def write_spec(tmp_path: Path, base: dict = TINY_BASE, **body) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "base": base, **body}, sort_keys=False))
    return path


# ---------------------------------------------------------------------------
# Device assignment (pure)
# ---------------------------------------------------------------------------


def test_devices_are_assigned_round_robin():
    assert assign_devices(("0", "1"), 4) == ["0", "1", "0", "1"]
    assert assign_devices(("0", "1", "2"), 5) == ["0", "1", "2", "0", "1"]
    assert assign_devices(("3",), 3) == ["3", "3", "3"]
    # capped below D x K, the runs still spread over every device first
    assert assign_devices(("0", "1", "2", "3"), 2) == ["0", "1"]


@pytest.mark.parametrize("devices, per_device, cap, jobs, sharing", [
    (("0",), 4, None, 4, 4),  # one GPU, 4 per device: 4 at once
    (("0", "1"), 4, None, 8, 4),  # two GPUs: 8 at once
    (("0", "1"), 4, 6, 6, 3),  # --jobs 6 caps the total: 3 on each
    (("0", "1"), 4, 20, 8, 4),  # --jobs above D x K: D x K
    (("0", "1", "2", "3"), 1, None, 4, 1),  # one run per device
    (("0", "1", "2", "3"), 2, 3, 3, 1),  # capped below D: one each on three devices
])
def test_jobs_and_sharing_per_device(devices, per_device, cap, jobs, sharing):
    packing = DevicePacking(devices, per_device)
    assert packing.jobs(cap) == jobs
    assert packing.sharing(jobs) == sharing
    counts = {d: assign_devices(devices, jobs).count(d) for d in devices}
    assert max(counts.values()) == sharing <= per_device


def test_the_packing_asked_for_is_checked():
    assert device_packing(None, "local", ()) is None  # not asked for: as before
    assert device_packing(1, "local", ()) is None  # one per device and no device: plain local processes
    assert device_packing(4, "local", ("0", "1")) == DevicePacking(("0", "1"), 4)
    with pytest.raises(ConfigError, match=r"--jobs-per-device 4 needs CUDA devices.*use --jobs N"):
        device_packing(4, "local", ())
    with pytest.raises(ConfigError, match=r"--jobs-per-device = 0: at least 1"):
        device_packing(0, "local", ("0",))
    with pytest.raises(ConfigError, match=r"--jobs-per-device 2 .*not with Dask"):
        device_packing(2, "dask", ("0",))


def test_cuda_devices_follow_this_process_s_visible_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv(CUDA_VISIBLE, "3,5")
    assert cuda_devices() == ("3", "5")  # a worker pinned to "3" gets this process's cuda:0
    monkeypatch.delenv(CUDA_VISIBLE)
    assert cuda_devices() == ("0", "1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert cuda_devices() == ()


def test_each_worker_takes_the_next_device(monkeypatch):
    monkeypatch.setenv(CUDA_VISIBLE, "unset")  # restored after the test
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    seen = []
    for _ in range(3):
        _take_device(("0", "1"), counter)
        seen.append(os.environ[CUDA_VISIBLE])
    assert seen == ["0", "1", "0"]


def _visible_devices_once_both_started(rendezvous: str) -> str:
    """In a worker: note this process's device, then wait until the other worker has started a task too (so
    the two tasks run in two processes)."""
    folder = Path(rendezvous)
    (folder / str(os.getpid())).write_text(os.environ.get(CUDA_VISIBLE, ""))
    deadline = time.monotonic() + 120
    while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.environ.get(CUDA_VISIBLE, "")


def test_local_workers_are_pinned_to_their_devices(tmp_path):
    backend = local_backend(2, threads=1, packing=DevicePacking(("4", "7"), 1))
    try:
        futures = [backend.executor.submit(_visible_devices_once_both_started, str(tmp_path)) for _ in range(2)]
        assert sorted(f.result(timeout=180) for f in futures) == ["4", "7"]
    finally:
        backend.close()
    assert backend.gpu_memory_fraction is None  # one run per device: no bound
    assert "up to 1 per CUDA device on 2 device(s) (CUDA_VISIBLE_DEVICES 4,7)" in backend.description


def test_packed_runs_are_bounded_to_their_share():
    backend = local_backend(4, threads=1, packing=DevicePacking(("0",), 4))
    backend.close()  # no worker started: nothing was submitted
    assert backend.gpu_memory_fraction == 0.25
    assert "each run bounded to 1/4 of its device's memory" in backend.description


def test_no_memory_bound_without_packing_or_on_the_cpu():
    assert bound_gpu_memory(None, "auto") is None
    assert bound_gpu_memory(0.25, "cpu") is None


# ---------------------------------------------------------------------------
# The command line: refused without CUDA, with Dask
# ---------------------------------------------------------------------------


def test_cli_refuses_packing_without_cuda(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)  # as on a machine without CUDA, wherever this runs
    out = tmp_path / "g"
    code, stdout, err = run_cli("grid", write_spec(tmp_path), "--out", out, "--jobs-per-device", 4)
    lines = err.splitlines()
    assert code == 2 and stdout == "" and len(lines) == 1 and "Traceback" not in err
    assert lines[0] == ("bench: error: --jobs-per-device 4 needs CUDA devices, and torch sees none here; "
                        "for several runs at once on the CPU use --jobs N")
    assert not out.exists()


def test_cli_refuses_packing_with_dask(tmp_path):
    code, _, err = run_cli("grid", write_spec(tmp_path), "--executor", "dask", "--jobs-per-device", 2)
    assert code == 2 and "--jobs-per-device 2 packs runs onto this machine's CUDA devices" in err
    assert len(err.splitlines()) == 1


def test_cli_one_per_device_without_cuda_is_plain_local_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    code, stdout, _ = run_cli("grid", write_spec(tmp_path), "--out", tmp_path / "g", "--dry-run", "--no-measure",
                              "--jobs-per-device", 1)
    assert code == 0 and "1 new" in stdout and "packing" not in stdout


# ---------------------------------------------------------------------------
# The dry run's wall time
# ---------------------------------------------------------------------------


def test_wall_time_of_packed_runs():
    assert packed_wall_seconds(400.0, 4) == 100.0  # alone on their devices: the total over the runs at once
    assert packed_wall_seconds(400.0, 4, 0.8) == pytest.approx(125.0)  # 4 packed at 0.8 of full speed each
    assert packed_wall_seconds(400.0, 8, 0.5) == pytest.approx(100.0)  # 2 GPUs x 4, each at half speed
    assert packed_wall_seconds(400.0, 0) == 400.0  # never divides by zero slots


def test_packing_efficiency_measured_or_assumed(tmp_path):
    assumed = packing_efficiency(4, "NVIDIA H200", {})
    assert assumed.value == DEFAULT_PACKING_EFFICIENCY
    assert assumed.how == (f"assumed packing efficiency {DEFAULT_PACKING_EFFICIENCY} for 4 runs per device; "
                           "scripts/device_check.sh measures it")
    assert packing_efficiency(1, None, {}) == PackingEfficiency(1, 1.0, "one run per device")

    path = tmp_path / "packing.json"
    record_packing("NVIDIA H200", 4, 0.9123, path=path, alone_seconds=10.0)
    recorded = recorded_packing(path)
    assert recorded["NVIDIA H200"]["4"]["alone_seconds"] == 10.0
    measured = packing_efficiency(4, "NVIDIA H200", recorded)
    assert measured.value == pytest.approx(0.9123)
    assert measured.how.startswith("packing efficiency 0.91 for 4 runs per device, measured on NVIDIA H200 ")
    # another GPU, another number of runs per device, or a damaged record: the assumption
    assert packing_efficiency(4, "NVIDIA A100", recorded).value == DEFAULT_PACKING_EFFICIENCY
    assert packing_efficiency(2, "NVIDIA H200", recorded).value == DEFAULT_PACKING_EFFICIENCY
    assert packing_efficiency(4, "X", {"X": {"4": {"efficiency": "fast"}}}).value == DEFAULT_PACKING_EFFICIENCY
    path.write_text("not json")
    assert recorded_packing(path) == {}


def test_the_packing_record_lives_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv(estimate.PACKING_FILE_ENV, str(tmp_path / "p.json"))
    assert estimate.packing_file() == tmp_path / "p.json"
    monkeypatch.delenv(estimate.PACKING_FILE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert estimate.packing_file() == tmp_path / "cache" / "bench" / "packing.json"


def test_dry_run_states_the_packing_efficiency(tmp_path):
    grid = load_grid(write_spec(tmp_path, axes={"train.lr": [0.05, 0.1]}))
    packing = packing_efficiency(4, None, {})
    text = dry_run(grid, None, slots=4, threads=1, packing=packing)
    line = next(line for line in text.splitlines() if line.startswith("estimated cost"))
    assert "wall with 4 run(s) at a time (assumed packing efficiency 0.8 for 4 runs per device; " \
           "scripts/device_check.sh measures it)" in line, line
    plain = next(line for line in dry_run(grid, None, slots=4, threads=1).splitlines()
                 if line.startswith("estimated cost"))
    assert "packing" not in plain


# ---------------------------------------------------------------------------
# On a GPU
# ---------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_packed_grid_on_the_gpu(tmp_path):
    base = {**TINY_BASE, "train": {**TINY_BASE["train"], "device": "cuda"}}
    out = tmp_path / "g"
    code, stdout, err = run_cli("grid", write_spec(tmp_path, base, seeds=[0, 1]), "--out", out,
                                "--jobs-per-device", 2, "--quiet")
    assert code == 0, stdout + err
    devices = cuda_devices()
    logs = [p.read_text() for p in sorted((out / "logs").glob("*.log"))]
    assert len(logs) == 2
    for log in logs:
        assert "GPU memory bounded to 0.5 of" in log, log
        assert any(f"CUDA_VISIBLE_DEVICES {d}" in log for d in devices), log
    runs = sorted((out / "runs").iterdir())
    assert len(runs) == 2 and all("kendall_tau" in json.loads((r / "metrics.json").read_text()) for r in runs)
