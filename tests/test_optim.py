"""ClusteredSGD: bit-identity with torch.optim.SGD, the unused-parameter policies, MS buffers, checkpoints."""

from __future__ import annotations

import io
import itertools

import pytest
import torch

from bench.heuristics.clustered_sgd import ClusteredSGD


def _params(seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (4,), (2, 4), (2,), (3, 3, 2)]
    return [torch.randn(s, generator=gen).requires_grad_() for s in shapes]


def _grad_plan(n_steps: int, params: list[torch.Tensor], seed: int = 1):
    """Per step, a gradient per parameter or None (about a third are None; param 0 always has one)."""
    gen = torch.Generator().manual_seed(seed)
    plan = []
    for _ in range(n_steps):
        row = []
        for i, p in enumerate(params):
            absent = i > 0 and torch.rand((), generator=gen).item() < 0.35
            row.append(None if absent else torch.randn(p.shape, generator=gen))
        plan.append(row)
    return plan


def _set_grads(params, row, *, zero_fill: bool = False):
    for p, g in zip(params, row):
        if g is None:
            p.grad = torch.zeros_like(p) if zero_fill else None
        else:
            p.grad = g.clone()


CONFIGS = [(m, n, wd, fe) for m, n, wd, fe in itertools.product((0.0, 0.9), (False, True), (0.0, 5e-4), (False, True))
           if not (n and m == 0)]


@pytest.mark.parametrize("momentum,nesterov,wd,foreach", CONFIGS)
@pytest.mark.parametrize("unused", ["skip", "stale"])
@pytest.mark.parametrize("ref_foreach", [False, True])
def test_matches_torch_sgd_bitwise(momentum, nesterov, wd, foreach, unused, ref_foreach):
    ours, ref = _params(), _params()
    opt = ClusteredSGD(ours, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd,
                       clusters=1, unused=unused, foreach=foreach)
    ref_opt = torch.optim.SGD(ref, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd,
                              foreach=ref_foreach)
    plan = _grad_plan(20, ours)
    for t, row in enumerate(plan):
        lr = 0.1 * (1 - t / 25)  # the trainer rewrites group["lr"] every step
        for group in opt.param_groups + ref_opt.param_groups:
            group["lr"] = lr
        _set_grads(ours, row)
        _set_grads(ref, row, zero_fill=(unused == "stale"))
        opt.step()
        ref_opt.step()
        for a, b in zip(ours, ref):
            assert torch.equal(a, b)
    if unused == "skip":  # some parameter really went without a gradient on some step
        assert any(g is None for row in plan for g in row)
    if momentum:
        for a, b in zip(ours, ref):
            ref_buf = ref_opt.state[b].get("momentum_buffer")
            our_buf = opt.momentum_buffer(a, 0)
            assert (ref_buf is None) == (our_buf is None)
            if ref_buf is not None:
                assert torch.equal(our_buf, ref_buf)


def test_default_foreach_matches_default_torch_sgd():
    """Ours defaults to the multi-tensor path; torch on CPU to its per-tensor loop: still bit-identical."""
    ours, ref = _params(), _params()
    opt = ClusteredSGD(ours, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    ref_opt = torch.optim.SGD(ref, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    for row in _grad_plan(10, ours, seed=3):
        _set_grads(ours, row)
        _set_grads(ref, row)
        opt.step()
        ref_opt.step()
    assert all(torch.equal(a, b) for a, b in zip(ours, ref))


def test_skip_leaves_gradless_params_untouched_but_stale_moves_them():
    for unused, moves in (("skip", False), ("stale", True)):
        p, q = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
        opt = ClusteredSGD([p, q], lr=0.1, momentum=0.9, unused=unused)
        p.grad, q.grad = torch.ones(3), torch.ones(3)
        opt.step()
        q_after_first = q.detach().clone()
        p.grad, q.grad = torch.ones(3), None
        opt.step()
        assert (not torch.equal(q, q_after_first)) == moves


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_separation_uses_and_updates_only_its_cluster(foreach, nesterov):
    beta, lr, wd = 0.9, 0.1, 1e-2
    params = _params(5)
    opt = ClusteredSGD(params, lr=lr, momentum=beta, nesterov=nesterov, weight_decay=wd, clusters=3,
                       foreach=foreach)
    gen = torch.Generator().manual_seed(7)
    for c in (0, 1, 2, 0, 2):  # populate every cluster with different buffers
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen)
        opt.step(c)
    before = {c: [opt.momentum_buffer(p, c).clone() for p in params] for c in range(3)}
    weights = [p.detach().clone() for p in params]
    grads = [torch.randn(p.shape, generator=gen) for p in params]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    opt.step(cluster=1)
    for c in (0, 2):
        assert all(torch.equal(opt.momentum_buffer(p, c), b) for p, b in zip(params, before[c]))
    for i, (p, w, g, b) in enumerate(zip(params, weights, grads, before[1])):
        d = g + wd * w
        buf = beta * b + d
        assert torch.allclose(opt.momentum_buffer(p, 1), buf, rtol=0, atol=1e-6)
        upd = d + beta * buf if nesterov else buf
        assert torch.allclose(p.detach(), w - lr * upd, rtol=0, atol=1e-6)
        # and it is not what cluster 0's buffer would have given
        assert not torch.allclose(p.detach(), w - lr * (beta * before[0][i] + d), atol=1e-6)


def test_first_use_of_a_cluster_starts_from_the_gradient():
    p = torch.zeros(2, requires_grad=True)
    opt = ClusteredSGD([p], lr=1.0, momentum=0.9, clusters=2)
    p.grad = torch.tensor([1.0, 2.0])
    opt.step(0)
    p.grad = torch.tensor([1.0, 2.0])
    opt.step(1)  # fresh buffer in cluster 1: the update is the gradient itself, not 0.9*buf0 + g
    assert torch.equal(p.detach(), torch.tensor([-2.0, -4.0]))
    assert torch.equal(opt.momentum_buffer(p, 1), torch.tensor([1.0, 2.0]))


def test_stale_only_moves_params_with_a_buffer_in_that_cluster_or_weight_decay():
    p = torch.ones(2, requires_grad=True)
    q = torch.ones(2, requires_grad=True)
    opt = ClusteredSGD([p, q], lr=0.5, momentum=0.9, clusters=2, unused="stale")
    p.grad, q.grad = torch.ones(2), torch.ones(2)
    opt.step(0)  # q gets a buffer in cluster 0 only
    q0 = q.detach().clone()
    p.grad, q.grad = torch.ones(2), None
    opt.step(1)  # cluster 1: q has no buffer there and wd = 0 -> stays put (buffer created as zeros, as torch does)
    assert torch.equal(q, q0)
    assert torch.equal(opt.momentum_buffer(q, 1), torch.zeros(2))
    opt.step(0)  # cluster 0: the stale buffer moves it
    assert not torch.equal(q, q0)


def test_stale_skips_frozen_params():
    p = torch.ones(2, requires_grad=True)
    frozen = torch.ones(2, requires_grad=False)
    opt = ClusteredSGD([p, frozen], lr=0.5, momentum=0.9, weight_decay=0.1, unused="stale")
    p.grad = torch.ones(2)
    opt.step()
    assert torch.equal(frozen, torch.ones(2))


def test_zero_momentum_keeps_no_buffers():
    p = torch.zeros(3, requires_grad=True)
    opt = ClusteredSGD([p], lr=0.5, momentum=0.0, clusters=2)
    g = torch.tensor([1.0, -2.0, 0.5])  # exact in binary, so equal displacements are bitwise equal
    displacements = []
    for c in (0, 1, 0):
        before = p.detach().clone()
        p.grad = g.clone()
        opt.step(c)
        displacements.append(p.detach() - before)
    assert all(torch.equal(d, displacements[0]) for d in displacements)
    assert torch.equal(displacements[0], -0.5 * g)
    assert len(opt.state) == 0 or all(not s for s in opt.state.values())
    assert opt.state_dict()["state"] == {}


def _roundtrip(opt_state: dict) -> dict:
    buf = io.BytesIO()
    torch.save(opt_state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


@pytest.mark.parametrize("unused", ["skip", "stale"])
def test_state_dict_roundtrip_through_torch_save(unused):
    params = _params(2)
    opt = ClusteredSGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4, clusters=3, unused=unused)
    plan = _grad_plan(12, params, seed=11)
    for t, row in enumerate(plan[:6]):
        _set_grads(params, row)
        opt.step(t % 3)
    state = _roundtrip(opt.state_dict())

    clone = [p.detach().clone().requires_grad_() for p in params]
    opt2 = ClusteredSGD(clone, lr=0.5, momentum=0.9, nesterov=True, weight_decay=5e-4, clusters=3, unused=unused)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["lr"] == 0.1
    for p, q in zip(params, clone):
        for c in range(3):
            a, b = opt.momentum_buffer(p, c), opt2.momentum_buffer(q, c)
            assert (a is None) == (b is None)
            if a is not None:
                assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()
    for t, row in enumerate(plan[6:]):
        _set_grads(params, row)
        _set_grads(clone, row)
        opt.step((t * 2) % 3)
        opt2.step((t * 2) % 3)
    assert all(torch.equal(p, q) for p, q in zip(params, clone))


def test_loads_a_torch_sgd_state_dict_as_cluster_0():
    params = _params()
    ref = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = torch.ones_like(p)
    ref.step()
    opt = ClusteredSGD(params, lr=0.1, momentum=0.9, clusters=2)
    opt.load_state_dict(_roundtrip(ref.state_dict()))
    assert torch.equal(opt.momentum_buffer(params[0], 0), ref.state[params[0]]["momentum_buffer"])
    assert opt.momentum_buffer(params[0], 1) is None


def test_load_rejects_more_clusters_than_configured():
    params = _params()
    opt = ClusteredSGD(params, lr=0.1, momentum=0.9, clusters=3)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step(2)
    small = ClusteredSGD(params, lr=0.1, momentum=0.9, clusters=2)
    with pytest.raises(ValueError, match="cluster"):
        small.load_state_dict(opt.state_dict())


def test_cluster_out_of_range_and_bad_arguments():
    p = torch.zeros(2, requires_grad=True)
    opt = ClusteredSGD([p], lr=0.1, clusters=3)
    p.grad = torch.ones(2)
    for bad in (3, -1, 10):
        with pytest.raises(ValueError, match=rf"cluster={bad}.*0\.\.2"):
            opt.step(bad)
    with pytest.raises(TypeError):
        opt.step(lambda: 0.0)
    with pytest.raises(ValueError, match="skip, stale"):
        ClusteredSGD([p], lr=0.1, unused="zero")
    with pytest.raises(ValueError):
        ClusteredSGD([p], lr=0.1, clusters=0)
    with pytest.raises(ValueError):
        ClusteredSGD([p], lr=0.1, momentum=0.0, nesterov=True)
    with pytest.raises(ValueError):
        ClusteredSGD([p], lr=-1.0)


def test_closure_and_numpy_cluster_index():
    import numpy as np

    p = torch.zeros(2, requires_grad=True)
    opt = ClusteredSGD([p], lr=0.1, clusters=2)

    def closure():
        opt.zero_grad()
        loss = (p - 1).pow(2).sum()
        loss.backward()
        return loss

    loss = opt.step(np.int64(1), closure=closure)
    assert float(loss.detach()) == 2.0
    assert opt.momentum_buffer(p, 1) is not None and opt.momentum_buffer(p, 0) is None
