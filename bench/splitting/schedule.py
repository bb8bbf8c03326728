"""The splitting schedule of an N-shot run: warm-ups before each split, leaf training, and their budget.

Sources
-------
- GM-NAS: Hu et al., "Generalizing Few-Shot NAS with Gradient Matching", ICLR
  2022. Sec. 3.4: the supernet is warmed up before each split and the leaves
  are re-initialized after the last one ("restart").
- Few-shot NAS: Zhao et al., "Few-shot Neural Architecture Search", ICML
  2021; the CaLR+MS supplement (Jeon et al., CVPR 2025), Algorithm 3 (FSNAS),
  trains each of the K sub-supernets with SPOS for the full T iterations.

Operationalizations (ours, where the papers leave a choice open)
----------------------------------------------------------------
- Budget: a split applies to every current sub-supernet, each of which is
  warmed up first (as in the authors' code, where every supernet of a level
  trains until the next split point); a leaf epoch is one pass of one leaf
  over the training data, so every (sub-)supernet epoch costs the same number
  of steps. When leaf epochs are scaled to a one-shot budget they are rounded
  down, so the total never exceeds the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

import numpy as np

from bench.spaces import nb201 as space
from bench.splitting.tree import SplitError
from bench.validation import ConfigError

__all__ = ["SplitSchedule", "plan_schedule", "scaled_leaf_epochs", "schedule_of"]


def _nonneg_int(name: str, value: Any, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SplitError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _per_split(name: str, value: Any, splits: int, low: int) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (_nonneg_int(name, value, low),) * splits
    values = tuple(value)
    if len(values) != splits:
        raise SplitError(f"{name} lists {len(values)} values for {splits} splits")
    return tuple(_nonneg_int(f"{name}[{i}]", v, low) for i, v in enumerate(values))


@dataclass(frozen=True)
class SplitSchedule:
    """A splitting schedule and what it costs, counted in (sub-)supernet epochs and training steps.

    Split k (k = 0..S-1) is preceded by ``warmup_epochs[k]`` epochs of every
    supernet at that level, and turns each of them into ``branching[k]``
    children; the L = prod(branching) leaves then train ``leaf_epochs`` each
    (after a restart, in GM-NAS). S = 0 is one-shot training. Every epoch of
    every (sub-)supernet is ``steps_per_epoch`` steps.
    """

    warmup_epochs: tuple[int, ...]
    branching: tuple[int, ...]
    leaf_epochs: int
    steps_per_epoch: int
    budget_epochs: int | None = None
    """The one-shot budget (epochs) the leaf epochs were scaled to, or None when not scaled."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "warmup_epochs", tuple(self.warmup_epochs))
        object.__setattr__(self, "branching", tuple(self.branching))
        if len(self.warmup_epochs) != len(self.branching):
            raise SplitError(f"{len(self.warmup_epochs)} warm-up lengths for {len(self.branching)} splits")
        for k, b in enumerate(self.branching):
            _nonneg_int(f"branching[{k}]", b, 2)
        for k, w in enumerate(self.warmup_epochs):
            _nonneg_int(f"warmup_epochs[{k}]", w)
        _nonneg_int("leaf_epochs", self.leaf_epochs)
        _nonneg_int("steps_per_epoch", self.steps_per_epoch, 1)
        if self.budget_epochs is not None and self.total_supernet_epochs > self.budget_epochs:
            raise SplitError(f"the schedule trains {self.total_supernet_epochs} supernet-epochs, over its budget "
                             f"of {self.budget_epochs}")

    @property
    def splits(self) -> int:
        return len(self.branching)

    @property
    def supernets_per_level(self) -> tuple[int, ...]:
        """Number of (sub-)supernets warmed up before each split: 1, b_0, b_0 b_1, ..."""
        return tuple(math.prod(self.branching[:k]) for k in range(self.splits))

    @property
    def n_leaves(self) -> int:
        return math.prod(self.branching)

    @property
    def warmup_supernet_epochs(self) -> int:
        return sum(w * n for w, n in zip(self.warmup_epochs, self.supernets_per_level))

    @property
    def leaf_supernet_epochs(self) -> int:
        return self.leaf_epochs * self.n_leaves

    @property
    def total_supernet_epochs(self) -> int:
        return self.warmup_supernet_epochs + self.leaf_supernet_epochs

    @property
    def total_steps(self) -> int:
        """Training steps over all (sub-)supernets, warm-ups and leaves (GM scoring passes not included)."""
        return self.total_supernet_epochs * self.steps_per_epoch

    @property
    def path_epochs(self) -> int:
        """Epochs along one root-to-leaf path (what one subnet's weights went through, before any restart)."""
        return sum(self.warmup_epochs) + self.leaf_epochs

    @property
    def unused_budget_epochs(self) -> int | None:
        return None if self.budget_epochs is None else self.budget_epochs - self.total_supernet_epochs

    def to_dict(self) -> dict:
        return {"warmup_epochs": list(self.warmup_epochs), "branching": list(self.branching),
                "leaf_epochs": self.leaf_epochs, "steps_per_epoch": self.steps_per_epoch,
                "budget_epochs": self.budget_epochs, "n_leaves": self.n_leaves,
                "total_supernet_epochs": self.total_supernet_epochs, "total_steps": self.total_steps}

    @classmethod
    def from_dict(cls, data: Mapping) -> "SplitSchedule":
        return cls(tuple(data["warmup_epochs"]), tuple(data["branching"]), data["leaf_epochs"],
                   data["steps_per_epoch"], data.get("budget_epochs"))


def scaled_leaf_epochs(budget_epochs: int, warmup_epochs: Union[int, Sequence[int]], splits: int,
                       branching: Union[int, Sequence[int]]) -> int:
    """Epochs per leaf that keep warm-ups plus leaves within a one-shot budget of ``budget_epochs``.

    ``floor((budget - warm-up supernet-epochs) / leaves)``: rounded down, so
    the total never exceeds the budget (the shortfall is below one epoch per
    leaf). SplitError when the warm-ups leave less than one epoch per leaf.
    """
    budget_epochs = _nonneg_int("budget_epochs", budget_epochs, 1)
    warm = SplitSchedule(_per_split("warmup_epochs", warmup_epochs, splits, 0),
                         _per_split("branching", branching, splits, 2), 0, 1)
    left = budget_epochs - warm.warmup_supernet_epochs
    per_leaf = left // warm.n_leaves if left > 0 else 0
    if per_leaf < 1:
        raise SplitError(f"a budget of {budget_epochs} epochs leaves {max(left, 0)} for {warm.n_leaves} leaves after "
                         f"{warm.warmup_supernet_epochs} warm-up supernet-epochs: less than one epoch per leaf")
    return per_leaf


def plan_schedule(*, warmup_epochs: Union[int, Sequence[int]], splits: int, branching: Union[int, Sequence[int]],
                  steps_per_epoch: int, leaf_epochs: int | None = None, budget_epochs: int | None = None,
                  scale_leaf_epochs: bool = False) -> SplitSchedule:
    """The schedule of an N-shot run.

    ``warmup_epochs`` and ``branching`` are one value for every split or one
    per split (e.g. GM-NAS on MobileNet: branching (2, 3)). With
    ``scale_leaf_epochs`` the leaf epochs come from :func:`scaled_leaf_epochs`
    for the one-shot ``budget_epochs`` (``leaf_epochs`` must then be None);
    otherwise ``leaf_epochs`` is given as is (the papers' protocol: every
    leaf trains as long as a one-shot supernet) and a ``budget_epochs``, if
    given, is checked, not enforced by scaling.
    """
    splits = _nonneg_int("splits", splits)
    warm = _per_split("warmup_epochs", warmup_epochs, splits, 0)
    branch = _per_split("branching", branching, splits, 2)
    if scale_leaf_epochs:
        if budget_epochs is None:
            raise SplitError("scale_leaf_epochs needs budget_epochs (the one-shot budget in epochs)")
        if leaf_epochs is not None:
            raise SplitError("give either leaf_epochs or scale_leaf_epochs=True with budget_epochs, not both")
        leaf_epochs = scaled_leaf_epochs(budget_epochs, warm, splits, branch)
    elif leaf_epochs is None:
        raise SplitError("leaf_epochs is required unless scale_leaf_epochs=True")
    return SplitSchedule(warm, branch, _nonneg_int("leaf_epochs", leaf_epochs), steps_per_epoch, budget_epochs)


def schedule_of(partition: dict, epochs: int, steps_per_epoch: int, n_ops: int = len(space.OPS)) -> SplitSchedule:
    """The splitting schedule a ``partition`` selection (``heuristics.partition``) gives for a one-shot budget
    of ``epochs``; a ConfigError naming the selection where it does not fit."""
    few_shot = partition["name"] == "few-shot"
    splits = 1 if few_shot else partition["splits"]
    branching = n_ops if few_shot else partition["groups"]
    restart = not few_shot and partition["restart"]
    if branching > n_ops:
        raise ConfigError(f"heuristics.partition.groups = {branching} exceeds the {n_ops} ops of an edge; "
                          f"allowed: 2..{n_ops}")
    warmup = partition["warmup_epochs"]
    try:
        if partition["budget"] == "equal_total":
            return plan_schedule(warmup_epochs=warmup, splits=splits, branching=branching,
                                 steps_per_epoch=steps_per_epoch, budget_epochs=epochs, scale_leaf_epochs=True)
        leaf_epochs = epochs if restart else epochs - warmup * splits
        if leaf_epochs < 1:
            raise SplitError(f"{splits} warm-up(s) of {warmup} epochs leave no epoch of train.epochs = {epochs} "
                             "for the leaves")
        return plan_schedule(warmup_epochs=warmup, splits=splits, branching=branching,
                             steps_per_epoch=steps_per_epoch, leaf_epochs=leaf_epochs)
    except SplitError as exc:
        raise ConfigError(f"heuristics.partition ({partition['name']}): {exc}") from None
