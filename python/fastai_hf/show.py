"""Batches and results of any text data as DataFrames (what `show_batch` / `show_results` display).

HF data (`HF_TextDL`) shows decoded texts with targets and predictions; fastai's own text data
(ULMFiT's TextBlock) shows tokens with fastai's special tokens, as fastai displays them.
"""
import pandas as pd

from .checks import as_int
from .data.core import hf_tokenizer_of
from .ulmfit import text_batch_df, text_results_df

__all__ = ["show_batch_df", "show_results_df"]


def _table(res, what):
    if isinstance(res, pd.DataFrame): return res
    raise TypeError(f"{what} of this DataLoader gave {type(res).__name__}, not a table; tables are shown for "
                    "HF_TextBlock data and fastai's text data")


def show_batch_df(dls, ds_idx=0, max_n=9, **kwargs):
    "A batch of dataset `ds_idx` (0 train, 1 valid) of DataLoaders (or a DataLoader) as a DataFrame."
    dl = dls[as_int("ds_idx", ds_idx, 0)] if hasattr(dls, "loaders") else dls
    if hf_tokenizer_of(dl) is None: return text_batch_df(dl, max_n=max_n, **kwargs)
    return _table(dl.show_batch(max_n=as_int("max_n", max_n, 1), show=False, **kwargs), "show_batch")


def show_results_df(learn, ds_idx=1, max_n=9, shuffle=True, **kwargs):
    """A batch of dataset `ds_idx` with its targets and decoded predictions as a DataFrame (fastai's
    `Learner.show_results` draws the same batch and predictions, and displays them)."""
    ds_idx = as_int("ds_idx", ds_idx, 0)
    if hf_tokenizer_of(learn.dls[ds_idx]) is None:
        return text_results_df(learn, ds_idx=ds_idx, max_n=max_n, shuffle=shuffle, **kwargs)
    dl = learn.dls[ds_idx].new(shuffle=shuffle)
    b = dl.one_batch()
    with learn.no_bar():
        _, _, decoded = learn.get_preds(dl=[b], with_decoded=True)
    return _table(dl.show_results(b, decoded, max_n=as_int("max_n", max_n, 1), show=False, **kwargs), "show_results")
