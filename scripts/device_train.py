"""Timed supernet training on one device, for scripts/device_check.sh (prints one JSON line).

The full training loop of ``bench run`` (bench.train.Trainer, SPOS with the
default diagnostics) on an NB201 supernet: CIFAR-10's supernet-training half
(25,000 images) from --data-dir / $BENCH_DATA_DIR when given, else 25,000
synthetic CIFAR-sized images. ``--epochs 2`` times a first epoch (with the
warm-up) and a second, steady one. (The packing check of device_check.sh
runs a small grid with `bench grid --jobs-per-device` instead.)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from bench.data import DeviceBatches
from bench.perf import VARIANTS, _trainer, synthetic_images
from bench.run import resolve_device


def load_images(data_dir: str | None, n: int):
    """CIFAR-10's supernet-training half from ``data_dir`` (the default split of ``bench run``), else synthetic."""
    if data_dir:
        from bench.config import DataConfig
        from bench.tasks import get_task, load_split

        train, _ = load_split(get_task("cifar10"), DataConfig(dataset="cifar10"), Path(data_dir))
        return train, f"CIFAR-10 ({len(train)} images, {data_dir})"
    return synthetic_images(n), f"synthetic ({n} images)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--images", type=int, default=25_000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR"))
    args = p.parse_args()
    dev = resolve_device(args.device)
    images, source = load_images(args.data_dir, args.images)
    data = DeviceBatches(images, args.batch, dev, seed=0)
    trainer = _trainer(VARIANTS["spos"], args.C, args.N, args.batch, data, args.precision)
    seconds = []
    trained = 0
    for epoch in range(args.epochs):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        record = trainer.train_epoch(epoch)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        seconds.append(time.perf_counter() - start)
        trained = record.images
    print(json.dumps({"source": source, "device": str(dev), "precision": args.precision, "images": trained,
                      "epoch_seconds": seconds, "images_per_s": trained / seconds[-1]}), flush=True)


if __name__ == "__main__":
    main()
