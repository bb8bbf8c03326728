"""Does torch.compile of the supernet's op modules pay on this machine? Eager vs compiled, side by side.

A whole-supernet compile would recompile for every sampled path (the graph changes with the subnet), so
only the op modules (ReLU-Conv-BN of every edge and of the reduction blocks) are compiled, each on its own:
their shapes are fixed, so each compiles once and every path reuses them. Both variants train the same
SPOS steps (same subnets, same batches) from the same initial weights; the script prints the compile
(warm-up) time and the steady images/s of each, medians of --repeats timings, and their ratio.

Usage::

    python scripts/compile_check.py --C 16 --N 1 --steps 20 --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from bench.spaces import nb201
from bench.supernets.nb201 import BNConfig, NB201Supernet, ReLUConvBN


def compile_ops(model: nn.Module, mode: str | None) -> int:
    """Compile every ReLU-Conv-BN module in place; returns how many."""
    count = 0
    for module in model.modules():
        if isinstance(module, ReLUConvBN):
            module.compile(mode=mode, dynamic=False)
            count += 1
    return count


def steps(model: nn.Module, batches, archs, precision: str) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for (x, y), arch in zip(batches, archs):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = loss_fn(model(x, arch), y)
        loss.backward()
        optimizer.step()


def timed(model, batches, archs, precision, repeats) -> list[float]:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        steps(model, batches, archs, precision)
        rates.append(sum(x.shape[0] for x, _ in batches) / (time.perf_counter() - start))
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=32, help="image side")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--mode", default=None, help="torch.compile mode (default; 'max-autotune-no-cudagraphs' ...)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    eager = NB201Supernet(C=args.C, N=args.N, num_classes=10, in_channels=3, bn=BNConfig(track_running_stats=False, affine=True))
    compiled = copy.deepcopy(eager)
    batches = [(torch.randn(args.batch, 3, args.size, args.size), torch.randint(0, 10, (args.batch,)))
               for _ in range(args.steps)]
    archs = nb201.sample_archs(args.steps, seed=0, replace=True)
    n = compile_ops(compiled, args.mode)
    start = time.perf_counter()
    steps(compiled, batches, archs, args.precision)  # the warm-up compiles every op shape the steps meet
    warmup = time.perf_counter() - start
    steps(eager, batches, archs, args.precision)
    # Interleaved repeats: both variants see the same machine load.
    e, c = [], []
    for _ in range(args.repeats):
        e += timed(eager, batches, archs, args.precision, 1)
        c += timed(compiled, batches, archs, args.precision, 1)
    me, mc = statistics.median(e), statistics.median(c)
    print(f"C={args.C} N={args.N} batch {args.batch} {args.size}x{args.size} {args.precision}, {args.threads} "
          f"thread(s), {n} op modules compiled (mode {args.mode or 'default'}), first pass {warmup:.0f} s")
    print(f"  eager     {me:7.1f} img/s  {[round(v) for v in e]}")
    print(f"  compiled  {mc:7.1f} img/s  {[round(v) for v in c]}")
    print(f"  compiled / eager: {mc / me:.2f}x")


if __name__ == "__main__":
    main()
