"""Slot ``bn``: how batch normalization computes its statistics in the supernet.

Source: Yu et al., "How to Train Your Super-Net: An Analysis of Training
Heuristics in Weight-Sharing NAS" (2020), Sec. 4 "batch normalization": BN
with tracked running statistics is ill-suited to a supernet whose subnets
change every step; batch statistics at training and scoring time, or running
statistics recalibrated per subnet before scoring, rank better. NAS-Bench-201
(Dong & Yang, ICLR 2020) trains its supernets with batch statistics only.

Each choice builds a :class:`BNMode`: the flags of every BN layer of the
supernet (``track_running_stats``, ``affine``: :func:`bench.assembly.build_supernet`
turns them into the supernet's :class:`~bench.supernets.bn.BNConfig`) and the training batches that recompute
running statistics per subnet before it is scored
(:attr:`BNMode.recalibration_batches`, 0: none).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.heuristics.registry import Selection, param, register, register_slot
from bench.validation import ConfigError

SOURCE = "Yu et al. 2020, How to Train Your Super-Net, Sec. 4 (BN); Dong & Yang, ICLR 2020, Sec. 5"
TAXONOMY = "spatial / parameter optimization"
AFFINE_HELP = "learnable BN scale and shift"

register_slot("bn", "batch-norm statistics in training and scoring", default="batch_stats")


@dataclass(frozen=True)
class BNMode:
    """What a BN choice means for the supernet and for scoring."""

    track_running_stats: bool
    affine: bool
    recalibration_batches: int = 0  # training batches that recompute the statistics of each scored subnet


@dataclass(frozen=True)
class BN(Selection):
    """Base of the ``bn`` choices: ``build()`` -> :class:`BNMode`."""

    slot = "bn"
    source = SOURCE
    taxonomy = TAXONOMY

    def build(self) -> BNMode:
        raise NotImplementedError


@register
@dataclass(frozen=True)
class BatchStatsBN(BN):
    """Batch statistics only (Dong & Yang, ICLR 2020, Sec. 5: the NAS-Bench-201 supernets)."""

    name = "batch_stats"
    description = "batch statistics only, no running statistics, in training and scoring (NB201 default)"
    affine: bool = param(True, AFFINE_HELP)

    def build(self) -> BNMode:
        return BNMode(track_running_stats=False, affine=self.affine)


@register
@dataclass(frozen=True)
class TrackedBN(BN):
    """Tracked running statistics, used as trained (Yu et al. 2020, Sec. 4: the ill-suited baseline)."""

    name = "tracked"
    description = "tracked running statistics, used as trained when subnets are scored"
    affine: bool = param(True, AFFINE_HELP)

    def build(self) -> BNMode:
        return BNMode(track_running_stats=True, affine=self.affine)


@register
@dataclass(frozen=True)
class RecalibratedBN(BN):
    """Running statistics reset and recomputed per subnet before scoring (Yu et al. 2020, Sec. 4)."""

    name = "recalibrated"
    description = ("tracked running statistics, reset and recomputed over k training batches per subnet before it "
                   "is scored")
    affine: bool = param(True, AFFINE_HELP)
    batches: int = param(10, "training batches used to recompute the statistics", low=1)

    def build(self) -> BNMode:
        return BNMode(track_running_stats=True, affine=self.affine, recalibration_batches=self.batches)

    def check(self, chosen, config) -> None:
        # Checked here rather than by the parameter's bounds because it involves another section (data size).
        if config is not None and config.data.train_size is not None:
            steps = config.data.train_size // config.train.batch_size
            if self.batches > max(steps, 1):
                raise ConfigError(f"heuristics.bn.batches = {self.batches} exceeds the {steps} training batches "
                                  f"per epoch (data.train_size {config.data.train_size} / train.batch_size "
                                  f"{config.train.batch_size})")
