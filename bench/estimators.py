"""Estimators of a subnet's supernet score with less noise than the papers' one final score: our addition.

The papers score each subnet once, with the supernet's weights at the end of
training (e.g. Dong & Yang, ICLR 2020, Sec. 5; Yu et al., ICLR 2020). At the
scale of a CPU proxy the last epochs' weights jitter: the ranking a supernet
gives moves from epoch to epoch about as much as from seed to seed
(docs/calibration.md). :class:`EpochAveragedScores` scores the evaluation pool
after each of the last k epochs and ranks subnets by their mean score, a
Polyak-style average over checkpoints taken on the scores rather than on the
weights (our operationalization). It is reported beside the papers'
estimator (the ``*_averaged`` metrics, ``supernet_accuracy_averaged`` in
``scores.csv``), never instead of it; with k = 1 it is the papers' estimator.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bench.data import DeviceBatches
from bench.evaluate import score_between_epochs
from bench.train import Trainer, TrainerCallback


class EpochAveragedScores(TrainerCallback):
    """A trainer callback (:class:`bench.train.Callback`): the pool's scores after each of the last ``k - 1``
    epochs before the last; the last epoch's are the run's final scores, so :meth:`averaged` takes them in
    rather than scoring the same weights twice.
    """

    name = "epoch_averaged_scores"

    def __init__(self, k: int, epochs: int, pool: Sequence, eval_batches: DeviceBatches, recalibration_batches: int,
                 train_batches: DeviceBatches, precision: str = "fp32"):
        if not 1 <= k <= epochs:
            raise ValueError(f"k = {k} must be between 1 and the {epochs} epochs trained")
        self.k, self.epochs = k, epochs
        self.pool = list(pool)
        self.eval_batches, self.train_batches = eval_batches, train_batches
        self.recalibration_batches, self.precision = recalibration_batches, precision
        self.scores: dict[int, list[float]] = {}  # epochs done -> the pool's scores

    def on_epoch_end(self, trainer: Trainer, epochs_done: int) -> None:
        if self.epochs - self.k < epochs_done < self.epochs:
            scores = score_between_epochs(trainer.model, self.pool, self.eval_batches, self.recalibration_batches,
                                          self.train_batches, self.precision)
            self.scores[epochs_done] = scores.tolist()

    def averaged(self, final_scores: np.ndarray) -> np.ndarray:
        """The mean over the last k epochs of each subnet's score, the final scores included."""
        missing = [e for e in range(self.epochs - self.k + 1, self.epochs) if e not in self.scores]
        if missing:
            raise RuntimeError(f"the scores after epochs {missing} were not recorded")
        stacked = [self.scores[e] for e in range(self.epochs - self.k + 1, self.epochs)] + [list(final_scores)]
        return np.mean(np.asarray(stacked, dtype=np.float64), axis=0)

    def state_dict(self) -> dict:
        return {"scores": {int(e): list(v) for e, v in self.scores.items()}}

    def check_state(self, state: dict) -> None:
        scores = state.get("scores", {})
        if not all(isinstance(v, list) and len(v) == len(self.pool) for v in scores.values()):
            raise ValueError(f"saved averaged scores do not match the pool of {len(self.pool)} subnets")

    def load_state_dict(self, state: dict) -> None:
        self.check_state(state)
        scores = state.get("scores", {})
        self.scores = {int(e): [float(x) for x in v] for e, v in scores.items()}
