"""Sequence classification data: `HF_TextBlock`, raw texts tokenized per batch (see `core`)."""
from fastai.data.block import TransformBlock

from .core import HF_BeforeBatchTransform, HF_TextDL, HF_TextInput, is_tokenizer

__all__ = ["HF_TextBlock"]


class HF_TextBlock(TransformBlock):
    """A TransformBlock for raw texts, tokenized per batch by `hf_tokenizer` with dynamic padding.

    Takes blurr's arguments, by keyword or position: `HF_TextBlock(hf_arch, hf_config, hf_tokenizer,
    hf_model)` as blurr >= 0.0.22 and its R package wrote it, or `HF_TextBlock(hf_arch=..., hf_tokenizer=...)`.
    `max_length`/`truncation` cap long texts (default: the tokenizer's own limit); `tok_kwargs` go to
    the tokenizer call; `before_batch_tfm` replaces the default `HF_BeforeBatchTransform` (built with
    `before_batch_kwargs`). Other keyword arguments go to the DataLoaders, e.g. `pool_batches` (see `HF_TextDL`).
    """
    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, before_batch_tfm=None,
                 max_length=None, padding=True, truncation=True, is_split_into_words=False, dl_type=None,
                 before_batch_kwargs=None, tok_kwargs=None, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        if before_batch_tfm is None:
            before_batch_tfm = HF_BeforeBatchTransform(hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length,
                                                       padding=padding, truncation=truncation,
                                                       is_split_into_words=is_split_into_words, tok_kwargs=tok_kwargs,
                                                       **(before_batch_kwargs or {}))
        super().__init__(type_tfms=HF_TextInput(), dl_type=dl_type or HF_TextDL,
                         dls_kwargs={"before_batch": before_batch_tfm, **kwargs})
