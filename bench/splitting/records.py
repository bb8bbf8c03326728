"""The partition record of a run (``partition.json``): its split events, in order, replayable from the root.

An event keeps the decision and its evidence: the parent leaf, the edge, the
groups, and for a GM-NAS split (Hu et al., ICLR 2022) the score matrix and the
cut costs (plain sums, Eq. (3)) of every candidate edge. The file is written
atomically and validated on reading by replaying its events from the root.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

from bench.splitting.mincut import EdgeChoice, _as_matrix, _resolve_labels
from bench.splitting.schedule import SplitSchedule, _nonneg_int
from bench.splitting.tree import Leaf, Partition, SplitError, _check_edge, _check_groups, root_leaf

__all__ = ["RECORD_FORMAT", "SplitEvent", "PartitionRecord", "write_partition_record", "read_partition_record"]

RECORD_FORMAT = "bench.partition/1"
"""The ``format`` tag of a serialized :class:`PartitionRecord`."""


def _finite(name: str, value: Any) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise SplitError(f"{name} must be a finite number, got {value}")
    return value


@dataclass
class SplitEvent:
    """One split: ``parent`` divided on ``edge`` into ``groups`` (one child leaf per group, in order).

    ``epoch``: training epochs completed along the parent's path when it was
    split (the sum of the warm-ups so far). ``score_matrix``: the GM matrix
    used for the cut (rows labelled by ``matrix_ops``), None for a few-shot or
    random cut. ``cost``: its cut cost (plain sum, Eq. (3)), None when no
    matrix was used. ``candidate_costs``: every candidate edge's best-cut
    cost (plain sums). ``edge_rule`` / ``cut_rule`` say how the edge and the
    groups were chosen (e.g. "gm", "random", "fixed"; "gm", "random",
    "exhaustive"). ``probe_passes`` / ``probe_seconds``: the forward-backward
    passes and seconds the GM scores of this decision cost (0 without GM), for
    the run's budget.
    """

    epoch: int
    parent: Leaf
    edge: int
    groups: Partition
    score_matrix: list[list[float]] | None = None
    matrix_ops: tuple[str, ...] | None = None
    cost: float | None = None
    candidate_costs: dict[int, float] = field(default_factory=dict)
    edge_rule: str = ""
    cut_rule: str = ""
    probe_passes: int = 0
    probe_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.epoch = _nonneg_int("epoch", self.epoch)
        if not isinstance(self.parent, Leaf):
            raise SplitError(f"parent must be a Leaf, got {type(self.parent).__name__}")
        self.edge = _check_edge(self.edge)
        self.groups = _check_groups(self.groups, self.parent.allowed[self.edge], f"split event on edge {self.edge}")
        if self.score_matrix is not None:
            m = _as_matrix(self.score_matrix)
            self.score_matrix = m.tolist()
            self.matrix_ops = _resolve_labels(m.shape[0], self.parent.allowed[self.edge], self.matrix_ops)
        self.cost = None if self.cost is None else _finite("cost", self.cost)
        self.candidate_costs = {_check_edge(int(e)): _finite(f"candidate_costs[{e}]", c)
                                for e, c in self.candidate_costs.items()}

    @property
    def children(self) -> list[Leaf]:
        return self.parent.split(self.edge, self.groups)

    @classmethod
    def from_choice(cls, epoch: int, parent: Leaf, choice: EdgeChoice, score_matrix: Any = None,
                    matrix_ops: Sequence[str] | None = None, edge_rule: str = "gm",
                    cut_rule: str = "gm") -> "SplitEvent":
        """The event of a GM decision from :func:`choose_split_edge`."""
        return cls(epoch, parent, choice.edge, choice.partition, score_matrix,
                   None if matrix_ops is None else tuple(matrix_ops), choice.cost,
                   {e: c.cost for e, c in choice.cuts.items()}, edge_rule, cut_rule)

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "parent": self.parent.to_dict(), "edge": self.edge,
                "groups": [list(g) for g in self.groups], "score_matrix": self.score_matrix,
                "matrix_ops": None if self.matrix_ops is None else list(self.matrix_ops), "cost": self.cost,
                "candidate_costs": {str(e): c for e, c in sorted(self.candidate_costs.items())},
                "edge_rule": self.edge_rule, "cut_rule": self.cut_rule,
                "probe_passes": self.probe_passes, "probe_seconds": self.probe_seconds}

    @classmethod
    def from_dict(cls, data: Mapping) -> "SplitEvent":
        known = {"epoch", "parent", "edge", "groups", "score_matrix", "matrix_ops", "cost", "candidate_costs",
                 "edge_rule", "cut_rule", "probe_passes", "probe_seconds"}
        unknown = set(data) - known
        if unknown:
            raise SplitError(f"unknown keys in a split event: {sorted(unknown)}")
        return cls(epoch=data["epoch"], parent=Leaf.from_dict(data["parent"]), edge=data["edge"],
                   groups=tuple(tuple(g) for g in data["groups"]), score_matrix=data.get("score_matrix"),
                   matrix_ops=None if data.get("matrix_ops") is None else tuple(data["matrix_ops"]),
                   cost=data.get("cost"),
                   candidate_costs={int(e): c for e, c in data.get("candidate_costs", {}).items()},
                   edge_rule=data.get("edge_rule", ""), cut_rule=data.get("cut_rule", ""),
                   probe_passes=data.get("probe_passes", 0), probe_seconds=data.get("probe_seconds", 0.0))


@dataclass
class PartitionRecord:
    """The splits of a run, in the order they happened; replaying them from the root gives the leaves."""

    events: list[SplitEvent] = field(default_factory=list)
    method: str = ""
    schedule: SplitSchedule | None = None
    root: Leaf = field(default_factory=root_leaf)

    def add(self, event: SplitEvent) -> None:
        """Append ``event`` after checking that its parent is a current leaf."""
        self._replay(self.events + [event], self.root)
        self.events.append(event)

    def leaves(self) -> list[Leaf]:
        """The current leaves: the root with every event applied in turn (children replace the parent in place)."""
        return self._replay(self.events, self.root)

    @staticmethod
    def _replay(events: Sequence[SplitEvent], root: Leaf) -> list[Leaf]:
        leaves = [root]
        for i, event in enumerate(events):
            try:
                pos = leaves.index(event.parent)
            except ValueError:
                raise SplitError(f"split event {i} divides {event.parent}, which is not a current leaf") from None
            leaves[pos:pos + 1] = event.children
        return leaves

    def to_dict(self) -> dict:
        return {"format": RECORD_FORMAT, "method": self.method,
                "schedule": None if self.schedule is None else self.schedule.to_dict(),
                "root": self.root.to_dict(),
                "events": [e.to_dict() for e in self.events],
                "leaves": [leaf.to_dict() for leaf in self.leaves()]}

    @classmethod
    def from_dict(cls, data: Mapping) -> "PartitionRecord":
        if data.get("format") != RECORD_FORMAT:
            raise SplitError(f"not a partition record (format {data.get('format')!r}, expected {RECORD_FORMAT!r})")
        record = cls(method=data.get("method", ""),
                     schedule=None if data.get("schedule") is None else SplitSchedule.from_dict(data["schedule"]),
                     root=Leaf.from_dict(data["root"]) if data.get("root") else root_leaf())
        for event in data.get("events", []):
            record.add(SplitEvent.from_dict(event))
        if "leaves" in data and [Leaf.from_dict(d) for d in data["leaves"]] != record.leaves():
            raise SplitError("the record's stored leaves differ from those its events produce")
        return record


def write_partition_record(record: PartitionRecord, path: Union[str, os.PathLike]) -> Path:
    """Write ``record`` as JSON (strict: no NaN), atomically (a temporary file renamed into place)."""
    path = Path(path)
    text = json.dumps(record.to_dict(), indent=2, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_partition_record(path: Union[str, os.PathLike]) -> PartitionRecord:
    """Read a record written by :func:`write_partition_record` (validated by replaying its events)."""
    with open(path) as fh:
        return PartitionRecord.from_dict(json.load(fh))
