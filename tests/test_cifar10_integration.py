"""A small NB201 supernet on the real CIFAR-10 images, scored against the real NAS-Bench-201 ground truth.

Needs the development data (CIFAR-10 images, the NAS-Bench-201 table; the ``shared_data`` fixture skips
with a message where it is absent; CI has it).

What this budget supports on every machine. The run's Kendall tau is not asserted: at this budget it is not
a property of the code but of one machine's float path. Measured on the test's fixed pool of 60 subnets
(pool_seed 0): seed 0 gave tau 0.27 with 2 torch threads and 0.13 with 1; seeds 1, 2 and 3 with 1 thread gave
-0.03, 0.07 and 0.08 (sparse tau -0.01 to 0.30 over the five). Much of it comes from the pool's 3 disconnected
cells, which every supernet scores at chance as the benchmark does: among the 57 connected cells tau was -0.14
to 0.19, and the seed-0 (1 thread) supernet scored on 300 subnets gave 0.01. The former ``tau > 0.15`` held
only for seed 0 with 2 threads. What holds everywhere, and is asserted: the supernet learned CIFAR-10
(connected subnets averaged 28-33% over those five runs, chance is 10%); the cells without a path from input
to output get chance accuracy both in the real table and from the supernet; and the ranking metrics are those
of the recorded scores and ground truth. Ranking quality needs several seeds and a larger budget (docs).
"""

import pandas as pd
import pytest

from bench.config import load_config
from bench.metrics.ranking import kendall_tau
from bench.run import execute_run
from bench.spaces.nb201 import is_degenerate, parse_arch

# A third of the 32x32 proxy's budget (ablations/nb201_cifar10_proxy32.yaml): about 1.5 minutes on 2 idle cores.
SMALL_PROXY = [
    "data.dataset=cifar10", "data.train_size=10000", "data.valid_size=10000", "data.eval_images=500",
    "supernet.C=4", "supernet.N=1", "train.epochs=10", "train.batch_size=64", "train.lr=0.05",
    "eval.pool_size=60", "eval.ground_truth_column=cifar10-valid_valid",
]
COLUMN = "cifar10-valid_valid"


@pytest.mark.shared_data
def test_supernet_learns_cifar10_and_is_scored_against_the_real_ground_truth(shared_data, tmp_path):
    record = execute_run(load_config(None, SMALL_PROXY), data_dir=shared_data, out=tmp_path / "run", progress=False)
    m = record.metrics
    assert m["ground_truth"] == f"nb201:{COLUMN}" and m["pool_size"] == 60
    scores = pd.read_csv(record.path / "scores.csv")
    assert len(scores) == 60

    # The recorded ground truth is the real table's, read here independently by arch string.
    table = pd.read_csv(shared_data / "nb201" / "nb201_hp200.csv", usecols=["arch_str", COLUMN])
    truth = table.set_index("arch_str")[COLUMN]
    assert scores["ground_truth"].tolist() == pytest.approx(truth[scores["arch_str"]].tolist())

    # Cells with no path from input to output: chance in the benchmark (10 classes) and a constant prediction
    # from the supernet, i.e. one class's share of the 500 held-out images (at most 13.4% for this split).
    degenerate = scores["arch_str"].map(lambda a: is_degenerate(parse_arch(a)))
    assert degenerate.sum() == 3, scores[degenerate]  # the fixed pool holds 3 (pool_seed 0)
    assert (scores.loc[degenerate, "ground_truth"] < 11).all() and (scores.loc[~degenerate, "ground_truth"] > 50).all()
    connected = scores.loc[~degenerate, "supernet_accuracy"]
    assert (scores.loc[degenerate, "supernet_accuracy"] <= 15).all(), scores[degenerate]
    # The supernet learned: its connected subnets averaged 28.2-33.3% over the seeds and thread counts measured
    # (sd of that mean about 2 points); 20% is far from both those and chance.
    assert connected.mean() > 20, connected.describe()
    assert (scores.loc[degenerate, "supernet_accuracy"] < connected.median()).all()

    # The ranking metrics are those of the recorded scores and ground truth (any machine: same arithmetic).
    assert m["kendall_tau"] == pytest.approx(kendall_tau(scores["supernet_accuracy"], scores["ground_truth"]),
                                             abs=1e-12)
    for name in ("kendall_tau", "sparse_kendall_tau", "spearman"):
        assert -1 <= m[name] <= 1, m
