"""FLOPs of supernet training, and the FLOP/s this machine attains (for ``bench perf``).

FLOP accounting. :func:`bench.spaces.nb201.complexity` gives the closed-form
FLOPs of a stand-alone NB201 network as **multiply-accumulates** (MACs) of
its convolutions and classifier (the benchmark's convention; BN, ReLU,
pooling and additions are not counted). Here one MAC is 2 FLOPs, and one
training step costs 3x its forward pass (forward; backward to the
activations; backward to the weights), so

    training FLOPs per image = 2 * 3 * MACs(executed subnet).

The executed subnet is the sampled one with the ops the supernet skips
removed: an op whose input node receives nothing (every edge into it is
``none`` or itself skipped) does not run (:class:`bench.supernets.nb201.NB201SupernetCell`),
so it is counted as ``none`` (:func:`bench.spaces.nb201.executed_arch`). The x3 is the usual
convention; the stem's backward to the input image, which autograd does not
compute, is counted all the same (under 1% of the total at C=16, N=5).

Attainable FLOP/s: the median rate of two kernels, each in fp32 and in bf16,
timed on the same device in the same process: a large square matmul, and a
3x3 convolution of the supernet's own shape (C channels in and out at the
input resolution, the training batch, channels-last as the supernet runs),
forward + backward to input and weights (3 x 2 x MACs FLOPs per call).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

from bench.spaces import nb201 as space

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def subnet_macs(arch: space.Arch, C: int, N: int, input_size: int = 32, num_classes: int = 10,
                in_channels: int = 3) -> int:
    """Multiply-accumulates of one image's forward pass through the executed subnet of ``arch``."""
    return space.complexity(space.executed_arch(arch), C=C, N=N, num_classes=num_classes, input_size=input_size,
                            in_channels=in_channels).flops


def train_flops_per_image(archs: Iterable[space.Arch], C: int, N: int, input_size: int = 32,
                          num_classes: int = 10, in_channels: int = 3) -> float:
    """Mean training FLOPs (2 per MAC, x3 for forward + backward) per image over the subnets ``archs``."""
    macs = [subnet_macs(a, C, N, input_size, num_classes, in_channels) for a in archs]
    return 6.0 * sum(macs) / len(macs)


def conv_train_flops(batch: int, channels: int, size: int, kernel: int = 3) -> float:
    """FLOPs of one forward + backward (input and weight gradients) of a same-padded square conv."""
    return 6.0 * batch * channels * channels * kernel * kernel * size * size


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that a timer reads the work done (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(fn: Callable[[], None], flops: float, device: torch.device, repeats: int, min_seconds: float) -> list[float]:
    """FLOP/s of ``fn`` (``flops`` per call) per repeat, each repeat calling it for at least ``min_seconds``."""
    fn()  # warm-up: allocation, kernel selection
    rates = []
    for _ in range(repeats):
        calls = 0
        sync(device)
        start = time.perf_counter()
        while True:
            fn()
            calls += 1
            sync(device)
            seconds = time.perf_counter() - start
            if seconds >= min_seconds:
                break
        rates.append(calls * flops / seconds)
    return rates


def matmul_rate(n: int, precision: str, device: torch.device, repeats: int = 3,
                min_seconds: float = 0.3) -> list[float]:
    """FLOP/s of an n x n by n x n matmul (2 n^3 FLOPs) in ``precision``, per repeat."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device, DTYPES[precision])
    b = torch.randn(n, n, generator=gen).to(device, DTYPES[precision])
    return _rate(lambda: torch.mm(a, b), 2.0 * n ** 3, device, repeats, min_seconds)


def conv_rate(batch: int, channels: int, size: int, precision: str, device: torch.device, repeats: int = 3,
              min_seconds: float = 0.3) -> list[float]:
    """FLOP/s of a 3x3 conv (channels -> channels, size x size, channels-last) forward + backward, per repeat."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    dtype = DTYPES[precision]
    x = torch.randn(batch, channels, size, size, generator=gen).to(device, dtype)
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    w = (torch.randn(channels, channels, 3, 3, generator=gen) * 0.1).to(device, dtype)
    w = w.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    grad = torch.randn(batch, channels, size, size, generator=gen).to(device, dtype)
    grad = grad.contiguous(memory_format=torch.channels_last)

    def step():
        x.grad = w.grad = None
        F.conv2d(x, w, padding=1).backward(grad)

    return _rate(step, conv_train_flops(batch, channels, size), device, repeats, min_seconds)
