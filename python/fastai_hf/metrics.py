"""Multi-label evaluation: the HF Trainer recipe's metrics and a per-label threshold search.

fastai's `accuracy_multi`, `F1ScoreMulti` and `RocAucMulti` work during training; these work on a
whole DataLoader's predictions afterwards, with scikit-learn doing the scoring.
"""
import numpy as np
import pandas as pd
import torch

from .checks import check_learner, check_thresholds
from .history import history_callback
from .predict import label_thresholds

__all__ = ["find_thresholds", "multilabel_metrics"]


def _probs_targets(learn, dl=None):
    check_learner(learn)
    dl = dl if dl is not None else learn.dls.valid
    with learn.no_bar():
        probs, targs = learn.get_preds(dl=dl)
    if probs.shape != targs.shape:
        raise ValueError("multi-label metrics need one-hot targets (a MultiCategoryBlock); this learner's "
                         f"predictions are {tuple(probs.shape)} but its targets {tuple(targs.shape)}")
    return probs.float().numpy(), targs.int().numpy()


def find_thresholds(learn, dl=None, grid=None, apply=False):
    """Per-label probability thresholds that maximise each label's F1 on `dl` (default: validation).

    Returns a DataFrame (label, threshold, f1, support). Labels with no positive example keep 0.5.
    `apply=True` also sets `learn.loss_func.thresh` to these thresholds, so `predict` uses them, and
    records the tuning (split, rows, F1) in the learner's `run_record`, which `hf_save_pretrained`
    writes into the model card. Tuning and scoring on the same rows is optimistic: judge the
    thresholds on other data.
    """
    probs, targs = _probs_targets(learn, dl)
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2) if grid is None else check_thresholds("grid", grid, len(np.ravel(grid)))
    pred = probs[None, :, :] >= grid[:, None, None]                      # (grid, rows, labels)
    tp = (pred & (targs[None] == 1)).sum(1)
    fp = (pred & (targs[None] == 0)).sum(1)
    fn = (~pred & (targs[None] == 1)).sum(1)
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    best = f1.argmax(0)
    support = targs.sum(0)
    thresholds = np.where(support > 0, grid[best], 0.5)
    out = pd.DataFrame({"label": [str(v) for v in learn.dls.vocab], "threshold": thresholds,
                        "f1": np.where(support > 0, f1[best, np.arange(f1.shape[1])], 0.0), "support": support})
    if apply:
        learn.loss_func.thresh = torch.tensor(thresholds, dtype=torch.float32)
        history_callback(learn).thresholds = {
            "split": _split_name(learn, dl), "n_rows": int(len(targs)), "labels": out["label"].tolist(),
            "thresholds": [float(t) for t in learn.loss_func.thresh], "f1": out["f1"].astype(float).tolist(),
            "support": out["support"].astype(int).tolist()}
    return out


def _split_name(learn, dl):
    "Which rows a DataLoader holds: 'valid', 'train', or 'other' (a DataLoader the user built)."
    if dl is None or dl is learn.dls.valid: return "valid"
    if dl is learn.dls.train: return "train"
    return "other"


def multilabel_metrics(learn, dl=None, thresh=None):
    """The HF Trainer notebook's metrics on `dl` (default: validation): micro/macro F1, micro/macro ROC
    AUC (from probabilities), subset accuracy and per-label accuracy, at `thresh` (default:
    `learn.loss_func.thresh`; a number or one per label). Returns a dict of floats."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score  # imported when used: sklearn.metrics is slow to import
    probs, targs = _probs_targets(learn, dl)
    pred = (probs >= label_thresholds(learn, thresh)).astype(int)
    present = (targs.sum(0) > 0) & (targs.sum(0) < len(targs))  # ROC AUC needs both classes
    return {
        "f1_micro": f1_score(targs, pred, average="micro", zero_division=0),
        "f1_macro": f1_score(targs, pred, average="macro", zero_division=0),
        "roc_auc_micro": roc_auc_score(targs, probs, average="micro"),
        "roc_auc_macro": roc_auc_score(targs[:, present], probs[:, present], average="macro") if present.any() else float("nan"),
        "accuracy_subset": accuracy_score(targs, pred),
        "accuracy_multi": float((pred == targs).mean()),
    }
