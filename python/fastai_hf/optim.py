"""`Adam`: fastai's Adam, with its step in torch's multi-tensor kernels wherever that gives fastai's updates.

fastai's `Optimizer` runs five small Python callbacks per parameter tensor per step. For a 22.7M
parameter transformer on a CPU that is ~130 ms a step on a quiet machine (and 390-500 ms on a busy
one), comparable to the forward/backward pass it follows; torch's fused AdamW kernel makes one pass
over all tensors (~10 ms). `Adam` (also under its explicit name `FusedAdam`) keeps everything a
fastai user relies on and only changes how the arithmetic is done:

- the signature and hypers are fastai's (`lr`, `mom`, `sqr_mom`, `eps`, `wd`, `decouple_wd`), one
  dict per parameter group, so discriminative rates (`slice(lo, hi)`), `fit_one_cycle`'s momentum
  cycling, `freeze_to` and `lr_find` work unchanged;
- per-parameter state keeps fastai's meaning: `do_wd = False` (set by the Learner for norm and
  bias parameters when `wd_bn_bias=False`) skips weight decay, `force_train` survives
  `clear_state`;
- the update is fastai's Adam exactly: decoupled weight decay `p *= 1 - lr*wd` (or L2 added to
  the gradient with `decouple_wd=False`), dampened moving averages, bias correction with the
  *current* momentum, `eps` added after the square root. torch's `adam` functional computes the
  same formula, so results match fastai's `Adam` to float rounding (tested).

Where the kernel would not give fastai's updates, those parameters take fastai's own per-parameter
step (the same callbacks as `fastai.optimizer.Adam`), the rest of the model keeps the kernel:

- parameters that are not float32/float64 (a model cast to fp16/bf16 with `.half()`: the kernel
  does its arithmetic in fp32 and rounds once, fastai rounds after each operation; complex
  parameters: fastai squares the gradient as `g*g`, the kernel as `|g|^2`);
- sparse gradients (`nn.Embedding(sparse=True)`): torch's Adam refuses them; fastai's fails on them
  too, so the error is fastai's.

Mixed precision (`to_fp16()`, `to_bf16()`) keeps fp32 master weights and fp32 gradients, so it
stays on the kernel. On devices other than CPU and CUDA (no fused kernel) the multi-tensor
`foreach` kernel computes the same formula.

`from fastai_hf import *` (which star-imports `fastai.text.all` first) gives this `Adam`, and a
`Learner` made without `opt_func` uses it too; `fastai.optimizer.Adam` itself is untouched.
"""
from __future__ import annotations

from functools import partial

import torch
from fastai.optimizer import (Optimizer, _update, adam_step, average_grad, average_sqr_grad, l2_reg, step_stat,
                              weight_decay)
from torch.optim.adam import adam as _torch_adam

__all__ = ["Adam", "FusedAdam"]

_KERNEL_DTYPES = (torch.float32, torch.float64)


def _kernel(params) -> dict:
    "fused where torch has the kernel for these tensors (CPU/CUDA), else foreach (same formula)."
    return {"fused": True} if all(p.device.type in ("cpu", "cuda") for p in params) else {"foreach": True}


def _kernel_gives_fastai_updates(p) -> bool:
    "Whether torch's kernel computes fastai's update for this parameter (see the module doc)."
    g = p.grad
    return p.dtype in _KERNEL_DTYPES and g.dtype == p.dtype and g.layout == torch.strided and not g.is_sparse


class FusedAdam(Optimizer):
    "fastai's `Adam`/AdamW with its step in torch's fused multi-tensor kernel (same arguments, same results)."

    def __init__(self, params, lr, mom: float = 0.9, sqr_mom: float = 0.99, eps: float = 1e-5,
                 wd: float = 0.01, decouple_wd: bool = True):
        super().__init__(params, cbs=[], lr=lr, mom=mom, sqr_mom=sqr_mom, eps=eps, wd=wd)
        self.decouple_wd = decouple_wd
        # fastai's Adam, for the parameters the kernel cannot serve (same list as fastai.optimizer.Adam)
        self.fallback_cbs = [weight_decay if decouple_wd else l2_reg, partial(average_grad, dampening=True),
                             average_sqr_grad, step_stat, adam_step]

    def zero_grad(self):
        # Dropping the gradients (torch's default) saves a pass that zeroes every one of them.
        for p, *_ in self.all_params(with_grad=True): p.grad = None

    def _state_of(self, p) -> dict:
        state = self.state[p]
        if "grad_avg" not in state:
            state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["sqr_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        # torch's kernels count steps in a float tensor (on the device for the fused kernel); a state
        # saved by fastai's Adam (or the per-parameter path below) counts in a Python int.
        step = state.get("step", 0)
        if not torch.is_tensor(step) or step.device != p.device:
            state["step"] = torch.tensor(float(step), dtype=torch.float32, device=p.device)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None: raise NotImplementedError("fastai optimizers do not support closure")
        for params, hyper in zip(self.param_lists, self.hypers):
            with_grad = [p for p in params if p.grad is not None]
            kernel = [p for p in with_grad if _kernel_gives_fastai_updates(p)]
            if len(kernel) < len(with_grad):
                ids = {id(p) for p in kernel}
                for p in with_grad:
                    if id(p) not in ids: self._fastai_step(p, hyper)
            # One kernel call per (group, decays-or-not): weight decay is a per-call scalar.
            for do_wd in (True, False):
                ps = [p for p in kernel if self.state[p].get("do_wd", True) == do_wd]
                if ps: self._update(ps, hyper, hyper["wd"] if do_wd else 0.0)

    def _update(self, ps, hyper, wd):
        states = [self._state_of(p) for p in ps]
        _torch_adam(ps, [p.grad for p in ps], [s["grad_avg"] for s in states],
                    [s["sqr_avg"] for s in states], [], [s["step"] for s in states],
                    decoupled_weight_decay=self.decouple_wd, amsgrad=False, maximize=False,
                    beta1=hyper["mom"], beta2=hyper["sqr_mom"], lr=hyper["lr"], weight_decay=wd,
                    eps=hyper["eps"], **_kernel(ps))

    def _fastai_step(self, p, hyper):
        "fastai's per-parameter Adam step (fastai.optimizer.Optimizer.step for one parameter)."
        state = self.state[p]
        if torch.is_tensor(state.get("step")): state["step"] = int(state["step"].item())
        for cb in self.fallback_cbs: state = _update(state, cb(p, **{**state, **hyper}))
        self.state[p] = state


def Adam(params, lr, mom: float = 0.9, sqr_mom: float = 0.99, eps: float = 1e-5, wd: float = 0.01,
         decouple_wd: bool = True) -> Optimizer:
    """fastai's Adam/AdamW (same signature, hypers and updates), stepping with torch's fused
    multi-tensor kernel; parameters the kernel cannot serve exactly take fastai's per-parameter step
    (see `fastai_hf.optim`). Returns a `FusedAdam`."""
    return FusedAdam(params, lr, mom=mom, sqr_mom=sqr_mom, eps=eps, wd=wd, decouple_wd=decouple_wd)


def use_as_learner_default():
    "Make `Adam` the default `opt_func` of fastai's `Learner` (fastai's own default is its per-parameter Adam)."
    from fastai.learner import Learner
    from fastai.optimizer import Adam as _fastai_adam
    init = Learner.__init__
    names = init.__code__.co_varnames[:init.__code__.co_argcount]
    defaults = list(init.__defaults__)
    i = names.index("opt_func") - (len(names) - len(defaults))
    if defaults[i] is _fastai_adam:
        defaults[i] = Adam
        init.__defaults__ = tuple(defaults)
