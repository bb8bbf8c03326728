"""Training a split run (few-shot or GM-NAS): warm-ups, splits, leaves, one sub-supernet at a time.

The partition slot (:mod:`bench.heuristics.partition`) says what to do; the
decisions and the record are :mod:`bench.splitting`; this module trains.

A split run is a tree of *nodes*. Level k < S holds the (sub-)supernets that
are warmed up for ``warmup_epochs`` and then split (all of level k is split
before level k+1 trains); level S holds the leaves, trained to the end and
used for scoring: a subnet is scored by the leaf that holds it. Each node
trains in its own directory ``nodes/<level>-<leaf key>/`` with a checkpoint
after every epoch and ``end.pt`` (weights and optimizer state) when done; the
splits are appended to ``partition.json`` as they are decided. A killed run
therefore resumes at the epoch it reached, in the node it reached, and never
decides a split twice. Every such file is a :mod:`bench.checkpoint` that
names its run and node, so one found in the wrong place is refused.

Operationalizations (ours, where the papers leave a choice open):

- Learning rate: a node follows the schedule of its whole path (warm-ups and
  leaf epochs, ``train.epochs`` long under the ``per_path`` budget), so a
  child continues where its parent stopped. A restarted leaf starts a fresh
  schedule over its own epochs.
- Seeds: each node draws its subnets with a seed derived from (run seed,
  level, leaf); the data order per epoch is the run's, shared by all nodes.
  A restarted leaf is re-initialized with its node seed.
- MS in a leaf (CaLR+MS supplement, Algorithm 3: each sub-supernet has its
  own momentum buffers, clustered on an edge other than the split edge): the
  configured MS edge, unless the leaf has split it; then the first edge it
  has not split. Inherited buffers are kept as they are.
- GM scores are computed on the first ``gm_batches`` batches of the epoch
  that follows the warm-up; their passes and seconds are recorded as probe
  cost, apart from training steps.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from bench import checkpoint
from bench.heuristics import registry
from bench import metric_names as names
from bench.metrics.gradients import leaf_gm_score_matrices
from bench.seeds import node_seed, seed_streams
from bench.spaces import Subnet, get_space
from bench.spaces import nb201 as space  # splitting is NB201's (SearchSpace.supports_splitting)
from bench.splitting import (
    Leaf,
    PartitionRecord,
    SplitEvent,
    candidate_edges,
    choose_edge,
    choose_split_edge,
    cut_cost,
    leaf_index,
    random_partition,
    read_partition_record,
    root_leaf,
    write_partition_record,
)
from bench.train import Trainer

if TYPE_CHECKING:  # the run passes its assembly in (bench.assembly imports bench.train, as this module does)
    from bench.assembly import Assembly

RECORD_NAME = "partition.json"
NODES_DIR = "nodes"
END_STATE = "end.pt"
SPLIT_STREAM = 11  # generator stream of random edge and group choices
GM_STREAM = 12  # generator stream of the GM probe's base paths


@dataclasses.dataclass
class Node:
    """One (sub-)supernet of the tree and the epochs of its path it trains: [start, stop) of ``path_epochs``."""

    level: int
    leaf: Leaf
    start: int
    stop: int
    path_epochs: int
    parent_dir: Path | None  # where the inherited state lies (None: fresh initialization)

    @property
    def name(self) -> str:
        return f"{self.level}-{self.leaf.key}"


class NShotRun:
    """Trains the tree of one split run in ``run_dir`` and scores subnets with their leaves.

    ``assemble(seeds, **options)`` builds a node's supernet, recipe and trainer: the run's
    :func:`bench.assembly.assemble` with its config, task and batches bound (the node passes its seeds, the
    epochs of its path, its leaf, split edges, directory and run key); ``run_key`` names the run in its
    checkpoints (the run's config hash).
    """

    def __init__(self, config, batches, run_dir: Path, assemble: Callable[..., "Assembly"], progress: bool = True,
                 *, run_key: str):
        self.run_key = run_key
        self.config = config
        self.partition = config.heuristics["partition"]
        self.plan = registry.build(config.heuristics, "partition")  # the typed partition: schedule, restart, kind
        self.batches = batches
        self.run_dir = Path(run_dir)
        self.assemble = assemble
        self.progress = progress
        self.root = root_leaf(get_space(config.supernet.space).root_ops(config.supernet.op_set))
        self.schedule = self.plan.schedule(config.train.epochs, len(batches), len(self.root.allowed[0]))
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing)
        path = self.run_dir / RECORD_NAME
        self.record = (read_partition_record(path) if path.is_file()
                       else PartitionRecord(method=self.partition["name"], schedule=self.schedule, root=self.root))
        self._models: dict[Leaf, nn.Module] = {}

    # -- the tree ------------------------------------------------------------------------------
    @property
    def restart(self) -> bool:
        return self.plan.restart

    def fit(self) -> list[Leaf]:
        """Warm up and split level by level, then train every leaf; returns the leaves."""
        warm = self.schedule.warmup_epochs
        path_epochs = sum(warm) + self.schedule.leaf_epochs
        frontier = [Node(0, self.root, 0, warm[0], path_epochs, None)]
        for level in range(self.schedule.splits):
            children = []
            for node in frontier:
                model = self._train(node)
                event = self._split(node, model)
                children += [Node(level + 1, child, node.stop, node.stop + (warm[level + 1] if level + 1 < len(warm)
                                                                          else self.schedule.leaf_epochs),
                                  path_epochs, self._dir(node)) for child in event.children]
            frontier = children
        for node in frontier:
            if self.restart:
                node = dataclasses.replace(node, start=0, stop=self.schedule.leaf_epochs,
                                           path_epochs=self.schedule.leaf_epochs, parent_dir=None)
            self._models[node.leaf] = self._train(node)
        return self.record.leaves()

    def _dir(self, node: Node) -> Path:
        return self.run_dir / NODES_DIR / node.name

    def _train(self, node: Node) -> nn.Module:
        """Train one node to ``node.stop`` (resuming where it was killed); its model after training."""
        node_dir = self._dir(node)
        streams = seed_streams(self.config)
        key = node.leaf.key
        seeds = dataclasses.replace(streams, init=node_seed(streams.init, node.level, key),
                                    sampling=node_seed(streams.sampling, node.level, key),
                                    data=node_seed(streams.data, node.level, key))
        # The node's recipe follows the schedule of its whole path and samples only inside its leaf.
        built = self.assemble(seeds, epochs=node.path_epochs, leaf=node.leaf,
                              split_edges=node.leaf.split_edges(self.root), checkpoint_dir=node_dir,
                              progress=self.progress, run_key=self._key(node_dir.name))
        model, trainer = built.model, built.trainer
        end = node_dir / END_STATE
        done = checkpoint.load(end, self._identity(model, node_dir.name), _device(model))
        if done is not None:
            model.load_state_dict(done.model)
            return model
        node_dir.mkdir(parents=True, exist_ok=True)
        if not trainer.try_resume():
            self._inherit(trainer, node)
        if self.progress:
            print(f"sub-supernet {node.leaf} (level {node.level}): epochs {trainer.state.epochs_done + 1}-"
                  f"{node.stop} of {node.path_epochs}")
        trainer.fit(until=node.stop)
        history = pd.DataFrame([vars(r) for r in trainer.state.history])
        history.insert(0, "level", node.level)
        history.insert(0, "node", node.leaf.key)
        history.to_csv(node_dir / "history.csv", index=False)
        checkpoint.save(end, trainer.identity(), node.stop, model.state_dict(),
                        {"optimizer": trainer.optimizer.state_dict()}, keep_previous=False)
        checkpoint.discard(trainer.checkpoint_path())  # end.pt supersedes them
        return model

    def _key(self, node_name: str) -> str:
        """The run key of one node's checkpoints: the run's and the node's place in the tree."""
        return f"{self.run_key}/{node_name}"

    def _identity(self, model: nn.Module, node_name: str) -> checkpoint.Identity:
        return checkpoint.Identity.of(model, self._key(node_name))

    def _inherit(self, trainer: Trainer, node: Node) -> None:
        trainer.state.epochs_done = node.start
        if node.parent_dir is None:
            return
        inherit_optimizer = self.partition["inherit_optimizer"]

        def parse(state: dict) -> dict:
            if inherit_optimizer:
                checkpoint.check_optimizer(state["optimizer"], trainer.optimizer)
            return state

        path = node.parent_dir / END_STATE
        parent = checkpoint.load(path, self._identity(trainer.model, node.parent_dir.name), _device(trainer.model),
                                 parse)
        if parent is None:
            raise checkpoint.CheckpointError(f"{path} is missing: the sub-supernet this node inherits from has "
                                             "no end state", f"delete {self.run_dir} to start afresh")
        if inherit_optimizer:
            trainer.optimizer.load_state_dict(parent.state["optimizer"])
        trainer.model.load_state_dict(parent.model)

    # -- splits --------------------------------------------------------------------------------
    def _split(self, node: Node, model: nn.Module) -> SplitEvent:
        """The split of ``node``: the recorded one after a resume, else decided now and recorded."""
        for event in self.record.events:
            if event.parent == node.leaf:
                return event
        seed = node_seed(self.config.seed, node.level, node.leaf.key)
        rng = np.random.default_rng([seed, SPLIT_STREAM])
        if self.plan.exhaustive:
            event = self._few_shot_event(node, rng)
        else:
            event = self._gm_event(node, model, rng, np.random.default_rng([seed, GM_STREAM]))
        self.record.add(event)
        write_partition_record(self.record, self.run_dir / RECORD_NAME)
        if self.progress:
            print(f"split on edge {event.edge} into {[list(g) for g in event.groups]}")
        return event

    def _few_shot_event(self, node: Node, rng: np.random.Generator) -> SplitEvent:
        edge_choice = self.partition["edge"]
        edge = choose_edge(rng, edge_choice, candidate_edges(node.leaf, 2, root=self.root))
        groups = tuple((op,) for op in node.leaf.allowed[edge])
        return SplitEvent(node.stop, node.leaf, edge, groups, edge_rule="random" if edge_choice == "random"
                          else "fixed", cut_rule="exhaustive")

    def _gm_event(self, node: Node, model: nn.Module, rng: np.random.Generator,
                  probe_rng: np.random.Generator) -> SplitEvent:
        p = self.partition
        groups_n = p["groups"]
        candidates = candidate_edges(node.leaf, groups_n, root=self.root)
        if p["edge_selection"] == "random":
            candidates = (choose_edge(rng, "random", candidates),)
        matrices, passes, seconds = {}, 0, 0.0
        if p["edge_selection"] == "gm" or p["grouping"] == "gm":
            start = time.perf_counter()
            matrices = leaf_gm_score_matrices(model, self.batches.epoch(node.stop), node.leaf.allowed, candidates,
                                              p["gm_batches"], probe_rng, self.loss_fn)
            seconds = time.perf_counter() - start
            passes = p["gm_batches"] * sum(len(node.leaf.allowed[e]) for e in candidates)
        if matrices:  # every scored edge's best cut, and the edge whose cut costs least
            choice = choose_split_edge(matrices, node.leaf, groups_n)
            edge, cuts = choice.edge, choice.cuts
        else:  # a random edge grouped at random: nothing was scored
            edge, cuts = candidates[0], {}
        ops = node.leaf.allowed[edge]
        groups = cuts[edge].partition if p["grouping"] == "gm" else random_partition(ops, groups_n, rng)
        matrix = matrices.get(edge)
        return SplitEvent(
            node.stop, node.leaf, edge, groups,
            score_matrix=None if matrix is None else matrix.tolist(),
            matrix_ops=None if matrix is None else ops,
            cost=None if matrix is None else cut_cost(matrix, groups, labels=ops),
            candidate_costs={e: cut.cost for e, cut in cuts.items()},
            edge_rule=p["edge_selection"], cut_rule=p["grouping"], probe_passes=passes, probe_seconds=seconds)

    # -- scoring and records ---------------------------------------------------------------------
    def score(self, archs: Sequence[Subnet], score_pool: Callable) -> tuple[np.ndarray, list[str]]:
        """Each subnet scored by its leaf (``score_pool(model, archs)``); the scores and the leaf keys."""
        leaves = self.record.leaves()
        which = np.array([leaf_index(leaves, a) for a in archs], dtype=int)
        scores = np.full(len(archs), math.nan)
        for i, leaf in enumerate(leaves):
            members = np.flatnonzero(which == i)
            if members.size:
                scores[members] = score_pool(self._models[leaf], [archs[j] for j in members])
        return scores, [leaves[i].key for i in which]

    def history(self) -> pd.DataFrame:
        """Every node's epochs, in training order (columns ``node`` and ``level`` say whose)."""
        frames = [pd.read_csv(path) for path in sorted((self.run_dir / NODES_DIR).glob("*/history.csv"),
                                                        key=lambda p: int(p.parent.name.split("-")[0]))]
        return pd.concat(frames, ignore_index=True)

    def budget(self, history: pd.DataFrame) -> dict:
        """What the run cost over all sub-supernets (the figures studies compare settings by), from the
        run's :meth:`history`."""
        events = self.record.events
        return {
            names.PARTITION: self.partition["name"],
            names.LEAVES: len(self.record.leaves()),
            names.SUPERNET_EPOCHS: int(len(history)),
            names.TRAIN_STEPS: int(len(history)) * self.schedule.steps_per_epoch,
            names.TRAIN_SECONDS: float(history["seconds"].sum()),
            names.IMAGES_TRAINED: int(history["images"].sum()),
            names.LEAF_EPOCHS: self.schedule.leaf_epochs,
            names.GM_PROBE_PASSES: int(sum(e.probe_passes for e in events)),
            names.GM_PROBE_SECONDS: float(sum(e.probe_seconds for e in events)),
        }


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
