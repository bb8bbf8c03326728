"""End-to-end runs on the embedded digits task: record, determinism, resumption."""

import json

import pandas as pd
import pytest
import yaml

from bench.config import ConfigError, load_config
from bench.data import DataError
from bench.run import config_hash, execute_run
from bench.train import Trainer

TINY = ["train.epochs=2", "supernet.C=4", "supernet.N=1", "eval.pool_size=10", "train.batch_size=128",
        "diagnostics.grad_window=2"]


def tiny(*extra):
    return load_config(None, TINY + list(extra))


def test_run_writes_a_complete_record(tmp_path):
    record = execute_run(tiny(), out=tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert record.path == run and not (tmp_path / "run.partial").exists()
    for name in ("config.yaml", "history.csv", "scores.csv", "metrics.json", "environment.json", "checkpoint.pt"):
        assert (run / name).is_file(), name
    assert load_config(run / "config.yaml") == tiny()
    history = pd.read_csv(run / "history.csv")
    assert list(history.columns) == ["epoch", "loss", "train_accuracy", "lr", "seconds", "images", "kendall_tau",
                                     "sparse_kendall_tau"]
    assert len(history) == 2 and history["kendall_tau"].isna().all()  # tracking is off by default
    scores = pd.read_csv(run / "scores.csv")
    assert list(scores.columns) == ["arch_str", "supernet_accuracy", "ground_truth", "params", "flops"]
    assert len(scores) == 10 and scores["params"].min() > 0
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("kendall_tau", "sparse_kendall_tau", "spearman", "complexity_bias", "complexity_bias_matched",
                "complexity_convergence_correlation", "grad_std", "grad_cos_successive", "train_seconds"):
        assert key in metrics
    assert -1 <= metrics["kendall_tau"] <= 1
    # BR@K / WR@K from the scores written beside them: the pool of 10 keeps ceil(K * 10) = 1 subnet at 1%-10%
    best = scores["supernet_accuracy"].idxmax()  # ties by pool order, as idxmax takes the first
    rank = (scores["ground_truth"] > scores.loc[best, "ground_truth"]).sum() / len(scores)
    for k in ("1pct", "5pct", "10pct"):
        assert metrics[f"best_rank_at_{k}"] == metrics[f"worst_rank_at_{k}"] == pytest.approx(rank)
    env = json.loads((run / "environment.json").read_text())
    assert env["packages"]["torch"] and "commit" in env["git"]


def test_same_config_and_seed_give_the_same_numbers(tmp_path):
    a = execute_run(tiny(), out=tmp_path / "a", progress=False)
    b = execute_run(tiny(), out=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(pd.read_csv(a.path / "scores.csv"), pd.read_csv(b.path / "scores.csv"))
    assert pd.read_csv(a.path / "history.csv")["loss"].tolist() == pd.read_csv(b.path / "history.csv")["loss"].tolist()
    c = execute_run(tiny("seed=1"), out=tmp_path / "c", progress=False)
    assert pd.read_csv(c.path / "history.csv")["loss"].tolist() != pd.read_csv(a.path / "history.csv")["loss"].tolist()


@pytest.mark.parametrize("bn", ["batch_stats", "recalibrated"])
def test_ranking_tracking_records_tau_and_leaves_training_unchanged(tmp_path, bn):
    plain = execute_run(tiny("train.epochs=3", f"heuristics.bn={bn}"), out=tmp_path / "plain", progress=False)
    tracked = execute_run(tiny("train.epochs=3", f"heuristics.bn={bn}", "eval.track_every=2", "eval.track_pool=6"),
                          out=tmp_path / "tracked", progress=False)
    history = pd.read_csv(tracked.path / "history.csv")
    # Epoch 2 (every 2nd) and epoch 3 (the last) are measured; epoch 1 is not.
    assert history["kendall_tau"].isna().tolist() == [True, False, False]
    assert history["kendall_tau"].between(-1, 1).iloc[1:].all()
    # Scoring between epochs restores BN buffers and the torch generator: training is untouched.
    plain_history = pd.read_csv(plain.path / "history.csv")
    assert history["loss"].tolist() == plain_history["loss"].tolist()
    pd.testing.assert_frame_equal(pd.read_csv(tracked.path / "scores.csv"), pd.read_csv(plain.path / "scores.csv"))


def test_tracking_off_keeps_the_run_key_of_older_versions():
    config = tiny()
    assert config_hash(config) != config_hash(tiny("eval.track_every=1"))
    assert config_hash(config) == config_hash(tiny("eval.track_pool=7"))  # only meaningful with tracking on


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    # Every plug-in with state or output: gradient statistics, the GM probe, ranking tracking.
    config = tiny("train.epochs=3", "diagnostics.gm_every=1", "diagnostics.gm_batches=1", "eval.track_every=2",
                  "eval.track_pool=6")
    whole = execute_run(config, out=tmp_path / "whole", progress=False)

    original = Trainer.train_epoch

    def killed_in_epoch_2(self, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(Trainer, "train_epoch", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        execute_run(config, out=tmp_path / "resumed", progress=False)
    assert (tmp_path / "resumed.partial" / "checkpoint.pt").is_file()
    assert not (tmp_path / "resumed").exists()
    monkeypatch.setattr(Trainer, "train_epoch", original)

    calls = []
    monkeypatch.setattr(Trainer, "train_epoch", lambda self, e: calls.append(e) or original(self, e))
    resumed = execute_run(config, out=tmp_path / "resumed", progress=False)
    assert calls == [1, 2]  # epoch 0 came from the checkpoint
    for name in ("scores.csv", "gradient_stats.csv", "gm_scores.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(whole.path / name), pd.read_csv(resumed.path / name))
    h1, h2 = (pd.read_csv(r.path / "history.csv").drop(columns="seconds") for r in (whole, resumed))
    pd.testing.assert_frame_equal(h1, h2)
    assert h1["kendall_tau"].notna().tolist() == [False, True, True]
    assert sorted(pd.read_csv(resumed.path / "gm_scores.csv")["epoch"].unique()) == [1, 2, 3]
    for key in ("grad_std", "grad_cos_successive", "gm_edge"):
        assert whole.metrics[key] == resumed.metrics[key], key


def test_complete_run_is_not_trained_again(tmp_path, monkeypatch):
    execute_run(tiny(), out=tmp_path / "r", progress=False)
    monkeypatch.setattr(Trainer, "fit", lambda self: pytest.fail("trained a complete run again"))
    assert "kendall_tau" in execute_run(tiny(), out=tmp_path / "r", progress=False).metrics


def test_partial_run_with_another_config_is_refused(tmp_path):
    (tmp_path / "r.partial").mkdir()
    (tmp_path / "r.partial" / "config.yaml").write_text(yaml.safe_dump({"name": "other"}))
    with pytest.raises(ConfigError, match="different config"):
        execute_run(tiny(), out=tmp_path / "r", progress=False)


def test_running_bn_with_recalibration(tmp_path):
    record = execute_run(tiny("heuristics.bn.name=recalibrated", "heuristics.bn.batches=2"), out=tmp_path / "r",
                         progress=False)
    assert 0 <= pd.read_csv(record.path / "scores.csv")["supernet_accuracy"].max() <= 100


def test_config_hash_is_stable_and_sensitive():
    assert config_hash(tiny()) == config_hash(tiny())
    assert config_hash(tiny()) != config_hash(tiny("train.lr=0.05"))
    assert len(config_hash(tiny())) == 12


def test_cifar10_without_data_dir_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="needs a data directory: pass --data-dir"):
        execute_run(tiny("data.dataset=cifar10"), out=tmp_path / "r", progress=False)
    with pytest.raises(DataError):
        execute_run(tiny("data.dataset=cifar10"), data_dir=tmp_path, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r.partial").exists()


def test_pool_larger_than_ground_truth_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="eval.pool_size = 100000 exceeds"):
        execute_run(tiny("eval.pool_size=100000"), out=tmp_path / "r", progress=False)


def test_top_cell_samples_report_spearman_and_rank_at_k(tmp_path):
    record = execute_run(tiny("train.epochs=1", "eval.top_sample=4"), out=tmp_path / "run", progress=False)
    tops = pd.read_csv(record.path / "scores_top.csv")
    for percent in (1, 5):
        frame = tops[tops["top_percent"] == percent].reset_index(drop=True)
        # at most 4: the embedded table's true top 1% may hold fewer cells
        assert 2 <= len(frame) == record.metrics[f"top{percent}pct_sample"] <= 4
        best = frame["supernet_accuracy"].idxmax()
        rank = (frame["ground_truth"] > frame.loc[best, "ground_truth"]).sum() / len(frame)
        assert record.metrics[f"best_rank_at_10pct_space_top{percent}pct"] == pytest.approx(rank)
        assert f"spearman_space_top{percent}pct" in record.metrics


def test_a_finished_run_reloads_to_its_own_scores(tmp_path):
    from bench.checkpoint import CheckpointError
    from bench.data import DeviceBatches
    from bench.evaluate import score_pool
    from bench.run import load_trained_supernet, prepare_evaluation
    from bench.tasks import crop_padding, load_split

    config = tiny()
    execute_run(config, out=tmp_path / "run", progress=False)
    model, epochs = load_trained_supernet(tmp_path / "run")
    assert epochs == config.train.epochs
    evaluation = prepare_evaluation(config)
    train, held_out = load_split(evaluation.task, config.data, None)
    batches = DeviceBatches(train, config.train.batch_size, "cpu", pad=crop_padding(evaluation.task, config.data))
    eval_batches = DeviceBatches(held_out, config.eval.batch_size, "cpu", augment=False, shuffle=False,
                                 drop_last=False, mean=batches.mean, std=batches.std)
    rescored = score_pool(model, evaluation.benchmark.archs(evaluation.pool), eval_batches, progress=False)
    recorded = pd.read_csv(tmp_path / "run" / "scores.csv")["supernet_accuracy"]
    assert rescored.tolist() == pytest.approx(recorded.tolist(), abs=1e-9)

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.yaml").write_text((tmp_path / "run" / "config.yaml").read_text())
    with pytest.raises(CheckpointError, match="holds no checkpoint.pt"):
        load_trained_supernet(tmp_path / "empty")
