"""Seed streams (bench.seeds): each stream can be set apart, and the defaults keep every earlier run's key."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.config import load_config
from bench.grid.spec import expand, load_spec
from bench.run import config_hash, execute_run
from bench.seeds import pick_eval_images, seed_streams

ROOT = Path(__file__).resolve().parents[1]
TINY = ["train.epochs=2", "supernet.C=4", "supernet.N=1", "eval.pool_size=10", "train.batch_size=128"]


def tiny(*extra):
    return load_config(None, TINY + list(extra))


def test_streams_follow_the_run_seed_unless_set():
    streams = seed_streams(tiny("seed=3"))
    assert (streams.init, streams.data, streams.sampling, streams.eval_images) == (3, 3, 3, None)
    streams = seed_streams(tiny("seed=3", "seeds.sampling=7", "seeds.eval_images=1"))
    assert (streams.init, streams.data, streams.sampling, streams.eval_images) == (3, 3, 7, 1)


def test_default_streams_keep_the_keys_of_published_runs():
    """The run keys of reports/proxy16_seeds were computed before the seeds section existed."""
    published = pd.read_parquet(ROOT / "reports" / "proxy16_seeds" / "runs.parquet")
    grid = expand(load_spec(ROOT / "ablations" / "proxy16_seeds.yaml"))
    keys = {run.seed: run.key for run in grid.runs}
    assert {int(s): k for s, k in zip(published["seed"], published["key"])} == keys


def test_a_stream_set_to_the_run_seed_is_a_new_key_only_when_it_differs():
    assert config_hash(tiny("seeds.init=5")) != config_hash(tiny())
    assert config_hash(tiny("seeds.data=5")) != config_hash(tiny("seeds.sampling=5"))


def test_eval_images_are_the_first_or_a_seeded_draw():
    held_out = np.arange(100, 200)
    assert pick_eval_images(held_out, 10, None).tolist() == list(range(100, 110))
    a, b = pick_eval_images(held_out, 10, 1), pick_eval_images(held_out, 10, 1)
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 10
    assert np.all(np.diff(a) > 0) and set(a.tolist()) <= set(held_out.tolist())
    assert a.tolist() != pick_eval_images(held_out, 10, 2).tolist()


@pytest.mark.parametrize("stream", ["init", "data", "sampling", "eval_images"])
def test_each_stream_set_apart_changes_the_scores(tmp_path, stream):
    common = ["data.eval_images=300"]  # a draw of 300 of the held-out images differs from the first 300
    base = execute_run(tiny(*common), out=tmp_path / "base", progress=False)
    moved = execute_run(tiny(*common, f"seeds.{stream}=9"), out=tmp_path / "moved", progress=False)
    a = pd.read_csv(base.path / "scores.csv")["supernet_accuracy"]
    b = pd.read_csv(moved.path / "scores.csv")["supernet_accuracy"]
    assert not np.allclose(a, b)


def test_pinned_streams_make_the_run_seed_irrelevant(tmp_path):
    pinned = ["seeds.init=0", "seeds.data=0", "seeds.sampling=0"]
    a = execute_run(tiny("seed=0", *pinned), out=tmp_path / "a", progress=False)
    b = execute_run(tiny("seed=4", *pinned), out=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(pd.read_csv(a.path / "scores.csv"), pd.read_csv(b.path / "scores.csv"))
