"""Token classification: entity metrics (seqeval's definitions), their tables, and `predict_tokens`.

The model gives one logit vector per token; fastai's `CrossEntropyLossFlat(ignore_index=-100)` (the
default the tag block hands the Learner) scores the first piece of every word and skips the rest.
Metrics read the same positions, so they judge words: one predicted tag per word (its first piece).

- fastai metrics: `TokenAccuracy` (share of words tagged right, `O` included: seqeval's
  `accuracy_score`), `EntityPrecision`, `EntityRecall` and `EntityF1` (entities found whole with the
  right type: seqeval's default, conlleval-compatible mode; micro average, or one `entity_type`).
  `entity_metrics()` gives the four. During training they see the words inside `max_length`.
- tables: `token_metrics(learn, data)` (the four numbers) and `entity_report(learn, data)` (per entity
  type and averaged), over every word, on the validation rows or a DataFrame.
- `predict_tokens(learn, inputs)`: raw texts (split into words by the tokenizer itself, the way the
  Hugging Face pipeline sees them) or pre-split word lists; one row per word with its tag and
  probability, and the entities (type, text, character span, score). Long inputs are split into
  overlapping windows, each word taking its tag from the window where it has the most context.
- export: `hf_save_pretrained(learn, dir)` saves the tags (also the config's `id2label`), the word
  and tag columns, the tokenizer settings (`add_prefix_space` too) and the alignment (first piece,
  `ignore_token_id`); `hf_load_learner(dir)` rebuilds a learner whose `predict_tokens` gives the same
  tables, and the folder is a `transformers.pipeline("token-classification")` model (task "token_classification").
"""
import numpy as np
import pandas as pd
import torch
from fastai.data.transforms import ColReader
from fastai.learner import Metric
from seqeval.metrics import accuracy_score, classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities
from transformers import AutoModelForTokenClassification

from ..checks import as_int, rows, show
from ..data.core import hf_tokenizer_of, text_columns
from ..data.tokens import (IGNORE, HF_TokenCategoryBlock, HF_TokenClassBeforeBatchTransform, HF_TokenClassBlock,
                           check_word_lists)
from ..export import (before_batch_from, build_learner, check_rebuild_dls, load_hf_model, load_hf_tokenizer,
                      reader_columns, rebuilt_dls, register_export, register_metric)
from ..predict import register_predictor
from .core import prediction_of

__all__ = ["TokenAccuracy", "EntityPrecision", "EntityRecall", "EntityF1", "entity_metrics", "token_metrics",
           "entity_report", "predict_tokens", "tag_sequences", "entities_of", "simple_entities"]


# ------------------------------------------------------------------------------------- metrics
def tag_sequences(pred, targ, vocab, ignore_token_id=-100):
    """Word-level tag sequences from a batch: for each row, the target and predicted tags at the
    positions whose target is not `ignore_token_id` (the first piece of each word). `pred` holds
    logits (rows, tokens, tags) or tag ids (rows, tokens)."""
    pred = pred.argmax(-1) if pred.ndim == 3 else pred
    pred, targ = pred.detach().cpu(), targ.detach().cpu()
    keep = targ != ignore_token_id
    vocab = list(vocab)
    targs = [[vocab[i] for i in t[m].tolist()] for t, m in zip(targ, keep)]
    preds = [[vocab[i] for i in p[m].tolist()] for p, m in zip(pred, keep)]
    return targs, preds


def _scores(targs, preds, entity_type=None):
    "accuracy, precision, recall, f1 (seqeval) of word tag sequences; per type with `entity_type`."
    if entity_type is None:
        return {"accuracy": accuracy_score(targs, preds),
                "precision": precision_score(targs, preds, zero_division=0),
                "recall": recall_score(targs, preds, zero_division=0),
                "f1": f1_score(targs, preds, zero_division=0)}
    rep = classification_report(targs, preds, output_dict=True, zero_division=0).get(entity_type)
    if rep is None: return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    return {"precision": float(rep["precision"]), "recall": float(rep["recall"]), "f1": float(rep["f1-score"])}


class _SeqEvalMetric(Metric):
    "Collects the word tag sequences of the validation batches; the value is one of seqeval's scores."
    key = None

    def __init__(self, entity_type=None):
        if entity_type is not None and not (isinstance(entity_type, str) and entity_type):
            raise ValueError(f"entity_type must be an entity type such as 'PER' (or None for all), not {show(entity_type)}")
        self.entity_type = entity_type
        self.reset()

    def reset(self): self.targs, self.preds = [], []

    def accumulate(self, learn):
        tfm = hf_tokenizer_of(learn.dls)
        ignore = getattr(tfm, "ignore_token_id", -100)
        t, p = tag_sequences(learn.pred, learn.yb[0], learn.dls.vocab, ignore)
        self.targs += t
        self.preds += p

    @property
    def value(self):
        if not self.targs: return None
        if self.key == "accuracy": return accuracy_score(self.targs, self.preds)
        return _scores(self.targs, self.preds, self.entity_type)[self.key]

    @property
    def name(self): return self.key if self.entity_type is None else f"{self.key}_{self.entity_type}"


class TokenAccuracy(_SeqEvalMetric):
    "Share of words whose tag is right (seqeval's accuracy_score; `O` words count too)."
    key = "accuracy"

    def __init__(self): super().__init__(None)

    @property
    def name(self): return "token_accuracy"


class EntityPrecision(_SeqEvalMetric):
    "Entity-level precision (seqeval): micro average over types, or of one `entity_type`."
    key = "precision"


class EntityRecall(_SeqEvalMetric):
    "Entity-level recall (seqeval): micro average over types, or of one `entity_type`."
    key = "recall"


class EntityF1(_SeqEvalMetric):
    "Entity-level F1 (seqeval): micro average over types, or of one `entity_type` (named `f1_<type>`)."
    key = "f1"


def entity_metrics():
    "The four metrics of a token classifier, for `Learner(metrics=...)`: token accuracy, entity precision, recall and F1."
    return [TokenAccuracy(), EntityPrecision(), EntityRecall(), EntityF1()]


# ------------------------------------------------------------------------------------- predict
def _token_tfm(learn):
    tfm = hf_tokenizer_of(learn.dls)
    if not isinstance(tfm, HF_TokenClassBeforeBatchTransform):
        raise TypeError("this learner was not trained for token classification (its data has no HF_TokenClassBlock)")
    return tfm


def _inputs(learn, data, is_split_into_words):
    "(texts or word lists, pre_split) from what a user passes (see `predict_tokens`)."
    if isinstance(data, pd.DataFrame):
        cols = [c for c in text_columns(learn.dls) if c in data.columns] or [c for c in ["words"] if c in data.columns]
        if not cols:
            raise ValueError(f"the data frame has no column of word lists {show(text_columns(learn.dls))}; its columns are "
                             f"{show(list(data.columns))}. Pass the word lists (or texts) themselves")
        check_word_lists(data, cols[0], "words")
        return [list(map(str, ws)) for ws in data[cols[0]]], True
    if isinstance(data, str): data = [data]
    if isinstance(data, (pd.Series, np.ndarray, tuple)): data = list(data)
    if not isinstance(data, list) or not data:
        raise TypeError("inputs must be a text, a list of texts, a list of word lists or a DataFrame with the word "
                        f"lists, not {type(data).__name__ if not isinstance(data, list) else 'an empty list'}")
    if is_split_into_words and all(isinstance(w, str) for w in data): data = [data]  # one pre-split sentence
    nested = [isinstance(d, (list, tuple, np.ndarray)) for d in data]
    if all(nested):
        df = pd.DataFrame({"words": [list(d) for d in data]})
        check_word_lists(df, "words", "words")
        return [list(map(str, ws)) for ws in df["words"]], True
    if any(nested):
        raise TypeError("inputs mix texts and word lists; pass either texts (strings) or word lists")
    bad = [i for i, t in enumerate(data) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ValueError(f"{len(bad)} of the texts are missing, empty or not strings ({rows(bad)}; e.g. "
                         f"{show(data[bad[0]])}); drop or fill them first")
    return data, False


def _window_settings(tfm):
    max_length = tfm.max_length or min(int(tfm.hf_tokenizer.model_max_length), 512)
    return max_length, min(128, max_length // 4)


def _best_windows(enc, n_samples, pre_split, starts_of):
    """For each sample: word -> (window, token) of the word's first piece, and piece -> (window, token)
    for every piece (keyed by word and character span), each from the window where it sits farthest
    from the window's edges. `starts_of(i, w)` gives a word's first character, which tells a word's
    true first piece from a piece that a window boundary cut off."""
    samples = enc["overflow_to_sample_mapping"].tolist()
    offsets = enc["offset_mapping"].tolist()
    words = [dict() for _ in range(n_samples)]
    pieces = [dict() for _ in range(n_samples)]
    for i, k in enumerate(samples):
        word_ids = enc.word_ids(i)
        real = [j for j, w in enumerate(word_ids) if w is not None]
        if not real: continue
        lo, hi = real[0], real[-1]
        prev = None
        for j in real:
            w = word_ids[j]
            margin = min(j - lo, hi - j)
            key = (w, *offsets[i][j])
            if key not in pieces[k] or margin > pieces[k][key][2]: pieces[k][key] = (i, j, margin)
            if w == prev: continue
            prev = w
            first = offsets[i][j][0] == (0 if pre_split else starts_of(i, w))
            cur = words[k].get(w)
            if cur is None or (first, margin) > (cur[2], cur[3]): words[k][w] = (i, j, first, margin)
    return words, pieces


@torch.no_grad()
def _word_predictions(learn, items, pre_split, bs, with_pieces=False):
    """Per item: a list of (word, start, end, tag, probability), words in order (pre-split: the given
    words, offsets in the words joined by spaces; texts: the tokenizer's words and their offsets).
    With `with_pieces`, also per item a list of (start, end, tag, probability, piece) for every word
    piece in order (what the pipeline's "simple" strategy groups)."""
    tfm = _token_tfm(learn)
    tok, vocab = tfm.hf_tokenizer, list(learn.dls.vocab)
    max_length, stride = _window_settings(tfm)
    model = learn.model
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out, out_pieces = [], []
    try:
        for c in range(0, len(items), bs):
            chunk = items[c:c + bs]
            enc = tok(chunk, is_split_into_words=pre_split, truncation=True, max_length=max_length, stride=stride,
                      return_overflowing_tokens=True, return_offsets_mapping=True, padding=True, return_tensors="pt",
                      **{k: v for k, v in tfm.tok_kwargs.items() if k not in ("is_split_into_words",)})
            x = {k: v.to(device) for k, v in enc.items() if k not in ("offset_mapping", "overflow_to_sample_mapping")}
            probs = torch.softmax(prediction_of(model(x)).float(), dim=-1).cpu()
            pmax, pidx = probs.max(-1)
            samples = enc["overflow_to_sample_mapping"].tolist()

            def starts_of(i, w): return enc.word_to_chars(i, w).start

            chosen, chosen_pieces = _best_windows(enc, len(chunk), pre_split, starts_of)
            for k, item in enumerate(chunk):
                if pre_split:
                    starts = np.cumsum([0] + [len(w) + 1 for w in item[:-1]])
                    words = [(w, int(s), int(s) + len(w)) for w, s in zip(item, starts)]
                else:
                    words = []
                    seen = set()
                    for i in (j for j, s in enumerate(samples) if s == k):
                        for w in enc.word_ids(i):
                            if w is None or w in seen: continue
                            seen.add(w)
                            span = enc.word_to_chars(i, w)
                            words.append((w, span.start, span.end))
                    words.sort()
                    words = [(item[a:b], a, b, w) for w, a, b in words]
                rows_ = []
                for n, word in enumerate(words):
                    hit = chosen[k].get(n if pre_split else word[3])
                    tag, p = (vocab[int(pidx[hit[0], hit[1]])], float(pmax[hit[0], hit[1]])) if hit else (None, np.nan)
                    rows_.append((word[0], word[1], word[2], tag, p))
                out.append(rows_)
                if with_pieces:
                    shift = (lambda w: int(starts[w])) if pre_split else (lambda w: 0)
                    ps = []
                    for (w, a, b), (i, j, _) in sorted(chosen_pieces[k].items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
                        ps.append((shift(w) + a, shift(w) + b, vocab[int(pidx[i, j])], float(pmax[i, j]),
                                   tok.convert_ids_to_tokens(int(enc["input_ids"][i, j]))))
                    out_pieces.append(ps)
    finally:
        model.train(was_training)
    return (out, out_pieces) if with_pieces else out


def _bio(tag):
    "A tag's (B or I, type), as transformers' pipeline reads it: no B-/I- prefix counts as I."
    if tag.startswith("B-"): return "B", tag[2:]
    if tag.startswith("I-"): return "I", tag[2:]
    return "I", tag


def simple_entities(pieces, text):
    """Entities from word pieces, as transformers' token-classification pipeline groups them with
    `aggregation_strategy="simple"`: each piece keeps its own tag; adjacent pieces of one type join
    unless a piece's tag begins with B-; `O` groups are dropped; the score is the mean of the pieces'.
    `pieces`: (start, end, tag, probability, piece) in order; `text`: what the spans point into."""
    groups, cur = [], []
    for piece in pieces:
        bi, kind = _bio(piece[2])
        if cur and kind == _bio(cur[-1][2])[1] and bi != "B": cur.append(piece)
        else:
            if cur: groups.append(cur)
            cur = [piece]
    if cur: groups.append(cur)
    out = []
    for g in groups:
        kind = g[0][2].split("-", 1)[-1]
        if kind == "O" or g[0][2] == "O": continue
        start, end = g[0][0], g[-1][1]
        out.append({"entity": kind, "text": text[start:end], "start": int(start), "end": int(end),
                    "score": float(np.mean([p[3] for p in g]))})
    return out


def entities_of(tags, words, text=None, probabilities=None):
    """Entities from one sentence's tags (seqeval's chunking): a list of dicts `entity` (type), `text`,
    `start`, `end` (characters, from `words`' spans) and `score` (mean probability of its words).
    `words` are (word, start, end) tuples; `text` the string the spans point into (default: the words
    joined by spaces)."""
    safe = [t if isinstance(t, str) else "O" for t in tags]
    out = []
    for etype, a, b in get_entities(safe):
        start, end = words[a][1], words[b][2]
        span = text[start:end] if text is not None else " ".join(w[0] for w in words[a:b + 1])
        score = float(np.nanmean(probabilities[a:b + 1])) if probabilities is not None else np.nan
        out.append({"entity": etype, "text": span, "start": int(start), "end": int(end), "score": score})
    return out


def predict_tokens(learn, inputs, bs=None, is_split_into_words=None, aggregation="first"):
    """Tag words with a token classifier. `inputs`: a text, a list of texts, a list of word lists (pre-split
    sentences), or a DataFrame with the learner's column of word lists. A list of strings is several
    texts; pass `is_split_into_words=True` to read it as one pre-split sentence.

    Returns a dict of two DataFrames: `words` (one row per word: `sentence` (0-based position of the
    input), `word`, `start`, `end` (0-based character offsets into the text, or into the words joined by
    single spaces), `tag`, `probability`) and `entities` (`sentence`, `entity` (type), `text`, `start`,
    `end`, `score`: the mean probability of its words). Texts are split into words by the tokenizer
    (BERT: at spaces and punctuation), as the Hugging Face pipeline splits them.

    `aggregation` says how entities are formed: "first" (default) from the word tags, each word taking
    its first piece's tag (the rule the model was trained with, and the pipeline's
    `aggregation_strategy="first"`); "simple" from the word pieces, each keeping its own tag, as the
    pipeline's `aggregation_strategy="simple"` does (a later piece of a word, ignored in training, may
    then end or start an entity inside the word). The `words` table is the same for both."""
    if aggregation not in ("first", "simple"):
        raise ValueError(f"aggregation must be 'first' or 'simple', not {show(aggregation)}")
    items, pre_split = _inputs(learn, inputs, is_split_into_words)
    bs = learn.dls.valid.bs if bs is None else as_int("bs", bs, 1)
    preds, pieces = _word_predictions(learn, items, pre_split, bs, with_pieces=True)
    word_rows, entity_rows = [], []
    for k, (item, words) in enumerate(zip(items, preds)):
        word_rows += [(k, *w) for w in words]
        text = " ".join(item) if pre_split else item
        if aggregation == "simple": ents = simple_entities(pieces[k], text)
        else: ents = entities_of([w[3] for w in words], [w[:3] for w in words], text, [w[4] for w in words])
        entity_rows += [{"sentence": k, **e} for e in ents]
    words_df = pd.DataFrame(word_rows, columns=["sentence", "word", "start", "end", "tag", "probability"])
    entities_df = pd.DataFrame(entity_rows, columns=["sentence", "entity", "text", "start", "end", "score"])
    for df in (words_df, entities_df):
        for c in ("sentence", "start", "end"): df[c] = df[c].astype(np.int64)
    words_df["probability"] = words_df["probability"].astype(float)
    entities_df["score"] = entities_df["score"].astype(float)
    return {"words": words_df, "entities": entities_df}


# -------------------------------------------------------------------------------------- tables
def _labelled(learn, data):
    "(word lists, tag lists) of `data` (default: the validation rows), read with the learner's columns."
    if data is None:
        data = learn.dls.valid.items
        if not isinstance(data, pd.DataFrame):
            raise ValueError("the validation set is not a DataFrame; pass data= with the word and tag columns")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame with the word and tag columns, not {type(data).__name__}")
    x_cols = [c for c in text_columns(learn.dls) if c in data.columns]
    tl = learn.dls.valid_ds.tls[-1]
    y_cols = [c for t in tl.tfms.fs for c in getattr(t, "cols", []) if c in data.columns]
    if not x_cols or not y_cols:
        raise ValueError(f"data needs the learner's word and tag columns ({show(text_columns(learn.dls))} and the "
                         f"tags); its columns are {show(list(data.columns))}")
    check_word_lists(data, x_cols[0], "words")
    check_word_lists(data, y_cols[0], "tags")
    words, tags = [list(map(str, w)) for w in data[x_cols[0]]], [list(map(str, t)) for t in data[y_cols[0]]]
    bad = [i for i, (w, t) in enumerate(zip(words, tags)) if len(w) != len(t)]
    if bad:
        raise ValueError(f"{len(bad)} row(s) have a different number of words and tags ({rows(list(data.index[bad]))}); "
                         "give one tag per word")
    return words, tags


def _evaluated(learn, data, bs):
    words, targs = _labelled(learn, data)
    bs = learn.dls.valid.bs if bs is None else as_int("bs", bs, 1)
    preds = [[w[3] if w[3] is not None else "O" for w in ws] for ws in _word_predictions(learn, words, True, bs)]
    return targs, preds


def token_metrics(learn, data=None, bs=None):
    """Token accuracy and entity precision, recall and F1 (seqeval, micro over types) of every word of
    `data` (a DataFrame with the learner's word and tag columns; default: the validation rows). Returns a dict."""
    targs, preds = _evaluated(learn, data, bs)
    return {k: float(v) for k, v in _scores(targs, preds).items()}


def entity_report(learn, data=None, bs=None):
    """seqeval's classification report as a DataFrame: one row per entity type, then `micro avg`,
    `macro avg` and `weighted avg`; columns `entity`, `precision`, `recall`, `f1`, `support` (entities
    in the gold tags). On `data` (default: the validation rows)."""
    targs, preds = _evaluated(learn, data, bs)
    rep = classification_report(targs, preds, output_dict=True, zero_division=0)
    df = pd.DataFrame([{"entity": k, "precision": float(v["precision"]), "recall": float(v["recall"]),
                        "f1": float(v["f1-score"]), "support": int(v["support"])} for k, v in rep.items()])
    return df


def _predictor(learn, inputs, bs=None, **kwargs):
    return predict_tokens(learn, inputs, bs=bs, **kwargs)


def _is_token_learner(learn):
    return hasattr(learn, "dls") and isinstance(hf_tokenizer_of(learn.dls), HF_TokenClassBeforeBatchTransform)


register_predictor("tokens", _is_token_learner, _predictor)


# --------------------------------------------------------------------------------------- export
for _cls in (EntityPrecision, EntityRecall, EntityF1):
    register_metric(_cls, lambda m: {"entity_type": m.entity_type})
register_metric(TokenAccuracy)


def _describe_tokens(learn):
    "What `predict_tokens` and further training need beyond the generic tokenizer settings (export's task_settings)."
    tfm = _token_tfm(learn)
    max_length, stride = _window_settings(tfm)
    return {"labels": [str(v) for v in learn.dls.vocab], "ignore_token_id": int(tfm.ignore_token_id),
            "alignment": "first_piece", "layout": "word_lists",
            "word_column": (reader_columns(learn.dls, 0) or [None])[0],
            "tag_column": (reader_columns(learn.dls, -1) or [None])[0],
            "add_prefix_space": getattr(tfm.hf_tokenizer, "add_prefix_space", None),
            "windows": {"max_length": int(max_length), "stride": int(stride)}, "aggregation": "first"}


def _check_token_dls(dls, ts):
    check_rebuild_dls(dls, HF_TokenClassBeforeBatchTransform, "token classification data (built with an HF_TokenClassBlock)")
    tags = [str(v) for v in dls.vocab]
    if tags != ts["labels"]:
        raise ValueError(f"dls must have the saved model's tags {show(ts['labels'])} in that order; they have "
                         f"{show(tags)}: give HF_TokenCategoryBlock(vocab=) the saved tags")
    return dls


def _rebuild_tokens(folder, spec, df=None, dls=None, valid_pct=0.2, valid_col=None, seed=None, bs=None,
                    **learner_kwargs):
    inputs, ts = spec["inputs"], spec["task_settings"]
    hf_tokenizer = load_hf_tokenizer(folder)
    if ts.get("add_prefix_space") and getattr(hf_tokenizer, "add_prefix_space", None) is not True:
        from transformers import AutoTokenizer
        hf_tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False,
                                                     add_prefix_space=True)
    hf_model = load_hf_model(folder, spec, AutoModelForTokenClassification)
    if dls is not None:
        return build_learner(_check_token_dls(dls, ts), hf_model, spec["learner"], **learner_kwargs)
    word_col, tag_col = ts.get("word_column"), ts.get("tag_column")
    if df is not None and (word_col is None or tag_col is None):
        raise ValueError("the saved learner read its words or tags with a function, not from named columns, so the "
                         "folder cannot say how to read df; build DataLoaders and pass them as dls")
    word_col, tag_col = word_col or "words", tag_col or "tags"
    tfm = before_batch_from(inputs["tokenizer"], hf_tokenizer, cls=HF_TokenClassBeforeBatchTransform,
                            ignore_token_id=ts.get("ignore_token_id", IGNORE))
    dl_kwargs = {"pool_batches": inputs["pool_batches"]} if inputs.get("pool_batches") else {}
    blocks = [HF_TokenClassBlock(before_batch_tfm=tfm, **dl_kwargs),
              HF_TokenCategoryBlock(vocab=ts["labels"], ignore_token_id=ts.get("ignore_token_id", IGNORE))]
    placeholder = pd.DataFrame({word_col: [["placeholder"]], tag_col: [[ts["labels"][0]]]})
    sizes = {"bs": bs or inputs.get("bs") or 16, "val_bs": inputs.get("val_bs") if bs is None else bs}
    dls = rebuilt_dls(blocks, ColReader(word_col), ColReader(tag_col), placeholder, df=df, valid_pct=valid_pct,
                      valid_col=valid_col, seed=seed, what=f"word lists ({show(word_col)}) and tag lists ({show(tag_col)})",
                      **sizes)
    return build_learner(dls, hf_model, spec["learner"], **learner_kwargs)


def _tokens_card(spec, name):
    ts, tok = spec["task_settings"], spec["inputs"]["tokenizer"]
    labels = ts["labels"]
    types = sorted({l.split("-", 1)[1] for l in labels if "-" in l})
    win = ts.get("windows") or {}
    out = ["## Tags", "",
           f"Token classification: one tag per word, among {len(labels)} tags"
           + (f" (entity types {', '.join(f'`{t}`' for t in types)})" if types else "") + ":", "",
           ", ".join(f"`{l}`" for l in labels), "",
           "The model was trained on the first word piece of each word (the other pieces are ignored by the loss), "
           "so a word's tag is its first piece's.", "",
           "## How to use", "",
           "**fastai_hf** (Python): the learner back, without unpickling anything:", "", "```python",
           "from fastai_hf import hf_load_learner, predict_tokens", f'learn = hf_load_learner("{name}")',
           'res = predict_tokens(learn, ["Peter Blackburn met the European Commission in Brussels."])',
           'res["words"], res["entities"]  # one row per word (tag, probability); entities with character spans',
           "```", "", "**fastai** (R):", "", "```r", "library(fastai)", f'learn <- hf_load_learner("{name}")',
           'predict_tokens(learn, "Peter Blackburn met the European Commission in Brussels.")$entities', "```", "",
           "**transformers** alone:", "", "```python", "from transformers import pipeline", "",
           f'ner = pipeline("token-classification", model="{name}", aggregation_strategy="simple")',
           'ner("Peter Blackburn met the European Commission in Brussels.")  # [{"entity_group": ..., "start": ..., ...}]',
           "```", "",
           '`aggregation_strategy="simple"` groups word pieces, each with its own tag (as `predict_tokens(..., '
           'aggregation="simple")`); `aggregation_strategy="first"` gives each word its first piece\'s tag, the rule '
           "the model was trained with and `predict_tokens`' default.", "",
           "Predict-time settings (in `fastai_hf.json`, applied by `hf_load_learner`):", "",
           "| setting | value |", "|---|---|",
           f"| word / tag columns | {ts.get('word_column')} / {ts.get('tag_column')} (one list of words and one of tags per row) |",
           f"| max_length | {tok.get('max_length') if tok.get('max_length') is not None else 'the tokenizer limit'} |",
           f"| windows for long inputs (predict) | {win.get('max_length')} tokens, {win.get('stride')} shared |",
           f"| add_prefix_space | {ts.get('add_prefix_space')} |",
           f"| ignore_token_id | {ts.get('ignore_token_id')} |"]
    return "\n".join(out)


register_export("token_classification", _is_token_learner, _describe_tokens, _rebuild_tokens,
                pipeline_tag="token-classification", card=_tokens_card)
