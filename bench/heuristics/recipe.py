"""Assembling the training recipe from a validated config: the objects the trainer calls.

The trainer owns the loop; each heuristic owns one decision (NASLib's split):
which subnets a step trains (sampler), the learning rate and per-subnet
weights (LR policy), which momentum buffer a step uses (MS cluster), and
what happens to unused weights (optimizer mode). Each is the component the
selected choice of its slot builds (:func:`bench.heuristics.registry.build`);
nothing here knows a heuristic by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from bench.heuristics.lr_policy import CosineSchedule, LRPolicy, LRSchedule
from bench.heuristics.momentum import MomentumBuffers
from bench.heuristics.registry import build, selection
from bench.heuristics.sampling import LeafSampler, fixed_arch_sampler
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


def build_recipe(config, standalone: dict, steps_per_epoch: int) -> Recipe:
    """The recipe of a run: ``config`` is a validated RunConfig, ``standalone`` the complexity setting."""
    h = config.heuristics
    search_space = get_space(config.supernet.space)
    momentum = build(h, "momentum_buffers", search_space=search_space)
    return Recipe(
        sampler=build(h, "sampling", momentum=momentum, setting=standalone, search_space=search_space),
        lr_policy=_lr_policy(config.train, selection(h, "lr_schedule"), standalone, steps_per_epoch, search_space),
        clusters=momentum.clusters,
        ms_edge=momentum.edge,
        unused=build(h, "unused_params"),
        label_smoothing=config.train.label_smoothing,
        search_space=search_space,
    )


def restrict_to_leaf(recipe: Recipe, leaf: Leaf, split_edges: Sequence[int]) -> Recipe:
    """The recipe of a sub-supernet (few-shot / GM leaf, or the root of a smaller space): uniform single
    path among the ops ``leaf`` allows on each edge, with the MS edge of
    :meth:`~bench.heuristics.momentum.MomentumBuffers.for_leaf`."""
    momentum = MomentumBuffers(recipe.clusters, recipe.ms_edge, recipe.search_space).for_leaf(split_edges)
    return dataclasses.replace(recipe, sampler=LeafSampler(leaf, momentum.cluster_of), ms_edge=momentum.edge)


def _lr_policy(train, schedule: LRSchedule, standalone: dict, steps_per_epoch: int,
               search_space: SearchSpace | None) -> LRPolicy:
    total = steps_per_epoch * train.epochs
    return schedule.build(lr=train.lr, total_steps=total, warmup_steps=train.warmup_epochs * steps_per_epoch,
                          epochs=train.epochs, standalone=standalone, search_space=search_space)


def standalone_recipe(arch: Subnet, train, steps_per_epoch: int) -> Recipe:
    """Training one fixed cell from scratch (ground-truth building): cosine schedule, shared momentum."""
    return Recipe(
        sampler=fixed_arch_sampler(arch),
        lr_policy=_lr_policy(train, CosineSchedule(min_lr=0.0), {}, steps_per_epoch, None),
        clusters=1, ms_edge=None, unused="skip", label_smoothing=train.label_smoothing, search_space=None)
