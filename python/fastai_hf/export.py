"""Export: a self-describing Hugging Face folder from a trained learner, and the learner back from it.

`learn.export()` / `load_learner()` (fastai's own) pickle the whole learner: loading such a file
runs whatever code it names, and it breaks when a class changes. `hf_save_pretrained(learn, dir)`
writes a standard Hugging Face folder instead, and `hf_load_learner(dir)` rebuilds the learner from
it without unpickling anything:

    config.json            transformers config: architecture, id2label / label2id, problem_type
    model.safetensors      the weights, safetensors only (loading them runs no code)
    generation_config.json a generative model's decoding settings (beams, max new tokens, ...)
    tokenizer.json, tokenizer_config.json, ...   the tokenizer, as save_pretrained writes it
    fastai_hf.json         what transformers does not keep: the task kind, the decision thresholds,
                           the predict-time settings (text column, max_length, truncation, padding,
                           batch sizes), the label layout of the data, the learner's loss, optimizer,
                           metrics and frozen groups, the run record of every fit, the versions that
                           wrote it, and a SHA-256 of every other file (and of itself) to check on load
    README.md              the model card, with the Hub's YAML metadata header (not checked on load:
                           edit it freely)

The folder is written through `atomic_folder`: it appears whole or not at all, and an earlier folder
at that path is replaced only once the new one is complete.

Task families plug in with `register_export(kind, applies, describe, rebuild)`: `describe(learn)`
returns the family's JSON settings (stored as `task_settings`), `rebuild(folder, spec, ...)` makes a
learner from them; `hf_load_learner` picks the family by the `task` saved in `fastai_hf.json`.
Sequence classification (single- and multi-label) is the family registered here; the other
families register themselves beside their predictors (this module imports none of them): token
classification (`modeling/tokens.py`), extractive QA (`modeling/qa.py`), `seq2seq`
(`modeling/seq2seq.py`), `causal_lm` and `masked_lm` (`modeling/lm.py`). A family's own metric
classes come back through `register_metric(cls, kwargs_of)`; `MultiTargetLoss` (losses.py) is
restored like fastai's flat losses.
"""
import functools
import hashlib
import json
import platform
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np
import pandas as pd
import torch
import transformers
from fastai.data.block import CategoryBlock, MultiCategoryBlock
from fastai.data.block import DataBlock as _UncheckedDataBlock
from fastai.data.core import DataLoaders
from fastai.data.transforms import (ColReader, ColSplitter, EncodedMultiCategorize, MultiCategorize,
                                    RandomSplitter)
from fastai.learner import AvgMetric, Learner
from fastai.metrics import AccumMetric
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from .atomic import atomic_folder
from .card import render_card
from .checks import advice, as_int, as_number, show
from .data.classification import HF_TextBlock
from .data.core import DataBlock, HF_BeforeBatchTransform, hf_tokenizer_of, target_kind, text_columns
from .history import history_callback, run_record
from .losses import MultiTargetLoss
from .modeling.core import HF_BaseModelCallback, HF_BaseModelWrapper, hf_splitter, problem_type, sync_config, \
    wrapper_of
from .predict import label_thresholds, label_vocab

__all__ = ["hf_save_pretrained", "hf_load_learner", "model_card", "register_export", "register_metric",
           "export_family_of", "export_spec", "read_spec", "verify_folder", "SPEC_FILE", "CARD_FILE", "FORMAT_VERSION"]

FORMAT = "fastai_hf"
FORMAT_VERSION = 1
SPEC_FILE = "fastai_hf.json"
CARD_FILE = "README.md"
# Files that hold pickles (or may): never written, never read.
_PICKLE_SUFFIXES = (".bin", ".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib")


# =================================================================================== registry ====
class ExportFamily(NamedTuple):
    kind: str
    applies: Callable          # learn -> bool
    describe: Callable         # learn -> dict of JSON values (the family's task_settings)
    rebuild: Callable          # (folder, spec, **options) -> Learner
    pipeline_tag: Optional[str] = None   # the Hub's task name for the card, e.g. "text-classification"
    card: Optional[Callable] = None      # (spec, name) -> markdown: the family's sections of the model card


_FAMILIES = {}
_DEFAULT_KIND = "text_classification"


def register_export(kind, applies, describe, rebuild, pipeline_tag=None, card=None):
    """Register how a task family's learners are saved and rebuilt.

    - `kind`: the name saved as `task` in fastai_hf.json (e.g. "token_classification").
    - `applies(learn)`: whether a learner belongs to the family. Families registered by other
      modules are asked before text classification, which takes any learner they leave.
    - `describe(learn)`: the family's settings as JSON values (labels, data layout, decoding
      settings...); saved as `task_settings`.
    - `rebuild(folder, spec, df=None, dls=None, valid_pct=0.2, valid_col=None, seed=None, bs=None,
      **learner_kwargs)`: a Learner from the verified folder and its parsed fastai_hf.json; the helpers
      `load_hf_model`, `load_hf_tokenizer`, `before_batch_from`, `rebuilt_dls` (empty DataLoaders from
      a placeholder row, or DataLoaders from `df`) and `build_learner` do the shared work; `spec["inputs"]`
      holds the tokenizer settings and batch sizes every family gets (`tokenizer_settings`).
    - `pipeline_tag`: the Hub task of the model card; `card(spec, name)`: markdown for the card's
      task section (labels, thresholds, how to use the model; `name` is the folder's name).
    `describe` may put `pipeline_tag` (this learner's Hub task, over the family's: a seq2seq learner
    scored with ROUGE is "summarization") and `task_description` (the card's first line: "a ... for
    <task_description>") in its settings. A family registered in its own module (e.g.
    `modeling/tokens.py`) is known once that module is imported, which `import fastai_hf` does; its
    metric classes come back through `register_metric`."""
    _FAMILIES[kind] = ExportFamily(kind, applies, describe, rebuild, pipeline_tag, card)


def export_family_of(learn):
    "The `ExportFamily` a learner is saved as, or None when no family takes it."
    order = [k for k in _FAMILIES if k != _DEFAULT_KIND] + [_DEFAULT_KIND]
    return next((_FAMILIES[k] for k in order if k in _FAMILIES and _FAMILIES[k].applies(learn)), None)


# ============================================================================ JSON settings ====
def _json(value, what):
    "`value` as JSON values, or a TypeError naming the setting that cannot be saved."
    if value is None or isinstance(value, (bool, str)): return value
    if isinstance(value, (int, np.integer)): return int(value)
    if isinstance(value, (float, np.floating)): return float(value)
    if torch.is_tensor(value): value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray): return value.tolist()
    if isinstance(value, (list, tuple)): return [_json(v, what) for v in value]
    if isinstance(value, dict): return {str(k): _json(v, what) for k, v in value.items()}
    raise TypeError(f"cannot save {what}: {show(value)} is not a number, string, list or dict")


def _finite(value):
    "NaN and infinities as None (null): strict JSON, which R's jsonlite and the Hub read too."
    if isinstance(value, float) and not np.isfinite(value): return None
    if isinstance(value, dict): return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)): return [_finite(v) for v in value]
    return value


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""): h.update(chunk)
    return h.hexdigest()


def _spec_digest(spec):
    "A SHA-256 of fastai_hf.json's content without its own digest (so an edited file is detected)."
    body = {k: v for k, v in spec.items() if k != "spec_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _versions(extra=None):
    import fastai
    import safetensors
    import tokenizers

    from .version import __version__
    out = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
           "fastai": fastai.__version__, "fastai_hf": __version__}
    out.update({str(k): str(v) for k, v in (extra or {}).items()})
    return out


def tokenizer_settings(tfm):
    "The settings of an `HF_BeforeBatchTransform` (how texts are tokenized), as JSON values."
    return {"class": type(tfm).__name__, "hf_arch": _json(tfm.hf_arch, "hf_arch"),
            "max_length": tfm.max_length, "padding": _json(tfm.padding, "padding"),
            "truncation": _json(tfm.truncation, "truncation"), "is_split_into_words": bool(tfm.is_split_into_words),
            "tok_kwargs": _json({k: v for k, v in tfm.tok_kwargs.items() if k != "is_split_into_words"}, "tok_kwargs")}


def before_batch_from(settings, hf_tokenizer, cls=HF_BeforeBatchTransform, **kwargs):
    """An `HF_BeforeBatchTransform` (or a family's subclass `cls`) from `tokenizer_settings`; `kwargs`
    are the subclass's own arguments (e.g. QA's `stride`, token classification's `ignore_token_id`)."""
    return cls(hf_arch=settings.get("hf_arch"), hf_tokenizer=hf_tokenizer, max_length=settings.get("max_length"),
               padding=settings.get("padding", True), truncation=settings.get("truncation", True),
               is_split_into_words=settings.get("is_split_into_words", False), tok_kwargs=settings.get("tok_kwargs"),
               **kwargs)


# ------------------------------------------------------------------ loss, optimizer, metrics ----
def _losses():
    from fastai.losses import (BCEWithLogitsLossFlat, CrossEntropyLossFlat, FocalLossFlat,
                               LabelSmoothingCrossEntropyFlat)
    return {c.__name__: c for c in (BCEWithLogitsLossFlat, CrossEntropyLossFlat, FocalLossFlat,
                                    LabelSmoothingCrossEntropyFlat)}


_LOSS_ARGS = ("weight", "pos_weight", "reduction", "ignore_index", "label_smoothing", "gamma", "eps")


def _thresh_spec(t):
    "A threshold as saved: its value and its type, so the reloaded one compares exactly as before."
    if torch.is_tensor(t): return {"type": "tensor", "dtype": str(t.dtype).replace("torch.", ""), "value": t.tolist()}
    if isinstance(t, np.ndarray): return {"type": "array", "dtype": str(t.dtype), "value": t.tolist()}
    if isinstance(t, (list, tuple)): return {"type": "list", "value": [float(v) for v in t]}
    return {"type": "number", "value": float(t)}


def _thresh_from(spec):
    kind, value = spec["type"], spec["value"]
    if kind == "tensor": return torch.tensor(value, dtype=getattr(torch, spec["dtype"]))
    if kind == "array": return np.asarray(value, dtype=spec["dtype"])
    if kind == "list": return list(value)
    return float(value)


def loss_settings(loss):
    """A fastai flat loss as JSON: its class name, flattening and the arguments of the torch loss
    inside (weights, reduction, ...); `restorable` is False for a loss `loss_from` cannot rebuild.
    A `MultiTargetLoss` is saved as its weights and the settings of each of its losses."""
    name = type(loss).__name__
    if isinstance(loss, MultiTargetLoss) and name == "MultiTargetLoss":
        parts = [loss_settings(lf) for lf in loss.loss_funcs]
        return {"name": name, "restorable": all(p["restorable"] for p in parts), "weights": list(loss.weights),
                "reduction": loss.reduction, "losses": parts}
    out = {"name": name, "restorable": name in _losses()}
    for k in ("axis", "flatten", "floatify", "is_2d"):
        if hasattr(loss, k): out[k] = _json(getattr(loss, k), f"the loss's {k}")
    if hasattr(loss, "thresh"): out["thresh"] = _thresh_spec(loss.thresh)
    func = getattr(loss, "func", None)
    kwargs = {}
    for k in _LOSS_ARGS:
        v = getattr(func, k, None)
        if v is not None: kwargs[k] = _json(v, f"the loss's {k}")
    out["kwargs"] = kwargs
    return out


def loss_from(settings):
    "The loss `loss_settings` described, or None when it is not one `loss_from` knows."
    if settings.get("name") == "MultiTargetLoss":
        parts = [loss_from(p) for p in settings.get("losses") or []]
        if not parts or any(p is None for p in parts): return None
        loss = MultiTargetLoss(loss_classes=[type(p) for p in parts], weights=settings["weights"],
                               reduction=settings.get("reduction", "mean"))
        loss.loss_funcs = parts
        return loss
    cls = _losses().get(settings.get("name"))
    if cls is None: return None
    kwargs = dict(settings.get("kwargs") or {})
    for k in ("weight", "pos_weight"):
        if k in kwargs: kwargs[k] = torch.tensor(kwargs[k], dtype=torch.float32)
    loss = cls(**kwargs)
    for k in ("axis", "flatten", "floatify", "is_2d"):
        if k in settings: setattr(loss, k, settings[k])
    if "thresh" in settings: loss.thresh = _thresh_from(settings["thresh"])
    return loss


def _optimizers():
    from fastai import optimizer as fo

    from .optim import Adam, FusedAdam
    # "Adam" is the package's (fastai's Adam in the fused kernel); a learner saved with fastai's own
    # Adam gets it back too: the same updates.
    return {"FusedAdam": FusedAdam, "Adam": Adam, **{n: getattr(fo, n) for n in ("SGD", "RMSProp", "RAdam", "QHAdam",
                                                                                   "Larc", "Lamb", "ranger")}}


def _partial_parts(f):
    "(function, keyword arguments) of a function or a functools.partial of one without positional args."
    if isinstance(f, functools.partial):
        if f.args: return None, None
        return f.func, dict(f.keywords)
    return f, {}


def _opt_settings(opt_func):
    f, kwargs = _partial_parts(opt_func)
    name = getattr(f, "__name__", type(f).__name__)
    try: kwargs = _json(kwargs, "optimizer arguments")
    except TypeError: kwargs = None
    from fastai.optimizer import Adam as fastai_adam
    known = _optimizers()
    return {"name": name, "kwargs": kwargs, "restorable": name in known and kwargs is not None
            and (known[name] is f or (name == "Adam" and f is fastai_adam))}


def _opt_from(settings):
    f = _optimizers().get(settings.get("name"))
    if f is None or not settings.get("restorable"): return None
    return functools.partial(f, **settings["kwargs"]) if settings["kwargs"] else f


_METRICS = {}


def register_metric(cls, kwargs_of=None):
    """Make metrics of class `cls` (a task family's, e.g. `EntityF1`) restorable by `hf_load_learner`:
    `kwargs_of(metric)` gives the JSON keyword arguments that rebuild it as `cls(**kwargs)` (default:
    none). Only metrics of exactly that class are saved this way (a subclass is not). Returns `cls`,
    so it also works as a class decorator (`HF_Perplexity`)."""
    _METRICS[cls.__name__] = (cls, kwargs_of or (lambda m: {}))
    return cls


def _metric_settings(m):
    """A metric as JSON when it can be rebuilt exactly (a function of fastai.metrics or sklearn.metrics, or
    a class given to `register_metric`), else its name."""
    import fastai.metrics as fm
    import sklearn.metrics as skm
    spec = {"name": getattr(m, "name", type(m).__name__), "restorable": False}
    registered = _METRICS.get(type(m).__name__)
    if registered is not None and registered[0] is type(m):
        try: kwargs = _json(registered[1](m), "metric")
        except TypeError: return spec
        return {**spec, "type": "registered", "class": type(m).__name__, "kwargs": kwargs, "restorable": True}
    if type(m) not in (AvgMetric, AccumMetric): return spec
    f, kwargs = _partial_parts(m.func)
    module = next((mod for mod in (fm, skm) if f is not None and getattr(mod, getattr(f, "__name__", ""), None) is f), None)
    if module is None: return spec
    try:
        spec.update(type=type(m).__name__, module=module.__name__, func=f.__name__, func_kwargs=_json(kwargs, "metric"))
        if type(m) is AccumMetric:
            spec.update(dim_argmax=m.dim_argmax, activation=_json(m.activation, "metric"), thresh=_json(m.thresh, "metric"),
                        to_np=m.to_np, invert_arg=m.invert_args, flatten=m.flatten, kwargs=_json(m.kwargs, "metric"))
    except TypeError:
        return spec
    spec["restorable"] = True
    return spec


def _metric_from(spec):
    import fastai.metrics as fm
    import sklearn.metrics as skm
    if not spec.get("restorable"): return None
    if spec.get("type") == "registered":
        registered = _METRICS.get(spec.get("class"))
        return registered[0](**(spec.get("kwargs") or {})) if registered is not None else None
    module = {fm.__name__: fm, skm.__name__: skm}.get(spec.get("module"))
    f = getattr(module, spec["func"], None) if module is not None else None
    if not callable(f): return None
    if spec["func_kwargs"]: f = functools.partial(f, **spec["func_kwargs"])
    if spec["type"] == "AvgMetric": return AvgMetric(f)
    return AccumMetric(f, dim_argmax=spec["dim_argmax"], activation=spec["activation"], thresh=spec["thresh"],
                       to_np=spec["to_np"], invert_arg=spec["invert_arg"], flatten=spec["flatten"], name=spec["name"],
                       **(spec["kwargs"] or {}))


_BUILT_IN_CBS = {"TrainEvalCallback", "Recorder", "CastToTensor", "ProgressCallback", "HistoryCallback",
                 "HF_BaseModelCallback", "MixedPrecision"}


def learner_settings(learn):
    """What a Learner was built with, as JSON: loss, optimizer, metrics, splitter, default learning rate,
    weight decay, momentum, the wrapper's and callback's options, mixed precision, frozen groups."""
    wrapper = wrapper_of(learn.model)
    hf_cb = next((cb for cb in learn.cbs if isinstance(cb, HF_BaseModelCallback)), None)
    mp = next((cb for cb in learn.cbs if type(cb).__name__ == "MixedPrecision"), None)
    splitter = getattr(learn.splitter, "__name__", type(learn.splitter).__name__)
    return {
        "loss": loss_settings(learn.loss_func), "opt_func": _opt_settings(learn.opt_func),
        "metrics": [_metric_settings(m) for m in learn.metrics],
        "splitter": {"name": splitter, "restorable": learn.splitter is hf_splitter},
        "lr": _json(learn.lr, "lr") if isinstance(learn.lr, (int, float)) else None,
        "wd": _json(learn.wd, "wd"), "wd_bn_bias": bool(learn.wd_bn_bias), "train_bn": bool(learn.train_bn),
        "moms": _json(learn.moms, "moms"),
        "use_model_loss": bool(getattr(hf_cb, "use_model_loss", False)),
        "hf_model_kwargs": _json(getattr(wrapper, "hf_model_kwargs", {}), "hf_model_kwargs"),
        "mixed_precision": getattr(mp, "amp_mode", None) and str(getattr(mp.amp_mode, "value", mp.amp_mode)),
        "frozen_groups": int(getattr(learn.opt, "frozen_idx", 0) or 0) if learn.opt is not None else 0,
        "callbacks_not_saved": sorted({type(cb).__name__ for cb in learn.cbs if not _plain_model_cb(cb)}
                                      - _BUILT_IN_CBS),
    }


def _plain_model_cb(cb):
    """A subclass of `HF_BaseModelCallback` that adds nothing of its own (blurr's per-task names, such as
    `HF_QstAndAnsModelCallback`): rebuilt as `HF_BaseModelCallback`."""
    if not isinstance(cb, HF_BaseModelCallback): return False
    own = [c for c in type(cb).__mro__ if c is not HF_BaseModelCallback and issubclass(c, HF_BaseModelCallback)]
    return all(set(vars(c)) <= {"__module__", "__doc__", "__qualname__", "__firstlineno__", "__static_attributes__",
                                "__dict__", "__weakref__"} for c in own)


def build_learner(dls, hf_model, settings, **overrides):
    """A Learner on `dls` and `hf_model` as `learner_settings` describe it. `overrides` (loss_func,
    opt_func, metrics, splitter, lr, wd, ...) replace saved settings; `cbs` are added to the
    `HF_BaseModelCallback`. Parts that cannot be rebuilt (a custom loss, metric or optimizer) are
    replaced by defaults with a warning that says how to pass them."""
    lost = []
    loss = overrides.pop("loss_func", None) or loss_from(settings["loss"])
    if loss is None:
        lost.append(f"the loss {settings['loss']['name']} (pass loss_func=)")
    opt_func = overrides.pop("opt_func", None) or _opt_from(settings["opt_func"])
    if opt_func is None:
        from .optim import FusedAdam
        opt_func = FusedAdam
        lost.append(f"the optimizer {settings['opt_func']['name']} (FusedAdam instead; pass opt_func=)")
    if "metrics" in overrides: metrics = overrides.pop("metrics")
    else:
        metrics = [_metric_from(m) for m in settings["metrics"]]
        missing = [s["name"] for s, m in zip(settings["metrics"], metrics) if m is None]
        if missing: lost.append(f"the metrics {', '.join(missing)} (pass metrics=)")
        metrics = [m for m in metrics if m is not None]
    splitter = overrides.pop("splitter", None)
    if splitter is None:
        splitter = hf_splitter
        if not settings["splitter"]["restorable"]:
            lost.append(f"the splitter {settings['splitter']['name']} (hf_splitter instead; pass splitter=)")
    cbs = [HF_BaseModelCallback(use_model_loss=settings["use_model_loss"])] + list(overrides.pop("cbs", None) or [])
    if settings.get("callbacks_not_saved"):
        lost.append(f"the callbacks {', '.join(settings['callbacks_not_saved'])} (pass cbs=)")
    kwargs = {k: settings[k] for k in ("wd", "wd_bn_bias", "train_bn") if settings.get(k) is not None}
    if settings.get("lr") is not None: kwargs["lr"] = settings["lr"]
    if settings.get("moms") is not None: kwargs["moms"] = tuple(settings["moms"])
    kwargs.update(overrides)
    if lost:
        warnings.warn("not restored from the folder: " + "; ".join(lost), stacklevel=3)
    model = HF_BaseModelWrapper(hf_model, hf_model_kwargs=settings.get("hf_model_kwargs"))
    learn = Learner(dls, model, loss_func=loss, opt_func=opt_func, splitter=splitter, metrics=metrics, cbs=cbs, **kwargs)
    amp = settings.get("mixed_precision")
    if amp == "fp16": learn.to_fp16()
    elif amp == "bf16": learn.to_bf16()
    if settings.get("frozen_groups"):
        learn.create_opt()
        learn.freeze_to(settings["frozen_groups"])
    return learn


def rebuilt_dls(blocks, get_x, get_y, placeholder, df=None, valid_pct=0.2, valid_col=None, seed=None, what="data",
                **sizes):
    """DataLoaders for a family's `rebuild`: without `df`, empty ones, set up on `placeholder` (a one-row
    DataFrame in the saved layout: no user data, so fastai's own DataBlock, unchecked); with `df`, from
    it (checked as any `DataBlock` source), split by `valid_col` or at random (`valid_pct`, `seed`).
    `sizes` (bs, val_bs) go to `dataloaders`; `what` names the data in the error for a `df` of the wrong type."""
    if df is None:
        dblock = _UncheckedDataBlock(blocks=blocks, get_x=get_x, get_y=get_y, splitter=lambda items: ([0], [0]))
        return dblock.dataloaders(placeholder, **sizes).new_empty()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a data frame of {what}, not {type(df).__name__}")
    splitter = ColSplitter(valid_col) if valid_col is not None else RandomSplitter(valid_pct, seed=seed)
    return DataBlock(blocks=blocks, get_x=get_x, get_y=get_y, splitter=splitter).dataloaders(df, **sizes)


def reader_columns(dls, i):
    """The columns the `ColReader` of DataLoaders' `i`-th getter (0: the inputs, -1: the targets) reads,
    or None when the data is read with a function (a folder then cannot say how to read a `df`)."""
    reader = next((t for t in dls.train_ds.tls[i].tfms.fs if isinstance(t, ColReader)), None)
    if reader is None or reader.pref or reader.suff or reader.label_delim: return None
    return _json(list(reader.cols), "the data's columns")


# ======================================================================================= save ====
def _hf_parts(learn):
    model, tfm = wrapper_of(learn.model), hf_tokenizer_of(learn.dls)
    if model is None or tfm is None:
        raise TypeError("hf_save_pretrained needs a learner built from HF_BaseModelWrapper and an HF_TextBlock "
                        "(or a task family's block, e.g. HF_TokenClassBlock or HF_QABlock)")
    return model.hf_model, tfm


def _count(dl):
    try: return int(len(dl.dataset))
    except (TypeError, AttributeError): return None


def export_spec(learn, versions=None):
    """The content of fastai_hf.json for `learn` (without the file hashes, which `hf_save_pretrained`
    adds): format, task, model, inputs, learner settings, task settings, run record and versions."""
    hf_model, tfm = _hf_parts(learn)
    family = export_family_of(learn)
    if family is None:
        raise TypeError("hf_save_pretrained cannot save this learner: no task family takes it (a sequence "
                        "classifier needs CategoryBlock or MultiCategoryBlock targets; the families saved are "
                        f"{show(sorted(_FAMILIES))}, each from its own HF block)")
    sync_config(learn)
    record = run_record(learn)
    cb = history_callback(learn)
    dls = learn.dls
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "task": family.kind,
        "model": {"class": type(hf_model).__name__, "model_type": hf_model.config.model_type,
                  "base_model": getattr(cb, "base_model", None) or hf_model.name_or_path or None,
                  "num_parameters": int(sum(p.numel() for p in hf_model.parameters())),
                  "problem_type": getattr(hf_model.config, "problem_type", None)},
        "inputs": {"text_columns": _json(text_columns(dls), "the text column"), "tokenizer": tokenizer_settings(tfm),
                   "bs": getattr(dls.train, "bs", None), "val_bs": getattr(dls.valid, "bs", None),
                   "pool_batches": getattr(dls.train, "pool_batches", None), "dl_type": type(dls.train).__name__},
        "data": {"n_train": _count(dls.train), "n_valid": _count(dls.valid)},
        "learner": learner_settings(learn),
        "task_settings": family.describe(learn),
        "run_record": record,
        "versions": _versions(versions),
        "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def hf_save_pretrained(learn, path, card=True, card_data=None, versions=None, **kwargs):
    """Save the learner as a self-describing Hugging Face folder at `path` (see the module doc for
    the layout); returns the path. Written all or nothing (`atomic_folder`): a folder already at
    `path` is replaced once the new one is complete.

    `transformers.pipeline("text-classification", model=path, top_k=None)` scores texts as the learner
    does (a token classifier's folder: `pipeline("token-classification", aggregation_strategy="simple")`;
    an extractive QA model's: `pipeline("question-answering")` of transformers 4; a causal LM's:
    `pipeline("text-generation")`, a masked LM's: `pipeline("fill-mask")`, a seq2seq one:
    `AutoModelForSeq2SeqLM.generate` with the saved generation_config); `hf_load_learner(path)`
    rebuilds the learner, thresholds and the family's predict-time settings included, without unpickling.
    `card=False` skips the model card; `card_data` (a dict) adds to or overrides its YAML header
    (e.g. `{"base_model": "sentence-transformers/all-MiniLM-L6-v2", "license": "apache-2.0"}`);
    `versions` adds versions to record (the R package passes R's and its own). Other keyword
    arguments go to the model's `save_pretrained`; weights are always safetensors."""
    hf_model, tfm = _hf_parts(learn)
    if kwargs.get("safe_serialization", True) is False:
        raise ValueError("hf_save_pretrained writes safetensors only (loading them runs no code); drop "
                         + advice("safe_serialization=False", "safe_serialization = FALSE"))
    if card_data is not None and not isinstance(card_data, dict):
        raise TypeError(f"card_data must be a dict of model card metadata, not {show(card_data)}")
    spec = _finite(export_spec(learn, versions))
    path = Path(path)
    with atomic_folder(path, replaces="config.json") as tmp:  # never deletes a folder of other files
        hf_model.save_pretrained(tmp, **kwargs)
        tfm.hf_tokenizer.save_pretrained(tmp)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        pickled = [p.name for p in files if p.suffix.lower() in _PICKLE_SUFFIXES]
        if pickled:
            raise ValueError(f"save_pretrained wrote {show(pickled)}, files that may hold pickles; "
                             "hf_save_pretrained writes safetensors only")
        spec["files"] = {p.relative_to(tmp).as_posix(): {"sha256": _sha256(p), "bytes": p.stat().st_size}
                         for p in files}
        spec["spec_sha256"] = _spec_digest(spec)
        (tmp / SPEC_FILE).write_text(json.dumps(spec, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        if card: (tmp / CARD_FILE).write_text(model_card(spec, name=path.name, card_data=card_data), encoding="utf-8")
    return path


def model_card(spec, name="model", card_data=None):
    """The model card (README.md) `hf_save_pretrained` writes, from a fastai_hf.json `spec` (a dict); give
    a Learner instead to preview the card it would get (without its files)."""
    if not isinstance(spec, dict): spec = export_spec(spec)
    return render_card(spec, _FAMILIES.get(spec.get("task")), name=name, card_data=card_data)


# ======================================================================================= load ====
def read_spec(path):
    "The parsed fastai_hf.json of a folder written by `hf_save_pretrained`, with errors that name the file."
    folder = Path(path).expanduser()
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"the model folder {show(str(folder))} {what}; give the folder hf_save_pretrained wrote")
    file = folder / SPEC_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{SPEC_FILE} is missing from {show(str(folder))}: it was not written by "
                                "hf_save_pretrained, or was copied in part. A plain transformers folder loads with "
                                + advice("get_hf_objects(path)", "get_hf_objects(path)") + " instead")
    try:
        spec = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{SPEC_FILE} in {show(str(folder))} is damaged (not valid JSON: {e}); save the learner "
                         "again or copy the folder again") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise ValueError(f"{SPEC_FILE} in {show(str(folder))} is not a fastai_hf description (no \"format\": "
                         f"\"{FORMAT}\"); save the learner again with hf_save_pretrained")
    version = spec.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{SPEC_FILE} in {show(str(folder))} has format version {show(version)}, newer than this "
                         f"fastai_hf reads ({FORMAT_VERSION}); update fastai_hf")
    return spec


def verify_folder(path, spec=None):
    """Check that every file `hf_save_pretrained` wrote is in the folder, unchanged (its SHA-256 as
    recorded in fastai_hf.json, whose own content is checked too). Raises FileNotFoundError or
    ValueError naming the file; returns the spec."""
    folder = Path(path).expanduser()
    spec = read_spec(folder) if spec is None else spec
    if spec.get("spec_sha256") != _spec_digest(spec):
        raise ValueError(f"{SPEC_FILE} in {show(str(folder))} was changed after hf_save_pretrained wrote it (its "
                         "content no longer matches its recorded SHA-256); copy the folder again from its source, "
                         "or load it as it is with " + advice("verify=False", "verify = FALSE"))
    for name, info in (spec.get("files") or {}).items():
        file = folder / name
        if not file.is_file():
            raise FileNotFoundError(f"{name} is missing from {show(str(folder))}: hf_save_pretrained wrote it there "
                                    "and the learner needs it; copy the whole folder again")
        if file.stat().st_size != info["bytes"] or _sha256(file) != info["sha256"]:
            raise ValueError(f"{name} in {show(str(folder))} was changed or damaged after hf_save_pretrained wrote it "
                             f"(its SHA-256 differs from the one in {SPEC_FILE}); copy the folder again from its "
                             "source, or load it as it is with " + advice("verify=False", "verify = FALSE"))
    return spec


def load_hf_tokenizer(folder):
    "The tokenizer saved in `folder` (local files only; no remote code)."
    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)


def load_hf_model(folder, spec, auto_cls):
    """The model saved in `folder`, from its safetensors weights only: the class recorded in the spec
    when transformers has it, else `auto_cls` (e.g. AutoModelForSequenceClassification)."""
    cls = getattr(transformers, spec.get("model", {}).get("class") or "", None)
    if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)): cls = auto_cls
    return cls.from_pretrained(str(folder), use_safetensors=True, local_files_only=True, trust_remote_code=False)


def hf_load_learner(path, df=None, dls=None, valid_pct=0.2, valid_col=None, seed=None, bs=None, verify=True,
                    **learner_kwargs):
    """A Learner rebuilt from a folder `hf_save_pretrained` wrote, without unpickling anything: same
    weights, tokenizer and tokenization settings, labels, decision thresholds, loss, optimizer,
    metrics and frozen groups, so it predicts exactly as the learner that saved it; its run record
    continues the saved one. Generative learners (task `seq2seq`, `causal_lm`, `masked_lm`) come back
    generating the same texts and filling masks as before, with their generation and masking settings
    and their metrics (`HF_Seq2SeqMetricsCallback`, `HF_Perplexity`).

    Works for every registered task family: sequence classification (`hf_predict`), token
    classification (`predict_tokens`: the same words and entities) and extractive QA (`predict_qa`).

    Without data it predicts only (its DataLoaders are empty). To train it further, give
    - `df`: a DataFrame laid out as the data it was trained on (the same text and label columns; a
      token classifier's columns of word lists and tag lists; QA's question, context, answer text
      and answer start columns; the source and target columns for seq2seq; the text column for a
      language model),
      split by `valid_col` (a column of True for validation rows) or at random (`valid_pct`, `seed`);
      batches of `bs` (default: the saved batch size); or
    - `dls`: DataLoaders you built, with the same labels.
    `verify=False` skips the check of the files against their recorded SHA-256. Other keyword
    arguments go to the Learner (`loss_func`, `metrics`, `opt_func`, `cbs`, `splitter`, `wd`, ...)."""
    folder = Path(path).expanduser()
    spec = read_spec(folder)
    if verify: verify_folder(folder, spec)
    family = _FAMILIES.get(spec.get("task"))
    if family is None:
        raise ValueError(f"{SPEC_FILE} in {show(str(folder))} describes a {show(spec.get('task'))} model, which this "
                         f"fastai_hf cannot load (it loads {show(sorted(_FAMILIES))}); update fastai_hf")
    if df is not None and dls is not None:
        raise ValueError("give df or dls, not both")
    valid_pct = as_number("valid_pct", valid_pct, 0, 1)
    if bs is not None: bs = as_int("bs", bs, 1)
    if seed is not None: seed = as_int("seed", seed)
    learn = family.rebuild(folder, spec, df=df, dls=dls, valid_pct=valid_pct, valid_col=valid_col, seed=seed, bs=bs,
                           **learner_kwargs)
    record = spec.get("run_record") or {}
    cb = history_callback(learn)
    cb.rows, cb.fits, cb.thresholds = list(record.get("epochs") or []), list(record.get("fits") or []), \
        record.get("thresholds")
    cb.base_model = (spec.get("model") or {}).get("base_model")
    return learn


# ============================================================ family: sequence classification ====
def _is_classifier(learn):
    return wrapper_of(learn.model) is not None and hf_tokenizer_of(learn.dls) is not None \
        and target_kind(learn.dls) in ("multi_label", "single_label")


def _label_layout(dls):
    "How the labels are read from a DataFrame: one-hot columns, a delimited column or a label column."
    tl = dls.train_ds.tls[-1]
    fs = list(tl.tfms.fs)
    reader = next((t for t in fs if isinstance(t, ColReader)), None)
    if any(isinstance(t, EncodedMultiCategorize) for t in fs): kind = "one_hot"
    elif any(isinstance(t, MultiCategorize) for t in fs): kind = "delimited"
    else: kind = "single"
    if reader is None: return {"kind": kind, "columns": None}
    return {"kind": kind, "columns": _json(list(reader.cols), "the label columns"), "label_delim": reader.label_delim,
            "pref": _json(reader.pref, "pref"), "suff": _json(reader.suff, "suff")}


def _text_reader(dls):
    reader = next((t for t in dls.train_ds.tls[0].tfms.fs if isinstance(t, ColReader)), None)
    if reader is None: return None
    return {"columns": _json(list(reader.cols), "the text column"), "pref": _json(reader.pref, "pref"),
            "suff": _json(reader.suff, "suff")}


def _vocab_values(vocab):
    "The vocab with its original types (JSON numbers stay numbers, so integer labels are read back as integers)."
    out = []
    for v in vocab:
        if isinstance(v, np.generic): v = v.item()
        out.append(v if isinstance(v, (str, int, float, bool)) else str(v))
    return out


def _describe_classification(learn):
    kind = target_kind(learn.dls)
    labels = label_vocab(learn)
    out = {"target": kind, "problem_type": problem_type(learn.dls), "labels": labels,
           "vocab": _vocab_values(learn.dls.vocab), "label_layout": _label_layout(learn.dls),
           "text_reader": _text_reader(learn.dls), "thresholds": None, "thresholds_source": None}
    if kind == "multi_label":
        values = label_thresholds(learn)
        out["thresholds"] = {l: float(t) for l, t in zip(labels, values)}
        tuned = history_callback(learn).thresholds
        if tuned and tuned.get("labels") == labels and np.allclose(tuned["thresholds"], values, rtol=0, atol=1e-7):
            out["thresholds_source"] = {"how": "find_thresholds", "split": tuned["split"], "n_rows": tuned["n_rows"],
                                        "f1": dict(zip(labels, tuned["f1"])), "support": dict(zip(labels, tuned["support"]))}
        elif not hasattr(learn.loss_func, "thresh"):
            out["thresholds_source"] = {"how": "default"}
        else:
            out["thresholds_source"] = {"how": "set by hand"}
    return out


def _reader(settings, default_cols, label_delim=None):
    if settings is None or settings.get("columns") is None: return ColReader(default_cols, label_delim=label_delim)
    return ColReader(settings["columns"], pref=settings.get("pref") or "", suff=settings.get("suff") or "",
                     label_delim=label_delim)


def _classification_block(spec, hf_tokenizer):
    "(DataBlock pieces) the saved learner's data was built with: blocks, get_x, get_y."
    inputs, ts = spec["inputs"], spec["task_settings"]
    tfm = before_batch_from(inputs["tokenizer"], hf_tokenizer)
    text_kwargs = {"pool_batches": inputs["pool_batches"]} if inputs.get("pool_batches") else {}
    x_block = HF_TextBlock(before_batch_tfm=tfm, **text_kwargs)
    layout, vocab = ts["label_layout"], ts["vocab"]
    if layout["kind"] == "one_hot":
        y_block = MultiCategoryBlock(encoded=True, vocab=vocab)
        get_y = _reader(layout, [str(v) for v in vocab])
    elif layout["kind"] == "delimited":
        y_block = MultiCategoryBlock(vocab=vocab)
        get_y = _reader(layout, "labels", label_delim=layout.get("label_delim") or ";")
    else:
        y_block = CategoryBlock(vocab=vocab, sort=False)
        get_y = _reader(layout, "label")
    get_x = _reader(ts.get("text_reader"), (inputs.get("text_columns") or ["text"])[0])
    return [x_block, y_block], get_x, get_y


def _placeholder(get_x, get_y, layout, vocab):
    "One row in the saved layout, to set the pipeline up (the DataLoaders are emptied afterwards)."
    row = {}
    for c in get_x.cols: row[c] = "placeholder"
    if layout["kind"] == "one_hot":
        for i, c in enumerate(get_y.cols): row[c] = int(i == 0)
    else:
        row[get_y.cols[0]] = str(vocab[0]) if layout["kind"] == "delimited" else vocab[0]
    return pd.DataFrame([row])


def check_rebuild_dls(dls, transform_cls, data_kind):
    """The `dls` given to `hf_load_learner(..., dls=)` must be fastai DataLoaders whose before-batch
    transform is the saved task family's `transform_cls`; `data_kind` says what that means to the user
    (e.g. "seq2seq DataLoaders (built with HF_Seq2SeqBlock)"). Returns that transform. The one check of
    every task family's rebuild, so the errors read alike."""
    if not isinstance(dls, DataLoaders):
        raise TypeError(f"dls must be fastai DataLoaders, not {type(dls).__name__}")
    tfm = hf_tokenizer_of(dls)
    if not isinstance(tfm, transform_cls):
        raise ValueError(f"dls must be {data_kind}, as the saved learner's were")
    return tfm


def _check_dls(dls, spec):
    ts = spec["task_settings"]
    check_rebuild_dls(dls, HF_BeforeBatchTransform, "text DataLoaders (built with an HF_TextBlock)")
    if target_kind(dls) != ts["target"] or label_vocab(dls) != ts["labels"]:
        raise ValueError(f"dls must have the saved model's {ts['target'].replace('_', '-')} labels "
                         f"{show(ts['labels'])}; they have {show(label_vocab(dls))} ({target_kind(dls)})")
    return dls


def _rebuild_classification(folder, spec, df=None, dls=None, valid_pct=0.2, valid_col=None, seed=None, bs=None,
                            **learner_kwargs):
    inputs, ts = spec["inputs"], spec["task_settings"]
    hf_tokenizer = load_hf_tokenizer(folder)
    hf_model = load_hf_model(folder, spec, AutoModelForSequenceClassification)
    if dls is not None:
        dls = _check_dls(dls, spec)
    else:
        blocks, get_x, get_y = _classification_block(spec, hf_tokenizer)
        sizes = {"bs": bs or inputs.get("bs") or 64, "val_bs": inputs.get("val_bs") if bs is None else bs}
        if df is None:
            # one placeholder row sets the pipeline up; it is no user data, so fastai's own DataBlock (unchecked)
            dblock = _UncheckedDataBlock(blocks=blocks, get_x=get_x, get_y=get_y, splitter=lambda items: ([0], [0]))
            dls = dblock.dataloaders(_placeholder(get_x, get_y, ts["label_layout"], ts["vocab"]), **sizes).new_empty()
        else:
            if not isinstance(df, pd.DataFrame):
                raise TypeError(f"df must be a data frame of texts and labels, not {type(df).__name__}")
            if ts.get("text_reader") is None or ts["label_layout"].get("columns") is None:
                raise ValueError("the saved learner read its texts or labels with a function, not from named columns, so "
                                 "the folder cannot say how to read df; build DataLoaders and pass them as dls")
            splitter = ColSplitter(valid_col) if valid_col is not None else RandomSplitter(valid_pct, seed=seed)
            dls = DataBlock(blocks=blocks, get_x=get_x, get_y=get_y, splitter=splitter).dataloaders(df, **sizes)
    return build_learner(dls, hf_model, spec["learner"], **learner_kwargs)


register_export(_DEFAULT_KIND, _is_classifier, _describe_classification, _rebuild_classification,
                pipeline_tag="text-classification")
