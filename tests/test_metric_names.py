"""Every name a run writes is spelled in bench.metric_names: a new metric cannot land as a bare string."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.config import load_config
from bench import metric_names as names
from bench.metrics.ranking import RANK_AT_K_FRACTIONS
from bench.run import TOP_PERCENTS, execute_run

TINY = ["train.epochs=2", "supernet.C=4", "supernet.N=1", "eval.pool_size=10", "train.batch_size=128",
        "diagnostics.grad_window=2"]

CONSTANTS = {key: value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
SUFFIXES = {"AVERAGED_SUFFIX"}  # parts of names, not names


def known_names() -> set[str]:
    """The constants of bench.metric_names and every name its builders make of them."""
    plain = {value for key, value in CONSTANTS.items() if key not in SUFFIXES}
    known = set(plain)
    known |= {names.averaged(name) for name in plain}
    for percent in TOP_PERCENTS:
        suffix = names.space_top_suffix(percent)
        known |= {names.space_top(name, percent) for name in plain}
        known |= {names.best_rank_at(k, suffix) for k in RANK_AT_K_FRACTIONS.values()}
        known |= {names.worst_rank_at(k, suffix) for k in RANK_AT_K_FRACTIONS.values()}
        known.add(names.top_sample(percent))
    return known


def unnamed(keys) -> list[str]:
    known = known_names()
    return [key for key in keys if key not in known]


@pytest.mark.parametrize("extra", [
    # one-shot, with every optional record on: epoch-averaged scores, samples of the true top cells, MGCS, GM probe
    ["eval.average_last=2", "eval.top_sample=2", "heuristics.sampling=mgcs", "diagnostics.gm_every=2",
     "diagnostics.gm_batches=1"],
    # a split run (bench.nshot): its budget keys; adaptive scoring: the images column
    ["heuristics.partition.name=few-shot", "heuristics.partition.edge=3", "heuristics.partition.warmup_epochs=1"],
    ["eval.scoring=adaptive", "eval.adaptive_first=100", "train.epochs=1"],
], ids=["one-shot", "few-shot", "adaptive"])
def test_every_key_a_run_writes_has_a_name(tmp_path, extra):
    record = execute_run(load_config(None, TINY + extra), out=tmp_path / "run", progress=False)
    metrics = json.loads((record.path / "metrics.json").read_text())
    assert unnamed(metrics) == [], "add these to bench/metric_names.py and write them through the constants"
    for table in ("scores.csv", "scores_top.csv"):
        if (record.path / table).is_file():
            assert unnamed(pd.read_csv(record.path / table).columns) == [], table


def test_the_check_refuses_a_bare_name():
    assert unnamed([names.KENDALL_TAU, names.averaged(names.SPEARMAN), "new_metric"]) == ["new_metric"]


def test_builders_make_the_names_runs_have_written():
    assert names.averaged(names.KENDALL_TAU) == "kendall_tau_averaged"
    assert names.averaged(names.SUPERNET_ACCURACY) == names.SUPERNET_ACCURACY_AVERAGED
    assert [names.best_rank_at(k) for k in RANK_AT_K_FRACTIONS.values()] == [
        names.BEST_RANK_AT_1PCT, names.BEST_RANK_AT_5PCT, names.BEST_RANK_AT_10PCT]
    assert [names.worst_rank_at(k) for k in RANK_AT_K_FRACTIONS.values()] == [
        names.WORST_RANK_AT_1PCT, names.WORST_RANK_AT_5PCT, names.WORST_RANK_AT_10PCT]
    assert names.best_rank_at(names.pct(5), names.space_top_suffix(1)) == "best_rank_at_5pct_space_top1pct"
    assert names.space_top(names.SPEARMAN, 5) == "spearman_space_top5pct"
    assert names.top_sample(1) == "top1pct_sample"
    assert [names.mgcs(label) for label in ("A1", "A3", "A5")] == [names.MGCS_A1, names.MGCS_A3, names.MGCS_A5]


def test_each_name_is_spelled_once():
    plain = {key: value for key, value in CONSTANTS.items() if key not in SUFFIXES}
    assert len(set(plain.values())) == len(plain)


def test_names_imports_nothing():
    tree = ast.parse(Path(names.__file__).read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    # ... and importing it loads none of the heavy packages (bench.metrics loads its functions lazily)
    code = ("import sys, bench.metric_names; "
            "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
