"""Datasets for the benchmark: loading, caching, splitting and device-side batching.

Public API:

* :class:`DataError`: raised for every dataset problem.
* :class:`ImageSet`: uint8 ``(N, C, H, W)`` images with int64 labels.
* :func:`load_cifar10`: CIFAR-10 from official pickles, image folders or tars,
  decoded once and cached as ``.npz``; :func:`load_digits`: scikit-learn's
  8x8 digits for fast offline runs.
* :func:`split_indices`: seeded train/held-out split (NAS-Bench-201's
  cifar10-valid protocol).
* :data:`CIFAR10_MEAN`, :data:`CIFAR10_STD`, :func:`channel_stats`.
* :class:`DeviceBatches`, :func:`iterate_in_order`: device-resident,
  deterministic, vectorized augmentation and batching.
* :data:`DATA_DIR_ENV`, :func:`resolve_data_dir`, :func:`check_data_dir`:
  the data-directory layout (``cifar10/``, ``nb201/nb201_hp200.csv``).
"""

from .augment import DeviceBatches, epoch_seed, iterate_in_order
from .cache import CACHE_DIR_ENV, clear_memo
from .cifar10 import CIFAR10_CLASSES, OFFICIAL_COUNTS, find_cifar10_source, load_cifar10
from .digits import load_digits
from .errors import DataError
from .images import ImageSet
from .layout import DATA_DIR_ENV, check_data_dir, cifar10_root, nb201_table_path, resolve_data_dir
from .split import split_indices
from .stats import CIFAR10_MEAN, CIFAR10_STD, channel_stats

__all__ = [
    "DataError",
    "ImageSet",
    "load_cifar10",
    "find_cifar10_source",
    "CIFAR10_CLASSES",
    "OFFICIAL_COUNTS",
    "load_digits",
    "split_indices",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "channel_stats",
    "DeviceBatches",
    "iterate_in_order",
    "epoch_seed",
    "CACHE_DIR_ENV",
    "clear_memo",
    "DATA_DIR_ENV",
    "resolve_data_dir",
    "check_data_dir",
    "cifar10_root",
    "nb201_table_path",
]
