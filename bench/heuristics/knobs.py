"""Knobs: heuristics that are a single value in another config section.

They are registered so that ``bench heuristics`` lists every heuristic the
studies vary, each with its source and the key that sets it. Sources:
"How to Train Your Super-Net" (Yu et al. 2020, the heuristics study), its
Sec. 4 per heuristic; the CaLR+MS paper (Jeon et al., CVPR 2025) and its
supplement for the momentum ablation.

Knob slots are labels of the listing, not config keys. The SGD momentum
settings are listed under ``sgd_momentum``, apart from the choice slot
``momentum_buffers`` (which buffer a step uses: shared or MS).
"""

from bench.heuristics.registry import Heuristic, register

HTTYS = "Yu et al. 2020, How to Train Your Super-Net, Sec. 4"
PARAM_OPT = "spatial / parameter optimization"


def knob(name: str, slot: str, key: str, description: str, source: str = HTTYS, taxonomy: str = PARAM_OPT):
    register(Heuristic(name, slot, description, source, taxonomy, config_key=key))


knob("learning_rate", "lr_schedule", "train.lr", "initial learning rate (lr_0)")
knob("warmup_epochs", "lr_schedule", "train.warmup_epochs", "linear learning-rate warm-up before the schedule")
knob("epochs", "budget", "train.epochs", "training epochs (a strong factor in the heuristics study)")
knob("batch_size", "budget", "train.batch_size", "images per step")
knob("data_portion", "budget", "data.portion", "fraction of the supernet-training images used")
knob("weight_decay", "regularization", "train.weight_decay", "L2 weight decay")
knob("label_smoothing", "regularization", "train.label_smoothing", "label smoothing of the cross-entropy loss")
knob("drop_path", "regularization", "supernet.drop_path", "drop-path rate: each edge's output dropped per image")
knob("momentum", "sgd_momentum", "train.momentum", "SGD momentum beta (0 allowed: no momentum)",
     "Jeon et al., CVPR 2025, supplement Table J; " + HTTYS)
knob("nesterov", "sgd_momentum", "train.nesterov", "Nesterov momentum on or off")
knob("width", "low_fidelity", "supernet.C", "supernet width C (channels of the first stage); the stand-alone "
     "network that complexity refers to keeps the benchmark's")
knob("depth", "low_fidelity", "supernet.N", "supernet cells per stage N, separate from the stand-alone network's")
