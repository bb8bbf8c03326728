"""Slot ``bn``: how batch normalization computes its statistics in the supernet.

Source: Yu et al., "How to Train Your Super-Net: An Analysis of Training
Heuristics in Weight-Sharing NAS" (2020), Sec. 4 "batch normalization": BN
with tracked running statistics is ill-suited to a supernet whose subnets
change every step; batch statistics at training and scoring time, or running
statistics recalibrated per subnet before scoring, rank better. NAS-Bench-201
(Dong & Yang, ICLR 2020) trains its supernets with batch statistics only.
"""

from bench.heuristics.registry import Heuristic, Param, compatibility_rule, register, register_slot
from bench.validation import ConfigError

SOURCE = "Yu et al. 2020, How to Train Your Super-Net, Sec. 4 (BN); Dong & Yang, ICLR 2020, Sec. 5"
TAXONOMY = "spatial / parameter optimization"
AFFINE = Param(bool, True, "learnable BN scale and shift")

register_slot("bn", "batch-norm statistics in training and scoring", default="batch_stats")

register(Heuristic(
    "batch_stats", "bn", "batch statistics only, no running statistics, in training and scoring (NB201 default)",
    SOURCE, TAXONOMY, {"affine": AFFINE}))

register(Heuristic(
    "tracked", "bn", "tracked running statistics, used as trained when subnets are scored",
    SOURCE, TAXONOMY, {"affine": AFFINE}))

register(Heuristic(
    "recalibrated", "bn", "tracked running statistics, reset and recomputed over k training batches per subnet "
    "before it is scored", SOURCE, TAXONOMY,
    {"affine": AFFINE, "batches": Param(int, 10, "training batches used to recompute the statistics", low=1)}))


@compatibility_rule
def _recalibration_needs_batches(selection, config) -> None:
    # Checked here rather than by Param bounds because it involves another section (data size).
    bn = selection["bn"]
    if bn["name"] == "recalibrated" and config is not None and config.data.train_size is not None:
        steps = config.data.train_size // config.train.batch_size
        if bn["batches"] > max(steps, 1):
            raise ConfigError(f"heuristics.bn.batches = {bn['batches']} exceeds the {steps} training batches "
                              f"per epoch (data.train_size {config.data.train_size} / train.batch_size "
                              f"{config.train.batch_size})")
