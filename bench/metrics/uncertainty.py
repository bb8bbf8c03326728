"""Across-seed uncertainty: summaries, paired differences and per-group tables.

Supernet results at proxy scale vary a lot from seed to seed (see
docs/calibration.md, "Seed spread": Kendall tau 0.05 to 0.25 for SPOS at the
CIFAR-10 proxy over three seeds), so every comparison in this project is
reported as a mean over seeds with a confidence interval, and two settings
are compared through *paired* per-seed differences.

Confidence intervals are percentile bootstrap intervals of the mean (Efron &
Tibshirani, 1993, *An Introduction to the Bootstrap*, Chapman & Hall, ch. 13):
resample the n per-seed values with replacement ``n_boot`` times, take the
mean of each resample, and use the ``(1 - confidence) / 2`` and
``(1 + confidence) / 2`` quantiles of those means. The resampling is
vectorized (a matrix of resample indices drawn from a
``numpy.random.Generator``) and deterministic given ``seed``.

Caveat on small n: the percentile bootstrap is known to be too narrow for very
few values, because the resampled means spread like sd(ddof=0)/sqrt(n) and no
Student-t widening is applied. For normal data its actual coverage of a
nominal 95% interval is about 0.75 at n = 3, 0.85 at n = 5, 0.90 at n = 10 and
0.92 at n = 20 (our simulation). With 3 seeds, treat ``distinguishable`` as a
screening flag, not a 95% test. With n = 3 there are only 10 distinct
resamples, so the interval is also coarse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np
import pandas as pd

from bench import metric_names as names

__all__ = ["seed_summary", "paired_difference", "summarize_frame"]

# Largest number of index cells (resamples x values) drawn at once.
_MAX_BOOT_CELLS = 4_000_000

def _check_bootstrap_args(confidence: float, n_boot: int, seed: Any) -> None:
    try:
        conf = float(confidence)
    except (TypeError, ValueError):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}") from None
    if not (0.0 < conf < 1.0):
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed must be an int (or None), got {seed!r}")


def _bootstrap_mean_ci(
    x: np.ndarray, confidence: float, n_boot: int, seed: int | None
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``x`` (len >= 2, all finite)."""
    n = len(x)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot, dtype=float)
    chunk = max(1, _MAX_BOOT_CELLS // n)
    for b0 in range(0, n_boot, chunk):
        b1 = min(b0 + chunk, n_boot)
        idx = rng.integers(0, n, size=(b1 - b0, n))
        means[b0:b1] = x[idx].mean(axis=1)
    alpha = 1.0 - confidence
    lo, hi = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def seed_summary(
    values: Sequence[float] | np.ndarray | pd.Series,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int | None = 0,
) -> dict:
    """Mean, spread and percentile-bootstrap CI of one metric across seeds.

    Parameters
    ----------
    values:
        One value per seed (1-D). NaN entries (e.g. a metric that was
        undefined for that seed) are dropped before anything is computed;
        how many were dropped is returned as ``n_nan``. Infinite values
        raise ``ValueError``.
    confidence:
        Two-sided confidence level of the interval, in (0, 1).
    n_boot:
        Number of bootstrap resamples.
    seed:
        Seed of the ``numpy.random.Generator`` used for resampling; the
        result is deterministic given it (``None`` = fresh entropy).

    Returns
    -------
    dict
        ``mean`` (NaN if no value), ``std`` (sample std, ddof=1; NaN for
        n < 2), ``n`` (number of non-NaN values used), ``ci_low`` and
        ``ci_high`` (percentile bootstrap CI of the mean, Efron & Tibshirani
        1993; both NaN for n < 2, since one value says nothing about the
        spread -- we do not return a zero-width interval), and ``n_nan``
        (NaN entries dropped).

    Notes
    -----
    The percentile interval undercovers for few seeds (about 75% actual
    coverage for a nominal 95% at n = 3 and 90% at n = 10 for normal data);
    see the module docstring.
    """
    _check_bootstrap_args(confidence, n_boot, seed)
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"values must be numeric: {exc}") from None
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D, got an array of shape {x.shape}")
    nan = np.isnan(x)
    if np.isinf(x).any():
        raise ValueError("values must not contain inf (NaN entries are dropped, inf is an error)")
    x = x[~nan]
    n = len(x)
    out = {
        "mean": float(x.mean()) if n else math.nan,
        "std": float(x.std(ddof=1)) if n >= 2 else math.nan,
        "n": int(n),
        "ci_low": math.nan,
        "ci_high": math.nan,
        "n_nan": int(nan.sum()),
    }
    if n >= 2:
        out["ci_low"], out["ci_high"] = _bootstrap_mean_ci(x, float(confidence), int(n_boot), seed)
    return out


def _as_seed_map(x: Mapping | pd.Series, name: str) -> dict:
    """Turn a Mapping or Series keyed by seed into a plain dict seed -> float."""
    if isinstance(x, pd.Series):
        if x.index.has_duplicates:
            dup = sorted(set(x.index[x.index.duplicated()].tolist()))
            raise ValueError(f"{name} has duplicate seeds in its index: {dup}")
        items = list(x.items())
    elif isinstance(x, Mapping):
        items = list(x.items())
    else:
        raise ValueError(
            f"{name} must be a Mapping seed -> value or a pandas Series indexed by seed, "
            f"got {type(x).__name__}"
        )
    out = {}
    for k, v in items:
        key = k.item() if isinstance(k, np.generic) else k
        try:
            val = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name}[{k!r}] must be numeric, got {v!r}") from None
        if math.isinf(val):
            raise ValueError(f"{name}[{k!r}] is infinite")
        out[key] = val
    return out


def _sorted_keys(keys) -> list:
    try:
        return sorted(keys)
    except TypeError:  # mixed, unorderable key types
        return sorted(keys, key=repr)


def paired_difference(
    a: Mapping[int, float] | pd.Series,
    b: Mapping[int, float] | pd.Series,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int | None = 0,
) -> dict:
    """Paired across-seed difference ``b - a`` with a bootstrap CI of its mean.

    The two settings are paired by seed value (the keys of the mappings, or
    the index of a Series), not by position, so the order of the inputs does
    not matter. Pairing matters because runs with the same seed share much of
    their variation (same data split, same initialization, same subnet
    sample to be scored); the per-seed difference cancels that shared
    per-seed component, so the paired interval is usually much narrower than
    comparing two independent across-seed means.

    Only seeds present in both inputs, with a non-NaN value in both, are
    used; the others are reported. The differences are taken in sorted seed
    order before resampling, so the result is deterministic given ``seed``.

    Parameters
    ----------
    a, b:
        Mapping seed -> value, or pandas Series indexed by seed (duplicate
        seeds raise ``ValueError``). ``b`` is the treatment, ``a`` the
        baseline.
    confidence, n_boot, seed:
        As in :func:`seed_summary` (percentile bootstrap, Efron & Tibshirani
        1993).

    Returns
    -------
    dict
        ``mean``, ``std`` (ddof=1), ``n``, ``ci_low``, ``ci_high`` of the
        differences ``b[s] - a[s]`` (CI NaN for n < 2); ``distinguishable``:
        True when the CI excludes 0 (``ci_low > 0`` or ``ci_high < 0``),
        False otherwise, including when the CI is NaN; ``seeds``: the seeds
        used (sorted); ``only_in_a`` / ``only_in_b``: seeds dropped because
        the other input lacks them; ``nan_seeds``: common seeds dropped
        because either value is NaN.

    Notes
    -----
    With 3 seeds the percentile interval covers only about 75% of the time
    at nominal 95%, so ``distinguishable`` is a screening flag there, not a
    95% test (see the module docstring).
    """
    _check_bootstrap_args(confidence, n_boot, seed)
    am = _as_seed_map(a, "a")
    bm = _as_seed_map(b, "b")
    common = _sorted_keys(set(am) & set(bm))
    only_a = _sorted_keys(set(am) - set(bm))
    only_b = _sorted_keys(set(bm) - set(am))
    nan_seeds = [s for s in common if math.isnan(am[s]) or math.isnan(bm[s])]
    used = [s for s in common if not (math.isnan(am[s]) or math.isnan(bm[s]))]
    diffs = np.array([bm[s] - am[s] for s in used], dtype=float)
    summ = seed_summary(diffs, confidence=confidence, n_boot=n_boot, seed=seed)
    lo, hi = summ["ci_low"], summ["ci_high"]
    distinguishable = bool(not (math.isnan(lo) or math.isnan(hi)) and (lo > 0 or hi < 0))
    return {
        "mean": summ["mean"],
        "std": summ["std"],
        "n": summ["n"],
        "ci_low": lo,
        "ci_high": hi,
        "distinguishable": distinguishable,
        "seeds": used,
        "only_in_a": only_a,
        "only_in_b": only_b,
        "nan_seeds": nan_seeds,
    }


def summarize_frame(
    df: pd.DataFrame,
    by: list[str],
    metrics: list[str],
    seed_col: str | None = names.SEED,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Per-group across-seed summary of several metrics, as a flat table.

    Groups ``df`` by the columns ``by`` (one row per seed within a group is
    expected) and applies :func:`seed_summary` to each metric column.

    Parameters
    ----------
    df:
        Long table, one row per (setting, seed).
    by:
        Columns identifying a setting. May be empty (one group: the whole
        frame). Group keys that are NaN are kept as their own group.
    metrics:
        Numeric metric columns to summarize (NaN values are dropped per
        metric, see :func:`seed_summary`).
    seed_col:
        Column holding the seed. When given, it must exist and each seed may
        appear at most once per group -- a repeated seed means ``by`` is
        missing a factor, and is rejected with ``ValueError`` rather than
        silently pooled. ``None`` skips the check.
    confidence, n_boot, seed:
        As in :func:`seed_summary`; every group uses the same bootstrap
        ``seed``, so the table is deterministic.

    Returns
    -------
    pandas.DataFrame
        One row per group (sorted by ``by``), with the ``by`` columns, ``n``
        (rows in the group, i.e. seeds), and for each metric ``m``:
        ``m_mean``, ``m_std``, ``m_ci_low``, ``m_ci_high`` and ``m_n``
        (non-NaN values used, may be less than ``n``).
    """
    _check_bootstrap_args(confidence, n_boot, seed)
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if isinstance(by, str) or isinstance(metrics, str):
        raise ValueError("by and metrics must be lists of column names, not a single string")
    by = list(by)
    metrics = list(metrics)
    if not metrics:
        raise ValueError("metrics must name at least one column")
    needed = by + metrics + ([seed_col] if seed_col is not None else [])
    missing = [col for col in needed if col not in df.columns]
    if missing:
        raise ValueError(f"df lacks column(s) {missing}; it has {list(df.columns)}")
    overlap = set(by) & set(metrics)
    if overlap:
        raise ValueError(f"columns {sorted(overlap)} appear in both by and metrics")
    for m in metrics:
        if not (pd.api.types.is_numeric_dtype(df[m]) and not pd.api.types.is_bool_dtype(df[m])):
            raise ValueError(f"metric column {m!r} must be numeric, has dtype {df[m].dtype}")

    if by:
        groups = df.groupby(by, sort=True, dropna=False)
    else:
        groups = [((), df)]

    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        if seed_col is not None:
            dup = g[seed_col][g[seed_col].duplicated()]
            if len(dup):
                raise ValueError(
                    f"group {dict(zip(by, key))} has repeated seed(s) {sorted(set(dup.tolist()))} "
                    f"in column {seed_col!r}; add the missing factor to `by`"
                )
        row = dict(zip(by, key))
        row["n"] = int(len(g))
        for m in metrics:
            s = seed_summary(g[m].to_numpy(dtype=float), confidence=confidence, n_boot=n_boot, seed=seed)
            row[f"{m}_mean"] = s["mean"]
            row[f"{m}_std"] = s["std"]
            row[f"{m}_ci_low"] = s["ci_low"]
            row[f"{m}_ci_high"] = s["ci_high"]
            row[f"{m}_n"] = s["n"]
        rows.append(row)
    columns = by + ["n"] + [f"{m}_{k}" for m in metrics for k in ("mean", "std", "ci_low", "ci_high", "n")]
    return pd.DataFrame(rows, columns=columns)
