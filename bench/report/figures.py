"""The figures of a report, each a function of a grid's :class:`~bench.report.results.Results`.

Each returns a matplotlib Figure, or None when the grid holds nothing to draw
(the notebooks then leave the section out and say why). Settings are listed
in the spec's order; the baseline (the spec's first setting) is drawn in
black and marked by a dashed line where a figure compares settings.

Every figure is made for an A4 page: at most :data:`PAGE_WIDTH_IN` wide,
drawn with :data:`PRINT_STYLE` (no text under 7.5 pt), and shown by
:func:`show` at its physical size, so the fonts print at the size they were
drawn (:func:`smallest_printed_font` checks it).
"""

from __future__ import annotations

import functools
import io
import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench.report.results import Results
from bench.report.tables import long_summary

LABELS = {
    "kendall_tau": "Kendall tau", "sparse_kendall_tau": "sparse Kendall tau", "spearman": "Spearman rho",
    "complexity_bias": "CB", "complexity_bias_matched": "CB-matched",
    "complexity_convergence_correlation": "C3", "grad_std": "gradient std (single stream)",
    "grad_std_within_clusters": "gradient std (within MS clusters)",
    "grad_cos_successive": "successive gradient cosine", "mgcs_A1": "MGCS n=1", "mgcs_A3": "MGCS n=3",
    "mgcs_A5": "MGCS n=5",
}
# Where "no effect" lies for each bias metric (docs/metrics.md#complexity-bias-cb and the sections after it).
NEUTRAL = {"complexity_bias": 0.5, "complexity_bias_matched": 0.5, "complexity_convergence_correlation": 0.0}

PAGE_WIDTH_IN = 7.2  # A4 less the report's 12 mm margins (7.32 in), less a little for the output area
MIN_PRINTED_PT = 7.0  # the smallest font a printed figure may have
DPI = 200  # of the embedded PNG; it is shown at its size in inches, whatever the resolution
PRINT_STYLE = {
    "font.size": 8.5, "axes.titlesize": 8.5, "axes.labelsize": 8.5, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 7.5, "legend.title_fontsize": 7.5, "figure.titlesize": 9, "figure.dpi": 100,
}


def printable(function):
    """Draw the figure of ``function`` with :data:`PRINT_STYLE` (the notebook's own style does not leak in)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with plt.rc_context(PRINT_STYLE):
            return function(*args, **kwargs)
    return wrapper


def show(fig, missing: str | None = None, caption: str | None = None) -> None:
    """In a notebook: display ``fig`` at its printed size, then its caption (one line of what to look for).

    Without a figure: leave the whole section out of the report, saying
    ``missing`` instead (:func:`bench.report.render.omit_section`); with no
    ``missing`` either, show nothing.
    """
    from IPython.display import Image, Markdown, display

    from bench.report.render import omit_section

    if fig is None:
        if missing:
            omit_section(missing)
        return
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")  # the PNG header's width, in pixels
    # CSS pixels are 1/96 in: the figure's inches on screen and on paper, at any resolution.
    display(Image(data=data, format="png", width=round(width * 96 / DPI)))
    if caption:
        display(Markdown(f"*{caption}*"))


def smallest_printed_font(fig) -> float:
    """The smallest font (pt) among the visible texts of ``fig`` as the PDF prints it (shrunk to the page width)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width = fig.get_tightbbox(renderer).width  # inches: what bbox_inches="tight" keeps
    scale = min(1.0, PAGE_WIDTH_IN / width)
    sizes = [t.get_fontsize() for t in fig.findobj(plt.Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * scale if sizes else math.inf


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("_", " "))


def _short(setting: str, baseline: str | None) -> str:
    text = setting.replace(",", ", ")
    return f"{text} (baseline)" if setting == baseline else text


def _wrapped(setting: str, baseline: str | None, width: int = 26) -> str:
    return "\n".join(textwrap.wrap(_short(setting, baseline), width, break_on_hyphens=False))


def _legend_below(fig, handles, labels, ncol: int = 2) -> None:
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, 0.0))


@printable
def paired_effects(effects: pd.DataFrame, baseline: str | None, metric_label: str = "Kendall tau"):
    """Each setting's paired effect against the baseline (:func:`bench.report.summary.paired_effects`).

    Point: mean paired difference, filled where distinguishable; bar: its 95%
    interval; grey band: +-MDE, the differences the seeds could not have
    detected at 80% power; the MDE is written at the right of each row.
    """
    if effects is None or not len(effects):
        return None
    rows = list(effects.itertuples())
    fig, ax = plt.subplots(figsize=(6.8, 0.42 * len(rows) + 1.5))
    for i, row in enumerate(rows):
        if not math.isnan(row.mde):
            ax.add_patch(plt.Rectangle((-row.mde, i - 0.3), 2 * row.mde, 0.6, color="0.85", lw=0, zorder=0))
        paired = row.n >= 2 and not math.isnan(row.ci_low)
        err = [[row.effect - row.ci_low], [row.ci_high - row.effect]] if paired else None
        filled = bool(row.distinguishable)
        ax.errorbar(row.effect, i, xerr=err, fmt="o", color="tab:blue", capsize=3, ms=6,
                    mfc="tab:blue" if filled else "white", zorder=3)
        note = f"MDE {row.mde:.2f}, {int(row.n)} seeds" if paired and not math.isnan(row.mde) else "1 seed: no interval"
        ax.annotate(note, xy=(1.01, i), xycoords=("axes fraction", "data"), va="center", fontsize=7.5)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), ["\n".join(textwrap.wrap(r.label, 28)) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(f"effect on {metric_label}: setting minus {(baseline or 'baseline').replace(',', ', ')}, "
                  "paired by seed")
    ax.grid(axis="x", alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color="tab:blue", label="distinguishable (interval excludes 0)"),
               plt.Line2D([], [], marker="o", ls="", color="tab:blue", mfc="white", label="not distinguishable"),
               plt.Rectangle((0, 0), 1, 1, color="0.85", label="+-MDE: not detectable at 80% power")]
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    _legend_below(fig, handles, [h.get_label() for h in handles], ncol=3)
    return fig


@printable
def metric_by_setting(results: Results, metrics: list[str]):
    """Mean and bootstrap CI across seeds per setting (one panel per metric), each seed as a small dot."""
    metrics = results.metrics_present(metrics)
    if not metrics or not len(results.runs):
        return None
    summary = long_summary(results, metrics)
    settings = results.settings
    panel = min(2.4, (PAGE_WIDTH_IN - 1.7) / len(metrics))
    fig, axes = plt.subplots(1, len(metrics), figsize=(1.7 + panel * len(metrics), 0.5 * len(settings) + 1.5),
                             sharey=True, squeeze=False)
    y = {s: i for i, s in enumerate(settings)}
    for ax, metric in zip(axes[0], metrics):
        part = summary[summary["metric"] == metric]
        for row in part.itertuples():
            colour = "black" if row.setting == results.baseline else "tab:blue"
            err = [[row.mean - row.ci_low], [row.ci_high - row.mean]] if row.n >= 2 else None
            ax.errorbar(row.mean, y[row.setting], xerr=err, fmt="o", color=colour, capsize=3,
                        label="mean [95% CI]" if row.setting == results.baseline else None)
        runs = results.runs
        ax.scatter(pd.to_numeric(runs[metric], errors="coerce"), runs["setting"].map(y) + 0.2, s=9,
                   color="grey", alpha=0.7, label="one seed")
        base = part[part["setting"] == results.baseline]
        if len(base):
            ax.axvline(base["mean"].iloc[0], color="black", ls="--", lw=0.8, label="baseline mean")
        if metric in NEUTRAL:
            ax.axvline(NEUTRAL[metric], color="tab:red", ls=":", lw=0.8, label="no bias")
        ax.set_xlabel(label(metric))
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0][0].set_yticks(range(len(settings)), [_wrapped(s, results.baseline) for s in settings])
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    _legend_below(fig, handles, labels, ncol=len(labels))
    return fig


@printable
def ranking_over_epochs(results: Results):
    """Kendall tau of the tracking pool against epochs (eval.track_every), mean over seeds with its range."""
    h = results.history
    if "kendall_tau" not in h.columns or h["kendall_tau"].notna().sum() == 0:
        return None
    h = h[h["kendall_tau"].notna()]
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN - 0.2, 3.3), sharex=True)
    for ax, metric in zip(axes, ["kendall_tau", "sparse_kendall_tau"]):
        for setting in results.settings:
            part = h[h["setting"] == setting].groupby("epoch")[metric]
            if not len(part):
                continue
            mean, lo, hi = part.mean(), part.min(), part.max()
            style = {"color": "black", "lw": 2} if setting == results.baseline else {}
            line, = ax.plot(mean.index, mean.values, marker="o", ms=3, label=_short(setting, results.baseline),
                            **style)
            ax.fill_between(mean.index, lo.values, hi.values, alpha=0.12, color=line.get_color())
        ax.set_xlabel("epoch")
        ax.set_ylabel(label(metric))
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    rows = math.ceil(len(labels) / 2)
    fig.tight_layout(rect=(0, 0.07 * rows, 1, 1))
    _legend_below(fig, handles, labels)
    return fig


@printable
def training_loss(results: Results):
    """Training loss per epoch, mean over seeds per setting."""
    h = results.history
    if "loss" not in h.columns or not len(h):
        return None
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN - 0.2, 3.2))
    for setting in results.settings:
        part = h[h["setting"] == setting].groupby("epoch")["loss"].mean()
        if len(part):
            style = {"color": "black", "lw": 2} if setting == results.baseline else {"lw": 1.2}
            ax.plot(part.index, part.values, label=_short(setting, results.baseline), **style)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (sampled subnets)")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    rows = math.ceil(len(labels) / 2)
    fig.tight_layout(rect=(0, 0.07 * rows, 1, 1))
    _legend_below(fig, handles, labels)
    return fig


def chosen_runs(results: Results, metric: str = "kendall_tau") -> list[str]:
    """Run keys for the score-vs-truth plots: the baseline and the best setting by mean ``metric``, lowest seed."""
    runs = results.runs
    if not len(runs) or metric not in runs.columns:
        return []
    best = runs.groupby("setting")[metric].mean().idxmax()
    keys = []
    for setting in dict.fromkeys([results.baseline, best]):
        part = runs[runs["setting"] == setting].sort_values("seed")
        keys.append(part["key"].iloc[0])
    return keys


def chosen_runs_text(results: Results, keys: list[str], metric: str = "kendall_tau") -> str:
    """Which runs the score-vs-truth figure shows, and why one only where it shows one."""
    runs = results.runs[results.runs["key"].isin(keys)]
    if not len(runs):
        return ""
    if len(runs) == 1:
        run = runs.iloc[0]
        why = ("the baseline also has the best mean Kendall tau, so this is one run of it"
               if run["setting"] == results.baseline else "one run")
        return f"One panel: {why} ({_short(run['setting'], None)}, seed {run['seed']})."
    best = runs[runs["setting"] != results.baseline].iloc[0]
    return (f"Two panels: the baseline, and {_short(best['setting'], None)}, the setting with the best mean "
            f"{label(metric)}; the lowest seed of each.")


@printable
def scores_vs_truth(results: Results, keys: list[str]):
    """Supernet accuracy against ground truth per chosen run, coloured by the subnet's parameter count."""
    scores = results.scores
    keys = [k for k in keys if k in set(scores["key"])]
    if not keys:
        return None
    width = 3.5 if len(keys) > 1 else 4.4
    fig, axes = plt.subplots(1, len(keys), figsize=(width * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        part = scores[scores["key"] == key]
        run = results.runs[results.runs["key"] == key].iloc[0]
        points = ax.scatter(part["ground_truth"], part["supernet_accuracy"], c=np.log10(part["params"]),
                            cmap="viridis", s=12)
        # A ground truth that is not training results (NAS-Bench-301's surrogate) says so on the axis.
        truth = run.get("ground_truth_label")
        text = f"ground truth: {truth} (%)" if isinstance(truth, str) and truth else "ground-truth accuracy (%)"
        ax.set_xlabel("\n".join(textwrap.wrap(text, 44)))
        ax.set_ylabel("supernet accuracy (%)")
        ax.set_title("\n".join(textwrap.wrap(f"{_short(run['setting'], results.baseline)}, seed {run['seed']}", 44))
                     + f"\ntau {run['kendall_tau']:.3f}, CB {run.get('complexity_bias', np.nan):.2f}, "
                     f"C3 {run.get('complexity_convergence_correlation', np.nan):.2f}")
        ax.grid(alpha=0.3)
        fig.colorbar(points, ax=ax, label="log10 parameters")
    fig.tight_layout()
    return fig


@printable
def gradient_std_over_training(results: Results):
    """Windowed gradient std over training, one panel per setting: the single stream (solid) and the mean over
    MS clusters' own streams (dashed), on a shared log scale."""
    g = results.run_table("gradient_stats.csv")
    if not len(g):
        return None
    g = g.assign(kind=np.where(g["stream"] == "single", "single stream", "within MS clusters"))
    settings = [s for s in results.settings if s in set(g["setting"])]
    ncols = 2 if len(settings) <= 4 else 3
    nrows = math.ceil(len(settings) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(PAGE_WIDTH_IN - 0.2, 2.0 * nrows + 0.5), sharex=True,
                             sharey=True, squeeze=False)
    for ax, setting in zip(axes.flat, settings):
        for kind, style in (("single stream", "-"), ("within MS clusters", "--")):
            part = g[(g["setting"] == setting) & (g["kind"] == kind)]
            if not len(part):
                continue
            per_epoch = part.groupby("epoch")["grad_std"].mean()
            ax.plot(per_epoch.index, per_epoch.values, ls=style, lw=1.2,
                    color="black" if kind == "single stream" else "tab:orange", label=kind)
        ax.set_title("\n".join(textwrap.wrap(_short(setting, results.baseline), 40)))
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("gradient std")
    handles = [plt.Line2D([], [], color="black", label="single stream")]
    if (g["kind"] == "within MS clusters").any():
        handles.append(plt.Line2D([], [], color="tab:orange", ls="--", label="within MS clusters (mean over clusters)"))
    fig.tight_layout(rect=(0, 0.4 / (2.0 * nrows + 0.5), 1, 1))
    _legend_below(fig, handles, [h.get_label() for h in handles])
    return fig


@printable
def gm_heatmaps(results: Results):
    """Gradient-matching score matrices (last probed epoch, mean over seeds), one per setting that has them."""
    gm = results.run_table("gm_scores.csv")
    if not len(gm):
        return None
    last = gm[gm["epoch"] == gm.groupby("key")["epoch"].transform("max")]
    settings = [s for s in results.settings if s in set(last["setting"])]
    ncols = min(2, len(settings))
    nrows = math.ceil(len(settings) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.5 * ncols, 3.3 * nrows), squeeze=False)
    for ax, setting in zip(axes.flat, settings):
        m = last[last["setting"] == setting].pivot_table(index="op_a", columns="op_b", values="score", aggfunc="mean",
                                                         sort=False)
        image = ax.imshow(m.values, cmap="magma", vmin=-1, vmax=1)
        ax.set_xticks(range(len(m.columns)), m.columns, rotation=45, ha="right")
        ax.set_yticks(range(len(m.index)), m.index)
        for (i, j), v in np.ndenumerate(m.values):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7.5,
                    color="white" if v < 0.3 else "black")
        ax.set_title("\n".join(textwrap.wrap(_short(setting, results.baseline), 36)))
        fig.colorbar(image, ax=ax, fraction=0.046)
    for ax in axes.flat[len(settings):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig

