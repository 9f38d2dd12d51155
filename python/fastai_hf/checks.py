"""Input checks that fail early and say what to fix.

fastai reads rows lazily, so bad data surfaces as a KeyError or a NaN loss deep in training.
`DataBlock` here is fastai's, plus one vectorised pass over a DataFrame source that names the
column or label at fault. `check_texts` and `as_int` check the arguments of the functions that
take texts or counts (R sends every number as a double, so 32.0 counts as 32).
"""
import math

import numpy as np
import pandas as pd
from fastai.data.block import DataBlock as _FastaiDataBlock
from fastai.data.transforms import Categorize, ColReader, EncodedMultiCategorize, MultiCategorize
from fastai.text.core import Tokenizer

from .data import HF_TextInput

__all__ = ["DataBlock", "check_source", "check_texts", "as_int"]


def as_int(name, value, minimum=None):
    "An integer argument: 32 or 32.0 (R's numbers are doubles) pass; 32.5, True or '32' do not."
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) \
        and math.isfinite(value) and float(value) == int(value) and (minimum is None or int(value) >= minimum)
    if not ok:
        raise ValueError(f"{name} must be an integer{'' if minimum is None else f' >= {minimum}'}, not {value!r}")
    return int(value)


def check_texts(texts):
    "`texts` as a list of non-empty strings: a string, or a list/tuple/array/Series of strings."
    if isinstance(texts, str): texts = [texts]
    elif isinstance(texts, pd.DataFrame):
        raise TypeError("texts must be a column of strings, not a DataFrame; pass e.g. df['text']")
    elif not isinstance(texts, (list, tuple, pd.Series, np.ndarray)):
        raise TypeError(f"texts must be a string or a list/array/Series of strings, not {type(texts).__name__}")
    texts = list(texts)
    if not texts: raise ValueError("no texts given: pass at least one non-empty string")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        first = texts[bad[0]]
        what = "missing (NA)" if first is None or (isinstance(first, float) and math.isnan(first)) else repr(first)
        raise ValueError(f"{len(bad)} texts are missing, empty or not strings (positions {bad[:10]}, 0-based; "
                         f"e.g. {what}); drop or fill them first, e.g. df.dropna(subset=['text'])")
    return texts


def _col_names(reader, df):
    "Column names a ColReader reads, checking they exist."
    names = []
    for c in reader.cols:
        if isinstance(c, (int, np.integer)):
            if not -df.shape[1] <= c < df.shape[1]:
                raise ValueError(f"ColReader({c}) reads column position {c} but the data has {df.shape[1]} columns")
            names.append(df.columns[c])
        elif c not in df.columns:
            raise ValueError(f"column '{c}' is not in the data; its columns are {list(df.columns)}. "
                             f"Rename the column or read the right one with ColReader('<column>')")
        else: names.append(c)
    return names


def _first(mask, df, n=5):
    return list(df.index[np.asarray(mask)][:n])


def _check_texts(df, col):
    texts = df[col]
    missing = texts.isna().to_numpy()
    empty = ~missing & (texts.astype(str).str.strip() == "").to_numpy()
    not_str = ~missing & ~texts.map(lambda t: isinstance(t, str)).to_numpy()
    for mask, what, fix in [(missing, "missing (NA)", "drop them, e.g. df.dropna(subset=['{c}'])"),
                            (empty, "empty", "drop them, e.g. df[df['{c}'].str.strip() != '']"),
                            (not_str, "not strings", "convert the column, e.g. df['{c}'].astype(str)")]:
        if mask.any():
            raise ValueError(f"text column '{col}' has {mask.sum()} rows whose text is {what} "
                             f"(e.g. rows {_first(mask, df)}); {fix.format(c=col)}")


def _check_one_hot(df, cols, vocab):
    if vocab is not None and len(vocab) != len(cols):
        raise ValueError(f"MultiCategoryBlock(encoded=True) has {len(vocab)} labels in vocab but get_y reads "
                         f"{len(cols)} columns {cols}; give one vocab entry per label column")
    values = df[cols]
    bad = [c for c in cols if values[c].isna().any() or
           not pd.Series(values[c].dropna().unique()).isin([0, 1, True, False]).all()]
    if bad:
        c = bad[0]
        odd = [v for v in values[c].unique() if pd.isna(v) or v not in (0, 1)][:3]
        raise ValueError(f"label columns {bad} must hold only 0/1 (column '{c}' has {odd}); round and convert "
                         "them to integers first, or drop rows with missing labels")


def _check_categories(df, cols, vocab, delim=None):
    for c in cols:
        labels = df[c]
        if labels.isna().any():
            raise ValueError(f"label column '{c}' has {labels.isna().sum()} missing (NA) labels "
                             f"(e.g. rows {_first(labels.isna(), df)}); drop or fill those rows")
        if vocab is None: continue
        seen = labels.str.split(delim).explode() if delim else labels
        unknown = sorted(set(seen.dropna().astype(str)) - {str(v) for v in vocab})
        if unknown:
            raise ValueError(f"label column '{c}' has labels that are not in the vocab: {unknown[:5]}; add them "
                             f"to vocab= (now {list(vocab)[:10]}) or drop those rows")


def check_source(dblock, source):
    "Check a DataFrame `source` against the blocks and ColReaders of `dblock`; raise a ValueError naming the problem."
    if not isinstance(source, pd.DataFrame): return
    if len(source) == 0:
        raise ValueError("the data has zero rows; pass a DataFrame with at least a few rows for training and validation")
    for getter, tfms in zip(dblock.getters, dblock.type_tfms):
        # fastai's TextBlock.from_df tokenizes first and reads a column its Tokenizer creates ("text")
        if not isinstance(getter, ColReader) or any(isinstance(t, Tokenizer) for t in tfms): continue
        cols = _col_names(getter, source)
        for t in tfms:
            if isinstance(t, HF_TextInput): _check_texts(source, cols[0])
            elif isinstance(t, EncodedMultiCategorize): _check_one_hot(source, cols, t.vocab)
            elif isinstance(t, MultiCategorize): _check_categories(source, cols, t.vocab, getter.label_delim)
            elif isinstance(t, Categorize): _check_categories(source, cols, t.vocab)


class DataBlock(_FastaiDataBlock):
    "fastai's `DataBlock`; a DataFrame source is checked first (`check_source`) so bad rows fail early and clearly."
    def datasets(self, source, verbose=False):
        check_source(self, source)
        return super().datasets(source, verbose=verbose)
