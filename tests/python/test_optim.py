"""`Adam` (the package's: fastai's Adam in torch's fused kernel, also named FusedAdam) must be fastai's
per-parameter Adam in everything but speed."""
from functools import partial

import pytest
import torch
from fastai.optimizer import Adam as fastai_adam
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


def _fit(learn, freeze_to=None, **kwargs):
    if freeze_to is not None: learn.freeze_to(freeze_to)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, **kwargs)
    return [p.detach().clone() for p in learn.model.parameters()]


def test_seed_adam_is_fused_and_matches_fastai_per_parameter_adam():
    """The seed's `opt_func=partial(Adam)` steps in the fused kernel and ends at fastai's Adam's weights:
    one-cycle (cycled momentum), discriminative rates, the first group frozen."""
    learn = _toy_learner(partial(Adam))
    got = _fit(learn, freeze_to=1, lr_max=slice(1e-3, 1e-2))
    assert isinstance(learn.opt, FusedAdam)
    assert all(torch.is_tensor(learn.opt.state[p]["step"]) for p, *_ in learn.opt.all_params(with_grad=True))
    ref_learn = _toy_learner(partial(fastai_adam))
    ref = _fit(ref_learn, freeze_to=1, lr_max=slice(1e-3, 1e-2))
    assert type(ref_learn.opt).__name__ == "Optimizer"  # fastai's per-parameter callbacks
    start = [p.detach() for p in _toy_learner(fastai_adam).model.parameters()]
    assert all(torch.equal(s, r) for s, r in zip(start[:2], ref[:2]))  # the frozen group did not move
    assert max((r - s).abs().max().item() for r, s in zip(ref, start)) > 1e-2  # the others did
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


def test_learner_default_opt_func_is_the_fused_adam():
    "Learner(...) without opt_func: fastai's default Adam is replaced by the package's."
    set_seed(0)
    x = torch.randn(64, 8)
    dls = DataLoaders(DataLoader(TensorDataset(x, x[:, :1]), bs=32), DataLoader(TensorDataset(x, x[:, :1]), bs=32))
    learn = Learner(dls, nn.Linear(8, 1), loss_func=MSELossFlat())
    assert learn.opt_func is Adam
    learn.create_opt()
    assert isinstance(learn.opt, FusedAdam)


def test_low_precision_parameters_take_fastai_per_parameter_step():
    "A bf16 model: the kernel would round differently, so its parameters get fastai's exact step."
    def run(opt_func):
        set_seed(0)
        model = nn.Linear(8, 4).to(torch.bfloat16)
        opt = opt_func(list(model.parameters()), lr=1e-2)
        for _ in range(3):
            model(torch.randn(16, 8, dtype=torch.bfloat16)).pow(2).mean().backward()
            opt.step(); opt.zero_grad()
        return [p.detach().clone() for p in model.parameters()], opt
    ref, _ = run(fastai_adam)
    got, opt = run(Adam)
    assert all(isinstance(opt.state[p]["step"], int) for p, *_ in opt.all_params())  # fastai's state, not the kernel's
    for r, g in zip(ref, got):
        assert torch.equal(r, g)


def test_state_saved_by_fastai_adam_loads_into_the_fused_adam():
    "Training resumes from fastai's optimizer state (int step counts) with the same next update."
    def two_steps(second):
        set_seed(0)
        model = nn.Linear(8, 4)
        first = fastai_adam(list(model.parameters()), lr=1e-2)
        xs = [torch.randn(16, 8) for _ in range(2)]
        model(xs[0]).pow(2).mean().backward(); first.step(); first.zero_grad()
        opt = second(list(model.parameters()), lr=1e-2)
        opt.load_state_dict(first.state_dict())
        model(xs[1]).pow(2).mean().backward(); opt.step()
        return [p.detach().clone() for p in model.parameters()]
    for r, g in zip(two_steps(fastai_adam), two_steps(Adam)):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


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
