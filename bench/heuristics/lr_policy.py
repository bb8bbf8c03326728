"""Slot ``lr_schedule`` and the policy it builds: the learning rate of each step, and with CaLR, of each subnet.

The formulas are :mod:`bench.heuristics.schedules` (pure functions of the
step); this module registers the choices and builds the :class:`LRPolicy`
the trainer asks every step.

Plain schedules (per step t of T; warm-up from ``train.warmup_epochs``):
cosine (Loshchilov & Hutter, ICLR 2017; the NAS-Bench-201 and SPOS default),
linear, step, constant and polynomial decay; the heuristics study varies the
learning rate and its schedule (Yu et al. 2020, Sec. 4).

CaLR, complexity-aware learning rate (Jeon et al., CVPR 2025, Sec. 3.2,
Eq. (4); supplement Eqs. (i)-(iii), Tables E, F, K): a subnet a of complexity
C(a) gets ``lr_t(a) = lr_0 * ((1 - eta) * (1 - t/T) ** gamma(a) + eta)``
with ``gamma`` affine in g(C(a)) so that the smallest subnet of the space
decays with gamma' and the largest with 1/gamma'. It is a schedule, so it
fills this slot (our design choice). With FairNAS (several subnets per step)
the step uses lr_0 and each subnet's gradient is weighted by its CaLR factor
(our reading of the paper's FairNAS variant; docs/heuristics.md#calr).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, ClassVar, Sequence

from bench.heuristics.registry import Selection, param, register, register_slot
from bench.heuristics.schedules import CaLR, lr_at
from bench.spaces import SearchSpace, Subnet
from bench.validation import ConfigError

HTTYS = "Yu et al. 2020, How to Train Your Super-Net, Sec. 4 (learning rate)"
TAXONOMY = "spatial / parameter optimization"
MIN_LR_HELP = "learning rate at the end of the schedule"

register_slot("lr_schedule", "learning rate per step (and per subnet, with CaLR)", default="cosine")


@dataclass(frozen=True)
class StepLR:
    """The learning rate a step runs with, and the weight of each of its subnets' losses."""

    lr: float
    weights: tuple[float, ...]


class LRPolicy:
    """The learning rate of every step: a plain schedule (``base_lr``), or CaLR's per-subnet rates.

    Args:
        lr0: the initial learning rate (``train.lr``).
        total_steps: the steps of the whole schedule.
        base_lr: step -> learning rate (plain schedules).
        calr: the CaLR formula, with ``complexity`` (subnet -> its complexity in the formula's units);
            instead of ``base_lr``.
    """

    def __init__(self, lr0: float, total_steps: int, base_lr: Callable[[int], float] | None = None,
                 calr: CaLR | None = None, complexity: Callable[[Subnet], float] | None = None):
        if (base_lr is None) == (calr is None) or (calr is not None and complexity is None):
            raise ValueError("LRPolicy takes a base schedule, or CaLR with a complexity function")
        self.lr0 = lr0
        self.total_steps = total_steps
        self._base_lr = base_lr
        self.calr = calr
        self.complexity = complexity

    def base_lr(self, step: int) -> float:
        if self._base_lr is None:
            raise ValueError("CaLR has no base learning rate: each subnet has its own (factor)")
        return self._base_lr(step)

    def factor(self, arch: Subnet, step: int) -> float:
        return float(self.calr.factor(self.complexity(arch), step, self.total_steps))

    def for_step(self, step: int, archs: Sequence[Subnet]) -> StepLR:
        if self.calr is None:
            return StepLR(self.base_lr(step), (1.0,) * len(archs))
        if len(archs) == 1:
            return StepLR(self.lr0 * self.factor(archs[0], step), (1.0,))
        return StepLR(self.lr0, tuple(self.factor(a, step) for a in archs))


@dataclass(frozen=True)
class LRSchedule(Selection):
    """Base of the ``lr_schedule`` choices.

    ``build(lr=, total_steps=, warmup_steps=, epochs=, standalone=, search_space=)`` -> :class:`LRPolicy`:
    ``lr`` is lr_0, ``standalone`` the complexity setting of the stand-alone network (CaLR).
    """

    slot = "lr_schedule"
    source = HTTYS
    taxonomy = TAXONOMY

    def build(self, *, lr: float, total_steps: int, warmup_steps: int, epochs: int, standalone: dict,
              search_space: SearchSpace | None) -> LRPolicy:
        raise NotImplementedError


@dataclass(frozen=True)
class _FormulaSchedule(LRSchedule):
    """A plain schedule: one learning rate per step, :func:`bench.heuristics.schedules.lr_at` ``formula``."""

    formula: ClassVar[str]

    def formula_kwargs(self, total_steps: int, steps_per_epoch: int) -> dict:
        """The schedule's keyword arguments of :func:`lr_at` (but ``warmup_steps``)."""
        return {"min_lr": 0.0}

    def build(self, *, lr: float, total_steps: int, warmup_steps: int, epochs: int, standalone: dict,
              search_space: SearchSpace | None) -> LRPolicy:
        steps_per_epoch = max(1, total_steps // max(1, epochs))
        kwargs = dict(self.formula_kwargs(total_steps, steps_per_epoch), warmup_steps=warmup_steps)
        formula = self.formula

        def base_lr(step: int) -> float:
            return lr_at(formula, step, total_steps, lr, **kwargs)

        return LRPolicy(lr, total_steps, base_lr)


@register
@dataclass(frozen=True)
class CosineSchedule(_FormulaSchedule):
    name = "cosine"
    description = "cosine annealing from lr_0 to min_lr"
    source = "Loshchilov & Hutter, ICLR 2017; " + HTTYS
    formula = "cosine"
    min_lr: float = param(0.0, MIN_LR_HELP, low=0.0)

    def formula_kwargs(self, total_steps: int, steps_per_epoch: int) -> dict:
        return {"min_lr": self.min_lr}


@register
@dataclass(frozen=True)
class LinearSchedule(_FormulaSchedule):
    name = "linear"
    description = "linear decay from lr_0 to min_lr"
    formula = "linear"
    min_lr: float = param(0.0, MIN_LR_HELP, low=0.0)

    def formula_kwargs(self, total_steps: int, steps_per_epoch: int) -> dict:
        return {"min_lr": self.min_lr}


@register
@dataclass(frozen=True)
class StepSchedule(_FormulaSchedule):
    """Step decay; our operationalization: milestones every ``every_epochs`` epochs of steps, as fractions of
    the schedule."""

    name = "step"
    description = "multiply by gamma every k epochs"
    formula = "step"
    every_epochs: int = param(30, "epochs between decays", low=1)
    gamma: float = param(0.1, "decay factor", low=0.0, high=1.0, low_open=True)

    def formula_kwargs(self, total_steps: int, steps_per_epoch: int) -> dict:
        every = self.every_epochs * steps_per_epoch
        return {"min_lr": 0.0, "step_milestones": tuple(m / total_steps for m in range(every, total_steps, every)),
                "step_gamma": self.gamma}


@register
@dataclass(frozen=True)
class ConstantSchedule(_FormulaSchedule):
    name = "constant"
    description = "lr_0 throughout"
    formula = "constant"


@register
@dataclass(frozen=True)
class PolySchedule(_FormulaSchedule):
    name = "poly"
    description = "polynomial decay (1 - t/T)^power to min_lr"
    formula = "poly"
    power: float = param(1.0, "exponent", low=0.0, low_open=True)
    min_lr: float = param(0.0, MIN_LR_HELP, low=0.0)

    def formula_kwargs(self, total_steps: int, steps_per_epoch: int) -> dict:
        return {"min_lr": self.min_lr, "power": self.power}


@register
@dataclass(frozen=True)
class CaLRSchedule(LRSchedule):
    """Complexity-aware learning rate (Jeon et al., CVPR 2025, Sec. 3.2, Eq. (4); the formula is
    :class:`bench.heuristics.schedules.CaLR`). Ours: the complexity extremes come from the run's search space
    (:mod:`bench.spaces`), and ``eta`` is our floor (0 in the paper)."""

    name = "calr"
    description = "complexity-aware LR: larger subnets keep a high learning rate longer"
    source = "Jeon et al., CVPR 2025 (CaLR+MS), Sec. 3.2, Eq. (4); supplement Eqs. (i)-(iii), Tables E, F, K"
    taxonomy = "spatial / parameter optimization (dynamic, subnet-aware)"
    gamma_prime: float = param(4.0, "gamma' = gamma_max = 1/gamma_min (4 best on NB201, Table K)", low=1.0)
    g: str = param("log", "g(C) in gamma = omega*g(C)+tau (Table E)", choices=("log", "x", "exp"))
    complexity: str = param("params", "complexity measure (Table F)", choices=("params", "flops"))
    eta: float = param(0.0, "floor: lr_T = eta*lr_0 (0 in the authors' code)", low=0.0, high=0.99)

    def build(self, *, lr: float, total_steps: int, warmup_steps: int, epochs: int, standalone: dict,
              search_space: SearchSpace | None) -> LRPolicy:
        smallest, largest = search_space.complexity_extremes(**standalone)
        measure = self.complexity
        formula = CaLR(gamma_prime=self.gamma_prime, g=self.g, eta=self.eta,
                              c_min=getattr(smallest, measure), c_max=getattr(largest, measure))
        complexity = lru_cache(maxsize=None)(
            lambda arch: getattr(search_space.complexity(arch, **standalone), measure))
        return LRPolicy(lr, total_steps, calr=formula, complexity=complexity)

    def check(self, chosen, config) -> None:
        if config is not None and config.train.warmup_epochs > 0:
            raise ConfigError("train.warmup_epochs > 0 is not defined with heuristics.lr_schedule = 'calr': CaLR's "
                              "Eq. (4) is the whole schedule; set train.warmup_epochs=0")
