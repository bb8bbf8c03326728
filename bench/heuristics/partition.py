"""Slot ``partition``: one supernet, or a tree of sub-supernets split from it (N-shot NAS).

- ``one-shot``: one supernet holds every subnet (SPOS and the rest).
- ``few-shot``: Zhao et al., ICML 2021 (Few-shot NAS), Sec. 3: after
  ``warmup_epochs`` of one-shot training, split the supernet on one edge
  (random with the run's seed, or given) into one sub-supernet per op of that
  edge; each inherits the weights (and, with ``inherit_optimizer``, the
  optimizer state) and trains on the subnets it holds. The CaLR+MS supplement
  (Jeon et al., CVPR 2025), Algorithm 3 (FSNAS), is this split trained with
  SPOS, CaLR and MS.
- ``gm``: Hu et al., ICLR 2022 (GM-NAS), Sec. 3.2-3.4, Algorithm 1: warm up;
  for every unsplit edge compute the gradient-matching score matrix of its
  ops over ``gm_batches`` batches (R); divide each edge's ops into ``groups``
  (B) balanced groups by brute-force min-cut; split the edge whose best cut
  costs least; repeat ``splits`` (S) times, every leaf split each time, with
  ``warmup_epochs`` of training before each split; then re-initialize the
  leaves (``restart``, Sec. 3.4) or not, and train each. ``edge_selection:
  random`` and ``grouping: random`` are the paper's ablations (Sec. 5.1,
  Table 1).

Budget (``budget``, our names for the two protocols):

- ``per_path``: the papers' protocol. Every subnet's weights go through
  ``train.epochs`` epochs: leaves train ``train.epochs`` minus the warm-ups
  along their path, or ``train.epochs`` after a restart. Total compute grows
  with the number of leaves.
- ``equal_total``: warm-ups and leaves together train at most
  ``train.epochs`` supernet-epochs, the one-shot budget; each leaf's epochs
  are scaled down (rounded down; :func:`bench.splitting.scaled_leaf_epochs`).

Each choice builds a :class:`PartitionPlan`: whether the run splits, its
schedule (:func:`bench.splitting.schedule.budget_schedule`), whether each
split is exhaustive (few-shot) and whether leaves restart. The training of a
split run is :mod:`bench.nshot`; the decisions and the record are
:mod:`bench.splitting`.

Two pairs of keys with similar names mean different things:

- ``heuristics.partition.warmup_epochs`` (few-shot, GM) is the one-shot
  training before each split of the supernet; ``train.warmup_epochs`` is the
  linear learning-rate warm-up at the start of the schedule. They are
  independent.
- ``heuristics.partition.gm_batches`` (GM) is R, the batches GM-NAS's split
  decision averages its gradient-matching scores over;
  ``diagnostics.gm_batches`` is the batches of the GM *diagnostic* probe
  (``diagnostics.gm_every``), which only measures one edge of a one-shot
  supernet and decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from bench.heuristics.registry import (
    Selection,
    choices,
    compatibility_rule,
    param,
    parse_selection,
    register,
    register_slot,
    selection,
)
from bench.spaces import get_space
from bench.spaces.nb201 import NUM_EDGES, OPS
from bench.splitting.schedule import SplitSchedule, budget_schedule
from bench.splitting.tree import SplitError
from bench.validation import ConfigError

SPLITTING = "weight sharing / few-shot (supernet splitting)"

register_slot("partition", "one supernet, or sub-supernets split from it (few-shot, GM)", default="one-shot")

BUDGET_HELP = ("'per_path': each leaf trains as long as a one-shot supernet would, minus the warm-ups on its path "
               "(the papers); 'equal_total': warm-ups and leaves share the one-shot budget of train.epochs")
INHERIT_HELP = "children start from the parent's optimizer state (momentum buffers), not only its weights"
WARMUP_HELP = ("epochs of one-shot training of the (sub-)supernet before each split (not train.warmup_epochs, the "
               "learning-rate warm-up)")


@dataclass(frozen=True)
class PartitionPlan:
    """What generic code asks of a partition choice.

    ``kind`` is the choice's name as records show it (``partition.json``'s
    method); ``splits`` the splits along every path (0: one-shot);
    ``branching`` the groups per split (None: one per op of the edge, the
    exhaustive split of few-shot NAS); ``restart``: leaves are re-initialized
    after the last split.
    """

    kind: str
    splits: int = 0
    branching: int | None = None
    warmup_epochs: int = 0
    restart: bool = False
    budget: str = "per_path"

    @property
    def is_split(self) -> bool:
        return self.splits > 0

    @property
    def exhaustive(self) -> bool:
        """Each split makes one sub-supernet per op of the edge (few-shot NAS), rather than grouping ops (GM)."""
        return self.is_split and self.branching is None

    def schedule(self, epochs: int, steps_per_epoch: int, n_ops: int = len(OPS)) -> SplitSchedule:
        """The splitting schedule for a one-shot budget of ``epochs``, with ``n_ops`` candidate ops per edge."""
        if not self.is_split:
            raise ValueError(f"heuristics.partition = {self.kind!r} does not split: it has no split schedule")
        branching = n_ops if self.branching is None else self.branching
        if branching > n_ops:
            raise ConfigError(f"heuristics.partition.groups = {branching} exceeds the {n_ops} ops of an edge; "
                              f"allowed: 2..{n_ops}")
        try:
            return budget_schedule(warmup_epochs=self.warmup_epochs, splits=self.splits, branching=branching,
                                   restart=self.restart, budget=self.budget, epochs=epochs,
                                   steps_per_epoch=steps_per_epoch)
        except SplitError as exc:
            raise ConfigError(f"heuristics.partition ({self.kind}): {exc}") from None


@dataclass(frozen=True)
class Partition(Selection):
    """Base of the ``partition`` choices: ``build()`` -> :class:`PartitionPlan`."""

    slot = "partition"

    def build(self) -> PartitionPlan:
        raise NotImplementedError


@register
@dataclass(frozen=True)
class OneShotPartition(Partition):
    name = "one-shot"
    description = "one weight-sharing supernet for the whole space"
    source = "Bender et al., ICML 2018; Guo et al., ECCV 2020 (SPOS)"
    taxonomy = "weight sharing / one-shot"

    def build(self) -> PartitionPlan:
        return PartitionPlan(self.name)


@register
@dataclass(frozen=True)
class FewShotPartition(Partition):
    """Few-shot NAS (Zhao et al., ICML 2021, Sec. 3): one exhaustive split after a warm-up."""

    name = "few-shot"
    description = "split the supernet on one edge into one sub-supernet per op after a warm-up"
    source = "Zhao et al., ICML 2021 (Few-shot NAS), Sec. 3; Jeon et al., CVPR 2025, supplement Algorithm 3 (FSNAS)"
    taxonomy = SPLITTING
    warmup_epochs: int = param(10, WARMUP_HELP, low=0)
    edge: Union[int, str] = param("random", "edge to split: 'random' (drawn with the run's seed) or an index",
                                  low=0, high=NUM_EDGES - 1, words=("random",))
    inherit_optimizer: bool = param(True, INHERIT_HELP)
    budget: str = param("per_path", BUDGET_HELP, choices=("per_path", "equal_total"))

    def build(self) -> PartitionPlan:
        return PartitionPlan(self.name, splits=1, branching=None, warmup_epochs=self.warmup_epochs, restart=False,
                             budget=self.budget)


@register
@dataclass(frozen=True)
class GMPartition(Partition):
    """GM-NAS (Hu et al., ICLR 2022, Sec. 3.2-3.4, Algorithm 1): gradient-matching splits."""

    name = "gm"
    description = ("gradient-matching splits: balanced min-cut of each edge's ops by gradient similarity, the edge "
                   "with the lowest cut split first, S times")
    source = ("Hu et al., ICLR 2022 (GM-NAS), Sec. 3.2-3.4, Eqs. (1)-(3), Algorithm 1; ablations Sec. 5.1, "
              "Table 1")
    taxonomy = SPLITTING
    groups: int = param(2, "branching factor B: groups per split", low=2, high=5)
    splits: int = param(2, "number of splits S (every leaf is split each time, on an edge it has not split)",
                        low=1, high=NUM_EDGES)
    warmup_epochs: int = param(10, WARMUP_HELP, low=0)
    gm_batches: int = param(10, "batches R each split decision averages the gradient-matching scores over "
                            "(paper: 100); not diagnostics.gm_batches, the batches of the GM diagnostic probe",
                            low=1)
    restart: bool = param(True, "re-initialize the leaves after the last split (GM-NAS Sec. 3.4)")
    edge_selection: str = param("gm", "'gm': the edge with the lowest cut cost; 'random': a random unsplit edge",
                                choices=("gm", "random"))
    grouping: str = param("gm", "'gm': balanced min-cut of the GM scores; 'random': a random balanced partition",
                          choices=("gm", "random"))
    inherit_optimizer: bool = param(True, INHERIT_HELP)
    budget: str = param("per_path", BUDGET_HELP, choices=("per_path", "equal_total"))

    def build(self) -> PartitionPlan:
        return PartitionPlan(self.name, splits=self.splits, branching=self.groups, warmup_epochs=self.warmup_epochs,
                             restart=self.restart, budget=self.budget)


def schedule_of(partition: Mapping[str, Any], epochs: int, steps_per_epoch: int, n_ops: int = len(OPS)
                ) -> SplitSchedule:
    """The splitting schedule a ``partition`` selection (its config dict) gives for a one-shot budget of
    ``epochs``."""
    return parse_selection("partition", partition).build().schedule(epochs, steps_per_epoch, n_ops)


def is_split(heuristics: Mapping[str, Any]) -> bool:
    """Whether the ``heuristics`` section selects a partition that splits the supernet."""
    return selection(heuristics, "partition").build().is_split


@compatibility_rule
def _splitting_needs_single_path_sampling(heuristics, config) -> None:
    if not is_split(heuristics):
        return
    sampling = selection(heuristics, "sampling")
    if not sampling.uniform_single_path:
        allowed = ", ".join(repr(name) for name, h in choices("sampling").items()
                            if h.selection_type.uniform_single_path)
        raise ConfigError(f"heuristics.partition = {heuristics['partition']['name']!r} trains its sub-supernets "
                          f"with uniform single-path sampling; heuristics.sampling = {sampling.name!r} is not "
                          "supported there (FairNAS needs the same number of ops on every edge, which a split edge "
                          f"no longer has); allowed: {allowed}")


@compatibility_rule
def _splitting_is_nb201_only(selection, config) -> None:
    if config is not None and is_split(selection) and not get_space(config.supernet.space).supports_splitting:
        raise ConfigError(f"heuristics.partition = {selection['partition']['name']!r} splits NAS-Bench-201's edges "
                          f"(bench.splitting); supernet.space = {config.supernet.space!r} has no splitting yet; "
                          "allowed there: 'one-shot'")


@compatibility_rule
def _splitting_has_no_single_supernet_probes(selection, config) -> None:
    if config is None or not is_split(selection):
        return
    if config.eval.track_every > 0 or config.diagnostics.gm_every > 0:
        raise ConfigError("eval.track_every and diagnostics.gm_every follow one supernet over training; a split run "
                          "has several (its GM matrices are in partition.json); set both to 0")


@compatibility_rule
def _splitting_fits_the_budget(heuristics, config) -> None:
    if config is None or not is_split(heuristics):
        return
    ops = get_space(config.supernet.space).root_ops(config.supernet.op_set)
    schedule_of(heuristics["partition"], config.train.epochs, 1, len(ops))
