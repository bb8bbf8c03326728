"""Checkpoints (bench.checkpoint): plain data loaded with weights_only, refused when another run's or another
format's, a damaged newest one falls back to the previous one, a full disk leaves them intact, and every
failure is one line (in `bench run` and in a grid) that names the file and the fix."""

from __future__ import annotations

import concurrent.futures
import errno
import io
import json
import os
import shutil
from collections import defaultdict
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from bench import checkpoint
from bench.checkpoint import CheckpointError, Identity
from bench.cli import main
from bench.config import load_config, to_yaml
from bench.run import execute_run
from bench.train import Trainer

TINY = ["train.epochs=3", "supernet.C=2", "supernet.N=1", "eval.pool_size=6", "train.batch_size=256",
        "diagnostics.grad_window=2"]


def tiny(*extra):
    return load_config(None, TINY + list(extra))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The runs are tiny: one torch thread is faster than several on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# -- the file format, on a small model -----------------------------------------------------------------


def _model(width: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, width), nn.BatchNorm1d(width))


def _save(path: Path, model: nn.Module, epoch: int, key: str = "k1", state=None) -> None:
    with torch.no_grad():
        model[0].weight.fill_(epoch)  # each epoch's weights differ
    checkpoint.save(path, Identity.of(model, key), epoch, model.state_dict(), state or {"epoch": epoch})


@pytest.fixture
def saved(tmp_path):
    """checkpoint.pt (epoch 2) and checkpoint.prev.pt (epoch 1) of a small model."""
    path = tmp_path / "checkpoint.pt"
    model = _model()
    _save(path, model, 1)
    _save(path, model, 2)
    return path, model


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    tensor_bytes = data.index(b"\x00\x00\x00\x40" * 12)  # the weights: twelve 2.0s as float32
    data[tensor_bytes + 3] ^= 0x01
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated": (truncate, "truncated or corrupt"),
    "zero bytes": (empty, "empty file"),
    "random bytes": (random_bytes, ""),
    "a flipped byte": (flip_a_byte, "checksum"),
}


def test_a_checkpoint_round_trips_with_weights_only(saved):
    path, model = saved
    assert checkpoint.previous_path(path).name == "checkpoint.prev.pt"
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == checkpoint.FORMAT_VERSION and payload["epoch"] == 2
    assert payload["identity"] == {"key": "k1", "shapes": {"0.weight": [4, 3], "0.bias": [4], "1.weight": [4],
                                                           "1.bias": [4], "1.running_mean": [4],
                                                           "1.running_var": [4], "1.num_batches_tracked": []}}
    loaded = checkpoint.load(path, Identity.of(model, "k1"))
    assert loaded.path == path and loaded.epoch == 2 and loaded.state == {"epoch": 2}
    assert torch.equal(loaded.model["0.weight"], torch.full((4, 3), 2.0))
    assert checkpoint.load(path.with_name("none.pt"), Identity.of(model, "k1")) is None


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_only_checkpoint_is_one_line_naming_the_file_and_the_fix(saved, damage):
    path, model = saved
    checkpoint.previous_path(path).unlink()
    DAMAGE[damage][0](path)
    with pytest.raises(CheckpointError) as caught:
        checkpoint.load(path, Identity.of(model, "k1"))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and DAMAGE[damage][1] in message
    assert "is damaged" in message and "no earlier one" in message and f"delete {path.parent}" in message
    assert caught.value.unusable


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(saved, damage, capsys):
    path, model = saved
    DAMAGE[damage][0](path)
    damaged = path.read_bytes()
    loaded = checkpoint.load(path, Identity.of(model, "k1"))
    assert loaded.path.name == "checkpoint.prev.pt" and loaded.epoch == 1 and loaded.state == {"epoch": 1}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"bench: {path} is damaged (")
    assert err.rstrip().endswith("; resuming from checkpoint.prev.pt (after epoch 1); the damaged file is kept as "
                                 "checkpoint.pt.damaged")
    # Set aside, so that the next save keeps the good one as the previous.
    assert not path.exists() and checkpoint.damaged_path(path).read_bytes() == damaged
    _save(path, model, 2)
    assert checkpoint.load(checkpoint.previous_path(path), Identity.of(model, "k1")).epoch == 1


def test_both_damaged_is_one_line_naming_both(saved):
    path, model = saved
    truncate(path)
    empty(checkpoint.previous_path(path))
    with pytest.raises(CheckpointError, match=r"is damaged \(truncated.*and so is checkpoint.prev.pt "
                                              r"\(empty file\); delete"):
        checkpoint.load(path, Identity.of(model, "k1"))


def test_a_newest_checkpoint_missing_after_a_kill_between_the_renames_falls_back(saved, capsys):
    path, model = saved
    path.unlink()
    assert checkpoint.load(path, Identity.of(model, "k1")).epoch == 1
    assert "is missing (interrupted while saving); resuming from checkpoint.prev.pt" in capsys.readouterr().err


def test_a_checkpoint_of_another_config_is_refused_without_falling_back(saved):
    path, model = saved
    _save(path, model, 3, key="other")  # the newest is another run's; the previous one is ours
    with pytest.raises(CheckpointError, match=r"belongs to another run \(run key 'other'; this run's is 'k1'\)"):
        checkpoint.load(path, Identity.of(model, "k1"))


def test_a_checkpoint_of_another_supernet_is_refused(saved):
    path, _ = saved
    with pytest.raises(CheckpointError, match=r"belongs to another supernet: 0.weight has shape \[4, 3\] there, "
                                              r"\[8, 3\] here \(and \d+ more\)"):
        checkpoint.load(path, Identity.of(_model(width=8), "k1"))


def _payload(model: nn.Module, **changes) -> dict:
    payload = {"format": checkpoint.FORMAT_VERSION, "identity": Identity.of(model, "k1").to_dict(), "epoch": 1,
               "model": model.state_dict(), "state": {}}
    payload.update(changes)
    payload["digest"] = checkpoint.digest(payload)
    return payload


def test_another_format_version_is_refused(tmp_path):
    path, model = tmp_path / "checkpoint.pt", _model()
    torch.save(_payload(model, format=2), path)
    with pytest.raises(CheckpointError, match=r"has format version 2; this version of bench reads version 1; "
                                              r"delete"):
        checkpoint.load(path, Identity.of(model, "k1"))
    torch.save({"model": model.state_dict(), "epochs_done": 1}, path)  # as bench wrote them before versions
    with pytest.raises(CheckpointError, match="written by an older version of bench"):
        checkpoint.load(path, Identity.of(model, "k1"))


def _run_code(marker: str) -> None:
    Path(marker).write_text("arbitrary code ran")


class Exploit:
    """Unpickling it calls _run_code: what a hostile checkpoint in a shared folder could do."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return _run_code, (self.marker,)


class Record:
    """An instance of an ordinary class: unpickling it needs the class, so it is refused as well."""

    def __init__(self):
        self.value = 1


@pytest.mark.parametrize("obj", ["exploit", "record"])
def test_a_pickled_object_is_refused_and_its_code_never_runs(tmp_path, obj):
    path, model, marker = tmp_path / "checkpoint.pt", _model(), tmp_path / "pwned"
    payload = _payload(model)
    payload["state"] = {"history": [Exploit(marker) if obj == "exploit" else Record()]}
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as caught:
        checkpoint.load(path, Identity.of(model, "k1"))
    name = f"{__name__}.{'_run_code' if obj == 'exploit' else 'Record'}"
    assert f"it holds a pickled Python object, {name}, which is never loaded" in str(caught.value)
    assert not marker.exists()
    # With a previous checkpoint beside it, that one is used instead; the object is still never loaded.
    _save(path.with_name("good.pt"), model, 1)
    os.replace(path.with_name("good.pt"), checkpoint.previous_path(path))
    assert checkpoint.load(path, Identity.of(model, "k1")).epoch == 1 and not marker.exists()


def test_only_plain_data_is_saved(tmp_path):
    state = {"tau": np.float64(0.5), "n": np.int64(3), "d": defaultdict(list, {1: [2.0]}), "t": (1, "a")}
    assert checkpoint.plain(state) == {"tau": 0.5, "n": 3, "d": {1: [2.0]}, "t": (1, "a")}
    assert type(checkpoint.plain(state)["tau"]) is float
    with pytest.raises(TypeError, match="not Record"):
        checkpoint.plain({"r": Record()})


def _fail_midway(monkeypatch):
    """torch.save writes part of the file, then the disk is full."""
    real = torch.save

    def full(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real(obj, buffer, *args, **kwargs)
        f.write(buffer.getvalue()[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full)


@pytest.mark.parametrize("how", ["torch.save fails midway", "/dev/full"])
def test_a_full_disk_leaves_the_checkpoints_intact(saved, monkeypatch, how):
    path, model = saved
    before = {p: p.read_bytes() for p in checkpoint.files(path)}
    tmp = path.with_name(path.name + ".tmp")
    if how == "/dev/full":
        if not os.path.exists("/dev/full"):
            pytest.skip("no /dev/full here")
        tmp.symlink_to("/dev/full")  # the temporary file's writes fail with ENOSPC
    else:
        _fail_midway(monkeypatch)
    with pytest.raises(CheckpointError) as caught:
        _save(path, model, 3)
    assert str(caught.value) == (f"could not write checkpoint {path} (No space left on device); checkpoint.pt and "
                                 "checkpoint.prev.pt are intact; free some disk space (or fix the file system) "
                                 "and run the same command again to resume")
    assert not caught.value.unusable and not os.path.lexists(tmp)
    assert {p: p.read_bytes() for p in checkpoint.files(path)} == before
    monkeypatch.undo()
    assert checkpoint.load(path, Identity.of(model, "k1")).epoch == 2


# -- runs: resumption, the CLI, grids --------------------------------------------------------------------


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """An uninterrupted 3-epoch run: what every resumed run must reproduce."""
    return execute_run(tiny(), out=tmp_path_factory.mktemp("whole") / "run", progress=False)


def interrupt(monkeypatch, out: Path, after: int, config=None) -> Path:
    """Run ``config`` (default tiny()) until ``after`` epochs are checkpointed, then kill it; its .partial dir."""
    original = Trainer.train_epoch

    def killed(self, epoch):
        if epoch == after:
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(Trainer, "train_epoch", killed)
    with pytest.raises(KeyboardInterrupt):
        execute_run(config or tiny(), out=out, progress=False)
    monkeypatch.setattr(Trainer, "train_epoch", original)
    return out.with_name(out.name + ".partial")


def assert_same_numbers(a: Path, b: Path) -> None:
    for name in ("scores.csv", "history.csv", "gradient_stats.csv"):
        x, y = pd.read_csv(a / name), pd.read_csv(b / name)
        if "seconds" in x:
            x, y = x.drop(columns="seconds"), y.drop(columns="seconds")
        pd.testing.assert_frame_equal(x, y)
    ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    for key in ("kendall_tau", "sparse_kendall_tau", "spearman", "grad_std"):
        assert ma[key] == mb[key], key


def test_resuming_from_the_previous_checkpoint_gives_the_numbers_of_an_uninterrupted_run(tmp_path, whole,
                                                                                            monkeypatch, capsys):
    partial = interrupt(monkeypatch, tmp_path / "run", after=2)
    newest = partial / "checkpoint.pt"
    assert torch.load(newest, weights_only=True)["epoch"] == 2
    assert torch.load(partial / "checkpoint.prev.pt", weights_only=True)["epoch"] == 1
    truncate(newest)
    capsys.readouterr()

    calls = []
    original = Trainer.train_epoch
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, e: calls.append(e) or original(self, e))
    resumed = execute_run(tiny(), out=tmp_path / "run", progress=False)
    assert calls == [1, 2]  # epoch 0 came from checkpoint.prev.pt
    assert capsys.readouterr().err == (f"bench: {newest} is damaged (truncated or corrupt: not a complete "
                                       "checkpoint file); resuming from checkpoint.prev.pt (after epoch 1); the "
                                       "damaged file is kept as checkpoint.pt.damaged\n")
    assert_same_numbers(whole.path, resumed.path)
    assert [p.name for p in resumed.path.glob("checkpoint*")] == ["checkpoint.pt"]


def test_a_run_checkpoint_holds_only_plain_data(tmp_path):
    # Every diagnostic that adds to the checkpoint: gradient statistics per cluster, GM matrices, tracked tau.
    config = tiny("train.epochs=2", "eval.track_every=1", "eval.track_pool=6", "diagnostics.gm_every=1",
                  "diagnostics.gm_batches=1", "heuristics.momentum_buffers=ms")
    record = execute_run(config, out=tmp_path / "run", progress=False)
    payload = torch.load(record.path / "checkpoint.pt", weights_only=True)

    def plain(value):
        if isinstance(value, dict):
            return all(type(k) in (str, int) and plain(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return isinstance(value, torch.Tensor) or type(value) in (str, int, float, bool, type(None))

    assert plain(payload)
    state = payload["state"]
    callbacks = state["callbacks"]  # every plug-in's state under its name
    assert callbacks["grad_stats"]["rows"] and callbacks["gm_scores"]["matrices"] and len(state["history"]) == 2
    assert callbacks["ranking_probe"] == {} and "grad_stats" not in state and "gm_matrices" not in state
    assert all(type(r["kendall_tau"]) is float for r in state["history"])


def test_a_checkpoint_with_the_diagnostics_at_the_top_level_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    # Before the diagnostics were trainer callbacks, a checkpoint held "grad_stats" and "gm_matrices" at the top
    # level of its state: such a run resumes as if it had never stopped.
    config = tiny("diagnostics.gm_every=1", "diagnostics.gm_batches=1")
    whole = execute_run(config, out=tmp_path / "whole", progress=False)
    partial = interrupt(monkeypatch, tmp_path / "run", after=2, config=config)
    (partial / "checkpoint.prev.pt").unlink()
    payload = torch.load(partial / "checkpoint.pt", weights_only=True)
    state = payload["state"]
    state["grad_stats"] = state["callbacks"].pop("grad_stats")
    state["gm_matrices"] = state["callbacks"].pop("gm_scores")["matrices"]
    assert state["grad_stats"]["rows"] and sorted(state["gm_matrices"]) == [1, 2]
    payload["digest"] = checkpoint.digest(payload)
    torch.save(payload, partial / "checkpoint.pt")

    calls = []
    original = Trainer.train_epoch
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, e: calls.append(e) or original(self, e))
    resumed = execute_run(config, out=tmp_path / "run", progress=False)
    assert calls == [2]
    assert_same_numbers(whole.path, resumed.path)
    pd.testing.assert_frame_equal(pd.read_csv(whole.path / "gm_scores.csv"), pd.read_csv(resumed.path / "gm_scores.csv"))


def test_a_run_refuses_the_checkpoint_of_another_config(tmp_path, monkeypatch):
    other = interrupt(monkeypatch, tmp_path / "other", after=1, config=tiny("seed=1"))
    partial = interrupt(monkeypatch, tmp_path / "run", after=1)
    shutil.copy(other / "checkpoint.pt", partial / "checkpoint.pt")
    with pytest.raises(CheckpointError, match=r"checkpoint .*run.partial/checkpoint.pt belongs to another run "
                                              r"\(run key '\w+'; this run's is '\w+'\); delete .*run.partial or "
                                              r"pass --restart to `bench run` to start the run afresh"):
        execute_run(tiny(), out=tmp_path / "run", progress=False)


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


CLI_SET = [x for item in TINY for x in ("--set", item)]


def test_cli_a_damaged_only_checkpoint_exits_2_with_one_line_and_restart_recovers(tmp_path, whole, monkeypatch):
    partial = interrupt(monkeypatch, tmp_path / "run", after=1)
    assert not (partial / "checkpoint.prev.pt").exists()
    random_bytes(partial / "checkpoint.pt")
    code, _, err = run_cli("run", "--quiet", "--out", tmp_path / "run", *CLI_SET)
    assert code == 2
    assert err == (f"bench: error: checkpoint {partial / 'checkpoint.pt'} is damaged (not a checkpoint file "
                   "at all) and there is no earlier one to resume from; delete "
                   f"{partial} or pass --restart to `bench run` to start the run afresh\n")
    code, out, err = run_cli("run", "--quiet", "--restart", "--out", tmp_path / "run", *CLI_SET)
    assert code == 0 and err == "" and "kendall_tau" in out
    assert_same_numbers(whole.path, tmp_path / "run")


def test_cli_a_full_disk_is_one_line_and_the_rerun_resumes(tmp_path, whole, monkeypatch):
    real = checkpoint.save

    def full_at_epoch_2(path, identity, epoch, *args, **kwargs):
        if epoch == 2:
            _fail_midway(monkeypatch)
        return real(path, identity, epoch, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "save", full_at_epoch_2)
    code, _, err = run_cli("run", "--quiet", "--out", tmp_path / "run", *CLI_SET)
    partial = tmp_path / "run.partial"
    assert code == 2
    assert err == (f"bench: error: could not write checkpoint {partial / 'checkpoint.pt'} (No space left on "
                   "device); checkpoint.pt is intact; free some disk space (or fix the file system) and run the "
                   "same command again to resume\n")
    monkeypatch.undo()
    assert torch.load(partial / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert not (partial / "checkpoint.pt.tmp").exists()
    code, _, err = run_cli("run", "--quiet", "--out", tmp_path / "run", *CLI_SET)
    assert code == 0 and err == ""
    assert_same_numbers(whole.path, tmp_path / "run")


def test_a_split_run_refuses_a_damaged_end_state(tmp_path):
    config = load_config(None, ["supernet.C=2", "supernet.N=1", "train.batch_size=256", "eval.pool_size=6",
                                "diagnostics.grad_stats=false", "train.epochs=2", "heuristics.partition.name=gm",
                                "heuristics.partition.splits=1", "heuristics.partition.warmup_epochs=1",
                                "heuristics.partition.gm_batches=1", "heuristics.partition.restart=false"])
    record = execute_run(config, out=tmp_path / "run", progress=False)
    (tmp_path / "run" / "metrics.json").unlink()  # as if killed before scoring: it resumes from end.pt files
    os.replace(tmp_path / "run", tmp_path / "run.partial")
    ends = sorted((tmp_path / "run.partial" / "nodes").glob("*/end.pt"))
    assert ends and not list((tmp_path / "run.partial" / "nodes").glob("*/checkpoint*.pt"))
    assert torch.load(ends[0], weights_only=True)["identity"]["key"].endswith("/" + ends[0].parent.name)
    shutil.copy(ends[-1], ends[0])  # another node's end state in the root's place
    with pytest.raises(CheckpointError, match=r"end.pt belongs to another run"):
        execute_run(config, out=tmp_path / "run", progress=False)
    truncate(ends[0])
    with pytest.raises(CheckpointError, match=r"nodes/0-[^/]+/end.pt is damaged \(truncated"):
        execute_run(config, out=tmp_path / "run", progress=False)
    again = execute_run(config, out=tmp_path / "run", progress=False, restart=True)
    assert again.metrics["kendall_tau"] == record.metrics["kendall_tau"]


@pytest.fixture
def thread_backend(monkeypatch):
    """An in-process executor of one thread (as in tests/test_grid.py)."""
    from bench.grid.executors import SHARED, Backend
    from bench.grid.worker import THREAD_ENV_VARS, usable_cpus

    for var in THREAD_ENV_VARS:
        monkeypatch.setenv(var, os.environ.get(var, str(usable_cpus())))
    previous = torch.get_num_threads()
    backend = Backend("threads", concurrent.futures.ThreadPoolExecutor(1), lambda: 1, SHARED, 1, local_data=True)
    yield backend
    backend.executor.shutdown()
    torch.set_num_threads(previous)


def test_a_grid_records_a_damaged_checkpoint_as_one_line_and_retry_starts_it_afresh(tmp_path, thread_backend):
    from bench.grid import load_grid
    from bench.grid.runner import run_grid

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "t", "base": {"train": {"epochs": 1, "batch_size": 128},
                                                          "supernet": {"C": 2, "N": 1}, "eval": {"pool_size": 6}},
                                    "seeds": [0, 1]}))
    grid = load_grid(spec)
    out = tmp_path / "g"
    bad = grid.runs[0]
    partial = out / "runs" / f"{bad.key}.partial"
    partial.mkdir(parents=True)
    (partial / "config.yaml").write_text(to_yaml(bad.config))
    (partial / "checkpoint.pt").write_bytes(b"")  # an interrupted copy left it empty

    report = run_grid(grid, out, thread_backend, progress=False)
    assert report.failed == [bad.key] and report.trained == [grid.runs[1].key]  # the grid went on
    failure = json.loads((out / "failed" / f"{bad.key}.json").read_text())
    assert failure["error_type"] == "CheckpointError" and failure["traceback"] is None
    assert failure["error"] == (f"checkpoint {partial / 'checkpoint.pt'} is damaged (empty file) and there is no "
                                "earlier one to resume from; `bench grid --retry-failed` starts this run afresh")
    log = (out / "logs" / f"{bad.key}.log").read_text()
    assert f"CheckpointError: {failure['error']}\n" in log and "Traceback" not in log

    report = run_grid(grid, out, thread_backend, retry_failed=True, progress=False)
    assert report.trained == [bad.key] and not report.failed
    assert not (out / "failed" / f"{bad.key}.json").exists() and (out / "runs" / bad.key / "metrics.json").is_file()
    assert "is damaged (empty file) and there is no earlier one to resume from; starting the run afresh" in \
        (out / "logs" / f"{bad.key}.log").read_text()


def test_the_grid_worker_knows_the_checkpoint_files():
    from bench.grid.worker import CHECKPOINT_FILES

    path = Path("checkpoint.pt")
    assert set(CHECKPOINT_FILES) == {p.name for p in (path, *checkpoint.spares(path))}


def test_the_grid_worker_names_every_file_a_checkpoint_keeps_beside_it():
    """The worker lists them without importing bench.checkpoint (torch): the two lists must not drift apart."""
    from bench.grid.worker import CHECKPOINT_FILE, CHECKPOINT_FILES

    path = Path(CHECKPOINT_FILE)
    assert set(CHECKPOINT_FILES) == {path.name, *(p.name for p in checkpoint.spares(path))}
