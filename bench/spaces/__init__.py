"""The search spaces (NAS-Bench-201, NAS-Bench-101, DARTS): cells, validity, sampling, complexity."""

from __future__ import annotations

from typing import Callable, Hashable, TypeVar

T = TypeVar("T")


def draw_distinct(draw: Callable[[], T], n: int, key: Callable[[T], Hashable], replace: bool = False) -> list[T]:
    """``n`` results of ``draw()``; without replacement a result whose ``key`` was drawn before is redrawn."""
    out: list[T] = []
    seen: set = set()
    while len(out) < n:
        item = draw()
        if not replace:
            if key(item) in seen:
                continue
            seen.add(key(item))
        out.append(item)
    return out
