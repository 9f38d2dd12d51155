"""FusedAdam must be fastai's Adam in everything but speed."""
import pytest
import torch
from fastai_hf import Adam, DataLoader, DataLoaders, FusedAdam, Learner, MSELossFlat, set_seed
from torch import nn
from torch.utils.data import TensorDataset

from helpers import make_learner


def _toy_learner(opt_func, seed=0, **kwargs):
    "A model with linear, norm and bias parameters in three groups, on a fixed regression task."
    set_seed(seed)
    x = torch.randn(256, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(256, 1)
    dls = DataLoaders(DataLoader(TensorDataset(x[:192], y[:192]), bs=32, shuffle=False),
                      DataLoader(TensorDataset(x[192:], y[192:]), bs=32))
    set_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.ReLU(), nn.Linear(16, 1))
    splitter = lambda m: [list(m[0].parameters()), list(m[1].parameters()), list(m[3].parameters())]
    return Learner(dls, model, loss_func=MSELossFlat(), opt_func=opt_func, splitter=splitter, **kwargs)


def _fit(learn, **kwargs):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, **kwargs)
    return [p.detach().clone() for p in learn.model.parameters()]


@pytest.mark.parametrize("kwargs", [dict(), dict(wd_bn_bias=True), dict(wd=0.1)])
def test_fused_adam_matches_fastai_adam(kwargs):
    "One-cycle (momentum cycled), discriminative rates and per-parameter do_wd: same weights."
    ref = _fit(_toy_learner(Adam, **kwargs), lr_max=slice(1e-3, 1e-2))
    got = _fit(_toy_learner(FusedAdam, **kwargs), lr_max=slice(1e-3, 1e-2))
    moved = max((r - p).abs().max().item() for r, p in zip(ref, [p.detach() for p in _toy_learner(Adam).model.parameters()]))
    assert moved > 1e-2  # the comparison below is about trained weights
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


def test_fused_adam_l2_matches_fastai_adam():
    "decouple_wd=False is Adam with L2 regularisation in both."
    from functools import partial
    ref = _fit(_toy_learner(partial(Adam, decouple_wd=False, wd=0.1)), lr_max=1e-2)
    got = _fit(_toy_learner(partial(FusedAdam, decouple_wd=False, wd=0.1)), lr_max=1e-2)
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


def test_fused_adam_freeze_trains_the_head_only(tiny_path, ekman_df, tmp_path):
    "freeze() leaves the body untouched (but its norm layers: fastai's train_bn); the head moves."
    learn = make_learner(tiny_path, ekman_df, opt_func=FusedAdam)
    learn.path = tmp_path  # the save below goes to tmp_path/models
    learn.freeze()
    body = [p.detach().clone() for p in learn.model.hf_model.bert.parameters()]
    head = [p.detach().clone() for p in learn.model.hf_model.classifier.parameters()]
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    frozen = [(b, p) for b, p in zip(body, learn.model.hf_model.bert.parameters()) if not p.requires_grad]
    assert len(frozen) > len(body) / 2
    assert all(torch.equal(b, p) for b, p in frozen)
    assert not all(torch.equal(h, p) for h, p in zip(head, learn.model.hf_model.classifier.parameters()))
    # save/load with the optimizer state (what lr_find and SaveModelCallback do)
    learn.save("fused_state", with_opt=True)
    n_state = sum("grad_avg" in learn.opt.state[p] for p, *_ in learn.opt.all_params())
    learn.opt.clear_state()
    learn.load("fused_state", with_opt=True)
    assert sum("grad_avg" in learn.opt.state[p] for p, *_ in learn.opt.all_params()) == n_state > 0
