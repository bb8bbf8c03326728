"""The first page of a report: the grid's answer in a few sentences, generated from its results.

The answer is each setting's paired effect on Kendall tau against the grid's
baseline setting (:func:`bench.report.tables.heuristics_overview`: per-seed
differences, their mean and percentile-bootstrap interval), and beside it what
the seeds could have detected at all: the minimum detectable difference at 80%
power of a paired t-test (:func:`bench.metrics.power.minimum_detectable_difference`).
Every sentence is built from those numbers; none is written by hand.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.report import tables
from bench import metric_names as names
from bench.metrics.power import minimum_detectable_difference
from bench.report.results import Results

EFFECT_COLUMNS = [names.SETTING, "label", "effect", "ci_low", "ci_high", "distinguishable", "n", "sd", "mde",
                  "reaches_mde"]


def paired_effects(results: Results, metric: str = names.KENDALL_TAU) -> pd.DataFrame:
    """One row per setting other than the baseline: its paired effect on ``metric`` and what the seeds could detect.

    Columns: ``setting``; ``label`` (what it changes from the baseline);
    ``effect``, ``ci_low``, ``ci_high``, ``distinguishable``, ``n`` (paired
    seeds), ``sd`` (of the paired differences), as the heuristics overview
    computes them; ``mde`` (NaN for one seed) and ``reaches_mde`` (the observed
    effect is at least as large as the MDE).
    """
    overview = tables.heuristics_overview(results, metrics=(metric,))
    if not len(overview) or f"{metric}_effect" not in overview:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    effects = pd.DataFrame({
        names.SETTING: overview[names.SETTING],
        "label": [tables.setting_label(s, results.baseline) for s in overview[names.SETTING]],
        "effect": overview[f"{metric}_effect"], "ci_low": overview[f"{metric}_ci_low"],
        "ci_high": overview[f"{metric}_ci_high"], "distinguishable": overview[f"{metric}_distinguishable"],
        "n": overview[f"{metric}_pairs"], "sd": overview[f"{metric}_sd"], "mde": overview[f"{metric}_mde"]})
    effects["reaches_mde"] = [bool(not math.isnan(m) and abs(e) >= m) for e, m in zip(effects["effect"],
                                                                                      effects["mde"])]
    return effects.reset_index(drop=True)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _mde_text(value: float) -> str:
    return f"{value:.2f}" if value >= 0.01 or value == 0 else f"{value:.3f}"


def _spread_text(values, metric_label: str) -> str:
    """" Over its n seeds, <metric> is mean ± sd (min to max).", or "" without values."""
    if values is None:
        return ""
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    if not len(v):
        return ""
    if len(v) == 1:
        return f" With its one seed, {metric_label} is {v.iloc[0]:.3f}."
    return (f" Over its {len(v)} seeds, {metric_label} is {v.mean():.3f} ± {v.std(ddof=1):.3f} (sd; "
            f"{v.min():.3f} to {v.max():.3f}).")


def first_page_sentences(effects: pd.DataFrame, baseline: str | None, metric_label: str = "Kendall tau",
                         power: float = 0.80, baseline_values=None) -> list[str]:
    """The grid's answer in a few sentences, from :func:`paired_effects` (or a frame with its columns).

    ``effects`` needs ``label`` (or ``setting``), ``effect``, ``ci_low``,
    ``ci_high``, ``distinguishable``, ``n`` and ``sd``; ``mde`` is computed
    from ``sd`` and ``n`` where the frame lacks it. Handles a grid of one
    setting, comparisons of one seed (no interval, no MDE) and of two (whose
    bootstrap interval is just the range of the two differences).
    """
    base = (baseline or "the baseline").replace(",", ", ")
    if effects is None or not len(effects):
        return [f"This grid has a single setting ({base}): there is no other setting to compare it with, so it "
                f"has no effect on {metric_label} to report; its {metric_label} per seed is in the ranking section."
                + _spread_text(baseline_values, metric_label)]
    effects = effects.copy()
    if "label" not in effects:
        effects["label"] = [tables.setting_label(s, baseline) for s in effects[names.SETTING]]
    if "mde" not in effects:
        effects["mde"] = [minimum_detectable_difference(sd, n, power) for sd, n in zip(effects["sd"], effects["n"])]
    effects["n"] = effects["n"].fillna(0).astype(int)
    paired = effects[effects["n"] >= 2]
    single = effects[effects["n"] < 2]
    k = len(effects)
    sentences = []
    opening = f"Of {_count(k, 'setting')} compared with {base}, "
    if not len(paired):
        seeds = "one seed" if (single["n"] == 1).all() else "at most one paired seed"
        sentences.append(
            opening + f"none can be called distinguishable: with {seeds} per setting there is no interval, "
            f"only a single difference in {metric_label}: "
            + _listing([f"{r.label} {tables.signed(r.effect)}" for r in single.itertuples()]) + ".")
        sentences.append("No detectable difference can be computed from one seed either: a grid needs at least 2 "
                         "seeds (3 or more to be useful) to separate an effect from seed noise.")
        return sentences
    distinguishable = paired[paired["distinguishable"].astype(bool)]
    if len(distinguishable):
        verb = "changes" if len(distinguishable) == 1 else "change"
        sentences.append(opening + f"{len(distinguishable)} {verb} {metric_label} distinguishably: " + _listing(
            [f"{r.label} ({tables.effect_text(r.effect, r.ci_low, r.ci_high, r.n)})"
             for r in distinguishable.itertuples()]) + ".")
    else:
        scope = "every" if len(paired) > 1 else "the"
        sentences.append(opening + f"none changes {metric_label} distinguishably ({scope} paired 95% interval "
                         "includes zero).")
    if len(single):
        sentences.append("With one paired seed, " + _listing(
            [f"{r.label} ({tables.signed(r.effect)})" for r in single.itertuples()])
            + " " + ("has" if len(single) == 1 else "have") + " no interval.")
    ns = sorted(set(paired["n"]))
    if len(paired) == 1:
        r = paired.iloc[0]
        mdes = _mde_text(r["mde"])
    elif len(ns) == 1:
        mdes = _listing([f"{_mde_text(r.mde)} ({r.label})" for r in paired.itertuples()])
    else:
        mdes = _listing([f"{_mde_text(r.mde)} ({r.label}, {r.n} seeds)" for r in paired.itertuples()])
    seeds = f"With {_count(ns[0], 'paired seed')}, " if len(ns) == 1 else "With the paired seeds available, "
    sentences.append(seeds + f"differences smaller than {mdes} could not have been detected "
                     f"({power:.0%} power, paired t-test).")
    reaching = paired[paired["reaches_mde"].astype(bool)] if "reaches_mde" in paired else paired[
        [abs(e) >= m for e, m in zip(paired["effect"], paired["mde"])]]
    if not len(reaching):
        sentences.append("No observed effect is as large as that: effects of the size seen here would need more "
                         "seeds to be told apart from seed noise.")
    elif len(reaching) < len(paired):
        sentences.append("Observed effects at least that large: " + _listing(
            [f"{r.label} ({tables.signed(r.effect)})" for r in reaching.itertuples()]) + ".")
    else:
        sentences.append("Every observed effect is at least that large.")
    if 2 in ns:
        sentences.append("With 2 seeds the bootstrap interval is the range of the two per-seed differences: "
                         "distinguishable only means both seeds moved the same way.")
    elif min(ns) <= 3:
        sentences.append("With 3 seeds the bootstrap interval covers about 75% of the time, not 95%: read "
                         "distinguishable as a screening flag.")
    return sentences


FIGURE_CAPTION = (
    "What to look for: a point and its 95% interval clear of zero (filled: distinguishable) and outside the grey "
    "band; inside the band an effect is smaller than the seeds could detect at 80% power.")
