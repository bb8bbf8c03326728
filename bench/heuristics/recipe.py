"""Assembling the training recipe from a validated config: the objects the trainer calls.

The trainer owns the loop; each heuristic owns one decision (NASLib's split):
which subnets a step trains (sampler), the learning rate and per-subnet
weights (LR policy), which momentum buffer a step uses (MS cluster), and
what happens to unused weights (optimizer mode).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence

from bench.heuristics.lr_schedule import LRPolicy
from bench.heuristics.momentum import resolve_edge
from bench.heuristics.sampling import LeafSampler, build_sampler, fixed_arch_sampler
from bench.spaces import SearchSpace, Subnet, get_space
from bench.splitting import Leaf


@dataclass
class Recipe:
    sampler: object  # plan_epoch(rng, steps) -> list[StepPlan]
    lr_policy: LRPolicy
    clusters: int  # momentum buffers (1 = shared)
    ms_edge: int | None
    unused: str  # "skip" | "stale"
    label_smoothing: float
    search_space: SearchSpace | None  # whose subnets it samples (None: one fixed subnet, standalone_recipe)


def _cluster_of(ms_edge: int | None, search_space: SearchSpace) -> Callable[[object], int]:
    if ms_edge is None:
        return lambda arch: 0
    return lambda arch: search_space.cluster(arch, ms_edge)


def build_recipe(config, standalone: dict, steps_per_epoch: int) -> Recipe:
    """The recipe of a run: ``config`` is a validated RunConfig, ``standalone`` the complexity setting."""
    h = config.heuristics
    search_space = get_space(config.supernet.space)
    ms = h["momentum_buffers"]
    ms_edge = resolve_edge(ms, search_space.ms_positions) if ms["name"] == "ms" else None
    sampler = build_sampler(h["sampling"], ms_edge, _cluster_of(ms_edge, search_space), standalone, search_space)
    return Recipe(
        sampler=sampler,
        lr_policy=_lr_policy(config.train, h["lr_schedule"], standalone, steps_per_epoch, search_space),
        clusters=search_space.ms_clusters if ms_edge is not None else 1,
        ms_edge=ms_edge,
        unused=h["unused_params"]["name"],
        label_smoothing=config.train.label_smoothing,
        search_space=search_space,
    )


def restrict_to_leaf(recipe: Recipe, leaf: Leaf, split_edges: Sequence[int]) -> Recipe:
    """The recipe of a sub-supernet (few-shot / GM leaf, or the root of a smaller space): uniform single
    path among the ops ``leaf`` allows on each edge.

    MS (CaLR+MS supplement, Algorithm 3) clusters on an edge other than the
    split edges: the recipe's edge unless the leaf has split it, then the
    first edge the leaf has not split (our choice of which one).
    """
    ms_edge = recipe.ms_edge
    if ms_edge is not None and ms_edge in split_edges:
        unsplit = [e for e in range(recipe.search_space.ms_positions) if e not in split_edges]
        ms_edge = unsplit[0] if unsplit else ms_edge
    return dataclasses.replace(recipe, sampler=LeafSampler(leaf, _cluster_of(ms_edge, recipe.search_space)),
                               ms_edge=ms_edge)


def _lr_policy(train, selection: dict, standalone: dict, steps_per_epoch: int,
               search_space: SearchSpace | None) -> LRPolicy:
    total = steps_per_epoch * train.epochs
    return LRPolicy(selection, train.lr, total, train.warmup_epochs * steps_per_epoch, train.epochs, standalone,
                    search_space)


def standalone_recipe(arch: Subnet, train, steps_per_epoch: int) -> Recipe:
    """Training one fixed cell from scratch (ground-truth building): cosine schedule, shared momentum."""
    return Recipe(
        sampler=fixed_arch_sampler(arch),
        lr_policy=_lr_policy(train, {"name": "cosine", "min_lr": 0.0}, {}, steps_per_epoch, None),
        clusters=1, ms_edge=None, unused="skip", label_smoothing=train.label_smoothing, search_space=None)
