"""The numbers the papers report for NAS-Bench-201 / CIFAR-10, and the settings they belong to.

Values (listed with their tables and scale in docs/papers.md):
the CaLR+MS paper (Jeon et al., CVPR 2025) and its supplement, Tables E (g),
F (complexity), G (sampling), J (momentum), K (gamma'), I (MGCS), and the
complexity-bias values of Table D. All are paper scale (C=16, N=5, 250 SPOS /
200 FairNAS epochs, 25,000 training images); each entry says so, so that a
report can set the scale beside the comparison.

A setting is matched by config values: every ``match`` item must equal the
value in the run's flattened config (``runs.parquet`` columns). Keys absent
from a grid's table never match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import metric_names as names

PAPER_SCALE = "paper: C=16, N=5, 25k training images, 250 (SPOS) / 200 (FairNAS) epochs, 200 subnets"

_SPOS = {"heuristics.sampling.name": "spos"}
_FAIRNAS = {"heuristics.sampling.name": "fairnas"}
_SHARED = {"heuristics.momentum_buffers.name": "shared", "train.momentum": 0.9}
_MS = {"heuristics.momentum_buffers.name": "ms", "train.momentum": 0.9}
_COSINE = {"heuristics.lr_schedule.name": "cosine"}


def _calr(gamma_prime: float = 4.0, g: str = "log", complexity: str = "params") -> dict:
    return {"heuristics.lr_schedule.name": "calr", "heuristics.lr_schedule.gamma_prime": gamma_prime,
            "heuristics.lr_schedule.g": g, "heuristics.lr_schedule.complexity": complexity}


@dataclass(frozen=True)
class PaperValue:
    setting: str
    metric: str
    value: float
    source: str
    match: dict = field(default_factory=dict)
    scale: str = PAPER_SCALE


_MOMENTUM_0 = {"train.momentum": 0.0, "heuristics.momentum_buffers.name": "shared"}
_TABLES = "CaLR+MS supplement"

PAPER_VALUES: tuple[PaperValue, ...] = (
    PaperValue("SPOS", names.KENDALL_TAU, 0.751, f"{_TABLES}, Tables F, J, K", {**_SPOS, **_SHARED, **_COSINE}),
    PaperValue("SPOS+MS", names.KENDALL_TAU, 0.772, f"{_TABLES}, Tables E, G, J", {**_SPOS, **_MS, **_COSINE}),
    PaperValue("SPOS+CaLR+MS", names.KENDALL_TAU, 0.814, f"{_TABLES}, Tables E, F, G, K", {**_SPOS, **_MS, **_calr()}),
    PaperValue("SPOS+CaLR+MS, gamma'=2", names.KENDALL_TAU, 0.787, f"{_TABLES}, Table K",
               {**_SPOS, **_MS, **_calr(gamma_prime=2.0)}),
    PaperValue("SPOS+CaLR+MS, gamma'=3", names.KENDALL_TAU, 0.797, f"{_TABLES}, Table K",
               {**_SPOS, **_MS, **_calr(gamma_prime=3.0)}),
    PaperValue("SPOS+CaLR+MS, g=x", names.KENDALL_TAU, 0.783, f"{_TABLES}, Table E", {**_SPOS, **_MS, **_calr(g="x")}),
    PaperValue("SPOS+CaLR+MS, g=exp", names.KENDALL_TAU, 0.774, f"{_TABLES}, Table E",
               {**_SPOS, **_MS, **_calr(g="exp")}),
    PaperValue("SPOS+CaLR+MS, FLOPs", names.KENDALL_TAU, 0.783, f"{_TABLES}, Table F",
               {**_SPOS, **_MS, **_calr(complexity="flops")}),
    PaperValue("SPOS+MS, #params sampling", names.KENDALL_TAU, 0.784, f"{_TABLES}, Table G",
               {"heuristics.sampling.name": "complexity_proportional", **_MS, **_COSINE}),
    PaperValue("SPOS, beta=0", names.KENDALL_TAU, 0.615, f"{_TABLES}, Table J", {**_SPOS, **_MOMENTUM_0, **_COSINE}),
    PaperValue("FairNAS", names.KENDALL_TAU, 0.766, f"{_TABLES}, Tables F, J", {**_FAIRNAS, **_SHARED, **_COSINE}),
    PaperValue("FairNAS+CaLR+MS", names.KENDALL_TAU, 0.828, f"{_TABLES}, Tables E, F, G",
               {**_FAIRNAS, **_MS, **_calr()}),
    PaperValue("FairNAS, beta=0", names.KENDALL_TAU, 0.743, f"{_TABLES}, Table J",
               {**_FAIRNAS, **_MOMENTUM_0, **_COSINE}),
    # Complexity bias and C3 are our operationalizations of the paper's verbal definitions (bench.metrics.fairness).
    PaperValue("SPOS", names.COMPLEXITY_BIAS, 0.76, "CaLR+MS supplement, Table D (CB)",
               {**_SPOS, **_SHARED, **_COSINE}),
    PaperValue("SPOS+CaLR", names.COMPLEXITY_BIAS, 0.63, "CaLR+MS supplement, Table D (CB)",
               {**_SPOS, **_SHARED, **_calr()}),
    PaperValue("SPOS", names.COMPLEXITY_CONVERGENCE_CORRELATION, -0.19, "CaLR+MS supplement, Table D (C3)",
               {**_SPOS, **_SHARED, **_COSINE}),
    PaperValue("SPOS+CaLR", names.COMPLEXITY_CONVERGENCE_CORRELATION, -0.09, "CaLR+MS supplement, Table D (C3)",
               {**_SPOS, **_SHARED, **_calr()}),
    PaperValue("MGCS, n=1", names.MGCS_A1, 0.60, f"{_TABLES}, Table I", {"heuristics.sampling.name": "mgcs"}),
    PaperValue("MGCS, n=3", names.MGCS_A3, 0.27, f"{_TABLES}, Table I", {"heuristics.sampling.name": "mgcs"}),
    PaperValue("MGCS, n=5", names.MGCS_A5, 0.09, f"{_TABLES}, Table I", {"heuristics.sampling.name": "mgcs"}),
)


def matches(config_row, match: dict) -> bool:
    """Whether a run's flattened config (a mapping or a pandas row) has every value of ``match``."""
    for key, wanted in match.items():
        if key not in config_row:
            return False
        value = config_row[key]
        if isinstance(wanted, float):
            try:
                if abs(float(value) - wanted) > 1e-9:
                    return False
            except (TypeError, ValueError):
                return False
        elif value != wanted:
            return False
    return True
