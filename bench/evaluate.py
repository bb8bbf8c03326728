"""Scoring subnets with the supernet's inherited weights.

Each subnet of the evaluation pool is scored by its top-1 accuracy (percent)
on held-out images, with the shared weights as trained. How batch norm is
handled follows the supernet's BN mode (Dong & Yang, ICLR 2020, Sec. 5;
heuristics study, "BN" section):

- batch statistics (no running statistics): every batch is normalized with
  its own statistics, in training and in scoring alike;
- running statistics: the trained running statistics are used, or, with
  ``recalibration_batches = k > 0``, they are reset and recomputed over k
  training batches for each subnet before it is scored.

``precision="bf16"`` runs the scoring forward passes (and recalibration's)
under bfloat16 autocast, as ``train.precision`` does for training.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from bench import metric_names as names
from bench.data import DeviceBatches
from bench.metrics.ranking import kendall_tau, sparse_kendall_tau
from bench.precision import autocast
from bench.spaces import Subnet
from bench.train import Trainer, TrainerCallback


def _bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, arch: Subnet, batches: DeviceBatches, num_batches: int,
                   precision: str = "fp32") -> None:
    """Reset running statistics and recompute them as a plain average over ``num_batches`` batches."""
    layers = [m for m in _bn_layers(model) if m.track_running_stats]
    saved = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
    model.train()
    # A fixed epoch index keeps recalibration batches identical for every subnet.
    for i, (x, _) in enumerate(batches.epoch(0)):
        if i >= num_batches:
            break
        with autocast(x.device, precision):
            model(x, arch)
    for m, momentum in zip(layers, saved):
        m.momentum = momentum
    model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, arch: Subnet, batches: DeviceBatches, precision: str = "fp32") -> float:
    """Top-1 accuracy in percent of ``arch`` on every image of ``batches`` (one ordered pass)."""
    model.eval()
    correct = None
    total = 0
    for x, y in batches.epoch(0):
        with autocast(x.device, precision):
            logits = model(x, arch)
        hits = (logits.argmax(1) == y).sum()
        correct = hits if correct is None else correct + hits
        total += y.shape[0]
    return 100.0 * float(correct) / max(1, total)


def score_pool(model: nn.Module, pool: Sequence[Subnet], eval_batches: DeviceBatches,
               recalibration_batches: int = 0, train_batches: DeviceBatches | None = None,
               progress: bool = True, precision: str = "fp32") -> np.ndarray:
    """Supernet accuracy (percent) of every subnet in ``pool``, in pool order."""
    if recalibration_batches > 0 and train_batches is None:
        raise ValueError("BN recalibration needs the training batches")
    scores = np.empty(len(pool), dtype=np.float64)
    for i, arch in enumerate(tqdm(pool, desc="scoring subnets", disable=not progress, unit="subnet")):
        if recalibration_batches > 0:
            recalibrate_bn(model, arch, train_batches, recalibration_batches, precision)
        scores[i] = accuracy(model, arch, eval_batches, precision)
    return scores


class RankingProbe(TrainerCallback):
    """Ranking quality of a fixed pool, measured between epochs without changing the training.

    Our addition, for following ranking quality over training (the
    studies report only the end of training). Scoring can touch state that
    training reads later: BN recalibration rewrites running
    statistics, and the global torch generator must not move. Both are saved
    before and restored after, so a run with tracking trains exactly as one
    without it (tested).

    A trainer callback: after every ``every``-th epoch and after the last it
    sets the epoch record's ``kendall_tau`` and ``sparse_kendall_tau``
    (``eval.track_every``); it keeps no state of its own (the values are in
    the history).
    """

    name = "ranking_probe"

    def __init__(self, pool: Sequence[Subnet], truth: np.ndarray, eval_batches: DeviceBatches,
                 recalibration_batches: int, train_batches: DeviceBatches, sparse_threshold: float,
                 precision: str = "fp32", every: int = 1):
        if every < 1:
            raise ValueError(f"every = {every}: the probe needs a period of at least one epoch")
        self.every = every
        self.pool = list(pool)
        self.truth = np.asarray(truth, dtype=np.float64)
        self.eval_batches = eval_batches
        self.recalibration_batches = recalibration_batches
        self.train_batches = train_batches
        self.sparse_threshold = sparse_threshold
        self.precision = precision

    def on_epoch_end(self, trainer: Trainer, epochs_done: int) -> dict[str, float] | None:
        if epochs_done % self.every == 0 or epochs_done == trainer.config.epochs:
            return self(trainer.model)
        return None

    def __call__(self, model: nn.Module) -> dict[str, float]:
        scores = score_between_epochs(model, self.pool, self.eval_batches, self.recalibration_batches,
                                      self.train_batches, self.precision)
        return {names.KENDALL_TAU: kendall_tau(scores, self.truth),
                names.SPARSE_KENDALL_TAU: sparse_kendall_tau(scores, self.truth, self.sparse_threshold)}


def score_between_epochs(model: nn.Module, pool: Sequence[Subnet], eval_batches: DeviceBatches,
                         recalibration_batches: int, train_batches: DeviceBatches,
                         precision: str = "fp32") -> np.ndarray:
    """:func:`score_pool` without touching what training reads later: buffers (BN recalibration rewrites
    running statistics), the global torch generator and the train/eval mode are restored afterwards."""
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    rng_state = torch.get_rng_state()
    was_training = model.training
    scores = score_pool(model, pool, eval_batches, recalibration_batches, train_batches, progress=False,
                        precision=precision)
    with torch.no_grad():
        for name, b in model.named_buffers():
            b.copy_(buffers[name])
    torch.set_rng_state(rng_state)
    model.train(was_training)
    return scores
