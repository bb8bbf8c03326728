"""What a comparison over a few paired seeds could have detected: the minimum detectable difference.

A setting is compared with the grid's baseline through the per-seed
differences ``d_s = metric(setting, seed s) - metric(baseline, seed s)``
(:func:`bench.metrics.uncertainty.paired_difference`). Whether an observed
difference is *distinguishable* says little when the seeds could not have
detected a difference of that size in the first place; the minimum detectable
difference (MDE) says how large a true difference would have had to be.
"""

from __future__ import annotations

import math

from scipy import stats

__all__ = ["minimum_detectable_difference", "seeds_needed", "MAX_SEEDS"]

MAX_SEEDS = 1000  # seeds_needed gives up beyond this: the difference is too small against the noise


def minimum_detectable_difference(sd_diff: float, n: int, power: float = 0.80, alpha: float = 0.05) -> float:
    """Smallest true mean difference a two-sided paired t-test over ``n`` seeds detects with ``power``.

    ``MDE = (t_{1 - alpha/2, n-1} + t_{power, n-1}) * sd_diff / sqrt(n)``, with
    ``t_{q, df}`` the ``q`` quantile of Student's t with ``df`` degrees of
    freedom and ``sd_diff`` the standard deviation (ddof=1) of the ``n`` paired
    differences. With the defaults (5% two-sided, 80% power):
    ``(12.706 + 1.376) * sd / sqrt(2) = 9.96 sd`` for 2 seeds,
    ``(4.303 + 1.061) * sd / sqrt(3) = 3.10 sd`` for 3, and about
    ``2.8 sd / sqrt(n)`` for many seeds (the normal-quantile formula).

    This is the standard approximation to the power of the paired (one-sample)
    t-test, solved for the difference instead of the sample size: the
    noncentral t distribution of the test statistic under the alternative is
    approximated by a shifted central t, and the chance of rejecting in the
    wrong direction is ignored. See Chow, Shao & Wang, *Sample Size
    Calculations in Clinical Research*, 2nd ed., Chapman & Hall/CRC 2008,
    section 3.1 (one-sample and paired designs), and Julious, "Sample sizes
    for clinical trials with Normal data", *Statistics in Medicine* 23 (2004),
    1921-1986 (the t-quantile form). The approximation is slightly optimistic:
    a true difference of the returned size is detected with about 73% (not
    80%) probability at n = 2, 77% at n = 3 and 79% at n = 5 (noncentral t).
    With 2 or 3 seeds ``sd_diff`` is itself a rough estimate, so read the MDE
    as an order of magnitude.

    Parameters
    ----------
    sd_diff:
        Standard deviation (ddof=1) of the paired per-seed differences; >= 0.
    n:
        Number of paired seeds.
    power:
        Probability of detecting a true difference of the returned size, in (0, 1).
    alpha:
        Two-sided significance level, in (0, 1).

    Returns
    -------
    float
        The MDE in the metric's units; NaN when ``n < 2`` (one difference says
        nothing about the spread) or ``sd_diff`` is NaN.
    """
    if not (0.0 < power < 1.0):
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if n is None or (isinstance(n, float) and math.isnan(n)) or int(n) < 2:
        return math.nan
    sd = float(sd_diff)
    if math.isnan(sd):
        return math.nan
    if sd < 0 or math.isinf(sd):
        raise ValueError(f"sd_diff must be a finite standard deviation >= 0, got {sd_diff!r}")
    df = int(n) - 1
    factor = stats.t.ppf(1.0 - alpha / 2.0, df) + stats.t.ppf(power, df)
    return float(factor * sd / math.sqrt(int(n)))


def seeds_needed(sd_diff: float, difference: float, power: float = 0.80, alpha: float = 0.05) -> int | None:
    """The fewest paired seeds whose minimum detectable difference is at most ``difference``.

    The inverse of :func:`minimum_detectable_difference` (the same paired
    t-test approximation): the smallest ``n >= 2`` with
    ``MDE(sd_diff, n) <= difference``. ``sd_diff`` comes from a pilot (the sd
    of its paired per-seed differences), so with a pilot of 2 or 3 seeds the
    answer is a rough planning figure. None where more than ``MAX_SEEDS``
    would be needed or ``sd_diff`` is NaN; 2 where the pilot showed no spread.
    """
    difference = float(difference)
    if not difference > 0 or math.isinf(difference):
        raise ValueError(f"difference must be a positive number (in the metric's units), got {difference!r}")
    if math.isnan(float(sd_diff)):
        return None
    low, high = 2, MAX_SEEDS  # MDE falls with n: bisect for the first n that reaches the difference
    if minimum_detectable_difference(sd_diff, high, power, alpha) > difference:
        return None
    while low < high:
        middle = (low + high) // 2
        if minimum_detectable_difference(sd_diff, middle, power, alpha) <= difference:
            high = middle
        else:
            low = middle + 1
    return low
