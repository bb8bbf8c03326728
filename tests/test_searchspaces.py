"""The three spaces behind one interface (bench.spaces): sampling, MS clusters, CaLR extremes, every
registered heuristic on NB101 and DARTS (works, or is refused with the reason), runs on CIFAR-10, and the
registry (a fourth space is one registered object; the generic code needs no change)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.assembly import build_supernet
from bench.config import ConfigError, load_config
from bench.data import DeviceBatches
from bench.evaluate import score_pool
from bench.heuristics import choices, slots
from bench.heuristics.recipe import build_recipe
from bench.perf import synthetic_images
from bench.assembly import build_supernet
from bench.spaces import get_space, nb101, space_names
from bench.tasks import get_task
from bench.train import Trainer

from conftest import SHARED_DATA as DATA  # $BENCH_DATA_DIR, else the development copy beside the project
needs_data = pytest.mark.skipif(not (DATA / "nb101" / "nb101_sample.json").is_file(),
                                reason="needs the data directory, BENCH_DATA_DIR (NB101 and NB301 samples, CIFAR-10)")
CIFAR = get_task("cifar10")
SPACES = ("nb201", "nb101", "darts")


def standalone_setting(name, task):
    return get_space(name).standalone_setting(task)


def test_the_three_spaces_are_registered_in_order():
    assert space_names()[:3] == SPACES


@pytest.mark.parametrize("name", SPACES)
def test_sampling_is_seeded_and_clusters_are_in_range(name):
    space = get_space(name)
    a = space.sample(np.random.default_rng(3), 50)
    b = space.sample(np.random.default_rng(3), 50)
    assert [str(x) for x in a] == [str(x) for x in b]
    assert len({str(x) for x in a}) > 25  # not one subnet over and over
    for position in range(space.ms_positions):
        assert {space.cluster(x, position) for x in a} <= set(range(space.ms_clusters))
    # The default MS position separates subnets (NB101's last slot is nearly always empty: 7-vertex cells
    # are 0.2% of the official random_spec draws).
    assert len({space.cluster(x, 0) for x in a}) > 1


@pytest.mark.parametrize("name", SPACES)
def test_calr_extremes_bracket_sampled_subnets(name):
    space = get_space(name)
    setting = standalone_setting(name, CIFAR)
    small, large = space.complexity_extremes(**setting)
    for x in space.sample(np.random.default_rng(11), 100):
        c = space.complexity(x, **setting)
        assert small.params <= c.params <= large.params and small.flops <= c.flops <= large.flops


@needs_data
def test_nb101_extremes_bracket_the_official_records():
    records = json.loads((DATA / "nb101" / "nb101_records.json").read_text())
    small, large = get_space("nb101").complexity_extremes(**standalone_setting("nb101", CIFAR))
    counts = [r["trainable_parameters"] for r in records]
    assert small.params <= min(counts) and max(counts) <= large.params
    # The widest cell (5 conv3x3 in a chain, every vertex at full width) is NB101's largest network.
    assert large.params == 49_979_274


def test_nb101_clusters_count_missing_vertices_apart():
    tiny = nb101.make_cell([[0, 1], [0, 0]], [nb101.INPUT, nb101.OUTPUT])
    space = get_space("nb101")
    assert space.cluster(tiny, 0) == len(nb101.OPS) == space.ms_clusters - 1


def _every_choice():
    for slot in slots():
        for name in choices(slot):
            yield slot, name


@pytest.mark.parametrize("space", ["nb101", "darts"])
@pytest.mark.parametrize("slot, name", list(_every_choice()))
def test_every_heuristic_trains_on_the_space_or_is_refused_with_the_reason(space, slot, name):
    overrides = [f"supernet.space={space}", "data.dataset=cifar10", "supernet.C=5", "train.batch_size=4",
                 "train.epochs=2", f"heuristics.{slot}.name={name}"]
    if name == "recalibrated":
        overrides.append("heuristics.bn.batches=1")
    if slot == "partition" and name != "one-shot":
        overrides.append("heuristics.partition.warmup_epochs=0")
    try:
        config = load_config(None, overrides)
    except ConfigError as exc:
        assert f"supernet.space = {space!r}" in str(exc) and "allowed there" in str(exc)
        return
    images = synthetic_images(8)
    batches = DeviceBatches(images, 4, "cpu", seed=0, pad=4, flip=True)
    model = build_supernet(config, CIFAR)
    recipe = build_recipe(config, standalone_setting(space, CIFAR), len(batches))
    record = Trainer(model, batches, config.train, recipe, seed=0, progress=False).train_epoch(0)
    assert np.isfinite(record.loss)
    held_out = DeviceBatches(images, 8, "cpu", augment=False, shuffle=False, drop_last=False)
    subnets = get_space(space).sample(np.random.default_rng(0), 2)
    recalibration = 1 if name == "recalibrated" else 0
    scores = score_pool(model, subnets, held_out, recalibration, batches, progress=False)
    assert np.all((0 <= scores) & (scores <= 100))


def test_nb101_needs_a_channel_per_output_vertex():
    with pytest.raises(ConfigError, match=r"supernet.C = 4 is too narrow for NB101.*allowed: supernet.C >= 5"):
        load_config(None, ["supernet.space=nb101", "data.dataset=cifar10", "supernet.C=4"])


def test_spaces_without_ground_truth_for_the_dataset_are_refused():
    with pytest.raises(ConfigError, match=r"supernet.space = 'nb101' has ground truth for CIFAR-10 only"):
        get_space("nb101").load_benchmark(get_task("digits"), None)
    with pytest.raises(ConfigError, match=r"supernet.space = 'darts' has ground truth for CIFAR-10 only"):
        load_config(None, ["supernet.space=darts"])  # refused with the config, before any data is read


@needs_data
@pytest.mark.parametrize("space, label", [("nb101", "single training repeat"),
                                          ("darts", "surrogate predictions (NAS-Bench-301)")])
def test_a_run_on_cifar10_ranks_against_the_space_ground_truth(space, label, tmp_path):
    from bench.run import execute_run

    config = load_config(None, [f"supernet.space={space}", "data.dataset=cifar10", "supernet.C=5",
                                "data.train_size=64", "data.valid_size=64", "train.epochs=1",
                                "train.batch_size=32", "eval.pool_size=6", "diagnostics.grad_stats=false"])
    metrics = execute_run(config, data_dir=DATA, out=tmp_path / "run", progress=False).metrics
    assert metrics["ground_truth_label"] == label and metrics["pool_size"] == 6
    assert -1 <= metrics["kendall_tau"] <= 1


@needs_data
def test_grid_preflight_checks_each_run_against_its_own_space_ground_truth():
    from bench.grid.runner import preflight
    from bench.grid.spec import PlannedRun

    nb101 = load_config(Path(__file__).resolve().parents[1] / "ablations" / "nb101_cifar10_proxy.yaml")
    preflight([PlannedRun("k", "nb101", (), nb101)], DATA)  # its column, cifar10_valid_108, is NB101's
    too_many = load_config(None, ["supernet.space=nb101", "data.dataset=cifar10", "supernet.C=5",
                                  "eval.pool_size=300"])
    with pytest.raises(ConfigError, match=r"run big: eval.pool_size = 300 exceeds the 292 cells .*\(nb101\)"):
        preflight([PlannedRun("k2", "big", (), too_many)], DATA)


def test_an_unknown_space_is_a_config_error_naming_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"unknown search space 'nope'; allowed: nb201, nb101, darts"):
        get_space("nope")
    with pytest.raises(ConfigError, match=r"supernet.space = 'nope' is not allowed; allowed: one of 'nb201', "
                                          r"'nb101', 'darts'"):
        load_config(None, ["supernet.space=nope"])


# -- a fourth space, registered by the test alone ----------------------------------------------------------


@pytest.fixture
def toy_space():
    """A space of 3-letter strings over ops 'a', 'b': registered for one test, removed after it."""
    from dataclasses import dataclass

    from bench.spaces import SearchSpace, register_space
    from bench.spaces import base

    @dataclass(frozen=True)
    class Cost:
        params: int
        flops: int

    class ToySpace(SearchSpace):
        name = "toy"
        label = "a toy space"
        ops = ("a", "b")
        ms_unit = "letter"
        ms_positions = 3
        ms_clusters = 2
        datasets = ("digits",)
        supernet = "bench.supernets.nb201:NB201Supernet"  # any torch module path; the toy one reuses NB201's

        def sample(self, rng, n):
            return ["".join(self.ops[i] for i in row) for row in rng.integers(0, 2, size=(n, 3))]

        def cluster(self, subnet, position):
            return self.ops.index(subnet[position])

        def complexity(self, subnet, width=1, **setting):
            return Cost(params=width * (1 + subnet.count("b")), flops=2 * width * (1 + subnet.count("b")))

        def extreme_candidates(self):
            return ["aaa", "bbb"]

        def standalone_setting(self, task):
            return dict(width=task.num_classes)

        def supernet_kwargs(self, *, C, N, drop_path, channels):
            return dict(C=C, N=N)

        def parse_keys(self, keys, cells=None):
            return list(keys)

    space = register_space(ToySpace())
    yield space
    del base._REGISTRY[space.name]


def test_a_fourth_space_runs_through_the_generic_code_unchanged(toy_space):
    from bench.heuristics.recipe import build_recipe
    from bench.run import build_supernet

    assert get_space("toy") is toy_space and space_names()[-1] == "toy"
    # The config accepts it (the option's choices come from the registry), and checks its options and datasets.
    config = load_config(None, ["supernet.space=toy", "supernet.C=2"])
    assert config.supernet.space == "toy"
    with pytest.raises(ConfigError, match=r"supernet.space = 'toy' has ground truth for digits only"):
        load_config(None, ["supernet.space=toy", "data.dataset=cifar10"])
    with pytest.raises(ConfigError, match=r"supernet.op_set = 'without_none' is not supported on supernet.space = "
                                          r"'toy'"):
        load_config(None, ["supernet.space=toy", "supernet.op_set=without_none"])
    with pytest.raises(ConfigError, match=r"heuristics.partition = 'few-shot' .* supernet.space = 'toy'"):
        load_config(None, ["supernet.space=toy", "heuristics.partition=few-shot"])
    # Sampling, MS clusters, the stand-alone setting and CaLR's extremes reach the recipe through the space.
    digits = get_task("digits")
    config = load_config(None, ["supernet.space=toy", "heuristics.momentum_buffers=ms",
                                "heuristics.momentum_buffers.edge=last", "heuristics.lr_schedule=calr"])
    recipe = build_recipe(config, toy_space.standalone_setting(digits), steps_per_epoch=4)
    assert recipe.clusters == 2 and recipe.ms_edge == 2
    plans = recipe.sampler.plan_epoch(np.random.default_rng(0), 4)
    assert [p.archs for p in plans] == [(a,) for a in toy_space.sample(np.random.default_rng(0), 4)]
    assert all(p.cluster == "ab".index(p.archs[0][2]) for p in plans)
    assert recipe.lr_policy.calr is not None
    small, large = toy_space.complexity_extremes(**toy_space.standalone_setting(digits))
    assert (small.params, large.params) == (10, 40)
    # The supernet is built from the space's dotted path, with the config's width and depth.
    model = build_supernet(load_config(None, ["supernet.space=toy", "supernet.C=2"]), digits)
    assert type(model).__name__ == "NB201Supernet" and model.C == 2
