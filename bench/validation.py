"""Checking one configured value against its declared constraints: the one error shape of every config error.

Shared by the experiment schema (:mod:`bench.config`) and the heuristic
registry (:mod:`bench.heuristics.registry`): "train.lr = -1.0 is out of
range; allowed: a float > 0.0".
"""

from __future__ import annotations

import difflib
import math
from dataclasses import field
from typing import Any, Mapping, Sequence, Union, get_args, get_origin
from bench.errors import BenchError


class ConfigError(BenchError):
    """A configuration problem, reported with the dotted key path."""


def option(default: Any, help: str, *, choices: Sequence[Any] | None = None, low=None, high=None,
           low_open: bool = False, words: Sequence[str] = ()) -> Any:
    """A config field with its help text and constraints (``low``/``high`` bound numbers, inclusive
    unless ``low_open``; ``words``: the strings a number field also accepts, e.g. ``all``)."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "low": low, "high": high,
            "low_open": low_open, "words": tuple(words)}
    return field(default=default, metadata=meta)


def suggest(name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_value(key: str, value: Any, hint: Any, meta: Mapping[str, Any]):
    allowed = get_args(hint) if get_origin(hint) is Union else (hint,)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{key} must not be null; {describe_allowed(hint, meta)}")
    for typ in allowed:
        if typ is type(None):
            continue
        converted = _convert(value, typ)
        if converted is not _NO:
            _check_constraints(key, converted, typ, hint, meta)
            return converted
    raise ConfigError(f"{key} = {value!r} has the wrong type; {describe_allowed(hint, meta)}")


_NO = object()


def _convert(value: Any, typ: type):
    if typ is bool:
        return value if isinstance(value, bool) else _NO
    if typ is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _NO
    if typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "5e-4" as a string
            try:
                return float(value)
            except ValueError:
                return _NO
        return _NO
    if typ is str:
        return value if isinstance(value, str) else _NO
    return _NO


def _check_constraints(key: str, value: Any, typ: type, hint: Any, meta: Mapping[str, Any]) -> None:
    choices = meta.get("choices")
    if typ is str:
        # A str beside a number (pool_size: 100 or 'all') accepts only the declared words.
        if choices is not None and value not in choices:
            raise ConfigError(f"{key} = {value!r} is not allowed; {describe_allowed(hint, meta)}")
        if choices is None and _has_number(hint) and value not in meta.get("words", ()):
            raise ConfigError(f"{key} = {value!r} is not allowed; {describe_allowed(hint, meta)}")
        return
    if typ in (int, float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r} must be finite")
        low, high = meta.get("low"), meta.get("high")
        too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
        too_high = high is not None and value > high
        if too_low or too_high:
            raise ConfigError(f"{key} = {value!r} is out of range; {describe_allowed(hint, meta)}")


def _has_number(hint: Any) -> bool:
    return get_origin(hint) is Union and any(t in (int, float) for t in get_args(hint))


def describe_allowed(hint: Any, meta: Mapping[str, Any]) -> str:
    """'allowed: an int >= 1 or null' -- the one message shape of every config error."""
    parts = []
    allowed = get_args(hint) if get_origin(hint) is Union else (hint,)
    for typ in allowed:
        if typ is type(None):
            parts.append("null")
        elif typ is str:
            choices = meta.get("choices") or (meta.get("words") if _has_number(hint) else None)
            parts.append("one of " + ", ".join(repr(c) for c in choices) if choices else "a string")
        elif typ is bool:
            parts.append("true or false")
        else:
            parts.append(f"{'an int' if typ is int else 'a float'}{_range_text(meta)}")
    return "allowed: " + " or ".join(parts)


def _range_text(meta: Mapping[str, Any]) -> str:
    low, high = meta.get("low"), meta.get("high")
    if low is not None and high is not None:
        return f" in {'(' if meta.get('low_open') else '['}{low}, {high}]"
    if low is not None:
        return f" {'>' if meta.get('low_open') else '>='} {low}"
    if high is not None:
        return f" <= {high}"
    return ""
