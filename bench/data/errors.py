"""The single exception type for dataset problems, and helpers for its messages.

Every problem with a dataset (missing files, corrupt files, wrong shapes, bad
split sizes) raises :class:`DataError`. It subclasses :class:`ValueError` so
callers that already catch bad-input errors keep working, while callers that
want to report data problems specifically (e.g. a CLI printing "fix your data
directory") can catch just this type.

Messages follow one rule: say what was looked for, where, and what was found,
so a user can fix their data directory without reading the source.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.errors import BenchError

__all__ = ["DataError", "describe_dir"]


class DataError(BenchError):
    """A dataset is missing, incomplete, corrupt or otherwise unusable."""


def describe_dir(path: str | os.PathLike, limit: int = 20) -> str:
    """Describe what a directory holds, for use inside error messages.

    Returns a short human-readable string such as
    ``"contains: cifar10/, nb201/, README.md"`` (directories get a trailing
    slash), ``"does not exist"``, ``"is a file, not a directory"`` or
    ``"is empty"``. At most ``limit`` entries are listed, followed by a count
    of the rest, so a huge folder cannot flood the message.
    """
    p = Path(path)
    if not p.exists():
        return "does not exist"
    if not p.is_dir():
        return "is a file, not a directory"
    try:
        entries = sorted(os.scandir(p), key=lambda e: e.name)
    except OSError as exc:  # e.g. permission denied: say so instead of crashing
        return f"cannot be listed ({exc})"
    if not entries:
        return "is empty"
    names = [e.name + ("/" if e.is_dir() else "") for e in entries[:limit]]
    more = len(entries) - limit
    suffix = f", ... and {more} more" if more > 0 else ""
    return "contains: " + ", ".join(names) + suffix
