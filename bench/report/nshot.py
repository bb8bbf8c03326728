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

from bench.report.results import Results

PARTITION_COLUMN = "heuristics.partition.name"
COMPUTE_METRICS = ["leaves", "supernet_epochs", "train_steps", "gm_probe_passes", "train_seconds",
                   "gm_probe_seconds", "score_seconds"]
TOP_METRICS = ["spearman_space_top1pct", "spearman_space_top5pct"]
SHORT_NAMES = {"kendall_tau": "tau", "sparse_kendall_tau": "sparse tau", "spearman": "Spearman",
               "spearman_space_top1pct": "Spearman top 1%", "spearman_space_top5pct": "Spearman top 5%",
               "supernet_epochs": "supernet-epochs", "train_steps": "steps", "gm_probe_passes": "GM passes",
               "train_seconds": "train s", "gm_probe_seconds": "GM s", "score_seconds": "score s"}
"""Column names that fit a printed page."""


def has_splits(results: Results) -> bool:
    runs = results.runs
    return PARTITION_COLUMN in runs.columns and (runs[PARTITION_COLUMN].fillna("one-shot") != "one-shot").any()


def compute_table(results: Results) -> pd.DataFrame:
    """Mean compute per setting (one-shot runs: one leaf, no probe), settings in spec order."""
    runs = results.runs.copy()
    if "leaves" in runs.columns:
        runs["leaves"] = runs["leaves"].fillna(1)
    if "gm_probe_passes" in runs.columns:
        runs["gm_probe_passes"] = runs["gm_probe_passes"].fillna(0)
    columns = [c for c in COMPUTE_METRICS if c in runs.columns]
    table = runs.groupby("setting", sort=False)[columns].mean().reindex(results.settings)
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
            rows.append({"setting": run.setting, "seed": run.seed, "split": i, "epoch": event["epoch"],
                         "edge": event["edge"], "groups": _groups_text(event["groups"]),
                         "cut_cost": event["cost"], "edge_rule": event["edge_rule"], "cut_rule": event["cut_rule"]})
    return pd.DataFrame(rows, columns=["setting", "seed", "split", "epoch", "edge", "groups", "cut_cost",
                                       "edge_rule", "cut_rule"])


def grouping_frequency(choices: pd.DataFrame, setting: str) -> pd.Series:
    """How often each grouping was chosen by ``setting``'s GM splits (all splits, all seeds), most frequent first."""
    part = choices[(choices["setting"] == setting) & (choices["cut_rule"] == "gm")]
    return pd.Series(Counter(part["groups"]), name="splits").sort_values(ascending=False)
