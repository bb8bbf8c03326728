"""The figures of a report, each a function of a grid's :class:`~bench.report.results.Results`.

Each returns a matplotlib Figure, or None when the grid holds nothing to draw
(the notebooks then say so instead of showing an empty plot). Settings are
listed in the spec's order; the baseline (the spec's first setting) is drawn
in black and marked by a dashed line where a figure compares settings.
"""

from __future__ import annotations

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
# Where "no effect" lies for each bias metric (REFERENCE.md, "Diagnostics").
NEUTRAL = {"complexity_bias": 0.5, "complexity_bias_matched": 0.5, "complexity_convergence_correlation": 0.0}


def show(fig, missing: str) -> None:
    """In a notebook: display ``fig`` once (and free it), or say in words why there is no figure."""
    from IPython.display import Markdown, display

    if fig is None:
        display(Markdown(f"*{missing}*"))
        return
    display(fig)
    plt.close(fig)


def label(metric: str) -> str:
    return LABELS.get(metric, metric.replace("_", " "))


def metric_by_setting(results: Results, metrics: list[str]):
    """Mean and bootstrap CI across seeds per setting (one panel per metric), each seed as a small dot."""
    metrics = results.metrics_present(metrics)
    if not metrics or not len(results.runs):
        return None
    summary = long_summary(results, metrics)
    settings = results.settings
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 0.45 * len(settings) + 1.4),
                             sharey=True, squeeze=False)
    y = {s: i for i, s in enumerate(settings)}
    for ax, metric in zip(axes[0], metrics):
        part = summary[summary["metric"] == metric]
        for row in part.itertuples():
            colour = "black" if row.setting == results.baseline else "tab:blue"
            err = [[row.mean - row.ci_low], [row.ci_high - row.mean]] if row.n >= 2 else None
            ax.errorbar(row.mean, y[row.setting], xerr=err, fmt="o", color=colour, capsize=3)
        runs = results.runs
        ax.scatter(pd.to_numeric(runs[metric], errors="coerce"), runs["setting"].map(y) + 0.18, s=9,
                   color="grey", alpha=0.7, label="one seed")
        base = part[part["setting"] == results.baseline]
        if len(base):
            ax.axvline(base["mean"].iloc[0], color="black", ls="--", lw=0.8, label="baseline mean")
        if metric in NEUTRAL:
            ax.axvline(NEUTRAL[metric], color="tab:red", ls=":", lw=0.8, label="no bias")
        ax.set_xlabel(label(metric))
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(settings)), [_short(s, results.baseline) for s in settings])
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(loc="best", fontsize=7)
    fig.tight_layout()
    return fig


def _short(setting: str, baseline: str | None) -> str:
    text = setting.replace(",", ", ")
    return f"{text} (baseline)" if setting == baseline else text


def ranking_over_epochs(results: Results):
    """Kendall tau of the tracking pool against epochs (eval.track_every), mean over seeds with its range."""
    h = results.history
    if "kendall_tau" not in h.columns or h["kendall_tau"].notna().sum() == 0:
        return None
    h = h[h["kendall_tau"].notna()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
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
    axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def training_loss(results: Results):
    """Training loss per epoch, mean over seeds per setting."""
    h = results.history
    if "loss" not in h.columns or not len(h):
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for setting in results.settings:
        part = h[h["setting"] == setting].groupby("epoch")["loss"].mean()
        if len(part):
            style = {"color": "black", "lw": 2} if setting == results.baseline else {}
            ax.plot(part.index, part.values, label=_short(setting, results.baseline), **style)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (sampled subnets)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
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


def scores_vs_truth(results: Results, keys: list[str]):
    """Supernet accuracy against ground truth per chosen run, coloured by the subnet's parameter count."""
    scores = results.scores
    keys = [k for k in keys if k in set(scores["key"])]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        part = scores[scores["key"] == key]
        run = results.runs[results.runs["key"] == key].iloc[0]
        points = ax.scatter(part["ground_truth"], part["supernet_accuracy"], c=np.log10(part["params"]),
                            cmap="viridis", s=14)
        # A ground truth that is not training results (NAS-Bench-301's surrogate) says so on the axis.
        label = run.get("ground_truth_label")
        ax.set_xlabel(f"ground truth: {label} (%)" if isinstance(label, str) and label else
                      "ground-truth accuracy (%)", fontsize=8 if label else None)
        ax.set_ylabel("supernet accuracy (%)")
        ax.set_title(f"{_short(run['setting'], results.baseline)}, seed {run['seed']}\n"
                     f"tau {run['kendall_tau']:.3f}, CB {run.get('complexity_bias', np.nan):.2f}, "
                     f"C3 {run.get('complexity_convergence_correlation', np.nan):.2f}", fontsize=9)
        ax.grid(alpha=0.3)
        fig.colorbar(points, ax=ax, label="log10 parameters (stand-alone)")
    fig.tight_layout()
    return fig


def gradient_std_over_training(results: Results):
    """Windowed gradient std over training: the single stream, and the mean over MS clusters' own streams."""
    g = results.run_table("gradient_stats.csv")
    if not len(g):
        return None
    g = g.assign(kind=np.where(g["stream"] == "single", "single stream", "within MS clusters"))
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for setting in results.settings:
        for kind, style in (("single stream", "-"), ("within MS clusters", "--")):
            part = g[(g["setting"] == setting) & (g["kind"] == kind)]
            if not len(part):
                continue
            per_epoch = part.groupby("epoch")["grad_std"].mean()
            colour = "black" if setting == results.baseline else None
            ax.plot(per_epoch.index, per_epoch.values, ls=style, color=colour,
                    label=f"{_short(setting, results.baseline)}: {kind}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("gradient std of the observed tensor")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5)
    fig.tight_layout()
    return fig


def gm_heatmaps(results: Results):
    """Gradient-matching score matrices (last probed epoch, mean over seeds), one per setting that has them."""
    gm = results.run_table("gm_scores.csv")
    if not len(gm):
        return None
    last = gm[gm["epoch"] == gm.groupby("key")["epoch"].transform("max")]
    settings = [s for s in results.settings if s in set(last["setting"])]
    fig, axes = plt.subplots(1, len(settings), figsize=(4.6 * len(settings), 4), squeeze=False)
    for ax, setting in zip(axes[0], settings):
        m = last[last["setting"] == setting].pivot_table(index="op_a", columns="op_b", values="score", aggfunc="mean",
                                                         sort=False)
        image = ax.imshow(m.values, cmap="magma", vmin=-1, vmax=1)
        ax.set_xticks(range(len(m.columns)), m.columns, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(m.index)), m.index, fontsize=7)
        for (i, j), v in np.ndenumerate(m.values):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if v < 0.3 else "black")
        ax.set_title(_short(setting, results.baseline), fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
