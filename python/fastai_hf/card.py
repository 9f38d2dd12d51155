"""The model card (README.md) of a folder written by `hf_save_pretrained`, built from its fastai_hf.json.

A YAML metadata header as the Hugging Face Hub reads it (library, pipeline tag, tags, base model
when it is a hub id), then: the labels and decision thresholds (and how they were chosen), how to
use the model from fastai_hf, from R and from plain transformers, the predict-time settings, the
training recipe (one row per fit: method, epochs, learning rates per parameter group, frozen groups,
batch size, seed), the last validation, the data size, the versions that wrote it and the files.
"""
import math
import os
import re

import yaml

from .history import SCHEDULES

__all__ = ["render_card", "card_metadata", "card_header"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _is_hub_id(name):
    return isinstance(name, str) and bool(_HUB_ID.match(name)) and not os.path.isabs(name) and not name.startswith(".")


def _num(v, digits=4):
    if v is None or (isinstance(v, float) and math.isnan(v)): return "–"
    if isinstance(v, float): return f"{v:.{digits}g}"
    return str(v)


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def card_metadata(spec, family=None, card_data=None):
    """The YAML header of the card as a dict: library, pipeline tag (from the task `family`, an
    `export.ExportFamily`), tags, base model (a hub id), then `card_data`."""
    ts = spec.get("task_settings") or {}
    tags = ["fastai", "fastai_hf"]
    # a learner's own Hub task (a seq2seq learner: summarization or translation) over its family's
    tag = ts.get("pipeline_tag") or (family.pipeline_tag if family is not None else None)
    if tag: tags.append(tag)
    if ts.get("problem_type"): tags.append(ts["problem_type"].replace("_", "-"))
    meta = {"library_name": "transformers"}
    if tag: meta["pipeline_tag"] = tag
    meta["tags"] = tags
    base = (spec.get("model") or {}).get("base_model")
    if _is_hub_id(base): meta["base_model"] = base
    meta.update(card_data or {})
    return meta


def _lrs(lrs):
    if not lrs: return "–"
    if len(set(lrs)) == 1: return f"{lrs[0]:.3g} (all groups)"
    return f"{lrs[0]:.3g} … {lrs[-1]:.3g} ({len(lrs)} groups)"


def _frozen(f):
    if not f.get("frozen_groups"): return "none"
    return f"{f['frozen_groups']} of {f['param_groups']} groups ({f['trainable_params']:,} of {f['total_params']:,} params trainable)"


def _metric_label(name, settings):
    for m in settings.get("metrics") or []:
        if m.get("name") == name and m.get("func_kwargs"):
            return f"{name} ({', '.join(f'{k}={v}' for k, v in m['func_kwargs'].items())})"
    return name


def _classification_section(spec, name):
    ts, inputs = spec["task_settings"], spec["inputs"]
    labels = ts["labels"]
    multi = ts["target"] == "multi_label"
    out = ["## Labels and decision thresholds", ""]
    if multi:
        src = ts.get("thresholds_source") or {}
        out.append(f"Multi-label: each of the {len(labels)} labels gets a probability (the sigmoid of its logit), "
                   "and a text gets every label whose probability is at or above that label's threshold.")
        out.append("")
        if src.get("how") == "find_thresholds":
            split = {"valid": "validation set", "train": "training set"}.get(src["split"], "a DataLoader passed to it")
            out.append(f"The thresholds were tuned per label by `find_thresholds` to maximise each label's F1 on the "
                       f"{split} ({src['n_rows']} rows)." + (" The validation metrics below come from the same rows, "
                                                              "so F1 at these thresholds there is optimistic."
                                                              if src["split"] == "valid" else ""))
            rows = [(l, _num(ts["thresholds"][l], 3), _num(src["f1"].get(l), 3), src["support"].get(l)) for l in labels]
            out += ["", _table(["label", "threshold", "F1 when tuned", "positives when tuned"], rows)]
        else:
            how = "were set by hand" if src.get("how") == "set by hand" else "are the default (0.5)"
            out.append(f"The thresholds {how}.")
            out += ["", _table(["label", "threshold"], [(l, _num(ts["thresholds"][l], 3)) for l in labels])]
    else:
        out.append(f"Single-label: the predicted label is the one with the highest probability (softmax) among "
                   f"{len(labels)} labels: {', '.join(f'`{l}`' for l in labels)}.")
    tok = inputs["tokenizer"]
    out += ["", "## How to use", "",
            f"**fastai_hf** (Python): the learner back, with its thresholds, without unpickling anything:", "",
            "```python", "from fastai_hf import hf_load_learner", f'learn = hf_load_learner("{name}")',
            'learn.hf_predict(["What a lovely surprise!"])  # probabilities per label and the predicted labels',
            "```", "", "**fastai** (R):", "", "```r", "library(fastai)", f'learn <- hf_load_learner("{name}")',
            'predict(learn, c("What a lovely surprise!"))', "```", "",
            "**transformers** alone: the pipeline gives the probabilities"
            + ("; apply the thresholds yourself (they are in `fastai_hf.json` under `task_settings.thresholds`):"
               if multi else " and the top label:"), "", "```python"]
    if multi:
        out += ["import json", "from transformers import pipeline", "",
                f'pipe = pipeline("text-classification", model="{name}", top_k=None)  # sigmoid: multi-label',
                f'thresholds = json.load(open("{name}/fastai_hf.json"))["task_settings"]["thresholds"]',
                'scores = pipe(["What a lovely surprise!"])',
                'labels = [[s["label"] for s in row if s["score"] >= thresholds[s["label"]]] for row in scores]']
    else:
        out += ["from transformers import pipeline", "",
                f'pipe = pipeline("text-classification", model="{name}")',
                'pipe(["What a lovely surprise!"])  # [{"label": ..., "score": ...}]']
    out += ["```", "", "Predict-time settings (in `fastai_hf.json`, applied by `hf_load_learner`):", "",
            _table(["setting", "value"], [
                ("text column", ", ".join(map(str, inputs.get("text_columns") or [])) or "–"),
                ("max_length", tok.get("max_length") if tok.get("max_length") is not None else "the tokenizer's limit"),
                ("truncation", tok.get("truncation")), ("padding", f"{tok.get('padding')} (to the longest text of each batch)"
                                                          if tok.get("padding") in (True, "longest") else tok.get("padding")),
                ("batch size (training / prediction)", f"{inputs.get('bs')} / {inputs.get('val_bs')}"),
                ("label layout", _layout(ts.get("label_layout") or {}))])]
    return "\n".join(out)


def _layout(layout):
    cols = layout.get("columns")
    if layout.get("kind") == "one_hot": return "one 0/1 column per label" + (f" ({', '.join(map(str, cols))})" if cols else "")
    if layout.get("kind") == "delimited": return f"labels joined by {layout.get('label_delim')!r} in column {cols[0] if cols else '?'}"
    return f"one label per row in column {cols[0] if cols else '?'}"


def _training_section(spec):
    record, settings = spec.get("run_record") or {}, spec.get("learner") or {}
    fits = record.get("fits") or []
    out = ["## Training", ""]
    base = (spec.get("model") or {}).get("base_model")
    model = spec.get("model") or {}
    out.append(f"Model: `{model.get('class')}` ({model.get('num_parameters', 0):,} parameters), fine-tuned from "
               f"`{base}`." if base else f"Model: `{model.get('class')}`.")
    loss = (settings.get("loss") or {}).get("name")
    if settings.get("use_model_loss"): loss = "the model's own loss"
    opt = settings.get("opt_func") or {}
    opt_kw = ", ".join(f"{k}={v}" for k, v in (opt.get("kwargs") or {}).items())
    out += ["", f"Loss: {loss}. Optimizer: {opt.get('name')}{f' ({opt_kw})' if opt_kw else ''}. Parameter groups: "
                f"{settings.get('splitter', {}).get('name')} (embeddings, each transformer layer, head)."]
    if not fits:
        out += ["", "No training was recorded (the learner was saved before any `fit`)."]
        return "\n".join(out)
    data = spec.get("data") or {}
    last = fits[-1]
    n_train = last.get("n_train") if last.get("n_train") is not None else data.get("n_train")
    n_valid = last.get("n_valid") if last.get("n_valid") is not None else data.get("n_valid")
    out += ["", f"Data: {n_train} training and {n_valid} validation rows (in the last fit).", "",
            "One row per `fit` (learning rates are each parameter group's peak as the scheduler set it, "
            "from the embeddings to the head):", ""]
    rows = []
    for f in fits:
        method = f["method"] + (f" (in {f['called_from']})" if f.get("called_from") else "")
        m = f.get("metrics") or {}
        rows.append((f["fit"], method, f["epochs"], _lrs(f.get("lr")), _frozen(f), f.get("bs"),
                     f.get("seed") if f.get("seed") is not None else "not set", _num(f.get("wd"), 3),
                     _num(m.get("train_loss")), _num(m.get("valid_loss")), _num(f.get("seconds"), 3)))
    out.append(_table(["fit", "method", "epochs", "learning rate", "frozen", "batch size", "seed", "weight decay",
                       "train loss", "valid loss", "seconds"], rows))
    used = list(dict.fromkeys(m for f in fits for m in (f.get("called_from"), f["method"]) if m))
    out += ["", "Schedules: " + "; ".join(f"`{m}`: {SCHEDULES[m]}" for m in used if m in SCHEDULES) + "."]
    unfinished = [str(f["fit"]) for f in fits if not f.get("finished")]
    if unfinished: out += ["", f"Fits {', '.join(unfinished)} stopped before their end (an error or an interrupt)."]
    return "\n".join(out)


def _evaluation_section(spec):
    record, settings = spec.get("run_record") or {}, spec.get("learner") or {}
    fits = [f for f in record.get("fits") or [] if f.get("metrics")]
    out = ["## Evaluation", ""]
    if not fits:
        return "\n".join(out + ["No validation was recorded."])
    f = fits[-1]
    epochs = record.get("epochs") or []
    out.append(f"The last validation: end of fit {f['fit']} (epoch {len(epochs)} of the learner's training), on the "
               f"validation set ({f.get('n_valid')} rows):")
    rows = [(_metric_label(k, settings), _num(v)) for k, v in f["metrics"].items()]
    return "\n".join(out + ["", _table(["metric", "value"], rows)])


def _versions_section(spec):
    v = spec.get("versions") or {}
    return "\n".join(["## Versions", "", "Written by:", "", _table(["software", "version"], list(v.items()))])


def _files_section(spec):
    files = sorted((spec.get("files") or {}).items())
    lines = ["## Files", "",
             "- `README.md`: this card (not checked on load: edit it freely)",
             "- `fastai_hf.json`: what transformers does not keep (task, labels, thresholds, predict-time settings, "
             "the learner's loss, optimizer and metrics, the run record, versions) and the SHA-256 of every other file"]
    lines += [f"- `{n}` ({i['bytes']:,} bytes)" for n, i in files]
    lines += ["", "Weights are safetensors only: loading this folder runs no pickled code. `hf_load_learner` checks "
                  "every file against its recorded SHA-256 and names any that is missing or changed."]
    return "\n".join(lines)


def render_card(spec, family=None, name="model", card_data=None):
    """The model card (README.md) for a folder: YAML metadata, then labels and thresholds, usage,
    training, evaluation, versions and files, all read from the fastai_hf.json `spec`; `family` (the
    task's `export.ExportFamily`) gives the pipeline tag and its own task section."""
    meta = card_metadata(spec, family, card_data)
    ts = spec.get("task_settings") or {}
    model = spec.get("model") or {}
    kind = {"multi_label": "multi-label", "single_label": "single-label"}.get(ts.get("target"))
    # a family other than text classification is named by its own description or its Hub task
    task_words = f"{kind} text classification" if kind else \
        (family.pipeline_tag.replace("-", " ") if family is not None and family.pipeline_tag else spec.get("task"))
    what = ts.get("task_description") or (task_words + (f" into {len(ts['labels'])} labels" if ts.get("labels") else ""))
    intro = (f"A `{model.get('class')}` for {what}"
             + ", trained with fastai's Learner through fastai_hf (Python) or the R package fastai, and saved "
             "with `hf_save_pretrained`.")
    task = family.card(spec, name) if family is not None and family.card is not None else \
        _classification_section(spec, name) if ts.get("labels") is not None else ""
    parts = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", "", f"# {name}", "",
             intro, "", task, "", _training_section(spec), "", _evaluation_section(spec), "",
             _versions_section(spec), "", _files_section(spec), ""]
    return "\n".join(parts)


def card_header(text):
    "The YAML header of a model card's text as a dict (for tests and tools)."
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    return yaml.safe_load(m.group(1)) if m else {}

