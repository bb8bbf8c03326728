"""The heuristic registry and every registered heuristic.

Every slot module is imported here, explicitly and in one place, so that
registering a heuristic is one class in one module (see
:mod:`bench.heuristics.registry`). Slot modules: :mod:`~bench.heuristics.bn`,
:mod:`~bench.heuristics.lr_policy` (slot ``lr_schedule``; the formulas are
:mod:`~bench.heuristics.schedules`), :mod:`~bench.heuristics.momentum`
(slots ``momentum_buffers`` and ``unused_params``; the optimizer is
:mod:`~bench.heuristics.clustered_sgd`), :mod:`~bench.heuristics.partition`,
:mod:`~bench.heuristics.sampling`, and the knobs, :mod:`~bench.heuristics.knobs`.
"""

from bench.heuristics import bn, knobs, lr_policy, momentum, partition, sampling  # noqa: F401  (registration)
from bench.heuristics.registry import (
    Heuristic,
    Param,
    Selection,
    all_heuristics,
    build,
    check_rules,
    choices,
    default_selection,
    get,
    selection,
    selections,
    slots,
    validate_selection,
)

__all__ = [
    "Heuristic",
    "Param",
    "Selection",
    "all_heuristics",
    "build",
    "check_rules",
    "choices",
    "default_selection",
    "get",
    "selection",
    "selections",
    "slots",
    "validate_selection",
]
