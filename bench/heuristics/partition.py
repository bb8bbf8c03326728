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

The training of a split run is :mod:`bench.nshot`; the decisions and the
record are :mod:`bench.splitting`.
"""

from __future__ import annotations

from typing import Union

from bench.heuristics.registry import Heuristic, Param, compatibility_rule, register, register_slot
from bench.spaces import get_space
from bench.spaces.nb201 import NUM_EDGES
from bench.validation import ConfigError

register_slot("partition", "one supernet, or sub-supernets split from it (few-shot, GM)", default="one-shot")

_BUDGET = Param(str, "per_path", "'per_path': each leaf trains as long as a one-shot supernet would, minus the "
                "warm-ups on its path (the papers); 'equal_total': warm-ups and leaves share the one-shot budget "
                "of train.epochs", choices=("per_path", "equal_total"))
_INHERIT = Param(bool, True, "children start from the parent's optimizer state (momentum buffers), not only its "
                 "weights")

register(Heuristic(
    "one-shot", "partition", "one weight-sharing supernet for the whole space",
    "Bender et al., ICML 2018; Guo et al., ECCV 2020 (SPOS)", "weight sharing / one-shot"))

register(Heuristic(
    "few-shot", "partition", "split the supernet on one edge into one sub-supernet per op after a warm-up",
    "Zhao et al., ICML 2021 (Few-shot NAS), Sec. 3; Jeon et al., CVPR 2025, supplement Algorithm 3 (FSNAS)",
    "weight sharing / few-shot (supernet splitting)",
    {"warmup_epochs": Param(int, 10, "one-shot epochs before the split", low=0),
     "edge": Param(Union[int, str], "random", "edge to split: 'random' (drawn with the run's seed) or an index",
                   low=0, high=NUM_EDGES - 1, words=("random",)),
     "inherit_optimizer": _INHERIT,
     "budget": _BUDGET}))

register(Heuristic(
    "gm", "partition", "gradient-matching splits: balanced min-cut of each edge's ops by gradient similarity, "
    "the edge with the lowest cut split first, S times",
    "Hu et al., ICLR 2022 (GM-NAS), Sec. 3.2-3.4, Eqs. (1)-(3), Algorithm 1; ablations Sec. 5.1, Table 1",
    "weight sharing / few-shot (supernet splitting)",
    {"groups": Param(int, 2, "branching factor B: groups per split", low=2, high=5),
     "splits": Param(int, 2, "number of splits S (every leaf is split each time, on an edge it has not split)",
                     low=1, high=NUM_EDGES),
     "warmup_epochs": Param(int, 10, "epochs of training before each split", low=0),
     "gm_batches": Param(int, 10, "batches R the gradient-matching scores are averaged over (paper: 100)", low=1),
     "restart": Param(bool, True, "re-initialize the leaves after the last split (GM-NAS Sec. 3.4)"),
     "edge_selection": Param(str, "gm", "'gm': the edge with the lowest cut cost; 'random': a random unsplit edge",
                             choices=("gm", "random")),
     "grouping": Param(str, "gm", "'gm': balanced min-cut of the GM scores; 'random': a random balanced "
                       "partition", choices=("gm", "random")),
     "inherit_optimizer": _INHERIT,
     "budget": _BUDGET}))


def is_split(selection) -> bool:
    return selection["partition"]["name"] != "one-shot"


@compatibility_rule
def _splitting_needs_single_path_sampling(selection, config) -> None:
    if not is_split(selection):
        return
    sampling = selection["sampling"]["name"]
    if sampling != "spos":
        raise ConfigError(f"heuristics.partition = {selection['partition']['name']!r} trains its sub-supernets with "
                          f"uniform single-path sampling; heuristics.sampling = {sampling!r} is not supported there "
                          "(FairNAS needs the same number of ops on every edge, which a split edge no longer has); "
                          "allowed: 'spos'")


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
def _splitting_fits_the_budget(selection, config) -> None:
    if config is None or not is_split(selection):
        return
    from bench.nshot import root_ops, schedule_of  # late import: bench.nshot imports torch

    schedule_of(selection["partition"], config.train.epochs, 1, len(root_ops(config.supernet.op_set)))
