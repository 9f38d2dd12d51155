"""Feature extraction: one fixed vector per text from a frozen transformer ("NLP with Transformers", ch. 2).

The vectors feed any classical model (scikit-learn's LogisticRegression, an R glm, UMAP, ...). Texts
are tokenized once, sorted by token length so each batch pads as little as possible, embedded
under `torch.inference_mode` on the model's device, and the rows are put back in input order.
"""
import inspect

import numpy as np
import torch
from fastai.learner import Learner
from torch import nn

from .checks import as_int, check_texts
from .data.core import hf_tokenizer_of
from .modeling.core import HF_BaseModelWrapper, wrapper_of

__all__ = ["hf_hidden_states"]

_POOLINGS = ("cls", "mean")


def _model_and_tokenizer(hf_model, hf_tokenizer):
    "The base transformer (no head) and its tokenizer, from a model, an `HF_BaseModelWrapper` or a Learner."
    if isinstance(hf_model, Learner):
        if hf_tokenizer is None:
            bb = hf_tokenizer_of(hf_model.dls)
            hf_tokenizer = bb.hf_tokenizer if bb is not None else None
        wrapper = wrapper_of(hf_model.model)
        if wrapper is None:
            raise TypeError("this Learner's model is not an HF_BaseModelWrapper; pass a transformers model instead")
        hf_model = wrapper
    if isinstance(hf_model, HF_BaseModelWrapper): hf_model = hf_model.hf_model
    if not isinstance(hf_model, nn.Module) or not hasattr(hf_model, "config"):
        raise TypeError(f"hf_model must be a transformers model (e.g. the fourth value of get_hf_objects(), or "
                        f"AutoModel.from_pretrained(...)), not {type(hf_model).__name__}")
    if hf_tokenizer is None or not callable(hf_tokenizer) or not hasattr(hf_tokenizer, "pad"):
        raise TypeError("hf_tokenizer must be a Hugging Face tokenizer, e.g. the third value of get_hf_objects()")
    # A *ForSequenceClassification model's `base_model` is its encoder (model.bert, model.distilbert, ...);
    # a bare AutoModel is its own base model. Calling the encoder skips the (unused) head.
    return getattr(hf_model, "base_model", hf_model), hf_tokenizer


def _max_length(hf_tokenizer, base, max_length):
    if max_length is not None: return as_int("max_length", max_length, 2)
    # Tokenizers without a known limit report a huge model_max_length; fall back to the model's positions.
    n = getattr(hf_tokenizer, "model_max_length", None)
    return n if n is not None and n < 1_000_000 else getattr(base.config, "max_position_embeddings", None)


def hf_hidden_states(texts, hf_model, hf_tokenizer=None, pooling="cls", bs=64, max_length=None, layer=-1):
    """Embed `texts` with a frozen transformer: a float32 numpy array, one row per text, in input order.

    - `hf_model`: a transformers model (a bare `AutoModel` or a `*ForSequenceClassification`, whose
      encoder is used), an `HF_BaseModelWrapper`, or an HF Learner (its model and tokenizer).
    - `pooling`: "cls", the hidden state of the first token (BERT's [CLS], as the book does), or
      "mean", the attention-mask-weighted mean over the tokens (padding excluded).
    - `layer`: which hidden state, -1 the last; 0 is the embedding layer, 1..n the transformer layers.
    - `max_length`: texts longer than this many tokens are truncated (default: the tokenizer's limit).

    Padding does not change a text's vector (up to float rounding): attention ignores padded tokens.
    """
    if pooling not in _POOLINGS:
        raise ValueError(f"pooling must be one of {list(_POOLINGS)}, not {pooling!r}")
    bs = as_int("bs (the batch size)", bs, 1)
    texts = check_texts(texts)
    base, hf_tokenizer = _model_and_tokenizer(hf_model, hf_tokenizer)
    n_layers = getattr(base.config, "num_hidden_layers", None)
    layer = as_int("layer", layer)
    if n_layers is not None and not -(n_layers + 1) <= layer <= n_layers:
        raise ValueError(f"layer must be an integer from {-(n_layers or 0) - 1} to {n_layers or 0} "
                         f"(0 = embeddings, -1 = last layer), not {layer!r}")
    # Tokenize once without padding: the token counts give the sort order, each batch is padded alone.
    enc = hf_tokenizer(texts, truncation=True, max_length=_max_length(hf_tokenizer, base, max_length))
    feats = [dict(zip(enc.keys(), vals)) for vals in zip(*enc.values())]
    order = np.argsort([-len(f["input_ids"]) for f in feats], kind="stable")
    device = next(base.parameters()).device
    accepted = set(inspect.signature(base.forward).parameters)  # DistilBERT takes no token_type_ids
    out = None  # allocated from the first batch: not every config names its width hidden_size
    was_training = base.training
    base.eval()  # no dropout: the same text always gives the same vector
    try:
        with torch.inference_mode():
            for start in range(0, len(order), bs):
                idx = order[start:start + bs]
                batch = hf_tokenizer.pad([feats[i] for i in idx], return_tensors="pt")
                batch = {k: v.to(device) for k, v in batch.items() if k in accepted}
                res = base(**batch, output_hidden_states=layer != -1, return_dict=True)
                h = res.last_hidden_state if layer == -1 else res.hidden_states[layer]
                mask = batch["attention_mask"].to(h.dtype)
                if pooling == "mean":
                    pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
                else:  # first attended token, so left-padding tokenizers give [CLS]/<s> too
                    first = batch["attention_mask"].argmax(1)
                    pooled = h[torch.arange(h.shape[0], device=h.device), first]
                if out is None: out = np.empty((len(texts), pooled.shape[-1]), dtype=np.float32)
                out[idx] = pooled.float().cpu().numpy()
    finally:
        base.train(was_training)
    return out
