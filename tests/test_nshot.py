"""N-shot supernets (bench.nshot, the partition slot): GM decisions on constructed gradients, few-shot
leaves and who scores which subnet, budget accounting, resumption of a killed split run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from bench.config import ConfigError, load_config
from bench.metrics.gradients import leaf_gm_score_matrices
from bench.nshot import NShotRun
from bench.heuristics.partition import schedule_of
from bench.run import execute_run
from bench.spaces import nb201 as space
from bench.splitting import best_cut, choose_split_edge, root_leaf
from bench.train import Trainer

TINY = ["supernet.C=2", "supernet.N=1", "train.batch_size=256", "eval.pool_size=20", "diagnostics.grad_stats=false"]


# -- GM decisions on a supernet with constructed gradients ------------------------------------------


class ConstructedSupernet(nn.Module):
    """out = sum over edges e' of <w_e', sum_e a_e v[op on e]>: the gradient of edge e''s weights is
    ``sum_e a_e v[op_e]`` for every e', so forcing op o on edge e moves it by ``a_e v[o]``. A large a_e makes
    the ops of edge e differ as much as their vectors v do; a small one leaves them all alike."""

    def __init__(self, vectors: dict[str, list[float]], strengths: list[float]):
        super().__init__()
        dim = len(next(iter(vectors.values())))
        self.cells = nn.ModuleList([nn.Module()])
        self.cells[0].edges = nn.ModuleList(nn.ParameterDict({"w": nn.Parameter(torch.ones(dim))})
                                            for _ in range(space.NUM_EDGES))
        self.vectors = {op: torch.tensor(v) for op, v in vectors.items()}
        self.strengths = strengths

    def forward(self, x, arch):
        mix = sum(a * self.vectors[op] for a, op in zip(self.strengths, arch.ops))
        return sum((edge["w"] * mix).sum() for edge in self.cells[0].edges) * x.sum() / x.numel()


# conv 1x1 ~ conv 3x3, skip ~ avg pool, none nearer the parameter-free ops than the convs: the balanced
# min-cut must put the two convs in one group and the three parameter-free ops in the other.
VECTORS = {space.NONE: [0, 0, 3, 0, 4], space.SKIP: [0, 0, 5, 1, 0], space.AVGPOOL: [0, 0, 5, -1, 0],
           space.CONV1: [5, 1, 0, 0, 0], space.CONV3: [5, -1, 0, 0, 0]}


def _matrices(strengths):
    model = ConstructedSupernet(VECTORS, strengths)
    batches = [(torch.ones(2, 1), torch.zeros(2, dtype=torch.long))] * 3
    root = root_leaf()
    return leaf_gm_score_matrices(model, batches, root.allowed, range(space.NUM_EDGES), 3,
                                  np.random.default_rng(0), loss_fn=lambda out, y: out)


def test_gm_scores_follow_the_constructed_gradients_and_the_cut_separates_dissimilar_ops():
    matrices = _matrices([0.01, 0.01, 100.0, 0.01, 0.01, 0.01])
    m = matrices[2]
    conv1, conv3, none = space.OPS.index(space.CONV1), space.OPS.index(space.CONV3), space.OPS.index(space.NONE)
    assert m[conv1, conv3] > 0.9 and abs(m[none, conv1]) < 0.05
    cut = best_cut(m, space.OPS, 2)
    assert sorted(map(sorted, cut.partition)) == sorted([sorted([space.CONV1, space.CONV3]),
                                                          sorted([space.NONE, space.SKIP, space.AVGPOOL])])


def test_gm_splits_the_edge_whose_ops_differ_most():
    # Edge 4 carries the strongest op signal, so its ops are least alike and its best cut costs least.
    strengths = [1.0, 1.0, 1.0, 1.0, 50.0, 1.0]
    matrices = _matrices(strengths)
    choice = choose_split_edge(matrices, root_leaf(), 2)
    assert choice.edge == 4
    assert all(choice.cuts[4].cost < cut.cost for e, cut in choice.cuts.items() if e != 4)


# -- few-shot: one leaf per op, each subnet scored by its own leaf ----------------------------------


def test_few_shot_on_a_given_edge_makes_one_leaf_per_op_and_scores_each_subnet_with_its_leaf(tmp_path):
    config = load_config(None, TINY + ["train.epochs=2", "heuristics.partition.name=few-shot",
                                       "heuristics.partition.edge=3", "heuristics.partition.warmup_epochs=1"])
    record = execute_run(config, out=tmp_path / "run", progress=False)
    partition = json.loads((tmp_path / "run" / "partition.json").read_text())
    (event,) = partition["events"]
    assert event["edge"] == 3 and event["groups"] == [[op] for op in space.OPS]
    assert len(partition["leaves"]) == len(space.OPS) == record.metrics["leaves"]
    scores = pd.read_csv(tmp_path / "run" / "scores.csv")
    for arch, leaf in zip(scores["arch_str"], scores["leaf"]):
        assert leaf.split("-")[3] == str(space.OPS.index(space.parse_arch(arch).ops[3]))


def test_score_routes_every_subnet_to_the_model_of_its_leaf(tmp_path):
    config = load_config(None, TINY + ["heuristics.partition.name=few-shot", "heuristics.partition.edge=0"])
    run = NShotRun(config, batches=[None] * 4, run_dir=tmp_path, assemble=None,
                   progress=False, run_key="routing")
    leaves = root_leaf().split(0, [(op,) for op in space.OPS])
    from bench.splitting import SplitEvent

    run.record.add(SplitEvent(1, root_leaf(), 0, tuple((op,) for op in space.OPS)))
    run._models = {leaf: i for i, leaf in enumerate(leaves)}  # a model's stand-in: its leaf's position
    archs = [space.arch_from_code(c) for c in range(0, space.SPACE_SIZE, 997)]
    scores, keys = run.score(archs, lambda model, subnets: np.full(len(subnets), float(model)))
    assert list(scores) == [float(space.OPS.index(a.ops[0])) for a in archs]
    assert keys == [leaves[int(s)].key for s in scores]


# -- budget ------------------------------------------------------------------------------------------


def test_budget_adds_up_over_warm_ups_leaves_and_gm_probes(tmp_path):
    config = load_config(None, TINY + ["train.epochs=7", "heuristics.partition.name=gm",
                                       "heuristics.partition.warmup_epochs=1", "heuristics.partition.gm_batches=2",
                                       "heuristics.partition.restart=false",
                                       "heuristics.partition.budget=equal_total"])
    m = execute_run(config, out=tmp_path / "run", progress=False).metrics
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    steps = m["train_steps"] // m["supernet_epochs"]
    schedule = schedule_of(config.heuristics["partition"], 7, steps)
    # 1 root warm-up epoch + 2 level-1 warm-up epochs, then 4 leaves of floor((7 - 3) / 4) = 1 epoch.
    assert (schedule.warmup_supernet_epochs, schedule.n_leaves, schedule.leaf_epochs) == (3, 4, 1)
    assert m["supernet_epochs"] == len(history) == schedule.total_supernet_epochs == 7
    assert m["train_steps"] == schedule.total_steps
    assert m["train_seconds"] == pytest.approx(history["seconds"].sum())
    # GM probes: 6 unsplit edges x 5 ops at the root, then 5 edges x 5 ops in each of 2 children, R = 2 each.
    assert m["gm_probe_passes"] == 2 * (6 * 5 + 2 * 5 * 5)


def test_budget_that_leaves_no_leaf_epoch_is_refused_before_training():
    with pytest.raises(ConfigError, match=r"heuristics.partition \(few-shot\).*no epoch"):
        load_config(None, ["train.epochs=3", "heuristics.partition.name=few-shot",
                           "heuristics.partition.warmup_epochs=3"])
    with pytest.raises(ConfigError, match=r"heuristics.partition.edge = 6 is out of range; allowed: an int in \[0, 5\]"):
        load_config(None, ["heuristics.partition.name=few-shot", "heuristics.partition.edge=6"])
    with pytest.raises(ConfigError, match=r"groups = 5 exceeds the 4 ops"):
        load_config(None, ["heuristics.partition.name=gm", "heuristics.partition.groups=5",
                           "supernet.op_set=without_none"])
    with pytest.raises(ConfigError, match=r"sampling = 'fairnas' is not supported"):
        load_config(None, ["heuristics.partition.name=gm", "heuristics.sampling=fairnas"])


# -- resumption ----------------------------------------------------------------------------------------


def test_a_killed_split_run_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    overrides = TINY + ["train.epochs=4", "heuristics.partition.name=gm", "heuristics.partition.warmup_epochs=1",
                        "heuristics.partition.gm_batches=1", "heuristics.partition.restart=false",
                        "heuristics.momentum_buffers=ms"]
    config = load_config(None, overrides)
    whole = execute_run(config, out=tmp_path / "whole", progress=False)

    saves = {"n": 0}
    original = Trainer.save_checkpoint

    def killed_mid_leaf(self):
        original(self)
        saves["n"] += 1
        if saves["n"] == 4:  # 3 warm-up epochs (root, 2 children), then the first leaf's first of 2 epochs
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "save_checkpoint", killed_mid_leaf)
    with pytest.raises(KeyboardInterrupt):
        execute_run(config, out=tmp_path / "killed", progress=False)
    assert (tmp_path / "killed.partial" / "partition.json").is_file()
    assert list((tmp_path / "killed.partial" / "nodes").glob("2-*/checkpoint.pt"))  # a leaf was mid-training
    monkeypatch.setattr(Trainer, "save_checkpoint", original)
    resumed = execute_run(config, out=tmp_path / "killed", progress=False)

    a = pd.read_csv(tmp_path / "whole" / "scores.csv")
    b = pd.read_csv(tmp_path / "killed" / "scores.csv")
    pd.testing.assert_frame_equal(a, b)
    assert resumed.metrics["kendall_tau"] == whole.metrics["kendall_tau"]
    assert _decisions(tmp_path / "whole") == _decisions(tmp_path / "killed")


def _decisions(run_dir):
    events = json.loads((run_dir / "partition.json").read_text())["events"]
    return [{k: v for k, v in e.items() if k != "probe_seconds"} for e in events]


# -- report tables ------------------------------------------------------------------------------------------


def test_report_tables_list_every_split_and_the_compute(tmp_path):
    from bench.report import nshot as report
    from bench.report.results import Results

    config = load_config(None, TINY + ["train.epochs=3", "heuristics.partition.name=gm",
                                       "heuristics.partition.warmup_epochs=1", "heuristics.partition.gm_batches=1",
                                       "heuristics.partition.restart=false"])
    metrics = execute_run(config, out=tmp_path / "runs" / "k1", progress=False).metrics
    runs = pd.DataFrame([{"key": "k1", "setting": "gm", "seed": 0, "heuristics.partition.name": "gm", **metrics}])
    results = Results(tmp_path, runs, pd.DataFrame(), pd.DataFrame())
    assert report.has_splits(results)
    choices = report.split_choices(results)
    assert len(choices) == 3 and set(choices["cut_rule"]) == {"gm"}  # the root, then each of its 2 children
    assert all(text.count("{") == 2 for text in choices["groups"])
    assert report.grouping_frequency(choices, "gm").sum() == 3
    compute = report.compute_table(results)
    assert compute.loc["gm", "leaves"] == 4 and compute.loc["gm", "gm_probe_passes"] == metrics["gm_probe_passes"]
