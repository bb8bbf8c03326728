"""Tests for bench.metrics.uncertainty (seed summaries, paired differences)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.metrics.uncertainty import paired_difference, seed_summary, summarize_frame


# --------------------------------------------------------------------------
# seed_summary
# --------------------------------------------------------------------------


def test_seed_summary_hand_computed():
    out = seed_summary([1.0, 2.0, 3.0, 4.0])
    assert out["n"] == 4
    assert out["n_nan"] == 0
    assert out["mean"] == pytest.approx(2.5, abs=1e-12)
    # sample std, ddof=1: sqrt(((1.5^2 + 0.5^2) * 2) / 3) = sqrt(5/3)
    assert out["std"] == pytest.approx(math.sqrt(5 / 3), abs=1e-12)
    # a bootstrap mean always lies within [min, max]; the 95% interval of
    # 4 values is strictly inside and around the mean
    assert 1.0 <= out["ci_low"] < 2.5 < out["ci_high"] <= 4.0


def test_seed_summary_two_values_exact_ci():
    # resample means of [0, 1] are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4,
    # so the 2.5% and 97.5% quantiles are exactly 0 and 1 (10,000 resamples
    # make anything else astronomically unlikely)
    out = seed_summary([0.0, 1.0])
    assert (out["ci_low"], out["ci_high"]) == (0.0, 1.0)


def test_seed_summary_constant_values_zero_width():
    out = seed_summary([0.7, 0.7, 0.7])
    assert out["std"] == pytest.approx(0.0, abs=1e-12)  # float rounding of the mean
    assert out["ci_low"] == pytest.approx(0.7) and out["ci_high"] == pytest.approx(0.7)


def test_seed_summary_deterministic_given_seed():
    x = np.random.default_rng(5).normal(size=7)
    a = seed_summary(x, seed=11)
    b = seed_summary(list(x), seed=11)
    c = seed_summary(x, seed=12)
    assert a == b
    assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])


def test_seed_summary_nan_dropped_and_counted():
    out = seed_summary([1.0, np.nan, 3.0, np.nan])
    assert out["n"] == 2 and out["n_nan"] == 2
    assert out["mean"] == 2.0
    assert out == {**seed_summary([1.0, 3.0]), "n_nan": 2}


def test_seed_summary_small_n():
    one = seed_summary([0.3])
    assert one["n"] == 1 and one["mean"] == 0.3
    # one value: no spread and no interval (NaN, not a zero-width CI)
    assert math.isnan(one["std"]) and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    none = seed_summary([np.nan])
    assert none["n"] == 0 and none["n_nan"] == 1 and math.isnan(none["mean"])
    empty = seed_summary([])
    assert empty["n"] == 0 and math.isnan(empty["mean"])


def test_bootstrap_coverage():
    # 400 experiments of n = 10 normal samples, 95% percentile interval.
    # The percentile bootstrap is known to undercover at small n (no t
    # widening; resampled means spread like sd(ddof=0)/sqrt(n)): its actual
    # coverage here is about 0.90 (P(|t_9| < 1.96 * sqrt(9/10)) = 0.904;
    # 0.9005 in our own 4,000-experiment simulation). With 400 experiments
    # the Monte-Carlo s.e. is about 0.015, so we accept 0.85..0.97 (about
    # 3 s.e. below 0.90 and 1.4 s.e. above 0.95): a CI built from the
    # standard deviation instead of the standard error (coverage ~1.0) or a
    # too-narrow one fails this.
    rng = np.random.default_rng(2024)
    true_mean = 3.0
    hits = 0
    n_exp = 400
    for k in range(n_exp):
        x = rng.normal(true_mean, 2.0, size=10)
        out = seed_summary(x, n_boot=2000, seed=k)
        hits += out["ci_low"] <= true_mean <= out["ci_high"]
    coverage = hits / n_exp
    assert 0.85 <= coverage <= 0.97, coverage


def test_seed_summary_confidence_level_widens():
    x = np.random.default_rng(0).normal(size=12)
    w90 = seed_summary(x, confidence=0.90)
    w99 = seed_summary(x, confidence=0.99)
    assert w99["ci_low"] < w90["ci_low"] < w90["ci_high"] < w99["ci_high"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"values": [1.0, np.inf]}, "inf"),
        ({"values": [[1.0, 2.0]]}, "1-D"),
        ({"values": ["a", "b"]}, "numeric"),
        ({"values": [1.0, 2.0], "confidence": 1.0}, "confidence"),
        ({"values": [1.0, 2.0], "confidence": 0.0}, "confidence"),
        ({"values": [1.0, 2.0], "n_boot": 0}, "n_boot"),
        ({"values": [1.0, 2.0], "n_boot": 10.5}, "n_boot"),
        ({"values": [1.0, 2.0], "seed": 1.5}, "seed"),
    ],
)
def test_seed_summary_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        seed_summary(**kwargs)


# --------------------------------------------------------------------------
# paired_difference
# --------------------------------------------------------------------------


def test_paired_difference_pairs_by_seed_key_not_order():
    a = {0: 0.50, 1: 0.60, 2: 0.40, 3: 0.55}
    b = {0: 0.52, 1: 0.65, 2: 0.41, 3: 0.60}
    b_shuffled = {3: 0.60, 1: 0.65, 0: 0.52, 2: 0.41}
    r1 = paired_difference(a, b)
    r2 = paired_difference(dict(reversed(list(a.items()))), b_shuffled)
    assert r1 == r2
    # differences b - a: 0.02, 0.05, 0.01, 0.05 -> mean 0.0325
    assert r1["mean"] == pytest.approx(0.0325, abs=1e-12)
    assert r1["n"] == 4 and r1["seeds"] == [0, 1, 2, 3]
    # every difference is positive, so every resampled mean is too
    assert r1["ci_low"] > 0 and r1["distinguishable"] is True


def test_paired_difference_reports_dropped_seeds():
    a = {0: 1.0, 1: 2.0, 2: 3.0, 5: 9.0}
    b = {0: 1.5, 1: 2.5, 2: 3.5, 7: 0.0, 8: 0.0}
    r = paired_difference(a, b)
    assert r["n"] == 3 and r["seeds"] == [0, 1, 2]
    assert r["only_in_a"] == [5] and r["only_in_b"] == [7, 8]
    assert r["nan_seeds"] == []
    assert r["mean"] == pytest.approx(0.5)
    # constant non-zero difference: zero-width CI at 0.5, excludes 0
    assert r["ci_low"] == pytest.approx(0.5) and r["ci_high"] == pytest.approx(0.5)
    assert r["distinguishable"] is True


def test_paired_difference_nan_seed_dropped_and_reported():
    a = {0: 1.0, 1: np.nan, 2: 3.0, 3: 4.0}
    b = {0: 2.0, 1: 2.0, 2: 4.0, 3: np.nan}
    r = paired_difference(a, b)
    assert r["seeds"] == [0, 2] and r["nan_seeds"] == [1, 3] and r["n"] == 2


def test_paired_difference_accepts_series():
    a = pd.Series([0.5, 0.6, 0.4], index=[10, 11, 12])
    b = pd.Series([0.41, 0.62, 0.53], index=pd.Index([12, 11, 10], name="seed"))
    r_series = paired_difference(a, b)
    r_dict = paired_difference({10: 0.5, 11: 0.6, 12: 0.4}, {10: 0.53, 11: 0.62, 12: 0.41})
    assert r_series == r_dict
    assert r_series["seeds"] == [10, 11, 12]
    assert all(type(s) is int for s in r_series["seeds"])  # numpy ints converted


def test_paired_difference_clear_shift_is_distinguishable_thanks_to_pairing():
    rng = np.random.default_rng(7)
    seeds = range(8)
    # large shared per-seed variation (sd 1), small treatment effect (+0.5)
    # with little per-run noise (sd 0.1): the paired difference sees it
    shared = rng.normal(0.0, 1.0, 8)
    a = {s: shared[s] + rng.normal(0, 0.1) for s in seeds}
    b = {s: shared[s] + 0.5 + rng.normal(0, 0.1) for s in seeds}
    r = paired_difference(a, b)
    assert r["distinguishable"] is True
    assert r["ci_low"] > 0.3 and r["ci_high"] < 0.7  # true effect 0.5, sd of mean ~0.05
    # the unpaired per-setting intervals overlap heavily: pairing is what
    # separates them
    sa, sb = seed_summary(list(a.values())), seed_summary(list(b.values()))
    assert sa["ci_high"] > sb["ci_low"]


def test_paired_difference_no_shift_is_not_distinguishable():
    # symmetric differences around 0: every resampled-mean distribution is
    # symmetric around 0, so the interval straddles 0
    a = {s: 0.5 for s in range(5)}
    b = {0: 0.4, 1: 0.6, 2: 0.3, 3: 0.7, 4: 0.5}
    r = paired_difference(a, b)
    assert r["mean"] == pytest.approx(0.0, abs=1e-12)
    assert r["ci_low"] < 0 < r["ci_high"]
    assert r["distinguishable"] is False


def test_paired_difference_single_common_seed():
    r = paired_difference({0: 1.0, 1: 2.0}, {1: 5.0})
    assert r["n"] == 1 and r["mean"] == 3.0
    assert math.isnan(r["ci_low"]) and r["distinguishable"] is False
    assert r["only_in_a"] == [0]


def test_paired_difference_validation():
    with pytest.raises(ValueError, match="a must be a Mapping"):
        paired_difference([1.0, 2.0], {0: 1.0})
    with pytest.raises(ValueError, match="duplicate seeds"):
        paired_difference(pd.Series([1.0, 2.0], index=[0, 0]), {0: 1.0})
    with pytest.raises(ValueError, match="numeric"):
        paired_difference({0: "x"}, {0: 1.0})
    with pytest.raises(ValueError, match="infinite"):
        paired_difference({0: 1.0}, {0: np.inf})
    with pytest.raises(ValueError, match="confidence"):
        paired_difference({0: 1.0}, {0: 1.0}, confidence=95)


# --------------------------------------------------------------------------
# summarize_frame
# --------------------------------------------------------------------------


def _frame():
    rows = []
    rng = np.random.default_rng(0)
    for method in ["spos", "spos+calr"]:
        for space in ["nb201"]:
            for seed in range(3):
                rows.append(
                    {
                        "method": method,
                        "space": space,
                        "seed": seed,
                        "kendall_tau": rng.uniform(0.2, 0.8),
                        "cb": rng.uniform(0.5, 0.8),
                    }
                )
    df = pd.DataFrame(rows)
    df.loc[(df.method == "spos") & (df.seed == 2), "cb"] = np.nan
    return df


def test_summarize_frame_columns_and_values():
    df = _frame()
    out = summarize_frame(df, by=["method", "space"], metrics=["kendall_tau", "cb"], n_boot=500)
    expected_cols = ["method", "space", "n"] + [
        f"{m}_{k}" for m in ["kendall_tau", "cb"] for k in ["mean", "std", "ci_low", "ci_high", "n"]
    ]
    assert list(out.columns) == expected_cols
    assert list(out["method"]) == ["spos", "spos+calr"]
    assert list(out["n"]) == [3, 3]
    assert list(out["cb_n"]) == [2, 3]  # one NaN dropped for spos
    for _, row in out.iterrows():
        g = df[df.method == row["method"]]
        for m in ["kendall_tau", "cb"]:
            s = seed_summary(g[m].to_numpy(), n_boot=500)
            for k in ["mean", "std", "ci_low", "ci_high"]:
                assert row[f"{m}_{k}"] == pytest.approx(s[k], nan_ok=True)


def test_summarize_frame_no_grouping():
    df = _frame()
    df["seed"] = range(len(df))  # make seeds unique over the whole frame
    out = summarize_frame(df, by=[], metrics=["kendall_tau"], n_boot=200)
    assert len(out) == 1 and out.loc[0, "n"] == 6
    assert out.loc[0, "kendall_tau_mean"] == pytest.approx(df.kendall_tau.mean())


def test_summarize_frame_validation():
    df = _frame()
    with pytest.raises(ValueError, match="repeated seed"):
        summarize_frame(df, by=["space"], metrics=["kendall_tau"])  # 'method' missing
    # the check can be switched off
    out = summarize_frame(df, by=["space"], metrics=["kendall_tau"], seed_col=None, n_boot=200)
    assert out.loc[0, "n"] == 6
    with pytest.raises(ValueError, match="lacks column"):
        summarize_frame(df, by=["method"], metrics=["ndcg"])
    with pytest.raises(ValueError, match="lacks column"):
        summarize_frame(df.drop(columns="seed"), by=["method"], metrics=["cb"])
    with pytest.raises(ValueError, match="must be numeric"):
        summarize_frame(df, by=["seed"], metrics=["method"], seed_col=None)
    with pytest.raises(ValueError, match="lists of column names"):
        summarize_frame(df, by="method", metrics=["cb"])
