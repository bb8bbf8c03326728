"""train.precision: bf16 autocast in training and scoring; fp32 stays the default and keeps run keys."""

import json
import math

import pytest
import torch
from torch import nn

from bench.config import load_config
from bench.data import DeviceBatches
from bench.evaluate import score_pool
from bench.perf import _trainer, synthetic_images
from bench.run import config_hash, execute_run
from bench.spaces import nb201 as space

TINY = ["train.epochs=2", "supernet.C=4", "supernet.N=1", "eval.pool_size=10", "train.batch_size=128",
        "diagnostics.grad_window=2"]


def tiny(*extra):
    return load_config(None, TINY + list(extra))


def _conv_dtypes(model: nn.Module) -> list:
    seen = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return seen


def test_precision_defaults_to_fp32_and_keeps_the_run_key():
    assert tiny().train.precision == "fp32"
    assert config_hash(tiny()) == config_hash(tiny("train.precision=fp32"))
    assert config_hash(tiny("train.precision=bf16")) != config_hash(tiny())


@pytest.mark.parametrize("precision, dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_autocast_is_engaged_in_training_and_scoring(precision, dtype):
    data = DeviceBatches(synthetic_images(32), 16, torch.device("cpu"), seed=0)
    trainer = _trainer([], 2, 1, 16, data, precision)
    seen = _conv_dtypes(trainer.model)
    record = trainer.train_epoch(0)
    assert seen and set(seen) == {dtype}
    assert math.isfinite(record.loss)
    params = list(trainer.model.parameters())  # weights and their gradients stay fp32
    assert all(p.dtype == torch.float32 for p in params)
    assert all(p.grad.dtype == torch.float32 for p in params if p.grad is not None)
    seen.clear()
    held_out = DeviceBatches(synthetic_images(16, seed=1), 8, torch.device("cpu"), augment=False, shuffle=False,
                             drop_last=False)
    scores = score_pool(trainer.model, space.sample_archs(2, seed=0), held_out, recalibration_batches=1,
                        train_batches=data, progress=False, precision=precision)
    assert seen and set(seen) == {dtype} and ((0 <= scores) & (scores <= 100)).all()


def test_tiny_bf16_run_trains_scores_and_gives_finite_metrics(tmp_path):
    record = execute_run(tiny("train.precision=bf16"), out=tmp_path / "run", progress=False)
    metrics = json.loads((record.path / "metrics.json").read_text())
    for key in ("kendall_tau", "spearman", "train_seconds", "grad_std"):
        assert math.isfinite(metrics[key]), key


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_tiny_run_on_cuda(tmp_path, precision):
    record = execute_run(tiny("train.device=cuda", f"train.precision={precision}"), out=tmp_path / "run",
                         progress=False)
    metrics = json.loads((record.path / "metrics.json").read_text())
    assert math.isfinite(metrics["kendall_tau"]) and math.isfinite(metrics["train_seconds"])
