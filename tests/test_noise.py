"""The noise-share and estimator tables (bench.report.noise), on hand-built runs."""

import math

import numpy as np
import pandas as pd
import pytest

from bench.report import noise


def runs_frame():
    rows = [{"key": "base", "kendall_tau": 0.40, "kendall_tau_averaged": 0.41}]
    values = {"init": [0.30, 0.50], "data": [0.38, 0.42], "sampling": [0.40, 0.40]}
    for stream, taus in values.items():
        for i, tau in enumerate(taus):
            rows.append({"key": f"{stream}{i}", f"seeds.{stream}": i + 1, "kendall_tau": tau,
                         "kendall_tau_averaged": 0.41 + (tau - 0.40) / 2})
    frame = pd.DataFrame(rows)
    for stream in noise.TRAINING_STREAMS:
        frame[f"seeds.{stream}"] = frame[f"seeds.{stream}"].astype(float)
    return frame


def rescored_frame():
    rows = []
    for key, own in (("a", 0.40), ("b", 0.30)):
        rows.append({"key": key, "stream": "none", "value": -1, "kendall_tau": own})
        rows += [{"key": key, "stream": "pool", "value": v, "kendall_tau": own + d} for v, d in ((1, 0.1), (2, -0.1))]
        rows += [{"key": key, "stream": "eval_images", "value": v, "kendall_tau": own} for v in (1, 2)]
    return pd.DataFrame(rows)


def test_each_training_stream_uses_the_common_run_and_its_own():
    table = noise.noise_table(runs_frame())
    assert table.loc["init", "values"] == 3
    assert table.loc["init", "sd"] == pytest.approx(np.std([0.40, 0.30, 0.50], ddof=1))
    assert table.loc["sampling", "sd"] == pytest.approx(0.0)
    assert table.loc["init", "sd_low"] < table.loc["init", "sd"] < table.loc["init", "sd_high"]
    shares = table.loc[list(noise.TRAINING_STREAMS), "share"]
    assert shares.sum() == pytest.approx(1.0) and shares["init"] > shares["data"] > shares["sampling"]


def test_scoring_streams_pool_the_within_supernet_variance():
    table = noise.noise_table(runs_frame(), rescored_frame(), seed_sd=0.05)
    # per supernet the pool draws are own, own+0.1, own-0.1: variance 0.01, df 2 each, pooled 0.01
    assert table.loc["pool", "variance"] == pytest.approx(0.01)
    assert table.loc["pool", "df"] == 4
    assert table.loc["eval_images", "sd"] == pytest.approx(0.0)
    assert table.loc["plain seeds", "sd"] == 0.05
    assert table.loc["sum of streams", "variance"] == pytest.approx(table["variance"].iloc[:5].sum())


def test_a_run_setting_two_streams_apart_is_refused():
    frame = runs_frame()
    frame.loc[1, "seeds.data"] = 3.0
    with pytest.raises(ValueError, match="several streams"):
        noise.noise_table(frame)


def test_estimators_side_by_side():
    table = noise.estimator_table(runs_frame())
    row = table.loc["kendall_tau"]
    frame = runs_frame()
    assert row["runs"] == len(frame)
    assert row["difference"] == pytest.approx((frame["kendall_tau_averaged"] - frame["kendall_tau"]).mean())
    assert row["averaged sd"] == pytest.approx(row["final sd"] / 2)
    spread = noise.estimator_noise(frame)
    assert spread.loc["init", "averaged sd"] == pytest.approx(spread.loc["init", "final sd"] / 2)
    assert "sparse_kendall_tau" not in table.index  # not recorded: left out
    assert math.isfinite(row["ci_low"]) and row["ci_low"] <= row["difference"] <= row["ci_high"]
