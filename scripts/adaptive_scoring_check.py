"""Offline check of adaptive scoring (bench.adaptive) against full scoring, on a correctness matrix.

Two steps:

1. ``matrix RUN_DIR --out M.npz``: load a run's supernet (``config.yaml`` and
   ``checkpoint.pt`` of a finished or unfinished run directory), score every
   subnet of its evaluation pool on every held-out image (``--images``: that
   many of the held-out part, default the run's ``data.eval_images``), and save
   the per-subnet, per-image correctness with the pool's ground truth.
2. ``check M.npz``: full scoring (every subnet on every image) and adaptive
   scoring on the same matrix, Kendall tau and sparse Kendall tau of each
   against the ground truth, and the images ratio (full / adaptive). With
   ``--orders K`` the held-out images are also taken in K - 1 random orders
   (another draw of the held-out list); the mean and the worst difference are
   reported. ``--sweep`` tabulates images ratio against tau difference over a
   grid of the rule's settings (the frontier).

The matrix comes from one full pass, so under batch-statistics BN a reordered
matrix is an approximation of scoring in that order (an image's batch
neighbours change); the rule itself is what is checked.

Usage::

    python scripts/adaptive_scoring_check.py matrix runs/run-abc123 --out digits.npz
    python scripts/adaptive_scoring_check.py check digits.npz --orders 20
    python scripts/adaptive_scoring_check.py check digits.npz --orders 20 --sweep
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from bench.adaptive import (
    DEFAULT_CONFIDENCE,
    DEFAULT_FIRST,
    DEFAULT_TOLERANCE,
    adaptive_scores,
)
from bench.metrics.ranking import kendall_tau, sparse_kendall_tau


def build_matrix(run_dir: Path, out: Path, images: int | None, data_dir: str | None, batch_size: int | None,
                 pool_size: int | None = None) -> None:
    import dataclasses

    from bench.adaptive import correct_in_range
    from bench.config import load_config
    from bench.data import DeviceBatches
    from bench.run import load_trained_supernet, prepare_evaluation, resolve_device
    from bench.tasks import crop_padding, load_split

    config = load_config(run_dir / "config.yaml")
    if images is not None:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, eval_images=images))
    if pool_size is not None:  # another pool of the space (drawn with the run's eval.pool_seed)
        config = dataclasses.replace(config, eval=dataclasses.replace(config.eval, pool_size=pool_size))
    evaluation = prepare_evaluation(config, data_dir)
    task = evaluation.task
    device = resolve_device(config.train.device)
    model, epoch = load_trained_supernet(run_dir, device)  # checked against the run's own config
    model.eval()
    train_set, held_out = load_split(task, config.data, evaluation.data_dir)
    batches = DeviceBatches(train_set, config.train.batch_size, device, augment=config.data.augment,
                            pad=crop_padding(task, config.data), seed=config.seed)
    eval_batches = DeviceBatches(held_out, batch_size or config.eval.batch_size, device, augment=False,
                                 shuffle=False, drop_last=False, mean=batches.mean, std=batches.std)
    bn = config.heuristics["bn"]
    if bn["name"] == "recalibrated":
        sys.exit("matrix: BN recalibration is not supported here (score with batch or running statistics)")
    archs = evaluation.benchmark.archs(evaluation.pool)
    truth = evaluation.benchmark.table.lookup(evaluation.pool, evaluation.column)
    correct = np.zeros((len(archs), held_out.__len__()), dtype=bool)
    start = time.perf_counter()
    for i, arch in enumerate(archs):
        correct[i] = correct_in_range(model, arch, eval_batches, 0, len(held_out))
        print(f"\rsubnet {i + 1}/{len(archs)} ({time.perf_counter() - start:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    np.savez_compressed(out, correct=correct, truth=np.asarray(truth, dtype=np.float64),
                        arch_strs=np.array(evaluation.pool), sparse_threshold=config.eval.sparse_threshold,
                        epoch=epoch, run=str(run_dir))
    print(f"{out}: {correct.shape[0]} subnets x {correct.shape[1]} images, checkpoint epoch "
          f"{epoch}, mean accuracy {100 * correct.mean():.2f}%")


def synthetic_matrix(out: Path, subnets: int, images: int, seed: int) -> None:
    """A correctness matrix from a two-parameter item-response model, for checks at the papers' 25,000 images.

    Image difficulty ~ N(0, 1.5), subnet ability spread so that accuracies span about 15-75% (a proxy
    supernet's spread, with a dense middle); P(correct) = sigmoid(1.7 (ability - difficulty)). The ground
    truth is a noisy increasing function of ability (Kendall tau about 0.6 with full scoring).
    """
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 1.5, images)
    ability = np.concatenate([rng.normal(0.3, 0.5, subnets - subnets // 5), rng.normal(-1.5, 0.8, subnets // 5)])
    rng.shuffle(ability)
    p = 1.0 / (1.0 + np.exp(-1.7 * (ability[:, None] - difficulty[None, :])))
    correct = rng.random(p.shape) < p
    truth = 85.0 + 3.0 * np.tanh(ability) + rng.normal(0.0, 0.8, subnets)
    np.savez_compressed(out, correct=correct, truth=truth, arch_strs=np.array([f"s{i}" for i in range(subnets)]),
                        sparse_threshold=1.0, epoch=-1, run="synthetic")
    print(f"{out}: {subnets} synthetic subnets x {images} images, mean accuracy {100 * correct.mean():.2f}%")


def compare(correct: np.ndarray, truth: np.ndarray, threshold: float, first: int, confidence: float,
            tolerance: float, align: int) -> dict:
    full = 100.0 * correct.mean(axis=1)
    result = adaptive_scores(correct.shape[0], correct.shape[1], lambda i, a, b: correct[i, a:b], first=first,
                             confidence=confidence, tolerance=tolerance, align=align)
    return {
        "ratio": correct.size / result.total_images,
        "tau_full": kendall_tau(full, truth), "tau_adaptive": kendall_tau(result.accuracy, truth),
        "sparse_full": sparse_kendall_tau(full, truth, threshold),
        "sparse_adaptive": sparse_kendall_tau(result.accuracy, truth, threshold),
        "rounds": result.rounds,
    }


def check(path: Path, first: int, confidence: float, tolerance: float, orders: int, align: int, seed: int,
          quiet: bool = False) -> dict:
    data = np.load(path)
    correct, truth, threshold = data["correct"], data["truth"], float(data["sparse_threshold"])
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(orders):
        m = correct if k == 0 else correct[:, rng.permutation(correct.shape[1])]
        rows.append(compare(m, truth, threshold, first, confidence, tolerance, align))
    d_tau = np.array([r["tau_adaptive"] - r["tau_full"] for r in rows])
    d_sparse = np.array([r["sparse_adaptive"] - r["sparse_full"] for r in rows])
    ratio = np.array([r["ratio"] for r in rows])
    summary = {"first": first, "confidence": confidence, "tolerance": tolerance,
               "ratio_mean": ratio.mean(), "ratio_min": ratio.min(),
               "dtau_mean": d_tau.mean(), "dtau_worst": d_tau[np.argmax(np.abs(d_tau))],
               "dsparse_mean": d_sparse.mean(), "dsparse_worst": d_sparse[np.argmax(np.abs(d_sparse))],
               "tau_full": rows[0]["tau_full"], "sparse_full": rows[0]["sparse_full"]}
    if not quiet:
        print(f"{path}: {correct.shape[0]} subnets x {correct.shape[1]} images, {orders} image order(s); "
              f"rule: first={first}, confidence={confidence}, tolerance={tolerance} points, align={align}")
        print(f"  full scoring (given order):  tau {rows[0]['tau_full']:.4f}   sparse tau {rows[0]['sparse_full']:.4f}")
        print(f"  adaptive (given order):      tau {rows[0]['tau_adaptive']:.4f}   sparse tau "
              f"{rows[0]['sparse_adaptive']:.4f}   images ratio {rows[0]['ratio']:.2f}x   rounds {rows[0]['rounds']}")
        print(f"  over {orders} orders: images ratio mean {ratio.mean():.2f}x (min {ratio.min():.2f}x); "
              f"tau diff mean {d_tau.mean():+.4f} worst {summary['dtau_worst']:+.4f}; "
              f"sparse tau diff mean {d_sparse.mean():+.4f} worst {summary['dsparse_worst']:+.4f}")
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("matrix", help="score every pool subnet on every held-out image of a run's checkpoint")
    m.add_argument("run_dir", type=Path)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--images", type=int, default=None, help="held-out images (default: the run's eval_images)")
    m.add_argument("--data-dir", default=None)
    m.add_argument("--batch-size", type=int, default=None)
    m.add_argument("--pool-size", type=int, default=None, help="subnets (default: the run's eval.pool_size)")
    y = sub.add_parser("synthetic", help="a correctness matrix from an item-response model")
    y.add_argument("--out", type=Path, required=True)
    y.add_argument("--subnets", type=int, default=100)
    y.add_argument("--images", type=int, default=25000)
    y.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check", help="full vs adaptive scoring on a correctness matrix")
    c.add_argument("matrix", type=Path)
    c.add_argument("--first", type=int, default=DEFAULT_FIRST)
    c.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE)
    c.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    c.add_argument("--align", type=int, default=1, help="slice boundaries rounded to multiples (batch size)")
    c.add_argument("--orders", type=int, default=1, help="image orders: the given one and K - 1 random ones")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--sweep", action="store_true", help="tabulate a grid of first x confidence x tolerance")
    c.add_argument("--sweep-first", type=int, nargs="+", default=[250, 500])
    c.add_argument("--sweep-confidence", type=float, nargs="+", default=[0.5, 0.8, 0.95])
    c.add_argument("--sweep-tolerance", type=float, nargs="+", default=[0.5, 1.0, 2.0, 3.0])
    args = parser.parse_args(argv)
    if args.command == "matrix":
        build_matrix(args.run_dir, args.out, args.images, args.data_dir, args.batch_size, args.pool_size)
        return
    if args.command == "synthetic":
        synthetic_matrix(args.out, args.subnets, args.images, args.seed)
        return
    if not args.sweep:
        check(args.matrix, args.first, args.confidence, args.tolerance, args.orders, args.align, args.seed)
        return
    print("first  conf   tol   ratio(mean/min)   dtau(mean/worst)    dsparse(mean/worst)")
    grid = itertools.product(args.sweep_first, args.sweep_confidence, args.sweep_tolerance)
    for first, confidence, tolerance in grid:
        s = check(args.matrix, first, confidence, tolerance, args.orders, args.align, args.seed, quiet=True)
        print(f"{first:5d}  {confidence:.2f}  {tolerance:4.2f}  {s['ratio_mean']:6.2f} / {s['ratio_min']:6.2f}   "
              f"{s['dtau_mean']:+.4f} / {s['dtau_worst']:+.4f}   {s['dsparse_mean']:+.4f} / {s['dsparse_worst']:+.4f}")


if __name__ == "__main__":
    main()
