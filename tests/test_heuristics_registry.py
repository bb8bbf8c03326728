"""The heuristic registry: listing, validation, typed selections and their components, recipe assembly, and one
training step per heuristic."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.config import ConfigError, load_config, reference
from bench.heuristics import all_heuristics, choices, default_selection, registry, slots
from bench.heuristics.bn import BNMode, RecalibratedBN, TrackedBN
from bench.heuristics.clustered_sgd import UNUSED_POLICIES
from bench.heuristics.lr_policy import CaLRSchedule, LRPolicy, StepSchedule
from bench.heuristics.momentum import MomentumBuffers, MomentumSeparation, SharedMomentum
from bench.heuristics.partition import FewShotPartition, GMPartition, PartitionPlan
from bench.heuristics.recipe import build_recipe
from bench.heuristics.sampling import FairNASSampling, MGCSSampling, StepPlan
from bench.spaces import get_space
from bench.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
DIGITS = dict(C=8, N=1, num_classes=10, input_size=8, in_channels=1)
NB201 = get_space("nb201")


def test_every_heuristic_cites_a_source_and_a_taxonomy_tag():
    for h in all_heuristics():
        assert h.source and h.taxonomy and h.description, h.name


def test_knob_slots_do_not_reuse_choice_slot_names_but_the_lr_schedule():
    """A knob's slot is a listing label; the SGD momentum knobs are not confused with momentum_buffers."""
    knob_slots = {h.slot for h in all_heuristics() if h.kind == "knob"}
    assert knob_slots & set(slots()) == {"lr_schedule"}  # lr_0 and its warm-up are knobs of the schedule
    assert "momentum" not in knob_slots | set(slots())


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
                     ("regularization", "drop_path"), ("sgd_momentum", "momentum"), ("sgd_momentum", "nesterov"),
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


# -- typed selections and their components ---------------------------------------------------------------------------

def _context(slot):
    """What each slot's ``build`` takes (see the slot's base class)."""
    return {
        "bn": {}, "partition": {}, "unused_params": {},
        "momentum_buffers": {"search_space": NB201},
        "sampling": {"momentum": MomentumBuffers(1, None, NB201), "setting": DIGITS, "search_space": NB201},
        "lr_schedule": {"lr": 0.05, "total_steps": 100, "warmup_steps": 0, "epochs": 10, "standalone": DIGITS,
                        "search_space": NB201},
    }[slot]


@pytest.mark.parametrize("slot, name", list(_every_choice()))
def test_every_choice_builds_its_component_from_its_default_selection(slot, name):
    h = registry.get(slot, name)
    default = h.selection_type()
    assert default.as_dict() == {"name": name, **h.defaults()}
    assert registry.selection({slot: name}, slot) == default
    component = registry.build({slot: name}, slot, **_context(slot))
    if slot == "bn":
        assert isinstance(component, BNMode) and component.affine is True
    elif slot == "partition":
        assert isinstance(component, PartitionPlan) and component.kind == name
        if component.is_split:
            assert component.schedule(epochs=30, steps_per_epoch=2).total_supernet_epochs > 0
    elif slot == "unused_params":
        assert component in UNUSED_POLICIES
    elif slot == "momentum_buffers":
        assert isinstance(component, MomentumBuffers) and component.clusters >= 1
    elif slot == "sampling":
        plans = component.plan_epoch(np.random.default_rng(0), 3)
        assert len(plans) == 3 and all(isinstance(p, StepPlan) for p in plans)
        assert {len(p.archs) for p in plans} == {component.subnets_per_step} == {default.subnets_per_step}
    else:
        assert isinstance(component, LRPolicy)
        assert component.for_step(0, [NB201.sample(np.random.default_rng(0), 1)[0]]).lr == pytest.approx(0.05)


def test_components_answer_what_generic_code_asks():
    assert (TrackedBN().build().recalibration_batches, RecalibratedBN(batches=3).build().recalibration_batches) == (0, 3)
    assert registry.build({"bn": "batch_stats"}, "bn").track_running_stats is False
    assert registry.build({}, "partition").is_split is False
    few, gm = FewShotPartition().build(), GMPartition(restart=False).build()
    assert (few.is_split, few.exhaustive, few.restart) == (True, True, False)
    assert (gm.is_split, gm.exhaustive, gm.restart) == (True, False, False) and GMPartition().build().restart
    assert FairNASSampling.subnets_per_step == 5 and MGCSSampling.subnets_per_step == 4
    assert MGCSSampling.collects_gradients and not FairNASSampling.collects_gradients
    ms = MomentumSeparation(edge="last").build(search_space=NB201)
    assert (ms.clusters, ms.edge) == (5, 5) and SharedMomentum().build(search_space=NB201).clusters == 1
    assert ms.for_leaf((5,)).edge == 0 and ms.for_leaf((1,)).edge == 5


def test_config_dicts_become_typed_selections_and_back():
    config = load_config(None, ["heuristics.sampling=fairnas", "heuristics.lr_schedule={name: step, gamma: 0.5}",
                                "heuristics.momentum_buffers=ms"])
    typed = registry.selections(config.heuristics)
    assert typed["sampling"] == FairNASSampling()
    assert typed["lr_schedule"] == StepSchedule(every_epochs=30, gamma=0.5)
    assert typed["momentum_buffers"] == MomentumSeparation()
    assert {slot: s.as_dict() for slot, s in typed.items()} == config.heuristics


@pytest.mark.parametrize("make, message", [
    (lambda: CaLRSchedule(g="sqrt"), r"heuristics.lr_schedule.g = 'sqrt' is not allowed; allowed: one of 'log', 'x', "
                                     r"'exp'"),
    (lambda: CaLRSchedule(gamma_prime=0.5), r"heuristics.lr_schedule.gamma_prime = 0.5 is out of range; allowed: a "
                                            r"float >= 1.0"),
    (lambda: MomentumSeparation(edge="middle"), r"heuristics.momentum_buffers.edge = 'middle' is not allowed; "
                                                r"allowed: an int >= 0 or one of 'first', 'last', 'random'"),
    (lambda: GMPartition(groups=7), r"heuristics.partition.groups = 7 is out of range; allowed: an int in \[2, 5\]"),
    (lambda: RecalibratedBN(batches="ten"), r"heuristics.bn.batches = 'ten' has the wrong type; allowed: an int >= 1"),
    (lambda: StepSchedule.from_dict({"name": "step", "gama": 0.5}),
     r"unknown parameter 'heuristics.lr_schedule.gama' of heuristic 'step'; allowed: every_epochs, gamma "
     r"\(did you mean 'gamma'\?\)"),
    (lambda: registry.selection({"sampling": "fairnass"}, "sampling"),
     r"heuristics.sampling = 'fairnass' is not a registered heuristic; allowed: spos, fairnas"),
])
def test_a_typed_selection_refuses_a_bad_value_naming_it_and_the_allowed_ones(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def _name_comparisons(path: Path, heuristic_names: set[str]) -> list[tuple[str, int]]:
    """(innermost enclosing function, line) of every comparison of a heuristic's name with a string:
    ``x["name"] == "..."``, ``x.get("name") != "..."`` (any string), or ``x.name`` compared with a registered
    choice's name."""

    def literals(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = [literals(e) for e in node.elts]
            return set().union(*values) if values and all(values) else set()
        return set()

    def is_name_key(node):
        if isinstance(node, ast.Subscript):
            return isinstance(node.slice, ast.Constant) and node.slice.value == "name"
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "name")

    found = []

    class Visitor(ast.NodeVisitor):
        where = ["<module>"]

        def visit_FunctionDef(self, node):
            self.where.append(node.name)
            self.generic_visit(node)
            self.where.pop()

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Compare(self, node):
            operands = [node.left, *node.comparators]
            strings = set().union(*(literals(o) for o in operands))
            by_key = any(is_name_key(o) for o in operands) and strings
            by_attribute = any(isinstance(o, ast.Attribute) and o.attr == "name" for o in operands) and \
                strings & heuristic_names
            if by_key or by_attribute:
                found.append((self.where[-1], node.lineno))
            self.generic_visit(node)

    Visitor().visit(ast.parse(path.read_text()))
    return found


NAME_COMPARISONS_ALLOWED: set[tuple[str, str]] = set()  # (module, function) pairs allowed to compare a name


def test_no_module_dispatches_on_a_heuristic_name():
    """Behaviour comes from the registered object (its component's properties), never from comparing its name."""
    names = {h.name for h in all_heuristics() if h.kind == "choice"}
    hits = []
    for path in sorted((ROOT / "bench").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for func, line in _name_comparisons(path, names):
            if (rel, func) not in NAME_COMPARISONS_ALLOWED:
                hits.append(f"{rel}:{line} (in {func})")
    assert not hits, "heuristic names compared outside their registered objects:\n" + "\n".join(hits)


def test_the_name_check_finds_what_it_looks_for(tmp_path):
    code = tmp_path / "m.py"
    code.write_text('def f(config, sel, name):\n'
                    '    a = config.heuristics["sampling"]["name"] == "mgcs"\n'
                    '    b = sel.get("name") in ("gm", "few-shot")\n'
                    '    c = sel.name != "fairnas"\n'
                    '    d = name == "calr"\n'
                    '    e = sel["edge_selection"] == "gm" or sel.name == "nb201" or config["name"] == other\n')
    assert _name_comparisons(code, {"mgcs", "gm", "fairnas", "calr"}) == [("f", 2), ("f", 3), ("f", 4)]
