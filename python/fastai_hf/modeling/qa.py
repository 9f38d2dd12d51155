"""Extractive question answering: the loss, SQuAD's metrics, the answer decoder and `predict_qa`.

The model gives a start and an end logit per token of every window (`prediction_of`: the tuple
`(start_logits, end_logits)`); `MultiTargetLoss` (blurr's) adds a cross-entropy per target, and the
QA target's default is their mean, the loss transformers' QA models compute.

One decoder turns windows into the answer of a question, for the metrics, for `predict_qa` and so for
the R package: `best_answer` follows transformers' question-answering pipeline (the one of
transformers 4; transformers 5 removed the pipeline): per window, the start and end logits of
tokens outside the context are masked, each is softmaxed, a span's score is P(start) * P(end) over
spans of at most `max_answer_length` tokens, spans are widened to whole words, equal answers from
several windows add their scores, and the best answer wins. The CLS token ("no answer") never does,
so a question with a non-empty context always gets a non-empty answer.

`squad_exact_match` and `squad_f1` are the official SQuAD v1.1 evaluation (answer normalisation:
lower case, no punctuation, no articles, single spaces; F1 over word tokens; the best over the gold
answers), reimplemented here without the `evaluate` library: 0-100, as that script reports them.

Export (task "question_answering"): `hf_save_pretrained(learn, dir)` saves the windows (`max_length`,
`stride`), the decoding settings (`max_answer_length`), the question/context and answer columns; the
loss (`MultiTargetLoss`) and the SQuAD metrics come back with `hf_load_learner(dir)`, whose
`predict_qa` answers as the saved learner did.
"""
import collections
import inspect
import re
import string

import numpy as np
import pandas as pd
import torch
from fastai.data.load import fa_collate
from fastai.data.transforms import ColReader
from fastai.learner import Metric
from fastai.torch_core import to_device
from transformers import AutoModelForQuestionAnswering

from ..checks import advice, as_int, rows, show
from ..data.core import hf_tokenizer_of, text_columns
from ..data.qa import HF_AnswerBlock, HF_QABeforeBatchTransform, HF_QABlock
from ..export import (before_batch_from, build_learner, check_rebuild_dls, load_hf_model, load_hf_tokenizer,
                      reader_columns, rebuilt_dls, register_export, register_metric)
from ..losses import MultiTargetLoss  # noqa: F401  (blurr's name, importable from here too)
from ..predict import register_predictor
from .core import HF_BaseModelCallback, prediction_of

__all__ = ["MultiTargetLoss", "HF_QstAndAnsModelCallback", "normalize_answer", "squad_exact_match", "squad_f1",
           "best_answer", "SquadExactMatch", "SquadF1", "squad_metrics", "predict_qa", "qa_pairs"]


class HF_QstAndAnsModelCallback(HF_BaseModelCallback):
    """blurr's QA callback: `HF_BaseModelCallback`, which hands fastai `(start_logits, end_logits)` and,
    with `use_model_loss=True`, passes the targets as `start_positions` / `end_positions`."""


# ------------------------------------------------------------------------------------- metrics
def normalize_answer(s):
    "SQuAD's normalisation: lower case, punctuation and articles (a, an, the) removed, whitespace collapsed."
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _truths(truth): return [truth] if isinstance(truth, str) else list(truth)


def squad_exact_match(prediction, truth):
    "1.0 when the normalised prediction equals a normalised gold answer (`truth`: one or several), else 0.0."
    return float(max(normalize_answer(prediction) == normalize_answer(t) for t in _truths(truth)))


def squad_f1(prediction, truth):
    "SQuAD's F1 over the words of the normalised prediction and gold answer; the best over several gold answers."
    def f1(pred, gold):
        p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
        same = sum((collections.Counter(p) & collections.Counter(g)).values())
        if same == 0: return 0.0
        precision, recall = same / len(p), same / len(g)
        return 2 * precision * recall / (precision + recall)
    return max(f1(prediction, t) for t in _truths(truth))


# ------------------------------------------------------------------------------------- decoding
def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def best_answer(start_logits, end_logits, allowed, word_spans, context, max_answer_length=30, top=12):
    """The best answer to one question from its windows (see the module doc). `start_logits`,
    `end_logits`, `allowed` (tokens that may hold the answer: context and CLS, not padding) and
    `word_spans` (the character span of each context token's word, -1 elsewhere) have one row per
    window. Returns `(answer, score, start, end)`: `context[start:end] == answer`."""
    found = {}  # lower-cased answer -> [score, start, end, answer]
    for s_log, e_log, ok, spans in zip(start_logits, end_logits, allowed, word_spans):
        s_log, e_log = np.asarray(s_log, dtype=np.float32), np.asarray(e_log, dtype=np.float32)
        ok = np.asarray(ok, dtype=bool)
        start = _softmax(np.where(ok, s_log, np.float32(-10000.0)))
        end = _softmax(np.where(ok, e_log, np.float32(-10000.0)))
        start[0] = end[0] = 0.0  # never the first token (CLS: "no answer")
        scores = np.tril(np.triu(np.outer(start, end)), max_answer_length - 1).ravel()
        k = min(top, scores.size)
        idx = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        idx = idx[np.argsort(-scores[idx])]
        s_idx, e_idx = np.unravel_index(idx, (len(start), len(end)))
        for s, e, score in zip(s_idx, e_idx, scores[idx]):
            if not (ok[s] and ok[e]) or spans[s][0] < 0 or spans[e][0] < 0: continue
            a, b = int(spans[s][0]), int(spans[e][1])
            text = context[a:b]
            if not text.strip(): continue
            key = text.lower()
            if key in found: found[key][0] += float(score)
            else: found[key] = [float(score), a, b, text]
    if not found: return _fallback(start_logits, allowed, word_spans, context)  # no span scored at all
    score, a, b, text = max(found.values(), key=lambda v: v[0])
    return text, score, a, b


def _fallback(start_logits, allowed, word_spans, context):
    "The context word with the highest start logit (never empty while the context has text)."
    best = None
    for s, ok, spans in zip(start_logits, allowed, word_spans):
        spans = np.asarray(spans)
        valid = np.asarray(ok, dtype=bool) & (spans[:, 0] >= 0) & (spans[:, 1] > spans[:, 0])
        if not valid.any(): continue
        j = int(np.argmax(np.where(valid, np.asarray(s, dtype=np.float64), -np.inf)))
        if best is None or s[j] > best[0]: best = (float(s[j]), int(spans[j][0]), int(spans[j][1]))
    if best is None:  # no context token in any window: the first word of the context
        m = re.search(r"\S+", context)
        return (m.group(0), 0.0, m.start(), m.end()) if m else ("", 0.0, 0, 0)
    return context[best[1]:best[2]], 0.0, best[1], best[2]


def _allowed(x, cls_token_id):
    "Tokens that may hold an answer: the context's (word_spans >= 0) and CLS, where not padding."
    ok = x["word_spans"][..., 0] >= 0
    if cls_token_id is not None: ok = ok | (x["input_ids"] == cls_token_id)
    if "attention_mask" in x: ok = ok & x["attention_mask"].bool()
    return ok


def _decode_batch(x, start_logits, end_logits, cls_token_id, max_answer_length):
    "The best answer of each question in a batch of windows: a list of (answer, score, start, end), batch order."
    groups = x["sample_index"].cpu().numpy()
    ok = _allowed(x, cls_token_id).cpu().numpy()
    spans = x["word_spans"].cpu().numpy()
    s_log, e_log = start_logits.detach().float().cpu().numpy(), end_logits.detach().float().cpu().numpy()
    out = []
    for k in np.unique(groups):  # windows of a question are adjacent, questions in batch order
        w = np.flatnonzero(groups == k)
        out.append(best_answer(s_log[w], e_log[w], ok[w], spans[w], x["context"][w[0]], max_answer_length))
    return out


def _gold(x):
    "The gold answer text of each question of a batch of windows."
    groups = x["sample_index"].cpu().numpy()
    firsts = [int(np.flatnonzero(groups == k)[0]) for k in np.unique(groups)]
    return [x["context"][i][int(x["answer"][i][0]):int(x["answer"][i][1])] for i in firsts]


class _SquadMetric(Metric):
    "SQuAD EM or F1 of whole questions in the validation batches (the best span over a question's windows)."
    score, label = None, None

    def __init__(self, max_answer_length=30):
        self.max_answer_length = as_int("max_answer_length", max_answer_length, 1)
        self.reset()

    def reset(self): self.total, self.count = 0.0, 0

    def accumulate(self, learn):
        x = learn.xb[0]
        tfm = hf_tokenizer_of(learn.dls)
        cached = getattr(learn, "_qa_answers", None)
        if cached is not None and cached[0] is learn.pred: answers = cached[1]
        else:
            answers = _decode_batch(x, learn.pred[0], learn.pred[1], tfm.cls_token_id, self.max_answer_length)
            learn._qa_answers = (learn.pred, answers)
        for (pred, *_), gold in zip(answers, _gold(x)):
            self.total += type(self).score(pred, gold)
            self.count += 1

    @property
    def value(self): return 100.0 * self.total / self.count if self.count else None

    @property
    def name(self): return self.label


class SquadExactMatch(_SquadMetric):
    "SQuAD's exact match (0-100) over whole questions, as a fastai metric."
    score, label = staticmethod(squad_exact_match), "exact_match"


class SquadF1(_SquadMetric):
    "SQuAD's F1 (0-100) over whole questions, as a fastai metric."
    score, label = staticmethod(squad_f1), "squad_f1"


# ------------------------------------------------------------------------------------- predict
def _qa_tfm(learn):
    tfm = hf_tokenizer_of(learn.dls)
    if not isinstance(tfm, HF_QABeforeBatchTransform):
        raise TypeError("this learner was not trained for question answering (its data has no HF_QABlock)")
    return tfm


def qa_pairs(learn, data=None, question=None, context=None):
    """Questions and contexts as two checked lists of strings, from `data` (a DataFrame with the columns
    the learner reads, or `question`/`context` columns; a dict; one `(question, context)` pair or a
    list of them) or from `question` and `context` (a string or a list each)."""
    if data is not None and (question is not None or context is not None):
        raise ValueError("give either data or question and context, not both")
    if data is None:
        if question is None or context is None:
            raise ValueError("give the questions and their contexts: " + advice(
                "predict_qa(learn, question=..., context=...) or a DataFrame with question and context columns",
                "a data frame with question and context columns, or question = and context ="))
        question = [question] if isinstance(question, str) else list(question)
        context = [context] if isinstance(context, str) else list(context)
    elif isinstance(data, pd.DataFrame):
        cols = [c for c in text_columns(learn.dls) if c in data.columns]
        q_col, c_col = cols if len(cols) == 2 else ("question", "context")
        if q_col not in data.columns or c_col not in data.columns:
            raise ValueError(f"the data frame needs a question and a context column ({show([q_col, c_col])}); its "
                             f"columns are {show(list(data.columns))}")
        question, context = data[q_col].tolist(), data[c_col].tolist()
    elif isinstance(data, dict):
        question, context = data.get("question"), data.get("context")
        return qa_pairs(learn, question=question, context=context)
    elif isinstance(data, (list, tuple)) and len(data) == 2 and all(isinstance(v, str) for v in data):
        question, context = [data[0]], [data[1]]
    elif isinstance(data, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in data):
        question, context = [p[0] for p in data], [p[1] for p in data]
    else:
        raise TypeError("data must be a DataFrame with question and context columns, a (question, context) pair or "
                        f"a list of pairs, not {type(data).__name__}")
    if len(question) != len(context):
        raise ValueError(f"got {len(question)} questions but {len(context)} contexts; give one context per question")
    if not question: raise ValueError("no questions given: pass at least one question and its context")
    for name, vals in (("question", question), ("context", context)):
        bad = [i for i, v in enumerate(vals) if not isinstance(v, str) or not v.strip()]
        if bad:
            v = vals[bad[0]]
            what = "missing (NA)" if v is None or (isinstance(v, float) and np.isnan(v)) else show(v)
            raise ValueError(f"{len(bad)} {name}(s) are missing, empty or not strings ({rows(bad)}; e.g. {what}); "
                             f"every {name} must be non-empty text: drop or fill those rows")
    return question, context


@torch.no_grad()
def _answers(learn, questions, contexts, bs, max_answer_length):
    tfm = _qa_tfm(learn)
    model = learn.model
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    try:
        for i in range(0, len(questions), bs):
            samples = [([q, c],) for q, c in zip(questions[i:i + bs], contexts[i:i + bs])]
            x = to_device(fa_collate([s[0] for s in tfm.encodes(samples)]), device)
            start, end = prediction_of(model(x))
            out += _decode_batch(x, start, end, tfm.cls_token_id, max_answer_length)
    finally:
        model.train(was_training)
    return out


def predict_qa(learn, data=None, question=None, context=None, bs=None, max_answer_length=30):
    """Answer questions with a QA learner: a DataFrame with one row per question, in the order given:
    `answer` (text of the context, never empty), `score` (P(start) * P(end), summed over windows that
    found the same answer), `start` and `end` (0-based character offsets: `context[start:end] == answer`).

    `data`: a DataFrame with the question and context columns, a `(question, context)` pair or a list
    of pairs; or pass `question=` and `context=`. Long contexts are split into the learner's windows
    (`max_length`, `stride`); `max_answer_length` caps answers in tokens (the pipeline's 15 is stricter)."""
    questions, contexts = qa_pairs(learn, data, question, context)
    bs = learn.dls.valid.bs if bs is None else as_int("bs", bs, 1)
    answers = _answers(learn, questions, contexts, bs, as_int("max_answer_length", max_answer_length, 1))
    return pd.DataFrame({"answer": [a[0] for a in answers], "score": np.array([a[1] for a in answers], dtype=float),
                         "start": np.array([a[2] for a in answers], dtype=np.int64),
                         "end": np.array([a[3] for a in answers], dtype=np.int64)})


def squad_metrics(learn, data=None, answer_col=None, bs=None, max_answer_length=30):
    """SQuAD exact match and F1 (0-100) of whole questions, the best span over their windows: on `data`
    (a DataFrame with question, context and answer text columns) or, by default, the validation rows.
    Returns a dict: `exact_match`, `f1`, `n` (questions)."""
    if data is None:
        data = learn.dls.valid.items
        if not isinstance(data, pd.DataFrame):
            raise ValueError("the validation set is not a DataFrame; pass data= with question, context and answer columns")
    if answer_col is None:
        tl = learn.dls.valid_ds.tls[-1]
        cols = [c for t in tl.tfms.fs for c in getattr(t, "cols", [])]
        answer_col = cols[0] if cols and cols[0] in data.columns else "answer_text"
    if answer_col not in data.columns:
        raise ValueError(f"the data has no answer column {show(answer_col)}; its columns are {show(list(data.columns))}. "
                         "Name it with answer_col=")
    pred = predict_qa(learn, data, bs=bs, max_answer_length=max_answer_length)
    golds = data[answer_col].tolist()
    em = [squad_exact_match(p, g) for p, g in zip(pred["answer"], golds)]
    f1 = [squad_f1(p, g) for p, g in zip(pred["answer"], golds)]
    return {"exact_match": 100.0 * float(np.mean(em)), "f1": 100.0 * float(np.mean(f1)), "n": len(golds)}


def _predictor(learn, data, bs=None, **kwargs):
    return {"answers": predict_qa(learn, data, bs=bs, **kwargs)}


def _is_qa_learner(learn):
    return hasattr(learn, "dls") and isinstance(hf_tokenizer_of(learn.dls), HF_QABeforeBatchTransform)


register_predictor("qa", _is_qa_learner, _predictor)


# --------------------------------------------------------------------------------------- export
for _cls in (SquadExactMatch, SquadF1):
    register_metric(_cls, lambda m: {"max_answer_length": m.max_answer_length})

_MAX_ANSWER_LENGTH = inspect.signature(predict_qa).parameters["max_answer_length"].default


def _describe_qa(learn):
    "What `predict_qa` and further training need beyond the generic tokenizer settings (export's task_settings)."
    tfm = _qa_tfm(learn)
    x_cols, y_cols = reader_columns(learn.dls, 0), reader_columns(learn.dls, -1)
    metric_lengths = sorted({m.max_answer_length for m in learn.metrics if isinstance(m, _SquadMetric)})
    return {"max_length": int(tfm.max_length), "stride": int(tfm.stride),
            "question_first": tfm.hf_tokenizer.padding_side == "right",
            "max_answer_length": _MAX_ANSWER_LENGTH, "metrics_max_answer_length": metric_lengths or None,
            "decoding": "P(start) * P(end) over context spans, summed over windows; never CLS",
            "question_column": x_cols[0] if x_cols else None, "context_column": x_cols[1] if x_cols else None,
            "answer_text_column": y_cols[0] if y_cols else None, "answer_start_column": y_cols[1] if y_cols else None}


def _rebuild_qa(folder, spec, df=None, dls=None, valid_pct=0.2, valid_col=None, seed=None, bs=None, **learner_kwargs):
    inputs, ts = spec["inputs"], spec["task_settings"]
    hf_model = load_hf_model(folder, spec, AutoModelForQuestionAnswering)
    if dls is not None:
        check_rebuild_dls(dls, HF_QABeforeBatchTransform, "question answering data (built with an HF_QABlock)")
        return build_learner(dls, hf_model, spec["learner"], **learner_kwargs)
    cols = [ts.get(k) for k in ("question_column", "context_column", "answer_text_column", "answer_start_column")]
    if df is not None and None in cols:
        raise ValueError("the saved learner read its questions, contexts or answers with a function, not from named "
                         "columns, so the folder cannot say how to read df; build DataLoaders and pass them as dls")
    q, c, a, s = [v or d for v, d in zip(cols, ("question", "context", "answer_text", "answer_start"))]
    tfm = before_batch_from(inputs["tokenizer"], load_hf_tokenizer(folder), cls=HF_QABeforeBatchTransform,
                            stride=ts["stride"])
    tfm.max_length = ts["max_length"]
    placeholder = pd.DataFrame({q: ["placeholder"], c: ["placeholder context"], a: ["placeholder"], s: [0]})
    sizes = {"bs": bs or inputs.get("bs") or 16, "val_bs": inputs.get("val_bs") if bs is None else bs}
    dls = rebuilt_dls([HF_QABlock(before_batch_tfm=tfm), HF_AnswerBlock()], ColReader([q, c]), ColReader([a, s]),
                      placeholder, df=df, valid_pct=valid_pct, valid_col=valid_col, seed=seed,
                      what=f"questions, contexts and answers ({show([q, c, a, s])})", **sizes)
    return build_learner(dls, hf_model, spec["learner"], **learner_kwargs)


def _qa_card(spec, name):
    ts = spec["task_settings"]
    n, stride, mal = ts["max_length"], ts["stride"], ts["max_answer_length"]
    out = ["## Task", "",
           "Extractive question answering: the answer is a span of the context. Long contexts are read in "
           f"overlapping windows of {n} tokens ({stride} tokens shared by neighbouring windows); a span's score is "
           "P(start) * P(end), summed over the windows that found the same answer, and the best span of at most "
           f"{mal} tokens wins (never the CLS token: a non-empty context always gets an answer).", "",
           "## How to use", "",
           "**fastai_hf** (Python): the learner back, without unpickling anything:", "", "```python",
           "from fastai_hf import hf_load_learner, predict_qa", f'learn = hf_load_learner("{name}")',
           'predict_qa(learn, question="Who wrote it?", context="The book was written by Ann Lee.")  # answer, score, start, end',
           "```", "", "**fastai** (R):", "", "```r", "library(fastai)", f'learn <- hf_load_learner("{name}")',
           'predict_qa(learn, question = "Who wrote it?", context = "The book was written by Ann Lee.")', "```", "",
           "**transformers** alone (the question-answering pipeline of transformers 4; transformers 5 removed it, "
           "use `AutoModelForQuestionAnswering` there):", "", "```python", "from transformers import pipeline", "",
           f'qa = pipeline("question-answering", model="{name}")',
           f'qa(question="Who wrote it?", context="The book was written by Ann Lee.", max_seq_len={n}, doc_stride={stride}, '
           f"max_answer_len={mal})", "```", "",
           "Predict-time settings (in `fastai_hf.json`, applied by `hf_load_learner`):", "",
           "| setting | value |", "|---|---|",
           f"| question / context columns | {ts.get('question_column')} / {ts.get('context_column')} |",
           f"| answer columns (training) | {ts.get('answer_text_column')} / {ts.get('answer_start_column')} (0-based character offset) |",
           f"| max_length (window) | {n} |", f"| stride (doc_stride) | {stride} |",
           f"| max_answer_length | {mal} tokens |"]
    return "\n".join(out)


register_export("question_answering", _is_qa_learner, _describe_qa, _rebuild_qa, pipeline_tag="question-answering",
                card=_qa_card)
