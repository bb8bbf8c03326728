"""The tables of a report: per-setting summaries, the heuristics overview, the papers' numbers beside ours.

Every comparison is across seeds (:mod:`bench.metrics.uncertainty`): a mean
with a percentile-bootstrap interval per setting, and for a setting against
the grid's baseline, the paired per-seed difference with its interval. With
3 seeds such an interval is a screening flag, not a 95% test (see that
module's caveat); the tables say ``distinguishable`` only where the paired
interval excludes zero.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.metrics.uncertainty import paired_difference, seed_summary
from bench.report.paper_numbers import PAPER_VALUES, matches
from bench.report.results import Results
from bench.validation import ConfigError

IGNORED_COLUMNS = {"seed", "name"}  # differ between runs of one setting, or carry no heuristic


def long_summary(results: Results, metrics: list[str]) -> pd.DataFrame:
    """One row per (setting, metric): mean, sd, bootstrap CI and n across seeds, settings in spec order."""
    rows = []
    for setting in results.settings:
        runs = results.runs[results.runs["setting"] == setting]
        for metric in results.metrics_present(metrics):
            s = seed_summary(pd.to_numeric(runs[metric], errors="coerce").to_numpy(dtype=float))
            if s["n"] == 0:
                continue  # a metric this setting does not measure (MGCS outside MGCS runs)
            rows.append({"setting": setting, "metric": metric, **{k: s[k] for k in ("mean", "std", "ci_low",
                                                                                   "ci_high", "n")}})
    return pd.DataFrame(rows, columns=["setting", "metric", "mean", "std", "ci_low", "ci_high", "n"])


def changes_from_baseline(results: Results, setting: str) -> dict[str, tuple]:
    """Config columns whose value differs between ``setting`` and the baseline: {column: (baseline, setting)}."""
    base = results.runs[results.runs["setting"] == results.baseline].iloc[0]
    other = results.runs[results.runs["setting"] == setting].iloc[0]
    changed = {}
    for column in results.runs.columns:
        if "." not in column or column in IGNORED_COLUMNS:
            continue
        a, b = base.get(column), other.get(column)
        if _same(a, b) or (column.startswith("heuristics.") and (_missing(a) or _missing(b))):
            continue  # a parameter of a heuristic only one side chose: the change of its name says it
        changed[column] = (a, b)
    return changed


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _same(a, b) -> bool:
    return (_missing(a) and _missing(b)) or (not _missing(a) and not _missing(b) and a == b)


def heuristics_of(changes: dict[str, tuple], row) -> list[tuple[str, str]]:
    """The registered heuristics behind config changes: [(name, source)], each once.

    ``row`` is a run of the changed setting (its flattened config): a changed
    parameter (``heuristics.lr_schedule.g``) belongs to the choice the row has.
    """
    from bench.heuristics import registry

    knobs = {h.config_key: h for h in registry.all_heuristics() if h.config_key}
    found: dict[str, str] = {}
    for column in changes:
        parts = column.split(".")
        if parts[0] == "heuristics" and len(parts) >= 3:
            slot = parts[1]
            name = str(row.get(f"heuristics.{slot}.name"))
            try:
                h = registry.get(slot, name)
                found[f"{slot}={h.name}"] = h.source
            except ConfigError:  # a choice no longer registered: name it as the table has it
                found[f"{slot}={name}"] = "not registered"
        elif column in knobs:
            found[knobs[column].name] = knobs[column].source
    return list(found.items())


def heuristics_overview(results: Results, metrics=("kendall_tau", "sparse_kendall_tau")) -> pd.DataFrame:
    """Per setting other than the baseline: what changed, its heuristics and sources, and the paired effect."""
    rows = []
    base = _per_seed(results, results.baseline, list(metrics))
    for setting in results.settings[1:]:
        changes = changes_from_baseline(results, setting)
        found = heuristics_of(changes, results.runs[results.runs["setting"] == setting].iloc[0])
        row = {"setting": setting,
               "changed": "; ".join(f"{c} {_fmt(a)} -> {_fmt(b)}" for c, (a, b) in changes.items()),
               "heuristics": ", ".join(name for name, _ in found) or "-",
               "sources": "; ".join(sorted({src for _, src in found})) or "-"}
        other = _per_seed(results, setting, list(metrics))
        for metric in metrics:
            if metric not in other or metric not in base:
                continue
            d = paired_difference(base[metric], other[metric])
            row.update({f"{metric}_effect": d["mean"], f"{metric}_ci_low": d["ci_low"],
                        f"{metric}_ci_high": d["ci_high"], f"{metric}_distinguishable": d["distinguishable"],
                        f"{metric}_pairs": d["n"]})
        rows.append(row)
    return pd.DataFrame(rows)


def _per_seed(results: Results, setting: str, metrics: list[str]) -> dict[str, dict]:
    runs = results.runs[results.runs["setting"] == setting]
    return {m: dict(zip(runs["seed"].astype(int), pd.to_numeric(runs[m], errors="coerce")))
            for m in metrics if m in runs.columns}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def our_scale(results: Results, setting: str) -> str:
    """The scale of a setting's runs, in few words (the papers' is PAPER_SCALE)."""
    r = results.runs[results.runs["setting"] == setting].iloc[0]
    train = r.get("data.train_size")
    images = "all" if train is None or (isinstance(train, float) and math.isnan(train)) else f"{int(train):,}"
    return (f"{r.get('data.dataset')}, C={r.get('supernet.C')}, N={r.get('supernet.N')}, {images} images, "
            f"{r.get('train.epochs')} epochs, {r.get('eval.pool_size')} subnets")


def scales(results: Results) -> pd.DataFrame:
    """The scale of every setting's runs (dataset, width, depth, images, epochs, pool)."""
    return pd.DataFrame({"setting": results.settings, "scale": [our_scale(results, s) for s in results.settings]})


def paper_comparison(results: Results) -> pd.DataFrame:
    """Each value the papers report beside ours for the same setting (settings of this grid that match)."""
    rows = []
    for setting in results.settings:
        first = results.runs[results.runs["setting"] == setting].iloc[0]
        runs = results.runs[results.runs["setting"] == setting]
        for paper in PAPER_VALUES:
            if paper.metric not in runs.columns or not matches(first, paper.match):
                continue
            s = seed_summary(pd.to_numeric(runs[paper.metric], errors="coerce").to_numpy(dtype=float))
            rows.append({"setting": setting, "paper setting": paper.setting, "metric": paper.metric,
                         "paper": paper.value, "ours (mean)": s["mean"], "ours (sd)": s["std"],
                         "ours CI": f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]", "seeds": s["n"],
                         "source": paper.source})
    return pd.DataFrame(rows)


def overview_for_reading(overview: pd.DataFrame, metrics=("kendall_tau", "sparse_kendall_tau")):
    """The overview as two narrow tables for a page: (effects, what changed and sources)."""
    if not len(overview):
        return overview, overview
    effects = overview[["setting", "heuristics"]].copy()
    for metric in metrics:
        if f"{metric}_effect" not in overview:
            continue
        name = "tau" if metric == "kendall_tau" else metric.replace("_kendall_tau", " tau")
        effects[f"effect on {name} [95% CI]"] = [
            f"{e:+.3f} [{lo:+.3f}, {hi:+.3f}]" for e, lo, hi in
            zip(overview[f"{metric}_effect"], overview[f"{metric}_ci_low"], overview[f"{metric}_ci_high"])]
        effects[f"{name}: distinguishable"] = overview[f"{metric}_distinguishable"].map({True: "yes", False: "no"})
    effects["paired seeds"] = overview.get("kendall_tau_pairs")
    return effects.set_index("setting"), overview[["setting", "changed", "sources"]].set_index("setting")


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Setting labels with a space after each comma, so that a narrow page can wrap them."""
    frame = frame.copy()
    if frame.index.name == "setting":
        frame.index = frame.index.str.replace(",", ", ")
    if "setting" in frame.columns:
        frame["setting"] = frame["setting"].str.replace(",", ", ")
    return frame
