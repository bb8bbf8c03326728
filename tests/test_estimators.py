"""The epoch-averaged score estimator (bench.estimators, eval.average_last): our addition beside the papers'."""

import json

import numpy as np
import pandas as pd
import pytest

from bench.config import ConfigError, load_config
from bench.estimators import EpochAveragedScores
from bench.run import execute_run
from bench.train import Trainer

TINY = ["train.epochs=3", "supernet.C=4", "supernet.N=1", "eval.pool_size=12", "train.batch_size=128"]


def tiny(*extra):
    return load_config(None, TINY + list(extra))


def test_averaging_leaves_the_papers_scores_as_they_are(tmp_path, monkeypatch):
    plain = execute_run(tiny(), out=tmp_path / "plain", progress=False)
    recorded = {}
    original = Trainer.fit

    def keep_callbacks(self, until=None):
        recorded["callbacks"] = self.callbacks
        return original(self, until)

    monkeypatch.setattr(Trainer, "fit", keep_callbacks)
    averaged = execute_run(tiny("eval.average_last=3"), out=tmp_path / "averaged", progress=False)
    a, b = pd.read_csv(plain.path / "scores.csv"), pd.read_csv(averaged.path / "scores.csv")
    assert a["supernet_accuracy"].tolist() == b["supernet_accuracy"].tolist()
    (callback,) = [c for c in recorded["callbacks"] if isinstance(c, EpochAveragedScores)]  # beside grad_stats
    assert sorted(callback.scores) == [1, 2]  # epochs 1 and 2; the last epoch's are the final scores
    expected = np.mean([callback.scores[1], callback.scores[2], b["supernet_accuracy"].tolist()], axis=0)
    np.testing.assert_allclose(b["supernet_accuracy_averaged"], expected)
    metrics = json.loads((averaged.path / "metrics.json").read_text())
    assert metrics["averaged_epochs"] == 3
    assert -1 <= metrics["kendall_tau_averaged"] <= 1
    assert "kendall_tau_averaged" not in json.loads((plain.path / "metrics.json").read_text())


def test_averaging_one_epoch_is_the_papers_estimator(tmp_path):
    run = execute_run(tiny("eval.average_last=1"), out=tmp_path / "one", progress=False)
    frame = pd.read_csv(run.path / "scores.csv")
    assert frame["supernet_accuracy_averaged"].tolist() == frame["supernet_accuracy"].tolist()
    assert run.metrics["kendall_tau_averaged"] == run.metrics["kendall_tau"]


def test_an_interrupted_run_keeps_its_averaged_scores(tmp_path, monkeypatch):
    config = tiny("eval.average_last=3")
    whole = execute_run(config, out=tmp_path / "whole", progress=False)
    original = Trainer.train_epoch

    def killed_in_epoch_3(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(Trainer, "train_epoch", killed_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        execute_run(config, out=tmp_path / "resumed", progress=False)
    monkeypatch.setattr(Trainer, "train_epoch", original)
    resumed = execute_run(config, out=tmp_path / "resumed", progress=False)
    pd.testing.assert_frame_equal(pd.read_csv(whole.path / "scores.csv"), pd.read_csv(resumed.path / "scores.csv"))


@pytest.mark.parametrize("overrides, problem", [
    (["eval.average_last=4"], "exceeds train.epochs = 3"),
    (["eval.average_last=2", "eval.scoring=adaptive"], "needs eval.scoring = 'full'"),
    (["eval.average_last=2", "heuristics.partition={name: few-shot, warmup_epochs: 1}"], "split run"),
])
def test_averaging_refuses_what_it_cannot_average(overrides, problem):
    with pytest.raises(ConfigError, match=problem):
        tiny(*overrides)
