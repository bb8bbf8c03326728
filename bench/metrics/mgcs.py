"""The subnets of the MGCS experiment (CaLR+MS supplement, Jeon et al., CVPR 2025, Sec. C.6, Table I).

A_0 and, for n = 1, 3, 5, A_n: A_0 with the ops of n random edges changed.
The ``mgcs`` sampler trains them together in every step
(:mod:`bench.heuristics.sampling`) and :class:`bench.metrics.gradients.GradientStats`
measures the cosine between A_0's first-layer gradient and each A_n's. Drawing
them needs numpy alone, so the config check and the sampler do not load torch.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bench.spaces import nb201 as space

MGCS_CHANGES = (1, 3, 5)  # n of the supplement's A_n
MGCS_LABELS = tuple(f"A{n}" for n in MGCS_CHANGES)  # the metric names' labels (metric_names.mgcs)


def mgcs_subnets(seed: int, changes: Sequence[int] = MGCS_CHANGES) -> tuple[space.Arch, ...]:
    """A_0 and, for each n in ``changes``, A_n: A_0 with the ops of n random edges changed to other ops.

    Our choice where the supplement (Sec. C.6, Fig. D) leaves it open: ops are
    drawn without ``none``, so that no subnet is degenerate (a degenerate
    subnet's first-layer gradient is zero and its cosine undefined).
    """
    rng = np.random.default_rng(seed)
    ops = [op for op in space.OPS if op != space.NONE]
    base = space.Arch(tuple(ops[i] for i in rng.integers(0, len(ops), size=space.NUM_EDGES)))
    archs = [base]
    for n in changes:
        arch = base
        for edge in rng.choice(space.NUM_EDGES, size=n, replace=False):
            others = [op for op in ops if op != base.ops[edge]]
            arch = arch.with_op(int(edge), others[int(rng.integers(len(others)))])
        archs.append(arch)
    return tuple(archs)
