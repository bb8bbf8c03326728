"""Input checks shared by the metric modules: one place that says what a metric accepts."""

from __future__ import annotations

import numpy as np


def finite_vector(x, name: str, min_len: int = 0) -> np.ndarray:
    """``x`` as a 1-D float64 array of finite numbers with at least ``min_len`` entries (ValueError naming it)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, a 1-D sequence of numbers: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < min_len:
        raise ValueError(f"{name} needs at least {min_len} entries, got {arr.size}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; entry {int(bad[0])} is {arr[bad[0]]} ({bad.size} non-finite)")
    return arr
