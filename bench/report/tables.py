"""The tables of a report: per-setting summaries, the heuristics overview, the papers' numbers beside ours.

Every comparison is across seeds (:mod:`bench.metrics.uncertainty`): a mean
with a percentile-bootstrap interval per setting, and for a setting against
the grid's baseline, the paired per-seed difference with its interval. With
3 seeds such an interval is a screening flag, not a 95% test (see that
module's caveat); the tables say ``distinguishable`` only where the paired
interval excludes zero, and give beside it the smallest difference the seeds
could have detected (:mod:`bench.metrics.power`).

Tables meant for a printed page go through :func:`printable` (numbers with a
fixed number of decimals, ``n/a`` where a value is undefined, short column
labels explained by :func:`legend`), so that none is wider than an A4 page.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench import metric_names as names
from bench.metrics.power import minimum_detectable_difference, seeds_needed
from bench.metrics.ranking import RANK_AT_K_FRACTIONS
from bench.metrics.uncertainty import paired_difference, seed_summary
from bench.report.paper_numbers import PAPER_VALUES, matches
from bench.report.results import BIAS_METRICS, RANKING_METRICS, Results
from bench.validation import ConfigError

IGNORED_COLUMNS = {names.SEED, "name"}  # differ between runs of one setting, or carry no heuristic
NA = "n/a"  # a value that is undefined (a metric a setting does not measure, an interval of one seed)

# Column labels that fit a printed page, and what each stands for (:func:`legend` explains them under a table).
SHORT_LABELS = {
    names.KENDALL_TAU: "Kendall tau", names.SPARSE_KENDALL_TAU: "sparse tau", names.SPEARMAN: "Spearman",
    names.COMPLEXITY_BIAS: "CB", names.COMPLEXITY_BIAS_MATCHED: "CB-m",
    names.COMPLEXITY_CONVERGENCE_CORRELATION: "C3",
    names.GRAD_STD: "std", names.GRAD_STD_WITHIN_CLUSTERS: "std (MS)", names.GRAD_COS_SUCCESSIVE: "cos",
    names.GRAD_COS_SUCCESSIVE_WITHIN_CLUSTERS: "cos (MS)", names.MGCS_A1: "MGCS n=1", names.MGCS_A3: "MGCS n=3",
    names.MGCS_A5: "MGCS n=5", names.TOP_5PCT_PRECISION: "P@5%", names.TOP_10PCT_PRECISION: "P@10%",
    names.BEST_RANK_AT_1PCT: "BR@1%", names.WORST_RANK_AT_1PCT: "WR@1%", names.BEST_RANK_AT_5PCT: "BR@5%",
    names.WORST_RANK_AT_5PCT: "WR@5%", names.BEST_RANK_AT_10PCT: "BR@10%", names.WORST_RANK_AT_10PCT: "WR@10%",
}
MEANINGS = {
    names.SPARSE_KENDALL_TAU: "sparse Kendall tau",
    names.SPEARMAN: "Spearman rho",
    names.COMPLEXITY_BIAS: "complexity bias among wrongly ordered pairs (0.5 = none)",
    names.COMPLEXITY_BIAS_MATCHED: "CB-matched, among pairs of nearly equal true accuracy (0.5 = none)",
    names.COMPLEXITY_CONVERGENCE_CORRELATION: "complexity-convergence correlation (0 = none)",
    names.GRAD_STD: "gradient std, single stream of steps",
    names.GRAD_STD_WITHIN_CLUSTERS: "gradient std within each MS cluster's stream, mean over clusters",
    names.GRAD_COS_SUCCESSIVE: "cosine of successive gradients, single stream",
    names.GRAD_COS_SUCCESSIVE_WITHIN_CLUSTERS: "cosine of successive gradients within MS clusters",
    names.TOP_5PCT_PRECISION: "top-5% precision", names.TOP_10PCT_PRECISION: "top-10% precision",
}
for _k, _suffix in RANK_AT_K_FRACTIONS.items():
    MEANINGS[names.best_rank_at(_suffix)] = f"best true normalized rank among the supernet's top {_k:.0%} (0 = best)"
    MEANINGS[names.worst_rank_at(_suffix)] = f"worst true normalized rank among the supernet's top {_k:.0%}"


def long_summary(results: Results, metrics: list[str]) -> pd.DataFrame:
    """One row per (setting, metric): mean, sd, bootstrap CI and n across seeds, settings in spec order."""
    rows = []
    for setting in results.settings:
        runs = results.runs[results.runs[names.SETTING] == setting]
        for metric in results.metrics_present(metrics):
            s = seed_summary(pd.to_numeric(runs[metric], errors="coerce").to_numpy(dtype=float))
            if s["n"] == 0:
                continue  # a metric this setting does not measure (MGCS outside MGCS runs)
            rows.append({names.SETTING: setting, "metric": metric,
                         **{k: s[k] for k in ("mean", "std", "ci_low", "ci_high", "n")}})
    return pd.DataFrame(rows, columns=[names.SETTING, "metric", "mean", "std", "ci_low", "ci_high", "n"])


def changes_from_baseline(results: Results, setting: str) -> dict[str, tuple]:
    """Config columns whose value differs between ``setting`` and the baseline: {column: (baseline, setting)}."""
    base = results.runs[results.runs[names.SETTING] == results.baseline].iloc[0]
    other = results.runs[results.runs[names.SETTING] == setting].iloc[0]
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


def heuristics_overview(results: Results, metrics=(names.KENDALL_TAU, names.SPARSE_KENDALL_TAU)) -> pd.DataFrame:
    """Per setting other than the baseline: what changed, its heuristics and sources, and the paired effect.

    Per metric ``m``: ``m_effect`` (mean paired per-seed difference, setting
    minus baseline), ``m_ci_low`` / ``m_ci_high`` (its bootstrap interval),
    ``m_distinguishable`` (the interval excludes 0), ``m_pairs`` (paired
    seeds), ``m_sd`` (sd of the paired differences) and ``m_mde`` (the
    smallest difference detectable at 80% power with that many pairs;
    :func:`bench.metrics.power.minimum_detectable_difference`).
    """
    rows = []
    base = _per_seed(results, results.baseline, list(metrics))
    for setting in results.settings[1:]:
        changes = changes_from_baseline(results, setting)
        found = heuristics_of(changes, results.runs[results.runs[names.SETTING] == setting].iloc[0])
        row = {names.SETTING: setting,
               "changed": "; ".join(f"{c} {_fmt(a)} -> {_fmt(b)}" for c, (a, b) in changes.items()),
               "heuristics": ", ".join(name for name, _ in found) or "-",
               "sources": "; ".join(sorted({src for _, src in found})) or "-",
               "source_list": sorted({src for _, src in found})}
        other = _per_seed(results, setting, list(metrics))
        for metric in metrics:
            if metric not in other or metric not in base:
                continue
            d = paired_difference(base[metric], other[metric])
            row.update({f"{metric}_effect": d["mean"], f"{metric}_ci_low": d["ci_low"],
                        f"{metric}_ci_high": d["ci_high"], f"{metric}_distinguishable": d["distinguishable"],
                        f"{metric}_pairs": d["n"], f"{metric}_sd": d["std"],
                        f"{metric}_mde": minimum_detectable_difference(d["std"], d["n"])})
        rows.append(row)
    return pd.DataFrame(rows)


def power_analysis(results: Results, metric: str = names.KENDALL_TAU, difference: float = 0.05,
                   power: float = 0.80) -> pd.DataFrame:
    """How many paired seeds each comparison with the baseline needs, with this grid as the pilot.

    One row per setting: the paired seeds it has (``pairs``), the observed
    effect, the sd of its paired differences, the smallest difference those
    seeds could detect (``mde``) and the seeds needed to detect ``difference``
    at ``power`` (``seeds_needed``; None where over
    :data:`bench.metrics.power.MAX_SEEDS`, NaN where the pilot has under 2
    pairs). The paired t-test approximation of :mod:`bench.metrics.power`.
    """
    if metric not in results.runs.columns:
        raise ConfigError(f"metric {metric!r} is not in the runs of {results.directory}; allowed: "
                          f"{', '.join(m for m in RANKING_METRICS + BIAS_METRICS if m in results.runs.columns)}")
    overview = heuristics_overview(results, (metric,))
    rows = []
    for _, r in overview.iterrows():
        pairs = int(r.get(f"{metric}_pairs", 0) or 0)
        sd = r.get(f"{metric}_sd", math.nan)
        rows.append({names.SETTING: r[names.SETTING], "pairs": pairs,
                     "effect": r.get(f"{metric}_effect", math.nan),
                     "sd_diff": sd, "mde": minimum_detectable_difference(sd, pairs, power),
                     "seeds_needed": seeds_needed(sd, difference, power) if pairs >= 2 else math.nan})
    return pd.DataFrame(rows, columns=[names.SETTING, "pairs", "effect", "sd_diff", "mde", "seeds_needed"])


def _per_seed(results: Results, setting: str, metrics: list[str]) -> dict[str, dict]:
    runs = results.runs[results.runs[names.SETTING] == setting]
    return {m: dict(zip(runs[names.SEED].astype(int), pd.to_numeric(runs[m], errors="coerce")))
            for m in metrics if m in runs.columns}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def our_scale(results: Results, setting: str) -> str:
    """The scale of a setting's runs, in few words (the papers' is PAPER_SCALE)."""
    r = results.runs[results.runs[names.SETTING] == setting].iloc[0]
    train = r.get("data.train_size")
    images = "all" if train is None or (isinstance(train, float) and math.isnan(train)) else f"{int(train):,}"
    return (f"{r.get('data.dataset')}, C={r.get('supernet.C')}, N={r.get('supernet.N')}, {images} images, "
            f"{r.get('train.epochs')} epochs, {r.get('eval.pool_size')} subnets")


def scales(results: Results) -> pd.DataFrame:
    """The scale of every setting's runs (dataset, width, depth, images, epochs, pool)."""
    return pd.DataFrame({names.SETTING: results.settings,
                         "scale": [our_scale(results, s) for s in results.settings]})


def paper_comparison(results: Results) -> pd.DataFrame:
    """Each value the papers report beside ours for the same setting (settings of this grid that match)."""
    rows = []
    for setting in results.settings:
        first = results.runs[results.runs[names.SETTING] == setting].iloc[0]
        runs = results.runs[results.runs[names.SETTING] == setting]
        for paper in PAPER_VALUES:
            if paper.metric not in runs.columns or not matches(first, paper.match):
                continue
            s = seed_summary(pd.to_numeric(runs[paper.metric], errors="coerce").to_numpy(dtype=float))
            rows.append({names.SETTING: setting, "paper setting": paper.setting, "metric": paper.metric,
                         "paper": paper.value, "ours (mean)": s["mean"], "ours (sd)": s["std"],
                         "ours CI": f"[{s['ci_low']:.3f}, {s['ci_high']:.3f}]", "seeds": s["n"],
                         "source": paper.source})
    return pd.DataFrame(rows)


def overview_for_reading(overview: pd.DataFrame, metrics=(names.KENDALL_TAU, names.SPARSE_KENDALL_TAU)):
    """The overview as two narrow tables for a page, indexed by setting, and the references of the second.

    Returns ``(effects, changes, references)``. Effects: per metric the
    paired effect with its interval, whether it is distinguishable, and the
    smallest difference the seeds could have detected (MDE); then the number
    of paired seeds (:data:`OVERVIEW_LEGEND` explains the columns). Changes:
    the heuristics and config values that differ from the baseline, and
    their sources as numbers into ``references`` (``["[1] Jeon et al., ..."]``).
    """
    if not len(overview):
        return overview, overview, []
    effects = overview[[names.SETTING]].copy()
    for metric in metrics:
        if f"{metric}_effect" not in overview:
            continue
        name = "tau" if metric == names.KENDALL_TAU else metric.replace("_" + names.KENDALL_TAU, " tau")
        effects[f"{name} effect [95% CI]"] = [
            effect_text(e, lo, hi, n, digits=3) for e, lo, hi, n in
            zip(overview[f"{metric}_effect"], overview[f"{metric}_ci_low"], overview[f"{metric}_ci_high"],
                overview[f"{metric}_pairs"])]
        effects[f"{name}: dist."] = [_yes_no(d, n) for d, n in zip(overview[f"{metric}_distinguishable"],
                                                                   overview[f"{metric}_pairs"])]
        effects[f"{name}: MDE"] = [fmt_number(v, 3) for v in overview[f"{metric}_mde"]]
    if f"{names.KENDALL_TAU}_pairs" in overview:
        effects["seeds"] = overview[f"{names.KENDALL_TAU}_pairs"]
    sources = list(dict.fromkeys(src for row in overview.get("source_list", []) for src in row))
    changes = overview[[names.SETTING, "heuristics", "changed"]].copy()
    if sources:  # numbered references, listed under the table: they do not fit a column
        changes["sources"] = [", ".join(f"[{i}]" for i in sorted(sources.index(src) + 1 for src in row)) or "-"
                              for row in overview["source_list"]]
    elif "sources" in overview:
        changes["sources"] = overview["sources"]
    references = [f"[{i + 1}] {src}" for i, src in enumerate(sources)]
    return readable(effects.set_index(names.SETTING)), readable(changes.set_index(names.SETTING)), references


def references_markdown(references: list[str]) -> str:
    """Numbered references as a short Markdown list under a table (their texts hold semicolons of their own)."""
    return "Sources:\n\n" + "\n".join(f"- {r}" for r in references) if references else ""


OVERVIEW_LEGEND = (
    "effect: mean of the paired per-seed differences, setting minus baseline, with its 95% percentile-bootstrap "
    "interval; dist.: distinguishable, the interval excludes zero (n/a with one seed: no interval); MDE: the "
    "smallest difference detectable at 80% power with this many paired seeds (paired t-test, two-sided 5%); "
    "seeds: seeds run by both the setting and the baseline.")


def _yes_no(flag, n) -> str:
    if _missing(n) or int(n) < 2:
        return NA
    return "yes" if bool(flag) else "no"


def fmt_number(value, digits: int = 3) -> str:
    """A number as a table prints it: ``digits`` decimals, integers as such, ``n/a`` for NaN or None."""
    if _missing(value):
        return NA
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return NA
    return f"{number:.{digits}f}"


def signed(value: float, digits: int = 2) -> str:
    """A difference with its sign; values under 10**-digits in size get one more decimal (no "-0.00")."""
    if value is None or math.isnan(value):
        return NA
    places = digits + 1 if 0 < abs(value) < 10 ** -digits else digits
    text = f"{value:+.{places}f}"
    return text.replace("-0." + "0" * places, "+0." + "0" * places)


def effect_text(effect, ci_low, ci_high, n, digits: int = 2) -> str:
    """``+0.05 [+0.01, +0.09]``, or ``+0.05 (1 seed, no interval)``, or ``n/a``."""
    if _missing(effect):
        return NA
    if _missing(n) or int(n) < 2 or math.isnan(ci_low):
        return f"{signed(effect, digits)} (1 seed, no interval)"
    return f"{signed(effect, digits)} [{signed(ci_low, digits)}, {signed(ci_high, digits)}]"


def interval_text(mean, ci_low, ci_high, n, digits: int = 3) -> str:
    """``0.123 [0.100, 0.150]`` (mean and interval over seeds), ``0.123 (1 seed)``, or ``n/a``."""
    if n is None or _missing(mean) or int(n) == 0:
        return NA
    if int(n) < 2:
        return f"{mean:.{digits}f} (1 seed)"
    return f"{mean:.{digits}f} [{ci_low:.{digits}f}, {ci_high:.{digits}f}]"


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Setting labels with a space after each comma, so that a narrow page can wrap them."""
    frame = frame.copy()
    if frame.index.name == names.SETTING:
        frame.index = frame.index.str.replace(r",(?! )", ", ", regex=True)
    if names.SETTING in frame.columns:
        frame[names.SETTING] = frame[names.SETTING].str.replace(r",(?! )", ", ", regex=True)
    return frame


def printable(frame: pd.DataFrame, digits: int = 3, labels: dict | None = None) -> pd.DataFrame:
    """A table as a page prints it: numbers with ``digits`` decimals, ``n/a`` for undefined values (never NaN),
    columns renamed by ``labels`` (default :data:`SHORT_LABELS`), setting labels wrappable, no axis titles
    above the header."""
    labels = SHORT_LABELS if labels is None else labels
    out = frame.copy()
    for column in out.columns:
        out[column] = [fmt_number(v, digits) if not isinstance(v, str) else v for v in out[column]]
    out = out.rename(columns=lambda c: labels.get(c, c))
    out.columns.name = None
    return readable(out)


def legend(columns, labels: dict | None = None) -> str:
    """One line explaining the short labels of ``columns`` (metric names): ``CB-m: complexity_bias_matched, ...``."""
    labels = SHORT_LABELS if labels is None else labels
    parts = []
    for column in columns:
        if column in labels and column in MEANINGS:
            parts.append(f"{labels[column]} = {MEANINGS[column]} (`{column}`)")
    return "; ".join(parts) + "." if parts else ""


def per_setting(results: Results, metrics: list[str]) -> pd.DataFrame:
    """Mean over seeds per setting (rows, spec order) and metric (columns, as given); NaN where not measured."""
    summary = long_summary(results, metrics)
    present = [m for m in metrics if m in set(summary["metric"])]
    if not present:
        return pd.DataFrame()
    table = summary.pivot_table(index=names.SETTING, columns="metric", values="mean", sort=False)
    return table.reindex(index=[s for s in results.settings if s in table.index], columns=present)


def setting_label(setting: str, baseline: str | None) -> str:
    """A setting named by what it changes from the baseline (``momentum_buffers=ms``), or ``baseline``."""
    if baseline is None or setting == baseline:
        return "baseline"
    base = set(baseline.split(","))
    changed = [part for part in setting.split(",") if part not in base]
    return ", ".join(changed) if changed else setting.replace(",", ", ")


def split_columns(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """``frame`` as tables of at most ``size`` columns each (the index repeated), for pages too narrow for all."""
    if frame.shape[1] <= size:
        return [frame]
    return [frame.iloc[:, i:i + size] for i in range(0, frame.shape[1], size)]


def paper_comparison_for_reading(comparison: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The paper comparison as it fits a page: the sources as numbered references, and their list."""
    if not len(comparison):
        return comparison, []
    sources = list(dict.fromkeys(comparison["source"]))
    table = comparison.assign(source=[f"[{sources.index(s) + 1}]" for s in comparison["source"]])
    table = table.rename(columns={"paper setting": "paper's setting", "ours (mean)": "ours", "ours (sd)": "sd",
                                  "ours CI": "95% CI", "source": "ref."})
    return table, [f"[{i + 1}] {s}" for i, s in enumerate(sources)]


# Top of the ranking: what a search that keeps the supernet's best-scored subnets would get.
TOP_OF_RANKING = [names.TOP_5PCT_PRECISION, names.TOP_10PCT_PRECISION] + [
    rank(suffix) for suffix in RANK_AT_K_FRACTIONS.values() for rank in (names.best_rank_at, names.worst_rank_at)]
TOP_LABELS = {names.TOP_5PCT_PRECISION: "top-5% precision", names.TOP_10PCT_PRECISION: "top-10% precision",
              **{m: SHORT_LABELS[m] for m in TOP_OF_RANKING[2:]}}


def top_of_ranking(results: Results, metrics=TOP_OF_RANKING) -> pd.DataFrame:
    """Top-k precision and BR@K / WR@K (Ning et al., NeurIPS 2021) per setting: mean [95% CI] over seeds.

    One row per metric the runs have (metrics absent from the runs table, as
    BR / WR in runs older than them, are left out), one column per setting in
    spec order. BR@K (WR@K): the best (worst) true normalized rank, 0 = the
    pool's best subnet, among the K% subnets the supernet scores highest;
    lower is better. Top-k precision: the fraction of the supernet's top k%
    that is in the true top k%; higher is better.
    """
    present = results.metrics_present(list(metrics))
    if not present or not len(results.runs):
        return pd.DataFrame()
    summary = long_summary(results, present)
    table = pd.DataFrame(index=[TOP_LABELS.get(m, m) for m in present],
                         columns=[s.replace(",", ", ") for s in results.settings], dtype=object)
    for row in summary.itertuples():
        table.loc[TOP_LABELS.get(row.metric, row.metric), row.setting.replace(",", ", ")] = interval_text(
            row.mean, row.ci_low, row.ci_high, row.n)
    return table.fillna(NA)


def top_of_ranking_caption(table: pd.DataFrame) -> str:
    """What the rows of :func:`top_of_ranking` mean for a search, for the rows the table has."""
    parts = []
    if any(str(i).startswith("top-") for i in table.index):
        parts.append("top-k precision: the fraction of the supernet's top k% that is in the true top k% "
                     "(higher is better)")
    ks = [k for k in (1, 5, 10) if f"BR@{k}%" in table.index]
    if ks:
        k = 5 if 5 in ks else ks[0]
        parts.append(f"BR@{k}%: how close to the best subnet of the pool a search that keeps the supernet's top "
                     f"{k}% would get (0 = it keeps the best; 0.1 = its best is beaten by 10% of the pool); "
                     f"WR@{k}%: how bad the worst subnet it keeps can be; lower is better for both "
                     "(Ning et al., NeurIPS 2021)")
    if not parts:
        return ""
    return "; ".join(parts) + ". Each cell: mean over seeds [95% bootstrap interval]."
