"""Rescore the trained supernets of a grid with other evaluation pools and other held-out image draws.

The evaluation pool (``eval.pool_seed``) and the scoring images
(``seeds.eval_images``) do not touch training, so their share of a proxy's
seed variance can be measured without training again: every finished run of
the grid is loaded from its checkpoint and scored

- with its own pool and images (``stream = none``: must give the run's own
  Kendall tau, a check that the reload is faithful),
- with the pool drawn with each seed of ``--values`` (``stream = pool``),
- on the held-out images drawn with each seed of ``--values`` (``stream =
  eval_images``, as many images as the run scored),
- on the first N held-out images for each N of ``--image-counts`` (``stream =
  eval_image_count``): what the run would have scored with ``data.eval_images: N``.

One row per (run, stream, value) goes to ``scoring_streams.csv`` in the grid
directory (or ``--out``), written after each run; runs already in it are
skipped, so the script can be run again as the grid grows; ``bench.report.noise`` turns it, with the grid's
training-stream runs, into the noise-share table.

Usage::

    python scripts/scoring_streams.py results/proxy16_noise --data-dir DATA --values 1 2 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from bench.config import load_config
from bench.data import DeviceBatches
from bench.evaluate import score_pool
from bench.metrics.ranking import kendall_tau, sparse_kendall_tau
from bench.run import load_trained_supernet, prepare_evaluation, resolve_device
from bench.seeds import seed_streams
from bench.tasks import crop_padding, load_split


def rescore(run_dir: Path, data_dir: str | None, values: list[int], image_counts: list[int] = ()) -> list[dict]:
    config = load_config(run_dir / "config.yaml")
    device = resolve_device(config.train.device)
    evaluation = prepare_evaluation(config, data_dir)
    task, benchmark, column = evaluation.task, evaluation.benchmark, evaluation.column
    model, _ = load_trained_supernet(run_dir, device)
    streams = seed_streams(config)
    train_set, _ = load_split(task, config.data, evaluation.data_dir, streams.eval_images)
    train_batches = DeviceBatches(train_set, config.train.batch_size, device, augment=False,
                                  pad=crop_padding(task, config.data), seed=streams.data)

    def held_out(images_seed, data=config.data):
        _, images = load_split(task, data, evaluation.data_dir, images_seed)
        return DeviceBatches(images, config.eval.batch_size, device, augment=False, shuffle=False,
                             drop_last=False, mean=train_batches.mean, std=train_batches.std)

    def measure(pool, batches) -> dict:
        truth = benchmark.table.lookup(pool, column)
        scores = score_pool(model, benchmark.archs(pool), batches, progress=False,
                            precision=config.train.precision)
        return {"kendall_tau": kendall_tau(scores, truth),
                "sparse_kendall_tau": sparse_kendall_tau(scores, truth, config.eval.sparse_threshold)}

    own_images = held_out(streams.eval_images)
    rows = [{"stream": "none", "value": -1, **measure(evaluation.pool, own_images)}]
    for value in values:
        other = dataclasses.replace(config, eval=dataclasses.replace(config.eval, pool_seed=value))
        rows.append({"stream": "pool", "value": value, **measure(prepare_evaluation(other, data_dir).pool,
                                                                   own_images)})
        rows.append({"stream": "eval_images", "value": value, **measure(evaluation.pool, held_out(value))})
    for count in image_counts:
        first = held_out(streams.eval_images, dataclasses.replace(config.data, eval_images=count))
        rows.append({"stream": "eval_image_count", "value": count, **measure(evaluation.pool, first)})
    own = json.loads((run_dir / "metrics.json").read_text())["kendall_tau"]
    if abs(rows[0]["kendall_tau"] - own) > 1e-9:
        print(f"warning: {run_dir.name}: rescored tau {rows[0]['kendall_tau']:.4f} differs from the run's "
              f"{own:.4f}", file=sys.stderr)
    return [{"key": run_dir.name, **row} for row in rows]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid", type=Path, help="a grid directory (results/<grid>) with finished runs")
    parser.add_argument("--data-dir", help="the data directory (default: $BENCH_DATA_DIR)")
    parser.add_argument("--values", type=int, nargs="*", default=[1, 2, 3], help="seeds of each scoring stream")
    parser.add_argument("--image-counts", type=int, nargs="*", default=[],
                        help="also score on the first N held-out images, for each N (e.g. 10000)")
    parser.add_argument("--out", type=Path, help="CSV to write (default: <grid>/scoring_streams.csv)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    runs = sorted(p.parent for p in (args.grid / "runs").glob("*/metrics.json"))
    if not runs:
        raise SystemExit(f"{args.grid}: no finished runs under runs/")
    out = args.out or args.grid / "scoring_streams.csv"
    # Runs already in the file are kept, not scored again: the grid may have grown since.
    table = pd.read_csv(out) if out.is_file() else pd.DataFrame()
    done = set(table["key"]) if len(table) else set()
    for run_dir in runs:
        if run_dir.name in done:
            continue
        start = time.perf_counter()
        table = pd.concat([table, pd.DataFrame(rescore(run_dir, args.data_dir, args.values, args.image_counts))], ignore_index=True)
        table.to_csv(out, index=False)  # after each run: an interrupted rescoring keeps what it did
        print(f"{run_dir.name}: {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{out}: {len(table)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
