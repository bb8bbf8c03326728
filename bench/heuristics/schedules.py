"""Learning-rate schedules per step, and CaLR (complexity-aware learning rate).

Everything here is a pure function of the step (no torch, no config): the
formulas, cited. The ``lr_schedule`` slot and the policy the trainer asks
each step are :mod:`bench.heuristics.lr_policy`, built on these.

- :func:`lr_at`: the usual global schedules (cosine, linear, step, constant,
  poly), with an optional linear warm-up.
- :class:`CaLR`: the complexity-aware learning rate of Jeon et al.,
  "Subnet-Aware Dynamic Supernet Training for Neural Architecture Search",
  CVPR 2025 (arXiv 2503.10740): a polynomial decay
  ``lr^t(a) = lr^0 * (1 - t/T) ** gamma(a)`` (Eq. (3)) whose decay ratio
  depends on the sampled subnet's complexity ``C(a)`` (parameter count by
  default; FLOPs in the supplement's Table F),
  ``gamma(a) = omega * g(C(a)) + tau`` (Eq. (4) with g = log; supplement
  Eqs. (i)-(iii) for g in {log, x, exp}, compared in Table E). Large subnets
  get gamma < 1 and keep a high learning rate longer; small ones get
  gamma > 1. ``gamma_max = 1/gamma_min = gamma'`` with gamma' in {2, 3, 4}
  (Table K: 4 best on NAS-Bench-201; Table L: 3 on MobileNet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SCHEDULES", "CALR_G", "lr_at", "CaLR"]

SCHEDULES = ("cosine", "linear", "step", "constant", "poly")
CALR_G = ("log", "x", "exp")


def _check_step(step: int, total_steps: int) -> None:
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0 <= step <= total_steps:
        raise ValueError(f"step {step} is outside 0..total_steps={total_steps}")


def lr_at(schedule: str, step: int, total_steps: int, lr: float, *, min_lr: float = 0.0,
          warmup_steps: int = 0, power: float = 1.0,
          step_milestones: tuple[float, ...] = (0.5, 0.75), step_gamma: float = 0.1) -> float:
    """Learning rate of step ``step`` (0-based; ``step == total_steps`` is allowed and gives the end value).

    Schedules, with ``t`` and ``T`` counted after the warm-up:

    - ``"cosine"``: ``min_lr + (lr - min_lr) * 0.5 * (1 + cos(pi * t / T))``
      (Loshchilov & Hutter, ICLR 2017, without restarts);
    - ``"linear"``: ``min_lr + (lr - min_lr) * (1 - t / T)``;
    - ``"poly"``: ``min_lr + (lr - min_lr) * (1 - t / T) ** power``;
    - ``"step"``: ``lr * step_gamma ** k`` where ``k`` counts the milestones
      reached (milestone ``m`` is reached from the first step ``t >= m * T``;
      milestones are fractions of ``T`` in (0, 1]), floored at ``min_lr``;
    - ``"constant"``: ``lr`` (``min_lr`` unused).

    Warm-up (our choice): for ``step < warmup_steps`` the rate is
    ``lr * (step + 1) / warmup_steps``, so the first step is not 0 and the last
    warm-up step reaches ``lr``; afterwards the schedule runs over the
    remaining steps, ``t = step - warmup_steps`` of ``T = total_steps - warmup_steps``.

    Raises:
        ValueError: unknown schedule (the message lists :data:`SCHEDULES`),
            a step outside ``0..total_steps``, ``warmup_steps >= total_steps``,
            negative rates, ``power <= 0``, milestones outside (0, 1] or
            ``step_gamma`` outside (0, 1].
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(SCHEDULES)}")
    _check_step(step, total_steps)
    if lr < 0 or min_lr < 0:
        raise ValueError(f"lr and min_lr must be >= 0, got lr={lr}, min_lr={min_lr}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be in 0..total_steps-1 = {total_steps - 1}, got {warmup_steps}")
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    t = step - warmup_steps
    T = total_steps - warmup_steps
    if schedule == "constant":
        return float(lr)
    if schedule == "cosine":
        return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t / T))
    if schedule == "linear":
        return min_lr + (lr - min_lr) * (1.0 - t / T)
    if schedule == "poly":
        if not power > 0:
            raise ValueError(f"poly schedule needs power > 0, got {power}")
        return min_lr + (lr - min_lr) * (1.0 - t / T) ** power
    # "step"
    if not 0 < step_gamma <= 1:
        raise ValueError(f"step_gamma must be in (0, 1], got {step_gamma}")
    bad = [m for m in step_milestones if not 0 < m <= 1]
    if bad:
        raise ValueError(f"step milestones are fractions of the schedule in (0, 1]; got {bad}")
    # ceil with a tolerance so that e.g. 0.3 * 10 = 3.0000000000000004 is step 3
    reached = sum(1 for m in step_milestones if t >= math.ceil(m * T - 1e-9))
    return max(min_lr, lr * step_gamma ** reached)


@dataclass(frozen=True, kw_only=True)
class CaLR:
    """Complexity-aware learning rate (CaLR; Jeon et al., CVPR 2025, Eqs. (3)-(4), supplement Eqs. (i)-(iii)).

    ``lr^t(a) = lr^0 * ((1 - eta) * (1 - t/T) ** gamma(a) + eta)`` with
    ``gamma(a) = omega * g(C(a)) + tau``,
    ``omega = -(gamma_max - gamma_min) / (g(C_max) - g(C_min))`` (Eq. (ii)),
    ``tau = gamma_min - omega * g(C_max)`` (Eq. (iii)),
    ``gamma_max = gamma'`` and ``gamma_min = 1/gamma'``, so the smallest subnet
    of the space (``c_min``) gets ``gamma'`` and the largest (``c_max``) gets
    ``1/gamma'``.

    Fields (keyword-only):
        c_min, c_max: the complexity extremes of the search space (on
            NAS-Bench-201 the parameter counts of the all-``none`` and the
            all-``conv3x3`` cells); ``0 < c_min < c_max``.
        gamma_prime: gamma' >= 1 (paper: 4 on NAS-Bench-201, Table K).
        g: ``"log"`` (the paper's choice, Eq. (4)), ``"x"`` or ``"exp"`` (the
            ablated variants of Table E).
        eta: floor, the last step's rate is ``eta * lr^0``; ``eta = 0`` is
            Eq. (3) and the authors' code (the floor is our extension, see
            docs/heuristics.md#calr); ``0 <= eta < 1``.

    Our operationalization: ``g`` is applied to the complexity normalized by
    ``c_max``, ``g(C / c_max)``. For ``"log"`` and ``"x"`` this changes nothing
    (gamma is invariant under affine maps of ``g``: ``log(C/s) = log C - log s``
    and ``C/s`` only rescale/shift, and Eqs. (ii)-(iii) absorb that); for
    ``"exp"`` it is needed because ``exp`` of a raw parameter count (~1e6)
    overflows, and it fixes the paper's unstated scale to "the largest subnet is 1".

    Complexities must lie in ``[c_min, c_max]`` (a relative tolerance of 1e-6
    is clipped); anything further out raises, since it usually means the
    complexity and the extremes are in different units (parameters vs FLOPs).

    With FairNAS (several subnets per step), the supplement's Algorithm 2
    weights each subnet's gradient by its CaLR rate instead of setting one
    learning rate; :meth:`factor` is that weight relative to ``lr^0``.
    """

    c_min: float
    c_max: float
    gamma_prime: float = 4.0
    g: str = "log"
    eta: float = 0.0

    def __post_init__(self) -> None:
        if self.g not in CALR_G:
            raise ValueError(f"CaLR g={self.g!r} is not allowed; allowed: {', '.join(CALR_G)}")
        if not self.gamma_prime >= 1:
            raise ValueError(f"CaLR gamma_prime must be >= 1, got {self.gamma_prime}")
        if not 0 <= self.eta < 1:
            raise ValueError(f"CaLR eta must be in [0, 1), got {self.eta}")
        if not 0 < self.c_min < self.c_max:
            raise ValueError(f"CaLR needs 0 < c_min < c_max, got c_min={self.c_min}, c_max={self.c_max}")
        if not math.isfinite(self.c_max):
            raise ValueError(f"CaLR c_max must be finite, got {self.c_max}")

    @property
    def gamma_max(self) -> float:
        return float(self.gamma_prime)

    @property
    def gamma_min(self) -> float:
        return 1.0 / self.gamma_prime

    def _g(self, complexity: np.ndarray) -> np.ndarray:
        u = np.asarray(complexity, dtype=np.float64) / self.c_max
        if self.g == "log":
            return np.log(u)
        if self.g == "x":
            return u
        return np.exp(u)

    @property
    def omega(self) -> float:
        """Slope of Eq. (ii) (on the normalized complexity, see the class docstring)."""
        g_lo, g_hi = self._g(np.array([self.c_min, self.c_max]))
        return float(-(self.gamma_max - self.gamma_min) / (g_hi - g_lo))

    @property
    def tau(self) -> float:
        """Offset of Eq. (iii) (on the normalized complexity)."""
        return float(self.gamma_min - self.omega * self._g(np.array(self.c_max)))

    def _complexity(self, complexity: float | np.ndarray) -> np.ndarray:
        c = np.asarray(complexity, dtype=np.float64)
        tol = 1e-6
        if np.any(~np.isfinite(c)) or np.any(c < self.c_min * (1 - tol)) or np.any(c > self.c_max * (1 + tol)):
            raise ValueError(f"CaLR complexity {complexity!r} is outside [c_min, c_max] = "
                             f"[{self.c_min}, {self.c_max}] (same units as the extremes?)")
        return np.clip(c, self.c_min, self.c_max)

    def gamma(self, complexity: float | np.ndarray) -> float | np.ndarray:
        """Decay ratio ``omega * g(C) + tau`` (Eq. (i)); a float for a scalar, an array for an array."""
        c = self._complexity(complexity)
        out = self.omega * self._g(c) + self.tau
        # pin the two ends exactly (floating-point rounding of omega and tau otherwise leaves ~1e-16)
        out = np.where(c == self.c_min, self.gamma_max, np.where(c == self.c_max, self.gamma_min, out))
        return float(out) if out.ndim == 0 else out

    def factor(self, complexity: float | np.ndarray, step: int, total_steps: int) -> float | np.ndarray:
        """``(1 - eta) * (1 - t/T) ** gamma(C) + eta``: the learning rate relative to ``lr^0``."""
        _check_step(step, total_steps)
        gam = np.asarray(self.gamma(complexity))
        out = (1.0 - self.eta) * (1.0 - step / total_steps) ** gam + self.eta
        return float(out) if out.ndim == 0 else out

    def lr(self, lr0: float, complexity: float | np.ndarray, step: int, total_steps: int) -> float | np.ndarray:
        """Learning rate of a subnet of complexity ``complexity`` at step ``step`` of ``total_steps`` (Eq. (3))."""
        f = self.factor(complexity, step, total_steps)
        return lr0 * f
