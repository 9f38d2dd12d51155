"""to_bf16() on the CPU: bf16 autocast where the CPU has bf16 instructions, fp32 and one sentence where not."""
import warnings

import pytest
import torch
from fastai_hf import MixedPrecision

from helpers import make_learner

import fastai_hf.precision as prec


def _linear_dtypes(learn):
    "Records the output dtype of the classifier head (an nn.Linear) at each forward."
    seen = []
    learn.model.hf_model.classifier.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    return seen


@pytest.fixture
def bf16_cpu(monkeypatch):
    "This CPU's detection, forced to 'supported' (autocast computes in bf16 on any CPU; only speed differs)."
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: (True, "test"))


@pytest.fixture
def no_bf16_cpu(monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: (False, "test: no avx512_bf16"))
    monkeypatch.setattr(prec, "_said", False)


def test_to_bf16_trains_in_bf16_with_fp32_weights(tiny_path, ekman_df, bf16_cpu):
    learn = make_learner(tiny_path, ekman_df).to_bf16()
    assert any(isinstance(cb, MixedPrecision) for cb in learn.cbs)
    seen = _linear_dtypes(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(4, 3e-3)
    assert seen and all(d == torch.bfloat16 for d in seen)  # matrix products in bf16, train and valid
    assert all(p.dtype == torch.float32 for p in learn.model.parameters())  # master weights
    assert all(s["grad_avg"].dtype == torch.float32 for s in learn.opt.state.values() if "grad_avg" in s)
    losses = [v[0] for v in learn.recorder.values]  # training loss per epoch
    assert losses[-1] < losses[0]  # it learns


def test_to_bf16_on_a_cpu_without_bf16_says_so_once_and_stays_fp32(tiny_path, ekman_df, no_bf16_cpu):
    learn = make_learner(tiny_path, ekman_df)
    with pytest.warns(UserWarning, match=r"no bfloat16 instructions.*fp32"):
        learn.to_bf16()
    seen = _linear_dtypes(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert seen and all(d == torch.float32 for d in seen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_learner(tiny_path, ekman_df).to_bf16()  # said once per process


def test_to_fp32_removes_bf16(tiny_path, ekman_df, bf16_cpu):
    learn = make_learner(tiny_path, ekman_df).to_bf16().to_fp32()
    assert not any(isinstance(cb, MixedPrecision) for cb in learn.cbs)
    seen = _linear_dtypes(learn)
    with learn.no_bar(): learn.get_preds()
    assert seen and all(d == torch.float32 for d in seen)


def test_bf16_detection_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(prec, "_cpuinfo_flags", lambda: {"fpu", "avx512f", "avx512_bf16"})
    prec.cpu_bf16_support.cache_clear()
    try:
        assert prec.cpu_bf16_support()[0] is True
        monkeypatch.setattr(prec, "_cpuinfo_flags", lambda: {"fpu", "avx2", "avx512f"})
        prec.cpu_bf16_support.cache_clear()
        ok, how = prec.cpu_bf16_support()
        assert ok is False and "avx512_bf16" in how
    finally:
        prec.cpu_bf16_support.cache_clear()
