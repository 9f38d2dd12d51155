"""What the R package's ULMFiT and error-analysis functions call (R/text.R, R/interpret.R).

Like `bridge`, every function returns plain values (lists, dicts, the bridge's table format) so that
Debian's reticulate 1.28, which converts neither NumPy 2 arrays nor pandas 3 DataFrames, can hand
them to R. The fastai pieces themselves (TextBlock, AWD_LSTM, the learners) are reached from R
directly; only what needs converting or a fix for R lives here:

- tokenization helpers that return token lists and tables;
- `LMDataLoader` from R's integer vectors; the learners with their download output sent to R;
- batches of fastai text data as tables (`text_batch`, `text_results`: the bridge's `show_batch` and
  `show_results` show HF data only);
- prediction for fastai text learners (ULMFiT classifiers), in the R package's predict format
  (the bridge's `predict` serves HF learners only);
- the interpretation tables of `interpret.py` with the row of each item in the data it came from,
  computed once per interpretation.
"""
import contextlib
import io
import os
import sys

import numpy as np
import pandas as pd
import torch
from fastai.data.transforms import ColReader
from fastai.interpret import ClassificationInterpretation, Interpretation
from fastai.text.core import Tokenizer, defaults, tokenize_texts
from fastai.text.core import tokenize_df as _tokenize_df
from fastai.text.data import LMDataLoader
from fastcore.xtras import is_listy

from .bridge import frame_from_r, frame_to_r, label_vocab, r_output
from .checks import as_int, check_texts
from .interpret import confidence_df
from .modeling import _problem_type
from .ulmfit import _rules

__all__ = ["rule_functions", "tokenize", "tokenize_df", "setup_subword", "lm_dataloader", "learner", "label_vocab",
           "text_batch", "text_results", "predict", "interpretation", "confidence", "top_losses"]


def _df(x):
    "An R table (the bridge's format) as a DataFrame; DataFrames pass."
    if isinstance(x, dict) and "columns" in x and "names" in x: return frame_from_r(x)
    return x


def rule_functions(rules):
    "Text rules by name (as `proc_rules()` lists them) as the functions fastai's `Tokenizer` takes; None: None."
    return _rules(rules)


# ---------------------------------------------------------------------------------------------------
# Tokenization
# ---------------------------------------------------------------------------------------------------
def tokenize(tok, texts, rules=None):
    """Tokens of each text (a list of lists of str) with a fastai `Tokenizer` (its own rules) or a
    base tokenizer such as `WordTokenizer()` / a set-up `SubwordTokenizer()` (with `rules`, default
    fastai's). Batched, in this process."""
    texts = check_texts(texts)
    if isinstance(tok, Tokenizer): base, rules = tok.tok, tok.rules
    else: base, rules = tok, _rules(rules)
    if not callable(base):
        raise TypeError(f"tok must be a fastai tokenizer (Tokenizer(), WordTokenizer(), SubwordTokenizer()), "
                        f"not {type(tok).__name__}")
    return [[str(t) for t in ts] for ts in tokenize_texts(texts, n_workers=0, rules=rules, tok=base)]


def tokenize_df(df, text_cols, n_workers=0, rules=None, mark_fields=None, tok=None, tok_text_col="text"):
    """fastai's `tokenize_df`: {"df": the table with the texts replaced by token lists in `tok_text_col`
    and their counts in `<tok_text_col>_length`, "counts": a table of token, n by decreasing count}."""
    df = _df(df)
    if not isinstance(df, pd.DataFrame): raise TypeError(f"df must be a data frame, not {type(df).__name__}")
    text_cols = [text_cols] if isinstance(text_cols, (str, int)) else list(text_cols)
    missing = [c for c in text_cols if isinstance(c, str) and c not in df.columns]
    if missing: raise ValueError(f"columns {missing} are not in the data; its columns are {list(df.columns)}")
    res, counter = _tokenize_df(df, text_cols, n_workers=as_int("n_workers", n_workers, 0), rules=_rules(rules),
                                mark_fields=mark_fields, tok=tok, tok_text_col=tok_text_col)
    res = res.reset_index(drop=True)
    res[tok_text_col] = pd.Series([[str(t) for t in ts] for ts in res[tok_text_col]], dtype="object")
    counts = counter.most_common()
    counts = pd.DataFrame({"token": [str(t) for t, _ in counts], "n": [int(n) for _, n in counts]})
    return {"df": frame_to_r(res), "counts": frame_to_r(counts)}


def setup_subword(tok, texts, rules=None):
    """Train a `SubwordTokenizer`'s SentencePiece model on `texts` (after the pre-tokenization rules,
    as fastai's `TextBlock` does) and return the tokenizer. Without it, the first call trains on its batch."""
    texts = check_texts(texts)
    rules = _rules(rules)
    with _quiet():
        tok.setup(texts, rules=defaults.text_proc_rules if rules is None else rules)
    return tok


@contextlib.contextmanager
def _quiet():
    """Silence fastai's progress bar (Python's stdout) and SentencePiece's training log, which its C++
    code writes to file descriptor 2 (R's console, past knitr). Exceptions still propagate."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()):
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------
def lm_dataloader(dataset, **kwargs):
    """fastai's `LMDataLoader` over `dataset`: token-id sequences (R integer vectors arrive as lists of
    ints, a length-1 vector as an int) become LongTensors; a fastai dataset passes as it is."""
    if isinstance(dataset, (list, tuple)):
        seqs = [[s] if isinstance(s, int) else s for s in dataset]
        if not seqs or any(not is_listy(s) or not len(s) for s in seqs):
            raise ValueError("dataset must be a non-empty list of non-empty token-id vectors "
                             "(e.g. numericalize_tokens() output)")
        dataset = [torch.as_tensor([as_int("a token id", t, 0) for t in s], dtype=torch.long) for s in seqs]
    for k in ("bs", "seq_len", "num_workers", "cache"):
        if k in kwargs and kwargs[k] is not None: kwargs[k] = as_int(k, kwargs[k], 0 if k != "bs" else 1)
    return LMDataLoader(dataset, **kwargs)


def learner(kind, *args, write=None, mode="bar", **kwargs):
    """`ulmfit.language_model_learner` (kind "lm") or `ulmfit.text_classifier_learner` ("classifier") with
    Python's output sent to R: the download bar of pretrained weights shows in a console, not in knitr."""
    from . import ulmfit
    makers = {"lm": ulmfit.language_model_learner, "classifier": ulmfit.text_classifier_learner}
    if kind not in makers: raise ValueError(f"kind must be 'lm' or 'classifier', not {kind!r}")
    f = makers[kind]
    with r_output(write, mode):
        return f(*args, **kwargs)


def _cell(o, trunc_at=None):
    "A decoded item as a table cell: a string (truncated), or a list of labels for multi-label targets."
    if is_listy(o) and not isinstance(o, str): return [str(v) for v in o]
    text = str(o)
    return text[:trunc_at] if trunc_at else text


def _decoded_table(its, n_inp, names, trunc_at=None, outs=None):
    "Decoded samples (tuples of inputs and targets) and predictions as a DataFrame with fastai's column names."
    rows = [list(it) for it in its]
    if outs is not None: rows = [r + list(out) for r, out in zip(rows, outs)]
    width = len(rows[0]) if rows else len(names)
    cols = (names + [f"{names[-1]}_{i}" for i in range(width - len(names))])[:width]
    return pd.DataFrame({c: [_cell(r[j], trunc_at if j < n_inp else None) for r in rows] for j, c in enumerate(cols)})


def _text_names(dl, with_preds=False):
    "fastai's names: text and text_ (the shifted text) for a language model, text and category(_) for a classifier."
    lm = isinstance(dl, LMDataLoader)
    names = ["text", "text_"] if lm else ["text", "category"]
    return names + (["text_pred" if lm else "category_"] if with_preds else [])


def text_batch(dls, max_n=9, ds_idx=0, trunc_at=150):
    """A batch of fastai text data (TextBlock: tokens with fastai's special tokens) as a table, as fastai's
    `show_batch` displays it: `text` and `category` (a classifier) or `text` and `text_` (a language model,
    the same text one token later). Texts are cut at `trunc_at` characters."""
    dl = dls[as_int("ds_idx", ds_idx, 0)] if hasattr(dls, "loaders") else dls
    _, _, its = dl._pre_show_batch(dl.one_batch(), max_n=as_int("max_n", max_n, 1))
    return frame_to_r(_decoded_table(its, dl.n_inp, _text_names(dl), trunc_at))


def text_results(learn, ds_idx=1, max_n=9, shuffle=True, trunc_at=150):
    """A batch of fastai text data with the decoded predictions (`category_`; for a language model
    `text_pred`, the predicted next tokens), as fastai's `show_results` displays it."""
    dl = learn.dls[as_int("ds_idx", ds_idx, 0)].new(shuffle=shuffle)
    b = dl.one_batch()
    with learn.no_bar():
        _, _, decoded = learn.get_preds(dl=[b], with_decoded=True)
    _, _, its, outs = dl.show_results(b, decoded, max_n=as_int("max_n", max_n, 1), show=False)
    return frame_to_r(_decoded_table(its, dl.n_inp, _text_names(dl, True), trunc_at, outs))


# ---------------------------------------------------------------------------------------------------
# Prediction for fastai text classifiers (ULMFiT)
# ---------------------------------------------------------------------------------------------------
def _raw_text_cols(learn):
    "The raw text columns of a learner's data: the Tokenizer's `text_cols` (from_df), else the ColReader's."
    fs = learn.dls.train_ds.tls[0].tfms.fs
    tok = next((t for t in fs if isinstance(t, Tokenizer)), None)
    cols = getattr(tok, "text_cols", None)
    if cols is not None: return [cols] if isinstance(cols, (str, int)) else list(cols)
    return [c for t in fs if isinstance(t, ColReader) for c in t.cols]


def _texts_of(learn, texts):
    texts = _df(texts)
    if isinstance(texts, pd.DataFrame):
        cols = _raw_text_cols(learn)
        col = next((c for c in cols if c in texts.columns), None)
        if col is None:
            raise ValueError(f"the data frame has no text column {cols}; its columns are {list(texts.columns)}")
        texts = texts[col]
    return check_texts(texts)


def _thresholds(learn, thresh, n):
    "One threshold per label: `thresh` if given, else the loss function's (default 0.5)."
    t = getattr(learn.loss_func, "thresh", 0.5) if thresh is None else thresh
    t = np.asarray(t.detach().cpu() if torch.is_tensor(t) else t, dtype=float).reshape(-1)
    if t.size == 1: t = np.repeat(t, n)
    if t.size != n: raise ValueError(f"got {t.size} thresholds for {n} labels; give one number or one per label")
    return t


def predict(learn, texts, thresh=None, bs=None):
    """Class probabilities of texts with a fastai text classifier (`text_classifier_learner`), in the
    format of `bridge.predict`: {"frame": one probability column per label plus `predicted`,
    "multilabel", "labels"}; rows in the order of `texts` (a string, a list, or a DataFrame holding
    the raw text column)."""
    labels = label_vocab(learn)
    if labels is None:
        raise TypeError("this learner is a language model, not a classifier; predict() continues a text with it")
    texts = _texts_of(learn, texts)
    bs = learn.dls.valid.bs if bs is None else as_int("bs", bs, 1)
    dl = learn.dls.test_dl(texts, bs=bs)
    multi = _problem_type(learn) == "multi_label_classification"
    act = None if hasattr(learn.loss_func, "activation") else (torch.sigmoid if multi else lambda x: x.softmax(-1))
    with learn.no_bar():
        probs, _ = learn.get_preds(dl=dl, act=act)  # reorder=True: item order despite SortedDL's length sort
    probs = probs.float().numpy()
    df = pd.DataFrame(probs, columns=labels)
    if multi:
        hits = probs >= _thresholds(learn, thresh, len(labels))
        df["predicted"] = [[v for v, h in zip(labels, row) if h] for row in hits]
    else:
        df["predicted"] = [labels[i] for i in probs.argmax(axis=1)]
    return {"frame": frame_to_r(df), "multilabel": multi, "labels": labels}


# ---------------------------------------------------------------------------------------------------
# Interpretation tables, with the row of each item
# ---------------------------------------------------------------------------------------------------
def _with_row(df):
    """`row` first: the item's row (from 1) in the data frame the DataLoaders were built from (R sends
    data frames with a 0-based RangeIndex, which fastai's splits keep), or its position otherwise."""
    idx = df.index
    rows = (idx.to_numpy() + 1) if pd.api.types.is_integer_dtype(idx) else range(1, len(df) + 1)
    df = df.reset_index(drop=True)
    df.insert(0, "row", pd.Series(rows, dtype="int64"))
    return df


def interpretation(learn, ds_idx=1, dl=None):
    """fastai's `ClassificationInterpretation` of `dl` (default: dataset `ds_idx`) from one pass over the
    data: the `confidence_df` table is computed once, kept on the object for the R functions, and its
    losses are the interpretation's (what `from_learner` would compute in a pass of its own)."""
    dl = learn.dls[ds_idx] if dl is None else dl
    conf = confidence_df(learn, dl)
    interp = ClassificationInterpretation(learn, dl.new(shuffle=False, drop_last=False),
                                          torch.tensor(conf["loss"].to_numpy(dtype="float32")))
    interp._r_confidence = conf
    return interp


def _confidence(x, dl=None):
    "`confidence_df` of a learner, or of an interpretation (its kept table, unless another `dl` is given)."
    if isinstance(x, Interpretation):
        if dl is None:
            conf = getattr(x, "_r_confidence", None)
            if conf is None: conf = x._r_confidence = confidence_df(x.learn, x.dl)
            return conf
        return confidence_df(x.learn, dl)
    return confidence_df(x, dl)


def confidence(x, dl=None):
    "`interpret.confidence_df` of a learner or interpretation, with `row`."
    return frame_to_r(_with_row(_confidence(x, dl)))


def top_losses(x, k=9, dl=None, largest=True):
    "The `k` largest (or smallest) losses of `confidence`, with `row` (k=None: all rows, sorted)."
    k = None if k is None else as_int("k", k, 1)
    df = _confidence(x, dl).sort_values("loss", ascending=not largest, kind="stable")
    cols = ["text", "label", "predicted", "loss", "probability", "label_probability"]
    return frame_to_r(_with_row(df[cols].head(len(df) if k is None else k)))
