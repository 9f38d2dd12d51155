"""Error analysis for single-label text classifiers, as tables: losses, confidence, confusion matrix.

Works for HF learners (`HF_TextBlock` + `CategoryBlock`) and fastai's ULMFiT `text_classifier_learner`
(`TextBlock` + `CategoryBlock`). Every helper runs one `get_preds` pass over a DataLoader (default:
validation) and returns a pandas DataFrame, so R gets a data.frame it can sort or plot with ggplot2.
Texts are readable: an HF learner's raw strings straight from the dataset items (not the lowercased,
detokenized input_ids); a ULMFiT learner's tokens with fastai's special tokens (xxmaj, xxup, ...) undone.

fastai's own `ClassificationInterpretation.from_learner(learn)` works with HF learners too
(`confusion_matrix`, `most_confused`, `plot_confusion_matrix`, `print_classification_report`,
`top_losses`, `show_results`); only its `plot_top_losses` cannot show dict inputs, so this module
patches it to show the `top_losses_df` table for HF learners.
"""
import numpy as np
import pandas as pd
import torch
from fastai.interpret import ClassificationInterpretation, Interpretation
from fastai.text.core import BOS, EOS, PAD
from fastai.text.data import Numericalize
from fastai.text.learner import decode_spec_tokens
from fastai.torch_core import display_df
from fastcore.basics import patch
from fastcore.xtras import is_listy

from .checks import as_int
from .data.core import hf_tokenizer_of, target_kind
from .predict import activation

__all__ = ["interpretation", "confidence_df", "top_losses_df", "confusion_matrix_df", "plot_confusion_matrix"]


def _dl_of(learn, dl):
    "`dl` (default: validation) in item order, every row kept, with labels to score against."
    dl = learn.dls.valid if dl is None else dl
    if not hasattr(dl, "dataset") or not hasattr(dl.dataset, "tls"):
        raise TypeError(f"dl must be a fastai DataLoader such as learn.dls.valid or learn.dls.test_dl(df, "
                        f"with_labels=True), not {type(dl).__name__}")
    if len(dl.dataset.tls) <= dl.dataset.n_inp:
        raise ValueError("this DataLoader has no labels, so there are no losses to rank; build it with "
                         "learn.dls.test_dl(df, with_labels=True) from a DataFrame that has the label column")
    return dl.new(shuffle=False, drop_last=False)


def _label_vocab(learn, dl):
    if target_kind(learn.dls) == "multi_label":
        raise ValueError("these helpers are for single-label classifiers (CategoryBlock); for multi-label "
                         "learners use multilabel_metrics() and find_thresholds()")
    vocab = getattr(dl, "vocab", None)
    if is_listy(vocab): vocab = vocab[-1]  # ULMFiT: (text vocab, label vocab)
    if vocab is None or not len(vocab):
        raise ValueError("the learner's data has no label vocab: confusion matrices and losses per class need "
                         "a CategoryBlock target")
    return [str(v) for v in vocab]


def _readable(tokens, sep):
    "fastai tokens back to text: special tokens undone, SentencePiece's '▁' word marks turned into spaces."
    tokens = decode_spec_tokens([t for t in tokens if t not in (BOS, EOS, PAD)])
    if any(t.startswith("\u2581") for t in tokens): return "".join(tokens).replace("\u2581", " ").strip()
    return sep.join(tokens)


def _texts(dl):
    "The text of each item of `dl`, in item order."
    tl = dl.dataset.tls[0]
    if hf_tokenizer_of(dl) is not None: return [tl[i] for i in range(len(tl))]  # raw strings
    num = next((t for t in tl.tfms.fs if isinstance(t, Numericalize)), None)
    if num is None: return [str(tl.decode(tl[i])) for i in range(len(tl))]
    sep = next((t.sep for t in tl.tfms.fs if hasattr(t, "sep")), " ")
    return [_readable([num.vocab[j] for j in tl[i].tolist()], sep) for i in range(len(tl))]


def _index(dl):
    items = dl.items
    return items.index if isinstance(items, pd.DataFrame) else pd.RangeIndex(len(items))


def _categorical(values, vocab):
    "Labels as an ordered-by-vocab categorical, which R turns into a factor with the vocab's levels."
    return pd.Categorical(values, categories=vocab)


def _preds(learn, dl):
    "(probabilities, target ids, losses) over `dl`, in item order."
    with learn.no_bar():
        probs, targs, losses = learn.get_preds(dl=dl, with_loss=True, act=activation(learn))
    return probs.float().numpy(), targs.long().numpy().reshape(-1), losses.float().numpy().reshape(-1)


def _confidence(learn, dl=None):
    "The `confidence_df` table of a learner over `dl` (default: validation), from one pass."
    dl = _dl_of(learn, dl)
    vocab = _label_vocab(learn, dl)
    probs, targs, losses = _preds(learn, dl)
    pred = probs.argmax(1)
    rows = np.arange(len(pred))
    return pd.DataFrame({
        "text": _texts(dl),
        "label": _categorical([vocab[i] for i in targs], vocab),
        "predicted": _categorical([vocab[i] for i in pred], vocab),
        "probability": probs[rows, pred],
        "label_probability": probs[rows, targs],
        "loss": losses,
        "correct": pred == targs,
    }, index=_index(dl))


def confidence_df(x, dl=None):
    """Every row of `dl` (default: the validation set) with the model's verdict, for a learner or an
    `interpretation()`: a DataFrame with `text`, `label`, `predicted`, `probability` (of the predicted
    label), `label_probability` (of the true label), `loss` and `correct`, in item order (indexed like
    a DataFrame source). An interpretation gives the table it was built from, without a new pass.

    Sort by `probability` for the most / least confident predictions, by `loss` for the worst
    mistakes. A test set with labels works too: `dl=learn.dls.test_dl(df, with_labels=True)`.
    """
    if isinstance(x, Interpretation):
        if dl is not None: return _confidence(x.learn, dl)
        if getattr(x, "confidence_table", None) is None: x.confidence_table = _confidence(x.learn, x.dl)
        return x.confidence_table
    return _confidence(x, dl)


def interpretation(learn, dl=None, ds_idx=1):
    """fastai's `ClassificationInterpretation` of `dl` (default: dataset `ds_idx`, 1 = validation) from
    one pass over the data: the `confidence_df` table is computed once and kept on the object
    (`confidence_table`), and its losses are the interpretation's, which `from_learner` would compute
    in a pass of its own. Pass it wherever a learner goes in this module."""
    dl = learn.dls[as_int("ds_idx", ds_idx, 0)] if dl is None else dl
    conf = _confidence(learn, dl)
    interp = ClassificationInterpretation(learn, _dl_of(learn, dl), torch.tensor(conf["loss"].to_numpy(dtype="float32")))
    interp.confidence_table = conf
    return interp


def top_losses_df(x, k=10, dl=None, largest=True):
    """The `k` rows of `dl` (default: validation) with the largest losses (`largest=False`: smallest),
    as a DataFrame: `text`, `label`, `predicted`, `loss`, `probability` (of the predicted label) and
    `label_probability`. `k=None` gives all rows, sorted."""
    k = None if k is None else as_int("k (the number of rows; None for all)", k, 1)
    df = confidence_df(x, dl)
    df = df.sort_values("loss", ascending=not largest, kind="stable")
    cols = ["text", "label", "predicted", "loss", "probability", "label_probability"]
    return df[cols].head(len(df) if k is None else k)


def _matrix(x, dl):
    "Counts of (actual, predicted) label ids, and the labels, from the `confidence_df` table."
    conf = confidence_df(x, dl)
    vocab = [str(v) for v in conf["label"].cat.categories]
    from sklearn.metrics import confusion_matrix as _sk_confusion_matrix  # sklearn.metrics: imported when used
    cm = _sk_confusion_matrix(conf["label"].cat.codes, conf["predicted"].cat.codes, labels=np.arange(len(vocab)))
    return cm, vocab


def _normalized(cm):
    "Each row divided by its total: the share of each actual class predicted as each class (0 for empty rows)."
    totals = cm.sum(1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)


def confusion_matrix_df(x, dl=None, normalize=False, wide=False):
    """The confusion matrix over `dl` (default: validation) as a DataFrame.

    Long form (default), one row per (actual, predicted) pair, ready for ggplot2's `geom_tile`:
    `actual`, `predicted` (categoricals in vocab order), `n` (count) and `proportion` (share of the
    actual class). `wide=True`: a label-by-label table (rows actual, columns predicted) of counts, or
    of proportions with `normalize=True`; the row sums of a normalized table are 1.
    """
    cm, vocab = _matrix(x, dl)
    if wide:
        values = _normalized(cm) if normalize else cm
        return pd.DataFrame(values, index=pd.Index(vocab, name="actual"), columns=pd.Index(vocab, name="predicted"))
    actual, predicted = np.meshgrid(np.arange(len(vocab)), np.arange(len(vocab)), indexing="ij")
    return pd.DataFrame({
        "actual": _categorical([vocab[i] for i in actual.ravel()], vocab),
        "predicted": _categorical([vocab[i] for i in predicted.ravel()], vocab),
        "n": cm.ravel(),
        "proportion": _normalized(cm).ravel(),
    })


def plot_confusion_matrix(x, dl=None, normalize=True, title=None, cmap="Blues", figsize=None):
    """Plot the confusion matrix over `dl` (default: validation) with scikit-learn's
    `ConfusionMatrixDisplay`, as the book does; rows are actual labels, columns predicted ones,
    normalized per actual label by default. Returns the matplotlib Figure (save it with
    `fig.savefig(path)`)."""
    import matplotlib.pyplot as plt
    cm, vocab = _matrix(x, dl)
    values = _normalized(cm) if normalize else cm
    n = len(vocab)
    fig, ax = plt.subplots(figsize=figsize or (max(4.0, 0.6 * n + 2), max(4.0, 0.6 * n + 2)))
    from sklearn.metrics import ConfusionMatrixDisplay
    ConfusionMatrixDisplay(values, display_labels=vocab).plot(
        ax=ax, cmap=cmap, values_format=".2f" if normalize else "d", colorbar=False, xticks_rotation=90)
    ax.set_title(title or ("Normalized confusion matrix" if normalize else "Confusion matrix"))
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    fig.tight_layout()
    return fig


_fastai_plot_top_losses = Interpretation.plot_top_losses


@patch
def plot_top_losses(self: Interpretation, k, largest=True, **kwargs):
    """fastai's `plot_top_losses`; for HF learners, whose inputs are dicts fastai cannot show, it
    shows the `top_losses_df` table of the `k` largest (or smallest) losses instead."""
    if hf_tokenizer_of(self.dl) is None: return _fastai_plot_top_losses(self, k, largest=largest, **kwargs)
    if is_listy(k) or isinstance(k, range):
        raise TypeError("for HF learners k must be a number of rows; use top_losses_df(learn, k=None) for all rows")
    display_df(top_losses_df(self.learn, k=k, dl=self.dl, largest=largest))
