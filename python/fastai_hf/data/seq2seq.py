"""Sequence-to-sequence data (summarization, translation): source and target texts tokenized per batch.

Items stay raw string pairs `(source, target)` until a batch is drawn, as for classification (see
`core`). `HF_Seq2SeqBeforeBatchTransform` then tokenizes the sources (padded to the batch's longest)
and the targets in the tokenizer's target mode (`text_target=`, padded to the batch's longest target),
sets the targets' padding to -100 so that the loss ignores it, and builds the decoder inputs the way
the model itself does from labels (`prepare_decoder_input_ids_from_labels`: shifted right behind the
model's `decoder_start_token_id`). A batch is `(x, labels)` with `x` holding `input_ids`,
`attention_mask` and `decoder_input_ids`, so fastai's own loss (`CrossEntropyLossFlat`, which ignores
-100) and the model's own loss (`HF_BaseModelCallback(use_model_loss=True)`) see the same targets.

    dblock = DataBlock(blocks=[HF_Seq2SeqBlock(hf_arch, hf_config, hf_tokenizer, hf_model, max_length=256,
                                               max_target_length=64), HF_Seq2SeqTargetBlock()],
                       get_x=ColReader("text"), get_y=ColReader("summary"), splitter=RandomSplitter())

blurr wrote the target block as `noop`; that works too, without the up-front check of the target column.

Targets longer than `max_target_length` tokens are truncated (the model then learns the cut summary),
and the transform warns once (with an example), so the cut is never silent. Sources longer than
`max_length` are truncated as for classification. `HF_TargetTextDL` shows batches as text: the source,
the target and, in `show_results`, the model's next-token predictions at the target positions (given
the true previous tokens; `hf_generate` generates freely).
"""
import math
import warnings

import pandas as pd
import torch
from fastai.data.block import TransformBlock
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import display_df
from fasttransform import Transform

from .. import checks
from ..checks import advice, as_int, check_text_column, show
from .core import HF_BeforeBatchTransform, HF_TextDL, HF_TextInput, is_tokenizer

__all__ = ["HF_Seq2SeqBeforeBatchTransform", "HF_Seq2SeqBlock", "HF_Seq2SeqTarget", "HF_Seq2SeqTargetBlock",
           "HF_TargetTextDL", "HF_Text2TextBlock", "IGNORE_INDEX", "decoder_start_id"]

IGNORE_INDEX = -100  # what transformers' and fastai's cross-entropy losses skip
# A warning about the user's data: checks.InputWarning where it exists (the R package shows those as R
# warnings), else a plain UserWarning (its base class).
_DataWarning = getattr(checks, "InputWarning", UserWarning)


def _missing(o):
    return o is None or (isinstance(o, float) and math.isnan(o))


def decoder_start_id(hf_model=None, hf_config=None, hf_tokenizer=None):
    """The token a seq2seq model's decoder starts from: its generation config's or config's
    `decoder_start_token_id` (T5: pad, BART: eos, bert2bert: [CLS]), else the tokenizer's bos / cls."""
    for src in (getattr(hf_model, "generation_config", None), getattr(hf_model, "config", None), hf_config):
        v = getattr(src, "decoder_start_token_id", None)
        if v is not None: return int(v)
    for name in ("bos_token_id", "cls_token_id"):
        v = getattr(hf_tokenizer, name, None)
        if v is not None: return int(v)
    return None


class HF_Seq2SeqTarget(Transform):
    "Type transform of a seq2seq target: checks that it is a non-empty string (it is tokenized per batch)."
    loss_func = CrossEntropyLossFlat()  # fastai's default loss for this data: token cross-entropy, -100 ignored

    def encodes(self, o):
        if isinstance(o, str) and o.strip(): return o
        raise ValueError(_bad_target_message(o))

    def check_source(self, df, cols):
        for c in cols: check_text_column(df, c)


def _shorten(text, n=60):
    return text if len(text) <= n else text[:n] + "..."


def _bad_target_message(o):
    what = "missing (NA)" if _missing(o) else "empty" if isinstance(o, str) else f"not a string ({show(o)})"
    return (f"a target text is {what}; every target must be a non-empty string (a model cannot learn to generate "
            "nothing). Drop those rows before building the DataLoaders, "
            + advice("e.g. df = df[df['summary'].fillna('').str.strip() != '']",
                     "e.g. df <- df[!is.na(df$summary) & nzchar(trimws(df$summary)), ]"))


def HF_Seq2SeqTargetBlock():
    "The target block of seq2seq data: raw target texts, checked up front, tokenized per batch by the input block."
    return TransformBlock(type_tfms=HF_Seq2SeqTarget())


class HF_Seq2SeqBeforeBatchTransform(HF_BeforeBatchTransform):
    """Tokenizes a batch of `(source, target)` pairs: sources padded to the batch's longest, targets
    tokenized with `text_target=` and padded to the batch's longest target with -100, decoder inputs
    built from the labels as the model does. Returns samples `(x, labels)`.

    Arguments as `HF_BeforeBatchTransform`, plus `max_target_length` (default: `max_length`, else the
    tokenizer's limit). `hf_model` gives the decoder-input recipe (`prepare_decoder_input_ids_from_labels`);
    without it the labels are shifted right behind `decoder_start_token_id` (from `hf_config`).
    A target that begins with the decoder's start token (BERT's [CLS] in a bert2bert model) drops it:
    the decoder is fed that token anyway, and predicting it again would waste a step.
    """
    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, max_length=None,
                 max_target_length=None, padding=True, truncation=True, tok_kwargs=None, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        super().__init__(hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length, padding=padding,
                         truncation=truncation, tok_kwargs=tok_kwargs, **kwargs)
        self.max_target_length = self.max_length if max_target_length is None else \
            as_int("max_target_length", max_target_length, 1)
        self.start_id = decoder_start_id(hf_model, hf_config, self.hf_tokenizer)
        self._warned = False

    # -- targets ---------------------------------------------------------------------------------------
    def _target_limit(self):
        if self.max_target_length is not None: return self.max_target_length
        limit = getattr(self.hf_tokenizer, "model_max_length", None)
        return limit if isinstance(limit, int) and limit < 100_000 else None

    def tokenize_targets(self, targets):
        """Label ids of each target (lists, not padded), truncated to `max_target_length`, warning once
        when some were longer."""
        targets = list(targets)
        bad = next((t for t in targets if not (isinstance(t, str) and t.strip())), "ok")
        if bad != "ok": raise ValueError(_bad_target_message(bad))
        limit = self._target_limit()
        kw = {k: v for k, v in self.tok_kwargs.items() if k not in ("is_split_into_words", "pad_to_multiple_of")}
        if limit is None:
            ids = self.hf_tokenizer(text_target=targets, truncation=False, **kw)["input_ids"]
        else:
            # one token over the limit marks a target that was longer; only those are tokenized again
            ids = self.hf_tokenizer(text_target=targets, truncation=True, max_length=limit + 1, **kw)["input_ids"]
            long = [i for i, t in enumerate(ids) if len(t) > limit]
            if long:
                cut = self.hf_tokenizer(text_target=[targets[i] for i in long], truncation=True, max_length=limit,
                                        **kw)["input_ids"]
                for i, t in zip(long, cut): ids[i] = t
                if not self._warned:  # once per transform: every later batch would say the same
                    self._warned = True
                    warnings.warn(f"target texts longer than max_target_length={limit} tokens are truncated, e.g. "
                                  f"{show(_shorten(targets[long[0]]))}; the model learns the cut targets. Raise "
                                  "max_target_length to keep them whole", _DataWarning, stacklevel=2)
        if self.start_id is not None:
            ids = [t[1:] if len(t) > 1 and t[0] == self.start_id else t for t in ids]
        return ids

    def pad_labels(self, ids):
        "Label ids padded to the longest with -100, as a tensor (rows, longest)."
        multiple = self.tok_kwargs.get("pad_to_multiple_of")
        n = max(len(t) for t in ids)
        if multiple: n = -(-n // multiple) * multiple
        out = torch.full((len(ids), n), IGNORE_INDEX, dtype=torch.long)
        for i, t in enumerate(ids): out[i, :len(t)] = torch.as_tensor(t, dtype=torch.long)
        return out

    def decoder_inputs(self, labels):
        "The decoder's input ids for `labels`: the model's own recipe, else shifted right behind the start token."
        prepare = getattr(self.hf_model, "prepare_decoder_input_ids_from_labels", None)
        if prepare is not None: return prepare(labels=labels)
        if self.start_id is None:
            raise ValueError("cannot build decoder inputs: the model config has no decoder_start_token_id; pass hf_model "
                             "to the block or set hf_config.decoder_start_token_id")
        pad = self.hf_tokenizer.pad_token_id if self.hf_tokenizer.pad_token_id is not None else 0
        out = labels.new_full(labels.shape, pad)
        out[:, 1:] = labels[:, :-1]
        out[:, 0] = self.start_id
        return out.masked_fill(out == IGNORE_INDEX, pad)

    def as_pairs(self, enc, samples):
        "Samples `(x, labels)` from tokenized sources `enc` and the samples' raw targets."
        labels = self.pad_labels(self.tokenize_targets(s[1] for s in samples))
        enc = dict(enc)
        enc["decoder_input_ids"] = self.decoder_inputs(labels)
        return [(x, y) for (x,), y in zip(self.as_samples(enc, [()] * len(samples)), labels)]

    # -- the batch -------------------------------------------------------------------------------------
    def encodes(self, samples: list):
        if samples and len(samples[0]) < 2: return super().encodes(samples)  # sources alone: predicting
        return self.as_pairs(self.tokenize(s[0] for s in samples), samples)

    def pad(self, encoded, rows, samples):
        if samples and len(samples[0]) < 2: return super().pad(encoded, rows, samples)
        return self.as_pairs(self.pad_rows(encoded, rows), samples)

    def decode_labels(self, labels):
        "Texts of label ids (-100 and special tokens dropped)."
        ids = labels.masked_fill(labels == IGNORE_INDEX, self.hf_tokenizer.pad_token_id or 0)
        return self.decode_texts(ids)


class HF_TargetTextDL(HF_TextDL):
    """`HF_TextDL` for data whose targets are token ids (seq2seq labels, language-model labels): the
    tables of `show_batch` / `show_results` show them as text (see the module doc)."""
    def _table(self, b, max_n, preds=None):
        tfm = self.hf_before_batch
        x, y = b[0], b[1] if len(b) > 1 else None
        n = min(max_n, len(x["input_ids"]))
        df = pd.DataFrame({"text": tfm.decode_texts(x["input_ids"][:n])})
        if y is not None: df["target"] = tfm.decode_labels(y[:n])
        if preds is not None and y is not None:
            p = preds[0] if isinstance(preds, (tuple, list)) else preds
            p = p[:n].masked_fill(y[:n] == IGNORE_INDEX, IGNORE_INDEX)
            df["predicted"] = tfm.decode_labels(p)
        return df

    def show_batch(self, b=None, max_n=9, ctxs=None, show=True, unique=False, **kwargs):
        df = self._table(self.one_batch() if b is None else b, max_n)
        if not show: return df
        display_df(df)

    def show_results(self, b, out, max_n=9, ctxs=None, show=True, **kwargs):
        df = self._table(b, max_n, preds=out)
        if not show: return df
        display_df(df)


class HF_Seq2SeqBlock(TransformBlock):
    """The input block of seq2seq data: raw source texts, tokenized per batch with their targets by
    `HF_Seq2SeqBeforeBatchTransform`. Pair it with `HF_Seq2SeqTargetBlock()` (or blurr's `noop`).

    Takes blurr's arguments, by keyword or position: `(hf_arch, hf_config, hf_tokenizer, hf_model)`;
    pass `hf_model` so the decoder inputs follow the model's recipe. `max_length` truncates sources,
    `max_target_length` targets (with a warning). Other keyword arguments go to the DataLoaders.
    """
    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, before_batch_tfm=None,
                 max_length=None, max_target_length=None, padding=True, truncation=True, dl_type=None,
                 before_batch_kwargs=None, tok_kwargs=None, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        if before_batch_tfm is None:
            before_batch_tfm = HF_Seq2SeqBeforeBatchTransform(
                hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length,
                max_target_length=max_target_length, padding=padding, truncation=truncation, tok_kwargs=tok_kwargs,
                **(before_batch_kwargs or {}))
        super().__init__(type_tfms=HF_TextInput(), dl_type=dl_type or HF_TargetTextDL,
                         dls_kwargs={"before_batch": before_batch_tfm, **kwargs})


HF_Text2TextBlock = HF_Seq2SeqBlock  # the name the first R package exported
