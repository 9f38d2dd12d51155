"""`Learner.fit_linear`: the Hugging Face Trainer's default learning-rate schedule in fastai's loop.

fastai's own schedules (`fit_one_cycle`, `fit_flat_cos`, `fit_sgdr`) stay at or near the peak rate
for most of training. The Trainer's (transformers' `get_linear_schedule_with_warmup`, no warm-up by
default) falls linearly from the peak from the first step. For one or two short epochs of token
classification that matters: on 2,000 CoNLL-2003 sentences (MiniLM, bs 16, 3e-4, one epoch) entity
F1 rose from 0.65 with `fit_one_cycle` to 0.70-0.71 with `fit_linear` and `GradientClip(1.0)`
(means over seeds; the Trainer 0.72-0.73, level with it when the batches are also random:
bench/README.md). Momentum stays at the optimizer's (0.9 for fastai's Adam), as in the Trainer.
"""
import numpy as np
from fastai.callback.schedule import ParamScheduler, SchedLin, combine_scheds
from fastai.learner import Learner
from fastcore.basics import patch
from fastcore.foundation import L

__all__ = ["linear_sched"]


def linear_sched(lr, pct_start=0.0):
    "The rate rising linearly from 0 to `lr` over the first `pct_start` of training, then falling linearly to 0."
    return combine_scheds([pct_start, 1 - pct_start], [SchedLin(0 * lr, lr), SchedLin(lr, 0 * lr)])


@patch
def fit_linear(self: Learner, n_epoch, lr=None, pct_start=0.0, wd=None, cbs=None, reset_opt=False, start_epoch=0):
    """Train `n_epoch` epochs with the learning rate warming up linearly from 0 over the first `pct_start`
    of the steps (none by default) and then falling linearly to 0: the Hugging Face Trainer's default
    schedule. `lr` as in `fit_one_cycle` (a number, a slice or one per parameter group)."""
    if self.opt is None: self.create_opt()
    self.opt.set_hyper("lr", self.lr if lr is None else lr)
    lr = np.array([h["lr"] for h in self.opt.hypers])
    self.fit(n_epoch, cbs=ParamScheduler({"lr": linear_sched(lr, pct_start)}) + L(cbs), reset_opt=reset_opt, wd=wd,
             start_epoch=start_epoch)
