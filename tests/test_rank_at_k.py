"""BR@K and WR@K (Ning et al., NeurIPS 2021): hand-computed pools, ties, float-safe counts, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.metrics.ranking import (
    RANK_AT_K_FRACTIONS,
    best_rank_at_k,
    rank_at_k_metrics,
    ranking_metrics,
    top_fraction_count,
    true_normalized_rank,
    worst_rank_at_k,
)


@pytest.mark.parametrize("n, k, count", [(30, 0.1, 3), (100, 0.05, 5), (100, 0.01, 1), (200, 0.05, 10),
                                         (10, 0.05, 1), (7, 0.5, 4), (3, 1.0, 3), (1000, 0.07, 70),
                                         (1, 0.01, 1), (49, 0.01, 1), (100, 0.07, 7), (100, 0.55, 55)])
def test_count_is_the_ceiling_without_float_error(n, k, count):
    assert top_fraction_count(n, k) == count
    # 0.07 x 100 is 7.000000000000001 in floats: a plain ceiling would take 8 subnets
    assert math.ceil(0.07 * 100) == 8


def test_true_normalized_rank_counts_strictly_better():
    truth = [90.0, 93.0, 91.0, 93.0, 89.0]
    # strictly higher: 90 -> 3 (93, 91, 93); 93 -> 0; 91 -> 2; 89 -> 4
    assert true_normalized_rank(truth).tolist() == [3 / 5, 0.0, 2 / 5, 0.0, 4 / 5]


@pytest.mark.parametrize("n", [30, 100, 200])
@pytest.mark.parametrize("k", list(RANK_AT_K_FRACTIONS))
def test_perfect_and_reversed_rankings(n, k):
    truth = np.random.default_rng(n).permutation(n).astype(float) + 60.0  # distinct accuracies, shuffled pool
    top = math.ceil(round(k * n, 9))
    assert best_rank_at_k(truth, truth, k) == 0.0
    assert worst_rank_at_k(truth, truth, k) == pytest.approx(top / n - 1 / n)
    assert best_rank_at_k(-truth, truth, k) == pytest.approx(1 - top / n)
    assert worst_rank_at_k(-truth, truth, k) == pytest.approx(1 - 1 / n)


def test_hand_computed_pool():
    truth = [70.0, 91.0, 85.0, 93.0, 60.0, 88.0, 80.0, 75.0, 90.0, 65.0]
    scores = [0.9, 0.2, 0.8, 0.3, 0.1, 0.7, 0.4, 0.5, 0.6, 0.0]
    # true ranks: how many of the 10 are strictly better, over 10 (93 is best: 0; 60 is worst: 0.9)
    ranks = [0.7, 0.1, 0.4, 0.0, 0.9, 0.3, 0.5, 0.6, 0.2, 0.8]
    assert true_normalized_rank(truth) == pytest.approx(ranks)
    # top 30% by score: positions 0 (.9), 2 (.8), 5 (.7) -> ranks .7, .4, .3
    assert best_rank_at_k(scores, truth, 0.3) == pytest.approx(0.3)
    assert worst_rank_at_k(scores, truth, 0.3) == pytest.approx(0.7)
    # top 10%: position 0 alone
    assert best_rank_at_k(scores, truth, 0.1) == worst_rank_at_k(scores, truth, 0.1) == pytest.approx(0.7)


def test_ties_in_scores_follow_pool_order():
    truth = [80.0, 90.0, 70.0, 60.0]
    scores = [1.0, 1.0, 1.0, 0.0]  # three-way tie: the top 25% (1 subnet) is the first of them
    assert best_rank_at_k(scores, truth, 0.25) == pytest.approx(0.25)  # truth 80: one better
    assert best_rank_at_k([1.0, 1.0, 1.0, 0.0], [90.0, 80.0, 70.0, 60.0], 0.25) == 0.0
    assert worst_rank_at_k(scores, truth, 0.5) == pytest.approx(0.25)  # subnets 0 and 1


def test_ties_in_truth_share_the_better_rank():
    truth = [90.0, 90.0, 90.0, 50.0]
    assert worst_rank_at_k([3.0, 2.0, 1.0, 0.0], truth, 0.75) == 0.0  # all three are joint best
    assert best_rank_at_k([0.0, 0.0, 0.0, 1.0], truth, 0.25) == pytest.approx(0.75)


@pytest.mark.parametrize("scores, truth, k, message", [
    ([], [], 0.05, "at least 1"),
    ([1.0, np.nan], [1.0, 2.0], 0.05, "scores must be finite"),
    ([1.0, 2.0], [1.0, np.inf], 0.05, "truth must be finite"),
    ([1.0, 2.0, 3.0], [1.0, 2.0], 0.05, "same length"),
    ([1.0, 2.0], [1.0, 2.0], 0.0, r"\(0, 1\]"),
    ([1.0, 2.0], [1.0, 2.0], 5, r"\(0, 1\]"),
    ([1.0, 2.0], [1.0, 2.0], -0.1, r"\(0, 1\]"),
    ([1.0, 2.0], [1.0, 2.0], float("nan"), r"\(0, 1\]"),
    ([1.0, 2.0], [1.0, 2.0], "5%", r"\(0, 1\]"),
])
def test_bad_input_is_a_clear_error(scores, truth, k, message):
    for metric in (best_rank_at_k, worst_rank_at_k):
        with pytest.raises(ValueError, match=message):
            metric(scores, truth, k)


def test_bundles_carry_every_k():
    truth = np.linspace(60, 95, 100)
    bundle = ranking_metrics(truth, truth)
    for suffix in ("1pct", "5pct", "10pct"):
        assert bundle[f"best_rank_at_{suffix}"] == 0.0
    assert bundle["worst_rank_at_5pct"] == pytest.approx(0.04)
    top = rank_at_k_metrics(-truth, truth, suffix="_space_top1pct")
    assert top["best_rank_at_10pct_space_top1pct"] == pytest.approx(0.9)
