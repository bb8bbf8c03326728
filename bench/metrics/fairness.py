"""Complexity-fairness diagnostics for supernet rankings: CB, CB-matched and C3.

The CaLR paper (Jeon et al., "Subnet-Aware Dynamic Supernet Training for
Neural Architecture Search", CVPR 2025, arXiv:2503.10740) introduces two
diagnostics of the *unfairness* of supernet training -- low-complexity subnets
converge early and are ranked too high, high-complexity subnets are
under-trained and underestimated:

* Complexity Bias (CB): "the degree to which the supernet ranking biases
  towards low-complexity subnets";
* Complexity-Convergence Correlation (C3): "the correlation between
  complexity and convergence level".

The paper defines both only in words (main paper, its evaluation metrics CB
and C3; values in Table D of the supplementary material, Sec. B.2) and gives
no formula. The functions here are therefore **our operationalization** of
those verbal definitions, documented in docs/metrics.md (sections "Complexity
bias (CB)", "CB-matched" and "Complexity-convergence correlation (C3)"); numbers
computed with them are comparable with the paper's only in scale and
direction, not digit for digit.

The paper's values for scale (NAS-Bench-201, CIFAR-10 supernet, Table D):
CB 0.76 for SPOS -> 0.63 with CaLR; C3 -0.19 for SPOS -> -0.09 with CaLR
(FairNAS 0.72 -> 0.62 and -0.13 -> -0.06; FSNAS 0.79 -> 0.63 and
-0.21 -> -0.10).

A confound worth knowing before reading CB: where true accuracy grows with
complexity (as on NAS-Bench-201), purely complexity-blind noise in the
supernet scores already gives CB well above 0.5 (about 0.63 to 0.71 measured
on NAS-Bench-201 samples), because in a discordant pair the truly better
subnet is usually the larger one, so the supernet's mistaken preference
usually falls on the smaller one. CB-matched (ours) compares only subnets of
(nearly) equal true accuracy and is 0.5 under complexity-blind noise by
symmetry. Report both.

All three functions are pure numpy (plus ``scipy.stats.kendalltau`` for C3).
Pairwise quantities are computed over the upper triangle (``i < j``) in blocks
of rows, so memory stays bounded (a few tens of MB) for pools of thousands of
subnets; time is O(n^2).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy import stats

from bench.metrics.checks import finite_vector

__all__ = [
    "complexity_bias",
    "complexity_bias_matched",
    "complexity_convergence_correlation",
]

# Upper bound on the number of pair cells handled at once (rows x columns of
# one block). Each cell costs a few bytes per temporary array.
_MAX_BLOCK_CELLS = 2_000_000


def _validate(**arrays) -> list[np.ndarray]:
    """Validate named 1-D finite arrays of equal length; return them in order."""
    out = [finite_vector(v, k) for k, v in arrays.items()]
    lengths = {k: len(a) for k, a in zip(arrays, out)}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"inputs must have the same length: {desc}")
    return out


def _pair_blocks(n: int) -> Iterator[tuple[slice, slice, np.ndarray]]:
    """Yield ``(rows, cols, upper)`` covering every pair ``i < j`` exactly once.

    ``rows`` and ``cols`` are slices into the subnet arrays; ``upper`` is a
    boolean mask of shape ``(len(rows), len(cols))`` that is True where the
    column index is greater than the row index.
    """
    if n < 2:
        return
    block = max(1, min(n, _MAX_BLOCK_CELLS // n))
    for r0 in range(0, n - 1, block):
        r1 = min(r0 + block, n - 1)
        rows = slice(r0, r1)
        cols = slice(r0 + 1, n)
        i = np.arange(r0, r1)[:, None]
        j = np.arange(r0 + 1, n)[None, :]
        yield rows, cols, j > i


def _pair_signs(x: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    """``sign(x[i] - x[j])`` for the rows x cols block, as int8."""
    return np.sign(x[rows, None] - x[None, cols]).astype(np.int8)


def complexity_bias(scores, truth, complexity) -> float:
    """Complexity bias (CB): how often the supernet's ranking errors favour small subnets.

    Our operationalization of the CaLR paper's verbal definition (Jeon et al.,
    CVPR 2025, evaluation metrics "CB and C3"; values in supplementary
    Table D); the paper gives no formula. Over all pairs of subnets that the
    supernet orders differently from the ground truth (discordant pairs), CB
    is the fraction in which the supernet prefers -- scores higher -- the
    lower-complexity subnet of the pair.

    Tie handling: a pair is left out when the two subnets have equal
    complexity, equal supernet score or equal ground truth (exact equality;
    such a pair is neither concordant nor discordant, or has no
    lower-complexity member). Returns NaN when no pair qualifies.

    Scale: towards 1 = small subnets overrated. The paper reports, on
    NAS-Bench-201 CIFAR-10, CB 0.76 for SPOS and 0.63 with CaLR. CB is *not*
    0.5 at "no bias": where accuracy grows with complexity, complexity-blind
    noise alone gives CB of about 0.63 to 0.71 (in a discordant pair the truly
    better subnet is usually the larger one). Use
    :func:`complexity_bias_matched` to remove that confound, and report both.

    Parameters
    ----------
    scores:
        Supernet score of each subnet (higher = better; e.g. supernet
        accuracy). 1-D, finite.
    truth:
        Ground-truth accuracy of each subnet (higher = better). 1-D, finite,
        same length.
    complexity:
        Complexity of each subnet (e.g. parameter count or FLOPs). 1-D,
        finite, same length. Only its order matters.

    Returns
    -------
    float
        Fraction in [0, 1], or NaN when no pair qualifies.

    Raises
    ------
    ValueError
        If an input is not 1-D, not numeric, contains NaN/inf, or the lengths
        differ.
    """
    s, t, c = _validate(scores=scores, truth=truth, complexity=complexity)
    n_pairs = 0
    n_low = 0
    for rows, cols, upper in _pair_blocks(len(s)):
        ds = _pair_signs(s, rows, cols)
        dt = _pair_signs(t, rows, cols)
        dc = _pair_signs(c, rows, cols)
        # discordant: supernet and truth disagree in sign (both non-zero);
        # dc != 0 excludes equal-complexity pairs.
        keep = upper & (ds * dt < 0) & (dc != 0)
        n_pairs += int(np.count_nonzero(keep))
        # supernet prefers the lower-complexity subnet: the one it scores
        # higher has the smaller complexity, i.e. opposite signs.
        n_low += int(np.count_nonzero(keep & (ds * dc < 0)))
    if n_pairs == 0:
        return float("nan")
    return n_low / n_pairs


def complexity_bias_matched(scores, truth, complexity, delta: float = 0.5) -> float:
    """Complexity bias among accuracy-matched pairs (CB-matched).

    Our own companion to CB (an operationalization added to the CaLR paper's
    verbal CB definition, Jeon et al., CVPR 2025, evaluation metrics "CB and
    C3"), built to remove CB's confound. Over pairs of subnets whose ground
    truth differs by at most ``delta`` and whose complexity differs, it is the
    fraction in which the supernet scores the lower-complexity subnet higher.

    Because the two subnets of a matched pair are (nearly) equally good, a
    supernet whose errors are complexity-blind prefers the smaller one half
    the time: CB-matched is 0.5 under complexity-blind noise by symmetry,
    whereas plain CB is about 0.63 to 0.71 in that case on NAS-Bench-201
    samples. A supernet that overrates small subnets gives more than 0.5
    (underrates: less). Report it next to CB; the paper's CB values
    (NAS-Bench-201 CIFAR-10: SPOS 0.76 -> 0.63 with CaLR) are for plain CB and
    have no CB-matched counterpart.

    Tie handling: pairs with equal supernet score or equal complexity are left
    out (exact equality). Pairs with equal ground truth are *included*
    (|difference| = 0 <= delta). The comparison ``|t_i - t_j| <= delta``
    allows a floating-point slack of a few ulps of ``max|truth|`` so that,
    e.g., 80.3 vs 79.8 counts as a difference of 0.5. Returns NaN when no
    pair qualifies.

    Parameters
    ----------
    scores, truth, complexity:
        As in :func:`complexity_bias` (1-D, finite, equal length).
    delta:
        Largest ground-truth difference for a pair to count as matched, in
        the units of ``truth`` (default 0.5, i.e. half an accuracy point when
        ``truth`` is in percent; use 0.005 for fractions). Finite, >= 0.

    Returns
    -------
    float
        Fraction in [0, 1], or NaN when no pair qualifies.

    Raises
    ------
    ValueError
        On invalid inputs (see :func:`complexity_bias`) or a negative /
        non-finite ``delta``.
    """
    s, t, c = _validate(scores=scores, truth=truth, complexity=complexity)
    try:
        delta = float(delta)
    except (TypeError, ValueError):
        raise ValueError(f"delta must be a number, got {delta!r}") from None
    if not np.isfinite(delta) or delta < 0:
        raise ValueError(f"delta must be finite and >= 0, got {delta!r}")
    scale = float(np.max(np.abs(t))) if len(t) else 0.0
    limit = delta + 8.0 * np.finfo(float).eps * scale
    n_pairs = 0
    n_low = 0
    for rows, cols, upper in _pair_blocks(len(s)):
        ds = _pair_signs(s, rows, cols)
        dc = _pair_signs(c, rows, cols)
        close = np.abs(t[rows, None] - t[None, cols]) <= limit
        keep = upper & close & (ds != 0) & (dc != 0)
        n_pairs += int(np.count_nonzero(keep))
        n_low += int(np.count_nonzero(keep & (ds * dc < 0)))
    if n_pairs == 0:
        return float("nan")
    return n_low / n_pairs


def complexity_convergence_correlation(scores, truth, complexity) -> float:
    """Complexity-convergence correlation (C3).

    Our operationalization of the CaLR paper's verbal definition (Jeon et al.,
    CVPR 2025, evaluation metrics "CB and C3"; values in supplementary
    Table D): Kendall tau-b (``scipy.stats.kendalltau``, which handles ties
    in either variable) between complexity and *convergence level*, defined
    per subnet as supernet accuracy divided by ground-truth accuracy.

    Units: the paper takes both accuracies as fractions. The ratio is
    unit-free, so ``scores`` and ``truth`` may be both fractions or both
    percent, but they **must be in the same units** for the ratio to be a
    convergence level. (Tau only depends on the order of the ratios, so a
    consistent units mismatch -- every ratio off by the same factor 100 --
    would not change C3; mixed units *within* an array would, and are not
    detectable here.) ``scores`` must be an accuracy, not an arbitrary score
    such as a negative loss, for the ratio to mean convergence.

    Subnets with zero ground truth are left out (ratio undefined). Returns
    NaN when fewer than 2 subnets remain or when either variable is constant
    over them (tau undefined).

    Scale: negative = large subnets are under-trained relative to small
    ones. The paper reports, on NAS-Bench-201 CIFAR-10, C3 = -0.19 for SPOS
    and -0.09 with CaLR. Complexity-blind noise gives C3 near 0.

    Parameters
    ----------
    scores:
        Supernet accuracy of each subnet. 1-D, finite.
    truth:
        Ground-truth accuracy, same units as ``scores``. 1-D, finite.
    complexity:
        Complexity of each subnet (e.g. parameter count). 1-D, finite.

    Returns
    -------
    float
        Kendall tau-b in [-1, 1], or NaN.

    Raises
    ------
    ValueError
        If an input is not 1-D, not numeric, contains NaN/inf, or the lengths
        differ.
    """
    s, t, c = _validate(scores=scores, truth=truth, complexity=complexity)
    ok = t != 0
    if np.count_nonzero(ok) < 2:
        return float("nan")
    conv = s[ok] / t[ok]
    c = c[ok]
    if np.all(conv == conv[0]) or np.all(c == c[0]):
        return float("nan")
    tau = stats.kendalltau(c, conv, variant="b").statistic
    return float(tau)
