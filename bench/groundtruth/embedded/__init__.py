"""The embedded ground truth: NAS-Bench-201 cells trained stand-alone on scikit-learn's 8x8 digits.

It lets ``bench run`` work on a fresh machine with no download. The table was
computed by this project (``bench groundtruth build``); the exact command,
its settings and its wall time are in ``nb201_digits.md`` beside the CSV.
It is a toy benchmark: 8x8 images, a short stand-alone training, a pool of
sampled cells rather than the whole space. Use it to exercise the pipeline
and for regression baselines, not to draw conclusions about heuristics.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.groundtruth.table import GroundTruthError, GroundTruthTable

TABLE_PATH = Path(__file__).with_name("nb201_digits.csv")

DIGITS_SETTING = {
    # The stand-alone network every cell of the table was trained as.
    "standalone": dict(C=8, N=1, num_classes=10, input_size=8, in_channels=1),
    # Trained on the supernet-training half of digits (split seed 0), scored on the held-out half.
    "train": dict(epochs=4, batch_size=64, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
    "column": "digits_valid",
}


def load_digits_table(path: Path = TABLE_PATH) -> GroundTruthTable:
    if not path.is_file():
        raise GroundTruthError(f"the embedded digits ground truth is missing: {path} (rebuild it with the "
                               "command in nb201_digits.md)")
    frame = pd.read_csv(path)
    return GroundTruthTable(frame, benchmark="nb201-digits", source=str(path),
                            label="stand-alone 8x8 digits, computed by bench groundtruth build")
