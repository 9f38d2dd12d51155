"""What the R package calls: one entry point, `call`, and the few verbs that are more than a core call.

Every R function reaches Python through `call(f, *args, write=, mode=, warn=, **kwargs)`: tables in the
arguments become DataFrames (`convert.from_r`), errors raised inside are worded for R users
(`checks.speaking("r")`: 1-based rows, R code in the advice), what Python prints goes to the R
console (`output.r_output`), and the result comes back through `convert.to_r`. `f` is a core function
or class, or one of the verbs below, which add what R users need beyond the core: training with its
history, `lr_find` without a matplotlib plot, the summary as text, predictions with their labels,
tables with R's row numbers.
"""
import shutil
import tempfile

import numpy as np
import pandas as pd
from fastai.callback.schedule import minimum, slide, steep, valley

from ..checks import as_int, speaking
from ..data.core import target_kind
from ..history import history_callback
from ..interpret import confidence_df, top_losses_df
from ..predict import label_vocab, predict_texts, predictor_of, texts_of
from .convert import from_r, to_r
from .output import r_output, r_warnings

__all__ = ["call", "fit", "lr_find", "summary", "predict", "get_preds", "validate", "confidence", "top_losses"]


def call(f, *args, write=None, mode="bar", warn=None, **kwargs):
    """Call `f` for R: arguments from R, errors for R users, output to R's console, warnings for the user
    to `warn` (R shows them as R warnings), the result as R values."""
    with speaking("r"), r_output(write, mode), r_warnings(warn):
        return to_r(f(*from_r(list(args)), **from_r(kwargs)))


_LR_ARGS = ("lr", "lr_max", "base_lr")


def fit(learn, method, **kwargs):
    """`learn.<method>(**kwargs)` (fit, fit_one_cycle, fine_tune, ...), recording the epochs in the
    learner's history. Per-group learning rates arrive from R as lists."""
    if not callable(getattr(learn, method, None)):
        raise ValueError(f"the learner has no training method '{method}'")
    for k in _LR_ARGS:
        if isinstance(kwargs.get(k), (list, tuple)): kwargs[k] = np.array(kwargs[k], dtype=float)
    history_callback(learn)
    getattr(learn, method)(**kwargs)


_SUGGESTERS = {"valley": valley, "minimum": minimum, "steep": steep, "slide": slide}


def lr_find(learn, suggest_funcs=("valley",), **kwargs):
    """fastai's lr_find without a matplotlib plot. Its temporary weights go to a temp folder, not to
    `learn.path/models`. Returns the lrs and losses tried and the suggested learning rates."""
    suggest_funcs = [suggest_funcs] if isinstance(suggest_funcs, str) else list(suggest_funcs)
    unknown = [f for f in suggest_funcs if isinstance(f, str) and f not in _SUGGESTERS]
    if unknown: raise ValueError(f"unknown suggestion {unknown}; use some of {list(_SUGGESTERS)}")
    funcs = [_SUGGESTERS[f] if isinstance(f, str) else f for f in suggest_funcs]
    tmp, old_dir = tempfile.mkdtemp(prefix="fastai-lr-find-"), learn.model_dir
    learn.model_dir = tmp  # an absolute path wins over learn.path in fastai's path join
    try:
        res = learn.lr_find(show_plot=False, suggest_funcs=tuple(funcs) or None, **kwargs)
    finally:
        learn.model_dir = old_dir
        shutil.rmtree(tmp, ignore_errors=True)
    rec = learn.recorder
    sugg = {k: float(v) for k, v in res._asdict().items()} if res is not None else {}
    return {"lr": [float(v) for v in rec.lrs], "loss": [float(l) for l in rec.losses], "suggestions": sugg}


def summary(learn):
    "fastai's `learn.summary()` as a string (it runs one batch)."
    return str(learn.summary())


def predict(learn, texts, thresh=None, bs=None, **kwargs):
    """Predictions with what R needs to shape them. A text classifier: {"kind": "classification",
    "frame": probabilities per label plus `predicted`, "multilabel": bool, "labels": the vocab}; a
    learner of another task family: {"kind": <family>, **its predictor's tables}."""
    family = predictor_of(learn)
    if family is not None:
        kind, fn = family
        return {"kind": kind, **fn(learn, texts, bs=bs, **kwargs)}
    return {"kind": "classification", "frame": predict_texts(learn, texts, thresh=thresh, bs=bs, **kwargs),
            "multilabel": target_kind(learn.dls) == "multi_label", "labels": label_vocab(learn)}


def get_preds(learn, ds_idx=1, texts=None, with_decoded=False, act=None, reorder=True):
    """Predictions of a dataset (`ds_idx`: 0 train, 1 valid) or of new texts, as arrays:
    {"preds", "targs" (absent for texts), "decoded" (with_decoded), "labels"}."""
    dl = learn.dls[as_int("ds_idx", ds_idx, 0)] if texts is None else learn.dls.test_dl(texts_of(learn, texts))
    with learn.no_bar():
        res = learn.get_preds(dl=dl, with_decoded=with_decoded, act=act, reorder=reorder)
    out = {"preds": res[0], "labels": label_vocab(learn) or []}
    if res[1] is not None: out["targs"] = res[1]
    if with_decoded: out["decoded"] = res[2]
    return out


def validate(learn, ds_idx=1):
    "Loss and metrics on a dataset, named: {'valid_loss': ..., '<metric>': ...}."
    with learn.no_bar():
        vals = learn.validate(ds_idx=as_int("ds_idx", ds_idx, 0))
    names = ["valid_loss"] + [m.name for m in learn.metrics]
    return {n: (float(v) if v is not None else float("nan")) for n, v in zip(names, vals)}


def _with_row(df):
    """`row` first: the item's row in R (from 1) in the data frame the DataLoaders were built from
    (R sends data frames with a 0-based RangeIndex, which fastai's splits keep), or its position."""
    idx = df.index
    rows = (idx.to_numpy() + 1) if pd.api.types.is_integer_dtype(idx) else range(1, len(df) + 1)
    df = df.reset_index(drop=True)
    df.insert(0, "row", pd.Series(rows, dtype="int64"))
    return df


def confidence(x, dl=None):
    "`confidence_df` of a learner or an interpretation, with R's `row`."
    return _with_row(confidence_df(x, dl))


def top_losses(x, k=9, dl=None, largest=True):
    "`top_losses_df` with R's `row`."
    return _with_row(top_losses_df(x, k=k, dl=dl, largest=largest))
