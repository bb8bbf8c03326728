"""Tests for bench.metrics.fairness (CB, CB-matched, C3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bench.metrics import fairness
from bench.metrics.fairness import (
    complexity_bias,
    complexity_bias_matched,
    complexity_convergence_correlation,
)


# --------------------------------------------------------------------------
# CB: hand-computed cases
# --------------------------------------------------------------------------


def test_cb_hand_computed_five_subnets():
    # idx:        0   1   2   3   4
    c = [1, 2, 3, 3, 4]
    t = [70, 80, 90, 85, 75]
    s = [60, 75, 65, 65, 70]
    # Pairs (ds = sign(s_i - s_j), dt = sign(t_i - t_j), dc = sign(c_i - c_j)):
    # (0,1) ds=-1 dt=-1 concordant               -> out
    # (0,2) ds=-1 dt=-1 concordant               -> out
    # (0,3) ds=-1 dt=-1 concordant               -> out
    # (0,4) ds=-1 dt=-1 concordant               -> out
    # (1,2) ds=+1 dt=-1 discordant, dc=-1: the higher-scored (1) is smaller -> low
    # (1,3) ds=+1 dt=-1 discordant, dc=-1                                  -> low
    # (1,4) ds=+1 dt=+1 concordant               -> out
    # (2,3) ds=0 (equal score; also equal complexity) -> out
    # (2,4) ds=-1 dt=+1 discordant, dc=-1: higher-scored (4) is larger -> not low
    # (3,4) ds=-1 dt=+1 discordant, dc=-1                               -> not low
    # CB = 2 / 4
    assert complexity_bias(s, t, c) == pytest.approx(0.5, abs=1e-12)


def test_cb_all_errors_favour_small_is_one_and_reverse_is_zero():
    c = [1, 2, 3]
    t = [10, 20, 30]
    # scores reverse the truth: all 3 pairs discordant, higher score always smaller
    assert complexity_bias([3, 2, 1], t, c) == 1.0
    # truth reversed against complexity, scores follow complexity:
    # all pairs discordant and the supernet always prefers the larger subnet
    assert complexity_bias([1, 2, 3], [30, 20, 10], c) == 0.0


@pytest.mark.parametrize(
    "s, t, c, why",
    [
        ([2, 1], [1, 2], [1, 1], "discordant but equal complexity"),
        ([2, 1], [5, 5], [1, 2], "equal ground truth"),
        ([3, 3], [1, 2], [1, 2], "equal supernet score"),
        ([1, 2, 3], [1, 2, 3], [3, 1, 2], "no discordant pair"),
        ([1.0], [1.0], [1.0], "a single subnet"),
        ([], [], [], "no subnet"),
    ],
)
def test_cb_nan_when_no_pair_qualifies(s, t, c, why):
    assert math.isnan(complexity_bias(s, t, c)), why


def test_cb_ties_do_not_count():
    # Base: pair (0,1) discordant, supernet prefers the smaller one -> CB = 1.
    s, t, c = [2.0, 1.0], [1.0, 2.0], [1.0, 2.0]
    assert complexity_bias(s, t, c) == 1.0
    # Add subnet 2 whose every discordant pair is tied in complexity, score
    # or truth: (0,2) ds=0; (1,2) dt=0; so CB stays 1 (would be 2/3 or 1/2
    # if a tied pair were counted as 'not low').
    s2, t2, c2 = s + [2.0], t + [2.0], c + [3.0]
    # (0,2): ds=0 -> out; (1,2): dt=0 -> out
    assert complexity_bias(s2, t2, c2) == 1.0


# --------------------------------------------------------------------------
# CB-matched: hand-computed cases
# --------------------------------------------------------------------------


def test_cb_matched_hand_computed():
    # idx:  0     1     2     3
    c = [1, 2, 3, 4]
    t = [80.0, 80.3, 80.5, 80.4]
    s = [50, 40, 45, 45]
    # |dt| <= 0.5: (0,1) 0.3, (0,2) 0.5 (boundary, included), (0,3) 0.4,
    #              (1,2) 0.2, (1,3) 0.1, (2,3) 0.1  -> all six pairs match
    # (0,1) ds=+1 dc=-1: smaller scored higher -> low
    # (0,2) ds=+1 dc=-1                         -> low
    # (0,3) ds=+1 dc=-1                         -> low
    # (1,2) ds=-1 dc=-1: larger scored higher   -> not low
    # (1,3) ds=-1 dc=-1                         -> not low
    # (2,3) ds=0 (equal scores)                 -> out
    # CB-matched = 3 / 5
    assert complexity_bias_matched(s, t, c) == pytest.approx(0.6, abs=1e-12)
    # delta = 0.15 keeps only (1,3) and (2,3) -> (2,3) out -> 0 / 1
    assert complexity_bias_matched(s, t, c, delta=0.15) == 0.0
    # delta = 0.25 keeps (1,2), (1,3), (2,3) -> 0 / 2
    assert complexity_bias_matched(s, t, c, delta=0.25) == 0.0
    # delta = 0.35 adds (0,1) -> 1 / 3
    assert complexity_bias_matched(s, t, c, delta=0.35) == pytest.approx(1 / 3, abs=1e-12)


def test_cb_matched_ties():
    # equal ground truth counts as matched (|dt| = 0 <= delta), even delta=0
    assert complexity_bias_matched([2, 1], [80, 80], [1, 2], delta=0.0) == 1.0
    # equal complexity excluded -> nothing qualifies
    assert math.isnan(complexity_bias_matched([2, 1], [80, 80], [1, 1]))
    # equal score excluded -> nothing qualifies
    assert math.isnan(complexity_bias_matched([1, 1], [80, 80], [1, 2]))
    # truths too far apart -> nothing qualifies
    assert math.isnan(complexity_bias_matched([2, 1], [80, 81], [1, 2]))


def test_cb_matched_boundary_is_robust_to_float_rounding():
    # 80.3 - 79.8 and 0.803 - 0.798 are 0.5 / 0.005 only up to rounding
    assert complexity_bias_matched([2, 1], [79.8, 80.3], [1, 2], delta=0.5) == 1.0
    assert complexity_bias_matched([2, 1], [0.798, 0.803], [1, 2], delta=0.005) == 1.0
    # but a real excess over delta is not absorbed
    assert math.isnan(complexity_bias_matched([2, 1], [79.8, 80.31], [1, 2], delta=0.5))


# --------------------------------------------------------------------------
# C3: hand-computed cases
# --------------------------------------------------------------------------


def test_c3_hand_computed_with_complexity_tie_and_zero_truth():
    # subnet 4 has zero ground truth -> left out
    c = [1, 2, 2, 3, 0]
    t = [50, 80, 20, 100, 0]
    s = [45, 64, 17, 70, 10]
    # convergence s/t = [0.9, 0.8, 0.85, 0.7]
    # (0,1) dc=-1 dv=+1 D; (0,2) dc=-1 dv=+1 D; (0,3) dc=-1 dv=+1 D;
    # (1,2) dc=0 (tie in complexity only); (1,3) D; (2,3) D
    # P=0, Q=5, ties only in x: 1, only in y: 0
    # tau_b = (P - Q) / sqrt((P+Q+Tx) (P+Q+Ty)) = -5 / sqrt(6 * 5)
    expected = -5 / math.sqrt(30)
    assert complexity_convergence_correlation(s, t, c) == pytest.approx(expected, abs=1e-12)
    # same units in fractions: the ratio is unit-free, same result
    frac = complexity_convergence_correlation(np.array(s) / 100, np.array(t) / 100, c)
    assert frac == pytest.approx(expected, abs=1e-12)


def test_c3_perfect_orders():
    t = [0.9, 0.9, 0.9]
    assert complexity_convergence_correlation([0.9, 0.8, 0.7], t, [1, 2, 3]) == pytest.approx(-1.0)
    assert complexity_convergence_correlation([0.7, 0.8, 0.9], t, [1, 2, 3]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "s, t, c, why",
    [
        ([0.5, 0.6], [0.0, 0.9], [1, 2], "only one subnet with non-zero truth"),
        ([0.5], [0.9], [1], "a single subnet"),
        ([0.5, 0.6, 0.7], [0.9, 0.9, 0.9], [2, 2, 2], "constant complexity"),
        ([1.0, 2.0, 4.0], [2.0, 4.0, 8.0], [1, 2, 3], "constant convergence"),
    ],
)
def test_c3_nan_cases(s, t, c, why):
    assert math.isnan(complexity_convergence_correlation(s, t, c)), why


# --------------------------------------------------------------------------
# Blocked computation equals a plain double loop
# --------------------------------------------------------------------------


def _cb_loop(s, t, c):
    n = len(s)
    pairs = low = 0
    for i in range(n):
        for j in range(i + 1, n):
            ds, dt, dc = np.sign(s[i] - s[j]), np.sign(t[i] - t[j]), np.sign(c[i] - c[j])
            if ds * dt < 0 and dc != 0:
                pairs += 1
                low += ds * dc < 0
    return low / pairs if pairs else math.nan


def _cbm_loop(s, t, c, delta):
    n = len(s)
    pairs = low = 0
    for i in range(n):
        for j in range(i + 1, n):
            ds, dc = np.sign(s[i] - s[j]), np.sign(c[i] - c[j])
            if abs(t[i] - t[j]) <= delta and ds != 0 and dc != 0:
                pairs += 1
                low += ds * dc < 0
    return low / pairs if pairs else math.nan


@pytest.mark.parametrize("max_cells", [7, 100, 2_000_000])
def test_blocked_equals_loop(monkeypatch, max_cells):
    # small integer values so that ties of every kind occur
    monkeypatch.setattr(fairness, "_MAX_BLOCK_CELLS", max_cells)
    rng = np.random.default_rng(1)
    n = 45
    c = rng.integers(0, 5, n).astype(float)
    t = rng.integers(0, 8, n).astype(float)
    s = rng.integers(0, 8, n).astype(float)
    # exact equality: both count the same integer pairs
    assert complexity_bias(s, t, c) == _cb_loop(s, t, c)
    assert complexity_bias_matched(s, t, c, delta=1.0) == _cbm_loop(s, t, c, 1.0)


# --------------------------------------------------------------------------
# Synthetic pools
# --------------------------------------------------------------------------


def _pool(seed=0, n=500):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.0, 1.0, n)
    truth = 80.0 + 10.0 * c + rng.normal(0.0, 2.0, n)
    return rng, c, truth


def test_synthetic_overrating_small_subnets():
    rng, c, truth = _pool()
    scores = truth - 8.0 * c + rng.normal(0.0, 0.2, len(c))
    # Over 20 seeds of this generator: CB 0.996..0.998, CB-matched
    # 0.918..0.935, C3 -0.94..-0.93; thresholds leave a wide margin.
    assert complexity_bias(scores, truth, c) > 0.9
    assert complexity_bias_matched(scores, truth, c) > 0.9
    assert complexity_convergence_correlation(scores, truth, c) < -0.3


def test_synthetic_complexity_blind_noise_and_the_cb_confound():
    rng, c, truth = _pool()
    scores = truth + rng.normal(0.0, 2.0, len(c))
    # Over 20 seeds of this generator: CB-matched 0.467..0.535, C3
    # -0.054..0.047, CB 0.64..0.73 (the confound: CB is not 0.5 without
    # bias, in line with the 0.63..0.71 measured on NAS-Bench-201 samples).
    assert complexity_bias_matched(scores, truth, c) == pytest.approx(0.5, abs=0.05)
    assert abs(complexity_convergence_correlation(scores, truth, c)) < 0.1
    assert complexity_bias(scores, truth, c) > 0.55


def test_c3_matches_scipy_on_pool():
    rng, c, truth = _pool(seed=3, n=200)
    scores = truth + rng.normal(0.0, 2.0, len(c))
    expected = stats.kendalltau(c, scores / truth).statistic
    assert complexity_convergence_correlation(scores, truth, c) == pytest.approx(expected, abs=1e-12)


def test_large_pool_runs_in_blocks():
    # 3000 subnets -> 4.5 M pairs, processed in blocks; just sanity + range
    rng, c, truth = _pool(seed=2, n=3000)
    scores = truth + rng.normal(0.0, 2.0, len(c))
    cb = complexity_bias(scores, truth, c)
    cbm = complexity_bias_matched(scores, truth, c)
    assert 0.55 < cb < 0.8
    assert cbm == pytest.approx(0.5, abs=0.03)


def test_accepts_lists_arrays_and_series():
    pd = pytest.importorskip("pandas")
    s, t, c = [60, 75, 65, 65, 70], [70, 80, 90, 85, 75], [1, 2, 3, 3, 4]
    a = complexity_bias(s, t, c)
    b = complexity_bias(np.array(s), pd.Series(t), tuple(c))
    assert a == b == 0.5


# --------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func", [complexity_bias, complexity_bias_matched, complexity_convergence_correlation]
)
def test_validation(func):
    good = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="same length.*truth has 2"):
        func(good, [1.0, 2.0], good)
    with pytest.raises(ValueError, match="scores must be 1-D"):
        func([[1.0, 2.0], [3.0, 4.0]], good, good)
    with pytest.raises(ValueError, match="truth must be finite"):
        func(good, [1.0, np.nan, 3.0], good)
    with pytest.raises(ValueError, match="complexity must be finite"):
        func(good, good, [1.0, np.inf, 3.0])
    with pytest.raises(ValueError, match="scores must be numeric"):
        func(["a", "b", "c"], good, good)


@pytest.mark.parametrize("delta", [-0.1, np.nan, np.inf, "x"])
def test_cb_matched_rejects_bad_delta(delta):
    with pytest.raises(ValueError, match="delta"):
        complexity_bias_matched([1, 2], [1, 2], [1, 2], delta=delta)
