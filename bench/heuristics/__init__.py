"""The heuristic registry and every registered heuristic.

Every slot module is imported here, explicitly and in one place, so that
registering a heuristic is one object in one module (see
:mod:`bench.heuristics.registry`).
"""

from bench.heuristics import bn, knobs, lr_schedule, momentum, partition, sampling  # noqa: F401  (registration)
from bench.heuristics.registry import (
    Heuristic,
    Param,
    all_heuristics,
    check_rules,
    choices,
    default_selection,
    get,
    slots,
    validate_selection,
)

__all__ = [
    "Heuristic",
    "Param",
    "all_heuristics",
    "check_rules",
    "choices",
    "default_selection",
    "get",
    "slots",
    "validate_selection",
]
