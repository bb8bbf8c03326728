"""The supernet training loop: uniform single-path sampling with SGD, checkpointed every epoch.

Single-path one-shot training (SPOS, Guo et al., ECCV 2020; RSPS, Li &
Talwalkar, UAI 2019): each step samples one subnet uniformly (each edge's op
uniform and independent), runs the batch through it and updates the shared
weights it used.

Determinism and resumption: every random choice of an epoch (the subnets of
its steps, the batch order, the augmentation) is drawn from generators seeded
by (seed, epoch) alone, so a run resumed from the checkpoint at the end of an
epoch sees exactly the steps an uninterrupted run sees. The checkpoint holds
the model, the optimizer and the history.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from bench.config import TrainConfig
from bench.data import DeviceBatches
from bench.spaces import nb201 as space

CHECKPOINT_NAME = "checkpoint.pt"


SAMPLER_STREAM = 1  # the generator stream of subnet sampling (other heuristics take other streams)

Sampler = Callable[[np.random.Generator, int], "list[space.Arch]"]
"""Draws the subnets of an epoch's steps: ``sampler(rng, steps) -> [arch per step]``."""


def epoch_rng(seed: int, epoch: int, stream: int) -> np.random.Generator:
    """A generator that depends only on (seed, epoch, stream): the basis of exact resumption."""
    return np.random.default_rng([seed, epoch, stream])


def fixed_arch_sampler(arch: space.Arch) -> Sampler:
    """Always the same subnet: trains a stand-alone network with the supernet loop."""
    return lambda rng, steps: [arch] * steps


def sample_uniform(rng: np.random.Generator, steps: int) -> list[space.Arch]:
    """One uniformly drawn subnet per step (each edge's op uniform and independent)."""
    codes = rng.integers(0, len(space.OPS), size=(steps, space.NUM_EDGES))
    return [space.Arch.from_indices(row) for row in codes]


def cosine_lr(step: int, total_steps: int, lr: float, min_lr: float) -> float:
    """Cosine annealing per step (Loshchilov & Hutter, ICLR 2017) from ``lr`` at step 0 to ``min_lr``."""
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * step / max(1, total_steps)))


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    if config.schedule == "constant":
        return config.lr
    return cosine_lr(step, total_steps, config.lr, config.min_lr)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    # zero_grad(set_to_none=True) leaves the ops a step did not use without a
    # gradient, and SGD skips them: their momentum does not move them.
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov, weight_decay=config.weight_decay)


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    train_accuracy: float
    lr: float
    seconds: float
    images: int


@dataclass
class TrainState:
    """What a checkpoint holds besides the weights: finished epochs and their history."""

    epochs_done: int = 0
    history: list[EpochRecord] = field(default_factory=list)


class Trainer:
    """Owns the loop: setup, epochs of single-path steps, a checkpoint after each epoch."""

    def __init__(self, model: nn.Module, batches: DeviceBatches, config: TrainConfig, seed: int,
                 checkpoint_dir: Path | None = None, progress: bool = True, sampler: Sampler = None):
        self.model = model
        self.batches = batches
        self.config = config
        self.seed = seed
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.sampler = sampler or sample_uniform
        self.optimizer = make_optimizer(model, config)
        self.loss_fn = nn.CrossEntropyLoss()
        self.steps_per_epoch = len(batches)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.state = TrainState()
        self.epoch_hooks: list[Callable[[int], None]] = []

    # -- checkpointing ---------------------------------------------------------------
    def checkpoint_path(self) -> Path | None:
        return None if self.checkpoint_dir is None else self.checkpoint_dir / CHECKPOINT_NAME

    def save_checkpoint(self) -> None:
        path = self.checkpoint_path()
        if path is None:
            return
        payload = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epochs_done": self.state.epochs_done,
            "history": [vars(r) for r in self.state.history],
        }
        tmp = path.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)  # atomic: a kill leaves the previous checkpoint intact

    def try_resume(self) -> bool:
        path = self.checkpoint_path()
        if path is None or not path.is_file():
            return False
        payload = torch.load(path, map_location=next(self.model.parameters()).device, weights_only=False)
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.state = TrainState(payload["epochs_done"], [EpochRecord(**r) for r in payload["history"]])
        return True

    # -- the loop ------------------------------------------------------------------------
    def fit(self) -> list[EpochRecord]:
        for epoch in range(self.state.epochs_done, self.config.epochs):
            record = self.train_epoch(epoch)
            self.state.history.append(record)
            self.state.epochs_done = epoch + 1
            self.save_checkpoint()
            for hook in self.epoch_hooks:
                hook(epoch)
        return self.state.history

    def train_epoch(self, epoch: int) -> EpochRecord:
        self.model.train()
        archs = self.sampler(epoch_rng(self.seed, epoch, SAMPLER_STREAM), self.steps_per_epoch)
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
            lr = learning_rate(self.config, step, self.total_steps)
            logits, loss = self.train_step(x, y, archs[step_in_epoch], lr)
            # Accumulate on the device; no .item() on the hot path.
            loss_sum += loss.detach() * y.shape[0]
            correct += (logits.detach().argmax(1) == y).sum()
            images += y.shape[0]
            bar.update()
        bar.close()
        seconds = time.perf_counter() - start
        loss_value = (loss_sum / max(1, images)).item()
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"training loss is {loss_value} in epoch {epoch + 1}")
        return EpochRecord(epoch=epoch + 1, loss=loss_value, train_accuracy=100.0 * correct.item() / max(1, images),
                           lr=lr, seconds=seconds, images=images)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, arch: space.Arch, lr: float):
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(x, arch)
        loss = self.loss_fn(logits, y)
        loss.backward()
        if self.config.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return logits, loss
