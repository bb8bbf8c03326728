"""Seeded train / held-out index splits (NAS-Bench-201's cifar10-valid protocol)."""

from __future__ import annotations

import numpy as np

from .errors import DataError

__all__ = ["split_indices"]


def split_indices(
    n: int, train_size: int | None = None, valid_size: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into disjoint, seeded train and held-out index arrays.

    NAS-Bench-201's ``cifar10-valid`` trains on one half of the CIFAR-10
    training set and validates on the other, so by default (both sizes None)
    each part gets ``n // 2``. If only one size is given, the other part takes
    the rest.

    Both parts are slices of one permutation, ``perm = default_rng(seed).permutation(n)``:
    ``train = perm[:train_size]`` and ``valid = perm[train_size:train_size + valid_size]``.
    They are returned in that permuted order (not sorted) so that, for a
    fixed seed, a smaller train split is a prefix of a larger one, which keeps
    data-budget sweeps nested.

    Args:
        n: number of items to split.
        train_size: size of the train part, or None (see above).
        valid_size: size of the held-out part, or None (see above).
        seed: seed for ``np.random.default_rng``.

    Returns:
        ``(train_idx, valid_idx)``, int64 arrays.

    Raises:
        DataError: if a size is below 1 or the two sizes exceed ``n``.
    """
    n = int(n)
    if train_size is None and valid_size is None:
        train_size = valid_size = n // 2
    elif train_size is None:
        train_size = n - int(valid_size)  # type: ignore[arg-type]
    elif valid_size is None:
        valid_size = n - int(train_size)
    train_size, valid_size = int(train_size), int(valid_size)
    if train_size < 1 or valid_size < 1:
        raise DataError(
            f"split sizes must be at least 1; got train_size={train_size}, valid_size={valid_size} for n={n}"
        )
    if train_size + valid_size > n:
        raise DataError(
            f"split sizes exceed the data: train_size={train_size} + valid_size={valid_size} "
            f"= {train_size + valid_size} > n={n}"
        )
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64)
    return perm[:train_size].copy(), perm[train_size:train_size + valid_size].copy()
