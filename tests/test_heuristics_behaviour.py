"""What each heuristic does, checked on its runtime object (the registry tests check listing and validation)."""

import numpy as np
import pytest
import torch
from scipy import stats

from bench.config import load_config
from bench.heuristics.lr_policy import CaLRSchedule, LRPolicy
from bench.heuristics.recipe import build_recipe
from bench.heuristics.sampling import FairSampler, ProportionalSampler, UniformSampler, space_complexity
from bench.spaces import get_space
from bench.spaces import nb201 as space
from bench.supernets.nb201 import NB201Supernet
from bench.train import Trainer

DIGITS = dict(C=8, N=1, num_classes=10, input_size=8, in_channels=1)


def test_fairnas_trains_every_op_of_every_edge_exactly_once_per_step():
    plans = FairSampler(ms_edge=None).plan_epoch(np.random.default_rng(0), steps=50)
    for plan in plans:
        assert len(plan.archs) == len(space.OPS)
        for edge in range(space.NUM_EDGES):
            assert sorted(a.ops[edge] for a in plan.archs) == sorted(space.OPS)
    # The permutations differ between steps (not one fixed assignment).
    assert len({plan.archs for plan in plans}) == 50


def test_fairnas_with_ms_samples_all_subnets_inside_one_cluster():
    plans = FairSampler(ms_edge=2).plan_epoch(np.random.default_rng(1), steps=200)
    for plan in plans:
        assert {a.ops[2] for a in plan.archs} == {space.OPS[plan.cluster]}
        for edge in (0, 1, 3, 4, 5):
            assert sorted(a.ops[edge] for a in plan.archs) == sorted(space.OPS)
    counts = np.bincount([p.cluster for p in plans], minlength=5)
    assert stats.chisquare(counts).pvalue > 0.001, counts


def test_spos_with_ms_takes_the_cluster_of_the_sampled_op():
    sampler = UniformSampler(lambda arch: space.OPS.index(arch.ops[5]), get_space("nb201"))
    for plan in sampler.plan_epoch(np.random.default_rng(2), steps=100):
        assert len(plan.archs) == 1 and plan.cluster == space.OPS.index(plan.archs[0].ops[5])


def test_complexity_proportional_sampling_draws_in_proportion_to_parameters():
    params = space_complexity("params", dict(C=16, N=5))
    sampler = ProportionalSampler(params, lambda arch: 0)
    draws = sampler.plan_epoch(np.random.default_rng(3), steps=20000)
    drawn = np.array([space.complexity(p.archs[0]).params for p in draws], dtype=float)
    # Binned by parameter count (quartiles of the space), observed counts match p ~ params.
    edges = np.quantile(params, [0, 0.25, 0.5, 0.75, 1.0])
    p = params / params.sum()
    expected = np.array([p[(params >= lo) & (params < hi if i < 3 else params <= hi)].sum()
                         for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]) * len(drawn)
    observed = np.histogram(drawn, bins=edges)[0]
    assert stats.chisquare(observed, expected).pvalue > 0.001, (observed, expected)
    # And clearly not uniform: the largest quartile is drawn far more than a quarter of the time.
    assert observed[-1] > 0.4 * len(drawn)


def test_calr_policy_gives_lr0_at_step_0_and_eta_lr0_at_the_end():
    policy = CaLRSchedule(eta=0.1).build(lr=0.05, total_steps=100, warmup_steps=0, epochs=10, standalone=DIGITS,
                                         search_space=get_space("nb201"))
    assert isinstance(policy, LRPolicy)
    small, large = space.Arch(("none",) * 6), space.Arch(("nor_conv_3x3",) * 6)
    assert policy.for_step(0, [small]).lr == pytest.approx(0.05)
    assert policy.for_step(100, [large]).lr == pytest.approx(0.1 * 0.05)
    # Mid-training, the large subnet keeps a higher learning rate (gamma 1/4 versus 4).
    assert policy.for_step(50, [large]).lr > policy.for_step(50, [small]).lr
    assert policy.calr.gamma(policy.complexity(small)) == pytest.approx(4.0)
    assert policy.calr.gamma(policy.complexity(large)) == pytest.approx(0.25)
    # With several subnets (FairNAS) the step uses lr_0 and weights each subnet by its factor.
    step = policy.for_step(50, [small, large])
    assert step.lr == pytest.approx(0.05) and step.weights[1] > step.weights[0]


def _trainer(overrides, model):
    from bench.data import DeviceBatches, load_digits

    config = load_config(None, ["train.batch_size=64", "train.epochs=20"] + overrides)
    batches = DeviceBatches(load_digits().subset(np.arange(256)), 64, pad=1, flip=False, seed=0)
    recipe = build_recipe(config, DIGITS, len(batches))
    return Trainer(model, batches, config.train, recipe, seed=0, progress=False)


def _model():
    torch.manual_seed(0)
    return NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)


def test_ms_keeps_one_buffer_per_cluster_and_a_step_changes_only_its_own():
    trainer = _trainer(["heuristics.momentum_buffers=ms"], _model())
    opt = trainer.optimizer
    plans = trainer.recipe.sampler.plan_epoch(np.random.default_rng(0), 40)
    x, y = next(iter(trainer.batches.epoch(0)))
    stem = trainer.model.stem[0].weight  # used by every subnet
    for step, plan in enumerate(plans):
        before = {c: (opt.momentum_buffer(stem, c).clone() if opt.momentum_buffer(stem, c) is not None else None)
                  for c in range(5)}
        trainer.train_step(x, y, plan, step)
        for c in range(5):
            after = opt.momentum_buffer(stem, c)
            if c == plan.cluster:
                assert after is not None and (before[c] is None or not torch.equal(before[c], after))
            else:
                assert (before[c] is None and after is None) or torch.equal(before[c], after)
    assert sum(opt.momentum_buffer(stem, c) is not None for c in range(5)) == 5


def test_unused_params_skip_versus_stale():
    """With 'stale', an op the step did not use still moves (weight decay + old momentum); with 'skip' it does not."""
    results = {}
    for mode in ("skip", "stale"):
        trainer = _trainer([f"heuristics.unused_params={mode}"], _model())
        x, y = next(iter(trainer.batches.epoch(0)))
        conv3 = space.Arch(("nor_conv_3x3",) * 6)
        conv1 = space.Arch(("nor_conv_1x1",) * 6)
        from bench.heuristics.sampling import StepPlan

        trainer.train_step(x, y, StepPlan(0, (conv3,)), 0)  # builds momentum on the 3x3 convs
        w = trainer.model.stages[0][0].edges[0]["nor_conv_3x3"][1].weight
        before = w.detach().clone()
        trainer.train_step(x, y, StepPlan(0, (conv1,)), 1)  # the 3x3 convs are unused now
        results[mode] = torch.equal(before, w.detach())
    assert results == {"skip": True, "stale": False}


def test_momentum_zero_carries_nothing():
    trainer = _trainer(["train.momentum=0", "train.nesterov=false"], _model())
    x, y = next(iter(trainer.batches.epoch(0)))
    plan = trainer.recipe.sampler.plan_epoch(np.random.default_rng(0), 1)[0]
    trainer.train_step(x, y, plan, 0)
    assert all("momentum_buffer" not in s or not s["momentum_buffer"] for s in trainer.optimizer.state.values())


def test_drop_path_is_active_in_training_only():
    torch.manual_seed(0)
    model = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1, drop_path=0.5)
    arch = space.Arch(("nor_conv_3x3",) * 6)
    x = torch.randn(8, 1, 8, 8)
    model.train()
    torch.manual_seed(1)
    a = model(x, arch)
    torch.manual_seed(2)
    b = model(x, arch)
    assert not torch.allclose(a, b)
    model.eval()
    assert torch.equal(model(x, arch), model(x, arch))
