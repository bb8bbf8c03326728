"""One assembly of what trains: the model, the recipe of its heuristics, the trainer and its plug-ins.

Every place that trains a network builds it here, so that all of them
honour the same config keys (the BN mode, the op set, the schedule's
length, the seed streams) in the same order of random draws:

- :func:`assemble`: a supernet of a run's config, its recipe and a trainer,
  for ``bench run`` (one-shot training, and each sub-supernet of a split run
  through :class:`bench.nshot.NShotRun`), the cost estimate of ``bench grid``
  (:func:`bench.grid.estimate.time_setting`) and ``bench perf``;
- :func:`assemble_standalone`: one NAS-Bench-201 cell trained from scratch,
  for the ground-truth builder (:mod:`bench.groundtruth_builder`);
- :func:`run_callbacks`: the trainer plug-ins a run's config asks for
  (:class:`bench.train.Callback`), built in one place and in the order
  their epoch hooks run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from bench.config import RunConfig, TrainConfig
from bench.data import DeviceBatches
from bench.estimators import EpochAveragedScores
from bench.evaluate import RankingProbe
from bench.heuristics import registry
from bench.heuristics.recipe import Recipe, build_recipe, restrict_to_leaf, standalone_recipe
from bench.metrics.gradients import GMProbe, GradientStats
from bench.seeds import SeedStreams, seed_streams
from bench.spaces import get_space
from bench.spaces import nb201 as space
from bench.splitting import Leaf, root_leaf
from bench.supernets.bn import BNConfig
from bench.supernets.nb201 import NB201Standalone
from bench.tasks import Task
from bench.train import Callback, Trainer

CallbackFactory = Callable[[nn.Module, Recipe], Sequence[Callback]]
"""``factory(model, recipe)`` -> the trainer's plug-ins; called once both exist (gradient statistics watch one of
the model's parameters, per MS cluster of the recipe)."""


@dataclass(frozen=True)
class Assembly:
    model: nn.Module
    recipe: Recipe
    trainer: Trainer


def build_supernet(config: RunConfig, task: Task) -> nn.Module:
    """The supernet of ``supernet.space`` at the config's width and depth (see ``SupernetConfig``), its BN
    mode from the ``bn`` heuristic."""
    mode = registry.build(config.heuristics, "bn")
    bn_config = BNConfig(track_running_stats=mode.track_running_stats, affine=mode.affine)
    net = config.supernet
    return get_space(net.space).build_supernet(C=net.C, N=net.N, num_classes=task.num_classes,
                                               in_channels=task.in_channels, bn=bn_config,
                                               drop_path=net.drop_path, channels=net.channels)


def assemble(config: RunConfig, task: Task, batches: DeviceBatches, seeds: SeedStreams | None = None, *,
             epochs: int | None = None, leaf: Leaf | None = None, split_edges: Sequence[int] = (),
             checkpoint_dir: Path | None = None, progress: bool = True, run_key: str = "",
             callbacks: CallbackFactory | None = None) -> Assembly:
    """The supernet of ``config``, the recipe of its heuristics and a trainer over ``batches``.

    - ``seeds``: the streams to use (default: the run's, :func:`bench.seeds.seed_streams`): the global torch
      generator is seeded with ``seeds.init`` right before the supernet is built (its initialization);
      ``seeds.sampling`` draws the subnets of each step and ``seeds.data`` the drop-path masks.
    - ``epochs``: the length of the learning-rate schedule and of the training (default ``train.epochs``; a
      node of a split run follows the schedule of its whole path, :mod:`bench.nshot`).
    - ``leaf``, ``split_edges``: the sub-supernet the recipe samples from and the edges split on its way
      (:func:`bench.heuristics.recipe.restrict_to_leaf`); default: the root of ``supernet.op_set``, i.e. every
      subnet unless the op set leaves ops out.
    - ``checkpoint_dir``, ``progress``, ``run_key``: as :class:`bench.train.Trainer`'s.
    - ``callbacks``: ``factory(model, recipe)`` -> the trainer's plug-ins (e.g. ``functools.partial(
      run_callbacks, config, scoring=...)``).

    The supernet lives on the batches' device.
    """
    seeds = seed_streams(config) if seeds is None else seeds
    if epochs is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    torch.manual_seed(seeds.init)
    model = build_supernet(config, task).to(batches.device)
    recipe = build_recipe(config, get_space(config.supernet.space).standalone_setting(task), len(batches))
    if leaf is None and config.supernet.op_set != "all":
        leaf = root_leaf(get_space(config.supernet.space).root_ops(config.supernet.op_set))
    if leaf is not None:
        recipe = restrict_to_leaf(recipe, leaf, split_edges)
    trainer = Trainer(model, batches, config.train, recipe, seed=seeds.sampling, data_seed=seeds.data,
                      checkpoint_dir=checkpoint_dir, progress=progress, run_key=run_key,
                      callbacks=callbacks(model, recipe) if callbacks is not None else ())
    return Assembly(model, recipe, trainer)


def assemble_standalone(arch: space.Arch, C: int, N: int, task: Task, train: TrainConfig, batches: DeviceBatches,
                        seed: int, progress: bool = False) -> Assembly:
    """The stand-alone network of the NAS-Bench-201 cell ``arch`` (C channels, N cells per stage, tracked BN)
    trained from scratch with the stand-alone recipe (cosine schedule, shared momentum;
    :func:`bench.heuristics.recipe.standalone_recipe`), ``seed`` for its initialization and its data."""
    torch.manual_seed(seed)
    model = NB201Standalone(arch, C=C, N=N, num_classes=task.num_classes,
                            in_channels=task.in_channels).to(batches.device)
    recipe = standalone_recipe(model.arch, train, len(batches))
    trainer = Trainer(model, batches, train, recipe, seed=seed, progress=progress)
    return Assembly(model, recipe, trainer)


@dataclass(frozen=True)
class Scoring:
    """What the plug-ins that score the evaluation pool between epochs need (``eval.track_every``,
    ``eval.average_last``)."""

    pool: Sequence  # the evaluation pool's subnets, in pool order
    truth: np.ndarray  # their ground truth, in pool order
    eval_batches: DeviceBatches  # the held-out images
    recalibration: int  # BN recalibration batches per subnet (heuristics.bn), 0: none
    train_batches: DeviceBatches  # where recalibration batches come from


def collects_gradients(config: RunConfig) -> bool:
    """Whether a run of ``config`` watches a parameter's gradient (``diagnostics.grad_tensor``)."""
    return config.diagnostics.grad_stats or registry.selection(config.heuristics, "sampling").collects_gradients


def run_callbacks(config: RunConfig, model: nn.Module, recipe: Recipe, scoring: Scoring | None = None
                  ) -> list[Callback]:
    """The trainer plug-ins ``config`` asks for, in the order their epoch hooks run:

    1. ``eval.track_every``: :class:`bench.evaluate.RankingProbe` on the first ``eval.track_pool`` subnets;
    2. ``eval.average_last``: :class:`bench.estimators.EpochAveragedScores` on the pool;
    3. ``diagnostics.grad_stats`` or ``mgcs`` sampling: :class:`bench.metrics.gradients.GradientStats`
       (step hooks only; MGCS in the last epoch);
    4. ``diagnostics.gm_every``: :class:`bench.metrics.gradients.GMProbe`, last because its forward passes
       move BN running statistics, which the scorers before it must not see.

    1 and 2 need ``scoring``; without it (``bench perf``) they are left out.
    """
    e, d = config.eval, config.diagnostics
    callbacks: list[Callback] = []
    if scoring is not None and e.track_every > 0:
        tracked = slice(0, e.track_pool)
        callbacks.append(RankingProbe(scoring.pool[tracked], scoring.truth[tracked], scoring.eval_batches,
                                      scoring.recalibration, scoring.train_batches, e.sparse_threshold,
                                      precision=config.train.precision, every=e.track_every))
    if scoring is not None and e.average_last > 0:
        callbacks.append(EpochAveragedScores(e.average_last, config.train.epochs, scoring.pool,
                                             scoring.eval_batches, scoring.recalibration, scoring.train_batches,
                                             config.train.precision))
    if collects_gradients(config):
        mgcs = registry.selection(config.heuristics, "sampling").collects_gradients
        callbacks.append(GradientStats(model, d.grad_tensor, d.grad_window, d.grad_interval,
                                       per_cluster=recipe.clusters > 1,
                                       mgcs_epoch=config.train.epochs - 1 if mgcs else None))
    if d.gm_every > 0:
        callbacks.append(GMProbe(d.gm_every, d.gm_edge, d.gm_batches))
    return callbacks
