"""Where a proxy's seed variance comes from, and the estimators beside each other (our analysis).

A run's randomness has five streams (:mod:`bench.seeds`). A noise study
(``ablations/proxy16_noise.yaml``) trains one run with every stream at a
common seed and, for each training stream (initialization, data, subnet
sampling), runs where that stream alone takes other values;
``scripts/scoring_streams.py`` rescores each trained supernet with other
evaluation pools and other held-out image draws (``scoring_streams.csv``).

:func:`noise_table` gives each stream's variance of a ranking metric with a
chi-square interval of its sd, and its share of the sum over streams. The
training streams' variances come from the values of the runs that vary them
(the common run included); a scoring stream's is the pooled within-supernet
variance over every rescored supernet, so its estimate rests on many more
values. Shares assume the streams act independently and add (our
simplification; the sum can then be set beside the variance over plain seeds,
where every stream moves at once).

:func:`estimator_table` sets the papers' final-epoch estimator beside the
epoch-averaged one (:mod:`bench.estimators`) on the same runs: means, the
paired difference with its interval, and, per training stream, the sd of each.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bench import metric_names as names
from bench.metrics.uncertainty import paired_difference

TRAINING_STREAMS = ("init", "data", "sampling")
SCORING_STREAMS = ("pool", "eval_images")
STREAM_LABELS = {"init": "weight initialization", "data": "batch order and augmentation",
                 "sampling": "subnet sampling", "pool": "evaluation pool", "eval_images": "held-out images"}
STREAMS_FILE = "scoring_streams.csv"
AVERAGED_SUFFIX = names.AVERAGED_SUFFIX


def stream_column(stream: str) -> str:
    return f"seeds.{stream}"


def varied_stream(run: pd.Series) -> str | None:
    """The training stream a run sets apart (None: all at the run seed); ValueError where it sets several."""
    set_apart = [s for s in TRAINING_STREAMS
                 if stream_column(s) in run.index and not _missing(run[stream_column(s)])]
    if len(set_apart) > 1:
        raise ValueError(f"run {run.get(names.KEY, '?')} sets several streams apart: {', '.join(set_apart)}")
    return set_apart[0] if set_apart else None


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def has_streams(runs: pd.DataFrame) -> bool:
    """Whether a grid varies any training stream on its own."""
    return any(stream_column(s) in runs.columns and runs[stream_column(s)].notna().any() for s in TRAINING_STREAMS)


def _sd_interval(variance: float, df: int, confidence: float = 0.95) -> tuple[float, float]:
    """Chi-square interval of a standard deviation from a variance with ``df`` degrees of freedom."""
    if df < 1 or not math.isfinite(variance):
        return math.nan, math.nan
    alpha = 1.0 - confidence
    return (math.sqrt(variance * df / stats.chi2.ppf(1 - alpha / 2, df)),
            math.sqrt(variance * df / stats.chi2.ppf(alpha / 2, df)))


def _row(stream: str, kind: str, variance: float, df: int, values: int) -> dict:
    low, high = _sd_interval(variance, df)
    return {"stream": stream, "what it draws": STREAM_LABELS[stream], "kind": kind, "values": values, "df": df,
            "sd": math.sqrt(variance) if math.isfinite(variance) else math.nan, "sd_low": low, "sd_high": high,
            "variance": variance}


def training_rows(runs: pd.DataFrame, metric: str) -> list[dict]:
    streams = runs.apply(varied_stream, axis=1)
    common = runs.loc[streams.isna(), metric].dropna().tolist()
    rows = []
    for stream in TRAINING_STREAMS:
        values = common + runs.loc[streams == stream, metric].dropna().tolist()
        variance = float(np.var(values, ddof=1)) if len(values) > 1 else math.nan
        rows.append(_row(stream, "training", variance, len(values) - 1, len(values)))
    return rows


def scoring_rows(rescored: pd.DataFrame, metric: str = names.KENDALL_TAU) -> list[dict]:
    """Pooled within-supernet variance of each scoring stream (its draws and the supernet's own scoring)."""
    rows = []
    own = rescored[rescored["stream"] == "none"]
    for stream in SCORING_STREAMS:
        groups = pd.concat([own, rescored[rescored["stream"] == stream]]).groupby(names.KEY)[metric]
        sizes = groups.size()
        sums = groups.apply(lambda v: float(((v - v.mean()) ** 2).sum()))
        df = int((sizes - 1).clip(lower=0).sum())
        variance = float(sums.sum() / df) if df > 0 else math.nan
        rows.append(_row(stream, "scoring", variance, df, int(sizes.sum())))
    return rows


def noise_table(runs: pd.DataFrame, rescored: pd.DataFrame | None = None, metric: str = names.KENDALL_TAU,
                seed_sd: float | None = None) -> pd.DataFrame:
    """One row per stream: sd of ``metric`` when that stream alone varies, its chi-square 95% interval and its
    share of the summed variance; then the sum, and the sd over plain seeds (``seed_sd``) where given."""
    rows = training_rows(runs, metric)
    if rescored is not None and metric in rescored.columns:
        rows += scoring_rows(rescored, metric)
    table = pd.DataFrame(rows)
    total = table["variance"].sum(min_count=1)
    table["share"] = table["variance"] / total
    summary = [{"stream": "sum of streams", "what it draws": "every stream, if they add", "kind": "",
                "sd": math.sqrt(total) if math.isfinite(total) else math.nan, "variance": total, "share": 1.0}]
    if seed_sd is not None:
        summary.append({"stream": "plain seeds", "what it draws": "every training stream at once (measured)",
                        "kind": "", "sd": seed_sd, "variance": seed_sd ** 2})
    return pd.concat([table, pd.DataFrame(summary)], ignore_index=True).set_index("stream")


def estimator_table(runs: pd.DataFrame, metrics=(names.KENDALL_TAU, names.SPARSE_KENDALL_TAU)) -> pd.DataFrame:
    """The papers' final-epoch estimator beside the epoch-averaged one, on the runs that recorded both: the
    mean of each, their paired difference (averaged minus final) with a bootstrap 95% interval, and the sd of
    each over the runs."""
    rows = []
    for metric in metrics:
        averaged = names.averaged(metric)
        if averaged not in runs.columns:
            continue
        both = runs[[metric, averaged]].dropna()
        if both.empty:
            continue
        index = range(len(both))
        diff = paired_difference(pd.Series(both[metric].to_numpy(), index=index),
                                 pd.Series(both[averaged].to_numpy(), index=index))
        rows.append({"metric": metric, "runs": len(both), "final mean": both[metric].mean(),
                     "averaged mean": both[averaged].mean(), "difference": diff["mean"],
                     "ci_low": diff["ci_low"], "ci_high": diff["ci_high"],
                     "final sd": both[metric].std(ddof=1), "averaged sd": both[averaged].std(ddof=1)})
    return pd.DataFrame(rows).set_index("metric") if rows else pd.DataFrame()


def estimator_noise(runs: pd.DataFrame, metric: str = names.KENDALL_TAU) -> pd.DataFrame:
    """Per training stream, the sd of the final-epoch and the epoch-averaged estimator side by side."""
    final = noise_table(runs, metric=metric)
    averaged = noise_table(runs, metric=names.averaged(metric))
    streams = list(TRAINING_STREAMS) + ["sum of streams"]
    return pd.DataFrame({"final sd": final.loc[streams, "sd"], "averaged sd": averaged.loc[streams, "sd"],
                         "values": final.loc[streams, "values"]})
