"""Reading the official CIFAR-10 python pickles (``cifar-10-batches-py/``).

Each batch file is a pickled dict with ``b"data"`` (uint8, ``(n, 3072)``:
1024 red, then 1024 green, then 1024 blue values, each plane row-major) and
``b"labels"`` (a list of ints). ``batches.meta`` holds ``b"label_names"``.

Pickles can run arbitrary code when loaded, and a data directory is user
input, so we unpickle with an allow-list: only the few globals that numpy
arrays need can be resolved. The official files (written by numpy 1.x) and
files written by numpy 2.x both load; anything else is rejected as corrupt.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = [
    "PICKLE_DIR",
    "TRAIN_BATCHES",
    "TEST_BATCHES",
    "META_FILE",
    "batch_files",
    "read_meta",
    "read_batch",
    "read_pickle_split",
]

PICKLE_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
META_FILE = "batches.meta"

# numpy's array reconstruction helpers, looked up from live objects rather
# than imported by name: numpy 2 moved them from numpy.core to numpy._core and
# importing the old path emits a DeprecationWarning.
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]
# Protocol-5 pickles of contiguous arrays use numpy's _frombuffer instead.
_FROMBUFFER = np.zeros(1, dtype=np.uint8).__reduce_ex__(5)[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    # Python 3 writes bytes objects at protocol <= 2 as _codecs.encode(str, "latin1").
    ("_codecs", "encode"): codecs.encode,
    ("numpy", "dtype"): np.dtype,
}


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy array globals (see module docstring)."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        """Return an allowed global or refuse with UnpicklingError."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None


def _load_pickle(path: Path) -> object:
    """Unpickle ``path`` with bytes-encoded py2 strings, as CIFAR needs.

    Raises:
        DataError: naming the file if it is missing, unreadable or not a
            valid (allowed) pickle.
    """
    try:
        with open(path, "rb") as f:
            return _SafeUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(f"CIFAR-10 pickle {path} is missing") from None
    except Exception as exc:  # pickle raises many types on garbage input
        raise DataError(
            f"CIFAR-10 pickle {path} is corrupt or not a CIFAR-10 batch file: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def batch_files(pickle_dir: Path, split: str) -> list[Path]:
    """The files a split needs: its batch files, then ``batches.meta``."""
    names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    return [pickle_dir / n for n in names] + [pickle_dir / META_FILE]


def read_meta(path: Path) -> tuple[str, ...]:
    """Read class names from ``batches.meta``.

    Raises:
        DataError: if the file is corrupt or lacks ``label_names``.
    """
    meta = _load_pickle(path)
    if not isinstance(meta, dict) or b"label_names" not in meta:
        found = sorted(map(repr, meta)) if isinstance(meta, dict) else type(meta).__name__
        raise DataError(f"CIFAR-10 meta file {path} has no b'label_names' entry; found {found}")
    names = meta[b"label_names"]
    return tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one batch file into ``(images (n, 3, 32, 32) uint8, labels (n,) int64)``.

    Raises:
        DataError: naming the file, if it is corrupt or its arrays have the
            wrong keys, dtype or shape.
    """
    batch = _load_pickle(path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        found = sorted(map(repr, batch)) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(f"CIFAR-10 batch {path} lacks b'data'/b'labels'; found {found}")
    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        desc = f"dtype {data.dtype}, shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"CIFAR-10 batch {path}: b'data' must be uint8 of shape (n, 3072); found {desc}")
    try:
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"CIFAR-10 batch {path}: b'labels' is not a list of integers ({exc})") from exc
    if labels.shape != (data.shape[0],):
        raise DataError(
            f"CIFAR-10 batch {path}: {data.shape[0]} images but labels of shape {labels.shape}"
        )
    # Each row is three 32x32 planes (R, G, B), each row-major, which is
    # exactly C-order (3, 32, 32): the reshape is free and channels-first.
    return data.reshape(-1, 3, 32, 32), labels


def read_pickle_split(pickle_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read every batch of a split, concatenated in the official order.

    Returns ``(images, labels, classes)``. Count checks are the caller's job
    (see ``cifar10.OFFICIAL_COUNTS``) so tests can use tiny fake batches.

    Raises:
        DataError: listing missing files, or naming a corrupt one.
    """
    files = batch_files(pickle_dir, split)
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DataError(
            f"CIFAR-10 pickle folder {pickle_dir} is incomplete for split {split!r}: "
            f"missing {', '.join(missing)}"
        )
    classes = read_meta(files[-1])
    parts = [read_batch(f) for f in files[:-1]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(
            f"CIFAR-10 pickles in {pickle_dir}: labels must lie in [0, {len(classes)}) "
            f"for the {len(classes)} classes of {META_FILE}; found [{labels.min()}, {labels.max()}]"
        )
    return images, labels, classes
