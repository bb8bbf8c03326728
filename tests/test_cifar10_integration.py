"""A small NB201 supernet on the real CIFAR-10 images, ranked against the real NAS-Bench-201 ground truth.

Needs ../shared/data (skips with a message where it is absent; CI has it).
"""

import pytest

from bench.config import load_config
from bench.run import execute_run

SMALL_PROXY = [
    "data.dataset=cifar10", "data.train_size=5000", "data.valid_size=5000", "data.eval_images=1000",
    "supernet.C=8", "supernet.N=1", "train.epochs=6", "train.batch_size=64",
    "eval.pool_size=60", "eval.ground_truth_column=cifar10-valid_valid",
]


@pytest.mark.shared_data
def test_supernet_ranks_subnets_better_than_chance(shared_data, tmp_path):
    record = execute_run(load_config(None, SMALL_PROXY), data_dir=shared_data, out=tmp_path / "run", progress=False)
    m = record.metrics
    assert m["ground_truth"] == "nb201:cifar10-valid_valid" and m["pool_size"] == 60
    # "Clearly positive": under the null of no ranking signal, tau over 60 subnets has sd ~0.09.
    assert m["kendall_tau"] > 0.25, m
    assert m["sparse_kendall_tau"] > 0.2, m
