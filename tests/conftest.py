"""Shared fixtures: where ../shared/data is, and a skip that says why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("BENCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def require_shared(*parts: str) -> Path:
    """The path under ../shared/data, or a skip naming what was missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared development data: ../shared/data beside the project); absent here")
    return path


@pytest.fixture
def shared_data() -> Path:
    require_shared("cifar10", "train.tar")
    require_shared("nb201", "nb201_hp200.csv")
    return SHARED_DATA
