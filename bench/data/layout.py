"""The layout of a data directory, and where it is configured.

A data directory holds::

    cifar10/                 CIFAR-10, in any layout load_cifar10 reads:
        cifar-10-batches-py/     official pickles, or
        train/<class>/*, test/<class>/*   image folders, or
        train.tar, test.tar      tars of those folders
    nb201/
        nb201_hp200.csv          NAS-Bench-201 ground truth (hp=200 table)

It is given explicitly (e.g. a ``--data-dir`` option) or through the
``BENCH_DATA_DIR`` environment variable. :func:`check_data_dir` validates it
up front so a configuration error surfaces before any training starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from .cifar10 import SPLITS, find_cifar10_source
from .errors import DataError, describe_dir
from .pickles import batch_files

__all__ = [
    "DATA_DIR_ENV",
    "CIFAR10_SUBDIR",
    "NB201_SUBDIR",
    "NB201_TABLE",
    "resolve_data_dir",
    "cifar10_root",
    "nb201_table_path",
    "check_data_dir",
]

DATA_DIR_ENV = "BENCH_DATA_DIR"
CIFAR10_SUBDIR = "cifar10"
NB201_SUBDIR = "nb201"
NB201_TABLE = "nb201_hp200.csv"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The data directory: the explicit argument if given, else ``$BENCH_DATA_DIR``, else None.

    Does not check that it exists (see :func:`check_data_dir`).
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else None


def cifar10_root(data_dir: str | os.PathLike) -> Path:
    """The ``cifar10/`` folder of a data directory (the ``root`` for load_cifar10)."""
    return Path(data_dir) / CIFAR10_SUBDIR


def nb201_table_path(data_dir: str | os.PathLike) -> Path:
    """Path of the NAS-Bench-201 ground-truth table inside a data directory."""
    return Path(data_dir) / NB201_SUBDIR / NB201_TABLE


def _cifar10_problems(root: Path) -> list[str]:
    """What is missing from a data directory's ``cifar10/`` folder (no decoding)."""
    if not root.is_dir():
        return [
            f"{CIFAR10_SUBDIR}/ is missing: expected CIFAR-10 as cifar-10-batches-py/, "
            f"train/ + test/ image folders, or train.tar + test.tar"
        ]
    problems = []
    for split in SPLITS:
        try:
            source = find_cifar10_source(root, split)
        except DataError:
            problems.append(
                f"{CIFAR10_SUBDIR}/ has no {split!r} split: looked for cifar-10-batches-py/, "
                f"{split}/<class>/ and {split}.tar, but {root} {describe_dir(root)}"
            )
            continue
        if source.layout == "pickles":
            missing = [f.name for f in batch_files(source.path, split) if not f.is_file()]
            if missing:
                problems.append(f"{source.path} lacks {', '.join(missing)} (needed for the {split!r} split)")
    return problems


def check_data_dir(
    data_dir: str | os.PathLike | None, need_cifar10: bool = True, need_nb201: bool = True
) -> None:
    """Check that a data directory holds what a run needs, without decoding anything.

    Args:
        data_dir: the data directory (None means none was configured).
        need_cifar10: require ``cifar10/`` with both splits present.
        need_nb201: require ``nb201/nb201_hp200.csv`` (non-empty).

    Raises:
        DataError: listing everything missing and what the directory contains.
    """
    if data_dir is None:
        raise DataError(
            f"no data directory configured: pass one explicitly (e.g. --data-dir) or set ${DATA_DIR_ENV}"
        )
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} {describe_dir(data_dir)}")
    problems: list[str] = []
    if need_cifar10:
        problems += _cifar10_problems(cifar10_root(data_dir))
    if need_nb201:
        table = nb201_table_path(data_dir)
        if not table.is_file():
            where = table.parent
            problems.append(
                f"{NB201_SUBDIR}/{NB201_TABLE} (NAS-Bench-201 ground truth) is missing; "
                f"{where} {describe_dir(where)}"
            )
        elif table.stat().st_size == 0:
            problems.append(f"{table} is empty")
    if problems:
        raise DataError(
            f"data directory {data_dir} is incomplete:\n"
            + "".join(f"  - {p}\n" for p in problems)
            + f"{data_dir} {describe_dir(data_dir)}"
        )
