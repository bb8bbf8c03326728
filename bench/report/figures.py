"""The figures of a report, each a function of a grid's :class:`~bench.report.results.Results`.

Each returns a matplotlib Figure, or None when the grid holds nothing to draw
(the notebooks then leave the section out and say why). Settings are listed
in the spec's order; the baseline (the spec's first setting) is drawn in
black and marked by a dashed line where a figure compares settings.

Every figure is made for an A4 page: at most :data:`PAGE_WIDTH_IN` wide,
drawn with :data:`PRINT_STYLE` (no text under 7.5 pt), and shown by
:func:`show` at its physical size, so the fonts print at the size they were
drawn (:func:`smallest_printed_font` checks it).

The figures of statistics across seeds (:func:`paired_effects`,
:func:`metric_by_setting`) are drawn with seaborn: each seed as a point, the
mean with its 95% percentile-bootstrap interval, the interval being the one
the tables report (:func:`bench.metrics.seed_summary`, fixed seed: the same
figure at every rendering).
"""

from __future__ import annotations

import functools
import io
import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from bench import metric_names as names
from bench.metrics.uncertainty import seed_summary
from bench.report.results import Results

LABELS = {
    names.KENDALL_TAU: "Kendall tau", names.SPARSE_KENDALL_TAU: "sparse Kendall tau",
    names.SPEARMAN: "Spearman rho", names.COMPLEXITY_BIAS: "CB", names.COMPLEXITY_BIAS_MATCHED: "CB-matched",
    names.COMPLEXITY_CONVERGENCE_CORRELATION: "C3", names.GRAD_STD: "gradient std (single stream)",
    names.GRAD_STD_WITHIN_CLUSTERS: "gradient std (within MS clusters)",
    names.GRAD_COS_SUCCESSIVE: "successive gradient cosine", names.MGCS_A1: "MGCS n=1", names.MGCS_A3: "MGCS n=3",
    names.MGCS_A5: "MGCS n=5",
}
# Where "no effect" lies for each bias metric (docs/metrics.md#cb-matched and the section after it).
NEUTRAL = {names.COMPLEXITY_BIAS_MATCHED: 0.5, names.COMPLEXITY_CONVERGENCE_CORRELATION: 0.0}
# Bias metrics without a "no bias" line, and the note the figure prints instead. CB's neutral level is not 0.5
# (docs/metrics.md#complexity-bias-cb): where accuracy grows with size, complexity-blind noise already gives CB
# above 0.5, by how much depends on the space and the pool, so no single line would be right.
NO_NEUTRAL_LINE = {
    names.COMPLEXITY_BIAS: (
        "CB has no 'no bias' line: its neutral level is not 0.5. Where true accuracy grows with "
        "size, complexity-blind noise alone gives CB above 0.5 (about 0.63 to 0.71 on NAS-Bench-201 "
        "samples; docs/metrics.md). Read it against that level and beside CB-matched."),
}

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


def _legend_below(fig, handles, labels, ncol: int = 2, y: float = 0.0) -> None:
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, y))


# Across seeds, the figures draw the statistics of docs/metrics.md#across-seeds-intervals-and-paired-differences:
# the mean and its 95% percentile-bootstrap interval as bench.metrics.seed_summary computes it (10,000 resamples,
# fixed seed), so a figure is deterministic and shows the very interval the tables and sentences report.
SEED_MARK = {"size": 3.5, "color": "0.4", "alpha": 0.8, "linewidth": 0}
SEED_OFFSET = 0.22  # seed points sit this far below their row's mean, so neither hides the other
SEED_SPREAD = 0.12  # ... spread over this height in data order (seaborn's jitter is random: not used)


def _bootstrap_ci(values) -> tuple[float, float]:
    """seaborn's errorbar: the percentile-bootstrap 95% interval of the mean of ``values`` (NaN for one value)."""
    s = seed_summary(np.asarray(values, dtype=float))
    return s["ci_low"], s["ci_high"]


def _strip(ax, data: pd.DataFrame, x: str, y: str, order: list) -> None:
    """One point per seed (seaborn stripplot), below the row's mean; each collection has gid 'seed'.

    The points of a row are spread evenly over :data:`SEED_SPREAD` rather than
    jittered at random, so the figure is the same at every rendering.
    """
    before = len(ax.collections)
    sns.stripplot(data=data, x=x, y=y, order=order, orient="h", jitter=False, ax=ax, zorder=2, **SEED_MARK)
    for collection in ax.collections[before:]:
        offsets = np.asarray(collection.get_offsets(), dtype=float)
        if len(offsets):
            spread = np.linspace(-SEED_SPREAD / 2, SEED_SPREAD / 2, len(offsets)) if len(offsets) > 1 else 0.0
            collection.set_offsets(np.column_stack([offsets[:, 0], offsets[:, 1] + SEED_OFFSET + spread]))
        collection.set_gid("seed")


def seed_differences(results: Results, metric: str = names.KENDALL_TAU) -> pd.DataFrame:
    """Each seed's paired difference of ``metric``, setting minus baseline, for every setting but the baseline.

    Columns ``setting``, ``seed``, ``difference``; only seeds both settings
    have a value for, in seed order (the pairs of
    :func:`bench.metrics.paired_difference`, whose mean and interval
    :func:`bench.report.summary.paired_effects` reports). For the points of
    :func:`paired_effects`.
    """
    columns = [names.SETTING, names.SEED, "difference"]
    runs = results.runs
    if not len(runs) or metric not in runs.columns:
        return pd.DataFrame(columns=columns)

    def per_seed(setting):
        part = runs[runs[names.SETTING] == setting]
        return pd.Series(pd.to_numeric(part[metric], errors="coerce").to_numpy(dtype=float),
                         index=part[names.SEED].astype(int).to_numpy()).dropna()

    base = per_seed(results.baseline)
    rows = []
    for setting in results.settings[1:]:
        other = per_seed(setting)
        for seed in sorted(set(base.index) & set(other.index)):
            rows.append((setting, seed, float(other[seed] - base[seed])))
    return pd.DataFrame(rows, columns=columns)


@printable
def paired_effects(effects: pd.DataFrame, baseline: str | None, metric_label: str = "Kendall tau",
                   differences: pd.DataFrame | None = None):
    """Each setting's paired effect against the baseline (:func:`bench.report.summary.paired_effects`).

    Point: mean paired difference, filled where distinguishable; bar: its 95%
    interval (the frame's, as the first page's sentences give it); small grey
    points: each seed's difference, where ``differences`` is given
    (:func:`seed_differences`: ``setting`` or ``label`` as in ``effects``,
    ``difference``); grey band: +-MDE, the differences the seeds could not
    have detected at 80% power; the MDE is written at the right of each row;
    black line: zero, no effect.
    """
    if effects is None or not len(effects):
        return None
    rows = list(effects.itertuples())
    key = names.SETTING if names.SETTING in effects.columns else "label"
    order = list(effects[key])
    fig, ax = plt.subplots(figsize=(6.8, 0.42 * len(rows) + 1.5))
    if differences is not None and len(differences) and key in differences.columns:
        points = differences[differences[key].isin(order)]
        points = points.assign(difference=pd.to_numeric(points["difference"], errors="coerce")).dropna(
            subset=["difference"])
        if len(points):
            _strip(ax, points, "difference", key, order)
    for i, row in enumerate(rows):
        if not math.isnan(row.mde):
            ax.add_patch(plt.Rectangle((-row.mde, i - 0.3), 2 * row.mde, 0.6, color="0.85", lw=0, zorder=0))
        paired = row.n >= 2 and not math.isnan(row.ci_low)
        err = [[row.effect - row.ci_low], [row.ci_high - row.effect]] if paired else None
        filled = bool(row.distinguishable)
        bars = ax.errorbar(row.effect, i, xerr=err, fmt="o", color="tab:blue", capsize=3, ms=6,
                           mfc="tab:blue" if filled else "white", zorder=3)
        bars.lines[0].set_gid("mean")
        for line in bars.lines[2]:
            line.set_gid("interval")
        note = f"MDE {row.mde:.2f}, {int(row.n)} seeds" if paired and not math.isnan(row.mde) else "1 seed: no interval"
        ax.annotate(note, xy=(1.01, i), xycoords=("axes fraction", "data"), va="center", fontsize=7.5)
    ax.axvline(0, color="black", lw=0.8, zorder=1)
    ax.set_yticks(range(len(rows)), ["\n".join(textwrap.wrap(r.label, 28)) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_ylabel("")
    ax.set_xlabel(f"effect on {metric_label}: setting minus {(baseline or 'baseline').replace(',', ', ')}, "
                  "paired by seed")
    ax.grid(axis="x", alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color="tab:blue", label="distinguishable (interval excludes 0)"),
               plt.Line2D([], [], marker="o", ls="", color="tab:blue", mfc="white", label="not distinguishable")]
    if any(c.get_gid() == "seed" for c in ax.collections):
        handles.append(plt.Line2D([], [], marker="o", ls="", ms=3.5, color=SEED_MARK["color"],
                                  label="one seed's difference"))
    handles.append(plt.Rectangle((0, 0), 1, 1, color="0.85", label="+-MDE: not detectable at 80% power"))
    legend_rows = math.ceil(len(handles) / 3)
    bottom = (0.08 + 0.2 * legend_rows) / (0.42 * len(rows) + 1.5)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    _legend_below(fig, handles, [h.get_label() for h in handles], ncol=3)
    return fig


@printable
def metric_by_setting(results: Results, metrics: list[str]):
    """Per metric (one panel each) and setting: each seed's value (grey points, seaborn's stripplot) and the mean
    over seeds with its 95% percentile-bootstrap interval (seaborn's pointplot, the interval of
    :func:`bench.metrics.seed_summary`, fixed seed); the baseline in black with a dashed line at its mean; the
    dotted "no bias" line where a bias metric has one (:data:`NEUTRAL`; CB has none, and the figure says why:
    :data:`NO_NEUTRAL_LINE`)."""
    metrics = results.metrics_present(metrics)
    if not metrics or not len(results.runs):
        return None
    settings = results.settings
    runs = results.runs
    palette = {s: "black" if s == results.baseline else "tab:blue" for s in settings}
    notes = [NO_NEUTRAL_LINE[m] for m in metrics if m in NO_NEUTRAL_LINE]
    note_lines = sum(len(textwrap.wrap(n, 120)) for n in notes)
    panel = min(2.4, (PAGE_WIDTH_IN - 1.7) / len(metrics))
    height = 0.5 * len(settings) + 1.5 + 0.14 * note_lines
    fig, axes = plt.subplots(1, len(metrics), figsize=(1.7 + panel * len(metrics), height), sharey=True,
                             squeeze=False)
    neutral_drawn = False
    for ax, metric in zip(axes[0], metrics):
        data = pd.DataFrame({names.SETTING: runs[names.SETTING],
                             "value": pd.to_numeric(runs[metric], errors="coerce")})
        data = data[data[names.SETTING].isin(settings)].dropna(subset=["value"])
        _strip(ax, data, "value", names.SETTING, settings)
        before = len(ax.lines)
        sns.pointplot(data=data, x="value", y=names.SETTING, order=settings, hue=names.SETTING,
                      hue_order=settings, palette=palette, orient="h", estimator="mean", errorbar=_bootstrap_ci,
                      markers="o", linestyle="none", capsize=0.25, markersize=5, err_kws={"linewidth": 1.2},
                      legend=False, ax=ax, zorder=3)
        for line in ax.lines[before:]:
            if np.isnan(np.asarray(line.get_xdata(), dtype=float)).all():
                line.remove()  # seaborn draws each hue level at every row: the other rows' are empty
            else:
                line.set_gid("mean" if line.get_marker() not in (None, "", "None", " ") else "interval")
        base = data.loc[data[names.SETTING] == results.baseline, "value"]
        if len(base):
            ax.axvline(base.mean(), color="black", ls="--", lw=0.8, zorder=1)
        if metric in NEUTRAL:
            ax.axvline(NEUTRAL[metric], color="tab:red", ls=":", lw=0.8, zorder=1)
            neutral_drawn = True
        ax.set_xlabel(label(metric))
        ax.set_ylabel("")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0][0].set_yticks(range(len(settings)), [_wrapped(s, results.baseline) for s in settings])
    axes[0][0].set_ylim(len(settings) - 0.5, -0.5)
    handles = [plt.Line2D([], [], marker="o", ms=5, color="tab:blue", label="mean [95% CI]"),
               plt.Line2D([], [], marker="o", ls="", ms=3.5, color=SEED_MARK["color"], label="one seed"),
               plt.Line2D([], [], color="black", ls="--", lw=0.8, label="baseline mean")]
    if neutral_drawn:
        handles.append(plt.Line2D([], [], color="tab:red", ls=":", lw=0.8, label="no bias"))
    note_height = (0.14 * note_lines + (0.1 if notes else 0)) / height
    fig.tight_layout(rect=(0, 0.1 + note_height, 1, 1))
    _legend_below(fig, handles, [h.get_label() for h in handles], ncol=len(handles), y=note_height)
    if notes:
        fig.text(0.5, 0.0, "\n".join(line for n in notes for line in textwrap.wrap(n, 120)), ha="center",
                 va="bottom", fontsize=7.5, gid="note")
    return fig


@printable
def ranking_over_epochs(results: Results):
    """Kendall tau of the tracking pool against epochs (eval.track_every), mean over seeds with its range."""
    h = results.history
    if names.KENDALL_TAU not in h.columns or h[names.KENDALL_TAU].notna().sum() == 0:
        return None
    h = h[h[names.KENDALL_TAU].notna()]
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN - 0.2, 3.3), sharex=True)
    for ax, metric in zip(axes, [names.KENDALL_TAU, names.SPARSE_KENDALL_TAU]):
        for setting in results.settings:
            part = h[h[names.SETTING] == setting].groupby("epoch")[metric]
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
        part = h[h[names.SETTING] == setting].groupby("epoch")["loss"].mean()
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


def chosen_runs(results: Results, metric: str = names.KENDALL_TAU) -> list[str]:
    """Run keys for the score-vs-truth plots: the baseline and the best setting by mean ``metric``, lowest seed."""
    runs = results.runs
    if not len(runs) or metric not in runs.columns:
        return []
    best = runs.groupby(names.SETTING)[metric].mean().idxmax()
    keys = []
    for setting in dict.fromkeys([results.baseline, best]):
        part = runs[runs[names.SETTING] == setting].sort_values(names.SEED)
        keys.append(part[names.KEY].iloc[0])
    return keys


def chosen_runs_text(results: Results, keys: list[str], metric: str = names.KENDALL_TAU) -> str:
    """Which runs the score-vs-truth figure shows, and why one only where it shows one."""
    runs = results.runs[results.runs[names.KEY].isin(keys)]
    if not len(runs):
        return ""
    if len(runs) == 1:
        run = runs.iloc[0]
        why = ("the baseline also has the best mean Kendall tau, so this is one run of it"
               if run[names.SETTING] == results.baseline else "one run")
        return f"One panel: {why} ({_short(run[names.SETTING], None)}, seed {run[names.SEED]})."
    best = runs[runs[names.SETTING] != results.baseline].iloc[0]
    return (f"Two panels: the baseline, and {_short(best[names.SETTING], None)}, the setting with the best mean "
            f"{label(metric)}; the lowest seed of each.")


@printable
def scores_vs_truth(results: Results, keys: list[str]):
    """Supernet accuracy against ground truth per chosen run, coloured by the subnet's parameter count."""
    scores = results.scores
    keys = [k for k in keys if k in set(scores[names.KEY])]
    if not keys:
        return None
    width = 3.5 if len(keys) > 1 else 4.4
    fig, axes = plt.subplots(1, len(keys), figsize=(width * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        part = scores[scores[names.KEY] == key]
        run = results.runs[results.runs[names.KEY] == key].iloc[0]
        points = ax.scatter(part[names.GROUND_TRUTH], part[names.SUPERNET_ACCURACY],
                            c=np.log10(part[names.PARAMS]), cmap="viridis", s=12)
        # A ground truth that is not training results (NAS-Bench-301's surrogate) says so on the axis.
        truth = run.get(names.GROUND_TRUTH_LABEL)
        text = f"ground truth: {truth} (%)" if isinstance(truth, str) and truth else "ground-truth accuracy (%)"
        ax.set_xlabel("\n".join(textwrap.wrap(text, 44)))
        ax.set_ylabel("supernet accuracy (%)")
        title = f"{_short(run[names.SETTING], results.baseline)}, seed {run[names.SEED]}"
        ax.set_title("\n".join(textwrap.wrap(title, 44))
                     + f"\ntau {run[names.KENDALL_TAU]:.3f}, CB {run.get(names.COMPLEXITY_BIAS, np.nan):.2f}, "
                     f"C3 {run.get(names.COMPLEXITY_CONVERGENCE_CORRELATION, np.nan):.2f}")
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
    settings = [s for s in results.settings if s in set(g[names.SETTING])]
    ncols = 2 if len(settings) <= 4 else 3
    nrows = math.ceil(len(settings) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(PAGE_WIDTH_IN - 0.2, 2.0 * nrows + 0.5), sharex=True,
                             sharey=True, squeeze=False)
    for ax, setting in zip(axes.flat, settings):
        for kind, style in (("single stream", "-"), ("within MS clusters", "--")):
            part = g[(g[names.SETTING] == setting) & (g["kind"] == kind)]
            if not len(part):
                continue
            per_epoch = part.groupby("epoch")[names.GRAD_STD].mean()
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
    last = gm[gm["epoch"] == gm.groupby(names.KEY)["epoch"].transform("max")]
    settings = [s for s in results.settings if s in set(last[names.SETTING])]
    ncols = min(2, len(settings))
    nrows = math.ceil(len(settings) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.5 * ncols, 3.3 * nrows), squeeze=False)
    for ax, setting in zip(axes.flat, settings):
        m = last[last[names.SETTING] == setting].pivot_table(index="op_a", columns="op_b", values="score",
                                                               aggfunc="mean", sort=False)
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

