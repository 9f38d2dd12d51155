"""Extractive question answering data (SQuAD-style): question, context, answer text and its offset.

An item is `[question, context]` with the answer's character span `(start, end)` as its target.
Items stay strings until a batch is drawn: `HF_QABeforeBatchTransform` tokenizes the batch's
question/context pairs in one call and splits each long context into overlapping windows of at most
`max_length` tokens (`stride` tokens shared by neighbouring windows), as the Hugging Face recipe
does. Each window is one row of the batch (so a batch holds `bs` questions and at least `bs` rows),
labelled with the answer's first and last token in that window, or with the CLS token when the
answer is not wholly inside it. Its rows also carry what evaluating a whole question needs:
`sample_index` (the question's place in the batch), `word_spans` (the character span of the word
under each context token, -1 elsewhere), the `question`, the `context` and the gold `answer` span. The names are blurr's:

    DataBlock(blocks=[HF_QABlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer, max_length=384, stride=128),
                      HF_AnswerBlock()],
              get_x=ColReader(["question", "context"]), get_y=ColReader(["answer_text", "answer_start"]), ...)

`answer_start` is SQuAD's 0-based character offset of the answer in the context (R too: the data's offsets
are kept as they are); the DataBlock checks that every answer is found there.
"""
import numpy as np
import pandas as pd
import torch
from fastai.data.block import TransformBlock
from fastai.torch_core import TensorBase
from fasttransform import DisplayedTransform, Transform

from ..checks import advice, as_int, check_text_column, rows, show
from ..losses import MultiTargetLoss
from .core import HF_BeforeBatchTransform, HF_TextDL, is_tokenizer

__all__ = ["HF_QuestionAnswerInput", "HF_AnswerSpan", "HF_AnswerTensor", "HF_AnswerBlock", "HF_QABeforeBatchTransform",
           "HF_QABatchTransform", "HF_QABlock", "HF_QADL", "qa_windows", "answer_positions"]


class HF_QuestionAnswerInput(Transform):
    "The input of a QA item: `[question, context]` (strings), read by `ColReader([question_col, context_col])`."
    def encodes(self, o):
        if isinstance(o, str) or len(o) != 2:
            raise ValueError("a question answering item is a question and its context; read both columns with "
                             + advice("ColReader(['question', 'context'])", "ColReader(c(\"question\", \"context\"))"))
        return [str(o[0]), str(o[1])]

    def check_source(self, df, cols):
        if len(cols) != 2:
            raise ValueError(f"HF_QABlock reads two columns, the question and the context; get_x reads {show(list(cols))}. "
                             "Use " + advice("ColReader(['question', 'context'])", "ColReader(c(\"question\", \"context\"))"))
        for c in cols: check_text_column(df, c)


class HF_AnswerTensor(TensorBase):
    "An answer's character span in its context: `[start, end)`, 0-based; `[-1, -1]` when unknown."


class HF_AnswerSpan(DisplayedTransform):
    """The target of a QA item: `(answer_text, answer_start)` to the answer's character span
    `[start, start + len(answer_text))`. Its `loss_func` (the Learner's default) is the mean of the
    cross-entropies of the start and end positions (`MultiTargetLoss`, as transformers' QA models
    compute it)."""
    order = 1
    target_kind = "qa"

    def __init__(self):
        self.loss_func = MultiTargetLoss(weights=(0.5, 0.5))

    def encodes(self, o):
        if isinstance(o, torch.Tensor): return o
        text, start = o[0], int(o[1])
        return HF_AnswerTensor(torch.tensor([start, start + len(str(text))], dtype=torch.long))

    def decodes(self, o: HF_AnswerTensor): return tuple(int(v) for v in o.tolist())

    def check_source(self, df, cols):
        if len(cols) != 2:
            raise ValueError("HF_AnswerBlock reads two columns, the answer text and its character offset; get_y reads "
                             f"{show(list(cols))}. Use " + advice("ColReader(['answer_text', 'answer_start'])",
                                                                  "ColReader(c(\"answer_text\", \"answer_start\"))"))
        check_text_column(df, cols[0])
        starts = df[cols[1]]
        ok = starts.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                        and np.isfinite(v) and float(v) == int(v) and v >= 0).to_numpy()
        if not ok.all():
            raise ValueError(f"answer offset column {show(cols[1])} must hold whole numbers >= 0 (the answer's "
                             f"0-based character offset in its context); {rows(list(df.index[~ok]))} "
                             f"hold {show(starts[~ok].iloc[0])}. Fix or drop those rows")

    def check_with_inputs(self, df, cols, input_cols):
        "Every answer is found in its context at its offset."
        if len(input_cols) != 2: return
        contexts, texts, starts = df[input_cols[1]], df[cols[0]].astype(str), df[cols[1]].astype(int)
        bad = np.array([c[s:s + len(t)] != t for c, t, s in zip(contexts, texts, starts)], dtype=bool)
        if not bad.any(): return
        i = int(np.flatnonzero(bad)[0])
        c, t, s = contexts.iloc[i], texts.iloc[i], int(starts.iloc[i])
        found = c.find(t)
        if c[s - 1:s - 1 + len(t)] == t:
            why = (f"it starts at {s - 1}: the offsets look 1-based, but they count characters from 0 as in "
                   "SQuAD; " + advice(f"subtract 1, e.g. df[{show(cols[1])}] -= 1",
                                      f"subtract 1, e.g. df[[{show(cols[1])}]] <- df[[{show(cols[1])}]] - 1"))
        elif found >= 0:
            why = f"it occurs at offset {found}; fix {show(cols[1])} or drop the row"
        else:
            why = "it does not occur in its context at all; fix the answer or drop the row"
        raise ValueError(f"{int(bad.sum())} answer(s) are not found in their context at their offset "
                         f"({rows(list(df.index[bad]))}); e.g. {show(t)} is not at offset {s} of {rows([df.index[i]])}'s "
                         f"context ({show(cols[1])} counts characters from 0): {why}")


def HF_AnswerBlock():
    "A `TransformBlock` for the answer of a QA item, read as `(answer_text, answer_start)`: see `HF_AnswerSpan`."
    return TransformBlock(type_tfms=HF_AnswerSpan())


def answer_positions(offsets, context_mask, start_char, end_char, cls_index=0):
    """The first and last token of the answer `[start_char, end_char)` in one window: `offsets` are the
    tokens' character spans, `context_mask` marks the context's tokens. `(cls_index, cls_index)` when
    the answer is not wholly inside the window's part of the context."""
    idx = [j for j, m in enumerate(context_mask) if m]
    if not idx or start_char < 0 or offsets[idx[0]][0] > start_char or offsets[idx[-1]][1] < end_char:
        return cls_index, cls_index
    start = max(j for j in idx if offsets[j][0] <= start_char)
    end = min(j for j in idx if offsets[j][1] >= end_char)
    return start, end


def qa_windows(hf_tokenizer, questions, contexts, max_length, stride, padding=True, return_tensors="pt"):
    """Tokenize question/context pairs into windows of at most `max_length` tokens that share `stride`
    tokens (the context is split; questions come first unless the tokenizer pads on the left, as in
    the Hugging Face pipeline). Returns the BatchEncoding with `overflow_to_sample_mapping` and
    `offset_mapping`, and the index of the context in each pair (1, or 0 for left-padding tokenizers)."""
    question_first = hf_tokenizer.padding_side == "right"
    first, second = (questions, contexts) if question_first else (contexts, questions)
    try:
        enc = hf_tokenizer(list(first), list(second), truncation="only_second" if question_first else "only_first",
                           max_length=max_length, stride=stride, return_overflowing_tokens=True,
                           return_offsets_mapping=True, padding=padding, return_tensors=return_tensors)
    except Exception as e:  # the tokenizers library refuses questions that leave no room for the context
        if "too short" in str(e) or "stride" in str(e).lower() or "truncat" in str(e).lower():
            raise ValueError(f"max_length={max_length} and stride={stride} leave no room for the context after a "
                             f"question ({e}); raise max_length, lower stride or shorten the questions") from None
        raise
    return enc, (1 if question_first else 0)


class HF_QABeforeBatchTransform(HF_BeforeBatchTransform):
    """Tokenizes a batch of `[question, context]` items into windows (see `qa_windows`) and labels
    each window with its answer's token positions (`answer_positions`), CLS where it has none.

    Takes `HF_BeforeBatchTransform`'s arguments plus `stride`; `max_length` defaults to the
    tokenizer's limit capped at 384 and `stride` to 128 (at most half of `max_length`), the
    pipeline's defaults."""
    def model_labels(self, yb):
        "The model computes its own loss from the answer's token span (`use_model_loss=True`)."
        return {"start_positions": yb[0], "end_positions": yb[1]}

    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, max_length=None, padding=True,
                 truncation=True, is_split_into_words=False, tok_kwargs=None, stride=None, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        super().__init__(hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length, padding=padding,
                         truncation=truncation, tok_kwargs=tok_kwargs, **kwargs)
        if not getattr(self.hf_tokenizer, "is_fast", False):
            raise TypeError("question answering needs a fast tokenizer (it maps tokens to characters); load the "
                            "tokenizer with use_fast=True")
        if self.max_length is None: self.max_length = min(int(self.hf_tokenizer.model_max_length), 384)
        self.stride = min(self.max_length // 2, 128) if stride is None else as_int("stride", stride, 0)
        if self.stride >= self.max_length:
            raise ValueError(f"stride ({self.stride}) must be smaller than max_length ({self.max_length}): it is the "
                             "number of tokens neighbouring windows share")

    @property
    def cls_token_id(self):
        tok = self.hf_tokenizer
        return tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id

    def windows(self, pairs):
        "The tokenized windows of `[question, context]` pairs and the index of the context in each pair."
        pairs = list(pairs)
        return qa_windows(self.hf_tokenizer, [p[0] for p in pairs], [p[1] for p in pairs], self.max_length,
                          self.stride, padding=self.padding)

    def word_spans(self, enc, i, ctx):
        "For window `i`: the character span of the word under each context token, (-1, -1) elsewhere."
        seq = enc.sequence_ids(i)
        spans = np.full((len(seq), 2), -1, dtype=np.int64)
        for j, s in enumerate(seq):
            if s != ctx: continue
            w = enc.token_to_word(i, j)
            span = enc.word_to_chars(i, w, sequence_index=ctx) if w is not None else None
            spans[j] = (span.start, span.end) if span is not None else enc["offset_mapping"][i][j].tolist()
        return spans

    def cls_index(self, input_ids):
        hits = (input_ids == self.cls_token_id).nonzero()
        return int(hits[0]) if len(hits) else 0

    def encodes(self, samples: list):
        enc, ctx = self.windows(s[0] for s in samples)
        keep = [k for k in enc.keys() if k not in ("offset_mapping", "overflow_to_sample_mapping")]
        out = []
        for i, k in enumerate(enc["overflow_to_sample_mapping"].tolist()):
            s = samples[k]
            context = s[0][1]
            row = {key: enc[key][i] for key in keep}
            spans = self.word_spans(enc, i, ctx)
            row.update(sample_index=torch.tensor(k), word_spans=torch.as_tensor(spans), question=s[0][0], context=context)
            if len(s) > 1:
                a_start, a_end = (int(v) for v in s[1][:2].tolist())
                mask = [q == ctx for q in enc.sequence_ids(i)]
                cls = self.cls_index(enc["input_ids"][i])
                start, end = answer_positions(enc["offset_mapping"][i].tolist(), mask, a_start, a_end, cls)
                row["answer"] = torch.tensor([a_start, a_end])
                out.append((row, TensorBase(torch.tensor(start)), TensorBase(torch.tensor(end)), *s[2:]))
            else:
                row["answer"] = torch.tensor([-1, -1])
                out.append((row,))
        return out

    def decode_span(self, input_ids, start, end):
        "The text of tokens `start..end` of a window (empty for a CLS or reversed span)."
        if end < start or start == self.cls_index(input_ids): return ""
        return self.hf_tokenizer.decode(input_ids[start:end + 1], skip_special_tokens=True).strip()


HF_QABatchTransform = HF_QABeforeBatchTransform  # blurr's earlier name


def _qa_length(sample):
    return len(sample[0][0]) + len(sample[0][1])


class HF_QADL(HF_TextDL):
    """`HF_TextDL` for question/context pairs: sorted by the characters of question and context (no
    token pools, as a pair may become several windows). Shown as one row per window: `question`,
    `context` (the window's part), `answer` (the labelled tokens' text, empty for CLS) and `predicted`."""
    def __init__(self, dataset, sort_func=_qa_length, res=None, **kwargs):
        if res is None and sort_func is _qa_length: res = self._pair_lengths(dataset)
        super().__init__(dataset, sort_func=sort_func, res=res, **kwargs)

    @staticmethod
    def _pair_lengths(dataset):
        tl = getattr(dataset, "tls", [None])[0]
        fs = getattr(getattr(tl, "tfms", None), "fs", [])
        items = getattr(tl, "items", None)
        if not (isinstance(items, pd.DataFrame) and fs and len(getattr(fs[0], "cols", [])) == 2
                and all(c in items.columns for c in fs[0].cols)): return None
        q, c = fs[0].cols
        return (items[q].astype(str).str.len() + items[c].astype(str).str.len()).tolist()

    def _pool_tfm(self): return None

    def _table(self, b, max_n, preds=None):
        x, ys = b[0], b[self.n_inp:]
        tfm = self.hf_before_batch
        n = min(max_n, len(x["input_ids"]))
        ids = x["input_ids"][:n].cpu()
        spans = x["word_spans"][:n].cpu()
        contexts = x["context"][:n]
        rows_ = []
        for i in range(n):
            inside = spans[i][:, 0] >= 0
            lo, hi = (int(spans[i][inside, 0].min()), int(spans[i][inside, 1].max())) if inside.any() else (0, 0)
            row = {"question": x["question"][i], "context": contexts[i][lo:hi]}
            if ys:
                row["answer"] = tfm.decode_span(ids[i], int(ys[0][i]), int(ys[1][i]))
            if preds is not None:
                row["predicted"] = tfm.decode_span(ids[i], int(preds[0][i]), int(preds[1][i]))
            rows_.append(row)
        return pd.DataFrame(rows_)


def HF_QABlock(hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, before_batch_tfm=None, max_length=None,
               stride=None, padding=True, truncation=True, dl_type=None, before_batch_kwargs=None, tok_kwargs=None,
               **kwargs):
    """The input block of extractive QA: `[question, context]` pairs, tokenized per batch into
    overlapping windows (`max_length`, `stride`) with the answer mapped into each window
    (`HF_QABeforeBatchTransform`). Arguments as `HF_TextBlock`'s, plus `stride`; other keyword
    arguments go to the DataLoaders."""
    if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
    if before_batch_tfm is None:
        before_batch_tfm = HF_QABeforeBatchTransform(hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length,
                                                     stride=stride, padding=padding, truncation=truncation,
                                                     tok_kwargs=tok_kwargs, **(before_batch_kwargs or {}))
    return TransformBlock(type_tfms=HF_QuestionAnswerInput(), dl_type=dl_type or HF_QADL,
                          dls_kwargs={"before_batch": before_batch_tfm, **kwargs})
