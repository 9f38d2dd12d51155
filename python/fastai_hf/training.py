"""Training arguments checked before anything runs, for every Learner (HF, ULMFiT, plain fastai).

fastai accepts `fit_one_cycle(0)` (and does nothing), negative, NaN or infinite learning rates (an
infinite one turns every probability into NaN), `freeze_to(-100)` (unfreezes everything), thresholds
of 1.5, and fails with an AssertionError on a learning-rate vector of the wrong length. Importing this
module wraps the training methods of `Learner` (`fit`, `fit_one_cycle`, `fit_flat_cos`, `fit_linear`,
`fit_sgdr`, `fine_tune`, `lr_find`) and `freeze_to` so that they check their arguments first and raise a
ValueError / TypeError naming the argument and what to give instead, in the user's language.

Why wrappers rather than a callback's `before_fit`: fastai sets the learning rates on the optimizer
(where a wrong-length vector fails) before any event, and `fine_tune` trains a frozen epoch before
its second fit would be checked; a wrapper sees the arguments as the user gave them, before
anything runs. The checks run once, at the outermost call: `fine_tune` calling `fit_one_cycle`
calling `fit` is checked as the user's `fine_tune` call (so `fine_tune(freeze_epochs=0)` works).
"""
import contextvars
import functools
import inspect

from fastai.learner import Learner
from fastcore.xtras import is_listy

from .checks import advice, as_int, as_number, check_lr, check_thresholds, count, show
from .data.core import check_batches, target_kind
from .predict import label_vocab
from . import schedule  # noqa: F401  (Learner.fit_linear, wrapped below)

__all__ = ["n_param_groups", "check_fit", "check_model_thresholds"]

_CHECKED = contextvars.ContextVar("fastai_hf_checked_fit", default=False)


def n_param_groups(learn):
    "How many parameter groups the learner's optimizer has (or will have: its splitter's groups)."
    if learn.opt is not None: return len(learn.opt.param_lists)
    groups = list(learn.splitter(learn.model))
    return len(groups) if groups and is_listy(groups[0]) else 1


def _thresholds_of(learn):
    "(name, thresholds) of the loss function and metrics that decide multi-label predictions."
    found = []
    t = getattr(learn.loss_func, "thresh", None)
    if t is not None: found.append((advice("learn.loss_func.thresh", "learn$loss_func$thresh"), t))
    for m in learn.metrics:
        func = getattr(m, "func", None)
        t = getattr(m, "thresh", None)
        if t is None: t = (getattr(func, "keywords", None) or {}).get("thresh")
        if t is not None: found.append((f"the thresh of metric {getattr(m, 'name', type(m).__name__)}", t))
    return found


def check_model_thresholds(learn):
    "Multi-label thresholds (the loss function's, the metrics') are probabilities, one or one per label."
    if target_kind(learn.dls) != "multi_label": return
    n = len(label_vocab(learn) or [])
    for name, t in _thresholds_of(learn): check_thresholds(name, t, n)


def _wd(learn, wd):
    if wd is not None: as_number("wd", wd, 0)
    elif getattr(learn, "wd", None) is not None: as_number(advice("learn.wd", "the learner's wd"), learn.wd, 0)


def _lr(learn, name, lr, groups):
    if lr is None: check_lr(advice("learn.lr (Learner's lr)", "the lr of Learner()"), learn.lr, groups)
    else: check_lr(name, lr, groups)


def check_fit(learn, method, args):
    """Check the arguments of `learn.<method>(**args)` (as bound to its signature); whole numbers are
    made ints in `args`. Raises a ValueError or TypeError naming the argument."""
    groups = n_param_groups(learn)
    if method in ("fit", "fit_one_cycle", "fit_flat_cos", "fit_linear"):
        args["n_epoch"] = as_int("n_epoch", args["n_epoch"], 1)
        lr_name = "lr_max" if method == "fit_one_cycle" else "lr"
        _lr(learn, lr_name, args.get(lr_name), groups)
    elif method == "fit_sgdr":
        args["n_cycles"] = as_int("n_cycles", args["n_cycles"], 1)
        args["cycle_len"] = as_int("cycle_len", args["cycle_len"], 1)
        if "cycle_mult" in args: args["cycle_mult"] = as_int("cycle_mult", args["cycle_mult"], 2)
        _lr(learn, "lr_max", args.get("lr_max"), groups)
    elif method == "fine_tune":
        args["epochs"] = as_int("epochs", args["epochs"], 1)
        if "freeze_epochs" in args: args["freeze_epochs"] = as_int("freeze_epochs", args["freeze_epochs"], 0)
        if "base_lr" in args:
            if isinstance(args["base_lr"], slice) or is_listy(args["base_lr"]):
                raise TypeError(f"base_lr of fine_tune must be one number (fine_tune spreads it over the parameter "
                                f"groups itself), not {show(args['base_lr'])}")
            as_number("base_lr", args["base_lr"], 0, exclusive_minimum=True)
        if "lr_mult" in args: as_number("lr_mult", args["lr_mult"], 0, exclusive_minimum=True)
    elif method == "lr_find":
        start = as_number("start_lr", args.get("start_lr", 1e-7), 0, exclusive_minimum=True)
        end = as_number("end_lr", args.get("end_lr", 10), 0, exclusive_minimum=True)
        if start >= end: raise ValueError(f"start_lr ({show(start)}) must be smaller than end_lr ({show(end)})")
        if "num_it" in args: args["num_it"] = as_int("num_it", args["num_it"], 1)
    if "pct_start" in args: as_number("pct_start", args["pct_start"], 0, 1)
    for k in ("div", "div_final"):
        if k in args: as_number(k, args[k], 0, exclusive_minimum=True)
    if method != "lr_find": _wd(learn, args.get("wd"))
    check_model_thresholds(learn)
    check_batches(learn.dls)


def _checked(method):
    "Wrap `Learner.<method>` so that its arguments are checked at the outermost call."
    orig = getattr(Learner, method)
    if getattr(orig, "_fastai_hf_checked", False): return
    sig = inspect.signature(orig)

    @functools.wraps(orig)
    def checked(self, *args, **kwargs):
        if _CHECKED.get(): return orig(self, *args, **kwargs)
        try: bound = sig.bind(self, *args, **kwargs)
        except TypeError as e: raise TypeError(f"{method}(): {e}") from None
        try: check_fit(self, method, bound.arguments)
        except (ValueError, TypeError) as e: raise type(e)(f"{method}(): {e}") from None
        token = _CHECKED.set(True)
        try: return orig(*bound.args, **bound.kwargs)
        finally: _CHECKED.reset(token)

    checked._fastai_hf_checked = True
    setattr(Learner, method, checked)


for _m in ("fit", "fit_one_cycle", "fit_flat_cos", "fit_linear", "fit_sgdr", "fine_tune", "lr_find"): _checked(_m)

_freeze_to = Learner.freeze_to


def freeze_to(self: Learner, n):
    """fastai's `freeze_to`, checked: `n` is a whole number within the parameter groups (from -groups to
    groups - 1; 0 unfreezes everything, -1 trains the last group only, negative counts from the end)."""
    groups = n_param_groups(self)
    n = as_int("n", n)
    if not -groups <= n < groups:
        raise ValueError(f"freeze_to(n = {show(n)}) is outside this model's {count(groups, 'parameter group')}; n "
                         f"must be between {-groups} and {groups - 1} (0 trains every group, -1 only the last, -2 "
                         "the last two, ...)")
    return _freeze_to(self, n)


if not getattr(_freeze_to, "_fastai_hf_checked", False):
    freeze_to._fastai_hf_checked = True
    functools.update_wrapper(freeze_to, _freeze_to, assigned=("__module__", "__name__", "__qualname__"))
    Learner.freeze_to = freeze_to
