"""Power of paired comparisons: the seeds a difference needs, the inverse of the minimum detectable difference."""

from __future__ import annotations

import math

import pytest

from bench.metrics.power import MAX_SEEDS, minimum_detectable_difference, seeds_needed


@pytest.mark.parametrize("sd", [0.01, 0.05, 0.1, 0.3])
@pytest.mark.parametrize("difference", [0.02, 0.05, 0.1])
def test_seeds_needed_is_the_first_n_whose_mde_reaches_the_difference(sd, difference):
    n = seeds_needed(sd, difference)
    if n is None:
        assert minimum_detectable_difference(sd, MAX_SEEDS) > difference
        return
    assert minimum_detectable_difference(sd, n) <= difference
    if n > 2:
        assert minimum_detectable_difference(sd, n - 1) > difference


def test_seeds_needed_by_hand_for_many_seeds():
    # for large n, MDE ~ (1.96 + 0.84) sd / sqrt(n): sd 0.1, difference 0.05 -> n ~ 31.4, t quantiles add ~2
    n = seeds_needed(0.1, 0.05)
    assert 32 <= n <= 35


def test_edge_cases():
    assert seeds_needed(0.0, 0.05) == 2  # a pilot without spread: the fewest seeds a paired test has
    assert seeds_needed(1.0, 1e-4) is None
    assert seeds_needed(math.nan, 0.05) is None
    for bad in (0.0, -0.1, math.inf, math.nan):
        with pytest.raises(ValueError, match="difference must be a positive number"):
            seeds_needed(0.1, bad)
