"""Export: a standard Hugging Face folder from a trained learner.

`learn.export()` / `load_learner()` (fastai's own) pickle the whole learner, tokenizer included.
`hf_save_pretrained` writes what the rest of the HF ecosystem loads: model weights, tokenizer and a
config whose `id2label`, `label2id` and `problem_type` match the learner's data.
"""
from pathlib import Path

from .atomic import atomic_folder
from .data.core import hf_tokenizer_of
from .modeling.core import sync_config, wrapper_of

__all__ = ["hf_save_pretrained"]


def hf_save_pretrained(learn, path, **kwargs):
    """Save the learner's model and tokenizer to `path` with `save_pretrained` (kwargs go to the
    model's). `transformers.pipeline("text-classification", model=path)` then scores texts as the
    learner does (use `top_k=None` to get every label). The folder is written whole or not at all: it
    replaces an earlier save at `path`, never a file or a folder of other files. Returns the path."""
    model = wrapper_of(learn.model)
    tfm = hf_tokenizer_of(learn.dls)
    if model is None or tfm is None:
        raise TypeError("hf_save_pretrained needs a learner built from HF_BaseModelWrapper and an HF_TextBlock")
    sync_config(learn)
    path = Path(path)
    with atomic_folder(path, replaces="config.json") as tmp:  # all or nothing; an earlier save stays until then
        model.hf_model.save_pretrained(tmp, **kwargs)
        tfm.hf_tokenizer.save_pretrained(tmp)
    return path
