"""Slot ``lr_schedule``: the learning rate of each step, and with CaLR, of each subnet.

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
from typing import Sequence

from bench.heuristics.registry import Heuristic, Param, compatibility_rule, register, register_slot
from bench.heuristics.schedules import CaLR, lr_at
from bench.spaces import SearchSpace, Subnet
from bench.validation import ConfigError

HTTYS = "Yu et al. 2020, How to Train Your Super-Net, Sec. 4 (learning rate)"
TAXONOMY = "spatial / parameter optimization"
MIN_LR = Param(float, 0.0, "learning rate at the end of the schedule", low=0.0)

register_slot("lr_schedule", "learning rate per step (and per subnet, with CaLR)", default="cosine")

register(Heuristic("cosine", "lr_schedule", "cosine annealing from lr_0 to min_lr",
                   "Loshchilov & Hutter, ICLR 2017; " + HTTYS, TAXONOMY, {"min_lr": MIN_LR}))
register(Heuristic("linear", "lr_schedule", "linear decay from lr_0 to min_lr", HTTYS, TAXONOMY, {"min_lr": MIN_LR}))
register(Heuristic("step", "lr_schedule", "multiply by gamma every k epochs", HTTYS, TAXONOMY, {
    "every_epochs": Param(int, 30, "epochs between decays", low=1),
    "gamma": Param(float, 0.1, "decay factor", low=0.0, high=1.0, low_open=True)}))
register(Heuristic("constant", "lr_schedule", "lr_0 throughout", HTTYS, TAXONOMY))
register(Heuristic("poly", "lr_schedule", "polynomial decay (1 - t/T)^power to min_lr", HTTYS, TAXONOMY, {
    "power": Param(float, 1.0, "exponent", low=0.0, low_open=True), "min_lr": MIN_LR}))
register(Heuristic(
    "calr", "lr_schedule", "complexity-aware LR: larger subnets keep a high learning rate longer",
    "Jeon et al., CVPR 2025 (CaLR+MS), Sec. 3.2, Eq. (4); supplement Eqs. (i)-(iii), Tables E, F, K",
    "spatial / parameter optimization (dynamic, subnet-aware)", {
        "gamma_prime": Param(float, 4.0, "gamma' = gamma_max = 1/gamma_min (4 best on NB201, Table K)", low=1.0),
        "g": Param(str, "log", "g(C) in gamma = omega*g(C)+tau (Table E)", choices=("log", "x", "exp")),
        "complexity": Param(str, "params", "complexity measure (Table F)", choices=("params", "flops")),
        "eta": Param(float, 0.0, "floor: lr_T = eta*lr_0 (0 in the authors' code)", low=0.0, high=0.99)}))


@compatibility_rule
def _calr_defines_the_whole_schedule(selection, config) -> None:
    if selection["lr_schedule"]["name"] == "calr" and config is not None and config.train.warmup_epochs > 0:
        raise ConfigError("train.warmup_epochs > 0 is not defined with heuristics.lr_schedule = 'calr': CaLR's "
                          "Eq. (4) is the whole schedule; set train.warmup_epochs=0")


@dataclass(frozen=True)
class StepLR:
    """The learning rate a step runs with, and the weight of each of its subnets' losses."""

    lr: float
    weights: tuple[float, ...]


class LRPolicy:
    """Turns the ``lr_schedule`` selection into per-step learning rates (and CaLR per-subnet factors)."""

    def __init__(self, selection: dict, lr: float, total_steps: int, warmup_steps: int, epochs: int,
                 standalone: dict, search_space: SearchSpace | None):
        self.selection = selection
        self.lr0 = lr
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.steps_per_epoch = max(1, total_steps // max(1, epochs))
        self.calr = None
        if selection["name"] == "calr":
            smallest, largest = search_space.complexity_extremes(**standalone)
            measure = selection["complexity"]
            self.calr = CaLR(gamma_prime=selection["gamma_prime"], g=selection["g"], eta=selection["eta"],
                             c_min=getattr(smallest, measure), c_max=getattr(largest, measure))
            self._complexity = lru_cache(maxsize=None)(
                lambda arch: getattr(search_space.complexity(arch, **standalone), measure))

    def base_lr(self, step: int) -> float:
        s = self.selection
        name = s["name"]
        kwargs = dict(min_lr=s.get("min_lr", 0.0), warmup_steps=self.warmup_steps)
        if name == "poly":
            kwargs["power"] = s["power"]
        if name == "step":
            every = s["every_epochs"] * self.steps_per_epoch
            kwargs["step_milestones"] = tuple(m / self.total_steps for m in range(every, self.total_steps, every))
            kwargs["step_gamma"] = s["gamma"]
        return lr_at(name, step, self.total_steps, self.lr0, **kwargs)

    def factor(self, arch: Subnet, step: int) -> float:
        return float(self.calr.factor(self._complexity(arch), step, self.total_steps))

    def for_step(self, step: int, archs: Sequence[Subnet]) -> StepLR:
        if self.calr is None:
            return StepLR(self.base_lr(step), (1.0,) * len(archs))
        if len(archs) == 1:
            return StepLR(self.lr0 * self.factor(archs[0], step), (1.0,))
        return StepLR(self.lr0, tuple(self.factor(a, step) for a in archs))
