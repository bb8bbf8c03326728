"""A ground-truth table: architecture -> accuracy, per dataset and split.

A tabular NAS benchmark (NAS-Bench-201, NAS-Bench-101, NDS/NAS-Bench-301 for
DARTS) is, for this project, a table with one row per architecture: an
integer ``index`` (the benchmark's own index where it has one), a string key
``arch_str`` (NAS-Bench-201 arch string, NAS-Bench-101 graph hash, DARTS
genotype string, ...) and float metric columns (accuracies in percent, one
column per dataset and split). :class:`GroundTruthTable` wraps such a frame
with validated, vectorized look-ups. It knows nothing about any one search
space; the space-specific loaders (e.g. :mod:`bench.groundtruth.nb201`)
check the contents.

``label`` says what the numbers are when they are not real training results
(for example ``"surrogate predictions"`` for NAS-Bench-301 labels); it is
empty for measured accuracies.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from bench.errors import BenchError

INDEX_COLUMN = "index"
KEY_COLUMN = "arch_str"

_SHOW = 5  # how many offending items an error message names


class GroundTruthError(BenchError):
    """A ground-truth table is missing, malformed, or asked for something it does not hold."""


def _preview(items: Sequence, limit: int = _SHOW) -> str:
    shown = ", ".join(repr(x) for x in list(items)[:limit])
    more = len(items) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")


def _key_of(arch) -> str:
    """The string key of ``arch``: itself if a str, else ``str(arch)`` (e.g. a NAS-Bench-201 ``Arch``)."""
    return arch if isinstance(arch, str) else str(arch)


class GroundTruthTable:
    """architecture -> accuracy per dataset and split.

    Parameters
    ----------
    frame:
        Columns ``index`` (int), ``arch_str`` (str, unique key of the
        architecture), plus float metric columns. Row order is kept.
    benchmark:
        Short benchmark name, e.g. ``"nb201"``.
    source:
        Where the numbers came from (a path, or a description).
    label:
        What the numbers are when they are not real training results, e.g.
        ``"surrogate predictions"``; empty for measured accuracies.
    """

    def __init__(self, frame: pd.DataFrame, benchmark: str, source: str, label: str = "") -> None:
        if not isinstance(frame, pd.DataFrame):
            raise GroundTruthError(f"a ground-truth table needs a pandas DataFrame, got {type(frame).__name__}")
        missing = [c for c in (INDEX_COLUMN, KEY_COLUMN) if c not in frame.columns]
        if missing:
            raise GroundTruthError(
                f"ground-truth frame from {source!r} lacks required column(s) {missing}; "
                f"it has {list(map(str, frame.columns))}"
            )
        metric_columns = tuple(str(c) for c in frame.columns if c not in (INDEX_COLUMN, KEY_COLUMN))
        if not metric_columns:
            raise GroundTruthError(f"ground-truth frame from {source!r} has no metric columns besides index/arch_str")

        index = frame[INDEX_COLUMN]
        if not pd.api.types.is_integer_dtype(index.dtype):
            raise GroundTruthError(
                f"column 'index' of {source!r} must hold integers, got dtype {index.dtype}"
            )
        keys = frame[KEY_COLUMN].astype(object)
        bad_key = [i for i, k in enumerate(keys) if not isinstance(k, str)]
        if bad_key:
            raise GroundTruthError(
                f"column 'arch_str' of {source!r} must hold strings; row {bad_key[0]} holds {keys.iloc[bad_key[0]]!r}"
            )

        data = {INDEX_COLUMN: index.to_numpy(dtype=np.int64), KEY_COLUMN: keys.to_numpy(dtype=object)}
        for column in metric_columns:
            values = frame[column]
            if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
                raise GroundTruthError(
                    f"metric column {column!r} of {source!r} must be numeric, got dtype {values.dtype}"
                )
            data[column] = values.to_numpy(dtype=np.float64)

        self._frame = pd.DataFrame(data)
        self._columns = metric_columns
        self._keys = pd.Index(data[KEY_COLUMN])
        self._indices = pd.Index(data[INDEX_COLUMN])
        if not self._keys.is_unique:
            dup = self._keys[self._keys.duplicated()].unique()
            raise GroundTruthError(f"duplicate arch_str in {source!r}: {_preview(list(dup))}")
        if not self._indices.is_unique:
            dup = self._indices[self._indices.duplicated()].unique()
            raise GroundTruthError(f"duplicate index in {source!r}: {_preview([int(x) for x in dup])}")
        self.benchmark = str(benchmark)
        self.source = str(source)
        self.label = str(label)

    # -- description ---------------------------------------------------------

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the metric columns."""
        return self._columns

    @property
    def arch_strs(self) -> tuple[str, ...]:
        """The architecture keys, in row order."""
        return tuple(self._frame[KEY_COLUMN])

    @property
    def indices(self) -> np.ndarray:
        """The benchmark indices, in row order."""
        return self._frame[INDEX_COLUMN].to_numpy(copy=True)

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return (
            f"GroundTruthTable(benchmark={self.benchmark!r}, rows={len(self)}, "
            f"columns={list(self._columns)}, source={self.source!r}{label})"
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table as a DataFrame (index, arch_str, metric columns)."""
        return self._frame.copy()

    # -- look-ups -------------------------------------------------------------

    def _check_column(self, column: str) -> str:
        if column not in self._columns:
            raise GroundTruthError(
                f"unknown column {column!r} in the {self.benchmark} table; available: {', '.join(self._columns)}"
            )
        return column

    def contains(self, arch_str) -> bool:
        """True when the table has a row for ``arch_str`` (a str, or an object whose ``str`` is the key)."""
        return _key_of(arch_str) in self._keys

    def by_arch(self, arch_str, column: str) -> float:
        """The value of ``column`` for one architecture."""
        return float(self.lookup([arch_str], column)[0])

    def by_index(self, index: int, column: str) -> float:
        """The value of ``column`` for the row with benchmark index ``index``."""
        self._check_column(column)
        try:
            pos = self._indices.get_loc(int(index))
        except (KeyError, TypeError, ValueError):
            lo, hi = (int(self._indices.min()), int(self._indices.max())) if len(self) else (None, None)
            raise GroundTruthError(
                f"index {index!r} not in the {self.benchmark} table ({len(self)} rows, indices {lo}..{hi})"
            ) from None
        return float(self._frame[column].iloc[pos])

    def lookup(self, arch_strs: Iterable, column: str) -> np.ndarray:
        """Values of ``column`` for many architectures at once (float64 array, same order).

        Raises :class:`GroundTruthError` naming the first few architectures
        the table does not hold.
        """
        self._check_column(column)
        keys = [_key_of(a) for a in arch_strs]
        if not keys:
            return np.empty(0, dtype=np.float64)
        pos = self._keys.get_indexer(keys)
        if (pos < 0).any():
            missing = [k for k, p in zip(keys, pos) if p < 0]
            raise GroundTruthError(
                f"{len(missing)} of {len(keys)} architecture(s) not in the {self.benchmark} table "
                f"({self.source}): {_preview(missing, 3)}"
            )
        return self._frame[column].to_numpy(dtype=np.float64)[pos]

    def values(self, column: str) -> np.ndarray:
        """All values of ``column``, in row order (a copy)."""
        self._check_column(column)
        return self._frame[column].to_numpy(dtype=np.float64, copy=True)

    # -- output ---------------------------------------------------------------

    def to_csv(self, path, float_format: str | None = None) -> Path:
        """Write the table as CSV (index, arch_str, metric columns), atomically: a temporary
        file in the same folder, then a rename, so a reader never sees half a file."""
        return write_frame_atomic(self._frame, path, float_format=float_format)


def write_frame_atomic(frame: pd.DataFrame, path, float_format: str | None = None) -> Path:
    """Write ``frame`` to ``path`` as CSV without its pandas index, via a temp file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            frame.to_csv(handle, index=False, float_format=float_format)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
