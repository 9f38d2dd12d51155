"""The training history of a learner across fits, for tables and plots.

fastai's Recorder starts afresh at each fit; `HistoryCallback` keeps one row per training epoch over
the learner's life: epoch (counted from 1), train_loss, valid_loss, the metrics and the time in
seconds. `history_df` returns it as a DataFrame, `loss_curve` the last fit's per-batch losses.
"""
import time

import pandas as pd
import torch
from fastai.callback.core import Callback
from fastai.callback.schedule import LRFinder

__all__ = ["HistoryCallback", "history_callback", "history_df", "loss_curve"]


def _number(v):
    if v is None: return float("nan")
    return float(v.item() if torch.is_tensor(v) or hasattr(v, "item") else v)


class HistoryCallback(Callback):
    "Keeps one row per training epoch across all fits (see the module doc)."
    order = 55  # after the Recorder (50) has written the epoch's log
    remove_on_fetch = True

    def __init__(self): self.rows = []

    def before_epoch(self): self._start, self._trained = time.time(), False
    def after_train(self): self._trained = True

    def after_epoch(self):
        # validate() and get_preds() run epoch events too, but no training phase; lr_find is no epoch.
        if not getattr(self, "_trained", False) or any(isinstance(cb, LRFinder) for cb in self.learn.cbs): return
        rec = self.learn.recorder
        names = [n for n in rec.metric_names if n not in ("epoch", "time")]
        row = {"epoch": len(self.rows) + 1}
        row.update({n: _number(v) for n, v in zip(names, list(rec.log[1:1 + len(names)]))})
        row["time"] = time.time() - self._start
        self.rows.append(row)


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


def loss_curve(learn):
    """The last fit's per-batch training losses (smoothed, as fastai records them) and its validation
    loss at the end of each epoch, by batch count: a dict of lists."""
    rec = learn.recorder
    valid = [(int(i), float(v[1])) for i, v in zip(rec.iters, rec.values) if len(v) > 1 and v[1] is not None]
    return {"iteration": list(range(1, len(rec.losses) + 1)), "loss": [float(l) for l in rec.losses],
            "valid_iteration": [i for i, _ in valid], "valid_loss": [v for _, v in valid]}
