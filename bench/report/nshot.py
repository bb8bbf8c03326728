"""Report tables of split runs (few-shot, GM-NAS): what each setting cost, and which groups GM chose.

The compute of a setting (``bench.nshot``'s budget in ``metrics.json``):
leaves, supernet-epochs and training steps over all sub-supernets, the GM
probe's forward-backward passes, and seconds. The splits come from each
run's ``partition.json`` (:mod:`bench.splitting`).
"""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd

from bench import metric_names as names
from bench.report.results import Results

PARTITION_COLUMN = "heuristics.partition.name"
COMPUTE_METRICS = [names.LEAVES, names.SUPERNET_EPOCHS, names.TRAIN_STEPS, names.GM_PROBE_PASSES,
                   names.TRAIN_SECONDS, names.GM_PROBE_SECONDS, names.SCORE_SECONDS]
TOP_METRICS = [names.space_top(names.SPEARMAN, 1), names.space_top(names.SPEARMAN, 5)]
SHORT_NAMES = {names.KENDALL_TAU: "tau", names.SPARSE_KENDALL_TAU: "sparse tau", names.SPEARMAN: "Spearman",
               TOP_METRICS[0]: "Spearman top 1%", TOP_METRICS[1]: "Spearman top 5%",
               names.SUPERNET_EPOCHS: "supernet-epochs", names.TRAIN_STEPS: "steps",
               names.GM_PROBE_PASSES: "GM passes", names.TRAIN_SECONDS: "train s", names.GM_PROBE_SECONDS: "GM s",
               names.SCORE_SECONDS: "score s"}
"""Column names that fit a printed page."""


def has_splits(results: Results) -> bool:
    runs = results.runs
    return PARTITION_COLUMN in runs.columns and (runs[PARTITION_COLUMN].fillna("one-shot") != "one-shot").any()


def compute_table(results: Results) -> pd.DataFrame:
    """Mean compute per setting (one-shot runs: one leaf, no probe), settings in spec order."""
    runs = results.runs.copy()
    if names.LEAVES in runs.columns:
        runs[names.LEAVES] = runs[names.LEAVES].fillna(1)
    if names.GM_PROBE_PASSES in runs.columns:
        runs[names.GM_PROBE_PASSES] = runs[names.GM_PROBE_PASSES].fillna(0)
    columns = [c for c in COMPUTE_METRICS if c in runs.columns]
    table = runs.groupby(names.SETTING, sort=False)[columns].mean().reindex(results.settings)
    return table.round(1)


def _groups_text(groups) -> str:
    return " | ".join("{" + ", ".join(g) + "}" for g in groups)


def split_choices(results: Results) -> pd.DataFrame:
    """One row per split of every split run: setting, seed, split number, parent, edge, groups, cut cost."""
    rows = []
    for run in results.runs.itertuples():
        path = results.directory / "runs" / run.key / "partition.json"
        if not path.is_file():
            continue
        record = json.loads(path.read_text())
        for i, event in enumerate(record["events"]):
            rows.append({names.SETTING: run.setting, names.SEED: run.seed, "split": i, "epoch": event["epoch"],
                         "edge": event["edge"], "groups": _groups_text(event["groups"]),
                         "cut_cost": event["cost"], "edge_rule": event["edge_rule"], "cut_rule": event["cut_rule"]})
    return pd.DataFrame(rows, columns=[names.SETTING, names.SEED, "split", "epoch", "edge", "groups", "cut_cost",
                                       "edge_rule", "cut_rule"])


def grouping_frequency(choices: pd.DataFrame, setting: str) -> pd.Series:
    """How often each grouping was chosen by ``setting``'s GM splits (all splits, all seeds), most frequent first."""
    part = choices[(choices[names.SETTING] == setting) & (choices["cut_rule"] == "gm")]
    return pd.Series(Counter(part["groups"]), name="splits").sort_values(ascending=False)
