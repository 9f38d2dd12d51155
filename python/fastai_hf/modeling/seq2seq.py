"""Sequence-to-sequence modeling: generation metrics, a warm-started encoder-decoder, generation.

Training needs nothing of its own: `HF_BaseModelWrapper` + `HF_BaseModelCallback` + `hf_splitter`
(embeddings | encoder layers | decoder layers | head) with `CrossEntropyLossFlat()` (or the model's own
loss) train any seq2seq model on `HF_Seq2SeqBlock` data. What this module adds:

- `HF_Seq2SeqMetricsCallback(metrics, text_gen_kwargs)`: at each validation, generates a text for every
  validation source with the user's generation settings (beams, max new tokens, ...) and scores the
  generated texts, not teacher-forced tokens, against the references: ROUGE-1/2/L (`rouge-score`, F1
  averaged over texts, 0 to 1) and BLEU / chrF (`sacrebleu`, corpus level, 0 to 100). The scores are
  columns of the epoch table. The settings become the model's `generation_config`, so `hf_generate`,
  `learn.blurr_generate` and the exported folder generate with them too.
- `calculate_rouge`, `calculate_bleu`, `calculate_chrf`: the same scores for any texts (several
  references per text allowed).
- `get_hf_encoder_decoder(encoder, decoder)`: an `EncoderDecoderModel` warm-started from two
  pretrained checkpoints (Rothe et al., 2020: "bert2bert" when both are BERT), with the token ids the
  recipe sets; with MiniLM it gives an offline summarizer to fine-tune.
- `generate_texts` / `hf_generate`: texts in, generated texts out (seq2seq and causal LMs), with
  generation arguments passed through to `model.generate`; registered as the predictor of both
  families, so `predict` (Python's verbs and R's `predict()`) dispatches to it.
- export: the `seq2seq` family of `hf_save_pretrained` / `hf_load_learner` (source and target columns,
  `max_target_length`, the generation settings, the metrics callback with its settings; the card's
  pipeline tag is "summarization" for ROUGE, "translation" for BLEU / chrF, else
  "text2text-generation"), and the helpers the language-model family shares (`reader_settings`,
  `empty_or_new_dls`, `generation_settings`, ...).
"""
import contextlib
import json

import pandas as pd
import torch
from fastai.callback.core import Callback
from fastai.data.transforms import ColReader, ColSplitter, RandomSplitter
from fastai.learner import Learner, ValueMetric
from fastcore.basics import patch

from ..checks import advice, as_int, show
from ..data.core import hf_tokenizer_of
from ..data.seq2seq import HF_Seq2SeqBeforeBatchTransform, HF_Seq2SeqBlock, HF_Seq2SeqTargetBlock
from ..export import build_learner, check_rebuild_dls, load_hf_model, load_hf_tokenizer, register_export
from ..predict import register_predictor, texts_of
from .core import wrapper_of

__all__ = ["HF_Seq2SeqMetricsCallback", "HF_SummarizationModelCallback", "calculate_rouge", "calculate_bleu",
           "calculate_chrf", "generation_scores", "get_hf_encoder_decoder", "generate_texts", "hf_generate",
           "GENERATION_METRICS", "can_generate", "generating_model"]

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
GENERATION_METRICS = ROUGE_KEYS + ("bleu", "chrf")


# ---------------------------------------------------------------------------------------------- scores
def _references(reference_txts, n):
    "References as one list per text (a string, or several strings, per text)."
    refs = [[r] if isinstance(r, str) else list(r) for r in reference_txts]
    if len(refs) != n:
        raise ValueError(f"got {n} predicted texts but {len(refs)} references; give one reference (or one list of "
                         "references) per predicted text")
    bad = [i for i, r in enumerate(refs) if not r or not all(isinstance(t, str) for t in r)]
    if bad: raise ValueError(f"reference {bad[0]} is {show(reference_txts[bad[0]])}; references must be strings")
    return refs


def _predictions(predicted_txts):
    if isinstance(predicted_txts, str): predicted_txts = [predicted_txts]
    preds = list(predicted_txts)
    if not preds: raise ValueError("no predicted texts given")
    bad = [i for i, t in enumerate(preds) if not isinstance(t, str)]
    if bad: raise ValueError(f"predicted text {bad[0]} is {show(preds[bad[0]])}; predicted texts must be strings "
                             "(an empty string is allowed)")
    return preds


def calculate_rouge(predicted_txts, reference_txts, rouge_keys=("rouge1", "rouge2", "rougeL"), use_stemmer=True):
    """ROUGE F1 of each key averaged over the texts, as `{key: value}` in [0, 1] (Google's `rouge-score`,
    Porter stemming by default). A text with several references scores its best match (`score_multi`).
    `rougeLsum` treats newlines as sentence breaks. blurr's name and arguments."""
    from rouge_score import rouge_scorer
    preds = _predictions(predicted_txts)
    refs = _references([reference_txts] if isinstance(reference_txts, str) else reference_txts, len(preds))
    keys = [rouge_keys] if isinstance(rouge_keys, str) else list(rouge_keys)
    unknown = [k for k in keys if k not in ROUGE_KEYS]
    if unknown: raise ValueError(f"unknown ROUGE key {show(unknown[0])}; use some of {show(list(ROUGE_KEYS))}")
    scorer = rouge_scorer.RougeScorer(keys, use_stemmer=bool(use_stemmer))
    totals = dict.fromkeys(keys, 0.0)
    for p, r in zip(preds, refs):
        scores = scorer.score(r[0], p) if len(r) == 1 else scorer.score_multi(r, p)
        for k in keys: totals[k] += scores[k].fmeasure
    return {k: totals[k] / len(preds) for k in keys}


def _ref_streams(refs):
    "sacrebleu's layout: one stream per reference position (texts with fewer references get None)."
    n = max(len(r) for r in refs)
    return [[r[j] if j < len(r) else None for r in refs] for j in range(n)]


def calculate_bleu(predicted_txts, reference_txts, **kwargs):
    "Corpus BLEU (sacrebleu, 0 to 100, its default 13a tokenization); kwargs go to `sacrebleu.corpus_bleu`."
    import sacrebleu
    preds = _predictions(predicted_txts)
    refs = _references([reference_txts] if isinstance(reference_txts, str) else reference_txts, len(preds))
    return float(sacrebleu.corpus_bleu(preds, _ref_streams(refs), **kwargs).score)


def calculate_chrf(predicted_txts, reference_txts, **kwargs):
    "Corpus chrF (sacrebleu, 0 to 100, character 6-grams, beta 2); kwargs go to `sacrebleu.corpus_chrf`."
    import sacrebleu
    preds = _predictions(predicted_txts)
    refs = _references([reference_txts] if isinstance(reference_txts, str) else reference_txts, len(preds))
    return float(sacrebleu.corpus_chrf(preds, _ref_streams(refs), **kwargs).score)


def _check_metrics(metrics):
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in metrics if m not in GENERATION_METRICS]
    if unknown or not metrics:
        raise ValueError(f"unknown generation metric {show(unknown[0] if unknown else None)}; use some of "
                         f"{show(list(GENERATION_METRICS))}")
    return metrics


def generation_scores(predicted_txts, reference_txts, metrics=("rouge1", "rouge2", "rougeL")):
    "The named scores of generated texts against references: ROUGE keys, 'bleu' and 'chrf' (see the module doc)."
    metrics = _check_metrics(metrics)
    out = {}
    rouge = [m for m in metrics if m in ROUGE_KEYS]
    if rouge: out.update(calculate_rouge(predicted_txts, reference_txts, rouge))
    if "bleu" in metrics: out["bleu"] = calculate_bleu(predicted_txts, reference_txts)
    if "chrf" in metrics: out["chrf"] = calculate_chrf(predicted_txts, reference_txts)
    return {m: out[m] for m in metrics}


# ------------------------------------------------------------------------------------------ generation
def can_generate(model):
    "Can this transformers model generate text (`model.generate`)?"
    check = getattr(model, "can_generate", None)
    return bool(check()) if callable(check) else False


def generating_model(learn):
    "The transformers model of a learner, checked to be one that generates text."
    if not isinstance(learn, Learner):
        raise TypeError(f"learn must be a fastai Learner, not {type(learn).__name__}")
    wrapper = wrapper_of(learn.model)
    model = wrapper.hf_model if wrapper is not None else None
    if model is None or not can_generate(model):
        what = type(model if model is not None else learn.model).__name__
        raise TypeError(f"this learner's model ({what}) cannot generate text; generation needs a sequence-to-sequence "
                        "or causal language model, e.g. get_hf_objects(name, task="
                        + advice("HF_TASKS_AUTO.Seq2SeqLM) or task=HF_TASKS_AUTO.CausalLM",
                                 "HF_TASKS_AUTO()$Seq2SeqLM) or task = \"CausalLM\"")
                        + ", or get_hf_encoder_decoder() for a warm-started encoder-decoder")
    return model


def _prompt_batch(tok, texts, max_length):
    """Prompts for a causal LM, left-padded (so generation continues each prompt at its end): the
    tokenizer's trailing end token (BERT's [SEP]) is dropped, as the model should continue the text."""
    enc = tok(list(texts), truncation=max_length is not None, max_length=max_length)["input_ids"]
    ends = {tok.eos_token_id, tok.sep_token_id} - {None}
    ids = [t[:-1] if len(t) > 1 and t[-1] in ends else t for t in enc]
    n = max(len(t) for t in ids)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    input_ids = torch.full((len(ids), n), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), n), dtype=torch.long)
    for i, t in enumerate(ids):
        input_ids[i, n - len(t):] = torch.as_tensor(t)
        mask[i, n - len(t):] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def _generation_kwargs(kwargs):
    "R sends whole numbers as floats; generate wants ints for counts."
    counts = ("max_length", "max_new_tokens", "min_length", "min_new_tokens", "num_beams", "num_beam_groups",
              "num_return_sequences", "top_k", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size")
    return {k: (as_int(k, v, 0) if k in counts and v is not None else v) for k, v in kwargs.items()}


def generate_texts(learn, texts, bs=None, **gen_kwargs):
    """Generated texts for `texts` (seq2seq: the output for each source; causal LM: the continuation of
    each prompt, without the prompt), in order. `gen_kwargs` go to `model.generate` (`max_new_tokens`,
    `num_beams`, `do_sample`, `top_p`, ...) over the model's generation_config."""
    model = generating_model(learn)
    tfm = hf_tokenizer_of(learn.dls)
    if tfm is None: raise TypeError("generate_texts needs a learner whose data were tokenized by an HF block")
    texts = texts_of(learn, texts)
    bs = learn.dls.valid.bs if bs is None else as_int("bs", bs, 1)
    gen_kwargs = _generation_kwargs(gen_kwargs)
    n_seq = gen_kwargs.get("num_return_sequences", 1) or 1
    if n_seq != 1:
        raise ValueError("num_return_sequences must be 1 here: one generated text per input text")
    tok, encoder_decoder = tfm.hf_tokenizer, bool(getattr(model.config, "is_encoder_decoder", False))
    out, was_training = [], model.training
    model.eval()
    try:
        for i in range(0, len(texts), bs):
            chunk = texts[i:i + bs]
            if encoder_decoder:
                enc = tfm.tokenize(chunk)
                enc = {k: enc[k] for k in ("input_ids", "attention_mask") if k in enc}
            else:
                enc = _prompt_batch(tok, chunk, tfm.max_length)
            enc = {k: v.to(next(model.parameters()).device) for k, v in enc.items()}
            with torch.no_grad():
                ids = model.generate(**enc, **gen_kwargs)
            if not encoder_decoder: ids = ids[:, enc["input_ids"].shape[1]:]
            out += tok.batch_decode(ids.cpu(), skip_special_tokens=True)
    finally:
        model.train(was_training)
    return out


def hf_generate(learn, texts, bs=None, **gen_kwargs):
    "A DataFrame: `text` (the input, or prompt) and `generated` (see `generate_texts`), one row per text."
    texts = texts_of(learn, texts)
    return pd.DataFrame({"text": texts, "generated": generate_texts(learn, texts, bs=bs, **gen_kwargs)})


@patch
def blurr_generate(self: Learner, inp, **kwargs):
    "blurr's name: the generated text of one input text (a string), or a list of them for a list."
    one = isinstance(inp, str)
    res = generate_texts(self, [inp] if one else inp, **kwargs)
    return res[0] if one else res


# ------------------------------------------------------------------------------------------- callback
def _set_generation(model, text_gen_kwargs):
    "Write the user's generation settings into the model's generation_config; refuse unknown names."
    if not text_gen_kwargs: return
    unused = model.generation_config.update(**_generation_kwargs(text_gen_kwargs))
    if unused:
        raise ValueError(f"text_gen_kwargs has settings that model.generate does not know: {show(sorted(unused))}; "
                         "use generation settings such as max_new_tokens, num_beams, do_sample, no_repeat_ngram_size")


class HF_Seq2SeqMetricsCallback(Callback):
    """Scores generated texts at each validation (see the module doc).

    `metrics`: some of "rouge1", "rouge2", "rougeL", "rougeLsum" (summarization), "bleu", "chrf"
    (translation). `text_gen_kwargs`: generation settings (e.g. `{"max_new_tokens": 40, "num_beams": 2}`),
    written into the model's generation_config when the Learner is built. References are the label ids
    decoded, i.e. the targets as the tokenizer sees them (truncated to `max_target_length`; lowercased
    for an uncased model). Generating costs one `generate` call per validation batch; subsample the
    validation set to keep epochs short. `get_preds` does not generate.
    """
    order = -4  # after HF_BaseModelCallback

    def __init__(self, metrics=("rouge1", "rouge2", "rougeL"), text_gen_kwargs=None, custom_metrics=None):
        self.metric_names = _check_metrics(custom_metrics if custom_metrics is not None else metrics)
        self.text_gen_kwargs = dict(text_gen_kwargs or {})
        self.preds, self.refs, self._scores = [], [], None

    def _setup(self):
        model = generating_model(self.learn)
        if not isinstance(hf_tokenizer_of(self.learn.dls), HF_Seq2SeqBeforeBatchTransform):
            raise TypeError("HF_Seq2SeqMetricsCallback scores seq2seq learners: the data must come from HF_Seq2SeqBlock")
        _set_generation(model, self.text_gen_kwargs)
        have = {getattr(m, "name", None) for m in self.learn.metrics}
        new = [ValueMetric(_Score(self, n), n) for n in self.metric_names if n not in have]
        if new: self.learn.metrics = list(self.learn.metrics) + new

    def after_create(self): self._setup()

    def before_fit(self):
        if not any(getattr(m, "name", None) in self.metric_names for m in self.learn.metrics): self._setup()

    def score(self, name):
        "The score `name` of the texts generated at the last validation (computed once per validation)."
        if self._scores is None:
            self._scores = generation_scores(self.preds, self.refs, self.metric_names) if self.preds else {}
        return self._scores.get(name)

    def before_validate(self): self.preds, self.refs, self._scores = [], [], None

    def after_batch(self):
        if self.training or hasattr(self.learn, "gather_preds") or not len(self.yb): return
        tfm = hf_tokenizer_of(self.learn.dls)
        model = wrapper_of(self.learn.model).hf_model
        x = self.xb[0]
        with torch.no_grad():
            ids = model.generate(input_ids=x["input_ids"], attention_mask=x.get("attention_mask"))
        self.preds += tfm.hf_tokenizer.batch_decode(ids.cpu(), skip_special_tokens=True)
        self.refs += tfm.decode_labels(self.yb[0].cpu())


class _Score:
    "A `ValueMetric`'s function: one score of the callback (a class, not a closure, so learners export)."
    def __init__(self, cb, name): self.cb, self.__name__ = cb, name
    def __call__(self): return self.cb.score(self.__name__)


HF_SummarizationModelCallback = HF_Seq2SeqMetricsCallback  # the name the first R package exported


# ------------------------------------------------------------------------------- warm-started models
@contextlib.contextmanager
def _quiet_transformers():
    from transformers.utils import logging as hf_logging
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try: yield
    finally: hf_logging.set_verbosity(level)


def get_hf_encoder_decoder(encoder, decoder=None, tie_encoder_decoder=False, tokenizer_kwargs=None, **model_kwargs):
    """`(hf_arch, hf_config, hf_tokenizer, hf_model)` of an `EncoderDecoderModel` warm-started from a
    pretrained encoder checkpoint and a decoder checkpoint (default: the same), as in Rothe et al.
    (2020) and the Hugging Face "bert2bert" recipe: the decoder gets causal self-attention and new
    cross-attention layers (randomly initialised: train the whole model, not a frozen body); the
    tokenizer is the encoder's; `decoder_start_token_id` is the tokenizer's [CLS] (or bos),
    `eos_token_id` its [SEP] (or eos), `pad_token_id` its pad, in the config and generation_config.
    `tie_encoder_decoder=True` shares the weights of both sides ("bert-share"), halving the model.
    Loading reports of the new layers are silenced: they are new by construction.
    `encoder` / `decoder`: hub ids (online) or local folders, e.g. `minilm_path()`."""
    from transformers import AutoTokenizer, EncoderDecoderModel

    from ..hub import _check_source, _load
    enc_name = _check_source(encoder)
    dec_name = _check_source(decoder if decoder is not None else encoder)
    tok = _load("tokenizer", AutoTokenizer.from_pretrained, enc_name, **(tokenizer_kwargs or {}))
    with _quiet_transformers():
        model = _load("model", lambda name, **kw: EncoderDecoderModel.from_encoder_decoder_pretrained(name, dec_name, **kw),
                      enc_name, tie_encoder_decoder=bool(tie_encoder_decoder), **model_kwargs)
    start = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
    end = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
    if start is None or end is None or tok.pad_token_id is None:
        raise ValueError(f"the tokenizer of {show(enc_name)} lacks a start ([CLS]/bos), end ([SEP]/eos) or pad token "
                         "that the encoder-decoder recipe needs")
    cfg = model.config
    cfg.decoder_start_token_id, cfg.eos_token_id, cfg.pad_token_id = start, end, tok.pad_token_id
    cfg.vocab_size = cfg.decoder.vocab_size
    model.generation_config.update(decoder_start_token_id=start, bos_token_id=start, eos_token_id=end,
                                   pad_token_id=tok.pad_token_id)
    return cfg.model_type, cfg, tok, model


# ---------------------------------------------------------------------------------------- predictors
def _is_seq2seq(learn):
    return isinstance(hf_tokenizer_of(getattr(learn, "dls", None)), HF_Seq2SeqBeforeBatchTransform)


def _predict_seq2seq(learn, texts, bs=None, **gen_kwargs):
    return {"generated": hf_generate(learn, texts, bs=bs, **gen_kwargs)}


register_predictor("seq2seq", _is_seq2seq, _predict_seq2seq)


# -------------------------------------------------------------------------------------------- export
# hf_save_pretrained / hf_load_learner for seq2seq learners (the registry is export.py's; see its doc).
def reader_settings(dls, i):
    "The column reader of the `i`th item (0: inputs, 1: targets) of DataLoaders as JSON values, or None."
    reader = next((t for t in dls.train_ds.tls[i].tfms.fs if isinstance(t, ColReader)), None)
    if reader is None or not all(isinstance(c, (str, int)) for c in reader.cols): return None
    return {"columns": list(reader.cols), "pref": str(reader.pref or ""), "suff": str(reader.suff or "")}


def reader_from(settings, default):
    "The ColReader `reader_settings` described (a ColReader of column `default` when it was a function)."
    if not settings: return ColReader(default)
    return ColReader(settings["columns"], pref=settings.get("pref") or "", suff=settings.get("suff") or "")


def generation_settings(model):
    """The decoding settings of the model's generation_config that differ from transformers' defaults, as
    JSON values (for the record and the card; the folder's generation_config.json holds them all)."""
    out = json.loads(model.generation_config.to_json_string(use_diff=True))
    return {k: v for k, v in out.items() if not (k.startswith(("_", "output_", "return_")) or
                                                 k in ("transformers_version", "use_cache"))}


def restored_settings(settings, callback=None, metrics=()):
    """`export.learner_settings` of a saved learner with a callback the family rebuilds itself, and the
    metrics that callback adds, taken off the lists of what cannot be restored (so no warning names them)."""
    settings = dict(settings)
    settings["callbacks_not_saved"] = [c for c in settings.get("callbacks_not_saved") or [] if c != callback]
    settings["metrics"] = [m for m in settings.get("metrics") or []
                           if m.get("restorable") or m.get("name") not in set(metrics)]
    return settings


def empty_or_new_dls(blocks, get_x, get_y, placeholder, sizes, df=None, valid_pct=0.2, valid_col=None, seed=None,
                     readable=True):
    """DataLoaders for a rebuilt learner: empty (set up on one `placeholder` row, which is no user data, so
    fastai's unchecked DataBlock builds them) without `df`, else `df` split by `valid_col` or at random."""
    from fastai.data.block import DataBlock as UncheckedDataBlock

    from ..data.core import DataBlock
    if df is None:
        dblock = UncheckedDataBlock(blocks=blocks, get_x=get_x, get_y=get_y, splitter=lambda items: ([0], [0]))
        return dblock.dataloaders(pd.DataFrame([placeholder]), **sizes).new_empty()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a data frame laid out as the training data, not {type(df).__name__}")
    if not readable:
        raise ValueError("the saved learner read its texts with a function, not from named columns, so the folder "
                         "cannot say how to read df; build DataLoaders and pass them as dls")
    splitter = ColSplitter(valid_col) if valid_col is not None else RandomSplitter(valid_pct, seed=seed)
    return DataBlock(blocks=blocks, get_x=get_x, get_y=get_y, splitter=splitter).dataloaders(df, **sizes)


def batch_sizes(inputs, bs=None):
    return {"bs": bs or inputs.get("bs") or 64, "val_bs": inputs.get("val_bs") if bs is None else bs}


def _metrics_callback(learn):
    return next((cb for cb in learn.cbs if isinstance(cb, HF_Seq2SeqMetricsCallback)), None)


def _seq2seq_task(metric_names):
    "The Hub task of a seq2seq learner, from what it is scored with: ROUGE, BLEU / chrF, or nothing."
    if any(m in ROUGE_KEYS for m in metric_names): return "summarization"
    if any(m in ("bleu", "chrf") for m in metric_names): return "translation"
    return "text2text-generation"


def _describe_seq2seq(learn):
    tfm, model, cb = hf_tokenizer_of(learn.dls), generating_model(learn), _metrics_callback(learn)
    task = _seq2seq_task(cb.metric_names if cb is not None else ())
    gen_kwargs = _generation_kwargs(cb.text_gen_kwargs) if cb is not None else None
    try: json.dumps(gen_kwargs)
    except TypeError: raise TypeError(f"cannot save text_gen_kwargs {show(gen_kwargs)}: not numbers, strings or "
                                      "lists") from None
    description = task.replace("text2text-generation", "text-to-text generation") + " (sequence to sequence)"
    saved_cb = None if cb is None else {"metrics": list(cb.metric_names), "text_gen_kwargs": gen_kwargs}
    return {"source_reader": reader_settings(learn.dls, 0), "target_reader": reader_settings(learn.dls, 1),
            "max_target_length": tfm.max_target_length, "generation": generation_settings(model),
            "metrics_callback": saved_cb, "pipeline_tag": task, "task_description": description}


def _rebuild_seq2seq(folder, spec, df=None, dls=None, valid_pct=0.2, valid_col=None, seed=None, bs=None,
                     **learner_kwargs):
    from transformers import AutoModelForSeq2SeqLM

    inputs, ts = spec["inputs"], spec["task_settings"]
    tok = load_hf_tokenizer(folder)
    model = load_hf_model(folder, spec, AutoModelForSeq2SeqLM)
    if dls is not None:
        check_rebuild_dls(dls, HF_Seq2SeqBeforeBatchTransform, "seq2seq DataLoaders (built with HF_Seq2SeqBlock)")
    else:
        t = inputs["tokenizer"]
        tfm = HF_Seq2SeqBeforeBatchTransform(
            t.get("hf_arch"), model.config, tok, model, max_length=t.get("max_length"),
            max_target_length=ts.get("max_target_length"), padding=t.get("padding", True),
            truncation=t.get("truncation", True), tok_kwargs=t.get("tok_kwargs"))
        text_kwargs = {"pool_batches": inputs["pool_batches"]} if inputs.get("pool_batches") else {}
        blocks = [HF_Seq2SeqBlock(before_batch_tfm=tfm, **text_kwargs), HF_Seq2SeqTargetBlock()]
        get_x, get_y = reader_from(ts.get("source_reader"), "text"), reader_from(ts.get("target_reader"), "summary")
        placeholder = {get_x.cols[0]: "placeholder", get_y.cols[0]: "placeholder"}
        dls = empty_or_new_dls(blocks, get_x, get_y, placeholder, batch_sizes(inputs, bs), df, valid_pct, valid_col,
                               seed, readable=bool(ts.get("source_reader") and ts.get("target_reader")))
    settings, cbs = spec["learner"], list(learner_kwargs.pop("cbs", None) or [])
    saved_cb = ts.get("metrics_callback")
    if saved_cb is not None:
        settings = restored_settings(settings, "HF_Seq2SeqMetricsCallback", saved_cb["metrics"])
        if not any(isinstance(cb, HF_Seq2SeqMetricsCallback) for cb in cbs):
            cbs.append(HF_Seq2SeqMetricsCallback(saved_cb["metrics"], text_gen_kwargs=saved_cb["text_gen_kwargs"]))
    return build_learner(dls, model, settings, cbs=cbs, **learner_kwargs)


def _seq2seq_card(spec, name):
    ts, inputs = spec["task_settings"], spec["inputs"]
    tok = inputs["tokenizer"]
    src = ", ".join(map(str, (ts.get("source_reader") or {}).get("columns") or ["(a function)"]))
    tgt = ", ".join(map(str, (ts.get("target_reader") or {}).get("columns") or ["(a function)"]))
    gen = ts.get("generation") or {}
    cb = ts.get("metrics_callback")
    out = ["## Task", "",
           f"{ts.get('pipeline_tag', 'text2text-generation').capitalize()}: the model reads a text (column `{src}` "
           f"of the training data) and generates one (trained on column `{tgt}`). Its generation settings are in "
           "`generation_config.json`, so `generate` uses them without arguments:", "",
           card_table(["setting", "value"], sorted(gen.items()) or [("(transformers' defaults)", "")]), "",
           "## How to use", "", "**fastai_hf** (Python):", "", "```python",
           "from fastai_hf import hf_generate, hf_load_learner",
           f'learn = hf_load_learner("{name}")', 'hf_generate(learn, ["A text to summarize."])  # text, generated',
           "```", "", "**fastai** (R):", "", "```r", "library(fastai)", f'learn <- hf_load_learner("{name}")',
           'predict(learn, "A text to summarize.")', "```", "",
           "**transformers** alone (transformers 5 has no summarization / translation pipeline; this is what they did):",
           "", "```python", "from transformers import AutoModelForSeq2SeqLM, AutoTokenizer", "",
           f'tok = AutoTokenizer.from_pretrained("{name}")', f'model = AutoModelForSeq2SeqLM.from_pretrained("{name}")',
           'ids = model.generate(**tok(["A text to summarize."], return_tensors="pt"))',
           "tok.batch_decode(ids, skip_special_tokens=True)", "```", "",
           "Settings (in `fastai_hf.json`, applied by `hf_load_learner`):", "",
           card_table(["setting", "value"], [
               ("source column / target column", f"{src} / {tgt}"),
               ("max_length (sources)",
                tok.get("max_length") if tok.get("max_length") is not None else "the tokenizer's limit"),
               ("max_target_length (targets, longer ones truncated)", ts.get("max_target_length")
                if ts.get("max_target_length") is not None else "the tokenizer's limit"),
               ("batch size (training / prediction)", f"{inputs.get('bs')} / {inputs.get('val_bs')}"),
               ("scores at validation (HF_Seq2SeqMetricsCallback)",
                ", ".join(cb["metrics"]) + " of generated texts" if cb else "none")])]
    return "\n".join(out)


def card_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows])


register_export("seq2seq", _is_seq2seq, _describe_seq2seq, _rebuild_seq2seq, pipeline_tag="text2text-generation",
                card=_seq2seq_card)
