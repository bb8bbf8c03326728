"""Trainer plug-ins (bench.train.Callback): step hooks see every subnet and step, epoch hooks run in order and
set record fields, their states are checkpointed, and runs built by bench.assembly wire the config's plug-ins."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench import checkpoint
from bench.assembly import Scoring, assemble, run_callbacks
from bench.config import load_config
from bench.data import DeviceBatches, load_digits
from bench.estimators import EpochAveragedScores
from bench.evaluate import RankingProbe
from bench.metrics.gradients import GMProbe, GradientStats
from bench.seeds import epoch_rng
from bench.spaces import nb201 as space
from bench.tasks import get_task
from bench.train import SAMPLER_STREAM, Trainer, TrainerCallback

DIGITS = get_task("digits")
TINY = ["supernet.C=2", "supernet.N=1", "train.batch_size=32", "train.epochs=2"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def batches():
    return DeviceBatches(load_digits().subset(np.arange(128)), 32, pad=1, flip=False, seed=0)  # 4 steps an epoch


def _trainer(batches, *overrides, callbacks=(), checkpoint_dir=None) -> Trainer:
    """A tiny run's trainer; ``callbacks``: a list, or ``factory(model, recipe)``."""
    config = load_config(None, TINY + list(overrides))
    factory = callbacks if callable(callbacks) else lambda model, recipe: callbacks
    return assemble(config, DIGITS, batches, progress=False, checkpoint_dir=checkpoint_dir, callbacks=factory).trainer


class StepLog(TrainerCallback):
    """Logs every hook call, and the optimizer steps beside them."""

    name = "step_log"

    def __init__(self):
        self.events = []

    def on_subnet_end(self, trainer, step):
        self.events.append(("subnet", step))

    def on_step_end(self, trainer, step, cluster):
        self.events.append(("step", step, cluster))


def test_step_hooks_see_every_subnet_and_step_before_the_optimizer_step(batches, monkeypatch):
    log = StepLog()
    # FairNAS trains 5 subnets a step; MS gives the steps their clusters.
    trainer = _trainer(batches, "heuristics.sampling=fairnas", "heuristics.momentum_buffers=ms", callbacks=[log])
    step_of_optimizer = trainer.optimizer.step
    monkeypatch.setattr(trainer.optimizer, "step",
                        lambda cluster: log.events.append(("optimizer", cluster)) or step_of_optimizer(cluster=cluster))
    trainer.fit()
    expected, plans = [], []
    for epoch in range(2):
        plans += trainer.recipe.sampler.plan_epoch(epoch_rng(trainer.seed, epoch, SAMPLER_STREAM), len(batches))
    for step, plan in enumerate(plans):
        expected += [("subnet", step)] * len(plan.archs)
        expected += [("step", step, plan.cluster), ("optimizer", plan.cluster)]
    assert log.events == expected
    assert {len(p.archs) for p in plans} == {5} and len({p.cluster for p in plans}) > 1


def test_only_callbacks_that_define_step_hooks_are_called_in_the_step(batches):
    class EpochOnly(TrainerCallback):
        name = "epoch_only"

    class Plain:  # the protocol without the base class: no step hooks at all
        name = "plain"

        def on_epoch_end(self, trainer, epochs_done):
            return None

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    log = StepLog()
    trainer = _trainer(batches, callbacks=[EpochOnly(), Plain(), log])
    assert trainer._subnet_hooks == [log.on_subnet_end] and trainer._step_hooks == [log.on_step_end]
    assert not _trainer(batches, callbacks=[EpochOnly(), Plain()])._step_hooks


class Recorder(TrainerCallback):
    def __init__(self, name, calls, fields=None, every=1):
        self.name, self.calls, self.fields, self.every = name, calls, fields or {}, every
        self.seen = []

    def on_epoch_end(self, trainer, epochs_done):
        # The epoch's record is not in the history yet, nor is its checkpoint written.
        self.calls.append((self.name, epochs_done, len(trainer.state.history), trainer.state.epochs_done))
        self.seen.append(epochs_done)
        return self.fields if epochs_done % self.every == 0 else None

    def state_dict(self):
        return {"seen": list(self.seen)}

    def load_state_dict(self, state):
        self.seen = list(state.get("seen", []))


def test_epoch_hooks_run_in_order_and_merge_their_record_fields(batches, tmp_path):
    calls = []
    first = Recorder("first", calls, {"kendall_tau": 0.25})
    second = Recorder("second", calls, {"kendall_tau": 0.5, "sparse_kendall_tau": 0.75}, every=2)
    trainer = _trainer(batches, callbacks=[first, second], checkpoint_dir=tmp_path)
    history = trainer.fit()
    assert calls == [("first", 1, 0, 0), ("second", 1, 0, 0), ("first", 2, 1, 1), ("second", 2, 1, 1)]
    # Epoch 1: only the first set a field; epoch 2: the later callback's value wins.
    assert (history[0].kendall_tau, np.isnan(history[0].sparse_kendall_tau)) == (0.25, True)
    assert (history[1].kendall_tau, history[1].sparse_kendall_tau) == (0.5, 0.75)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state"]["callbacks"]
    assert saved == {"first": {"seen": [1, 2]}, "second": {"seen": [1, 2]}}  # saved after the hooks ran

    resumed = _trainer(batches, callbacks=[Recorder("first", []), Recorder("second", [])], checkpoint_dir=tmp_path)
    assert resumed.try_resume() and [c.seen for c in resumed.callbacks] == [[1, 2], [1, 2]]


def test_a_field_that_is_not_in_the_record_is_refused(batches):
    trainer = _trainer(batches, callbacks=[Recorder("bad", [], {"no_such_field": 1.0})])
    with pytest.raises(TypeError, match="no_such_field"):
        trainer.fit()


def test_callbacks_need_distinct_names(batches):
    with pytest.raises(ValueError, match="distinct names"):
        _trainer(batches, callbacks=[Recorder("same", []), Recorder("same", [])])


def test_a_callback_state_that_does_not_fit_makes_the_checkpoint_unusable(batches, tmp_path):
    def with_stats(model, recipe):
        return [GradientStats(model, window=2)]

    _trainer(batches, callbacks=with_stats, checkpoint_dir=tmp_path).fit(until=1)
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del payload["state"]["callbacks"]["grad_stats"]["rows"]
    payload["digest"] = checkpoint.digest(payload)  # intact as a file; only the plug-in's state is wrong
    torch.save(payload, tmp_path / "checkpoint.pt")
    again = _trainer(batches, callbacks=with_stats, checkpoint_dir=tmp_path)
    with pytest.raises(checkpoint.CheckpointError, match="incomplete gradient statistics"):
        again.try_resume()


def test_run_callbacks_follow_the_config_in_epoch_hook_order(batches):
    config = load_config(None, TINY + ["eval.track_every=1", "eval.track_pool=4", "eval.average_last=2",
                                       "diagnostics.gm_every=1", "heuristics.momentum_buffers=ms"])
    pool = space.sample_archs(6, seed=0)
    scoring = Scoring(pool, np.arange(6.0), batches, 0, batches)
    built = assemble(config, DIGITS, batches, progress=False,
                     callbacks=lambda model, recipe: run_callbacks(config, model, recipe, scoring))
    callbacks = built.trainer.callbacks
    assert [type(c) for c in callbacks] == [RankingProbe, EpochAveragedScores, GradientStats, GMProbe]
    probe, _, stats, gm = callbacks
    assert len(probe.pool) == 4 and probe.every == 1 and stats.per_cluster and gm.every == 1
    assert built.trainer._step_hooks == [stats.on_step_end]
    # Without the scoring (bench perf) only the diagnostics are built; with grad_stats off, none of them.
    assert [type(c) for c in run_callbacks(config, built.model, built.recipe)] == [GradientStats, GMProbe]
    off = load_config(None, TINY + ["diagnostics.grad_stats=false"])
    assert run_callbacks(off, built.model, built.recipe) == []
