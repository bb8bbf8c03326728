"""One run, end to end: config -> data -> supernet -> training -> scoring -> metrics -> run directory.

A run directory holds:

- ``config.yaml``: the resolved config (every key, defaults included);
- ``history.csv``: per epoch loss, training accuracy, learning rate, seconds, and Kendall tau and
  sparse Kendall tau of the tracking pool where ``eval.track_every`` asks for them;
- ``scores.csv``: per subnet of the evaluation pool: arch, supernet accuracy,
  ground truth, parameters and FLOPs of the stand-alone network;
- ``metrics.json``: ranking and fairness metrics, cost, ground-truth column;
- ``environment.json``: package versions, git commit, device;
- ``checkpoint.pt``: the trained supernet and optimizer state;
- ``scores_top.csv``: where ``eval.top_sample`` asks, the scored samples of the true top 1% / 5%;
- split runs (``heuristics.partition``, :mod:`bench.nshot`): ``partition.json`` (the splits) and
  ``nodes/<level>-<leaf>/`` (each sub-supernet's checkpoint and history) instead of ``checkpoint.pt``;
  ``scores.csv`` says which leaf scored each subnet.

Any registered space (``supernet.space``, :mod:`bench.spaces`) runs the same way; its ground truth
comes from its :meth:`~bench.spaces.SearchSpace.load_benchmark`.

It is written as ``<dir>.partial`` and renamed into place only when complete,
so a killed run never looks finished; running the same command again resumes
from the last epoch's checkpoint (or the one before it, where the last is
damaged: :mod:`bench.checkpoint`). Where no checkpoint is usable the run stops
with a :class:`~bench.checkpoint.CheckpointError` that names the file;
``restart`` (``bench run --restart``) discards the unfinished run and starts
afresh.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch

from bench import checkpoint
from bench.adaptive import score_pool_adaptive
from bench.assembly import Scoring, assemble, build_supernet, collects_gradients, run_callbacks
from bench.config import ConfigError, RunConfig, load_config, to_dict, to_yaml
from bench.data import DeviceBatches
from bench.environment import environment_info
from bench.estimators import EpochAveragedScores
from bench.evaluate import score_pool
from bench.groundtruth import GroundTruthTable
from bench.heuristics import registry
from bench.heuristics.partition import is_split
from bench import metric_names as names
from bench.metrics.gradients import require_parameter
from bench.metrics import (
    complexity_bias,
    complexity_bias_matched,
    complexity_convergence_correlation,
    ranking_metrics,
)
from bench.metrics.ranking import rank_at_k_metrics, spearman, top_k_count
from bench.nshot import NShotRun
from bench.spaces import Benchmark, Subnet, get_space
from bench.seeds import seed_streams
from bench.tasks import Task, crop_padding, get_task, load_split, require_data_dir
from bench.train import CHECKPOINT_NAME, Callback

METRICS_FILE = "metrics.json"
PARTIAL_SUFFIX = ".partial"


# Keys added after runs were recorded, with the value that reproduces those runs: at that value a key is
# left out of the hash, so grids keep the old runs' keys and do not retrain them.
_LATER_KEYS = {("supernet", "op_set"): "all", ("supernet", "channels"): "dynamic", ("eval", "top_sample"): 0,
               ("data", "resolution"): None, ("train", "precision"): "fp32", ("eval", "scoring"): "full",
               ("eval", "adaptive_first"): 500, ("eval", "adaptive_confidence"): 0.95,
               ("eval", "adaptive_tolerance"): 2.0, ("eval", "average_last"): 0, ("seeds", "init"): None,
               ("seeds", "data"): None, ("seeds", "sampling"): None, ("seeds", "eval_images"): None}


def config_hash(config: RunConfig) -> str:
    """A stable 12-hex-digit key of the resolved config (same config -> same key, any change -> new key)."""
    values = to_dict(config)
    if config.eval.track_every == 0:
        # Tracking off leaves the run's records as they were before tracking existed.
        for name in ("track_every", "track_pool"):
            values["eval"].pop(name)
    for (section, name), old_value in _LATER_KEYS.items():
        if values[section][name] == old_value:
            values[section].pop(name)
    if not values["seeds"]:
        values.pop("seeds")  # a section added later, left at its defaults
    if values["heuristics"]["partition"] == {"name": "one-shot"}:
        values["heuristics"].pop("partition")
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def default_run_dir(config: RunConfig) -> Path:
    return Path("runs") / f"{config.name}-{config_hash(config)}"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device = 'cuda' but no CUDA device is available; allowed here: 'auto', 'cpu'")
    return torch.device(name)


@dataclass
class RunRecord:
    path: Path
    metrics: dict

    def summary(self) -> str:
        m = self.metrics
        lines = [f"run directory: {self.path}",
                 f"ground truth: {m[names.GROUND_TRUTH]} ({m[names.POOL_SIZE]} subnets)"]
        for key in (names.KENDALL_TAU, names.SPARSE_KENDALL_TAU, names.SPEARMAN, names.TOP_5PCT_PRECISION,
                    names.BEST_RANK_AT_5PCT, names.WORST_RANK_AT_5PCT, names.COMPLEXITY_BIAS,
                    names.COMPLEXITY_BIAS_MATCHED, names.COMPLEXITY_CONVERGENCE_CORRELATION):
            if key in m:
                lines.append(f"  {key:36s} {m[key]: .4f}")
        lines.append(f"  {names.TRAIN_SECONDS:36s} {m[names.TRAIN_SECONDS]:.1f}")
        lines.append(f"  {names.SCORE_SECONDS:36s} {m[names.SCORE_SECONDS]:.1f}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Evaluation:
    """What scoring a run needs, checked before anything trains (:func:`prepare_evaluation`)."""

    task: Task
    data_dir: Path | None
    benchmark: Benchmark
    column: str  # the ground-truth column ranked against
    pool: list[str]  # the evaluation pool
    tops: dict[int, list[str]]  # samples of the true top 1% / 5% (eval.top_sample), or {}


def prepare_evaluation(config: RunConfig, data_dir=None) -> Evaluation:
    """The data directory, ground truth, column and pools of ``config``; ConfigError naming what is wrong.

    ``bench run`` calls it first, and ``bench grid`` for every setting before any run starts.
    """
    task = get_task(config.data.dataset)
    data_dir = require_data_dir(task, data_dir)
    search_space = get_space(config.supernet.space)
    benchmark = search_space.load_benchmark(task, data_dir)
    column = _ground_truth_column(config, benchmark)
    cells = search_space.in_op_set(list(benchmark.table.arch_strs), config.supernet.op_set)
    pool = evaluation_pool(cells, config.eval.pool_size, config.eval.pool_seed, benchmark.table.benchmark)
    tops = (top_pools(benchmark.table, cells, column, config.eval.top_sample, config.eval.pool_seed)
            if config.eval.top_sample else {})
    return Evaluation(task, data_dir, benchmark, column, pool, tops)


def evaluation_pool(arch_strs: list[str], pool_size: int | str, seed: int, benchmark: str) -> list[str]:
    """The subnets to score: ``pool_size`` of the space's ground-truth cells ``arch_strs`` drawn without
    replacement, or all of them."""
    if pool_size == "all":
        return arch_strs
    if pool_size > len(arch_strs):
        raise ConfigError(f"eval.pool_size = {pool_size} exceeds the {len(arch_strs)} cells the ground truth "
                          f"({benchmark}) holds; allowed: an int <= {len(arch_strs)} or 'all'")
    picks = np.random.default_rng(seed).choice(len(arch_strs), size=pool_size, replace=False)
    return [arch_strs[i] for i in picks]


TOP_PERCENTS = (1, 5)


def top_pools(table: GroundTruthTable, arch_strs: list[str], column: str, sample: int,
              seed: int) -> dict[int, list[str]]:
    """Up to ``sample`` cells drawn uniformly from each of the true top 1% and top 5% (by ``column``) of the
    space's ground-truth cells ``arch_strs``.

    GM-NAS (Hu et al., ICLR 2022, Table 7) reports the Spearman correlation
    among the true top cells of the whole space; scoring every one of them
    (156 and 781 on NAS-Bench-201) is costly on a CPU, so we score a uniform
    sample of each set (our operationalization; the sample's Spearman
    estimates the set's, with sampling noise).
    """
    values = table.lookup(arch_strs, column)
    order = np.argsort(-values, kind="stable")
    rng = np.random.default_rng([seed, 7])
    pools = {}
    for percent in TOP_PERCENTS:
        top = order[:top_k_count(len(arch_strs), percent)]
        picks = rng.choice(top, size=min(sample, top.size), replace=False)
        pools[percent] = [arch_strs[i] for i in picks]
    return pools


def _ground_truth_column(config: RunConfig, benchmark: Benchmark) -> str:
    table = benchmark.table
    column = config.eval.ground_truth_column or benchmark.default_column
    if column not in table.columns:
        raise ConfigError(f"eval.ground_truth_column = {column!r} is not in the {table.benchmark} table; "
                          f"allowed: {', '.join(table.columns)}")
    return column


def _prepare_partial(final: Path, config: RunConfig, restart: bool = False) -> Path:
    """The ``.partial`` directory of the run, its config saved; ``restart`` discards what it held first."""
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    if restart and partial.exists():
        shutil.rmtree(partial)
    saved = partial / "config.yaml"
    if saved.is_file() and saved.read_text() != to_yaml(config):
        raise ConfigError(f"{partial} holds an unfinished run with a different config; remove it or choose "
                          "another --out")
    partial.mkdir(parents=True, exist_ok=True)
    saved.write_text(to_yaml(config))
    return partial


def load_record(path: Path) -> RunRecord:
    return RunRecord(path, json.loads((path / METRICS_FILE).read_text()))


def execute_run(config: RunConfig, data_dir=None, out=None, progress: bool = True, restart: bool = False,
                fresh_if_unusable: bool = False) -> RunRecord:
    """Train, score and record one run; a complete run directory is returned as it is.

    ``restart``: discard an unfinished run's checkpoints and train from the
    first epoch. ``fresh_if_unusable``: do so only where they cannot be resumed
    from (what a grid's ``--retry-failed`` asks); otherwise that is a
    CheckpointError naming the file and the fix.
    """
    # Everything that can be checked is checked before any training starts.
    evaluation = prepare_evaluation(config, data_dir)
    task, data_dir, benchmark, column = evaluation.task, evaluation.data_dir, evaluation.benchmark, evaluation.column
    table, pool, tops = benchmark.table, evaluation.pool, evaluation.tops
    device = resolve_device(config.train.device)

    final = Path(out) if out is not None else default_run_dir(config)
    if (final / METRICS_FILE).is_file():
        if progress:
            print(f"{final} is already complete; not training again")
        return load_record(final)
    check_grad_tensor(config, task)
    partial = _prepare_partial(final, config, restart)

    streams = seed_streams(config)
    train_set, held_out = load_split(task, config.data, data_dir, streams.eval_images)
    batches = DeviceBatches(train_set, config.train.batch_size, device, augment=config.data.augment,
                            pad=crop_padding(task, config.data),
                            flip=task.default_flip if config.data.flip is None else config.data.flip,
                            seed=streams.data)
    eval_batches = DeviceBatches(held_out, config.eval.batch_size, device, augment=False, shuffle=False,
                                 drop_last=False, mean=batches.mean, std=batches.std)
    archs = benchmark.archs(pool)
    setting = get_space(config.supernet.space).standalone_setting(task)
    recalibration = registry.build(config.heuristics, "bn").recalibration_batches
    truth = table.lookup(pool, column)

    spent = {}  # held-out images each scored subnet saw, by id() of its Arch

    def score(model, subnets):
        if config.eval.scoring == "adaptive":
            result = score_pool_adaptive(model, subnets, eval_batches, recalibration, batches,
                                         first=config.eval.adaptive_first,
                                         confidence=config.eval.adaptive_confidence,
                                         tolerance=config.eval.adaptive_tolerance,
                                         precision=config.train.precision)
            spent.update((id(a), int(n)) for a, n in zip(subnets, result.images))
            return result.accuracy
        spent.update((id(a), eval_batches.num_images) for a in subnets)
        return score_pool(model, subnets, eval_batches, recalibration, batches, progress,
                          precision=config.train.precision)

    training = _train_split if is_split(config.heuristics) else _train_one_shot
    scoring = Scoring(archs, truth, eval_batches, recalibration, batches)
    try:
        trained = training(config, task, batches, partial, progress, scoring)
    except checkpoint.CheckpointError as exc:
        if not exc.unusable:
            raise
        if not fresh_if_unusable:
            raise exc.with_fix(f"delete {partial} or pass --restart to `bench run` to start the run afresh") from None
        print(f"bench: {exc.problem}; starting the run afresh", file=sys.stderr)
        partial = _prepare_partial(final, config, restart=True)
        trained = training(config, task, batches, partial, progress, scoring)  # fresh plug-ins as well
    scorer, history, budget = trained.scorer, trained.history, trained.budget
    averager = next((c for c in trained.callbacks if isinstance(c, EpochAveragedScores)), None)
    history.to_csv(partial / "history.csv", index=False)

    start = time.perf_counter()
    scores, leaves = scorer(archs, score)
    score_seconds = time.perf_counter() - start
    images = [spent[id(a)] for a in archs]

    frame = scores_frame(archs, scores, truth, config.supernet.space, setting)
    if leaves is not None:
        frame[names.LEAF] = leaves
    if config.eval.scoring == "adaptive":
        frame[names.IMAGES] = images
    if averager is not None:
        frame[names.SUPERNET_ACCURACY_AVERAGED] = averager.averaged(scores)
    frame.to_csv(partial / "scores.csv", index=False)
    metrics = compute_metrics(frame, config, table, column)
    if averager is not None:
        metrics.update(averaged_metrics(frame, config, table, column))
    metrics.update({names.SCORE_IMAGES: int(sum(images)),
                    names.SCORE_IMAGES_FULL: len(archs) * eval_batches.num_images})
    if tops:
        metrics.update(score_top_pools(tops, scorer, score, benchmark, column, config.supernet.space, setting,
                                       partial))
    metrics.update({**budget, names.SCORE_SECONDS: score_seconds, names.EPOCHS: config.train.epochs})
    (partial / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    (partial / "environment.json").write_text(json.dumps(environment_info(device), indent=2))
    checkpoint.discard_spares(partial / CHECKPOINT_NAME)  # a finished run keeps only its last checkpoint
    _publish(partial, final)
    return RunRecord(final, metrics)


class Trained(NamedTuple):
    """What training a run gives the scoring: ``scorer(archs, score)`` -> (scores, leaf keys or None), the
    history, the budget figures for metrics.json, and the trainer plug-ins (their results, e.g. the
    epoch-averaged scores)."""

    scorer: Callable
    history: pd.DataFrame
    budget: dict
    callbacks: list[Callback]


def _train_one_shot(config: RunConfig, task: Task, batches: DeviceBatches, partial: Path, progress: bool,
                    scoring: Scoring) -> Trained:
    """Train one supernet with the plug-ins the config asks for (:func:`bench.assembly.run_callbacks`); their
    outputs (gradient_stats.csv, gm_scores.csv) go into ``partial``; the scorer gives no leaf keys."""
    built = assemble(config, task, batches, checkpoint_dir=partial, progress=progress, run_key=config_hash(config),
                     callbacks=functools.partial(run_callbacks, config, scoring=scoring))
    model, trainer = built.model, built.trainer
    if trainer.try_resume() and progress:
        print(f"resuming {partial} after epoch {trainer.state.epochs_done}")
    history = trainer.fit()
    budget = {names.TRAIN_SECONDS: sum(r.seconds for r in history),
              names.IMAGES_TRAINED: sum(r.images for r in history),
              names.SUPERNET_EPOCHS: len(history), names.TRAIN_STEPS: len(history) * len(batches)}
    budget.update(write_diagnostics(trainer.callbacks, partial))
    return Trained(lambda archs, score: (score(model, archs), None), pd.DataFrame([vars(r) for r in history]),
                   budget, trainer.callbacks)


def _train_split(config: RunConfig, task: Task, batches: DeviceBatches, partial: Path, progress: bool,
                 scoring: Scoring) -> Trained:
    """Train the tree of sub-supernets of a few-shot or GM run (:mod:`bench.nshot`); as ``_train_one_shot``, but
    without plug-ins: the config check refuses the ones that follow one supernet (tracking, GM probe,
    estimators), and a split run collects no gradient statistics."""
    run = NShotRun(config, batches, partial, functools.partial(assemble, config, task, batches), progress,
                   run_key=config_hash(config))
    if run.record.events and progress:
        print(f"resuming {partial}: {len(run.record.events)} split(s) recorded")
    run.fit()
    history = run.history()
    return Trained(run.score, history, run.budget(history), [])


def score_top_pools(tops: dict, scorer, score, benchmark: Benchmark, column: str, space_name: str, setting: dict,
                    run_dir: Path) -> dict:
    """Score the samples of the true top cells; their Spearman correlations (``scores_top.csv`` keeps them)."""
    frames, metrics = [], {}
    for percent, pool in tops.items():
        archs = benchmark.archs(pool)
        scores, leaves = scorer(archs, score)
        frame = scores_frame(archs, scores, benchmark.table.lookup(pool, column), space_name, setting)
        frame.insert(0, names.TOP_PERCENT, percent)
        if leaves is not None:
            frame[names.LEAF] = leaves
        frames.append(frame)
        supernet, truth = frame[names.SUPERNET_ACCURACY], frame[names.GROUND_TRUTH]
        metrics[names.space_top(names.SPEARMAN, percent)] = spearman(supernet, truth)
        metrics.update(rank_at_k_metrics(supernet, truth, suffix=names.space_top_suffix(percent)))
        metrics[names.top_sample(percent)] = len(pool)
    pd.concat(frames, ignore_index=True).to_csv(run_dir / "scores_top.csv", index=False)
    return metrics


def check_grad_tensor(config: RunConfig, task: Task) -> None:
    """``diagnostics.grad_tensor`` names a parameter of the supernet (ConfigError naming the allowed ones),
    checked before the run directory exists so that a fixed config runs without --restart. The supernet
    built for the check leaves the global random state as it was."""
    if not collects_gradients(config):
        return
    with torch.random.fork_rng(devices=[]):
        parameter_names = [name for name, _ in build_supernet(config, task).named_parameters()]
    require_parameter(config.diagnostics.grad_tensor, parameter_names)


def write_diagnostics(callbacks: Sequence[Callback], run_dir: Path) -> dict:
    """Each plug-in's tables into the run directory (gradient_stats.csv, gm_scores.csv); their summaries for
    metrics.json."""
    summary = {}
    for c in callbacks:
        write = getattr(c, "write", None)
        if write is not None:
            summary.update(write(run_dir))
    return summary


def scores_frame(archs: Sequence[Subnet], scores: np.ndarray, truth: np.ndarray, space_name: str,
                 setting: dict) -> pd.DataFrame:
    """One row per subnet; params and FLOPs of its stand-alone network at ``setting`` (the ground truth's)."""
    complexity = get_space(space_name).complexity
    costs = [complexity(a, **setting) for a in archs]
    return pd.DataFrame({
        names.ARCH_STR: [str(a) for a in archs],
        names.SUPERNET_ACCURACY: scores,
        names.GROUND_TRUTH: truth,
        names.PARAMS: [c.params for c in costs],
        names.FLOPS: [c.flops for c in costs],
    })


def compute_metrics(frame: pd.DataFrame, config: RunConfig, table: GroundTruthTable, column: str) -> dict:
    scores, truth = frame[names.SUPERNET_ACCURACY].to_numpy(), frame[names.GROUND_TRUTH].to_numpy()
    params = frame[names.PARAMS].to_numpy()
    # P>R needs the whole space's ground truth; a partial table (digits) gives the pool's own.
    metrics = ranking_metrics(scores, truth, sparse_threshold=config.eval.sparse_threshold,
                              space_truth=table.values(column))
    metrics.update({
        names.COMPLEXITY_BIAS: complexity_bias(scores, truth, params),
        names.COMPLEXITY_BIAS_MATCHED: complexity_bias_matched(scores, truth, params),
        names.COMPLEXITY_CONVERGENCE_CORRELATION: complexity_convergence_correlation(scores, truth, params),
        names.GROUND_TRUTH: f"{table.benchmark}:{column}",
        names.GROUND_TRUTH_LABEL: table.label,
        names.POOL_SIZE: len(frame),
    })
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in metrics.items()}


AVERAGED_KEYS = (names.KENDALL_TAU, names.SPARSE_KENDALL_TAU, names.SPEARMAN, names.BEST_RANK_AT_5PCT,
                 names.WORST_RANK_AT_5PCT)


def averaged_metrics(frame: pd.DataFrame, config: RunConfig, table: GroundTruthTable, column: str) -> dict:
    """The ranking metrics of the scores averaged over the last epochs (:mod:`bench.estimators`), suffixed
    ``_averaged``, with the number of epochs averaged."""
    averaged = frame.assign(**{names.SUPERNET_ACCURACY: frame[names.SUPERNET_ACCURACY_AVERAGED]})
    metrics = compute_metrics(averaged, config, table, column)
    out = {names.averaged(key): metrics[key] for key in AVERAGED_KEYS}
    out[names.AVERAGED_EPOCHS] = config.eval.average_last
    return out


def load_trained_supernet(run_dir: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, int]:
    """The trained supernet of a one-shot run directory and the epochs it has trained, for rescoring it
    without training again.

    Built from the run's own ``config.yaml`` and loaded through :func:`bench.checkpoint.load`, which checks
    that the checkpoint is this run's (its key and tensor shapes) and undamaged; a
    :class:`~bench.checkpoint.CheckpointError` where there is none (split runs keep theirs per node).
    """
    config = load_config(Path(run_dir) / "config.yaml")
    model = build_supernet(config, get_task(config.data.dataset)).to(device)
    identity = checkpoint.Identity.of(model, config_hash(config))
    loaded = checkpoint.load(Path(run_dir) / CHECKPOINT_NAME, identity, device, parse=lambda state: state)
    if loaded is None:
        raise checkpoint.CheckpointError(f"{run_dir} holds no {CHECKPOINT_NAME}",
                                         "rescore a finished one-shot run directory")
    model.load_state_dict(loaded.model)
    return model, loaded.epoch


def _publish(partial: Path, final: Path) -> None:
    """Rename the finished ``.partial`` directory into place (atomic on one file system)."""
    if final.exists():
        shutil.rmtree(final)  # an incomplete leftover without metrics.json
    os.replace(partial, final)
