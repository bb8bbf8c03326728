"""Ranking metrics: how well supernet scores order subnets compared with their ground truth.

Every function takes ``scores`` (the supernet's estimate for each subnet of an
evaluation pool, higher = better) and ``truth`` (the stand-alone accuracy of
the same subnets from a tabular benchmark, same order). Both must be 1-D,
of equal length (at least 2) and finite; a violation raises ``ValueError``
naming the argument.

Ties are broken by position in the pool wherever an order is needed
(``np.argsort(..., kind="stable")``): the subnet that comes first in the
input arrays is placed first among equals (for "top" selections: among equal
scores the earlier subnet is taken first). This makes every metric a
deterministic function of the inputs, including their order when scores tie.

Sources (each definition, with its source and direction, in docs/metrics.md):

* Kendall tau-b and Spearman rho between scores and truth: the standard
  rank correlations (``scipy.stats.kendalltau``, ``scipy.stats.spearmanr``).
* Sparse Kendall tau, P>R (probability to beat random search) and final
  accuracy: Yu et al., "Evaluating the Search Phase of Neural Architecture
  Search", ICLR 2020, and Yu et al., "How to Train Your Super-Net: An
  Analysis of Training Heuristics in Weight-Sharing NAS" (2020); the sparse
  tau as the authors' code computes it (``compute_sparse_rank_metric`` with
  ``sparse_rank_by_simple_bin``).
* BR@K and WR@K (best and worst true normalized rank among the supernet's
  top K of the pool): Ning et al., "Evaluating Efficient Performance
  Estimators of Neural Architectures", NeurIPS 2021, Sec. 3.
* Top-k% precision and Spearman among the true top architectures: as
  reported by Hu et al., "Generalizing Few-Shot NAS with Gradient
  Matching", ICLR 2022 (Table 7: Spearman among the top 0.2% / 0.5% / 1%),
  following Abdelfattah et al., ICLR 2021.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

from bench import metric_names as names
from bench.metrics.checks import finite_vector

__all__ = [
    "kendall_tau",
    "spearman",
    "sparse_kendall_tau",
    "sparse_bins",
    "top_k_count",
    "top_k_precision",
    "p_beats_random",
    "final_accuracy",
    "spearman_top",
    "top_fraction_count",
    "true_normalized_rank",
    "best_rank_at_k",
    "worst_rank_at_k",
    "RANK_AT_K_FRACTIONS",
    "rank_at_k_metrics",
    "ranking_metrics",
]

# The K of BR@K / WR@K that every run reports (1%, 5% and 10% of its pool), and the key suffix of each.
RANK_AT_K_FRACTIONS = {0.01: names.pct(1), 0.05: names.pct(5), 0.10: names.pct(10)}


# -- input checks ---------------------------------------------------------------


def _pair(scores, truth, min_len: int = 2) -> tuple[np.ndarray, np.ndarray]:
    s = finite_vector(scores, "scores", min_len=min_len)
    t = finite_vector(truth, "truth", min_len=min_len)
    if s.size != t.size:
        raise ValueError(f"scores and truth must have the same length, got {s.size} and {t.size}")
    return s, t


def _percent(value, name: str) -> float:
    value = float(value)
    if not (0.0 < value <= 100.0):
        raise ValueError(f"{name} must be a percentage in (0, 100], got {value}")
    return value


def top_k_count(n: int, k_percent: float) -> int:
    """Number of subnets in the top ``k_percent``% of ``n``: ``max(1, round(n * k_percent / 100))``,
    rounding halves up (so 5% of 50 is 3, not Python's banker's 2)."""
    k_percent = _percent(k_percent, "k_percent")
    return max(1, min(n, int(math.floor(n * k_percent / 100.0 + 0.5))))


def _count(k, n: int) -> int:
    """``k`` as an int in 1..n, or ValueError naming it."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer, float, np.floating)) or int(k) != k:
        raise ValueError(f"k must be an integer, got {k!r}")
    if not 1 <= int(k) <= n:
        raise ValueError(f"k must be in 1..{n} (the pool size), got {k}")
    return int(k)


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest values; among equal values the earlier position first."""
    return np.argsort(-values, kind="stable")[:k]


def _is_constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


# -- correlations ---------------------------------------------------------------


def kendall_tau(scores, truth) -> float:
    """Kendall tau-b between supernet scores and ground truth (``scipy.stats.kendalltau``).

    Tau-b accounts for ties in either argument. NaN when either is constant.
    """
    s, t = _pair(scores, truth)
    if _is_constant(s) or _is_constant(t):
        return float("nan")
    return float(stats.kendalltau(s, t).statistic)


def spearman(scores, truth) -> float:
    """Spearman rank correlation (average ranks for ties). NaN when either argument is constant."""
    s, t = _pair(scores, truth)
    if _is_constant(s) or _is_constant(t):
        return float("nan")
    return float(stats.spearmanr(s, t).statistic)


def sparse_bins(truth, threshold: float = 1.0) -> np.ndarray:
    """Bin of each subnet for the sparse Kendall tau: dense rank (0, 1, ...) of ``floor(truth / threshold)``.

    ``threshold`` is in the units of ``truth`` (accuracy points for
    percentages). Quotients within floating-point error of a bin edge are
    snapped onto it, so 91.6 with threshold 0.1 lands in bin 916 as written,
    not in 915 because ``91.6 / 0.1 == 915.999...``.
    """
    t = finite_vector(truth, "truth", min_len=1)
    threshold = float(threshold)
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive number, got {threshold}")
    q = t / threshold
    edge = np.round(q)
    q = np.where(np.isclose(q, edge, rtol=1e-12, atol=1e-9), edge, q)
    return np.unique(np.floor(q), return_inverse=True)[1].astype(np.int64)


def sparse_kendall_tau(scores, truth, threshold: float = 1.0) -> float:
    """Sparse Kendall tau of Yu et al. (ICLR 2020), as their code computes it.

    1. Each subnet gets a bin, the dense rank of ``floor(truth / threshold)``
       (:func:`sparse_bins`): subnets whose truth falls in one bin count as
       equal.
    2. The bins are written down twice: in ground-truth order (ascending
       truth; a non-decreasing sequence) and in supernet order (ascending
       score, ties kept in pool order: ``np.argsort(scores, kind="stable")``).
    3. The result is Kendall tau-b between these two sequences, position by
       position.

    A supernet that orders the pool like the truth scores exactly 1.0, and
    permuting subnets within one bin costs nothing. The value depends on the
    pool order only where scores tie (stable order). NaN when all subnets
    fall in one bin. This is *not* tau-b between the scores and the binned
    truth, and not NAS-Bench-301's "sparse" tau (which rounds predictions).

    ``threshold`` is in the units of ``truth``: the authors used 0.1
    accuracy points in training logs and 1 point in their analysis; report
    which one is used. (Their code also rescales percentages to fractions and
    sorts with NumPy's default, non-stable quicksort; neither changes the
    definition above.)
    """
    s, t = _pair(scores, truth)
    bins = sparse_bins(t, threshold)
    by_truth = bins[np.argsort(t, kind="stable")]
    by_score = bins[np.argsort(s, kind="stable")]
    if _is_constant(by_truth):
        return float("nan")
    # Both sequences are orderings of the same bins, so their tie counts are
    # equal and tau-b = S / (n0 - n1) with the integer S = C - D. Recover S
    # from scipy's value (its float error is far below 0.5 for any pool that
    # fits in memory) and divide once, so a perfect order gives exactly 1.0
    # rather than 0.9999999999999999.
    counts = np.bincount(bins).astype(np.int64)
    n = np.int64(bins.size)
    pairs = int(n * (n - 1) // 2 - np.sum(counts * (counts - 1) // 2))
    tau = stats.kendalltau(by_truth, by_score).statistic
    return int(round(tau * pairs)) / pairs


# -- search-outcome metrics -------------------------------------------------------


def top_k_precision(scores, truth, k_percent: float) -> float:
    """Share of the true top-k% subnets that are also in the supernet's top-k%.

    Both top sets have ``k = top_k_count(n, k_percent)`` members (at least 1);
    ties are broken by pool order. Returns ``|overlap| / k`` in [0, 1].
    """
    s, t = _pair(scores, truth)
    k = top_k_count(s.size, k_percent)
    overlap = np.intersect1d(_top(s, k), _top(t, k)).size
    return overlap / k


def p_beats_random(scores, truth, space_truth, k: int = 10) -> float:
    """P>R, the probability that the supernet's pick beats random search (Yu et al.).

    Take the ``k`` subnets with the highest scores, let ``best`` be the
    highest truth among them and ``q`` the fraction of the whole search space
    (``space_truth``: the truth of every subnet in the space) whose truth is
    at most ``best``. Then ``q ** k`` is the probability that ``k`` uniform
    random samples from the space all do no better. The authors used K = 10
    on NAS-Bench-201 and 5 elsewhere.
    """
    s, t = _pair(scores, truth)
    space = finite_vector(space_truth, "space_truth", min_len=1)
    k = _count(k, s.size)
    best = t[_top(s, k)].max()
    q = float(np.mean(space <= best))
    return q**k


def final_accuracy(scores, truth, k: int = 1) -> float:
    """Mean ground truth of the ``k`` subnets the supernet ranks highest (k=1: the pick itself)."""
    s, t = _pair(scores, truth)
    return float(t[_top(s, _count(k, s.size))].mean())


def spearman_top(scores, truth, top_percent: float) -> float:
    """Spearman rho among the subnets in the true top ``top_percent``% of the pool (GM-NAS, Table 7).

    The subset has ``top_k_count(n, top_percent)`` members, ties by pool
    order. GM-NAS reports it over the whole NAS-Bench-201 space (top 0.2%,
    0.5%, 1%); pass the whole space as the pool to match. NaN when the subset
    has fewer than 3 subnets or is constant in either argument.
    """
    s, t = _pair(scores, truth)
    k = top_k_count(s.size, top_percent)
    if k < 3:
        return float("nan")
    idx = _top(t, k)
    return spearman(s[idx], t[idx])


# -- what a search would have found (Ning et al. 2021) -----------------------------


def _fraction(k) -> float:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer, float, np.floating)):
        raise ValueError(f"k must be a fraction of the pool in (0, 1], got {k!r}")
    k = float(k)
    if not 0.0 < k <= 1.0:  # NaN fails this too
        raise ValueError(f"k must be a fraction of the pool in (0, 1], got {k} (5% is 0.05)")
    return k


def top_fraction_count(n: int, k: float) -> int:
    """``ceil(k * n)`` subnets, at least 1: the size of the predicted top K of a pool of ``n``.

    The product is rounded to 9 decimals before the ceiling so that float
    error does not add a subnet: 0.07 x 100 is 7.000000000000001 in floats,
    and the top 7% of 100 subnets is 7 of them, not 8.
    """
    return max(1, min(n, math.ceil(round(_fraction(k) * n, 9))))


def true_normalized_rank(truth) -> np.ndarray:
    """For each subnet, the share of the pool with strictly higher truth: 0 is the best, ties share a rank.

    Ning et al. (NeurIPS 2021, Sec. 3) define BR@K / WR@K on the true rank
    normalized by the pool size; counting only strictly better subnets, so
    that equal accuracies share the better rank, is our reading of it.
    """
    t = finite_vector(truth, "truth", min_len=1)
    # searchsorted on the ascending truth counts the subnets <= each value; the rest are strictly higher.
    at_most = np.searchsorted(np.sort(t), t, side="right")
    return (t.size - at_most) / t.size


def _predicted_top_ranks(scores, truth, k) -> np.ndarray:
    s, t = _pair(scores, truth, min_len=1)  # one subnet is a pool too: its own best and worst
    return true_normalized_rank(t)[_top(s, top_fraction_count(s.size, k))]


def best_rank_at_k(scores, truth, k: float) -> float:
    """BR@K: the best true normalized rank among the supernet's top K (lower is better; 0 = the pool's best).

    Ning et al., "Evaluating Efficient Performance Estimators of Neural
    Architectures", NeurIPS 2021, Sec. 3. ``k`` is a fraction of the pool in
    (0, 1]; the predicted top K holds ``top_fraction_count(n, k)`` subnets,
    ties in score broken by pool order (the earlier subnet first; our
    choice). With a perfect ranking it is 0; with a reversed one it is
    ``1 - ceil(k n) / n`` (without ties in truth).
    """
    return float(_predicted_top_ranks(scores, truth, k).min())


def worst_rank_at_k(scores, truth, k: float) -> float:
    """WR@K: the worst true normalized rank among the supernet's top K (lower is better).

    Ning et al., NeurIPS 2021, Sec. 3; the top K and its ties as in
    :func:`best_rank_at_k`. With a perfect ranking (no ties in truth) it is
    ``ceil(k n) / n - 1 / n``: the top K holds exactly the K best subnets.
    """
    return float(_predicted_top_ranks(scores, truth, k).max())


def rank_at_k_metrics(scores, truth, suffix: str = "") -> dict[str, float]:
    """BR@K and WR@K at each K of ``RANK_AT_K_FRACTIONS``: ``best_rank_at_5pct`` etc., plus ``suffix``."""
    out = {}
    for k, name in RANK_AT_K_FRACTIONS.items():
        out[names.best_rank_at(name, suffix)] = best_rank_at_k(scores, truth, k)
        out[names.worst_rank_at(name, suffix)] = worst_rank_at_k(scores, truth, k)
    return out


# -- bundle ---------------------------------------------------------------------


def ranking_metrics(scores, truth, *, sparse_threshold: float = 1.0, space_truth=None) -> dict[str, float]:
    """The standard metric set for one evaluation pool.

    Keys: ``kendall_tau``, ``sparse_kendall_tau``, ``sparse_threshold`` (the
    threshold used, in truth units), ``spearman``, ``top_5pct_precision``,
    ``top_10pct_precision``, ``final_accuracy_top1``, BR@K and WR@K at 1%,
    5% and 10% (``best_rank_at_5pct``, ``worst_rank_at_5pct`` ...), and, when
    ``space_truth`` is given, ``p_beats_random_k10`` (NaN for pools smaller
    than 10).
    """
    s, t = _pair(scores, truth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {
            names.KENDALL_TAU: kendall_tau(s, t),
            names.SPARSE_KENDALL_TAU: sparse_kendall_tau(s, t, sparse_threshold),
            names.SPARSE_THRESHOLD: float(sparse_threshold),
            names.SPEARMAN: spearman(s, t),
            names.TOP_5PCT_PRECISION: top_k_precision(s, t, 5),
            names.TOP_10PCT_PRECISION: top_k_precision(s, t, 10),
            names.FINAL_ACCURACY_TOP1: final_accuracy(s, t, 1),
            **rank_at_k_metrics(s, t),
        }
        if space_truth is not None:
            out[names.P_BEATS_RANDOM_K10] = p_beats_random(s, t, space_truth, 10) if s.size >= 10 else float("nan")
    return out
