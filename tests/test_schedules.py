"""Learning-rate schedules and CaLR (Jeon et al., CVPR 2025)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.heuristics.schedules import SCHEDULES, CaLR, lr_at

T = 100
LR = 0.1


@pytest.mark.parametrize("schedule,start,mid,end", [
    ("cosine", 0.1, 0.05, 0.0),
    ("linear", 0.1, 0.05, 0.0),
    ("step", 0.1, 0.01, 0.001),  # milestones 0.5, 0.75: x0.1 at t=50 and at t=75
    ("constant", 0.1, 0.1, 0.1),
    ("poly", 0.1, 0.025, 0.0),  # power 2: (1/2)**2
])
def test_schedule_values(schedule, start, mid, end):
    kw = {"power": 2.0} if schedule == "poly" else {}
    assert lr_at(schedule, 0, T, LR, **kw) == pytest.approx(start)
    assert lr_at(schedule, T // 2, T, LR, **kw) == pytest.approx(mid)
    assert lr_at(schedule, T, T, LR, **kw) == pytest.approx(end, abs=1e-15)


def test_min_lr():
    assert lr_at("cosine", T, T, LR, min_lr=0.01) == pytest.approx(0.01)
    assert lr_at("cosine", T // 2, T, LR, min_lr=0.01) == pytest.approx(0.055)
    assert lr_at("linear", T // 4, T, LR, min_lr=0.02) == pytest.approx(0.02 + 0.08 * 0.75)
    assert lr_at("poly", T, T, LR, min_lr=0.01, power=3) == pytest.approx(0.01)
    assert lr_at("step", T, T, LR, min_lr=0.005) == pytest.approx(0.005)
    assert lr_at("cosine", 25, T, LR) == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)))


def test_warmup():
    W = 10
    assert lr_at("cosine", 0, T, LR, warmup_steps=W) == pytest.approx(LR / W)
    assert lr_at("cosine", 4, T, LR, warmup_steps=W) == pytest.approx(LR * 5 / W)
    assert lr_at("cosine", W - 1, T, LR, warmup_steps=W) == pytest.approx(LR)
    # after warm-up the schedule runs over the remaining T - W steps
    assert lr_at("cosine", W, T, LR, warmup_steps=W) == pytest.approx(LR)
    assert lr_at("cosine", W + 45, T, LR, warmup_steps=W) == pytest.approx(LR / 2)
    assert lr_at("linear", T, T, LR, warmup_steps=W) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="warmup"):
        lr_at("cosine", 0, T, LR, warmup_steps=T)


def test_step_milestones():
    values = [lr_at("step", t, T, LR) for t in range(T + 1)]
    assert values[49] == pytest.approx(0.1) and values[50] == pytest.approx(0.01)
    assert values[74] == pytest.approx(0.01) and values[75] == pytest.approx(0.001)
    assert lr_at("step", 2, 10, 1.0, step_milestones=(0.3,), step_gamma=0.5) == 1.0
    assert lr_at("step", 3, 10, 1.0, step_milestones=(0.3,), step_gamma=0.5) == 0.5  # 0.3*10 is 3.0000000000000004
    assert lr_at("step", 9, 10, 1.0, step_milestones=(0.6, 0.3), step_gamma=0.5) == 0.25  # order does not matter
    with pytest.raises(ValueError, match="milestone"):
        lr_at("step", 0, T, LR, step_milestones=(1.5,))


def test_schedule_errors():
    with pytest.raises(ValueError, match="cosine, linear, step, constant, poly"):
        lr_at("exponential", 0, T, LR)
    with pytest.raises(ValueError):
        lr_at("cosine", T + 1, T, LR)
    with pytest.raises(ValueError):
        lr_at("cosine", -1, T, LR)
    with pytest.raises(ValueError):
        lr_at("poly", 0, T, LR, power=0)
    assert SCHEDULES == ("cosine", "linear", "step", "constant", "poly")


# -- CaLR ----------------------------------------------------------------------------------

C_MIN, C_MAX = 0.07e6, 1.53e6  # NB201-sized parameter counts (all none / all conv3x3)


@pytest.mark.parametrize("g", ["log", "x", "exp"])
@pytest.mark.parametrize("gp", [2.0, 3.0, 4.0])
def test_calr_extremes(g, gp):
    calr = CaLR(c_min=C_MIN, c_max=C_MAX, gamma_prime=gp, g=g)
    assert calr.gamma(C_MIN) == pytest.approx(gp)
    assert calr.gamma(C_MAX) == pytest.approx(1 / gp)
    for c in (C_MIN, 4e5, C_MAX):
        assert calr.lr(0.025, c, 0, 1000) == pytest.approx(0.025)
        assert calr.lr(0.025, c, 1000, 1000) == pytest.approx(0.0, abs=1e-15)
    # unpinned formula also gives the extremes (omega, tau of Eqs. (ii)-(iii))
    assert calr.omega * calr._g(np.array(C_MIN)) + calr.tau == pytest.approx(gp)
    assert calr.omega * calr._g(np.array(C_MAX)) + calr.tau == pytest.approx(1 / gp)


def test_calr_eta_floor():
    calr = CaLR(c_min=C_MIN, c_max=C_MAX, eta=0.1)
    assert calr.lr(0.5, 3e5, 0, 200) == pytest.approx(0.5)
    assert calr.lr(0.5, 3e5, 200, 200) == pytest.approx(0.05)
    assert calr.factor(C_MAX, 100, 200) == pytest.approx(0.9 * 0.5 ** 0.25 + 0.1)


def test_calr_large_subnets_keep_higher_lr_and_gamma_is_monotone():
    calr = CaLR(c_min=C_MIN, c_max=C_MAX)
    cs = np.linspace(C_MIN, C_MAX, 50)
    gam = calr.gamma(cs)
    assert isinstance(gam, np.ndarray) and gam.shape == cs.shape
    assert np.all(np.diff(gam) < 0)
    mid = calr.lr(0.025, cs, 500, 1000)
    assert np.all(np.diff(mid) > 0)
    assert calr.lr(0.025, C_MAX, 500, 1000) > 0.025 * 0.5 > calr.lr(0.025, C_MIN, 500, 1000)
    # gamma is affine in log C: the middle of the log range gets the mean of gamma' and 1/gamma'
    assert calr.gamma(math.sqrt(C_MIN * C_MAX)) == pytest.approx((4.0 + 0.25) / 2)
    assert isinstance(calr.gamma(3e5), float)
    assert isinstance(calr.factor(3e5, 1, 10), float)


@pytest.mark.parametrize("g", ["log", "x"])
def test_calr_invariant_to_complexity_scale(g):
    a = CaLR(c_min=C_MIN, c_max=C_MAX, g=g, gamma_prime=3.0)
    b = CaLR(c_min=C_MIN * 1000, c_max=C_MAX * 1000, g=g, gamma_prime=3.0)
    cs = np.linspace(C_MIN, C_MAX, 17)
    np.testing.assert_allclose(a.gamma(cs), b.gamma(cs * 1000), rtol=1e-12)
    np.testing.assert_allclose(a.lr(0.1, cs, 37, 90), b.lr(0.1, cs * 1000, 37, 90), rtol=1e-12)


def test_calr_exp_is_finite_for_parameter_counts():
    calr = CaLR(c_min=C_MIN, c_max=C_MAX, g="exp")
    gam = calr.gamma(np.array([C_MIN, 1.5e6, C_MAX]))
    assert np.all(np.isfinite(gam))
    assert gam[0] > gam[1] > gam[2]
    # supplement Sec. C.2 / Fig. C: with log, a subnet around the centre between C_min and C_max decays
    # about linearly (gamma ~ 1); with x (and exp) the centre still gets ~(gamma' + 1/gamma')/2
    mid = 0.5 * (C_MIN + C_MAX)
    assert CaLR(c_min=C_MIN, c_max=C_MAX, g="log").gamma(mid) == pytest.approx(1.0, abs=0.1)
    assert CaLR(c_min=C_MIN, c_max=C_MAX, g="x").gamma(mid) == pytest.approx(2.125)
    assert calr.gamma(mid) > 2.0


def test_calr_gamma_prime_one_is_linear_decay():
    calr = CaLR(c_min=C_MIN, c_max=C_MAX, gamma_prime=1.0)
    assert calr.gamma(5e5) == pytest.approx(1.0)
    assert calr.lr(1.0, 5e5, 30, 100) == pytest.approx(0.7)


def test_calr_errors():
    with pytest.raises(ValueError, match="log, x, exp"):
        CaLR(c_min=1, c_max=2, g="sqrt")
    with pytest.raises(ValueError, match="gamma_prime"):
        CaLR(c_min=1, c_max=2, gamma_prime=0.5)
    with pytest.raises(ValueError, match="eta"):
        CaLR(c_min=1, c_max=2, eta=1.0)
    with pytest.raises(ValueError, match="c_min"):
        CaLR(c_min=2, c_max=1)
    with pytest.raises(ValueError, match="c_min"):
        CaLR(c_min=0, c_max=1)
    calr = CaLR(c_min=C_MIN, c_max=C_MAX)
    with pytest.raises(ValueError, match="outside"):
        calr.gamma(C_MAX * 2)
    with pytest.raises(ValueError, match="outside"):
        calr.gamma(np.array([C_MIN, 10.0]))
    with pytest.raises(ValueError):
        calr.factor(C_MIN, 11, 10)
    with pytest.raises(TypeError):
        CaLR(C_MIN, C_MAX)  # keyword-only fields
    with pytest.raises(Exception):
        calr.eta = 0.5  # frozen
