"""The training history of a learner across fits, for tables, plots and model cards.

`HistoryCallback` keeps, over the learner's life:
- one row per training epoch: epoch (counted from 1), train_loss, valid_loss, the metrics and the
  time in seconds (`history_df`);
- one record per `fit` (`run_record`, `run_record_df`): how it was called (`method`: fit,
  fit_one_cycle, fit_flat_cos, fit_linear, fit_sgdr; `called_from`: fine_tune for its two stages), the epochs
  trained, the learning rate of each parameter group (peak, first and last batch, as the scheduler
  set them), the frozen groups and trainable parameters, batch size, data size, torch's seed, the
  optimizer, weight decay, loss, and the losses and metrics of its last epoch: what a model card
  says about training (`hf_save_pretrained`);
- how the decision thresholds were last tuned (`find_thresholds`), with the rows they were tuned on.

Every Learner gets it: importing fastai_hf adds it to fastai's `defaults.callbacks`, as fastai adds
its own Recorder and ProgressCallback, so learners record from their creation whichever way they
were made (HF, ULMFiT, plain fastai; from Python or R) and `learn.export()` keeps the record.
`history_callback(learn)` adds one to a learner that lacks it (one unpickled from an older export).
"""
import functools
import inspect
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import torch
from fastai.callback.core import Callback
from fastai.callback.schedule import LRFinder
from fastai.learner import defaults

__all__ = ["HistoryCallback", "history_callback", "history_df", "loss_curve", "run_record", "run_record_df",
           "SCHEDULES"]

# The training methods of fastai's Learner and the learning-rate schedule each applies.
SCHEDULES = {
    "fit": "constant learning rate",
    "fit_one_cycle": "one-cycle: cosine warm-up to the peak rate, then cosine annealing (momentum inverse)",
    "fit_flat_cos": "flat at the peak rate, then cosine annealing",
    "fit_linear": "linear decay from the peak rate to 0, after an optional linear warm-up (the HF Trainer's schedule)",
    "fit_sgdr": "SGDR: cosine annealing with warm restarts",
    "fine_tune": "fine_tune: one-cycle with the body frozen, then one-cycle unfrozen with discriminative rates",
}
# Arguments of those methods worth recording (learning rates are recorded as the scheduler set them).
_METHOD_ARGS = ("n_epoch", "div", "div_final", "pct_start", "moms", "n_cycles", "cycle_len", "cycle_mult",
                "epochs", "freeze_epochs", "lr_mult")


def _number(v):
    if v is None: return float("nan")
    return float(v.item() if torch.is_tensor(v) or hasattr(v, "item") else v)


def _plain(v):
    "A JSON value: numbers, strings, bools, None and lists of them; anything else as its name or repr."
    if v is None or isinstance(v, (bool, str)): return v
    if isinstance(v, (int, np.integer)): return int(v)
    if isinstance(v, (float, np.floating)): return float(v)
    if torch.is_tensor(v) or isinstance(v, np.ndarray):
        a = np.asarray(v.detach().cpu() if torch.is_tensor(v) else v)
        return a.item() if a.ndim == 0 else a.tolist()
    if isinstance(v, (list, tuple)): return [_plain(x) for x in v]
    if isinstance(v, dict): return {str(k): _plain(x) for k, x in v.items()}
    return getattr(v, "__name__", repr(v))


def _name(f):
    "The name of a function or class, of a partial's function (partial(FusedAdam) -> 'FusedAdam'), or an object's class."
    if isinstance(f, functools.partial): f = f.func
    if inspect.isfunction(f) or inspect.isclass(f) or inspect.isbuiltin(f) or inspect.ismethod(f): return f.__name__
    return type(f).__name__


def _caller(learn):
    """How the running fit was called: (method, called_from, arguments), or None outside a training
    method (get_preds and validate send before_fit too). Found on the call stack: the innermost of
    fastai's training methods running on this learner is the method; an outer one (e.g. fine_tune,
    which calls fit_one_cycle twice) is where it was called from."""
    found = []
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name in SCHEDULES and frame.f_locals.get("self") is learn:
            found.append(frame)
        frame = frame.f_back
    if not found: return None
    inner = next((f for f in found if f.f_code.co_name != "fit"), found[0])
    outer = found[-1].f_code.co_name
    args = {k: _plain(inner.f_locals[k]) for k in _METHOD_ARGS if k in inner.f_locals}
    method = inner.f_code.co_name
    return method, (outer if outer != method else None), args


def _seed():
    "torch's seed last set (by set_seed, torch.manual_seed or a splitter's seed), None if never set."
    s = torch.initial_seed()
    return int(s) if s < 2 ** 32 else None  # unset, torch seeds itself with a random 64-bit number


def _loss_name(learn):
    hf_cb = next((cb for cb in learn.cbs if type(cb).__name__ == "HF_BaseModelCallback"), None)
    if getattr(hf_cb, "use_model_loss", False): return "the model's own loss (use_model_loss=True)"
    return _name(learn.loss_func)


class HistoryCallback(Callback):
    "Keeps one row per training epoch and one record per fit across all fits (see the module doc)."
    order = 55  # after the Recorder (50) has written the epoch's log
    remove_on_fetch = True
    thresholds = base_model = _fit = None  # (also for callbacks unpickled from older exports)

    def __init__(self, rows=None, fits=None, thresholds=None, base_model=None):
        self.rows, self.fits, self.thresholds, self.base_model = list(rows or []), list(fits or []), thresholds, base_model

    def _recording(self):
        # lr_find is a fit too (with an LRFinder), but restores the weights: no part of the history.
        return not any(isinstance(cb, LRFinder) for cb in self.learn.cbs)

    def before_fit(self):
        self._fit = None
        if not self._recording(): return
        learn, opt = self.learn, self.learn.opt
        caller = _caller(learn)
        if caller is None: return
        method, called_from, args = caller
        if not hasattr(self, "fits"): self.fits = []
        if self.base_model is None:  # what training started from: a hub id or a folder
            self.base_model = getattr(getattr(learn.model, "hf_model", None), "name_or_path", None) or None
        params = [p for g in opt.param_lists for p in g] if opt is not None else []
        dls = learn.dls
        self._fit = {
            "fit": len(self.fits) + 1, "method": method, "called_from": called_from, "arguments": args,
            "n_epoch": int(getattr(learn, "n_epoch", 0) or 0), "epochs": 0, "finished": False,
            "param_groups": len(opt.param_lists) if opt is not None else 1,
            "frozen_groups": int(getattr(opt, "frozen_idx", 0) or 0) if opt is not None else 0,
            "trainable_params": int(sum(p.numel() for p in params if p.requires_grad)),
            "total_params": int(sum(p.numel() for p in params)),
            "bs": _plain(getattr(dls.train, "bs", None)), "n_train": _len(dls.train), "n_valid": _len(dls.valid),
            "seed": _seed(), "opt": _name(learn.opt_func),
            "wd": _plain(opt.hypers[-1].get("wd")) if opt is not None else None,
            "loss": _loss_name(learn), "lr": [], "lr_first": [], "lr_last": [],
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seconds": 0.0,
        }
        self._t0 = time.time()
        self.fits.append(self._fit)

    def after_batch(self):
        if self._fit is None or not self.training or self.learn.opt is None: return
        lrs = [float(h["lr"]) for h in self.learn.opt.hypers]
        f = self._fit
        if not f["lr_first"]: f["lr_first"], f["lr"] = lrs, list(lrs)
        else: f["lr"] = [max(a, b) for a, b in zip(f["lr"], lrs)]
        f["lr_last"] = lrs

    def before_epoch(self): self._start, self._trained = time.time(), False
    def after_train(self): self._trained = True

    def after_epoch(self):
        # validate() and get_preds() run epoch events too, but no training phase; lr_find is no epoch.
        if not getattr(self, "_trained", False) or not self._recording(): return
        rec = self.learn.recorder
        names = [n for n in rec.metric_names if n not in ("epoch", "time")]
        row = {"epoch": len(self.rows) + 1}
        # The log holds the training values, then the validation ones (absent when a callback cancels
        # validation), then the formatted time (a string): names without a value get NaN.
        vals = [v for v in rec.log[1:] if not isinstance(v, str)]
        row.update({n: _number(vals[i]) if i < len(vals) else float("nan") for i, n in enumerate(names)})
        row["time"] = time.time() - self._start
        self.rows.append(row)
        if self._fit is not None:
            self._fit["epochs"] += 1
            self._fit["metrics"] = {n: v for n, v in row.items() if n not in ("epoch", "time")}
            self._fit["seconds"] = time.time() - self._t0

    def after_fit(self):
        if self._fit is None: return
        self._fit["finished"] = True  # a fit stopped by an exception stays finished=False
        self._fit["seconds"] = time.time() - self._t0
        self._fit = None


def _len(dl):
    try: return int(len(dl.dataset))
    except (TypeError, AttributeError): return None


# Every Learner built after `import fastai_hf` records its history (fastai adds its Recorder the same way).
if HistoryCallback not in defaults.callbacks: defaults.callbacks.append(HistoryCallback)


def history_callback(learn):
    "The learner's `HistoryCallback`, added if it has none yet (it records from then on)."
    cb = next((c for c in learn.cbs if isinstance(c, HistoryCallback)), None)
    if cb is None:
        cb = HistoryCallback()
        learn.add_cb(cb)
    return cb


def history_df(learn):
    "The learner's training history as a DataFrame (no rows before the first recorded fit)."
    rows = history_callback(learn).rows
    names = list(dict.fromkeys(n for r in rows for n in r)) or ["epoch", "train_loss", "valid_loss", "time"]
    df = pd.DataFrame({n: [r.get(n, float("nan")) for r in rows] for n in names})
    if len(df): df["epoch"] = df["epoch"].astype("int64")
    return df


def run_record(learn):
    """What was done to the learner, as a dict of plain values (what a model card is built from):
    `fits`, one dict per `fit` (see the module doc for its keys; `metrics` holds the last epoch's
    losses and metrics), `epochs` (the rows of `history_df`), `thresholds` (how `find_thresholds`
    last tuned them: split, rows, per-label thresholds, F1 and support; None if never) and
    `base_model` (the Hugging Face model training started from, a hub id or a folder)."""
    cb = history_callback(learn)
    return {"fits": [_plain(f) for f in getattr(cb, "fits", [])], "epochs": [_plain(r) for r in cb.rows],
            "thresholds": _plain(cb.thresholds), "base_model": cb.base_model}


_RECORD_COLUMNS = ["fit", "method", "called_from", "epochs", "lr_min", "lr_max", "lr", "frozen_groups", "param_groups",
                   "trainable_params", "bs", "n_train", "n_valid", "seed", "opt", "wd", "loss", "seconds", "finished"]


def run_record_df(learn):
    """`run_record`'s fits as a DataFrame, one row per fit: method, called_from, epochs, lr_min /
    lr_max (the lowest and highest group's peak learning rate), lr (each group's peak, a list),
    frozen_groups, param_groups, trainable_params, bs, n_train, n_valid, seed, opt, wd, loss,
    seconds, finished, then the last epoch's train_loss, valid_loss and metrics."""
    fits = run_record(learn)["fits"]
    metric_names = list(dict.fromkeys(n for f in fits for n in (f.get("metrics") or {})))
    data = {c: [] for c in _RECORD_COLUMNS + metric_names}
    for f in fits:
        lrs = f.get("lr") or []
        for c in _RECORD_COLUMNS:
            if c == "lr_min": data[c].append(min(lrs) if lrs else float("nan"))
            elif c == "lr_max": data[c].append(max(lrs) if lrs else float("nan"))
            else: data[c].append(f.get(c))
        for n in metric_names: data[n].append((f.get("metrics") or {}).get(n, float("nan")))
    df = pd.DataFrame(data)
    for c in ("fit", "epochs", "frozen_groups", "param_groups", "trainable_params"):
        df[c] = df[c].astype("int64")
    for c in ("bs", "n_train", "n_valid", "seed"):
        df[c] = df[c].astype("Int64")  # None where unknown (a seed never set)
    df["wd"] = pd.to_numeric(df["wd"], errors="coerce").astype("float64")
    return df


def loss_curve(learn):
    """The last fit's per-batch training losses (smoothed, as fastai records them) and its validation
    loss at the end of each epoch, by batch count: a dict of lists."""
    rec = learn.recorder
    valid = [(int(i), float(v[1])) for i, v in zip(rec.iters, rec.values) if len(v) > 1 and v[1] is not None]
    return {"iteration": list(range(1, len(rec.losses) + 1)), "loss": [float(l) for l in rec.losses],
            "valid_iteration": [i for i, _ in valid], "valid_loss": [v for _, v in valid]}

