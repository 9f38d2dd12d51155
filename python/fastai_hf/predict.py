"""Prediction for text classifiers on raw texts: one path for HF learners and fastai's ULMFiT classifiers.

`predict_texts(learn, texts)` scores many texts at once and returns a DataFrame; `learn.predict(text)`
(fastai's, which cannot decode the dict inputs of HF learners) goes through it for HF learners.
Probabilities use `activation(learn)`: the loss function's own activation where it has one, else
sigmoid for multi-label and softmax for single-label targets. Multi-label labels are those at or above
the thresholds (`label_thresholds`: an argument, else `learn.loss_func.thresh`).

Many texts at the hardware's pace (`probabilities`, for HF learners): the texts are tokenized once, in
chunks of 8,192 in one tokenizer call each, sorted by token count and cut into batches of
`PREDICT_BS` texts (64; `bs` overrides) padded to their own longest text, so batches carry almost no
padding; the model runs under `torch.inference_mode()` (no autograd records) in eval mode and in the
autocast region of the learner's mixed precision (`to_bf16()`: bf16 on a supporting CPU), and the
probabilities are put back in input order. That is what fastai's `get_preds` computes for the same
learner (same model call, `prediction_of`, activation), without its per-batch callback events. It
applies when every callback that acts on batches or predictions is one the package knows
(`HF_BaseModelCallback`, `MixedPrecision`, fastai's `CastToTensor`) or one that does not run in
validation (`run_valid=False`, e.g. fit_one_cycle's `ParamScheduler`: so predicting inside a
training callback works); a learner with another (`before_batch`/`after_pred`) callback, ULMFiT
learners and non-HF data go through `get_preds`.
"""
import numpy as np
import pandas as pd
import torch
from fastai.data.transforms import Category, MultiCategory
from fastai.learner import Learner
from fastcore.basics import patch
from fastcore.xtras import is_listy

from .checks import advice, as_int, check_learner, check_texts, check_thresholds, show
from .data.core import hf_tokenizer_of, target_kind, text_columns
from .modeling.core import HF_BaseModelCallback, prediction_of, wrapper_of
from .precision import _FastaiMixedPrecision, inference_autocast, learner_device

__all__ = ["predict_texts", "hf_predict", "texts_of", "label_vocab", "label_thresholds", "activation",
           "probabilities", "register_predictor", "predictor_of"]

# Task families other than sequence classification register how their learners predict (see
# `register_predictor`); a learner none of them claims is a text classifier.
_PREDICTORS = {}


def register_predictor(kind, applies, predict):
    """Register a task family's predictor: `applies(learn)` says whether a learner is of this family,
    `predict(learn, inputs, **kwargs)` returns its predictions as a dict of DataFrames (e.g.
    `{"words": ..., "entities": ...}`). `kind` names the family ("tokens", "qa", ...)."""
    _PREDICTORS[kind] = (applies, predict)


def predictor_of(learn):
    "`(kind, predict)` of the task family a learner belongs to, or None for a text classifier."
    return next(((k, p) for k, (applies, p) in _PREDICTORS.items() if applies(learn)), None)


def label_vocab(learn):
    """The labels of a text classifier (or its DataLoaders) as strings: `dls.vocab` for HF data, its last
    element for fastai's text data (whose vocab is (tokens, labels)); None for a language model."""
    dls = getattr(learn, "dls", learn)
    if target_kind(dls) is None: return None
    vocab = dls.vocab
    if len(vocab) and is_listy(vocab[0]): vocab = vocab[-1]
    return [str(v) for v in vocab]


def activation(learn):
    """The function from model outputs to probabilities that `get_preds(act=...)` should use: None when
    the loss function has its own `activation` (fastai's flat losses; get_preds uses it), else sigmoid
    for multi-label and softmax for single-label targets."""
    if hasattr(learn.loss_func, "activation"): return None
    if target_kind(learn.dls) == "multi_label": return torch.sigmoid
    return lambda x: torch.softmax(x, dim=-1)


def label_thresholds(learn, thresh=None):
    """Per-label thresholds as a numpy vector: `thresh` if given, else `learn.loss_func.thresh`
    (default 0.5); one number applies to every label. Each must lie in [0, 1]."""
    n = len(label_vocab(learn) or [])
    if thresh is None:
        return check_thresholds(advice("learn.loss_func.thresh", "learn$loss_func$thresh"),
                                getattr(learn.loss_func, "thresh", 0.5), n)
    return check_thresholds("thresh", thresh, n)


def texts_of(learn, texts):
    """`texts` as a list of non-empty strings: a string, a list/array/Series of strings, or a
    DataFrame holding the column the learner was trained on."""
    if isinstance(texts, pd.DataFrame):
        cols = text_columns(learn.dls)
        col = next((c for c in cols if c in texts.columns), None)
        if col is None:
            raise ValueError(f"the data frame has no text column {show(cols)}; its columns are "
                             f"{show(list(texts.columns))}. Pass the column of texts itself, "
                             + advice("e.g. df['text']", "e.g. df$text"))
        texts = texts[col]
    return check_texts(texts)


def _require_classifier(learn):
    check_learner(learn)
    if label_vocab(learn) is None:
        raise TypeError("this learner has no labels to predict (a language model or a regression); "
                        "use learn.get_preds, or lm_predict for a language model")


PREDICT_BS = 64     # texts per batch when predicting many texts (sorted by length: little padding)
_ENCODE_CHUNK = 8192  # texts tokenized per tokenizer call (bounds the memory of token lists)


def _passive_callbacks(learn):
    "Whether no callback but known ones acts on batches or predictions (see the module doc)."
    from fastai.learner import CastToTensor
    known = (HF_BaseModelCallback, _FastaiMixedPrecision, CastToTensor)
    # A callback with run_valid=False (fastai's ParamScheduler, MixUp, ...) does not run in get_preds either.
    return all(isinstance(cb, known) or not getattr(cb, "run_valid", True)
               or not any(hasattr(type(cb), e) for e in ("before_batch", "after_pred")) for cb in learn.cbs)


def _direct_tfm(learn):
    "The HF transform when the learner's probabilities can be computed directly (see the module doc), else None."
    tfm = hf_tokenizer_of(learn.dls)
    if tfm is None or wrapper_of(learn.model) is None or not tfm.pads_to_longest: return None
    if tfm.is_split_into_words or not _passive_callbacks(learn): return None
    return tfm


def _pad(tfm, encoded, rows):
    "Rows `rows` of `tfm.encode`'s output as one batch padded to its longest row (what `tfm.pad` does)."
    features = [{k: v[i] for k, v in encoded.items()} for i in rows]
    return tfm.hf_tokenizer.pad(features, padding=tfm.padding, max_length=tfm.max_length, return_tensors="pt",
                                pad_to_multiple_of=tfm.tok_kwargs.get("pad_to_multiple_of"))


def _direct_probabilities(learn, tfm, texts, bs):
    act = activation(learn) or learn.loss_func.activation
    model = learn.model
    device = learner_device(learn)  # where get_preds would run it (fastai moves the model to the data's device)
    model.to(device)
    out = None
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), inference_autocast(learn, device):
            for start in range(0, len(texts), _ENCODE_CHUNK):
                encoded = tfm.encode(texts[start:start + _ENCODE_CHUNK])
                lengths = np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64)
                order = np.argsort(-lengths, kind="stable")  # longest first: memory limits show at once
                for i in range(0, len(order), bs):
                    rows = order[i:i + bs]
                    x = {k: v.to(device) for k, v in _pad(tfm, encoded, rows).items()}
                    probs = act(prediction_of(model(x)).float()).float().cpu().numpy()
                    if out is None: out = np.empty((len(texts), probs.shape[-1]), dtype=np.float32)
                    out[start + rows] = probs
    finally:
        model.train(was_training)
    return out


def probabilities(learn, texts, bs=None):
    """Class probabilities of each text as a float32 array (n_texts, n_labels), in the order of `texts`.
    `bs`: texts per batch (default `PREDICT_BS` for HF learners, the validation batch size otherwise)."""
    _require_classifier(learn)
    texts = texts_of(learn, texts)
    tfm = _direct_tfm(learn)
    if tfm is not None:
        return _direct_probabilities(learn, tfm, texts, PREDICT_BS if bs is None else as_int("bs", bs, 1))
    bs = learn.dls.valid.bs if bs is None else as_int("bs", bs, 1)
    dl = learn.dls.test_dl(texts, bs=bs)
    with learn.no_bar():
        probs, _ = learn.get_preds(dl=dl, act=activation(learn))  # reorder=True: input order despite sorting
    return probs.float().numpy()


def predict_texts(learn, texts, thresh=None, bs=None):
    """Predict many texts at once with any text classifier (HF or ULMFiT): a DataFrame with one
    probability column per label (named by the vocab) and `predicted`: the label (single-label) or
    the list of labels at or above the threshold (multi-label), one row per text in the order given."""
    probs = probabilities(learn, texts, bs)
    labels = label_vocab(learn)
    df = pd.DataFrame(probs, columns=labels)
    if target_kind(learn.dls) == "multi_label":
        hits = probs >= label_thresholds(learn, thresh)
        df["predicted"] = [[v for v, h in zip(labels, row) if h] for row in hits]
    else:
        df["predicted"] = [labels[i] for i in probs.argmax(axis=1)]
    return df


hf_predict = predict_texts  # blurr-era name; it serves every text classifier


_fastai_predict = Learner.predict


@patch
def predict(self: Learner, item, rm_type_tfms=None, with_input=False):
    """fastai's predict, fixed for HF_TextBlock learners: returns `(decoded, prediction, probabilities)`:
    the label (or list of labels), the class index (or boolean vector) and the probability tensor.
    A learner of another task family (see `register_predictor`) returns its predictor's tables for the
    one item (a text or a list of words for token classification, a `(question, context)` pair for QA)."""
    family = predictor_of(self) if hf_tokenizer_of(self.dls) is not None else None
    if family is not None: return family[1](self, [item])
    if hf_tokenizer_of(self.dls) is None or label_vocab(self) is None:
        return _fastai_predict(self, item, rm_type_tfms, with_input)
    text = texts_of(self, [item])
    probs = torch.as_tensor(probabilities(self, text)[0])
    vocab = self.dls.vocab
    if target_kind(self.dls) == "multi_label":
        hits = torch.as_tensor(probs.numpy() >= label_thresholds(self))
        res = MultiCategory([vocab[i] for i in torch.where(hits)[0].tolist()]), hits, probs
    else:
        idx = probs.argmax()
        res = Category(vocab[int(idx)]), idx, probs
    return (text[0], *res) if with_input else res


@patch
def hf_predict(self: Learner, texts, thresh=None, bs=None):
    "See `fastai_hf.predict_texts`."
    return predict_texts(self, texts, thresh=thresh, bs=bs)
