"""scikit-learn's bundled 8x8 handwritten digits, as a tiny offline ImageSet.

The data ship inside scikit-learn (no download), which makes this the
dataset for fast smoke tests and CI runs of the whole pipeline.
"""

from __future__ import annotations

import functools

import numpy as np

from .images import ImageSet

__all__ = ["load_digits"]


@functools.lru_cache(maxsize=1)
def load_digits() -> ImageSet:
    """Return the 1,797 digits as uint8 ``(N, 1, 8, 8)`` images, classes ``"0".."9"``.

    Pixel values 0..16 are scaled to 0..255 with ``round(v * 255 / 16)`` so
    the images look like any other uint8 dataset downstream. The result is
    memoized (its arrays are read-only, so sharing it is safe).
    """
    # Imported lazily: scikit-learn is slow to import and only needed here.
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    pixels = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    return ImageSet(
        images=pixels.reshape(-1, 1, 8, 8),
        labels=bunch.target.astype(np.int64),
        classes=tuple(str(d) for d in range(10)),
        name="digits",
    )
