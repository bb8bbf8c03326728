"""The heuristic registry: listing, validation, recipe assembly, and one training step per heuristic."""

import json

import pytest

from bench.cli import main
from bench.config import ConfigError, load_config, reference
from bench.heuristics import all_heuristics, choices, default_selection, slots
from bench.heuristics.recipe import build_recipe
from bench.tasks import get_task


def test_every_heuristic_cites_a_source_and_a_taxonomy_tag():
    for h in all_heuristics():
        assert h.source and h.taxonomy and h.description, h.name


def test_every_knob_names_an_existing_config_key():
    keys = {row[0] for row in reference()}
    for h in all_heuristics():
        if h.kind == "knob":
            assert h.config_key in keys, (h.name, h.config_key)


def test_issue_heuristics_are_all_registered():
    names = {(h.slot, h.name) for h in all_heuristics()}
    for expected in [("bn", "batch_stats"), ("bn", "tracked"), ("bn", "recalibrated"),
                     ("lr_schedule", "cosine"), ("lr_schedule", "linear"), ("lr_schedule", "step"),
                     ("lr_schedule", "constant"), ("lr_schedule", "poly"), ("lr_schedule", "calr"),
                     ("sampling", "spos"), ("sampling", "fairnas"), ("sampling", "complexity_proportional"),
                     ("momentum_buffers", "shared"), ("momentum_buffers", "ms"),
                     ("unused_params", "skip"), ("unused_params", "stale"),
                     ("budget", "epochs"), ("budget", "batch_size"), ("budget", "data_portion"),
                     ("regularization", "weight_decay"), ("regularization", "label_smoothing"),
                     ("regularization", "drop_path"), ("momentum", "momentum"), ("momentum", "nesterov"),
                     ("low_fidelity", "width"), ("low_fidelity", "depth"), ("lr_schedule", "learning_rate")]:
        assert expected in names, expected


def test_defaults_resolve_every_slot_with_its_parameters():
    selection = load_config(None).heuristics
    assert set(selection) == set(slots())
    assert selection == default_selection()
    assert selection["lr_schedule"] == {"name": "cosine", "min_lr": 0.0}


def test_short_and_long_forms_and_overrides():
    c = load_config(None, ["heuristics.sampling=fairnas", "heuristics.lr_schedule.name=calr",
                           "heuristics.lr_schedule.gamma_prime=3", "heuristics.momentum_buffers=ms",
                           "heuristics.momentum_buffers.edge=last"])
    assert c.heuristics["sampling"] == {"name": "fairnas"}
    assert c.heuristics["lr_schedule"] == {"name": "calr", "gamma_prime": 3.0, "g": "log", "complexity": "params",
                                           "eta": 0.0}
    assert c.heuristics["momentum_buffers"]["edge"] == "last"


@pytest.mark.parametrize("overrides, message", [
    (["heuristics.sampling=fairnass"], r"heuristics.sampling = 'fairnass' is not a registered heuristic; allowed: "
                                       r"spos, fairnas, complexity_proportional, mgcs \(did you mean 'fairnas'\?\)"),
    (["heuristics.lr_schedule.name=calr", "heuristics.lr_schedule.g=sqrt"],
     r"heuristics.lr_schedule.g = 'sqrt' is not allowed; allowed: one of 'log', 'x', 'exp'"),
    (["heuristics.lr_schedule.name=cosine", "heuristics.lr_schedule.gamma_prime=3"],
     r"unknown parameter 'heuristics.lr_schedule.gamma_prime' of heuristic 'cosine'; allowed: min_lr"),
    (["heuristics.momentum_buffers=ms", "heuristics.momentum_buffers.edge=6"],
     r"edge = 6 is out of range: MS clusters on one of 6 positions \(edges\)"),
    (["heuristics.momentum_buffers=ms", "heuristics.momentum_buffers.edge=middle"],
     r"edge = 'middle' is not allowed; allowed: an int >= 0 or one of 'first', 'last', 'random'"),
    (["heuristics.lr_schedule=calr", "train.warmup_epochs=2"], "CaLR's Eq. \\(4\\) is the whole schedule"),
])
def test_bad_selections_fail_with_what_is_allowed(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_listing_as_table_and_json(capsys):
    assert main(["heuristics"]) == 0
    table = capsys.readouterr().out
    assert "calr" in table and "Jeon et al." in table and "fairnas" in table
    assert main(["heuristics", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {h["name"] for h in listed} == {h.name for h in all_heuristics()}
    calr = next(h for h in listed if h["name"] == "calr")
    assert calr["slot"] == "lr_schedule" and calr["params"]["gamma_prime"]["default"] == 4.0


def _every_choice():
    for slot in slots():
        for name in choices(slot):
            yield slot, name


@pytest.mark.parametrize("slot, name", list(_every_choice()))
def test_every_choice_trains_one_step(slot, name, tmp_path):
    """The timm lesson: every registered thing is exercised (here: one epoch of a tiny supernet)."""
    from bench.run import execute_run

    overrides = ["train.epochs=1", "supernet.C=2", "supernet.N=1", "eval.pool_size=4", "train.batch_size=256",
                 f"heuristics.{slot}.name={name}"]
    if name == "recalibrated":
        overrides.append("heuristics.bn.batches=1")
    if slot == "partition" and name != "one-shot":  # one epoch: no warm-up, and no restart for GM's leaves
        overrides += ["heuristics.partition.warmup_epochs=0"]
        overrides += ["heuristics.partition.gm_batches=1", "heuristics.partition.splits=1"] if name == "gm" else []
    record = execute_run(load_config(None, overrides), out=tmp_path / "r", progress=False)
    assert record.metrics["epochs"] == 1


def test_recipe_clusters_follow_ms():
    task = get_task("digits")
    plain = build_recipe(load_config(None), task.standalone.as_kwargs(), 10)
    ms = build_recipe(load_config(None, ["heuristics.momentum_buffers=ms"]), task.standalone.as_kwargs(), 10)
    assert plain.clusters == 1 and plain.ms_edge is None
    assert ms.clusters == 5 and ms.ms_edge == 0
