"""Prediction for learners on raw texts: one text (`learn.predict`) and many (`hf_predict`).

fastai 2.8's own `Learner.predict` cannot decode dict inputs; for learners whose data is an
`HF_TextBlock`, predictions go through `test_dl` + `get_preds` instead (other learners keep
fastai's predict). Probabilities use the loss function's activation: sigmoid for multi-label,
softmax for single-label; multi-label labels are those at or above `learn.loss_func.thresh`
(a number, or one threshold per label).
"""
import numpy as np
import pandas as pd
import torch
from fastai.data.transforms import Category, ColReader, MultiCategory
from fastai.learner import Learner
from fastcore.basics import patch

from .checks import check_texts
from .data import hf_tokenizer_of
from .modeling import _problem_type

__all__ = ["hf_predict", "texts_of", "label_thresholds"]


def texts_of(learn, texts):
    """`texts` as a list of non-empty strings: a string, a list/array/Series of strings, or a
    DataFrame holding the column the learner was trained on."""
    if isinstance(texts, pd.DataFrame):
        cols = [c for t in learn.dls.train_ds.tls[0].tfms.fs if isinstance(t, ColReader) for c in t.cols]
        col = next((c for c in cols if c in texts.columns), None)
        if col is None:
            raise ValueError(f"the DataFrame has no text column {cols or ''}; its columns are {list(texts.columns)}. "
                             "Pass the column of texts itself, e.g. df['text']")
        texts = texts[col]
    return check_texts(texts)


def _is_multilabel(learn): return _problem_type(learn) == "multi_label_classification"


def label_thresholds(learn, thresh=None):
    "Per-label thresholds as a numpy vector: `thresh` if given, else `learn.loss_func.thresh` (default 0.5)."
    vocab = list(learn.dls.vocab)
    t = getattr(learn.loss_func, "thresh", 0.5) if thresh is None else thresh
    t = np.asarray(t.detach().cpu() if torch.is_tensor(t) else t, dtype=float).reshape(-1)
    if t.size == 1: t = np.repeat(t, len(vocab))
    if t.size != len(vocab):
        raise ValueError(f"got {t.size} thresholds for {len(vocab)} labels; give one number or one per label")
    return t


def _probabilities(learn, texts, bs=None):
    "Class probabilities of each text, shape (n_texts, n_labels), in the order of `texts`."
    dl = learn.dls.test_dl(texts, bs=bs or learn.dls.valid.bs)
    has_act = hasattr(learn.loss_func, "activation")
    act = None if has_act else (torch.sigmoid if _is_multilabel(learn) else lambda x: torch.softmax(x, dim=-1))
    with learn.no_bar():
        probs, _ = learn.get_preds(dl=dl, act=act)
    return probs.float()


def hf_predict(learn, texts, thresh=None, bs=None):
    """Predict many texts at once: a DataFrame with one probability column per label (named by the
    vocab) and `predicted`: the label (single-label) or the list of labels at or above the
    threshold (multi-label), one row per text in the order given."""
    texts = texts_of(learn, texts)
    _require_hf(learn)
    probs = _probabilities(learn, texts, bs).numpy()
    vocab = [str(v) for v in learn.dls.vocab]
    df = pd.DataFrame(probs, columns=vocab)
    if _is_multilabel(learn):
        hits = probs >= label_thresholds(learn, thresh)
        df["predicted"] = [[v for v, h in zip(vocab, row) if h] for row in hits]
    else:
        df["predicted"] = [vocab[i] for i in probs.argmax(axis=1)]
    return df


def _require_hf(learn):
    if hf_tokenizer_of(learn.dls) is None:
        raise TypeError("this learner's data is not an HF_TextBlock; use learn.predict / get_preds instead")


_fastai_predict = Learner.predict


@patch
def predict(self: Learner, item, rm_type_tfms=None, with_input=False):
    """fastai's predict, fixed for HF_TextBlock learners: returns `(decoded, prediction, probabilities)`:
    the label (or list of labels), the class index (or boolean vector) and the probability tensor."""
    if hf_tokenizer_of(self.dls) is None: return _fastai_predict(self, item, rm_type_tfms, with_input)
    text = texts_of(self, [item])
    probs = _probabilities(self, text)[0]
    vocab = self.dls.vocab
    if _is_multilabel(self):
        hits = torch.as_tensor(probs.numpy() >= label_thresholds(self))
        res = MultiCategory([vocab[i] for i in torch.where(hits)[0].tolist()]), hits, probs
    else:
        idx = probs.argmax()
        res = Category(vocab[int(idx)]), idx, probs
    return (text[0], *res) if with_input else res


@patch
def hf_predict(self: Learner, texts, thresh=None, bs=None):
    "See `fastai_hf.hf_predict`."
    return hf_predict(self, texts, thresh=thresh, bs=bs)
