"""Batch-norm mode of the supernets, shared by every space (:mod:`bench.supernets.nb201`,
:mod:`bench.supernets.nb101`, :mod:`bench.supernets.darts`); the ``bn`` heuristic slot chooses it."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class BNConfig:
    """Batch-norm mode of every BN layer in the network.

    ``track_running_stats=False`` is the NAS-Bench-201 supernet default: BN
    always normalizes with the current batch's statistics, also at scoring
    time. With ``True`` the layers keep running statistics, which the
    evaluator may recalibrate per subnet before scoring.
    """

    track_running_stats: bool = False
    affine: bool = True

    def make(self, channels: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(channels, affine=self.affine, track_running_stats=self.track_running_stats)
