"""What the R package `fastai` calls: values in and out as plain lists and dicts, output routed to R.

Debian's reticulate 1.28 converts neither NumPy 2 arrays nor pandas 3 DataFrames, and its own
`r_to_py` turns NA strings into "NA" and NA logicals into True. So tables cross the boundary here,
once each way, in a column format both sides build explicitly:

    {"names": [...], "nrow": n, "columns": [{"kind": k, "values": [...], "na": [0-based rows], "levels": [...]}]}

with kind one of "integer", "double", "logical", "character", "factor", "datetime", "list". Missing
values travel as positions (`na`) beside placeholder values, because a Python list holding None
becomes an R list rather than a vector. `to_r` applies the same idea to any result: DataFrames
become such tables, arrays and tensors `{"r_type": "array", "shape", "values"}`, dicts and lists
stay dicts and lists.

Training verbs run inside `r_output`, which sends Python's stdout to an R callback, so fastprogress
bars show in the R console and the epoch table lands in knitr output.
"""
import contextlib
import io
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import torch
from fastai.callback.core import Callback
from fastcore.xtras import is_listy
from fastai.callback.schedule import LRFinder, minimum, slide, steep, valley

from .data import hf_tokenizer_of
from .predict import _is_multilabel, hf_predict

__all__ = ["frame_from_r", "frame_to_r", "label_vocab", "to_r", "call", "r_output", "RHistoryCallback", "history", "fit", "lr_find",
           "summary", "predict", "get_preds", "validate", "show_batch", "show_results", "losses"]

_INT32 = 2 ** 31 - 1


# ---------------------------------------------------------------------------------------------------
# Tables: R -> pandas
# ---------------------------------------------------------------------------------------------------
def _as_list(values):
    "reticulate passes a length-1 R vector as a scalar: make it a list again."
    if values is None: return []
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _column_from_r(col, nrow):
    kind, values, na = col["kind"], _as_list(col.get("values")), _as_list(col.get("na"))
    if len(values) != nrow:
        raise ValueError(f"a {kind} column has {len(values)} values for {nrow} rows")
    if kind == "integer":
        if not na: return pd.Series(values, dtype="int64")
        s = pd.Series(values, dtype="float64")  # pandas' classic missing integer: float with NaN
        s.iloc[na] = np.nan
        return s
    if kind == "double":  # R's NA and NaN both arrive as nan; `na` marks them too
        s = pd.Series(values, dtype="float64")
        if na: s.iloc[na] = np.nan
        return s
    if kind == "logical":
        if not na: return pd.Series(values, dtype="bool")
        s = pd.Series(values, dtype="object")
        s.iloc[na] = None
        return s
    if kind in ("character", "factor"):  # factors cross as their labels
        s = pd.Series(values, dtype="object")
        if na: s.iloc[na] = None
        return s
    if kind == "datetime":  # seconds since the epoch, UTC (R's POSIXct; Dates arrive converted)
        s = pd.to_datetime(pd.Series(values, dtype="float64"), unit="s", utc=True)
        if na: s.iloc[na] = pd.NaT
        return s
    if kind == "list":  # an R list column; a length-1 element arrives as a scalar
        return pd.Series([_as_list(v) for v in values], dtype="object")
    raise ValueError(f"unknown column kind '{kind}'")


def frame_from_r(table):
    "A pandas DataFrame from the column format above (what R's `to_pandas()` sends)."
    names, nrow = _as_list(table["names"]), int(table["nrow"])
    columns = _as_list(table["columns"]) if names else []
    data = {name: _column_from_r(col, nrow) for name, col in zip(names, columns)}
    return pd.DataFrame(data, index=pd.RangeIndex(nrow), columns=names)


# ---------------------------------------------------------------------------------------------------
# Tables and results: Python -> R
# ---------------------------------------------------------------------------------------------------
def _scalar(v):
    "A numpy / torch scalar as a plain Python value."
    if isinstance(v, (np.generic,)): return v.item()
    if torch.is_tensor(v) and v.ndim == 0: return v.item()
    return v


def _missing(v):
    if v is None or v is pd.NA or v is pd.NaT: return True
    return isinstance(v, float) and math.isnan(v)


def _column_to_r(s):
    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":  # plain NumPy columns, the common case: vectorised
        arr = s.to_numpy()
        if dtype.kind == "f":
            mask = np.isnan(arr)
            return {"kind": "double", "values": (np.where(mask, 0.0, arr) if mask.any() else arr).tolist(),
                    "na": np.flatnonzero(mask).tolist()}
        if dtype.kind == "b": return {"kind": "logical", "values": arr.tolist(), "na": []}
        # R integers are 32-bit: wider values go as doubles rather than wrap around.
        small = arr.size == 0 or (int(arr.min()) >= -_INT32 and int(arr.max()) <= _INT32)
        return {"kind": "integer" if small else "double", "values": (arr if small else arr.astype(float)).tolist(),
                "na": []}
    if isinstance(dtype, pd.CategoricalDtype):
        na = np.flatnonzero(s.isna().to_numpy()).tolist()
        levels = [str(c) for c in dtype.categories]
        return {"kind": "factor", "values": [("" if i < 0 else levels[i]) for i in s.cat.codes.tolist()],
                "na": na, "levels": levels}
    if pd.api.types.is_bool_dtype(dtype):
        mask = s.isna().to_numpy()
        return {"kind": "logical", "values": [bool(v) if not m else False for v, m in zip(s.tolist(), mask)],
                "na": np.flatnonzero(mask).tolist()}
    if pd.api.types.is_integer_dtype(dtype):  # nullable Int64 and friends
        mask = s.isna().to_numpy()
        vals = [0 if m else int(v) for v, m in zip(s.tolist(), mask)]
        kind = "integer" if all(-_INT32 <= v <= _INT32 for v in vals) else "double"
        return {"kind": kind, "values": vals if kind == "integer" else [float(v) for v in vals],
                "na": np.flatnonzero(mask).tolist()}
    if pd.api.types.is_float_dtype(dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        mask = np.isnan(arr)
        return {"kind": "double", "values": np.where(mask, 0.0, arr).tolist(), "na": np.flatnonzero(mask).tolist()}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        mask = s.isna().to_numpy()
        secs = [0.0 if m else v.timestamp() for v, m in zip(s.tolist(), mask)]
        return {"kind": "datetime", "values": secs, "na": np.flatnonzero(mask).tolist()}
    # object / string columns: strings, lists (e.g. predicted label sets) or mixed values
    vals = [_scalar(v) for v in s.tolist()]
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in vals):
        return {"kind": "list", "values": [to_r(v) for v in vals], "na": []}
    na = [i for i, v in enumerate(vals) if _missing(v)]
    if all(isinstance(v, bool) for i, v in enumerate(vals) if i not in set(na)) and len(na) < len(vals):
        return {"kind": "logical", "values": [bool(v) if not _missing(v) else False for v in vals], "na": na}
    return {"kind": "character", "values": ["" if _missing(v) else str(v) for v in vals], "na": na}


def frame_to_r(df):
    "A DataFrame in the column format above (what R's results helper turns into a data.frame)."
    if isinstance(df, pd.Series): df = df.to_frame()
    names = [str(c) for c in df.columns]
    return {"r_type": "frame", "names": names, "nrow": int(len(df)),
            "columns": [_column_to_r(df.iloc[:, j]) for j in range(df.shape[1])]}


def _array_to_r(a, dtype=None):
    a = np.asarray(a)
    if a.dtype == bool: kind = "logical"
    elif np.issubdtype(a.dtype, np.integer) and (a.size == 0 or np.abs(a).max() <= _INT32): kind = "integer"
    elif np.issubdtype(a.dtype, np.number): kind = "double"
    else: kind = "character"
    flat = a.reshape(-1).astype(float if kind == "double" else a.dtype).tolist()
    if kind == "character": flat = [str(v) for v in flat]
    return {"r_type": "array", "kind": kind, "shape": list(a.shape), "values": flat,
            "class": dtype or type(a).__name__}


def to_r(obj):
    """Any result as values R converts itself (str, numbers, bools, lists, dicts), with DataFrames as
    tables and arrays / tensors as `{"r_type": "array", ...}`; other objects are returned as they are."""
    if isinstance(obj, (pd.DataFrame, pd.Series)): return frame_to_r(obj)
    if torch.is_tensor(obj):
        t = obj.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16): t = t.float()
        return _array_to_r(t.numpy(), type(obj).__name__)
    if isinstance(obj, np.ndarray): return _array_to_r(obj)
    if isinstance(obj, np.generic): return obj.item()
    if isinstance(obj, dict): return {str(k): to_r(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)): return [to_r(v) for v in obj]
    if isinstance(obj, os.PathLike): return os.fspath(obj)
    return obj


def call(f, *args, **kwargs):
    "Call `f` and return its result through `to_r` (e.g. a DataFrame of `load_goemotions` as a table)."
    return to_r(f(*args, **kwargs))


# ---------------------------------------------------------------------------------------------------
# Output: Python's stdout to an R callback
# ---------------------------------------------------------------------------------------------------
class RStream(io.TextIOBase):
    """A text stream that hands what Python prints to `write` (an R function).

    mode "bar": everything as is, carriage returns included, so fastprogress bars animate in a console.
    mode "table": behaves like a terminal that keeps only finished lines: a carriage return discards the
    line written so far. Progress bars vanish and the epoch table stays: readable knitr output and logs.
    mode "silent": nothing.
    """
    def __init__(self, write, mode="bar"):
        if mode not in ("bar", "table", "silent"):
            raise ValueError(f"progress mode must be 'bar', 'table' or 'silent', not {mode!r}")
        self._write, self.mode, self._line, self._bar = write, mode, "", False

    def writable(self): return True
    def isatty(self): return self.mode == "bar"

    def write(self, s):
        if self.mode == "bar": self._write(s)
        elif self.mode == "table":
            out, parts = [], s.split("\n")
            for i, part in enumerate(parts):
                # What follows the last carriage return replaces the line (and marks it as a bar that
                # is redrawn in place); a newline finishes it.
                if "\r" in part: self._line, self._bar = part.rsplit("\r", 1)[1], True
                else: self._line += part
                if i < len(parts) - 1:
                    out.append(self._line.rstrip() + "\n")
                    self._line, self._bar = "", False
            if out: self._write("".join(out))
        return len(s)

    def close_line(self):
        "An unfinished line left at the end, unless it is a progress bar (drawn after a carriage return)."
        if self.mode == "table" and self._line.strip() and not self._bar: self._write(self._line.rstrip() + "\n")
        self._line, self._bar = "", False

    def flush(self): pass


@contextlib.contextmanager
def r_output(write=None, mode="bar"):
    "Route sys.stdout to `write` (an R callback) while the block runs; no-op when `write` is None."
    if write is None:
        yield
        return
    stream, old = RStream(write, mode), sys.stdout
    sys.stdout = stream
    try: yield stream
    finally:
        try: stream.close_line()
        finally: sys.stdout = old


# ---------------------------------------------------------------------------------------------------
# History: every epoch of every fit, for R's data.frame and plot
# ---------------------------------------------------------------------------------------------------
class RHistoryCallback(Callback):
    """Keeps one row per training epoch across all fits (fastai's Recorder starts afresh at each fit):
    epoch (counted from 1 over the learner's life), train_loss, valid_loss, metrics and time in seconds."""
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
        values = list(rec.log[1:1 + len(names)])
        row = {"epoch": len(self.rows) + 1}
        row.update({n: (float(_scalar(v)) if v is not None else float("nan")) for n, v in zip(names, values)})
        row["time"] = time.time() - self._start
        self.rows.append(row)


def _history_cb(learn):
    cb = next((c for c in learn.cbs if isinstance(c, RHistoryCallback)), None)
    if cb is None:
        cb = RHistoryCallback()
        learn.add_cb(cb)
    return cb


def history(learn):
    "The learner's training history as a table (no rows before the first fit)."
    rows = _history_cb(learn).rows
    names = list(dict.fromkeys(n for r in rows for n in r)) or ["epoch", "train_loss", "valid_loss", "time"]
    df = pd.DataFrame({n: [r.get(n, float("nan")) for r in rows] for n in names})
    if len(df): df["epoch"] = df["epoch"].astype("int64")
    return frame_to_r(df)


def losses(learn):
    """The last fit's per-batch training losses (smoothed, as fastai records them) and its validation
    loss at the end of each epoch, by batch count."""
    rec = learn.recorder
    valid = [(int(i), float(v[1])) for i, v in zip(rec.iters, rec.values) if len(v) > 1 and v[1] is not None]
    return {"iteration": list(range(1, len(rec.losses) + 1)), "loss": [float(l) for l in rec.losses],
            "valid_iteration": [i for i, _ in valid], "valid_loss": [v for _, v in valid]}


# ---------------------------------------------------------------------------------------------------
# Verbs
# ---------------------------------------------------------------------------------------------------
_LR_ARGS = ("lr", "lr_max", "base_lr")


def fit(learn, method, write=None, mode="bar", **kwargs):
    """Run `learn.<method>(**kwargs)` (fit, fit_one_cycle, fine_tune, ...) with its output sent to R,
    recording the epochs in the learner's history. Per-group learning rates may come as lists."""
    if not callable(getattr(learn, method, None)):
        raise ValueError(f"the learner has no training method '{method}'")
    for k in _LR_ARGS:
        if isinstance(kwargs.get(k), (list, tuple)): kwargs[k] = np.array(kwargs[k], dtype=float)
    _history_cb(learn)
    with r_output(write, mode):
        getattr(learn, method)(**kwargs)
    return None


_SUGGESTERS = {"valley": valley, "minimum": minimum, "steep": steep, "slide": slide}


def lr_find(learn, write=None, mode="bar", suggest_funcs=("valley",), **kwargs):
    """fastai's lr_find without a matplotlib plot. Its temporary weights go to a temp folder, not to
    `learn.path/models`. Returns the lrs and losses tried and the suggested learning rates."""
    unknown = [f for f in _as_list(suggest_funcs) if isinstance(f, str) and f not in _SUGGESTERS]
    if unknown: raise ValueError(f"unknown suggestion {unknown}; use some of {list(_SUGGESTERS)}")
    funcs = [_SUGGESTERS[f] if isinstance(f, str) else f for f in _as_list(suggest_funcs)]
    tmp, old_dir = tempfile.mkdtemp(prefix="fastai-lr-find-"), learn.model_dir
    learn.model_dir = tmp  # an absolute path wins over learn.path in fastai's path join
    try:
        with r_output(write, mode):
            res = learn.lr_find(show_plot=False, suggest_funcs=tuple(funcs) or None, **kwargs)
    finally:
        learn.model_dir = old_dir
        shutil.rmtree(tmp, ignore_errors=True)
    rec = learn.recorder
    sugg = {k: float(v) for k, v in res._asdict().items()} if res is not None else {}
    return {"lr": [float(v) for v in rec.lrs], "loss": [float(l) for l in rec.losses], "suggestions": sugg}


def summary(learn, write=None, mode="table"):
    "fastai's `learn.summary()` as a string (it runs one batch; its progress output goes to R)."
    with r_output(write, mode):
        return str(learn.summary())


def predict(learn, texts, thresh=None, bs=None):
    """Texts (a string, a list, or a DataFrame with the learner's text column) through `hf_predict`:
    {"frame": probabilities per label plus `predicted`, "multilabel": bool, "labels": the vocab}."""
    if isinstance(texts, dict) and texts.get("r_type") == "frame": texts = frame_from_r(texts)
    df = hf_predict(learn, texts, thresh=thresh, bs=bs)
    return {"frame": frame_to_r(df), "multilabel": bool(_is_multilabel(learn)),
            "labels": [str(v) for v in learn.dls.vocab]}


def _dl(learn, ds_idx=1, texts=None):
    if texts is None: return learn.dls[ds_idx]
    if isinstance(texts, dict) and texts.get("r_type") == "frame": texts = frame_from_r(texts)
    from .predict import texts_of
    return learn.dls.test_dl(texts_of(learn, texts))


def label_vocab(learn):
    """The labels of a text learner (or DataLoaders): `dls.vocab` for HF data, its last element for
    fastai's text data (whose vocab is (tokens, labels)); None for a language model."""
    vocab = getattr(getattr(learn, "dls", learn), "vocab", None)
    if vocab is None: return None
    if len(vocab) and is_listy(vocab[0]):
        return [str(v) for v in vocab[-1]] if len(vocab) > 1 else None
    return [str(v) for v in vocab]


def get_preds(learn, ds_idx=1, texts=None, with_decoded=False, act=None, reorder=True):
    """Predictions of a dataset (`ds_idx`: 0 train, 1 valid) or of new texts, as arrays:
    {"preds", "targs" (absent for texts), "decoded" (with_decoded), "labels"}."""
    dl = _dl(learn, ds_idx, texts)
    with learn.no_bar():
        res = learn.get_preds(dl=dl, with_decoded=with_decoded, act=act, reorder=reorder)
    preds, targs = res[0], res[1]
    out = {"preds": to_r(preds), "labels": label_vocab(learn) or []}
    if targs is not None: out["targs"] = to_r(targs)
    if with_decoded: out["decoded"] = to_r(res[2])
    return out


def validate(learn, ds_idx=1):
    "Loss and metrics on a dataset, named: {'valid_loss': ..., '<metric>': ...}."
    with learn.no_bar():
        vals = learn.validate(ds_idx=ds_idx)
    names = ["valid_loss"] + [m.name for m in learn.metrics]
    return {n: (float(_scalar(v)) if v is not None else float("nan")) for n, v in zip(names, vals)}


def _table(res, what):
    if isinstance(res, pd.DataFrame): return frame_to_r(res)
    raise TypeError(f"{what} of this DataLoader gave {type(res).__name__}, not a table; the R package shows "
                    "tables for HF_TextBlock data")


def show_batch(dls, max_n=9, ds_idx=0, **kwargs):
    """A batch of decoded inputs and targets as a table: HF_TextDL's show_batch with show=False, or for
    fastai's own text data (TextBlock, tokens with special tokens) the table its show_batch displays."""
    dl = dls[ds_idx] if hasattr(dls, "loaders") else dls
    if hf_tokenizer_of(dl) is None:
        from .r_text import text_batch
        return text_batch(dl, max_n=max_n, **kwargs)
    return _table(dl.show_batch(max_n=max_n, show=False, **kwargs), "show_batch")


def show_results(learn, ds_idx=1, max_n=9, shuffle=True, **kwargs):
    """A batch with targets and decoded predictions as a table. fastai's Learner.show_results returns
    nothing, so the batch and predictions are drawn here as it does."""
    if hf_tokenizer_of(learn.dls[ds_idx]) is None:
        from .r_text import text_results
        return text_results(learn, ds_idx=ds_idx, max_n=max_n, shuffle=shuffle, **kwargs)
    dl = learn.dls[ds_idx].new(shuffle=shuffle)
    b = dl.one_batch()
    with learn.no_bar():
        _, _, decoded = learn.get_preds(dl=[b], with_decoded=True)
    return _table(dl.show_results(b, decoded, max_n=max_n, show=False, **kwargs), "show_results")
