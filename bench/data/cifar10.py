"""CIFAR-10 loader: finds the data in any of three layouts, decodes once, caches.

A CIFAR-10 root folder (the ``cifar10/`` folder of a data directory) may hold,
in order of preference:

(a) ``cifar-10-batches-py/``: the official python pickles (what most users
    have; pixel-exact, official order);
(b) ``train/<class>/*.jpg|png`` and ``test/<class>/*``: an image folder;
(c) ``train.tar`` / ``test.tar`` holding that image-folder layout (read
    directly from the tar, not extracted).

The layout is chosen per split. A layout that is present but broken raises
instead of silently falling back to the next one, because a fallback would
hide the problem and could mix different copies of the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cache
from .errors import DataError, describe_dir
from .images import ImageSet
from .imagefiles import read_folder, read_tar, scan_folder
from .pickles import META_FILE, PICKLE_DIR, TEST_BATCHES, TRAIN_BATCHES, batch_files, read_pickle_split

__all__ = [
    "CIFAR10_CLASSES",
    "OFFICIAL_COUNTS",
    "SPLITS",
    "Cifar10Source",
    "find_cifar10_source",
    "decode_source",
    "load_cifar10",
]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
# Exact sizes of the official pickles; image folders/tars may hold any count
# (subsets are legitimate there), so only the pickle layout is held to these.
OFFICIAL_COUNTS = {"train": 50_000, "test": 10_000}
SPLITS = ("train", "test")
_HW = (32, 32)
_MODE = "RGB"


@dataclass(frozen=True)
class Cifar10Source:
    """Where one CIFAR-10 split was found.

    Attributes:
        layout: ``"pickles"``, ``"folder"`` or ``"tar"``.
        split: ``"train"`` or ``"test"``.
        path: the pickle folder, the split's image folder, or the tar file.
    """

    layout: str
    split: str
    path: Path

    def describe(self) -> str:
        """Human-readable location, for messages."""
        return {"pickles": "official pickles in", "folder": "image folder", "tar": "tar"}[self.layout] + f" {self.path}"


def _check_split(split: str) -> None:
    """Reject anything but 'train'/'test' with a hint about validation splits."""
    if split not in SPLITS:
        raise DataError(
            f"CIFAR-10 split must be one of {SPLITS}; got {split!r} "
            "(make a validation split from 'train' with split_indices)"
        )


def find_cifar10_source(root: str | os.PathLike, split: str) -> Cifar10Source:
    """Locate ``split`` under ``root``, preferring pickles, then a folder, then a tar.

    Only checks that the files exist; decoding validates their contents.

    Raises:
        DataError: listing the three layouts looked for and what ``root``
            actually contains.
    """
    _check_split(split)
    root = Path(root).expanduser()
    pickle_dir = root / PICKLE_DIR
    if pickle_dir.is_dir():
        return Cifar10Source("pickles", split, pickle_dir)
    if (root / META_FILE).is_file():
        # Pointing straight at the pickle folder is an easy mistake to forgive.
        return Cifar10Source("pickles", split, root)
    if (root / split).is_dir():
        return Cifar10Source("folder", split, root / split)
    if (root / f"{split}.tar").is_file():
        return Cifar10Source("tar", split, root / f"{split}.tar")

    batches = "data_batch_1..5" if split == "train" else "test_batch"
    hints = []
    if (root / "cifar-10-python.tar.gz").is_file():
        hints.append(f"found cifar-10-python.tar.gz: extract it in {root} to get layout (a)")
    if (root / "cifar10").is_dir():
        hints.append(f"{root} looks like a data directory: pass {root / 'cifar10'} instead")
    hint = "".join(f"\n  hint: {h}" for h in hints)
    raise DataError(
        f"CIFAR-10 {split!r} split not found under {root}. Looked for any of:\n"
        f"  (a) official pickles: {pickle_dir}/{{{batches}, {META_FILE}}}\n"
        f"  (b) image folder: {root / split}/<class>/*.jpg|*.png\n"
        f"  (c) tar of that folder: {root / (split + '.tar')}\n"
        f"but {root} {describe_dir(root)}{hint}"
    )


def _source_key(source: Cifar10Source) -> str:
    """Cache key covering every file the split is decoded from (path, size, mtime)."""
    if source.layout == "pickles":
        files = batch_files(source.path, source.split)
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DataError(
                f"CIFAR-10 pickle folder {source.path} is incomplete for split {source.split!r}: "
                f"missing {', '.join(missing)} ({source.path} {describe_dir(source.path)})"
            )
        parts = [cache.file_stamp(f) for f in files]
    elif source.layout == "folder":
        class_names, entries = scan_folder(source.path)
        parts = [class_names] + [cache.file_stamp(e.path, e.size, e.mtime_ns) for e in entries]
    else:
        parts = [cache.file_stamp(source.path)]
    return cache.make_key(f"cifar10/{source.layout}/{source.split}", parts)


def _check_classes(classes: tuple[str, ...], labels: np.ndarray, where: str) -> None:
    """Image folders/tars must have exactly 10 non-empty classes; report counts if not."""
    counts = np.bincount(labels, minlength=len(classes))
    empty = [c for c, n in zip(classes, counts) if n == 0]
    if len(classes) == len(CIFAR10_CLASSES) and not empty:
        return
    per_class = ", ".join(f"{c}={int(n)}" for c, n in zip(classes, counts)) or "none"
    absent = [c for c in CIFAR10_CLASSES if c not in classes]
    details = []
    if empty:
        details.append(f"classes without images: {', '.join(empty)}")
    if absent:
        details.append(f"CIFAR-10 classes not present: {', '.join(absent)}")
    raise DataError(
        f"expected {len(CIFAR10_CLASSES)} classes with images in {where}; "
        f"found {len(classes) - len(empty)}. Per-class counts: {per_class}"
        + ("; " + "; ".join(details) if details else "")
    )


def decode_source(source: Cifar10Source) -> ImageSet:
    """Decode a located split into an ImageSet (no caching; see load_cifar10).

    Raises:
        DataError: naming the corrupt file, or describing wrong class structure.
    """
    if source.layout == "pickles":
        images, labels, classes = read_pickle_split(source.path, source.split)
        if len(classes) != len(CIFAR10_CLASSES):
            raise DataError(
                f"{source.path / META_FILE} lists {len(classes)} class names, expected "
                f"{len(CIFAR10_CLASSES)}: {', '.join(classes)}"
            )
    elif source.layout == "folder":
        images, labels, classes = read_folder(source.path, _HW, _MODE)
        _check_classes(classes, labels, f"image folder {source.path}")
    else:
        images, labels, classes = read_tar(source.path, source.split, _HW, _MODE)
        _check_classes(classes, labels, f"tar {source.path} ({source.split}/<class>/)")
    if images.shape[1:] != (3, *_HW):
        raise DataError(f"{source.describe()}: expected 3x32x32 images; found {images.shape[1:]}")
    return ImageSet(images=images, labels=labels, classes=classes, name=f"cifar10-{source.split}")


def _check_counts(ds: ImageSet, source: Cifar10Source) -> None:
    """Official pickles must hold exactly 50,000 / 10,000 images."""
    expected = OFFICIAL_COUNTS[source.split]
    if len(ds) != expected:
        names = TRAIN_BATCHES if source.split == "train" else TEST_BATCHES
        per_class = ", ".join(f"{c}={n}" for c, n in ds.class_counts().items())
        raise DataError(
            f"official CIFAR-10 {source.split!r} pickles ({', '.join(names)}) in {source.path} must hold "
            f"exactly {expected} images; found {len(ds)} (per class: {per_class})"
        )


def load_cifar10(
    root: str | os.PathLike,
    split: str = "train",
    cache_dir: str | os.PathLike | None = None,
    *,
    check_counts: bool = True,
) -> ImageSet:
    """Load a CIFAR-10 split as an :class:`ImageSet` named ``"cifar10-<split>"``.

    The first call decodes and writes a ``.npz`` cache to ``cache_dir``
    (default ``$BENCH_CACHE_DIR``, else ``~/.cache/bench``); later calls read
    the cache, and repeated calls in one process return the same memoized
    object. A changed source (path, size or mtime) re-decodes.

    Images are ordered as in the source: the official order for pickles; by
    class, then file name for image folders and tars.

    Args:
        root: the ``cifar10/`` folder of a data directory (see module docstring).
        split: ``"train"`` or ``"test"``.
        cache_dir: where to keep decoded arrays.
        check_counts: require the official 50,000/10,000 images when reading
            the official pickles (tests turn this off to use tiny fake files).

    Raises:
        DataError: if the split is missing, incomplete or corrupt (the message
            names what was looked for, where, and what was found).
    """
    source = find_cifar10_source(root, split)
    key = _source_key(source)
    # The lambda looks decode_source up at call time, so tests can patch it.
    ds = cache.cached_imageset(key, f"cifar10-{split}", cache_dir, lambda: decode_source(source))
    # Checked after the cache, not inside decode: the same cached arrays may be
    # requested with and without the check.
    if check_counts and source.layout == "pickles":
        _check_counts(ds, source)
    return ds
