"""SGD with momentum separation (MS) and an explicit policy for unused parameters.

Momentum separation is the second half of the dynamic supernet training of
Jeon et al., "Subnet-Aware Dynamic Supernet Training for Neural Architecture
Search", CVPR 2025 (arXiv 2503.10740). Subnets are clustered by the operation
they use on one chosen edge/layer, ``S_i = {a : op(a, e) = o_i}`` (Eq. (7)),
and each cluster keeps its own momentum buffer over *all* shared weights,
``mu_i^t = beta * mu_i^{t-1} + g^t`` (Eq. (8)); a step of a subnet in cluster
``i`` reads and writes only ``mu_i`` and moves the shared weights by
``W -= lr^t * mu_i^t`` (supplement, Algorithms 1-3). With a single cluster this
is ordinary SGD with momentum; the supplement's Table J compares beta = 0,
beta = 0.9 and beta = 0.9 with MS on NAS-Bench-201.

:class:`ClusteredSGD` implements that update with exactly PyTorch's SGD
conventions (dampening 0, weight decay added to the gradient before the
momentum, the first use of a buffer initialising it to a copy of the
gradient, optional Nesterov), so that ``clusters=1, unused="skip"`` is
bit-identical to :class:`torch.optim.SGD`. Choosing which layer defines the
clusters and which cluster a sampled subnet belongs to is the trainer's job;
the optimizer only takes the cluster index in :meth:`ClusteredSGD.step`.

Unused parameters (our operationalization, see docs/heuristics.md, "unused_params"):
parameters of operations the sampled subnet did not use get no gradient.
Since PyTorch 2.0 ``zero_grad`` sets gradients to ``None`` and SGD skips such
parameters (``unused="skip"``); before 2.0 gradients were zero-filled, so
weight decay and the stale momentum buffer kept moving unsampled operations
(``unused="stale"``), which is what the published supernet code was written
against. The two are exposed as a choice because they train supernets
differently.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = ["ClusteredSGD", "UNUSED_POLICIES"]

UNUSED_POLICIES = ("skip", "stale")

_BUFFERS = "momentum_buffer"  # state[p][_BUFFERS] = {cluster index: buffer tensor}


class ClusteredSGD(Optimizer):
    """SGD with momentum whose momentum buffers are separated into ``clusters`` clusters (MS).

    Per parameter ``p`` with gradient ``g``, in a step of cluster ``c``::

        d = g + weight_decay * p
        buf_c = d.clone()                 if buf_c does not exist yet
        buf_c = momentum * buf_c + d      otherwise
        update = d + momentum * buf_c     if nesterov else buf_c
        p -= lr * update

    which is Eq. (8) of Jeon et al. (CVPR 2025) in PyTorch's form (weight decay
    folded into the gradient, dampening 0). Weights are shared by all
    clusters; each cluster has its own lazily created buffer per parameter.
    With ``momentum == 0`` no buffer is kept at all and ``update = d``.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
            ``lr``, ``momentum``, ``nesterov``, ``weight_decay`` and
            ``foreach`` may be set per group; the trainer may overwrite
            ``group["lr"]`` before every step (CaLR, schedules).
        lr: learning rate.
        momentum: beta; 0 disables momentum (supplement, Table J).
        nesterov: Nesterov momentum as in :class:`torch.optim.SGD`.
        weight_decay: L2 penalty added to the gradient.
        clusters: number of momentum clusters K (1: plain SGD; MS on
            NAS-Bench-201: one per candidate operation of the chosen edge).
        unused: what happens to a parameter whose ``.grad`` is ``None``:
            ``"skip"`` leaves it untouched (PyTorch >= 2.0 with
            ``zero_grad(set_to_none=True)``); ``"stale"`` treats it as having a
            zero gradient, so weight decay and the stale buffer of cluster
            ``c`` still move it, exactly as :class:`torch.optim.SGD` fed a
            zero-filled gradient would (PyTorch < 2.0 behaviour; this also
            creates cluster ``c``'s buffer, from ``0 + weight_decay * p``, on
            first use). Our choices: parameters with ``requires_grad=False``
            are skipped in both modes (old PyTorch never zero-filled them
            either), and a parameter is "stale" from the first step on,
            whereas old PyTorch only zero-filled gradients that had been
            created by an earlier backward pass.
        foreach: use the ``torch._foreach_*`` multi-tensor kernels (``None``:
            yes). torch.optim.SGD uses them by default on accelerators; on CPU
            it defaults to a per-tensor loop, but the CPU multi-tensor kernels
            apply the same per-tensor operations, so the results are
            bit-identical either way (tested) and the multi-tensor path is
            faster (about 0.83 vs 1.6 ms per step for 100 small tensors).
            ``False`` runs the per-tensor loop, a copy of torch's.

    Buffers live in ``self.state[p]["momentum_buffer"]`` as a dict
    ``{cluster: tensor}``; :meth:`state_dict`/:meth:`load_state_dict` round-trip
    them (also through ``torch.save``/``torch.load(weights_only=True)``). A
    state dict of :class:`torch.optim.SGD` (one tensor per parameter) loads as
    cluster 0.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.9,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clusters: int = 1,
        unused: str = "skip",
        *,
        foreach: bool | None = None,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr} (must be >= 0)")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum} (must be >= 0)")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay} (must be >= 0)")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum > 0")
        if isinstance(clusters, bool) or not isinstance(clusters, int) or clusters < 1:
            raise ValueError(f"clusters must be an integer >= 1, got {clusters!r}")
        if unused not in UNUSED_POLICIES:
            raise ValueError(f"unused={unused!r} is not a policy; allowed: {', '.join(UNUSED_POLICIES)}")
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov,
                    "weight_decay": weight_decay, "foreach": foreach}
        self.clusters = clusters
        self.unused = unused
        super().__init__(params, defaults)
        for group in self.param_groups:
            if group["nesterov"] and group["momentum"] <= 0:
                raise ValueError("Nesterov momentum requires a momentum > 0 (parameter group setting)")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("foreach", None)

    # -- buffers -------------------------------------------------------------------------------

    def _check_cluster(self, cluster: Any) -> int:
        if callable(cluster):
            raise TypeError("ClusteredSGD.step(cluster=0, closure=None): pass the closure as closure=...")
        try:
            c = operator.index(cluster)
        except TypeError:
            raise TypeError(f"cluster must be an integer, got {cluster!r}") from None
        if isinstance(cluster, bool) or not 0 <= c < self.clusters:
            raise ValueError(f"cluster={cluster!r} is out of range: allowed 0..{self.clusters - 1} "
                             f"(clusters={self.clusters})")
        return c

    def momentum_buffer(self, param: torch.Tensor, cluster: int = 0) -> torch.Tensor | None:
        """Cluster ``cluster``'s momentum buffer of ``param`` (the live tensor), or None if it has none yet."""
        c = self._check_cluster(cluster)
        state = self.state.get(param)
        if not state:
            return None
        return state.get(_BUFFERS, {}).get(c)

    # -- step ----------------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, cluster: int = 0, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter group using (and updating) only cluster ``cluster``'s buffers.

        Args:
            cluster: index of the MS cluster of the sampled subnet(s), in ``0..clusters-1``.
            closure: optional closure re-evaluating the model and returning the loss.

        Raises:
            ValueError: ``cluster`` out of range.
        """
        c = self._check_cluster(cluster)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        stale = self.unused == "stale"
        for group in self.param_groups:
            momentum = group["momentum"]
            params: list[torch.Tensor] = []
            grads: list[torch.Tensor] = []
            bufs: list[torch.Tensor | None] = []
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    if not stale or not p.requires_grad:
                        continue
                    grad = torch.zeros_like(p, memory_format=torch.preserve_format)
                elif grad.is_sparse:
                    raise RuntimeError("ClusteredSGD does not support sparse gradients")
                params.append(p)
                grads.append(grad)
                if momentum != 0:
                    state = self.state[p]
                    cluster_bufs = state.get(_BUFFERS)
                    bufs.append(None if cluster_bufs is None else cluster_bufs.get(c))
            if not params:
                continue

            foreach = group.get("foreach")
            update = _single_tensor_sgd if foreach is False else _multi_tensor_sgd
            update(params, grads, bufs, lr=group["lr"], momentum=momentum,
                   weight_decay=group["weight_decay"], nesterov=group["nesterov"])

            if momentum != 0:
                for p, buf in zip(params, bufs):
                    self.state[p].setdefault(_BUFFERS, {})[c] = buf
        return loss

    # -- checkpoints ---------------------------------------------------------------------------

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict of ClusteredSGD (or of torch.optim.SGD, whose buffers become cluster 0)."""
        for i, group in enumerate(state_dict.get("param_groups", [])):
            if group.get("dampening", 0) != 0 or group.get("maximize", False):
                raise ValueError(f"parameter group {i} of the state dict uses dampening or maximize, "
                                 "which ClusteredSGD does not implement")
        for key, st in state_dict.get("state", {}).items():
            value = st.get(_BUFFERS) if isinstance(st, dict) else None
            if isinstance(value, dict):
                bad = [k for k in value if not 0 <= int(k) < self.clusters]
                if bad:
                    raise ValueError(f"state dict holds momentum buffers of cluster(s) {sorted(bad)} for "
                                     f"parameter {key}, but this optimizer has clusters={self.clusters}")
            elif isinstance(value, (list, tuple)) and len(value) > self.clusters:
                raise ValueError(f"state dict holds {len(value)} momentum clusters for parameter {key}, "
                                 f"but this optimizer has clusters={self.clusters}")
        super().load_state_dict(state_dict)
        for st in self.state.values():
            if not isinstance(st, dict) or _BUFFERS not in st:
                continue
            value = st[_BUFFERS]
            if isinstance(value, torch.Tensor):  # torch.optim.SGD
                st[_BUFFERS] = {0: value}
            elif isinstance(value, (list, tuple)):
                st[_BUFFERS] = {i: b for i, b in enumerate(value) if b is not None}
            elif value is None:
                del st[_BUFFERS]
            else:
                st[_BUFFERS] = {int(k): b for k, b in value.items() if b is not None}


def _single_tensor_sgd(params: list[torch.Tensor], grads: list[torch.Tensor],
                       bufs: list[torch.Tensor | None], *, lr: float, momentum: float,
                       weight_decay: float, nesterov: bool) -> None:
    """Per-tensor update; the same operations, in the same order, as torch.optim.sgd._single_tensor_sgd."""
    for i, param in enumerate(params):
        grad = grads[i]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if momentum != 0:
            buf = bufs[i]
            if buf is None:
                buf = grad.detach().clone()
                bufs[i] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1)
            grad = grad.add(buf, alpha=momentum) if nesterov else buf
        param.add_(grad, alpha=-lr)


def _multi_tensor_sgd(params: list[torch.Tensor], grads: list[torch.Tensor],
                      bufs: list[torch.Tensor | None], *, lr: float, momentum: float,
                      weight_decay: float, nesterov: bool) -> None:
    """Multi-tensor update mirroring torch.optim.sgd._multi_tensor_sgd (never writes into ``.grad``)."""
    groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for i, p in enumerate(params):
        groups.setdefault((p.device, p.dtype), []).append(i)
    for indices in groups.values():
        dev_params = [params[i] for i in indices]
        dev_grads = [grads[i] for i in indices]
        if weight_decay != 0:
            dev_grads = list(torch._foreach_add(dev_grads, dev_params, alpha=weight_decay))
        if momentum != 0:
            dev_bufs = [bufs[i] for i in indices]
            if all(b is not None for b in dev_bufs):
                torch._foreach_mul_(dev_bufs, momentum)
                torch._foreach_add_(dev_bufs, dev_grads, alpha=1)
            else:
                for j, i in enumerate(indices):
                    if dev_bufs[j] is None:
                        dev_bufs[j] = bufs[i] = dev_grads[j].detach().clone()
                    else:
                        dev_bufs[j].mul_(momentum).add_(dev_grads[j], alpha=1)
            if nesterov:
                dev_grads = list(torch._foreach_add(dev_grads, dev_bufs, alpha=momentum))
            else:
                dev_grads = dev_bufs
        torch._foreach_add_(dev_params, dev_grads, alpha=-lr)
