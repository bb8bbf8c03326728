"""Decode-once caching of image datasets: an in-process memo plus ``.npz`` files.

Decoding 50,000 JPEGs takes seconds; loading the decoded uint8 arrays from an
uncompressed ``.npz`` takes a fraction of a second, and a second call in the
same process returns the memoized object at once.

Cache keys are SHA-256 digests of a description of the source that includes
each source file's absolute path, size and mtime, so editing, replacing or
moving the data re-decodes instead of serving stale arrays. Old cache files
are never deleted automatically (they are harmless, just disk space).

The cache is an optimization, never a source of failure: an unreadable cache
file is re-decoded, and a cache directory that cannot be written only warns.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .images import ImageSet

__all__ = [
    "CACHE_DIR_ENV",
    "CACHE_FORMAT",
    "resolve_cache_dir",
    "file_stamp",
    "make_key",
    "cached_imageset",
    "clear_memo",
]

CACHE_DIR_ENV = "BENCH_CACHE_DIR"
# Bump when the decoded representation changes (e.g. ordering rules), so old
# cache files stop matching instead of being served with new semantics.
CACHE_FORMAT = 1

_MEMO: dict[str, ImageSet] = {}


def resolve_cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    """The cache directory: explicit argument, else ``$BENCH_CACHE_DIR``, else ``~/.cache/bench``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "bench"


def file_stamp(path: Path, size: int | None = None, mtime_ns: int | None = None) -> list:
    """``[absolute path, size, mtime_ns]`` of a file, for inclusion in a cache key.

    ``size``/``mtime_ns`` may be passed when already known (from a directory
    scan) to avoid a second ``stat``.
    """
    if size is None or mtime_ns is None:
        st = os.stat(path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
    return [str(Path(path).resolve()), int(size), int(mtime_ns)]


def make_key(kind: str, parts: Iterable) -> str:
    """Hex SHA-256 of ``kind``, the cache format and JSON-serializable ``parts``."""
    payload = json.dumps([CACHE_FORMAT, kind, list(parts)], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def clear_memo() -> None:
    """Forget every dataset memoized in this process (frees its memory; the
    ``.npz`` cache files stay)."""
    _MEMO.clear()


def _load_npz(path: Path, key: str, name: str) -> ImageSet | None:
    """Load a cache file written by :func:`_save_npz`; None if absent or unusable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:  # filename holds a key prefix only
                return None
            return ImageSet(
                images=z["images"],
                labels=z["labels"],
                classes=tuple(str(c) for c in z["classes"]),
                name=name,
            )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        # A half-written or damaged cache file must not block training: say so
        # and fall back to decoding (which then overwrites it).
        warnings.warn(f"ignoring unreadable cache file {path}: {type(exc).__name__}: {exc}", stacklevel=3)
        return None


def _save_npz(path: Path, key: str, ds: ImageSet) -> None:
    """Write ``ds`` to ``path`` atomically (temp file in the same dir + os.replace).

    Readers (other processes included) see either no file or a complete one.
    Failures only warn: the data are already decoded in memory.
    """
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp", delete=False
        ) as f:
            tmp_name = f.name
            # Uncompressed: JPEG-sourced pixels compress poorly and
            # decompression would cost more than reading the extra bytes.
            np.savez(
                f,
                images=ds.images,
                labels=ds.labels,
                classes=np.array(ds.classes, dtype=str),
                key=np.array(key),
            )
            f.flush()
            os.fsync(f.fileno())
        # NamedTemporaryFile creates 0600 files; a cache is not secret and may
        # be shared between users of one machine.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        warnings.warn(f"could not write cache file {path}: {exc}", stacklevel=3)
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def cached_imageset(
    key: str, name: str, cache_dir: str | os.PathLike | None, build: Callable[[], ImageSet]
) -> ImageSet:
    """Return the dataset for ``key``: from the memo, else the ``.npz`` cache, else ``build()``.

    Args:
        key: digest from :func:`make_key` describing the source.
        name: dataset name; also the cache file name prefix.
        cache_dir: see :func:`resolve_cache_dir`.
        build: decodes the source (only called on a cache miss); its result
            is written to the cache and memoized.
    """
    ds = _MEMO.get(key)
    if ds is not None:
        return ds
    path = resolve_cache_dir(cache_dir) / f"{name}-{key[:24]}.npz"
    ds = _load_npz(path, key, name)
    if ds is None:
        ds = build()
        _save_npz(path, key, ds)
    _MEMO[key] = ds
    return ds
