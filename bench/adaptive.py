"""Adaptive scoring: held-out images spent only where the pool's ranking is still uncertain.

Full scoring (``eval.scoring: full``, the papers' protocol) scores every
subnet of the evaluation pool on every held-out image. Adaptive scoring
(``eval.scoring: adaptive``) scores every subnet on a first slice of the
held-out images, then, in rounds whose image prefix doubles (first, 2 x
first, 4 x first, ... up to the whole set), scores further only the subnets
whose place in the ranking is still uncertain. Every subnet sees the images
in the same order (a prefix of one list), so any two subnets are compared on
the same images, and a subnet that goes to the end has exactly its full
score. The score of a subnet is its accuracy on the prefix it saw.

The rule: paired racing between ranking neighbours, with an indifference zone
-------------------------------------------------------------------------------

After each round the pool is ranked by current accuracy. For every pair of
neighbours (a, b) in that ranking the accuracy difference d is measured on
their common prefix of m images, paired by image: with n_ab images that only
a gets right and n_ba only b, ``d = (n_ab - n_ba) / m`` and its standard
error is taken from the normal approximation to McNemar's paired test,
``se = sqrt(n_ab + n_ba + 1) / m`` (the +1 keeps it positive when the two
agree on every image so far). The pair is *settled* when

- ``|d| > z * se``: the order is significant at ``confidence`` (two-sided
  ``z``), or
- ``z * se < tolerance``: the difference is known to within ``tolerance``
  accuracy points, so their order does not matter to that precision
  (Bechhofer's indifference zone: Bechhofer, "A single-sample multiple
  decision procedure for ranking means of normal populations with known
  variances", Ann. Math. Statist. 1954).

A subnet is scored in the next round (up to the doubled prefix) while one of
its two neighbour pairs is unsettled and it has not seen every image; a
subnet stopped earlier is taken up again when a new neighbour leaves a pair
with it unsettled (it then catches up to the round's prefix). This is the
racing of Maron & Moore ("Hoeffding races", NIPS 1994), run over the
neighbours of a ranking instead of against the best candidate, because the
metric is a correlation over the whole pool, not the identity of the winner.
Successive halving (Jamieson & Talwalkar, AISTATS 2016) was not chosen: it
keeps the better half each round, so the ranking of the lower half would
rest on the first slice alone however close its subnets are, and Kendall tau
counts those pairs like any other.

Why paired: held-out images are mostly easy or hard for every subnet alike,
so the correctness of two subnets is strongly correlated by image; the
variance of their difference (discordant images only) is several times
smaller than the sum of two independent binomial variances, and so is the
number of images needed to order them. Why the indifference zone: a pool of
100-200 subnets holds near-ties that even the whole held-out set cannot
order; without it every near-tie would go to the end, and ordering near-ties
changes the Kendall tau against a ground truth little (each pair weighs
2 / (n (n - 1))).

Cost and guarantees: every subnet sees at most the whole set (a prefix of
it); rounds are bounded by ``log2(num_images / first) + 1``; the result is a
deterministic function of the correctness the callback returns.

Defaults (``eval.adaptive_first = 500``, ``adaptive_confidence = 0.95``,
``adaptive_tolerance = 2.0`` points) were chosen offline with
``scripts/adaptive_scoring_check.py`` on per-image correctness matrices: on
item-response matrices of 100 and 200 subnets x 25,000 images they spend
6.7x and 6.9x fewer subnet-images than full scoring, with Kendall tau within
0.007 of full scoring's and sparse Kendall tau within 0.012 over several
image orders. A near-tie stops at the prefix where its difference is known to
``tolerance / z`` standard errors, so savings come in steps of the doubling
schedule and grow with the number of held-out images (with 900 digits
images little is saved).

In a run (:mod:`bench.run`), slices are whole scoring batches, so under
batch-statistics BN a subnet that reaches the end has exactly its full score;
the samples of the true top cells (``eval.top_sample``) are scored the same
way; in split runs (few-shot, GM) the subnets of each sub-supernet race among
themselves.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from torch import nn

from bench.config import EvalConfig
from bench.data import DeviceBatches
from bench.evaluate import recalibrate_bn
from bench.precision import autocast

# The defaults of the eval.adaptive_* keys (tuned offline: scripts/adaptive_scoring_check.py), from the schema.
_EVAL = EvalConfig()
DEFAULT_FIRST = _EVAL.adaptive_first
DEFAULT_CONFIDENCE = _EVAL.adaptive_confidence
DEFAULT_TOLERANCE = _EVAL.adaptive_tolerance


@dataclass(frozen=True)
class AdaptiveResult:
    """Per subnet: accuracy in percent on the images it saw, and how many it saw (a prefix)."""

    accuracy: np.ndarray  # float64, percent
    images: np.ndarray  # int64, images seen (the prefix [0, images))
    rounds: int

    @property
    def total_images(self) -> int:
        return int(self.images.sum())


def prefix_schedule(num_images: int, first: int, align: int = 1) -> list[int]:
    """The prefix lengths of the rounds: ``first``, doubling, up to ``num_images`` (the last one).

    Every length but the last is rounded up to a multiple of ``align`` (the scoring batch size, so that a
    slice is whole batches and batch-statistics BN sees the same batches as a full pass).
    """
    if num_images < 1 or first < 1 or align < 1:
        raise ValueError(f"need num_images, first, align >= 1; got {num_images}, {first}, {align}")
    stops, n = [], first
    while True:
        stop = min(num_images, -(-n // align) * align)
        if not stops or stop > stops[-1]:
            stops.append(stop)
        if stop >= num_images:
            return stops
        n = 2 * stop


def adaptive_scores(num_subnets: int, num_images: int, score: Callable[[int, int, int], np.ndarray], *,
                    first: int = DEFAULT_FIRST, confidence: float = DEFAULT_CONFIDENCE,
                    tolerance: float = DEFAULT_TOLERANCE, align: int = 1) -> AdaptiveResult:
    """Race the subnets' ranking (see the module docstring) and return their accuracies.

    ``score(i, start, stop)`` returns the correctness (bool, one per image) of subnet ``i`` on held-out
    images ``[start, stop)``; it is called with contiguous, increasing ranges per subnet. ``first``:
    images of the first round; ``confidence``: two-sided confidence of a significant order (in (0, 1));
    ``tolerance``: the indifference zone in accuracy points (0: none); ``align``: see
    :func:`prefix_schedule`.
    """
    if num_subnets < 1:
        raise ValueError(f"need at least one subnet; got {num_subnets}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0; got {tolerance}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    tol = tolerance / 100.0
    correct = np.zeros((num_subnets, num_images), dtype=bool)
    seen = np.zeros(num_subnets, dtype=np.int64)
    hits = np.zeros(num_subnets, dtype=np.int64)

    def extend(i: int, stop: int) -> None:
        start = int(seen[i])
        if stop <= start:
            return
        got = np.asarray(score(i, start, stop), dtype=bool).reshape(-1)
        if got.shape[0] != stop - start:
            raise ValueError(f"score({i}, {start}, {stop}) returned {got.shape[0]} values, expected "
                             f"{stop - start}")
        correct[i, start:stop] = got
        hits[i] += int(got.sum())
        seen[i] = stop

    schedule = prefix_schedule(num_images, first, align)
    active = np.ones(num_subnets, dtype=bool)
    rounds = 0
    for stop in schedule:
        todo = np.flatnonzero(active)
        if todo.size == 0:
            break
        rounds += 1
        for i in todo:
            extend(int(i), stop)
        active = _unsettled(correct, seen, hits, z, tol) & (seen < num_images)
    return AdaptiveResult(100.0 * hits / seen, seen, rounds)


def _unsettled(correct: np.ndarray, seen: np.ndarray, hits: np.ndarray, z: float, tol: float) -> np.ndarray:
    """Subnets with a neighbour (in the ranking by current accuracy) whose order against them is unsettled."""
    accuracy = hits / seen
    order = np.argsort(-accuracy, kind="stable")
    out = np.zeros(len(seen), dtype=bool)
    for a, b in itertools.pairwise(order):
        m = int(min(seen[a], seen[b]))
        xa, xb = correct[a, :m], correct[b, :m]
        n_ab = int(np.count_nonzero(xa & ~xb))
        n_ba = int(np.count_nonzero(xb & ~xa))
        d = (n_ab - n_ba) / m
        se = math.sqrt(n_ab + n_ba + 1) / m
        if not (abs(d) > z * se or z * se < tol):
            out[a] = out[b] = True
    return out


# ---------------------------------------------------------------------------
# With a model: the callback over held-out batches
# ---------------------------------------------------------------------------


@torch.no_grad()
def correct_in_range(model: nn.Module, arch, batches: DeviceBatches, start: int, stop: int,
                     precision: str = "fp32") -> np.ndarray:
    """Correctness of ``arch`` on images ``[start, stop)`` of the ordered, unaugmented ``batches``.

    Whole batches are run (the ones that hold the range), so with batch-statistics BN every image is
    normalized with the same batch as in a full pass when ``start`` is a multiple of the batch size.
    """
    model.eval()
    size = batches.batch_size
    out = []
    for b, (x, y) in enumerate(batches.epoch(0)):
        lo, hi = b * size, b * size + y.shape[0]
        if hi <= start:
            continue
        if lo >= stop:
            break
        with autocast(x.device, precision):
            logits = model(x, arch)
        hit = (logits.argmax(1) == y).cpu().numpy()
        out.append(hit[max(0, start - lo): min(hi, stop) - lo])
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)


def score_pool_adaptive(model: nn.Module, pool: Sequence, eval_batches: DeviceBatches,
                        recalibration_batches: int = 0, train_batches: DeviceBatches | None = None, *,
                        first: int = DEFAULT_FIRST, confidence: float = DEFAULT_CONFIDENCE,
                        tolerance: float = DEFAULT_TOLERANCE, precision: str = "fp32") -> AdaptiveResult:
    """:func:`bench.evaluate.score_pool` with adaptive scoring; the accuracies and images of each subnet.

    Slices are whole scoring batches (``eval.batch_size``). With BN recalibration a subnet's statistics are
    recomputed before each of its slices (the same batches every time, so the same statistics).
    """
    if recalibration_batches > 0 and train_batches is None:
        raise ValueError("BN recalibration needs the training batches")
    pool = list(pool)

    def score(i: int, start: int, stop: int) -> np.ndarray:
        if recalibration_batches > 0:
            recalibrate_bn(model, pool[i], train_batches, recalibration_batches, precision)
        return correct_in_range(model, pool[i], eval_batches, start, stop, precision)

    return adaptive_scores(len(pool), eval_batches.num_images, score, first=first, confidence=confidence,
                           tolerance=tolerance, align=eval_batches.batch_size)
