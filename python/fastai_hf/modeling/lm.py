"""Language-model modeling: perplexity, filling masks, continuing prompts.

Training needs nothing of its own: `HF_BaseModelWrapper` + `HF_BaseModelCallback` + `hf_splitter` with
`CrossEntropyLossFlat()` (or the model's own loss) train a causal or masked LM on `HF_LMBlock` data.
What this module adds:

- `HF_Perplexity()`: exp of the mean token cross-entropy over all target tokens of the validation set
  (-100 skipped), weighted by tokens rather than by batches (fastai's `Perplexity` is exp of the
  batch-averaged loss).
- `hf_fill_mask(learn, texts, top_k)` / `learn.blurr_fill_mask`: the `top_k` most likely tokens at each
  mask token, as `transformers.pipeline("fill-mask")` gives them (same scores, tokens and sequences).
- continuing a prompt: `hf_generate` (see `modeling.seq2seq`), registered as the causal LM's predictor;
  the masked LM's predictor fills masks.
- export: the `causal_lm` and `masked_lm` families of `hf_save_pretrained` / `hf_load_learner` (text
  column, lm type, padding or concatenation, the masking probabilities and seed, the generation
  settings); `HF_Perplexity` is rebuilt too.
"""
import math

import pandas as pd
import torch
import torch.nn.functional as F
from fastai.learner import Learner, Metric
from fastcore.basics import patch

from ..checks import advice, as_int, show
from ..data.core import hf_tokenizer_of
from ..data.lm import HF_LMBeforeBatchTransform, HF_LMBlock
from ..data.seq2seq import IGNORE_INDEX
from ..export import build_learner, check_rebuild_dls, load_hf_model, load_hf_tokenizer, register_export, register_metric
from ..predict import register_predictor, texts_of
from .core import prediction_of, wrapper_of
from .seq2seq import (card_table, batch_sizes, empty_or_new_dls, generation_settings, hf_generate, reader_from,
                      reader_settings)

__all__ = ["HF_Perplexity", "hf_fill_mask", "lm_type_of"]


@register_metric  # hf_load_learner rebuilds it
class HF_Perplexity(Metric):
    "Token-weighted perplexity of the targets (see the module doc); name: 'perplexity'."
    def __init__(self): self.reset()
    def reset(self): self.total, self.count = 0.0, 0

    def accumulate(self, learn):
        logits, y = prediction_of(learn.pred), learn.yb[0]
        if isinstance(logits, (tuple, list)): logits = logits[0]
        keep = y != IGNORE_INDEX
        if not keep.any(): return
        ce = F.cross_entropy(logits[keep].float(), y[keep], reduction="sum")
        self.total += float(ce)
        self.count += int(keep.sum())

    @property
    def value(self): return math.exp(self.total / self.count) if self.count else None

    @property
    def name(self): return "perplexity"


def lm_type_of(learn):
    "'causal' or 'masked' for a learner on `HF_LMBlock` data, else None."
    tfm = hf_tokenizer_of(getattr(learn, "dls", None))
    return tfm.lm_type if isinstance(tfm, HF_LMBeforeBatchTransform) else None


def hf_fill_mask(learn, texts, top_k=5, bs=None):
    """The `top_k` most likely tokens at each mask token of each text (a text may hold several masks),
    as a DataFrame with one row per (text, mask, rank): `text`, `mask` (which mask of the text, from 1),
    `rank` (from 1), `token` (the token as text), `score` (its probability), `sequence` (the text with
    that token in the mask, decoded as pipeline("fill-mask") decodes it)."""
    if not isinstance(learn, Learner): raise TypeError(f"learn must be a fastai Learner, not {type(learn).__name__}")
    tfm = hf_tokenizer_of(learn.dls)
    wrapper = wrapper_of(learn.model)
    if tfm is None or wrapper is None:
        raise TypeError("hf_fill_mask needs a learner built from HF_BaseModelWrapper and HF data")
    tok, model = tfm.hf_tokenizer, wrapper.hf_model
    if tok.mask_token_id is None:
        raise TypeError("this learner's tokenizer has no mask token, so there is nothing to fill; hf_fill_mask works "
                        "with masked language models (lm_type='masked')")
    texts = texts_of(learn, texts)
    top_k = as_int("top_k", top_k, 1)
    bs = learn.dls.valid.bs if bs is None else as_int("bs", bs, 1)
    rows, was_training = [], model.training
    model.eval()
    try:
        for i in range(0, len(texts), bs):
            chunk = texts[i:i + bs]
            enc = tok(chunk, padding=True, truncation=True, max_length=tfm.max_length, return_tensors="pt")
            missing = [j for j in range(len(chunk)) if not (enc["input_ids"][j] == tok.mask_token_id).any()]
            if missing:
                raise ValueError(f"text {show(chunk[missing[0]])} has no mask token {show(tok.mask_token)} (or it was "
                                 f"truncated away); write {show(tok.mask_token)} where a token should be predicted, "
                                 + advice("e.g. f'I feel {tok.mask_token} today'", "e.g. \"I feel [MASK] today\""))
            device = next(model.parameters()).device
            with torch.no_grad():
                logits = model(**{k: v.to(device) for k, v in enc.items() if k in wrapper.hf_inputs}).logits.cpu()
            for j, text in enumerate(chunk):
                ids = enc["input_ids"][j]
                ids = ids[enc["attention_mask"][j] == 1]
                where = torch.nonzero(ids == tok.mask_token_id).squeeze(-1)
                probs = logits[j, where].softmax(-1)
                values, preds = probs.topk(min(top_k, probs.shape[-1]))
                single = len(where) == 1
                for m, (vs, ps) in enumerate(zip(values.tolist(), preds.tolist())):
                    for r, (v, p) in enumerate(zip(vs, ps)):
                        filled = ids.clone()
                        filled[where[m]] = p
                        filled = filled[filled != tok.pad_token_id]
                        rows.append({"text": text, "mask": m + 1, "rank": r + 1, "token": tok.decode([p]),
                                     "score": float(v), "sequence": tok.decode(filled, skip_special_tokens=single)})
    finally:
        model.train(was_training)
    return pd.DataFrame(rows, columns=["text", "mask", "rank", "token", "score", "sequence"])


@patch
def blurr_fill_mask(self: Learner, inp, n_preds=1, **kwargs):
    "blurr's name: for one text with one mask, the `n_preds` most likely filled-in texts (a list of strings)."
    df = hf_fill_mask(self, [inp], top_k=n_preds, **kwargs)
    return df["sequence"].tolist()


# ---------------------------------------------------------------------------------------- predictors
def _predict_causal(learn, texts, bs=None, **gen_kwargs):
    return {"generated": hf_generate(learn, texts, bs=bs, **gen_kwargs)}


def _predict_masked(learn, texts, bs=None, top_k=5, **kwargs):
    if kwargs: raise TypeError(f"filling masks takes top_k and bs, not {show(sorted(kwargs))}")
    return {"filled": hf_fill_mask(learn, texts, top_k=top_k, bs=bs)}


register_predictor("causal_lm", lambda learn: lm_type_of(learn) == "causal", _predict_causal)
register_predictor("masked_lm", lambda learn: lm_type_of(learn) == "masked", _predict_masked)


# -------------------------------------------------------------------------------------------- export
# hf_save_pretrained / hf_load_learner for language models (the registry is export.py's; see its doc).
_LM_TASKS = {"causal": ("text-generation", "causal language modeling (text generation)"),
             "masked": ("fill-mask", "masked language modeling (fill-mask)")}


def _describe_lm(learn):
    tfm = hf_tokenizer_of(learn.dls)
    out = {"lm_type": tfm.lm_type, "text_reader": reader_settings(learn.dls, 0), "concatenate": tfm.concatenate,
           "seed": tfm.seed, "pipeline_tag": _LM_TASKS[tfm.lm_type][0], "task_description": _LM_TASKS[tfm.lm_type][1]}
    if tfm.lm_type == "masked":
        c = tfm.collator
        out.update(mlm_probability=float(c.mlm_probability), mask_replace_prob=float(c.mask_replace_prob),
                   random_replace_prob=float(c.random_replace_prob))
    else:
        out["generation"] = generation_settings(wrapper_of(learn.model).hf_model)
    return out


def _rebuild_lm(folder, spec, df=None, dls=None, valid_pct=0.2, valid_col=None, seed=None, bs=None, **learner_kwargs):
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM
    inputs, ts = spec["inputs"], spec["task_settings"]
    lm_type = ts["lm_type"]
    tok = load_hf_tokenizer(folder)
    model = load_hf_model(folder, spec, AutoModelForCausalLM if lm_type == "causal" else AutoModelForMaskedLM)
    if dls is not None:
        kind = f"{lm_type} language-model DataLoaders (HF_LMBlock(..., lm_type={lm_type!r}))"
        if check_rebuild_dls(dls, HF_LMBeforeBatchTransform, kind).lm_type != lm_type:
            raise ValueError(f"dls must be {kind}, as the saved learner's were")
    else:
        t = inputs["tokenizer"]
        masking = {k: ts[k] for k in ("mlm_probability", "mask_replace_prob", "random_replace_prob") if k in ts}
        tfm = HF_LMBeforeBatchTransform(t.get("hf_arch"), model.config, tok, model, lm_type=lm_type,
                                        max_length=t.get("max_length"), padding=t.get("padding", True),
                                        truncation=t.get("truncation", True), concatenate=ts.get("concatenate", False),
                                        seed=ts.get("seed", 0), tok_kwargs=t.get("tok_kwargs"), **masking)
        text_kwargs = {"pool_batches": inputs["pool_batches"]} if inputs.get("pool_batches") else {}
        get_x = reader_from(ts.get("text_reader"), "text")
        dls = empty_or_new_dls(HF_LMBlock(before_batch_tfm=tfm, **text_kwargs), get_x, None,
                               {get_x.cols[0]: "placeholder text"}, batch_sizes(inputs, bs), df, valid_pct, valid_col,
                               seed, readable=ts.get("text_reader") is not None)
    return build_learner(dls, model, spec["learner"], **learner_kwargs)


def _lm_card(spec, name):
    ts, inputs = spec["task_settings"], spec["inputs"]
    tok = inputs["tokenizer"]
    col = ", ".join(map(str, (ts.get("text_reader") or {}).get("columns") or ["(a function)"]))
    causal = ts["lm_type"] == "causal"
    if causal:
        out = ["## Task", "", f"Causal language model: it continues a text (trained on column `{col}`, each token "
               "predicted from the ones before it). Its generation settings are in `generation_config.json`:", "",
               card_table(["setting", "value"], sorted((ts.get("generation") or {}).items())
                           or [("(transformers' defaults)", "")]), "",
               "## How to use", "", "**fastai_hf** (Python):", "", "```python",
               "from fastai_hf import hf_generate, hf_load_learner", f'learn = hf_load_learner("{name}")',
               'hf_generate(learn, ["I love"], max_new_tokens=20)  # text, generated (the continuation)', "```", "",
               "**fastai** (R):", "", "```r", "library(fastai)", f'learn <- hf_load_learner("{name}")',
               'predict(learn, "I love", max_new_tokens = 20)', "```", "", "**transformers** alone:", "", "```python",
               "from transformers import pipeline", "", f'pipe = pipeline("text-generation", model="{name}")',
               'pipe("I love", max_new_tokens=20, do_sample=False)', "```"]
        rows = []
    else:
        out = ["## Task", "", f"Masked language model: it predicts the tokens behind mask tokens (trained on column "
               f"`{col}`, {ts['mlm_probability']:.0%} of the tokens chosen per text; of those "
               f"{ts['mask_replace_prob']:.0%} masked, {ts['random_replace_prob']:.0%} replaced by a random token, the "
               "rest kept). Use it as the encoder of a classifier (`get_hf_objects` on this folder), or fill masks:",
               "", "## How to use", "", "**fastai_hf** (Python):", "", "```python",
               "from fastai_hf import hf_fill_mask, hf_load_learner", f'learn = hf_load_learner("{name}")',
               'hf_fill_mask(learn, ["I feel [MASK] today."], top_k=5)  # token, score, sequence per mask', "```", "",
               "**fastai** (R):", "", "```r", "library(fastai)", f'learn <- hf_load_learner("{name}")',
               'hf_fill_mask(learn, "I feel [MASK] today.", top_k = 5)', "```", "", "**transformers** alone:", "",
               "```python", "from transformers import pipeline", "", f'pipe = pipeline("fill-mask", model="{name}")',
               'pipe("I feel [MASK] today.")', "```"]
        rows = [("masking (chosen / masked / random)", f"{ts['mlm_probability']} / {ts['mask_replace_prob']} / "
                                                       f"{ts['random_replace_prob']} (seed {ts.get('seed')})")]
    rows = [("text column", col),
            ("max_length", tok.get("max_length") if tok.get("max_length") is not None else "the tokenizer's limit"),
            ("texts", "concatenated and cut into rows of max_length" if ts.get("concatenate") else "padded per batch"),
            *rows, ("batch size (training / prediction)", f"{inputs.get('bs')} / {inputs.get('val_bs')}")]
    return "\n".join(out + ["", "Settings (in `fastai_hf.json`, applied by `hf_load_learner`):", "",
                             card_table(["setting", "value"], rows)])


register_export("causal_lm", lambda learn: lm_type_of(learn) == "causal", _describe_lm, _rebuild_lm,
                pipeline_tag="text-generation", card=_lm_card)
register_export("masked_lm", lambda learn: lm_type_of(learn) == "masked", _describe_lm, _rebuild_lm,
                pipeline_tag="fill-mask", card=_lm_card)
