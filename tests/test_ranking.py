"""Ranking metrics: correlations, sparse Kendall tau, top-k precision, P>R, final accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bench.metrics.ranking import (
    final_accuracy,
    kendall_tau,
    p_beats_random,
    ranking_metrics,
    sparse_bins,
    sparse_kendall_tau,
    spearman,
    spearman_top,
    top_k_count,
    top_k_precision,
)

TRUTH = np.array([90.2, 91.7, 90.9, 92.1, 91.1])


def test_perfect_and_reversed_orders():
    rng = np.random.default_rng(0)
    truth = rng.uniform(10, 95, 200)
    assert kendall_tau(truth, truth) == pytest.approx(1.0)
    assert kendall_tau(-truth, truth) == pytest.approx(-1.0)
    assert spearman(2 * truth + 1, truth) == pytest.approx(1.0)
    assert spearman(-truth, truth) == pytest.approx(-1.0)
    # distinct bins (threshold finer than every gap): reversed is -1 as well
    distinct = np.arange(10) * 2.0
    assert sparse_kendall_tau(-distinct, distinct, threshold=1.0) == pytest.approx(-1.0)


def test_kendall_tau_is_tau_b():
    scores = [1, 2, 2, 3, 5, 4]
    truth = [1, 1, 2, 3, 4, 5]
    assert kendall_tau(scores, truth) == pytest.approx(stats.kendalltau(scores, truth, variant="b").statistic)


def test_sparse_tau_perfect_is_exactly_one():
    rng = np.random.default_rng(1)
    truth = np.round(rng.uniform(30, 95, 200), 2)
    for threshold in (0.1, 1.0, 5.0):
        assert sparse_kendall_tau(truth, truth, threshold) == 1.0
        assert sparse_kendall_tau(np.exp(truth / 10), truth, threshold) == 1.0  # any monotone map


def test_sparse_tau_ignores_swaps_within_a_bin():
    truth = np.array([90.1, 90.8, 91.3, 91.9, 93.5, 93.0])  # bins (threshold 1): 0 0 1 1 2 2
    scores = truth.copy()
    scores[[0, 1]] = scores[[1, 0]]  # swap within bin 0
    scores[[4, 5]] = scores[[5, 4]]  # and within bin 2
    assert sparse_kendall_tau(scores, truth, 1.0) == 1.0
    assert kendall_tau(scores, truth) < 1.0
    # a swap across bins does cost
    scores = truth.copy()
    scores[[1, 2]] = scores[[2, 1]]
    assert sparse_kendall_tau(scores, truth, 1.0) < 1.0


def test_sparse_tau_hand_computed():
    # truth 90.2 91.7 90.9 92.1 91.1, threshold 1 -> floor 90 91 90 92 91 -> bins 0 1 0 2 1
    # in ground-truth order (90.2 90.9 91.1 91.7 92.1):      x = [0, 0, 1, 1, 2]
    # scores 0.1 0.5 0.4 0.3 0.2 ascending -> subnets 0 4 3 2 1: y = [0, 1, 2, 0, 1]
    # pairs with x_i < x_j: (0,2) C, (0,3) y tie, (0,4) C, (1,2) C, (1,3) D, (1,4) y tie,
    # (2,4) D, (3,4) C  ->  C = 4, D = 2; ties in x: 2 pairs, ties in y: 2 pairs
    # tau_b = (4 - 2) / sqrt((10 - 2) * (10 - 2)) = 2 / 8 = 0.25
    scores = np.array([0.1, 0.5, 0.4, 0.3, 0.2])
    np.testing.assert_array_equal(sparse_bins(TRUTH, 1.0), [0, 1, 0, 2, 1])
    assert sparse_kendall_tau(scores, TRUTH, threshold=1.0) == 0.25
    # tau-b between the scores and the rounded truth is another number: over the 10 pairs
    # of the pool, C = 5, D = 3, no score ties, 2 truth ties -> 2 / sqrt(10 * 8) = 0.2236
    assert kendall_tau(scores, np.floor(TRUTH)) == pytest.approx(2 / math.sqrt(80))
    assert kendall_tau(scores, np.floor(TRUTH)) != pytest.approx(0.25)


def test_sparse_tau_score_ties_follow_pool_order():
    truth = np.array([10.0, 20.0, 30.0])
    # all scores tie: the supernet order is the pool order, bins 0 1 2 -> tau 1
    assert sparse_kendall_tau([5.0, 5.0, 5.0], truth) == 1.0
    # the same pool listed in reverse: supernet order bins 2 1 0 -> tau -1
    assert sparse_kendall_tau([5.0, 5.0, 5.0], truth[::-1]) == -1.0


def test_sparse_bins_edges_and_threshold():
    # 91.6 / 0.1 is 915.999... in floating point; it belongs in the bin that starts at 91.6
    np.testing.assert_array_equal(sparse_bins([91.59, 91.6, 91.69, 91.7], 0.1), [0, 1, 1, 2])
    np.testing.assert_array_equal(sparse_bins([0.911, 0.9112, 0.912], 1e-3), [0, 0, 1])
    assert math.isnan(sparse_kendall_tau([1.0, 2.0, 3.0], [90.1, 90.5, 90.9], threshold=1.0))  # one bin
    with pytest.raises(ValueError, match="threshold"):
        sparse_kendall_tau([1, 2], [1, 2], threshold=0)


def test_top_k_precision():
    truth = np.arange(20, dtype=float)  # true top 10% (k=2): subnets 19, 18
    scores = truth.copy()
    assert top_k_precision(scores, truth, 10) == 1.0
    scores[18] = -1.0  # supernet top-2: 19, 17
    assert top_k_precision(scores, truth, 10) == 0.5
    assert top_k_precision(-truth, truth, 10) == 0.0
    assert top_k_precision(scores, truth, 100) == 1.0
    assert top_k_count(20, 1) == 1  # at least one
    assert top_k_count(50, 5) == 3  # 2.5 rounds up
    with pytest.raises(ValueError, match="k_percent"):
        top_k_precision(scores, truth, 0)


def test_p_beats_random_hand_computed():
    space = np.arange(1, 101, dtype=float)  # the whole space: truths 1..100
    truth = np.array([95.0, 80.0, 99.0, 50.0])
    scores = np.array([0.9, 0.8, 0.1, 0.5])  # top-2 by score: truth 95 and 80 -> best 95
    # q = #{space <= 95} / 100 = 0.95, P>R = 0.95 ** 2
    assert p_beats_random(scores, truth, space, k=2) == pytest.approx(0.9025)
    # top-1: truth 95 -> 0.95
    assert p_beats_random(scores, truth, space, k=1) == pytest.approx(0.95)
    # top-3 (truth 95, 80, 50): still 95 -> 0.95 ** 3; top-4 adds 99 -> 0.99 ** 4
    assert p_beats_random(scores, truth, space, k=3) == pytest.approx(0.95**3)
    assert p_beats_random(scores, truth, space, k=4) == pytest.approx(0.99**4)
    with pytest.raises(ValueError, match="k must be in 1..4"):
        p_beats_random(scores, truth, space, k=5)
    with pytest.raises(ValueError, match="space_truth"):
        p_beats_random(scores, truth, [1.0, np.nan], k=1)


def test_final_accuracy():
    truth = np.array([70.0, 90.0, 80.0, 60.0])
    scores = np.array([0.3, 0.1, 0.9, 0.5])  # order by score: 2, 3, 0, 1
    assert final_accuracy(scores, truth) == 80.0
    assert final_accuracy(scores, truth, k=2) == 70.0
    assert final_accuracy(scores, truth, k=4) == 75.0
    # ties in scores: the earlier subnet first
    assert final_accuracy([1.0, 1.0], [10.0, 20.0]) == 10.0
    with pytest.raises(ValueError, match="k must be an integer"):
        final_accuracy(scores, truth, k=1.5)


def test_spearman_top():
    truth = np.arange(100, dtype=float)
    scores = truth.copy()
    scores[95:] = scores[95:][::-1]  # reverse the order within the true top 5
    assert spearman_top(scores, truth, 5) == pytest.approx(-1.0)
    assert spearman(scores, truth) > 0.99
    assert spearman_top(scores, truth, 10) == pytest.approx(stats.spearmanr(scores[90:], truth[90:]).statistic)
    assert math.isnan(spearman_top(scores, truth, 2))  # 2 subnets: too few


def test_ranking_metrics_bundle():
    rng = np.random.default_rng(3)
    truth = rng.uniform(30, 95, 200)
    scores = truth + rng.normal(0, 5, truth.size)
    out = ranking_metrics(scores, truth, sparse_threshold=0.1)
    assert set(out) == {
        "kendall_tau",
        "sparse_kendall_tau",
        "sparse_threshold",
        "spearman",
        "top_5pct_precision",
        "top_10pct_precision",
        "final_accuracy_top1",
        *(f"{bound}_rank_at_{k}" for bound in ("best", "worst") for k in ("1pct", "5pct", "10pct")),
    }
    assert out["sparse_threshold"] == 0.1
    assert out["kendall_tau"] == kendall_tau(scores, truth)
    assert out["sparse_kendall_tau"] == sparse_kendall_tau(scores, truth, 0.1)
    space = rng.uniform(10, 95, 1000)
    out = ranking_metrics(scores, truth, space_truth=space)
    assert out["sparse_threshold"] == 1.0
    assert out["p_beats_random_k10"] == p_beats_random(scores, truth, space, 10)
    assert 0.0 <= out["p_beats_random_k10"] <= 1.0


@pytest.mark.parametrize(
    "scores, truth, message",
    [
        ([[1.0, 2.0]], [1.0, 2.0], "scores must be 1-D"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], "same length"),
        ([1.0], [1.0], "scores needs at least 2"),
        ([1.0, np.inf], [1.0, 2.0], "scores must be finite; entry 1"),
        ([1.0, 2.0], [np.nan, 2.0], "truth must be finite; entry 0"),
        (["a", "b"], [1.0, 2.0], "scores must be numeric"),
    ],
)
def test_input_validation(scores, truth, message):
    for fn in (kendall_tau, spearman, sparse_kendall_tau, final_accuracy, ranking_metrics):
        with pytest.raises(ValueError, match=message):
            fn(scores, truth)


def test_constant_inputs_give_nan():
    assert math.isnan(kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert math.isnan(spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))
