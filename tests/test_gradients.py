"""Gradient diagnostics: windowed std, successive cosine, MGCS, GM score matrix."""

import numpy as np
import pytest
import torch

from bench.metrics.gradients import GradientStats, cosine, gm_score_matrix, window_std
from bench.metrics.mgcs import mgcs_subnets
from bench.spaces import nb201 as space
from bench.supernets.nb201 import NB201Supernet


def test_window_std_recovers_a_known_spread():
    # 200 steps of a 500-element tensor: mean m, noise sd 0.3 -> the element-wise sd averages to ~0.3.
    gen = torch.Generator().manual_seed(0)
    mean = torch.randn(500, generator=gen)
    grads = [mean + 0.3 * torch.randn(500, generator=gen) for _ in range(200)]
    assert window_std(grads) == pytest.approx(0.3, rel=0.02)
    assert window_std([mean, mean, mean]) == 0.0


def test_cosine():
    a = torch.tensor([1.0, 0.0])
    assert cosine(a, a) == pytest.approx(1.0)
    assert cosine(a, torch.tensor([0.0, 2.0])) == pytest.approx(0.0)
    assert cosine(a, -a) == pytest.approx(-1.0)
    assert cosine(a, torch.zeros(2)) == 0.0


class _Holder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(4))


def test_streams_and_windows_per_cluster():
    model = _Holder()
    stats = GradientStats(model, tensor="w", window=2, per_cluster=True)
    gen = torch.Generator().manual_seed(1)
    clusters = [0, 1, 0, 1, 0, 0]
    for step, c in enumerate(clusters):
        model.w.grad = torch.randn(4, generator=gen)
        stats.after_step(0, step, c)
    table = stats.table()
    assert (table["stream"] == "single").sum() == 3  # 6 steps, windows of 2
    assert (table["stream"] == "cluster0").sum() == 2 and (table["stream"] == "cluster1").sum() == 1
    summary = stats.summary()
    assert {"grad_std", "grad_std_within_clusters", "grad_cos_successive"} <= set(summary)


def test_mgcs_separates_each_subnets_own_gradient():
    model = _Holder()
    stats = GradientStats(model, tensor="w", window=5, mgcs_epoch=0)
    g0, g1, g2 = torch.tensor([1.0, 0, 0, 0]), torch.tensor([1.0, 1, 0, 0]), torch.tensor([0.0, 0, 1, 0])
    model.w.grad = g0.clone()
    stats.after_subnet(0)
    model.w.grad += g1  # accumulation, as backward() does
    stats.after_subnet(0)
    model.w.grad += g2
    stats.after_subnet(0)
    stats.after_step(0, 0, 0)
    summary = stats.summary(mgcs_labels=("A1", "A3"))
    assert summary["mgcs_A1"] == pytest.approx(cosine(g0, g1))
    assert summary["mgcs_A3"] == pytest.approx(0.0)


def test_mgcs_subnets_change_exactly_n_edges_and_avoid_none():
    archs = mgcs_subnets(seed=3)
    base = archs[0]
    for n, arch in zip((1, 3, 5), archs[1:]):
        assert sum(a != b for a, b in zip(base.ops, arch.ops)) == n
        assert space.NONE not in arch.ops
    assert mgcs_subnets(seed=3) == archs


def test_gm_score_matrix_is_a_similarity_matrix():
    from bench.data import DeviceBatches, load_digits

    torch.manual_seed(0)
    model = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)
    batches = DeviceBatches(load_digits().subset(np.arange(128)), 32, pad=1, flip=False)
    m = gm_score_matrix(model, batches, edge=0, num_batches=2, rng=np.random.default_rng(0))
    assert m.shape == (5, 5)
    assert np.allclose(np.diag(m), 1.0)
    assert np.allclose(m, m.T)
    assert np.all(m <= 1.0 + 1e-9) and np.all(m >= -1.0 - 1e-9)
