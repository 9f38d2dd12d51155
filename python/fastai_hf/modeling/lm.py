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
"""
import math

import pandas as pd
import torch
import torch.nn.functional as F
from fastai.learner import Learner, Metric
from fastcore.basics import patch

from ..checks import advice, as_int, show
from ..data.core import hf_tokenizer_of
from ..data.lm import HF_LMBeforeBatchTransform
from ..data.seq2seq import IGNORE_INDEX
from ..predict import register_predictor, texts_of
from .core import prediction_of, wrapper_of
from .seq2seq import hf_generate

__all__ = ["HF_Perplexity", "hf_fill_mask", "lm_type_of"]


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
