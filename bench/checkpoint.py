"""Checkpoints that load safely, say whose they are, and survive a damaged file.

A checkpoint is a ``torch.save`` of plain data only: tensors, dicts, lists,
tuples, str, int, float, bool and None. It is read with
``torch.load(weights_only=True)``, so a file from a shared results folder
can never run code; a file that holds any other pickled object is refused.

The payload says what it is, and everything is checked before anything is
loaded into a model or optimizer (a refused checkpoint is never loaded half
way):

- ``format``: :data:`FORMAT_VERSION`; a file of another version is refused;
- ``identity``: the caller's run key (a config fingerprint) and the names and
  shapes of the model's tensors; a checkpoint of another config or another
  supernet is refused;
- ``digest``: a SHA-256 of everything else. ``torch.load`` does not verify the
  zip's checksums, so without it a flipped byte would load silently.

Each save is atomic (a temporary file, flushed to disk, renamed into place)
and the one before is kept as ``<name>.prev.pt``. On resume a damaged newest
checkpoint (truncated by a full disk or an interrupted copy, zeroed, garbage)
falls back to the previous one with one line on stderr. A checkpoint of
another run or another format does not fall back: the directory belongs to
something else, and :class:`CheckpointError` refuses it. A failed write (disk
full) leaves the previous checkpoints as they were and raises
:class:`CheckpointError` too; its message is one line that names the file
and the fix.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from bench.errors import BenchError

FORMAT_VERSION = 1
PREVIOUS_TAG = ".prev"
TMP_SUFFIX = ".tmp"
DAMAGED_SUFFIX = ".damaged"
ZIP_MAGIC = b"PK\x03\x04"
_PLAIN = (str, int, float, bool, type(None))


class CheckpointError(BenchError):
    """A checkpoint that cannot be used or written; ``problem`` says why, ``fix`` what to do.

    ``unusable``: the checkpoints on disk cannot be resumed from (damaged,
    another run's, another format), so starting afresh is the fix; False for
    a failed write, after which the previous checkpoints are intact.
    """

    def __init__(self, problem: str, fix: str, unusable: bool = True):
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix
        self.unusable = unusable

    def with_fix(self, fix: str) -> CheckpointError:
        """The same problem with the fix the caller knows better (``bench run --restart``, ``--retry-failed``)."""
        return CheckpointError(self.problem, fix, self.unusable)

    def __reduce__(self):
        return CheckpointError, (self.problem, self.fix, self.unusable)


class _Damaged(Exception):
    """A checkpoint file that cannot be read as one (the previous one may still serve)."""


@dataclass(frozen=True)
class Identity:
    """Whose a checkpoint is: the caller's run key and the names and shapes of the model's tensors."""

    key: str
    shapes: dict[str, list[int]]

    @classmethod
    def of(cls, model: torch.nn.Module, key: str) -> Identity:
        return cls(key, {name: list(t.shape) for name, t in model.state_dict().items()})

    def to_dict(self) -> dict:
        return {"key": self.key, "shapes": self.shapes}


@dataclass(frozen=True)
class Loaded:
    """A checked checkpoint: where it came from, the epoch it holds, the model's tensors, the caller's state."""

    path: Path
    epoch: int
    model: dict
    state: Any  # what the caller's ``parse`` made of the saved state


def previous_path(path: Path) -> Path:
    """``checkpoint.pt`` -> ``checkpoint.prev.pt``: the checkpoint kept from the save before."""
    return path.with_name(f"{path.stem}{PREVIOUS_TAG}{path.suffix}")


def files(path: Path) -> tuple[Path, Path]:
    """The newest checkpoint and the one kept before it."""
    return path, previous_path(path)


def spares(path: Path) -> tuple[Path, Path, Path]:
    """What may lie beside a checkpoint: the one before it, a leftover temporary file, a damaged one set aside."""
    return previous_path(path), _tmp_path(path), damaged_path(path)


def discard(path: Path) -> None:
    """Remove a checkpoint and its spares."""
    path.unlink(missing_ok=True)
    discard_spares(path)


def discard_spares(path: Path) -> None:
    """Keep only the checkpoint itself (a finished run needs no other)."""
    for p in spares(path):
        p.unlink(missing_ok=True)


def damaged_path(path: Path) -> Path:
    """Where a damaged newest checkpoint is set aside once its predecessor is resumed from."""
    return path.with_name(path.name + DAMAGED_SUFFIX)


# -- saving ---------------------------------------------------------------------------------------
def save(path: Path, identity: Identity, epoch: int, model: dict, state: dict, keep_previous: bool = True) -> None:
    """Write a checkpoint atomically; with ``keep_previous`` the one it replaces becomes ``<name>.prev.pt``.

    ``model`` is a model's ``state_dict()``; ``state`` any plain data (numpy
    scalars become Python numbers, dict subclasses dicts). A failed write
    (disk full) removes the temporary file, leaves the existing checkpoints
    untouched and raises :class:`CheckpointError`.
    """
    payload = {"format": FORMAT_VERSION, "identity": identity.to_dict(), "epoch": int(epoch), "model": model,
               "state": plain(state)}
    payload["digest"] = digest(payload)
    tmp = _tmp_path(path)
    try:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename: a power cut leaves the old file or the new one
        if keep_previous and path.is_file():
            os.replace(path, previous_path(path))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        kept = [p.name for p in files(path) if p.is_file()]
        intact = f"{' and '.join(kept)} {'is' if len(kept) == 1 else 'are'} intact; " if kept else ""
        raise CheckpointError(f"could not write checkpoint {path} ({exc.strerror or exc})",
                              f"{intact}free some disk space (or fix the file system) and run the same command "
                              "again to resume", unusable=False) from None


def _tmp_path(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


def plain(value: Any) -> Any:
    """``value`` as the plain data ``weights_only`` loading accepts; TypeError names anything else."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, _PLAIN):  # subclasses of the plain types (an IntEnum, a str subclass)
        return next(t for t in _PLAIN if isinstance(value, t))(value)
    raise TypeError(f"a checkpoint holds only tensors and plain values, not {type(value).__qualname__}")


def digest(payload: dict) -> str:
    """SHA-256 over everything but the digest itself: types, values, and every tensor's dtype, shape, bytes."""
    h = hashlib.sha256()
    for name in ("format", "identity", "epoch", "model", "state"):
        h.update(name.encode())
        _feed(h, payload[name])
    return h.hexdigest()


def _feed(h, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{list(value.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for k, v in value.items():
            _feed(h, k)
            _feed(h, v)
    elif isinstance(value, (list, tuple)):
        h.update(f"{'L' if isinstance(value, list) else 'U'}{len(value)}".encode())
        for v in value:
            _feed(h, v)
    else:
        h.update(f"{type(value).__name__}:{value!r};".encode())


# -- loading --------------------------------------------------------------------------------------
def load(path: Path, identity: Identity, device: torch.device | str = "cpu",
         parse: Callable[[Any], Any] | None = None) -> Loaded | None:
    """The newest usable checkpoint at ``path`` (else the one kept before it); None where there is none.

    Everything is checked before it is returned: the format version, the
    digest, the identity, the model's tensors against the identity's shapes,
    and ``parse(state)``, which returns what the caller needs and raises
    ValueError, KeyError or TypeError where the state is malformed. A damaged
    newest file falls back to the previous one with one line on stderr; a
    checkpoint of another run or format, or no usable one, raises
    :class:`CheckpointError` (the default fix: delete the directory).
    """
    candidates = [p for p in files(path) if p.is_file()]
    if not candidates:
        return None
    fix = f"delete {path.parent} to start afresh"
    damaged: list[tuple[Path, str]] = []
    for p in candidates:
        try:
            loaded = _load_one(p, identity, device, parse, fix)
        except _Damaged as exc:
            damaged.append((p, str(exc)))
            continue
        if p != path:
            _report_fallback(path, damaged[0][1] if damaged else None, loaded)
        return loaded
    (first, reason), rest = damaged[0], damaged[1:]
    also = f", and so is {rest[0][0].name} ({rest[0][1]})" if rest else " and there is no earlier one to resume from"
    raise CheckpointError(f"checkpoint {first} is damaged ({reason}){also}", fix)


def _report_fallback(path: Path, reason: str | None, loaded: Loaded) -> None:
    """One line on stderr; a damaged newest file is set aside, so the next save does not keep it as the previous."""
    if reason is None:
        print(f"bench: {path} is missing (interrupted while saving); resuming from {loaded.path.name} (after epoch "
              f"{loaded.epoch})", file=sys.stderr)
        return
    aside = damaged_path(path)
    try:
        os.replace(path, aside)
        kept = f"; the damaged file is kept as {aside.name}"
    except OSError:
        kept = ""
    print(f"bench: {path} is damaged ({reason}); resuming from {loaded.path.name} (after epoch {loaded.epoch})"
          f"{kept}", file=sys.stderr)


def _load_one(path: Path, identity: Identity, device, parse, fix: str) -> Loaded:
    payload = _read(path, device)
    _check_format(payload, path, fix)
    if payload.get("digest") != digest(payload):
        raise _Damaged("its contents do not match their checksum: corrupted on disk or in transfer")
    _check_identity(payload["identity"], identity, path, fix)
    _check_model(payload["model"], identity)
    try:
        state = parse(payload["state"]) if parse is not None else payload["state"]
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise _Damaged(f"unexpected contents: {_first_line(exc) or type(exc).__name__}") from None
    return Loaded(path, payload["epoch"], payload["model"], state)


def _read(path: Path, device) -> dict:
    """The file's payload, read without running any pickled code; _Damaged saying why it cannot be read."""
    _check_archive(path)
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found:
            raise _Damaged(f"it holds a pickled Python object, {found.group(1)}, which is never loaded: a "
                           "checkpoint holds only tensors and plain values") from None
        raise _Damaged(f"unreadable: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes the reader raise, it is damaged
        raise _Damaged(f"unreadable: {_first_line(exc) or type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise _Damaged(f"unexpected contents: a {type(payload).__name__}, not a checkpoint")
    return payload


def _check_archive(path: Path) -> None:
    """A ``torch.save`` file is a zip archive: say plainly when it is none, or an incomplete one."""
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise _Damaged("empty file")
    if head != ZIP_MAGIC:
        raise _Damaged("not a checkpoint file at all")
    try:
        zipfile.ZipFile(path).close()  # reads the directory at the end: gone where the file was cut short
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _Damaged("truncated or corrupt: not a complete checkpoint file") from None


def _check_format(payload: dict, path: Path, fix: str) -> None:
    version = payload.get("format")
    if version == FORMAT_VERSION:
        if not all(k in payload for k in ("identity", "epoch", "model", "state", "digest")):
            raise _Damaged("unexpected contents: parts of the checkpoint are missing")
        return
    if version is None:
        raise CheckpointError(f"checkpoint {path} was written by an older version of bench (it has no format "
                              "version), so it cannot be checked against this run", fix)
    raise CheckpointError(f"checkpoint {path} has format version {version!r}; this version of bench reads "
                          f"version {FORMAT_VERSION}", fix)


def _check_identity(saved: dict, identity: Identity, path: Path, fix: str) -> None:
    if not isinstance(saved, dict) or not isinstance(saved.get("shapes"), dict):
        raise _Damaged("unexpected contents: no identity")
    if saved.get("key") != identity.key:
        raise CheckpointError(f"checkpoint {path} belongs to another run (run key {saved.get('key')!r}; this "
                              f"run's is {identity.key!r})", fix)
    differences = list(_shape_differences(saved["shapes"], identity.shapes))
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        raise CheckpointError(f"checkpoint {path} belongs to another supernet: {differences[0]}{more}", fix)


def _shape_differences(saved: dict, expected: dict[str, list[int]]) -> Iterator[str]:
    for name, shape in expected.items():
        if name not in saved:
            yield f"it has no tensor {name}"
        elif list(saved[name]) != shape:
            yield f"{name} has shape {list(saved[name])} there, {shape} here"
    for name in saved:
        if name not in expected:
            yield f"it has a tensor {name} this supernet lacks"


def _check_model(model: Any, identity: Identity) -> None:
    """The saved tensors are the ones the identity lists (a damaged file could disagree with itself)."""
    if not isinstance(model, dict) or not all(isinstance(t, torch.Tensor) for t in model.values()):
        raise _Damaged("unexpected contents: the model's state is not a set of tensors")
    shapes = {name: list(t.shape) for name, t in model.items()}
    if shapes != identity.shapes:
        raise _Damaged("unexpected contents: the model's tensors disagree with the checkpoint's identity")


def check_optimizer(saved: Any, optimizer: torch.optim.Optimizer) -> None:
    """ValueError unless ``saved`` is a state dict of ``optimizer``'s parameter groups, buffers of their shapes.

    ``Optimizer.load_state_dict`` checks the group sizes only when it loads;
    checking first keeps a refused checkpoint from being loaded half way.
    """
    groups, live = saved["param_groups"], optimizer.param_groups
    if len(groups) != len(live) or any(len(g["params"]) != len(l["params"]) for g, l in zip(groups, live)):
        raise ValueError("the optimizer's parameter groups differ from this model's")
    params = dict(zip((i for g in groups for i in g["params"]), (p for g in live for p in g["params"])))
    for index, entry in saved["state"].items():
        param = params[index]
        for t in _tensors(entry):
            if t.dim() > 0 and t.shape != param.shape:
                raise ValueError(f"an optimizer buffer has shape {list(t.shape)}, its parameter "
                                 f"{list(param.shape)}")


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:160] if lines else ""
