"""Modeling for every task family: the model wrapper, its callback and the parameter-group splitter.

The pair behaves as blurr's did: `HF_BaseModelWrapper` calls the Hugging Face model on the batch dict
and returns the model's whole output (so `learn.model(xb).logits` works in client code), and
`HF_BaseModelCallback` hands fastai the prediction (`after_pred`: the logits, or a task family's
tuple such as QA's start and end logits) and, on request, the loss the model computed itself.
"""
import inspect

from fastai.callback.core import Callback
from fastai.torch_core import params
from torch import nn

from ..checks import show
from ..data.core import hf_tokenizer_of, target_kind

__all__ = ["HF_BaseModelWrapper", "HF_BaseModelCallback", "hf_splitter", "sync_config", "wrapper_of",
           "prediction_of", "problem_type"]


class HF_BaseModelWrapper(nn.Module):
    """Calls a Hugging Face model on a batch dict and returns its output (a transformers `ModelOutput`).

    Only the batch keys that the model's `forward` names are passed (DistilBERT, for instance, takes
    no `token_type_ids`). `output_hidden_states`, `output_attentions` and `hf_model_kwargs` go to every
    call, as in blurr.
    """
    def __init__(self, hf_model, output_hidden_states=False, output_attentions=False, hf_model_kwargs=None):
        super().__init__()
        if not isinstance(hf_model, nn.Module):
            raise TypeError(f"hf_model must be a transformers model (a torch nn.Module), not {type(hf_model).__name__}")
        self.hf_model = hf_model
        sig = inspect.signature(hf_model.forward).parameters.values()
        self.hf_inputs = {p.name for p in sig if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        self.hf_model_kwargs = dict(hf_model_kwargs or {})
        if output_hidden_states: self.hf_model_kwargs["output_hidden_states"] = True
        if output_attentions: self.hf_model_kwargs["output_attentions"] = True

    def forward(self, x):
        return self.hf_model(**{k: v for k, v in x.items() if k in self.hf_inputs}, return_dict=True,
                             **self.hf_model_kwargs)


def prediction_of(output):
    """What fastai's loss and metrics see of a model output: its `logits`, or for extractive QA the
    tuple `(start_logits, end_logits)`; anything that is not a model output passes unchanged."""
    if not hasattr(output, "keys"): return output
    if "start_logits" in output: return (output["start_logits"], output["end_logits"])
    return output["logits"]


def wrapper_of(model):
    "The `HF_BaseModelWrapper` of a learner's model (also inside DataParallel), or None."
    for m in (model, getattr(model, "module", None)):
        if isinstance(m, HF_BaseModelWrapper): return m
    return None


def problem_type(dls):
    "The transformers `problem_type` of the targets of `dls`, or None where it does not apply."
    return {"multi_label": "multi_label_classification",
            "single_label": "single_label_classification"}.get(target_kind(dls))


def sync_config(learn):
    """Check the model's `num_labels` against the data's vocab and write `id2label`, `label2id` and
    `problem_type` into its config (tags per word: `id2label` and `label2id` only, as transformers'
    token classifiers have no problem type). No-op for models that are not wrapped or data without a
    label vocab."""
    wrapper = wrapper_of(learn.model)
    kind = problem_type(learn.dls)
    tags = target_kind(learn.dls) == "tokens"
    if wrapper is None or (kind is None and not tags): return
    config = wrapper.hf_model.config
    labels = [str(v) for v in learn.dls.vocab]
    if config.num_labels != len(labels):
        raise ValueError(f"the model has num_labels={config.num_labels} but the data has {len(labels)} labels "
                         f"({', '.join(labels[:10])}{', ...' if len(labels) > 10 else ''}); set "
                         f"config.num_labels = {len(labels)} before get_hf_objects(..., config=config)")
    config.id2label = dict(enumerate(labels))
    config.label2id = {l: i for i, l in enumerate(labels)}
    if kind is not None: config.problem_type = kind


class HF_BaseModelCallback(Callback):
    """Makes a Learner and an `HF_BaseModelWrapper` fit together.

    - When the Learner is built, checks that the model's `num_labels` matches the data's vocab and
      writes `id2label`, `label2id` and `problem_type` into the model config, so a saved model
      (`hf_save_pretrained`) and `transformers.pipeline` name and score the labels as the learner does.
    - After each forward pass, keeps the model's output in `self.hf_output` and gives fastai the
      prediction (`prediction_of`: the logits).
    - With `use_model_loss=True`, passes the targets to the model as its labels (as the data's
      before-batch transform says, `model_labels`: `labels`, causal-LM targets back unshifted, extractive
      QA's `start_positions` and `end_positions`) and trains on the loss the model computes itself
      instead of `learn.loss_func`.
    """
    order = -5  # before metrics, MixedPrecision and the recorder see predictions and losses

    def __init__(self, use_model_loss=False):
        self.use_model_loss, self.hf_output = use_model_loss, None

    def after_create(self): sync_config(self.learn)

    def before_batch(self):
        if self.use_model_loss and self.training and len(self.yb):
            tfm = hf_tokenizer_of(self.dls)  # the data family says how its targets become the model's labels
            labels = tfm.model_labels(self.yb) if tfm is not None else {"labels": self.yb[0]}
            self.learn.xb = ({**self.xb[0], **labels}, *self.xb[1:])

    def after_pred(self):
        self.hf_output = self.pred
        self.learn.pred = prediction_of(self.pred)

    def after_loss(self):
        out = self.hf_output
        if self.use_model_loss and self.training and out is not None and out.get("loss") is not None:
            self.learn.loss_grad = out["loss"]
            self.learn.loss = out["loss"].detach().clone()

    def after_batch(self): self.hf_output = None  # no reference to the batch's activations past its step


def _layer_list(base):
    """The longest nn.ModuleList inside the base model that is not itself inside such a list: its
    transformer layers (bert.encoder.layer, t5's block rather than a block's sublayers, ...)."""
    lists = [m for m in base.modules() if isinstance(m, nn.ModuleList) and len(m) > 1]
    nested = {id(inner) for outer in lists for inner in outer.modules() if inner is not outer}
    lists = [m for m in lists if id(m) not in nested]
    return max(lists, key=len) if lists else None


def _encoder_decoder_groups(model, take):
    """Parameter groups of an encoder-decoder model (T5, BART, bert2bert, ...): embeddings and the rest of
    the body | each encoder layer | each decoder layer | head (the LM head and anything outside the
    encoder and decoder stacks). Embeddings are claimed first, so a head tied to them stays with them."""
    enc, dec = model.get_encoder(), model.get_decoder()
    emb = []
    for m in (model, dec):
        get = getattr(m, "get_input_embeddings", None)
        e = get() if get is not None else None
        if isinstance(e, nn.Module): emb += take(params(e))
    layers = [take(params(l)) for stack in (_layer_list(enc), _layer_list(dec)) if stack is not None for l in stack]
    inside = {id(p) for p in params(enc)} | {id(p) for p in params(getattr(dec, "base_model", dec))}
    head = take([p for p in params(model) if id(p) not in inside])  # LM head, a decoder's own head (bert2bert)
    body = emb + take(params(model))
    return [body, *layers, head]


def hf_splitter(m):
    """Parameter groups: embeddings | one group per transformer layer | head.

    Works on any model with a `base_model` (bert, roberta, distilbert, deberta, electra, gpt2, ...):
    the layers are the base model's longest ModuleList; the head is everything outside the base
    model plus its pooler; the rest (embeddings, shared relative-position tables) comes first. An
    encoder-decoder model (T5, BART, an `EncoderDecoderModel`) gets embeddings | encoder layers |
    decoder layers | head. A model without such a list falls back to body | head. So `freeze()`
    trains the head, `freeze_to(-2)` adds the last layer, and `slice(lo, hi)` spreads rates from
    embeddings to head.
    """
    model = m.hf_model if isinstance(m, HF_BaseModelWrapper) else m
    if not isinstance(model, nn.Module):
        raise TypeError(f"hf_splitter splits a model's parameters; it got {show(type(model).__name__)}. Pass it "
                        "uncalled, as splitter=hf_splitter")
    seen = set()

    def take(ps):
        out = [p for p in ps if id(p) not in seen]
        seen.update(id(p) for p in out)
        return out

    config = getattr(model, "config", None)
    if getattr(config, "is_encoder_decoder", False) and hasattr(model, "get_encoder") and hasattr(model, "get_decoder"):
        return [g for g in _encoder_decoder_groups(model, take) if g]
    base = getattr(model, "base_model", model)
    layers = _layer_list(base)
    pooler = getattr(base, "pooler", None)
    layer_groups = [take(params(layer)) for layer in layers] if layers is not None else []
    head = take(params(pooler)) if isinstance(pooler, nn.Module) else []
    base_ids = {id(p) for p in params(base)}
    head = take([p for p in params(model) if id(p) not in base_ids]) + head
    body = take(params(base))
    groups = [body, *layer_groups, head] if head else [body, *layer_groups]
    return [g for g in groups if g]
