"""Adaptive scoring (bench.adaptive): the racing rule on synthetic correctness, and end to end on digits."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from bench.adaptive import adaptive_scores, prefix_schedule
from bench.config import ConfigError, load_config
from bench.run import config_hash, execute_run

TINY = ["train.epochs=2", "supernet.C=4", "supernet.N=1", "eval.pool_size=10", "train.batch_size=128",
        "diagnostics.grad_window=2"]


def tiny(*extra):
    return load_config(None, TINY + list(extra))


def bernoulli(accuracies, images, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((len(accuracies), images)) < np.asarray(accuracies)[:, None]


def run(correct, calls=None, **kw):
    def score(i, start, stop):
        if calls is not None:
            calls.append((i, start, stop))
        return correct[i, start:stop]

    return adaptive_scores(correct.shape[0], correct.shape[1], score, **kw)


def test_well_separated_subnets_stop_after_the_first_slice():
    correct = bernoulli([0.1, 0.3, 0.5, 0.7, 0.9], 8000)
    result = run(correct, first=500)
    assert result.images.tolist() == [500] * 5 and result.rounds == 1
    np.testing.assert_allclose(result.accuracy, 100 * correct[:, :500].mean(axis=1))


def test_close_subnets_get_the_full_set_and_a_separated_one_does_not():
    base = bernoulli([0.5], 6000)[0]
    correct = np.stack([base, base.copy(), bernoulli([0.97], 6000, seed=1)[0]])
    result = run(correct, first=500, tolerance=0.0)
    assert result.images.tolist() == [6000, 6000, 500]
    np.testing.assert_allclose(result.accuracy[:2], 100 * base.mean())
    # within the indifference zone the tie is settled at once
    assert run(correct, first=500, tolerance=2.0).images.tolist() == [500, 500, 500]


def test_a_near_tie_is_scored_further_until_it_is_settled():
    rng = np.random.default_rng(3)
    a = rng.random(20000) < 0.6
    b = a.copy()
    flip = np.flatnonzero(rng.random(20000) < 0.02)  # b loses 2% of images: 1.2 points below a
    b[flip] = False
    correct = np.stack([a, b])
    result = run(correct, first=250, confidence=0.95, tolerance=0.0)
    assert 250 < result.images[0] < 20000 and result.images[0] == result.images[1]
    assert result.accuracy[0] > result.accuracy[1]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("first, tolerance", [(100, 0.0), (300, 0.5), (1000, 2.0), (5000, 1.0)])
def test_never_more_than_the_full_set_and_scores_are_prefix_accuracies(seed, first, tolerance):
    rng = np.random.default_rng(seed)
    correct = bernoulli(rng.uniform(0.3, 0.7, 30), 3000, seed=seed)
    calls = []
    result = run(correct, calls, first=first, tolerance=tolerance, align=64)
    assert result.images.max() <= 3000 and result.total_images <= correct.size
    for i, n in enumerate(result.images):
        assert result.accuracy[i] == pytest.approx(100 * correct[i, :n].mean())
    # each subnet's calls cover one prefix contiguously, boundaries on whole batches of 64 (or the end)
    for i in range(30):
        ranges = [(a, b) for j, a, b in calls if j == i]
        assert ranges[0][0] == 0 and all(p[1] == q[0] for p, q in itertools.pairwise(ranges))
        assert ranges[-1][1] == result.images[i]
        assert all(b % 64 == 0 or b == 3000 for _, b in ranges)


def test_deterministic():
    correct = bernoulli(np.linspace(0.4, 0.6, 40), 4000, seed=7)
    a, b = run(correct, first=200), run(correct, first=200)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.accuracy, b.accuracy)


def test_prefix_schedule_doubles_on_whole_batches():
    assert prefix_schedule(25000, 500) == [500, 1000, 2000, 4000, 8000, 16000, 25000]
    assert prefix_schedule(1000, 300, align=256) == [512, 1000]
    assert prefix_schedule(400, 500) == [400]


def test_bad_arguments_are_refused():
    correct = bernoulli([0.5, 0.6], 100)
    with pytest.raises(ValueError, match="confidence"):
        run(correct, confidence=1.0)
    with pytest.raises(ValueError, match="returned 3 values"):
        adaptive_scores(2, 100, lambda i, a, b: np.ones(3, bool))


def test_bad_scoring_value_is_refused_naming_the_allowed_values():
    with pytest.raises(ConfigError, match=r"eval.scoring = 'fast'.*'full', 'adaptive'"):
        tiny("eval.scoring=fast")
    with pytest.raises(ConfigError, match="eval.adaptive_confidence"):
        tiny("eval.adaptive_confidence=1.5")


def test_full_scoring_keeps_the_run_key():
    assert config_hash(tiny()) == config_hash(tiny("eval.scoring=full", "eval.adaptive_first=500"))
    assert config_hash(tiny()) != config_hash(tiny("eval.scoring=adaptive"))


def test_adaptive_run_records_images_and_matches_full_scores_where_it_saw_everything(tmp_path):
    full = execute_run(tiny(), out=tmp_path / "full", progress=False)
    execute_run(tiny("eval.scoring=adaptive", "eval.adaptive_first=200", "eval.adaptive_tolerance=0"),
                out=tmp_path / "adaptive", progress=False)
    f_scores = pd.read_csv(tmp_path / "full" / "scores.csv")
    a_scores = pd.read_csv(tmp_path / "adaptive" / "scores.csv")
    assert "images" not in f_scores.columns and list(a_scores.columns)[-1] == "images"
    held_out = full.metrics["score_images_full"] // 10
    assert full.metrics["score_images"] == full.metrics["score_images_full"] == 10 * held_out
    m = json.loads((tmp_path / "adaptive" / "metrics.json").read_text())
    assert m["score_images_full"] == 10 * held_out
    assert m["score_images"] == a_scores["images"].sum() <= m["score_images_full"]
    assert a_scores["images"].min() >= 256  # the first slice, rounded up to a whole scoring batch
    whole = a_scores["images"] == held_out
    # same training (scoring does not touch it), whole batches: a subnet that saw every image has its full score
    np.testing.assert_array_equal(a_scores.loc[whole, "supernet_accuracy"], f_scores.loc[whole, "supernet_accuracy"])
