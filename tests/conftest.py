"""Shared fixtures: where the development data is, and a skip that says why.

The data directory is the one ``bench`` itself reads: ``$BENCH_DATA_DIR``
(docs/data.md describes its layout). Where that is unset, the tests look for
the development copy in ``shared/data`` beside the project (``../shared/data``
from the repository root). ``BENCH_SHARED_DATA``, the tests' former variable,
is still honoured, with a deprecation warning, when ``BENCH_DATA_DIR`` is unset.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

DEVELOPMENT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _data_dir() -> Path:
    if os.environ.get("BENCH_DATA_DIR"):
        return Path(os.environ["BENCH_DATA_DIR"]).expanduser()
    if os.environ.get("BENCH_SHARED_DATA"):
        warnings.warn("BENCH_SHARED_DATA is deprecated: set BENCH_DATA_DIR (the variable bench itself reads)",
                      DeprecationWarning, stacklevel=2)
        return Path(os.environ["BENCH_SHARED_DATA"]).expanduser()
    return DEVELOPMENT_DATA


SHARED_DATA = _data_dir()


def require_shared(*parts: str) -> Path:
    """The path under the data directory, or a skip naming what was missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the data directory: set BENCH_DATA_DIR, see docs/data.md); absent here")
    return path


@pytest.fixture
def shared_data() -> Path:
    require_shared("cifar10")
    require_shared("nb201", "nb201_hp200.csv")
    return SHARED_DATA
