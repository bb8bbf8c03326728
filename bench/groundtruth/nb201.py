"""NAS-Bench-201 ground truth: load the 15,625-row CSV table, or build it from the official file.

Source: Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible
Neural Architecture Search", ICLR 2020. The table has one row per cell:
``index`` (the official benchmark index), ``arch_str`` (the official string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``) and ten accuracy columns in percent,
the mean over training seeds of the 200-epoch protocol (``hp='200'``):

===========================  ==============================================================
column                       meaning (dataset / split in ``nas_201_api`` terms)
===========================  ==============================================================
cifar10_test                 'cifar10' (trained on train+valid), 'ori-test' (CIFAR-10 test)
cifar10-valid_train          'cifar10-valid' (trained on half the train set), 'train'
cifar10-valid_valid          'cifar10-valid', 'x-valid' (the other half of the train set)
cifar10-valid_test           'cifar10-valid', 'ori-test' (CIFAR-10 test set)
cifar100_train/valid/test    'cifar100', 'train' / 'x-valid' / 'x-test' (halves of the test set)
ImageNet16-120_train/...     'ImageNet16-120', 'train' / 'x-valid' / 'x-test'
===========================  ==============================================================

The search protocol ranks by ``cifar10-valid_valid`` (:data:`DEFAULT_COLUMN`).
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from bench.groundtruth.table import (
    INDEX_COLUMN,
    KEY_COLUMN,
    GroundTruthError,
    GroundTruthTable,
    write_frame_atomic,
)
from bench.spaces.nb201 import SPACE_SIZE, ArchError, all_archs, format_arch, parse_arch

BENCHMARK = "nb201"

NB201_COLUMNS: tuple[str, ...] = (
    "cifar10_test",
    "cifar10-valid_train",
    "cifar10-valid_valid",
    "cifar10-valid_test",
    "cifar100_train",
    "cifar100_valid",
    "cifar100_test",
    "ImageNet16-120_train",
    "ImageNet16-120_valid",
    "ImageNet16-120_test",
)
"""The ten metric columns of the NAS-Bench-201 table, in file order."""

DEFAULT_COLUMN = "cifar10-valid_valid"
"""The column the NAS-Bench-201 search protocol ranks by."""

TABLE_RELPATH = Path("nb201") / "nb201_hp200.csv"

# (dataset, key of NASBench201API.get_more_info) -> column. In nas_201_api
# (v1.0 and v2.0 alike) get_more_info reports 'train-accuracy' from the
# 'train' set; for 'cifar10-valid' 'valid-accuracy' is 'x-valid' and
# 'test-accuracy' is 'ori-test'; for 'cifar10' only 'test-accuracy'
# ('ori-test'); for 'cifar100' and 'ImageNet16-120' 'valid-accuracy' is
# 'x-valid' and 'test-accuracy' is 'x-test' ('valtest-accuracy' would be the
# whole original test set, which the table does not use).
API_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "cifar10-valid": (
        ("train-accuracy", "cifar10-valid_train"),
        ("valid-accuracy", "cifar10-valid_valid"),
        ("test-accuracy", "cifar10-valid_test"),
    ),
    "cifar10": (("test-accuracy", "cifar10_test"),),
    "cifar100": (
        ("train-accuracy", "cifar100_train"),
        ("valid-accuracy", "cifar100_valid"),
        ("test-accuracy", "cifar100_test"),
    ),
    "ImageNet16-120": (
        ("train-accuracy", "ImageNet16-120_train"),
        ("valid-accuracy", "ImageNet16-120_valid"),
        ("test-accuracy", "ImageNet16-120_test"),
    ),
}


def default_table_path(data_dir) -> Path:
    """Where the table lives inside a data folder: ``data_dir/nb201/nb201_hp200.csv``."""
    return Path(data_dir) / TABLE_RELPATH


@functools.lru_cache(maxsize=1)
def _canonical_arch_strs() -> frozenset[str]:
    return frozenset(format_arch(a) for a in all_archs())


def _show(value) -> str:
    """repr of a cell value, without numpy's ``np.float64(...)`` wrapper."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _line(row: int) -> str:
    """Human position of data row ``row`` (0-based) in a CSV file with a header line."""
    return f"row {row} (file line {row + 2})"


def _first_duplicate(values: np.ndarray):
    """(the first duplicated value, the rows holding it, how many rows share any value) or None."""
    dup = pd.Series(values).duplicated(keep=False).to_numpy()
    if not dup.any():
        return None
    rows = np.flatnonzero(dup)
    first = values[rows[0]]
    return first, [int(r) for r in rows if values[r] == first], int(dup.sum())


def validate_nb201_frame(frame: pd.DataFrame, source: str, expected_rows: int | None = SPACE_SIZE) -> pd.DataFrame:
    """Check a NAS-Bench-201 table and return it cleaned (required columns only, sorted by index).

    Checks, each failing with a :class:`GroundTruthError` that names the row
    or column: required columns present; ``expected_rows`` rows (``None``:
    any number, for partial tables); integer ``index``, unique, within
    0..15624 (and equal to 0..15624 for a full table); every ``arch_str`` a
    valid arch string in canonical form; arch strings unique (and covering
    the whole space for a full table); every metric finite and in [0, 100].
    """
    required = (INDEX_COLUMN, KEY_COLUMN) + NB201_COLUMNS
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise GroundTruthError(
            f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}"
        )
    frame = frame.loc[:, list(required)].reset_index(drop=True)
    n = len(frame)
    if expected_rows is not None and n != expected_rows:
        raise GroundTruthError(
            f"{source}: expected {expected_rows} rows (one per NAS-Bench-201 cell), found {n}"
        )
    if n == 0:
        raise GroundTruthError(f"{source}: the table is empty")

    # index: integers, unique, in range (equal to 0..SPACE_SIZE-1 when full)
    index = pd.to_numeric(frame[INDEX_COLUMN], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(index.to_numpy(dtype=float)) | (index.to_numpy(dtype=float) % 1 != 0))
    if bad.size:
        r = int(bad[0])
        raise GroundTruthError(f"{source}: {_line(r)}: index {_show(frame[INDEX_COLUMN].iloc[r])} is not an integer")
    index = index.to_numpy(dtype=np.int64)
    out_of_range = np.flatnonzero((index < 0) | (index >= SPACE_SIZE))
    if out_of_range.size:
        r = int(out_of_range[0])
        raise GroundTruthError(f"{source}: {_line(r)}: index {index[r]} outside 0..{SPACE_SIZE - 1}")
    duplicate = _first_duplicate(index)
    if duplicate is not None:
        first, rows_same, count = duplicate
        raise GroundTruthError(
            f"{source}: duplicate index {first} in rows {rows_same[:5]} ({count} rows share an index)"
        )
    # (unique, within 0..SPACE_SIZE-1 and SPACE_SIZE rows: exactly 0..SPACE_SIZE-1)
    frame[INDEX_COLUMN] = index

    # arch strings: compare with the canonical set; parse only the odd ones for a reason
    canonical = _canonical_arch_strs()
    arch_strs = frame[KEY_COLUMN].astype(object).to_numpy()
    for r, s in enumerate(arch_strs):
        if isinstance(s, str) and s in canonical:
            continue
        if not isinstance(s, str):
            reason = "missing or not a string"
        else:
            try:
                arch = parse_arch(s)
            except ArchError as exc:
                reason = str(exc)
            else:
                reason = f"not in canonical form; expected {format_arch(arch)!r}"
        raise GroundTruthError(f"{source}: {_line(r)} (index {index[r]}): bad arch_str {_show(s)}: {reason}")
    duplicate = _first_duplicate(arch_strs)
    if duplicate is not None:
        first, rows_same, _ = duplicate
        raise GroundTruthError(f"{source}: arch_str {first!r} appears in rows {rows_same[:5]}")
    if expected_rows == SPACE_SIZE:
        absent = canonical.difference(arch_strs.tolist())
        if absent:  # cannot happen for n == SPACE_SIZE unique canonical strings; kept as a guard
            raise GroundTruthError(f"{source}: {len(absent)} cells missing, e.g. {sorted(absent)[:3]}")
    frame[KEY_COLUMN] = arch_strs

    # metrics: numeric, finite, within [0, 100]
    for column in NB201_COLUMNS:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        nonfinite = np.flatnonzero(~np.isfinite(values))
        if nonfinite.size:
            r = int(nonfinite[0])
            raise GroundTruthError(
                f"{source}: column {column!r}, {_line(r)} (index {index[r]}): value {_show(raw.iloc[r])} is not a "
                f"finite number ({nonfinite.size} non-finite value(s) in this column)"
            )
        outside = np.flatnonzero((values < 0.0) | (values > 100.0))
        if outside.size:
            r = int(outside[0])
            raise GroundTruthError(
                f"{source}: column {column!r}, {_line(r)} (index {index[r]}): value {values[r]} outside [0, 100] "
                f"(accuracies are in percent; {outside.size} value(s) outside in this column)"
            )
        frame[column] = values
    return frame.sort_values(INDEX_COLUMN, kind="stable").reset_index(drop=True)


def load_nb201_csv(path, *, expected_rows: int | None = SPACE_SIZE) -> GroundTruthTable:
    """Load and validate the NAS-Bench-201 table (``nb201_hp200.csv`` format).

    Every problem raises :class:`GroundTruthError` naming the file and the
    offending row or column (see :func:`validate_nb201_frame`). Rows come
    back sorted by ``index``. ``expected_rows=None`` accepts a partial table
    (a subset of cells); the default demands all 15,625 cells.
    """
    path = Path(path)
    if not path.exists():
        raise GroundTruthError(
            f"NAS-Bench-201 table not found at {path}; expected a CSV such as <data-dir>/{TABLE_RELPATH.as_posix()} "
            "(build one from NAS-Bench-201-v1_1-096897.pth with import_nb201_pth)"
        )
    if not path.is_file():
        raise GroundTruthError(f"NAS-Bench-201 table path {path} is not a file")
    try:
        frame = pd.read_csv(path, dtype={KEY_COLUMN: object})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"{path}: cannot parse as CSV: {exc}") from exc
    frame = validate_nb201_frame(frame, str(path), expected_rows=expected_rows)
    return GroundTruthTable(frame, benchmark=BENCHMARK, source=str(path))


def _more_info_kwargs(api, hp: str) -> dict:
    """Keyword arguments selecting the training protocol in ``get_more_info``.

    nas_201_api >= 1.1 takes ``hp='12'|'200'``; v1.0 took
    ``use_12epochs_result=True|False`` instead.
    """
    try:
        params = inspect.signature(api.get_more_info).parameters
    except (TypeError, ValueError):
        params = {"hp": None}
    if "hp" in params:
        return {"hp": hp}
    if "use_12epochs_result" in params:
        return {"use_12epochs_result": hp == "12"}
    raise GroundTruthError(
        "this nas_201_api's get_more_info accepts neither 'hp' nor 'use_12epochs_result'; "
        "install the official package with `pip install nas-bench-201`"
    )


def import_nb201_pth(
    pth_path,
    out_csv,
    hp: str = "200",
    *,
    expected_rows: int | None = SPACE_SIZE,
    decimals: int | None = 4,
    progress: Callable[[int, int], None] | None = None,
) -> GroundTruthTable:
    """Build the table from the official benchmark file and write it to ``out_csv``.

    Reads ``NAS-Bench-201-v1_1-096897.pth`` (or v1_0) with the official
    ``nas_201_api`` package (``pip install nas-bench-201``): for every index
    ``i``, ``api.arch(i)`` gives the arch string and
    ``api.get_more_info(i, dataset, hp=hp, is_random=False)`` the accuracies
    averaged over seeds; see :data:`API_KEYS` for which key feeds which
    column. The result passes the same checks as :func:`load_nb201_csv`
    (``expected_rows=None`` for a partial benchmark) before anything is
    written; the CSV is written atomically. Values are rounded to
    ``decimals`` places (4, as in the distributed table; ``None`` keeps full
    precision). ``progress(done, total)`` is called every 500 cells.
    """
    pth_path = Path(pth_path)
    hp = str(hp)
    if hp not in ("12", "200"):
        raise GroundTruthError(f"hp must be '12' or '200', got {hp!r}")
    if not pth_path.is_file():
        raise GroundTruthError(f"NAS-Bench-201 benchmark file not found at {pth_path}")
    try:
        from nas_201_api import NASBench201API as API
    except ImportError as exc:
        raise GroundTruthError(
            "importing the NAS-Bench-201 .pth file needs the official API: `pip install nas-bench-201` "
            f"(provides the nas_201_api module; import failed: {exc})"
        ) from exc

    api = API(str(pth_path), verbose=False)
    kwargs = _more_info_kwargs(api, hp)
    total = len(api)
    rows = []
    for i in range(total):
        row = {INDEX_COLUMN: i, KEY_COLUMN: api.arch(i)}
        for dataset, keys in API_KEYS.items():
            info = api.get_more_info(i, dataset, is_random=False, **kwargs)
            for key, column in keys:
                if key not in info or info[key] is None:
                    raise GroundTruthError(
                        f"{pth_path}: get_more_info({i}, {dataset!r}, hp={hp!r}) has no {key!r} "
                        f"(keys: {sorted(info)})"
                    )
                row[column] = float(info[key])
        rows.append(row)
        if progress is not None and ((i + 1) % 500 == 0 or i + 1 == total):
            progress(i + 1, total)

    frame = pd.DataFrame(rows, columns=[INDEX_COLUMN, KEY_COLUMN, *NB201_COLUMNS])
    if decimals is not None:
        frame[list(NB201_COLUMNS)] = frame[list(NB201_COLUMNS)].round(decimals)
    source = f"{pth_path} (hp={hp})"
    frame = validate_nb201_frame(frame, source, expected_rows=expected_rows)
    out_csv = write_frame_atomic(frame, out_csv)
    return GroundTruthTable(frame, benchmark=BENCHMARK, source=str(out_csv))
