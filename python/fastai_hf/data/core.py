"""Data for every task family: raw texts tokenized per batch, length-grouped loaders, checked sources.

Items stay raw strings (or word lists, question/context pairs, ...) until a batch is drawn.
`HF_BeforeBatchTransform` tokenizes the whole batch at once in `before_batch`, padding to the batch's
longest text (dynamic padding). `HF_TextDL` sorts by character length, a free proxy for token length,
so texts are never tokenized twice; for training it then tokenizes a pool of a few batches' texts in
one call and regroups them by their exact token counts before padding (less padding than character
sorting alone, same tokenizer work). Task families (classification.py, tokens.py, ...) add their
blocks and transforms beside this module and reuse these pieces.

`DataBlock` is fastai's, plus an up-front check of a DataFrame source: every type transform that has
a `check_source(df, cols)` method (`HF_TextInput` here, the task families' inputs) checks its columns,
and fastai's label transforms are checked for missing labels, labels outside the vocab and a single
class. The split is checked too (indices past the data, an empty training set; an empty validation
set is warned about), and so are the batch sizes and that training has at least one batch.
"""
import math
import warnings

import numpy as np
import pandas as pd
from fastai.data.block import DataBlock as _FastaiDataBlock
from fastai.data.core import DataLoaders
from fastai.data.transforms import (Categorize, Category, ColReader, EncodedMultiCategorize, MultiCategorize,
                                    MultiCategory, RandomSplitter)
from fastai.text.core import Tokenizer
from fastai.text.data import SortedDL
from fastai.torch_core import display_df
from fastcore.basics import chunked
from fasttransform import DisplayedTransform, Transform

from ..checks import (InputWarning, advice, as_int, check_categories, check_classes, check_not_empty, check_one_hot,
                      check_text_column, column_names, count, rows, show)

__all__ = ["DataBlock", "check_source", "check_splits", "check_batches", "HF_TextInput", "HF_BeforeBatchTransform",
           "HF_TextDL", "hf_tokenizer_of", "is_tokenizer", "target_kind", "text_columns"]


def is_tokenizer(o):
    "A Hugging Face tokenizer (what blurr's positional `(hf_arch, hf_config, hf_tokenizer, hf_model)` puts third)."
    return callable(o) and hasattr(o, "pad") and hasattr(o, "convert_ids_to_tokens")


class HF_TextInput(Transform):
    "Type transform of an `HF_TextBlock` item: checks that it is a non-empty string."
    def encodes(self, o):
        if isinstance(o, str) and o.strip(): return o
        what = "missing (NA)" if o is None or (isinstance(o, float) and math.isnan(o)) else show(o)
        raise ValueError(f"a text is {what}; every text must be a non-empty string. Drop or fill those rows before "
                         "building the DataLoaders, " + advice("e.g. df[df['text'].str.strip() != ''].dropna()",
                                                             "e.g. df[!is.na(df$text) & nzchar(trimws(df$text)), ]"))

    def check_source(self, df, cols): check_text_column(df, cols[0])


class HF_BeforeBatchTransform(DisplayedTransform):
    """Tokenizes a list of samples `(text, *targets)` in one call, padded to the longest text of the batch.

    Takes blurr's arguments, positionally too: `(hf_arch, hf_config, hf_tokenizer, hf_model, max_length,
    padding, truncation, is_split_into_words, tok_kwargs)`; the older `(hf_arch, hf_tokenizer, ...)` form works as well.
    """
    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, max_length=None, padding=True,
                 truncation=True, is_split_into_words=False, tok_kwargs=None, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        if not is_tokenizer(hf_tokenizer):
            raise TypeError("hf_tokenizer must be a Hugging Face tokenizer, e.g. the third value of get_hf_objects()")
        self.hf_arch, self.hf_config, self.hf_tokenizer, self.hf_model = hf_arch, hf_config, hf_tokenizer, hf_model
        self.max_length = None if max_length is None else as_int("max_length", max_length, 1)
        self.padding, self.truncation, self.is_split_into_words = padding, truncation, is_split_into_words
        self.tok_kwargs = {**dict(tok_kwargs or {}), **kwargs}
        if is_split_into_words: self.tok_kwargs["is_split_into_words"] = True

    def tokenize(self, texts):
        "The batch as a dict of tensors (input_ids, attention_mask, ...), one row per text."
        return self.hf_tokenizer(list(texts), padding=self.padding, truncation=self.truncation,
                                 max_length=self.max_length, return_tensors="pt", **self.tok_kwargs)

    def encodes(self, samples: list):
        return self.as_samples(self.tokenize(s[0] for s in samples), samples)

    @property
    def pads_to_longest(self): return self.padding is True or self.padding == "longest"

    def encode(self, texts):
        "Token ids of each text, truncated but not padded (lists, for `pad` to batch later)."
        return self.hf_tokenizer(list(texts), padding=False, truncation=self.truncation,
                                 max_length=self.max_length, **self.tok_kwargs)

    def pad(self, encoded, rows, samples):
        "The samples of rows `rows` of `encode`'s output, padded to their longest: same as `encodes`."
        features = [{k: v[i] for k, v in encoded.items()} for i in rows]
        enc = self.hf_tokenizer.pad(features, padding=self.padding, max_length=self.max_length, return_tensors="pt",
                                    pad_to_multiple_of=self.tok_kwargs.get("pad_to_multiple_of"))
        return self.as_samples(enc, samples)

    @staticmethod
    def as_samples(enc, samples):
        # One dict per sample, so fastai's collate (and any later before_batch transform) sees samples.
        rows = [{k: v[i] for k, v in enc.items()} for i in range(len(samples))]
        return [(row, *s[1:]) for row, s in zip(rows, samples)]

    def decode_texts(self, input_ids):
        "Texts back from a batch of token ids (padding and special tokens dropped)."
        return self.hf_tokenizer.batch_decode(input_ids, skip_special_tokens=True, clean_up_tokenization_spaces=True)


def hf_tokenizer_of(dl_or_dls):
    "The `HF_BeforeBatchTransform` of a DataLoader (or DataLoaders), or None for non-HF data."
    dl = dl_or_dls.train if isinstance(dl_or_dls, DataLoaders) else dl_or_dls
    return next((t for t in getattr(getattr(dl, "before_batch", None), "fs", [])
                 if isinstance(t, HF_BeforeBatchTransform)), None)


def _label_tfms(dls):
    ds = getattr(dls, "train_ds", None)
    tls = getattr(ds, "tls", None)
    if not tls or len(tls) <= ds.n_inp: return []
    return list(tls[-1].tfms.fs)


def target_kind(dls):
    """What the targets of DataLoaders are: "multi_label" (MultiCategoryBlock, one-hot), "single_label"
    (CategoryBlock), or None (no label block: a language model, regression, ...)."""
    tfms = _label_tfms(dls)
    if any(isinstance(t, (MultiCategorize, EncodedMultiCategorize)) for t in tfms): return "multi_label"
    if any(isinstance(t, Categorize) for t in tfms): return "single_label"
    return None


def text_columns(dls):
    """The raw text columns the inputs of DataLoaders are read from: the `Tokenizer`'s `text_cols` for
    fastai's `TextBlock.from_df` data, else the input ColReader's columns."""
    fs = dls.train_ds.tls[0].tfms.fs
    tok = next((t for t in fs if isinstance(t, Tokenizer)), None)
    cols = getattr(tok, "text_cols", None)
    if cols is not None: return [cols] if isinstance(cols, (str, int)) else list(cols)
    return [c for t in fs if isinstance(t, ColReader) for c in t.cols]


def check_source(dblock, source):
    "Check a DataFrame `source` against the blocks and ColReaders of `dblock`; raise a ValueError naming the problem."
    if dblock.get_items is None and (isinstance(source, (str, bytes)) or hasattr(source, "__fspath__")):
        raise TypeError(f"the data source is a path ({show(str(source))}), not a data frame; read the file first, "
                        + advice("e.g. pd.read_csv(path) or HF_load_dataset('csv', data_files=path, split='train')",
                                 "e.g. read.csv(path) or HF_load_dataset(\"csv\", data_files = path, split = \"train\")"))
    if not isinstance(source, pd.DataFrame): return
    check_not_empty(source)
    for getter, tfms in zip(dblock.getters, dblock.type_tfms):
        # fastai's TextBlock.from_df tokenizes first and reads a column its Tokenizer creates ("text")
        if not isinstance(getter, ColReader) or any(isinstance(t, Tokenizer) for t in tfms): continue
        cols = column_names(getter.cols, source)
        for t in tfms:
            if hasattr(t, "check_source"): t.check_source(source, cols)
            elif isinstance(t, EncodedMultiCategorize): check_one_hot(source, cols, t.vocab)
            elif isinstance(t, MultiCategorize): check_categories(source, cols, t.vocab, getter.label_delim)
            elif isinstance(t, Categorize):
                check_categories(source, cols, t.vocab)
                check_classes(source, cols[0])


def check_splits(splits, n):
    """The indices of a split (training, validation) lie within the `n` items and the training set is not
    empty; an empty validation set is warned about (training then runs without validation loss or metrics)."""
    names = ("training", "validation")
    for name, idx in zip(names, splits):
        idx = np.asarray(list(idx))
        if not idx.size: continue
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"the splitter's {name} set must be row positions (whole numbers), not "
                            f"{show(idx[:3].tolist())}")
        out = idx[(idx < 0) | (idx >= n)]
        if out.size:
            span = advice(f"positions 0 to {n - 1}", f"rows 1 to {n}")
            raise ValueError(f"the splitter puts {rows(out.tolist())} in the {name} set, but the data has "
                             f"{count(n, 'row')} ({span}); " + advice(f"give IndexSplitter positions from 0 to {n - 1}",
                                                    f"give IndexSplitter row numbers from 1 to {n}"))
    sizes = [len(s) for s in splits]
    n_valid = sizes[1] if len(sizes) > 1 else 0
    got = f"{count(sizes[0], 'row')} went to training and {n_valid} to validation, of {count(n, 'row')}"
    if sizes[0] == 0:
        raise ValueError(f"the split leaves the training set empty: {got}; give the splitter a smaller validation "
                         "share (e.g. RandomSplitter(valid_pct=0.2)) or pass more rows")
    if len(sizes) > 1 and sizes[1] == 0:
        warnings.warn(f"the split leaves the validation set empty: {got}. Training runs, but without a validation "
                      "loss or metrics; pass more rows or give the splitter a validation share", InputWarning,
                      stacklevel=2)


def _checked_splitter(splitter):
    def split(items):
        splits = splitter(items)
        check_splits(splits, len(items))
        return splits
    return split


def check_batches(dls):
    "Training draws at least one batch (fastai drops the incomplete last one); else say how many rows and what bs."
    dl = dls.train
    if len(dl) > 0: return
    n = len(dl.dataset)
    if n == 0:
        raise ValueError("the training set is empty (0 rows): there is nothing to train on; build the DataLoaders from "
                         "more rows, or give the splitter a smaller validation share")
    raise ValueError(f"the training set has {count(n, 'row')}, fewer than the batch size bs = {dl.bs}, and training "
                     f"drops incomplete batches: no batch would train. Lower bs to at most {n} ("
                     + advice(f"dblock.dataloaders(df, bs={n})", f"dataloaders(dblock, df, bs = {n})")
                     + ") or pass more rows")


class DataBlock(_FastaiDataBlock):
    """fastai's `DataBlock`; a DataFrame source is checked first (`check_source`) so bad rows fail early
    and clearly, the split is checked (`check_splits`), and so are the batch sizes."""
    def datasets(self, source, verbose=False):
        check_source(self, source)
        splitter = self.splitter
        self.splitter = _checked_splitter(splitter or RandomSplitter())
        try: return super().datasets(source, verbose=verbose)
        finally: self.splitter = splitter

    def dataloaders(self, source, path=".", verbose=False, **kwargs):
        for k in ("bs", "val_bs"):
            if kwargs.get(k) is not None: kwargs[k] = as_int(k, kwargs[k], 1)
        dls = super().dataloaders(source, path=path, verbose=verbose, **kwargs)
        check_batches(dls)
        return dls


def _length(sample):
    return len(sample[0])


def _column_lengths(dataset):
    """Character lengths of all texts at once, when they come straight from a DataFrame column
    through a ColReader (the usual case); None otherwise, and each item is read in turn instead."""
    tl = getattr(dataset, "tls", [None])[0]
    fs = getattr(getattr(tl, "tfms", None), "fs", [])
    if not (isinstance(getattr(tl, "items", None), pd.DataFrame) and fs and isinstance(fs[0], ColReader)
            and len(fs[0].cols) == 1 and fs[0].cols[0] in tl.items.columns): return None
    return tl.items[fs[0].cols[0]].astype(str).str.len().tolist()


class HF_TextDL(SortedDL):
    """Sorted-by-length DataLoader for raw-text items, shown as a table of texts and targets.

    Training (shuffled) batches: texts are sorted by character length in chunks of 50 batches, as
    fastai's `SortedDL` does, and cut into pools of `pool_batches` batches; each pool is tokenized
    in one call, regrouped into batches by exact token count and padded per batch. Pools run in
    random order (the one with the longest text first, so memory limits show at once), and so do
    the batches of a pool. The default pool is the whole chunk of 50 batches, the same grouping as
    the HF Trainer's `group_by_length` (megabatches of 50), with each text still tokenized once;
    `pool_batches=1` gives `SortedDL`'s batches. On 2,000 GoEmotions texts (bs 16), padded tokens
    per text: 24.4 with `pool_batches=1`, 20.3 with 8, 19.4 with 50 (18.8 real). Validation and
    test batches run longest first by characters (`get_preds` puts predictions back in item
    order). Defaults to `num_workers=0`: tokenizing in the main process costs well under a
    millisecond per text.
    """
    def __init__(self, dataset, sort_func=_length, res=None, num_workers=0, pool_batches=50, **kwargs):
        if res is None and sort_func is _length: res = _column_lengths(dataset)
        super().__init__(dataset, sort_func=sort_func, res=res, num_workers=num_workers, **kwargs)
        self.pool_batches = as_int("pool_batches", pool_batches, 1)  # R passes 8 as 8.0

    def new(self, dataset=None, **kwargs):
        kwargs.setdefault("pool_batches", self.pool_batches)
        return super().new(dataset=dataset, **kwargs)

    @property
    def hf_before_batch(self): return hf_tokenizer_of(self)

    def _pool_tfm(self):
        "The HF transform when training batches are formed by pools (see the class doc), else None."
        fs = getattr(self.before_batch, "fs", [])
        if not (self.shuffle and self.pool_batches > 1 and self.bs and not self.prebatched
                and self.fake_l.num_workers == 0 and len(fs) == 1): return None
        tfm = fs[0]
        return tfm if isinstance(tfm, HF_BeforeBatchTransform) and tfm.pads_to_longest else None

    def shuffle_fn(self, idxs):
        # SortedDL.shuffle_fn with pools where it has batches: its order shuffles single batches,
        # which would scatter a pool's texts, so it cannot be reused as it is.
        if self._pool_tfm() is None: return super().shuffle_fn(idxs)
        idxs = np.random.permutation(len(self.dataset))
        first = np.where(idxs == self.idx_max)[0][0]
        idxs[0], idxs[first] = idxs[first], idxs[0]
        chunk = self.bs * 50
        sort_idx = np.concatenate([sorted(idxs[i:i + chunk], key=self.res.__getitem__, reverse=True)
                                   for i in range(0, len(idxs), chunk)])
        size = self.bs * self.pool_batches
        pools = [sort_idx[i:i + size] for i in range(0, len(sort_idx), size)]
        if len(pools) <= 2: return iter(sort_idx)
        # the last pool may be short: it stays last, so `create_batches` finds the same pools again
        middle = [pools[i] for i in np.random.permutation(np.arange(1, len(pools) - 1))]
        return iter(np.concatenate([pools[0], *middle, pools[-1]]))

    def create_batches(self, samps):
        tfm = self._pool_tfm()
        if tfm is None:
            yield from super().create_batches(samps)
            return
        if self.dataset is not None: self.it = iter(self.dataset)
        items = filter(lambda o: o is not None, map(self.do_item, samps))
        for pool in chunked(items, self.bs * self.pool_batches):
            encoded = tfm.encode(s[0] for s in pool)
            by_length = sorted(range(len(pool)), key=lambda i: len(encoded["input_ids"][i]), reverse=True)
            batches = list(chunked(by_length, self.bs, self.drop_last))
            order = [0] + self.rng.sample(range(1, len(batches)), len(batches) - 1) if batches else []
            for rows in (batches[j] for j in order):
                samples = [pool[i] for i in rows]
                yield self.retain(self.create_batch(tfm.pad(encoded, rows, samples)), samples)

    def _decode_targets(self, ys, n):
        "Each target tensor of a batch as a list of n labels (strings, joined for multi-label)."
        cols = []
        for j, y in enumerate(ys):
            tl = self.dataset.tls[self.n_inp + j]
            decoded = [tl.decode(y[i]) for i in range(n)]
            cols.append([";".join(map(str, d)) if isinstance(d, MultiCategory) else
                         (str(d) if isinstance(d, Category) else d.item() if hasattr(d, "item") else d)
                         for d in decoded])
        return cols

    def _table(self, b, max_n, preds=None):
        b = self.decode(b)
        x, ys = b[0], b[self.n_inp:]
        n = min(max_n, len(x["input_ids"]))
        df = pd.DataFrame({"text": self.hf_before_batch.decode_texts(x["input_ids"][:n])})
        names = ["target"] if len(ys) == 1 else [f"target_{j}" for j in range(len(ys))]
        for name, col in zip(names, self._decode_targets(ys, n)): df[name] = col
        if preds is not None:
            preds = preds if isinstance(preds, (tuple, list)) else (preds,)
            for name, col in zip(names, self._decode_targets(preds, n)): df[name.replace("target", "predicted")] = col
        return df

    def show_batch(self, b=None, max_n=9, ctxs=None, show=True, unique=False, **kwargs):
        "A DataFrame of decoded texts and targets; printed (or displayed in a notebook) when `show`."
        df = self._table(self.one_batch() if b is None else b, max_n)
        if not show: return df
        display_df(df)

    def show_results(self, b, out, max_n=9, ctxs=None, show=True, **kwargs):
        "Like `show_batch`, with a `predicted` column from the decoded predictions `out`."
        df = self._table(b, max_n, preds=out)
        if not show: return df
        display_df(df)


