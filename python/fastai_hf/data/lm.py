"""Language-model data: causal (next token) and masked (BERT's MLM), from raw texts tokenized per batch.

One input block, `HF_LMBlock(..., lm_type="causal" | "masked")`; the targets are made from the texts
by `HF_LMBeforeBatchTransform`, so a batch is `(x, labels)` with `labels` aligned with the logits:

- causal: `labels[t]` is the token at `t + 1` (shifted, so fastai's token cross-entropy and accuracy
  apply to `(logits, labels)` as they are), -100 at padding and at each row's last position. With
  `HF_BaseModelCallback(use_model_loss=True)` the model gets its own convention back (unshifted
  labels; it shifts them itself), so both losses agree.
- masked: 15% of the non-special tokens are chosen (`mlm_probability`); of those 80% become the mask
  token, 10% a random token and 10% stay (`mask_replace_prob`, `random_replace_prob`), drawn by
  transformers' `DataCollatorForLanguageModeling`; `labels` hold the original ids there and -100
  elsewhere. The draw is seeded by the batch's token ids (and `seed`), so a batch is masked the same
  way every time it is seen: validation loss and perplexity compare across epochs, while training
  batches, which are regrouped each epoch, get new masks.

Texts are padded per batch (default), or with `concatenate=True` joined (a causal tokenizer's end-of-text
token between them) and cut into rows of `max_length` tokens, the last row padded: no padding is
wasted, as in the Hugging Face `run_clm` / `run_mlm` scripts' `group_texts`, but per batch.
A tokenizer without a pad token (GPT-2's) gets its end-of-text token as pad.
"""
import hashlib

import torch
from fastai.data.block import TransformBlock
from fastai.losses import CrossEntropyLossFlat

from ..checks import as_int, as_number, check_text_column
from .core import HF_BeforeBatchTransform, HF_TextInput, is_tokenizer
from .seq2seq import IGNORE_INDEX, HF_TargetTextDL

__all__ = ["HF_LMBeforeBatchTransform", "HF_LMBlock", "HF_LMInput", "HF_CausalLMBeforeBatchTransform",
           "HF_MLMBeforeBatchTransform", "LM_TYPES"]

LM_TYPES = ("causal", "masked")


def _lm_type(lm_type):
    name = getattr(lm_type, "name", lm_type)  # blurr's LMType enum members too
    name = str(name).lower()
    name = {"clm": "causal", "mlm": "masked"}.get(name, name)
    if name not in LM_TYPES:
        raise ValueError(f"lm_type must be 'causal' (next-token prediction, GPT-2 style) or 'masked' (BERT's masked "
                         f"language model), not {lm_type!r}")
    return name


class HF_LMInput(HF_TextInput):
    "Type transform of language-model texts: checks them; the loss defaults to token cross-entropy (-100 ignored)."
    loss_func = CrossEntropyLossFlat()

    def check_source(self, df, cols): check_text_column(df, cols[0])


class HF_LMBeforeBatchTransform(HF_BeforeBatchTransform):
    """Tokenizes a batch of texts into `(x, labels)` for a causal or masked language model (see the
    module doc). Arguments as `HF_BeforeBatchTransform`, plus `lm_type`, `concatenate`, and for MLM
    `mlm_probability`, `mask_replace_prob`, `random_replace_prob` and `seed`."""
    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, lm_type="causal",
                 max_length=None, padding=True, truncation=True, concatenate=False, mlm_probability=0.15,
                 mask_replace_prob=0.8, random_replace_prob=0.1, seed=0, tok_kwargs=None, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        super().__init__(hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length, padding=padding,
                         truncation=truncation, tok_kwargs=tok_kwargs, **kwargs)
        self.lm_type = _lm_type(lm_type)
        self.concatenate = bool(concatenate)
        self.seed = as_int("seed", seed)
        tok = self.hf_tokenizer
        if tok.pad_token is None:
            if tok.eos_token is None:
                raise ValueError("the tokenizer has neither a pad token nor an end-of-text token to pad with; set one, "
                                 "e.g. hf_tokenizer.pad_token = hf_tokenizer.unk_token")
            tok.pad_token = tok.eos_token  # GPT-2's recipe; labels are masked by the attention mask, not by id
        if self.concatenate and self.max_length is None:
            limit = getattr(tok, "model_max_length", None)
            if not (isinstance(limit, int) and limit < 100_000):
                raise ValueError("concatenate=True cuts the joined texts into rows of max_length tokens; give max_length")
            self.max_length = limit
        self.collator = None
        if self.lm_type == "masked":
            from transformers import DataCollatorForLanguageModeling
            if tok.mask_token is None:
                raise ValueError("a masked language model needs a tokenizer with a mask token (BERT's [MASK], "
                                 "RoBERTa's <mask>); this one has none: use lm_type='causal'")
            self.collator = DataCollatorForLanguageModeling(
                tok, mlm=True, mlm_probability=as_number("mlm_probability", mlm_probability, 0, 1, True),
                mask_replace_prob=as_number("mask_replace_prob", mask_replace_prob, 0, 1),
                random_replace_prob=as_number("random_replace_prob", random_replace_prob, 0, 1))

    @property
    def pads_to_longest(self): return not self.concatenate and super().pads_to_longest

    def _tok_kwargs(self):
        return {**self.tok_kwargs, **({"return_special_tokens_mask": True} if self.lm_type == "masked" else {})}

    def tokenize(self, texts):
        return self.hf_tokenizer(list(texts), padding=self.padding, truncation=self.truncation,
                                 max_length=self.max_length, return_tensors="pt", **self._tok_kwargs())

    def encode(self, texts):
        return self.hf_tokenizer(list(texts), padding=False, truncation=self.truncation, max_length=self.max_length,
                                 **self._tok_kwargs())

    # -- labels ----------------------------------------------------------------------------------------
    def causal_labels(self, input_ids, attention_mask):
        "`labels[t] = input_ids[t + 1]`; -100 at padding and at the last position of each row."
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        labels[:, :-1] = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, IGNORE_INDEX)
        return labels

    def _generator(self, input_ids):
        digest = hashlib.blake2b(input_ids.numpy().tobytes(), digest_size=8).digest()
        return torch.Generator().manual_seed((int.from_bytes(digest, "little") + self.seed) % (2 ** 63))

    def masked(self, input_ids, special_tokens_mask):
        "Inputs with 15% of the tokens masked (80/10/10) and labels, by transformers' collator (see the module doc)."
        self.collator.generator = self._generator(input_ids)
        try:
            return self.collator.torch_mask_tokens(input_ids.clone(), special_tokens_mask=special_tokens_mask)
        finally:
            self.collator.generator = None

    def model_labels(self, yb):
        "Causal labels back in the model's own convention (unshifted: it shifts them itself) for `use_model_loss`."
        if self.lm_type != "causal": return super().model_labels(yb)
        y = yb[0]
        return {"labels": torch.cat([torch.full_like(y[:, :1], IGNORE_INDEX), y[:, :-1]], dim=1)}

    def as_lm(self, enc, n):
        "Samples `(x, labels)` from a tokenized batch of n rows."
        enc = dict(enc)
        special = enc.pop("special_tokens_mask", None)
        if self.lm_type == "causal":
            labels = self.causal_labels(enc["input_ids"], enc["attention_mask"])
        else:
            enc["input_ids"], labels = self.masked(enc["input_ids"], special)
        return [(x, y) for (x,), y in zip(self.as_samples(enc, [()] * n), labels)]

    def concatenated(self, texts):
        "The texts joined (an end-of-text token between them for a causal model) and cut into rows of max_length."
        tok = self.hf_tokenizer
        enc = tok(list(texts), truncation=False, **self._tok_kwargs())
        sep = [] if self.lm_type == "masked" or tok.eos_token_id is None else [tok.eos_token_id]
        ids, special = [], []
        for i, t in enumerate(enc["input_ids"]):
            ends = len(t) and t[-1] == tok.eos_token_id
            ids += list(t) + ([] if ends else sep)
            if self.lm_type == "masked": special += list(enc["special_tokens_mask"][i])
        n = self.max_length
        rows = [ids[i:i + n] for i in range(0, len(ids), n)]
        batch = {"input_ids": torch.full((len(rows), n), tok.pad_token_id, dtype=torch.long),
                 "attention_mask": torch.zeros((len(rows), n), dtype=torch.long)}
        if self.lm_type == "masked": batch["special_tokens_mask"] = torch.ones((len(rows), n), dtype=torch.long)
        for r, row in enumerate(rows):
            batch["input_ids"][r, :len(row)] = torch.as_tensor(row)
            batch["attention_mask"][r, :len(row)] = 1
            if self.lm_type == "masked":
                batch["special_tokens_mask"][r, :len(row)] = torch.as_tensor(special[r * n:r * n + len(row)])
        return batch

    # -- the batch -------------------------------------------------------------------------------------
    def encodes(self, samples: list):
        texts = [s[0] for s in samples]
        if self.concatenate:
            batch = self.concatenated(texts)
            return self.as_lm(batch, len(batch["input_ids"]))
        return self.as_lm(self.tokenize(texts), len(samples))

    def pad(self, encoded, rows, samples):
        return self.as_lm(self.pad_rows(encoded, rows), len(samples))

    def decode_labels(self, labels):
        "Texts of label ids (-100 and special tokens dropped): for MLM the masked-out tokens, for causal the text."
        ids = labels.masked_fill(labels == IGNORE_INDEX, self.hf_tokenizer.pad_token_id)
        return self.decode_texts(ids)


def HF_CausalLMBeforeBatchTransform(*args, **kwargs):
    "`HF_LMBeforeBatchTransform` for a causal LM (the name the first R package exported)."
    return HF_LMBeforeBatchTransform(*args, lm_type="causal", **kwargs)


def HF_MLMBeforeBatchTransform(*args, **kwargs):
    "`HF_LMBeforeBatchTransform` for a masked LM."
    return HF_LMBeforeBatchTransform(*args, lm_type="masked", **kwargs)


class HF_LMBlock(TransformBlock):
    """The one block of language-model data: raw texts; inputs and labels are made per batch by
    `HF_LMBeforeBatchTransform` (see the module doc). Use it alone: `DataBlock(blocks=HF_LMBlock(...),
    get_x=ColReader("text"), splitter=...)`.

    Takes blurr's `(hf_arch, hf_config, hf_tokenizer, hf_model)` and `lm_type` ("causal" or "masked"),
    `max_length`, `concatenate`, `mlm_probability`, `mask_replace_prob`, `random_replace_prob`, `seed`.
    Other keyword arguments go to the DataLoaders.
    """
    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, lm_type="causal",
                 before_batch_tfm=None, max_length=None, padding=True, truncation=True, concatenate=False,
                 mlm_probability=0.15, mask_replace_prob=0.8, random_replace_prob=0.1, seed=0, dl_type=None,
                 before_batch_kwargs=None, tok_kwargs=None, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        if before_batch_tfm is None:
            before_batch_tfm = HF_LMBeforeBatchTransform(
                hf_arch, hf_config, hf_tokenizer, hf_model, lm_type=lm_type, max_length=max_length, padding=padding,
                truncation=truncation, concatenate=concatenate, mlm_probability=mlm_probability,
                mask_replace_prob=mask_replace_prob, random_replace_prob=random_replace_prob, seed=seed,
                tok_kwargs=tok_kwargs, **(before_batch_kwargs or {}))
        super().__init__(type_tfms=HF_LMInput(), dl_type=dl_type or HF_TargetTextDL,
                         dls_kwargs={"before_batch": before_batch_tfm, **kwargs})

