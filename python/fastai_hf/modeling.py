"""Modeling: the model wrapper, its callback and the parameter-group splitter."""
import inspect

import torch
from fastai.callback.core import Callback
from fastai.torch_core import params
from torch import nn

__all__ = ["HF_BaseModelWrapper", "HF_BaseModelCallback", "hf_splitter", "sync_config", "wrapper_of"]


class HF_BaseModelWrapper(nn.Module):
    """Calls a Hugging Face model on a batch dict and returns its logits.

    Only the batch keys that the model's `forward` names are passed (DistilBERT, for instance, takes
    no `token_type_ids`). The full model output of the last call stays in `self.hf_output`, so
    `HF_BaseModelCallback` can use the model's own loss.
    """
    def __init__(self, hf_model):
        super().__init__()
        if not isinstance(hf_model, nn.Module):
            raise TypeError(f"hf_model must be a transformers model (a torch nn.Module), not {type(hf_model).__name__}")
        self.hf_model = hf_model
        sig = inspect.signature(hf_model.forward).parameters.values()
        self.hf_inputs = {p.name for p in sig if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        self.hf_output = None

    def forward(self, x):
        out = self.hf_model(**{k: v for k, v in x.items() if k in self.hf_inputs}, return_dict=True)
        self.hf_output = out
        return out.logits


def _problem_type(learn):
    "multi_label_classification when the targets are one-hot (MultiCategoryBlock), else single_label."
    from fastai.data.transforms import EncodedMultiCategorize, MultiCategorize
    y_tfms = learn.dls.train_ds.tls[-1].tfms.fs if hasattr(learn.dls.train_ds, "tls") else []
    multi = any(isinstance(t, (MultiCategorize, EncodedMultiCategorize)) for t in y_tfms)
    return "multi_label_classification" if multi else "single_label_classification"


def wrapper_of(model):
    "The `HF_BaseModelWrapper` of a learner's model (also inside DataParallel), or None."
    for m in (model, getattr(model, "module", None)):
        if isinstance(m, HF_BaseModelWrapper): return m
    return None


def sync_config(learn):
    """Check the model's `num_labels` against the data's vocab and write `id2label`, `label2id` and
    `problem_type` into its config. No-op for models that are not wrapped or data without a vocab."""
    wrapper = wrapper_of(learn.model)
    vocab = getattr(learn.dls, "vocab", None)
    if wrapper is None or vocab is None or not hasattr(learn.dls, "c"): return
    config = wrapper.hf_model.config
    labels = [str(v) for v in vocab]
    if config.num_labels != len(labels):
        raise ValueError(f"the model has num_labels={config.num_labels} but the data has {len(labels)} labels "
                         f"({', '.join(labels[:10])}{', ...' if len(labels) > 10 else ''}); set "
                         f"config.num_labels = {len(labels)} before get_hf_objects(..., config=config)")
    config.id2label = dict(enumerate(labels))
    config.label2id = {l: i for i, l in enumerate(labels)}
    config.problem_type = _problem_type(learn)


class HF_BaseModelCallback(Callback):
    """Makes a Learner and an `HF_BaseModelWrapper` fit together.

    - When the Learner is built, checks that the model's `num_labels` matches the data's vocab and
      writes `id2label`, `label2id` and `problem_type` into the model config, so a saved model
      (`hf_save_pretrained`) and `transformers.pipeline` name and score the labels as the learner does.
    - With `use_model_loss=True`, passes the targets to the model as `labels` and trains on the loss
      the model computes itself instead of `learn.loss_func`.
    """
    order = -5  # before metrics and the recorder see predictions and losses

    def __init__(self, use_model_loss=False):
        self.use_model_loss = use_model_loss

    def after_create(self): sync_config(self.learn)

    def before_batch(self):
        if self.use_model_loss and self.training and len(self.yb):
            self.learn.xb = ({**self.xb[0], "labels": self.yb[0]}, *self.xb[1:])

    def after_loss(self):
        out = getattr(wrapper_of(self.learn.model), "hf_output", None)
        if self.use_model_loss and self.training and out is not None and out.loss is not None:
            self.learn.loss_grad = out.loss
            self.learn.loss = out.loss.detach().clone()


def _layer_list(base):
    "The longest nn.ModuleList inside the base model: its transformer layers (bert.encoder.layer, ...)."
    lists = [m for m in base.modules() if isinstance(m, nn.ModuleList) and len(m) > 1]
    return max(lists, key=len) if lists else None


def hf_splitter(m):
    """Parameter groups: embeddings | one group per transformer layer | head.

    Works on any model with a `base_model` (bert, roberta, distilbert, deberta, electra, ...):
    the layers are the base model's longest ModuleList; the head is everything outside the base
    model plus its pooler; the rest (embeddings, shared relative-position tables) comes first. A
    model without such a list falls back to body | head. So `freeze()` trains the head,
    `freeze_to(-2)` adds the last layer, and `slice(lo, hi)` spreads rates from embeddings to head.
    """
    model = m.hf_model if isinstance(m, HF_BaseModelWrapper) else m
    base = getattr(model, "base_model", model)
    layers = _layer_list(base)
    pooler = getattr(base, "pooler", None)
    seen = set()

    def take(ps):
        out = [p for p in ps if id(p) not in seen]
        seen.update(id(p) for p in out)
        return out

    layer_groups = [take(params(layer)) for layer in layers] if layers is not None else []
    head = take(params(pooler)) if isinstance(pooler, nn.Module) else []
    base_ids = {id(p) for p in params(base)}
    head = take([p for p in params(model) if id(p) not in base_ids]) + head
    body = take(params(base))
    groups = [body, *layer_groups, head] if head else [body, *layer_groups]
    return [g for g in groups if g]
