"""Does ``torch.compile`` of the supernet's op modules pay on this machine? (a measurement, not a test)

Compiles every op module of an NB201 supernet (ReLU-Conv-BN ops, 3x3 average
pooling, the residual reductions; not the whole supernet, which would be
recompiled for every sampled path), then times forward + backward of the bare
model on the same batches and subnets, compiled and eager alternately, in fp32
and bf16 autocast; prints the compile (warm-up) time and the medians.

    python scripts/compile_probe.py --C 16 --N 5 --batch 64 --steps 20 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from bench.perf import synthetic_images
from bench.precision import autocast
from bench.spaces import nb201 as space
from bench.supernets.nb201 import AvgPool3x3, NB201Supernet, ReLUConvBN, ResidualReduction


def compile_ops(model: nn.Module) -> int:
    count = 0
    for m in model.modules():
        if isinstance(m, (ReLUConvBN, AvgPool3x3, ResidualReduction)):
            m.compile()
            count += 1
    return count


def bare(model, batches, archs, precision):
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for (x, y), arch in zip(batches, archs):
        model.zero_grad(set_to_none=True)
        with autocast(x.device, precision):
            loss = loss_fn(model(x, arch), y)
        loss.backward()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--precisions", default="fp32,bf16")
    args = p.parse_args()
    torch._dynamo.config.cache_size_limit = 256  # one graph per op shape; more than the default 8
    torch._dynamo.config.accumulated_cache_size_limit = 4096
    data = synthetic_images(args.steps * args.batch)
    x_all = torch.from_numpy(data.images).float().div(255)
    y_all = torch.from_numpy(data.labels)
    batches = [(x_all[i:i + args.batch], y_all[i:i + args.batch]) for i in range(0, len(x_all), args.batch)]
    torch.manual_seed(0)
    eager = NB201Supernet(C=args.C, N=args.N)
    compiled = NB201Supernet(C=args.C, N=args.N)
    compiled.load_state_dict(eager.state_dict())
    n = compile_ops(compiled)
    eager.train(), compiled.train()
    # Warm-up: every op on every edge at least once (all-conv3, all-conv1, all-avgpool, all-skip, then samples).
    warm = [space.Arch((op,) * space.NUM_EDGES) for op in space.OPS[1:]] + list(space.sample_archs(4, seed=99))
    precisions = args.precisions.split(",")
    for precision in precisions:
        start = time.perf_counter()
        bare(compiled, batches[:1] * len(warm), warm, precision)
        print(f"compile warm-up {precision}: {time.perf_counter() - start:.1f} s for {n} op modules", flush=True)
        bare(eager, batches[:1] * len(warm), warm, precision)
    results = {(p, kind): [] for p in precisions for kind in ("eager", "compiled")}
    for repeat in range(args.repeats):
        archs = list(space.sample_archs(len(batches), seed=repeat))
        for precision in precisions:
            for kind, model in (("eager", eager), ("compiled", compiled)):
                seconds = bare(model, batches, archs, precision)
                results[precision, kind].append(len(batches) * args.batch / seconds)
                print(f"repeat {repeat} {precision} {kind}: {results[precision, kind][-1]:.1f} images/s", flush=True)
    for precision in precisions:
        e, c = results[precision, "eager"], results[precision, "compiled"]
        ratio = statistics.median(b / a for a, b in zip(e, c))
        print(f"{precision}: eager {statistics.median(e):.1f}  compiled {statistics.median(c):.1f} images/s  "
              f"compiled/eager {ratio:.3f}")


if __name__ == "__main__":
    main()
