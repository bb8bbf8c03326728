"""The search-space interface and its registry: one registered :class:`SearchSpace` per ``supernet.space``.

A run reaches a space only through its object (the timm pattern of
``register_model`` / ``create_model``): :func:`register_space` adds one,
:func:`get_space` looks one up by name, :func:`space_names` lists them (the
allowed values of ``supernet.space``). The trainer, the heuristics, the run
and the CLI ask the object for everything that differs between spaces:

- what it is: ``name``, ``label``, ``citation``, its candidate ``ops``;
- what momentum separation (MS) clusters on: ``ms_unit``, ``ms_positions``,
  ``ms_clusters``, :meth:`~SearchSpace.cluster`;
- uniform sampling: :meth:`~SearchSpace.sample`;
- complexity of the stand-alone network the ground truth refers to:
  :meth:`~SearchSpace.complexity`, :meth:`~SearchSpace.complexity_extremes`
  (CaLR's c_min and c_max), :meth:`~SearchSpace.standalone_setting`;
- the weight-sharing supernet: :meth:`~SearchSpace.build_supernet`;
- the ground truth: ``datasets``, :meth:`~SearchSpace.load_benchmark`,
  :meth:`~SearchSpace.parse_keys`;
- which options and heuristics exist on it: :meth:`~SearchSpace.check_options`,
  :meth:`~SearchSpace.root_ops` / :meth:`~SearchSpace.in_op_set` (op subsets),
  and the ``supports_*`` flags.

Each space's module (:mod:`bench.spaces.nb201_space`,
:mod:`bench.spaces.nb101_space`, :mod:`bench.spaces.darts_space`) says what
it chose where the papers leave a choice; :mod:`bench.spaces` imports each of
them once, so a fourth space is one module plus one import line there.

This module, and every space module, imports neither torch nor pandas:
:mod:`bench.config` reads the allowed spaces from the registry, and loading a
config or a grid spec stays light. The torch supernet is imported only when
:meth:`SearchSpace.build_supernet` is called (``supernet``: a dotted path
resolved with :mod:`importlib`), the ground-truth loaders only when
:meth:`SearchSpace.load_benchmark` is.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence, TypeVar

import numpy as np

from bench.validation import ConfigError

Subnet = Any
"""One subnet of a space, as its encoding module defines it: an NB201 :class:`~bench.spaces.nb201.Arch`,
an NB101 :class:`~bench.spaces.nb101.Cell` or a DARTS :class:`~bench.spaces.darts.Genotype`. ``str`` of a
subnet is its ground-truth key (NB101: the graph hash)."""

DEFAULT_SPACE = "nb201"
"""``supernet.space`` of the embedded default job (NB201 supernet on 8x8 digits)."""

EXTREMES_SAMPLE = 2000
"""Sampled subnets that, with a space's constructed extreme cells, bracket its complexity (CaLR's extremes)."""

# Readable names of the datasets in the messages of spaces whose ground truth covers some of them only.
_DATASET_LABELS = {"cifar10": "CIFAR-10"}

T = TypeVar("T")


@dataclass(frozen=True)
class Benchmark:
    """The ground truth of a (task, space): the table, its default column, and the subnets of its keys."""

    table: Any  # a bench.groundtruth.GroundTruthTable
    default_column: str
    archs: Callable[[Sequence[str]], list]


class SearchSpace:
    """What a run needs from a search space. Subclass, set the attributes, implement the hooks that raise
    ``NotImplementedError``, and :func:`register_space` one instance in the space's module."""

    name: str = ""
    label: str = ""  # e.g. "NAS-Bench-201", in help texts
    citation: str = ""  # the paper(s) that define the space
    ops: tuple[str, ...] = ()  # candidate ops of one decision (edge, vertex, pair)

    ms_unit: str = ""  # what MS clusters on: "edge", "vertex slot", "normal-cell pair"
    ms_positions: int = 0  # how many of them (the range of heuristics.momentum_buffers.edge)
    ms_clusters: int = 0  # momentum buffers under MS

    datasets: tuple[str, ...] | None = None  # datasets with ground truth on this space (None: every task's own)
    supernet: str = ""  # "module:Class" of the torch supernet, imported by build_supernet only

    supports_splitting: bool = False  # few-shot / GM-NAS splitting (bench.splitting, bench.nshot)
    supports_edge_samplers: bool = False  # FairNAS, complexity-proportional sampling, MGCS (fixed edges)
    supports_op_subsets: bool = False  # supernet.op_set other than 'all'
    supports_drop_path: bool = False  # supernet.drop_path > 0
    supports_gm_probe: bool = False  # diagnostics.gm_every > 0
    channel_modes: tuple[str, ...] = ("dynamic",)  # allowed supernet.channels

    def __repr__(self) -> str:
        return f"<search space {self.name!r} ({self.label})>"

    # -- sampling and MS clusters ----------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, n: int) -> list[Subnet]:
        """``n`` subnets, uniform as the space defines it, drawn from ``rng``."""
        raise NotImplementedError

    def cluster(self, subnet: Subnet, position: int) -> int:
        """The MS cluster of ``subnet`` for MS position ``position``: an int in ``[0, ms_clusters)``."""
        raise NotImplementedError

    # -- complexity of the stand-alone network ---------------------------------------------------------

    def complexity(self, subnet: Subnet, **setting) -> Any:
        """``.params`` and ``.flops`` of the stand-alone network of ``subnet`` at ``setting``."""
        raise NotImplementedError

    def standalone_setting(self, task) -> dict:
        """Keyword arguments of :meth:`complexity` for the network the ground truth refers to on ``task``
        (a :class:`bench.tasks.Task`)."""
        raise NotImplementedError

    def extreme_candidates(self) -> list[Subnet]:
        """Constructed cells expected at the ends of the complexity range (see :meth:`complexity_extremes`)."""
        return []

    def complexity_extremes(self, **setting) -> tuple:
        """(smallest, largest) complexity in the space, per measure (CaLR's c_min, c_max).

        The default, for spaces too large to enumerate: the smaller and larger,
        per measure, of :meth:`extreme_candidates` and of :data:`EXTREMES_SAMPLE`
        cells sampled with seed 0 (our operationalization: the exact extremes
        would need the whole space). Cached per setting.
        """
        key = tuple(sorted(setting.items()))
        cache = self.__dict__.setdefault("_extremes_cache", {})
        if key not in cache:
            cells = self.extreme_candidates() + self.sample(np.random.default_rng(0), EXTREMES_SAMPLE)
            costs = [self.complexity(c, **setting) for c in cells]
            params = [c.params for c in costs]
            flops = [c.flops for c in costs]
            complexity = type(costs[0])  # the space's own Complexity(params, flops)
            cache[key] = complexity(min(params), min(flops)), complexity(max(params), max(flops))
        return cache[key]

    # -- the supernet ---------------------------------------------------------------------------------

    def supernet_kwargs(self, *, C: int, N: int, drop_path: float, channels: str) -> dict:
        """The supernet class's own keyword arguments for width ``C`` and depth ``N`` (``SupernetConfig``)."""
        raise NotImplementedError

    def build_supernet(self, *, C: int, N: int, num_classes: int, in_channels: int, bn: Any,
                       drop_path: float = 0.0, channels: str = "dynamic"):
        """The weight-sharing supernet (an ``nn.Module``; ``forward(x, subnet)`` runs one subnet).

        ``bn`` is a :class:`bench.supernets.bn.BNConfig`. The supernet's module
        is imported here, from the dotted path ``supernet``, so that loading a
        config (which asks the registry for the allowed spaces) never imports
        torch. ``drop_path`` and ``channels`` other than their defaults are
        refused on a space that lacks them (the config check says so first).
        """
        if drop_path and not self.supports_drop_path:
            raise ValueError(f"drop_path = {drop_path} is not supported on space {self.name!r}")
        if channels not in self.channel_modes:
            raise ValueError(f"channels = {channels!r} is not supported on space {self.name!r}; allowed: "
                             f"{', '.join(map(repr, self.channel_modes))}")
        module_name, _, class_name = self.supernet.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(num_classes=num_classes, in_channels=in_channels, bn=bn,
                   **self.supernet_kwargs(C=C, N=N, drop_path=drop_path, channels=channels))

    # -- ground truth ---------------------------------------------------------------------------------

    def check_dataset(self, dataset: str) -> None:
        """ConfigError unless the space has ground truth on ``dataset``."""
        if self.datasets is None or dataset in self.datasets:
            return
        have = " and ".join(_DATASET_LABELS.get(d, d) for d in self.datasets)
        allowed = ", ".join(repr(d) for d in self.datasets)
        raise ConfigError(f"supernet.space = {self.name!r} has ground truth for {have} only; data.dataset = "
                          f"{dataset!r} has none; allowed with {self.name!r}: data.dataset = {allowed}")

    def load_benchmark(self, task, data_dir: Path | None) -> Benchmark:
        """The ground truth a run on this space on ``task`` is ranked against (checks the dataset first)."""
        raise NotImplementedError

    def parse_keys(self, keys: Sequence[str], cells: dict | None = None) -> list[Subnet]:
        """Subnets of ground-truth keys; ``cells`` (key -> subnet) for spaces whose key does not give the
        subnet back (NB101's graph hashes)."""
        raise NotImplementedError

    # -- options and op subsets -----------------------------------------------------------------------

    def root_ops(self, op_set: str) -> tuple[str, ...]:
        """The candidate ops under ``supernet.op_set``; only ``'all'`` on a space without op subsets."""
        if op_set == "all":
            return self.ops
        raise ConfigError(f"supernet.op_set = {op_set!r} is not supported on supernet.space = {self.name!r}; "
                          "allowed there: 'all'")

    def in_op_set(self, keys: Sequence[str], op_set: str) -> list[str]:
        """The ground-truth keys whose subnets use only the ops of ``op_set`` (all of them for ``'all'``)."""
        self.root_ops(op_set)
        return list(keys)

    def check_options(self, config) -> None:
        """ConfigError for an option of ``config`` (a RunConfig) that does not exist on this space, with the
        reason; extend in a subclass for the space's own constraints."""
        self.check_dataset(config.data.dataset)
        for supported, key, value, default, why in (
                (self.supports_drop_path, "supernet.drop_path", config.supernet.drop_path, 0.0,
                 "drop-path is applied to NB201 cell edges"),
                (self.supports_op_subsets, "supernet.op_set", config.supernet.op_set, "all",
                 "op sets are NB201's edge ops"),
                (self.supports_gm_probe, "diagnostics.gm_every", config.diagnostics.gm_every, 0,
                 "the GM probe forces ops on NB201 edges")):
            if not supported and value != default:
                raise ConfigError(f"{key} = {value!r} is not supported on supernet.space = {self.name!r} ({why}); "
                                  f"allowed there: {default!r}")
        if config.supernet.channels not in self.channel_modes:
            raise ConfigError(f"supernet.channels = {config.supernet.channels!r} is an NB101 option (vertex "
                              f"widths); supernet.space = {self.name!r} has fixed widths; allowed there: "
                              f"{', '.join(map(repr, self.channel_modes))}")


# ---------------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------------

_REGISTRY: dict[str, SearchSpace] = {}


def register_space(space: SearchSpace) -> SearchSpace:
    """Add ``space`` under ``space.name`` (a second space of the same name is refused); returns it."""
    if not isinstance(space, SearchSpace) or not space.name:
        raise TypeError(f"register_space needs a named SearchSpace instance, got {space!r}")
    if space.name in _REGISTRY:
        raise ValueError(f"search space {space.name!r} is registered already")
    _REGISTRY[space.name] = space
    return space


def get_space(name: str) -> SearchSpace:
    """The registered space ``name``; ConfigError naming the value and the allowed ones otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown search space {name!r}; allowed: {', '.join(_REGISTRY)}") from None


def space_names() -> tuple[str, ...]:
    """The registered spaces, in registration order."""
    return tuple(_REGISTRY)


class RegisteredSpaces(SequenceABC):
    """The registered space names as a live sequence: the ``choices`` of ``supernet.space``, read when a
    value is checked, so that a space registered after :mod:`bench.config` was imported is allowed too."""

    def __getitem__(self, index):
        return space_names()[index]

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return repr(space_names())


def describe_spaces() -> str:
    """"'nb201' (NAS-Bench-201), 'nb101' (NAS-Bench-101) or 'darts' (DARTS / NDS)": the help of
    ``supernet.space``."""
    items = [f"{s.name!r} ({s.label})" for s in _REGISTRY.values()]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


# ---------------------------------------------------------------------------------------------------------
# Helpers of the space modules
# ---------------------------------------------------------------------------------------------------------


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


def ground_truth_file(data_dir: Path | None, relative: Path) -> Path:
    """``data_dir / relative``, a ground-truth file of the data directory; DataError naming it when absent."""
    from bench.data.errors import DataError  # late: the bench.data package imports torch

    path = Path(data_dir) / relative
    if not path.is_file():
        raise DataError(f"ground truth file {path} not found; the data directory must hold {relative} "
                        "(docs/data.md describes the layout and the files)")
    return path
