"""Gradient diagnostics collected during supernet training.

- Gradient std (CaLR+MS paper, Jeon et al., CVPR 2025, Sec. 3.3 and Fig. 2:
  the noise that feeds a momentum buffer). Our operationalization
  (docs/metrics.md#gradient-std): over a window of W consecutive steps of one
  stream, the element-wise standard deviation of a fixed shared tensor's
  gradient across the steps, averaged over its elements. The single stream is
  every step; with MS each cluster's steps form their own stream. The default
  tensor is the first layer every subnet shares (NB201: the stem convolution,
  ``stem.0.weight``), the "first layer" of the paper's MGCS experiment.
- Cosine similarity between successive gradients of the same stream (the
  gradient consistency the MS paper argues for, Fig. 6).
- MGCS (supplement Sec. C.6, Table I): subnets A_0, A_1, A_3, A_5 trained
  together (gradients accumulated per step); during the last epoch, the mean
  over steps of cos(g(A_0), g(A_n)) of the first layer's gradients. The paper
  reports 0.60, 0.27, 0.09 for n = 1, 3, 5.
- The gradient-matching (GM) score matrix of an edge (Hu et al., ICLR 2022,
  Sec. 3.2, Eq. (2)): the ops of one edge forced one at a time on the same
  batch and the same path elsewhere; the cosine similarity of the gradients
  of the shared weights (every other searchable edge and the fixed blocks,
  stem and classifier excluded), averaged over R batches.

:class:`GradientStats` and :class:`GMProbe` are trainer callbacks
(:class:`bench.train.Callback`): the trainer calls them during training,
checkpoints their states, and the run has them write ``gradient_stats.csv``
and ``gm_scores.csv``.

Cost: a window holds W copies of one tensor (the stem: 432 numbers at C=16),
so the default statistics cost a copy per step; ``interval`` thins them for
large tensors.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from bench import metric_names as names
from bench.heuristics.sampling import MGCS_LABELS
from bench.seeds import epoch_rng
from bench.spaces import nb201 as space
from bench.train import Trainer, TrainerCallback
from bench.validation import ConfigError

DEFAULT_TENSOR = "stem.0.weight"
GM_STREAM = 3  # the generator stream of the GM probe's paths (bench.seeds.epoch_rng)
GRADIENT_STATS_FILE = "gradient_stats.csv"
GM_SCORES_FILE = "gm_scores.csv"


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two tensors taken as flat vectors (0 when either is all zeros)."""
    a, b = a.flatten().double(), b.flatten().double()
    norm = a.norm() * b.norm()
    return float(a @ b / norm) if norm > 0 else 0.0


def window_std(grads: Sequence[torch.Tensor]) -> float:
    """Element-wise std (ddof=1) across the window's gradients, averaged over elements."""
    stacked = torch.stack([g.flatten().double() for g in grads])
    return float(stacked.std(dim=0, unbiased=True).mean())


def require_parameter(tensor: str, names: list[str]) -> None:
    """``tensor`` is one of the supernet's parameter ``names``. The name comes from the config
    (``diagnostics.grad_tensor``): a user's input, so a ConfigError naming a few allowed ones."""
    if tensor not in names:
        raise ConfigError(f"diagnostics.grad_tensor = {tensor!r} is not a parameter of the supernet; allowed: "
                          f"a parameter name, e.g. {', '.join(names[:3])}")


class GradientStats(TrainerCallback):
    """Collects the windowed gradient std and successive cosine per stream, and MGCS when asked.

    A trainer callback: the trainer calls :meth:`on_subnet_end` after each
    subnet's backward pass of a step and :meth:`on_step_end` once the step's
    gradients are complete (before clipping and the optimizer step).
    """

    name = "grad_stats"
    STATE_KEYS = frozenset({"windows", "last", "rows", "cosines", "mgcs"})

    def __init__(self, model: nn.Module, tensor: str = DEFAULT_TENSOR, window: int = 20, interval: int = 1,
                 per_cluster: bool = False, mgcs_epoch: int | None = None):
        params = dict(model.named_parameters())
        require_parameter(tensor, list(params))
        self.param = params[tensor]
        self.window = window
        self.interval = interval
        self.per_cluster = per_cluster
        self.mgcs_epoch = mgcs_epoch
        self._windows: dict[str, list[torch.Tensor]] = defaultdict(list)
        self._last: dict[str, torch.Tensor] = {}
        self.rows: list[dict] = []  # one per completed window
        self.cosines: dict[str, list[float]] = defaultdict(list)
        self.mgcs: dict[int, list[float]] = defaultdict(list)
        self._subnet_grads: list[torch.Tensor] = []

    # -- hooks ---------------------------------------------------------------------------
    def on_subnet_end(self, trainer: Trainer, step: int) -> None:
        self.after_subnet(step // trainer.steps_per_epoch)

    def on_step_end(self, trainer: Trainer, step: int, cluster: int) -> None:
        self.after_step(step // trainer.steps_per_epoch, step, cluster)

    def after_subnet(self, epoch: int) -> None:
        """Record this subnet's own first-layer gradient (MGCS: the difference from the running sum)."""
        if self.mgcs_epoch is None or epoch != self.mgcs_epoch or self.param.grad is None:
            return
        total = self.param.grad.detach().clone()
        own = total - sum(self._subnet_grads) if self._subnet_grads else total
        self._subnet_grads.append(own)

    def after_step(self, epoch: int, step: int, cluster: int) -> None:
        """Close the step: the MGCS cosines of its subnets, then the step's gradient into its streams."""
        if self._subnet_grads:
            base = self._subnet_grads[0]
            for n, grad in enumerate(self._subnet_grads[1:]):
                self.mgcs[n].append(cosine(base, grad))
            self._subnet_grads = []
        if step % self.interval or self.param.grad is None:
            return
        grad = self.param.grad.detach().clone()
        self._observe("single", grad, epoch, step)
        if self.per_cluster:
            self._observe(f"cluster{cluster}", grad, epoch, step)

    def _observe(self, stream: str, grad: torch.Tensor, epoch: int, step: int) -> None:
        if stream in self._last:
            self.cosines[stream].append(cosine(self._last[stream], grad))
        self._last[stream] = grad
        window = self._windows[stream]
        window.append(grad)
        if len(window) == self.window:
            self.rows.append({"epoch": epoch + 1, "step": step, "stream": stream, names.GRAD_STD: window_std(window)})
            window.clear()

    # -- checkpointing ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"windows": dict(self._windows), "last": dict(self._last), "rows": list(self.rows),
                "cosines": dict(self.cosines), "mgcs": dict(self.mgcs)}

    def check_state(self, state: dict) -> None:
        if not self.STATE_KEYS <= set(state):
            raise ValueError("incomplete gradient statistics")

    def load_state_dict(self, state: dict) -> None:
        self.check_state(state)
        self._windows = defaultdict(list, state["windows"])
        self._last = dict(state["last"])
        self.rows = list(state["rows"])
        self.cosines = defaultdict(list, state["cosines"])
        self.mgcs = defaultdict(list, state["mgcs"])

    # -- results ---------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["epoch", "step", "stream", names.GRAD_STD])

    def summary(self, mgcs_labels: Sequence[str] = ()) -> dict:
        out = {}
        single = [r[names.GRAD_STD] for r in self.rows if r["stream"] == "single"]
        if single:
            out[names.GRAD_STD] = float(np.mean(single))
        clusters = [r[names.GRAD_STD] for r in self.rows if r["stream"].startswith("cluster")]
        if clusters:
            # The MS figure: std within each cluster's own stream, averaged over clusters' windows.
            out[names.GRAD_STD_WITHIN_CLUSTERS] = float(np.mean(clusters))
        if self.cosines.get("single"):
            out[names.GRAD_COS_SUCCESSIVE] = float(np.mean(self.cosines["single"]))
        cluster_cos = [c for s, v in self.cosines.items() if s.startswith("cluster") for c in v]
        if cluster_cos:
            out[names.GRAD_COS_SUCCESSIVE_WITHIN_CLUSTERS] = float(np.mean(cluster_cos))
        for n, values in sorted(self.mgcs.items()):
            label = mgcs_labels[n] if n < len(mgcs_labels) else str(n + 1)
            out[names.mgcs(label)] = float(np.mean(values))
        return out

    def write(self, run_dir: Path) -> dict:
        """``gradient_stats.csv`` in ``run_dir``; the summary for metrics.json."""
        self.table().to_csv(Path(run_dir) / GRADIENT_STATS_FILE, index=False)
        return self.summary(mgcs_labels=MGCS_LABELS)


class GMProbe(TrainerCallback):
    """The GM score matrix of ``edge`` (:func:`gm_score_matrix`, over ``num_batches`` batches) at the end of
    every ``every``-th epoch and of the last, on paths drawn from (sampling seed, epoch) alone.

    A trainer callback run after the epoch's other callbacks (:func:`bench.assembly.run_callbacks`): its
    forward passes update BN running statistics where the supernet tracks them, which the training after
    it sees (as it always did; the numbers of past runs depend on it).
    """

    name = "gm_scores"

    def __init__(self, every: int, edge: int, num_batches: int):
        self.every, self.edge, self.num_batches = every, edge, num_batches
        self.matrices: dict[int, list[list[float]]] = {}  # epochs done -> score matrix

    def on_epoch_end(self, trainer: Trainer, epochs_done: int) -> None:
        if epochs_done % self.every == 0 or epochs_done == trainer.config.epochs:
            rng = epoch_rng(trainer.seed, epochs_done - 1, GM_STREAM)
            self.matrices[epochs_done] = gm_score_matrix(trainer.model, trainer.batches, self.edge, self.num_batches,
                                                         rng, trainer.loss_fn).tolist()

    def check_state(self, state: dict) -> None:
        if not isinstance(state.get("matrices", {}), dict):
            raise TypeError("GM matrices are not a dict")

    def state_dict(self) -> dict:
        return {"matrices": dict(self.matrices)}

    def load_state_dict(self, state: dict) -> None:
        self.check_state(state)
        self.matrices = {int(e): m for e, m in state.get("matrices", {}).items()}

    def write(self, run_dir: Path) -> dict:
        """``gm_scores.csv`` in ``run_dir`` (one row per epoch and pair of ops); the edge for metrics.json."""
        if not self.matrices:
            return {}
        rows = [{"epoch": epoch, "op_a": a, "op_b": b, "score": matrix[i][j]}
                for epoch, matrix in sorted(self.matrices.items())
                for i, a in enumerate(space.OPS) for j, b in enumerate(space.OPS)]
        pd.DataFrame(rows).to_csv(Path(run_dir) / GM_SCORES_FILE, index=False)
        return {names.GM_EDGE: self.edge}


def shared_gradient(model: nn.Module, exclude_edge: int) -> torch.Tensor:
    """Flat gradient of the GM shared weights: every cell's other edges and the fixed blocks
    (reductions, head BN), without the stem and the classifier. A weight the path did not use counts
    as a zero gradient, so every op's vector has the same layout."""
    parts = []
    for name, p in model.named_parameters():
        if name.startswith(("stem.", "classifier.")) or f".edges.{exclude_edge}." in name:
            continue
        parts.append((p.grad if p.grad is not None else torch.zeros_like(p)).detach().flatten())
    return torch.cat(parts)


def gm_score_matrix(model: nn.Module, batches, edge: int, num_batches: int, rng: np.random.Generator,
                    loss_fn: nn.Module | None = None) -> np.ndarray:
    """GM-NAS score matrix of ``edge``: mean over batches of cos(g_o, g_o') between forced ops o, o'.

    Each batch draws one path for the other edges (uniformly), so the ops of
    ``edge`` are compared on the same data and the same surroundings. The
    batches are those of epoch 0 (a diagnostic: the same images at every
    call).
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    n_ops = len(space.OPS)
    total = np.zeros((n_ops, n_ops))
    used = 0
    with _training_mode(model):
        for i, (x, y) in enumerate(batches.epoch(0)):
            if i >= num_batches:
                break
            base = space.Arch.from_indices(rng.integers(0, n_ops, size=space.NUM_EDGES))
            total += forced_op_similarity(model, x, y, base, edge, space.OPS, loss_fn)
            used += 1
    return total / max(1, used)


def leaf_gm_score_matrices(model: nn.Module, batches: Iterable, allowed: Sequence[Sequence[str]],
                           edges: Sequence[int], num_batches: int, rng: np.random.Generator,
                           loss_fn: nn.Module | None = None) -> dict[int, np.ndarray]:
    """GM-NAS Sec. 3.3, Eq. (2), in a sub-supernet: one score matrix per edge in ``edges``.

    ``allowed[e]`` are the ops a (sub-)supernet holds on edge ``e``; the
    matrix of edge ``e`` is over ``allowed[e]`` in that order. For each of
    ``num_batches`` batches of ``batches`` one base path is drawn inside the
    sub-supernet (each edge's op uniform among its allowed ops) and shared by
    every edge's comparison, so all edges are scored on the same data and
    paths; the scores are the mean over batches (R in the paper).
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    totals = {e: np.zeros((len(allowed[e]), len(allowed[e]))) for e in edges}
    used = 0
    with _training_mode(model):
        for x, y in itertools.islice(batches, num_batches):
            base = space.Arch(tuple(ops[int(rng.integers(len(ops)))] for ops in allowed))
            for e in edges:
                totals[e] += forced_op_similarity(model, x, y, base, e, allowed[e], loss_fn)
            used += 1
    return {e: m / max(1, used) for e, m in totals.items()}


def forced_op_similarity(model: nn.Module, x: torch.Tensor, y: torch.Tensor, base: space.Arch, edge: int,
                         ops: Sequence[str], loss_fn: nn.Module) -> np.ndarray:
    """cos(g_o, g_o') of the shared weights' gradients with each op of ``ops`` forced on ``edge`` of ``base``."""
    grads = []
    for op in ops:
        model.zero_grad(set_to_none=True)
        loss_fn(model(x, base.with_op(edge, op)), y).backward()
        grads.append(shared_gradient(model, edge).clone())
    model.zero_grad(set_to_none=True)
    return np.array([[cosine(a, b) for b in grads] for a in grads])


@contextlib.contextmanager
def _training_mode(model: nn.Module):
    was_training = model.training
    model.train()
    try:
        yield
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
