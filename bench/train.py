"""The supernet training loop, checkpointed every epoch; the heuristics it runs come from a Recipe.

Each step asks the recipe which subnets to train (one for single-path
sampling, SPOS; several for FairNAS, whose gradients on the same batch are
accumulated), with which learning rate and per-subnet loss weights (the LR
schedule, or CaLR), and which momentum buffer to use (MS cluster); then one
optimizer step is taken (:class:`bench.heuristics.clustered_sgd.ClusteredSGD`).

Determinism and resumption: every random choice of an epoch (the subnets of
its steps, the batch order, the augmentation, drop-path masks) is drawn from
generators seeded by (seed, epoch) alone, so a run resumed from the
checkpoint at the end of an epoch sees exactly the steps an uninterrupted run
sees. The checkpoint holds the model, the optimizer and the history, as plain
data loaded without running pickled code; the one before it is kept, so a
damaged newest file falls back to it (:mod:`bench.checkpoint`).

Plug-ins (:class:`Callback`: the gradient statistics, the GM and ranking
probes, the epoch-averaged estimator) are passed to the trainer; it calls
their step hooks inside the step and their epoch hook before each
checkpoint, which holds their states, so a resumed run's plug-ins continue
where they were.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from bench import checkpoint
from bench.config import TrainConfig
from bench.data import DeviceBatches
from bench.data.augment import epoch_seed
from bench.heuristics.clustered_sgd import ClusteredSGD
from bench.heuristics.recipe import Recipe
from bench.heuristics.sampling import StepPlan
from bench.precision import autocast
from bench.seeds import epoch_rng

CHECKPOINT_NAME = "checkpoint.pt"
SAMPLER_STREAM = 1  # the generator stream of subnet sampling
TORCH_STREAM = 2  # offset of the torch generator (drop-path masks) from the data seed


def make_optimizer(model: nn.Module, config: TrainConfig, recipe: Recipe) -> ClusteredSGD:
    return ClusteredSGD(model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                        weight_decay=config.weight_decay, clusters=recipe.clusters, unused=recipe.unused)


class Callback(Protocol):
    """A plug-in of the loop, passed to the :class:`Trainer` (``callbacks=[...]``, called in that order).

    - ``on_epoch_end(trainer, epochs_done)``: after every epoch's training, before the epoch's record is
      appended to the history and before the epoch's checkpoint, which saves its state (so a resumed run's
      plug-ins continue where they were). It may return a dict of :class:`EpochRecord` fields to set in the
      epoch's record (the ranking probe's Kendall tau); a later callback's value of a field wins.
    - optional step hooks, called only where a callback defines them (:class:`TrainerCallback`'s no-ops
      count as undefined): ``on_subnet_end(trainer, step)`` after each subnet's backward pass of a step (its
      gradient accumulated into the others' of the step), ``on_step_end(trainer, step, cluster)`` once the
      step's gradients are complete, before clipping and the optimizer step. They run on the hot path: they
      must not synchronize with the device unless that is what they are for.
    - optional ``check_state(state)``: raises ValueError, KeyError or TypeError where a saved state does not
      fit; the checkpoint then counts as unusable (the one before it is tried), as a damaged one does.

    The epoch hook must leave the training as it found it (weights, buffers, the global torch generator),
    so that a run with a callback trains exactly as one without it, unless changing it is the point (the GM
    probe's forward passes move BN running statistics, as they always did).
    """

    name: str  # the key of its state in the checkpoint

    def on_epoch_end(self, trainer: "Trainer", epochs_done: int) -> dict[str, Any] | None: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


class TrainerCallback:
    """A :class:`Callback` with every hook a no-op: subclasses define the hooks they need (the trainer skips
    the step hooks a subclass leaves as they are) and :meth:`write`, their output in the run directory."""

    name = "callback"

    def on_epoch_end(self, trainer: "Trainer", epochs_done: int) -> dict[str, Any] | None:
        return None

    def on_subnet_end(self, trainer: "Trainer", step: int) -> None:
        pass

    def on_step_end(self, trainer: "Trainer", step: int, cluster: int) -> None:
        pass

    def check_state(self, state: dict) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def write(self, run_dir: Path) -> dict:
        """Write what it collected into ``run_dir``; its summary for metrics.json."""
        return {}


def _hook(callback: Callback, name: str) -> Callable | None:
    """``callback``'s bound hook ``name``; None where it has none or keeps :class:`TrainerCallback`'s no-op."""
    method = getattr(callback, name, None)
    if method is None or getattr(type(callback), name, None) is getattr(TrainerCallback, name):
        return None
    return method


# States that checkpoints written before the diagnostics were callbacks kept at the top level: the callback
# name each belongs to now and how its state looked then.
_LEGACY_STATES = {"grad_stats": ("grad_stats", lambda state: state),
                  "gm_matrices": ("gm_scores", lambda matrices: {"matrices": matrices})}


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    train_accuracy: float
    lr: float
    seconds: float
    images: int
    # Ranking of the tracking pool after this epoch (eval.track_every); NaN where it was not measured.
    kendall_tau: float = math.nan
    sparse_kendall_tau: float = math.nan


@dataclass
class TrainState:
    """What a checkpoint holds besides the weights: finished epochs and their history."""

    epochs_done: int = 0
    history: list[EpochRecord] = field(default_factory=list)


class Trainer:
    """Owns the loop: setup, epochs of steps planned by the recipe, a checkpoint after each epoch."""

    def __init__(self, model: nn.Module, batches: DeviceBatches, config: TrainConfig, recipe: Recipe, seed: int,
                 checkpoint_dir: Path | None = None, progress: bool = True, run_key: str = "",
                 data_seed: int | None = None, callbacks: Sequence[Callback] = ()):
        self.model = model
        self.batches = batches
        self.config = config
        self.recipe = recipe
        self.seed = seed  # the subnet-sampling stream (and the GM probe's paths)
        self.data_seed = seed if data_seed is None else data_seed  # drop-path masks (bench.seeds)
        self.callbacks = list(callbacks)
        names = [c.name for c in self.callbacks]
        if len(set(names)) != len(names):
            raise ValueError(f"callbacks need distinct names for their checkpoint state, got {names}")
        # Resolved once: the step loop calls only the hooks that do something.
        self._subnet_hooks = [h for h in (_hook(c, "on_subnet_end") for c in self.callbacks) if h is not None]
        self._step_hooks = [h for h in (_hook(c, "on_step_end") for c in self.callbacks) if h is not None]
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.run_key = run_key  # whose checkpoints these are: one of another run is refused
        self.optimizer = make_optimizer(model, config, recipe)
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        self.steps_per_epoch = len(batches)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.state = TrainState()

    # -- checkpointing ---------------------------------------------------------------
    def checkpoint_path(self) -> Path | None:
        return None if self.checkpoint_dir is None else self.checkpoint_dir / CHECKPOINT_NAME

    def identity(self) -> checkpoint.Identity:
        return checkpoint.Identity.of(self.model, self.run_key)

    def save_checkpoint(self) -> None:
        path = self.checkpoint_path()
        if path is None:
            return
        state = {
            "optimizer": self.optimizer.state_dict(),
            "epochs_done": self.state.epochs_done,
            "history": [vars(r) for r in self.state.history],
            "callbacks": {c.name: c.state_dict() for c in self.callbacks},
        }
        checkpoint.save(path, self.identity(), self.state.epochs_done, self.model.state_dict(), state)

    def try_resume(self) -> bool:
        """Load the newest usable checkpoint; False where there is none (CheckpointError: none usable)."""
        path = self.checkpoint_path()
        if path is None:
            return False
        device = next(self.model.parameters()).device
        loaded = checkpoint.load(path, self.identity(), device, parse=self._parse_state)
        if loaded is None:
            return False
        state = loaded.state  # checked in full: nothing below can fail half way
        for c in self.callbacks:  # their states passed check_state in _parse_state
            c.load_state_dict(state["callbacks"].get(c.name, {}))
        self.optimizer.load_state_dict(state["optimizer"])  # first: its own last checks come before any change
        self.model.load_state_dict(loaded.model)
        self.state = state["train"]
        return True

    def _parse_state(self, saved: dict) -> dict:
        """The saved state checked against this trainer (ValueError, KeyError, TypeError where it does not fit)."""
        checkpoint.check_optimizer(saved["optimizer"], self.optimizer)
        train = TrainState(int(saved["epochs_done"]), [EpochRecord(**r) for r in saved["history"]])
        if not 0 <= train.epochs_done <= self.config.epochs:
            raise ValueError(f"{train.epochs_done} epochs done of {self.config.epochs}")
        callbacks = saved.get("callbacks", {})  # absent in checkpoints written before callbacks existed
        if not isinstance(callbacks, dict):
            raise TypeError("callback states are not a dict")
        callbacks = dict(callbacks)
        for key, (name, convert) in _LEGACY_STATES.items():  # an older layout: moved under its callback's name
            if saved.get(key) and name not in callbacks:
                callbacks[name] = convert(saved[key])
        for c in self.callbacks:
            check = getattr(c, "check_state", None)
            if check is not None and c.name in callbacks:
                check(callbacks[c.name])
        return {"optimizer": saved["optimizer"], "train": train, "callbacks": callbacks}

    # -- the loop ------------------------------------------------------------------------
    def fit(self, until: int | None = None) -> list[EpochRecord]:
        """Train from the epoch after the last finished one up to ``until`` (default: ``config.epochs``).

        ``until`` lets a split run stop a sub-supernet's warm-up before the end
        of the learning-rate schedule its path follows (:mod:`bench.nshot`).
        """
        for epoch in range(self.state.epochs_done, self.config.epochs if until is None else until):
            record = self.train_epoch(epoch)
            for c in self.callbacks:  # in order: what one does to the model, the next one sees
                fields = c.on_epoch_end(self, epoch + 1)
                if fields:
                    record = dataclasses.replace(record, **fields)
            self.state.history.append(record)
            self.state.epochs_done = epoch + 1
            self.save_checkpoint()
        return self.state.history

    def train_epoch(self, epoch: int) -> EpochRecord:
        self.model.train()
        plans = self.recipe.sampler.plan_epoch(epoch_rng(self.seed, epoch, SAMPLER_STREAM), self.steps_per_epoch)
        torch.manual_seed(epoch_seed(self.data_seed + TORCH_STREAM, epoch))  # drop-path masks
        device = next(self.model.parameters()).device
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        images = 0
        start = time.perf_counter()
        bar = tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch + 1}/{self.config.epochs}",
                   disable=not self.progress, leave=False, unit="step")
        lr = self.config.lr
        for step_in_epoch, (x, y) in enumerate(self.batches.epoch(epoch)):
            step = epoch * self.steps_per_epoch + step_in_epoch
            plan = plans[step_in_epoch]
            lr, logits, losses = self.train_step(x, y, plan, step)
            # Accumulate on the device; no .item() on the hot path.
            loss_sum += losses * y.shape[0]
            correct += (logits.argmax(1) == (y.repeat(len(plan.archs)) if len(plan.archs) > 1 else y)).sum()
            images += y.shape[0] * len(plan.archs)
            bar.update()
        bar.close()
        seconds = time.perf_counter() - start
        loss_value = (loss_sum / max(1, images)).item()
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"training loss is {loss_value} in epoch {epoch + 1}")
        return EpochRecord(epoch=epoch + 1, loss=loss_value, train_accuracy=100.0 * correct.item() / max(1, images),
                           lr=lr, seconds=seconds, images=images)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, plan: StepPlan, step: int):
        """One optimizer step over the plan's subnets; returns (lr, all logits, summed loss)."""
        step_lr = self.recipe.lr_policy.for_step(step, plan.archs)
        for group in self.optimizer.param_groups:
            group["lr"] = step_lr.lr
        self.optimizer.zero_grad(set_to_none=True)
        losses = torch.zeros((), device=x.device)
        all_logits = []
        for arch, weight in zip(plan.archs, step_lr.weights):
            with autocast(x.device, self.config.precision):  # train.precision; backward runs outside, as usual
                logits = self.model(x, arch)
                loss = self.loss_fn(logits, y)
            # FairNAS: gradients of the step's subnets accumulate; CaLR weights each one.
            (loss * weight if weight != 1.0 else loss).backward()
            losses += loss.detach()
            all_logits.append(logits.detach())
            for hook in self._subnet_hooks:
                hook(self, step)
        for hook in self._step_hooks:
            hook(self, step, plan.cluster)
        if self.config.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step(cluster=plan.cluster)
        return step_lr.lr, torch.cat(all_logits) if len(all_logits) > 1 else all_logits[0], losses
