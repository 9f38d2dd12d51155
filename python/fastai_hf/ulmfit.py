"""ULMFiT (fastbook ch. 10) offline: fastai's AWD-LSTM learners, LM text generation, tokenization helpers.

fastai 2.8's `language_model_learner` / `text_classifier_learner` work as they are with
`pretrained=False`. The wrappers here keep their names and arguments and add what offline use needs:
- `pretrained=True` (the default) downloads the WikiText-103 weights; without network that ends in a
  `URLError` deep in urllib. The wrappers turn it into a ValueError that says what to do instead.
- `pretrained_fnames=(weights, vocab)` takes local files: full paths (with or without the .pth / .pkl
  extension) or, as in fastai, names without extension inside `learn.path/learn.model_dir`. fastai
  appends the extension itself, so a full file name such as 'wt103.pth' fails there; here it works.
  `text_classifier_learner` accepts `pretrained_fnames` too (fastai's has no such argument).

The helpers return plain Python values (str, lists of str/int), which reticulate turns into R vectors.
"""
import importlib.util
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from fastai.text import core as _core
from fastai.text import learner as _learner
from fastai.text.core import SubwordTokenizer, WordTokenizer, defaults, tokenize_texts
from fastai.text.data import Numericalize
from fastai.text.models.awdlstm import AWD_LSTM, awd_lstm_clas_config, awd_lstm_lm_config
from fastcore.foundation import L

from .checks import as_int, check_texts

__all__ = ["language_model_learner", "text_classifier_learner", "lm_predict", "awd_lstm_config",
           "spec_tokens", "proc_rules", "text_tokens", "text_vocab", "numericalize_tokens"]

_INT_KEYS = ("emb_sz", "n_hid", "n_layers", "pad_token")


def _clean_config(config):
    if config is None: return None
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict such as awd_lstm_config(), not {type(config).__name__}")
    return {k: (as_int(k, v, 0) if k in _INT_KEYS else v) for k, v in config.items()}


def awd_lstm_config(task="lm", **overrides):
    """A copy of fastai's AWD-LSTM config for `task` "lm" (`awd_lstm_lm_config`) or "classifier"
    (`awd_lstm_clas_config`) with `overrides`, e.g. `awd_lstm_config("lm", emb_sz=32, n_hid=64, n_layers=2)`
    for a small model. A classifier that loads a language model's encoder needs the same emb_sz,
    n_hid and n_layers. Pretrained WikiText-103 weights fit only the default sizes (400, 1152, 3)."""
    bases = {"lm": awd_lstm_lm_config, "classifier": awd_lstm_clas_config}
    if task not in bases: raise ValueError(f"task must be 'lm' or 'classifier', not {task!r}")
    base = bases[task]
    unknown = sorted(set(overrides) - set(base))
    if unknown: raise ValueError(f"unknown AWD_LSTM config keys {unknown}; the keys are {list(base)}")
    return _clean_config({**base, **overrides})


def _resolve_fnames(learn, pretrained_fnames):
    "(weights .pth, vocab .pkl) as existing files: as given, plus extension, or inside learn.path/model_dir."
    if isinstance(pretrained_fnames, (str, os.PathLike)) or len(pretrained_fnames) != 2:
        raise TypeError("pretrained_fnames must be two files: (weights, vocab), e.g. "
                        "('~/models/wt103/lstm_fwd.pth', '~/models/wt103/itos_wt103.pkl')")
    found = []
    for fn, ext, what in zip(pretrained_fnames, ("pth", "pkl"), ("weights", "vocab")):
        fn = Path(os.fspath(fn)).expanduser()
        tried = []
        for base in (fn, Path(learn.path) / learn.model_dir / fn):
            tried += [base] if base.suffix == f".{ext}" else [base, base.with_name(f"{base.name}.{ext}")]
        hit = next((p for p in tried if p.is_file()), None)
        if hit is None:
            raise ValueError(f"the pretrained {what} file {str(fn)!r} was not found (looked for "
                             f"{', '.join(map(str, dict.fromkeys(tried)))}); pass the path of the .{ext} file")
        found.append(hit)
    return found


def _load_pretrained(learn, fnames, model=None):
    try:
        return learn.load_pretrained(*fnames, model=model)
    except RuntimeError as e:  # load_state_dict's size mismatch
        raise ValueError(f"the weights in {fnames[0]} do not fit this model: build it with the config the "
                         f"weights were trained with (fastai's WikiText-103 weights: the default config). {e}") from e


@contextmanager
def _download_errors(what):
    "Turn a failed download of fastai's pretrained weights (URLError, socket errors) into a clear ValueError."
    try:
        yield
    except OSError as e:
        raise ValueError(
            f"could not download fastai's pretrained AWD_LSTM weights for {what} ({type(e).__name__}: {e}). "
            "Without network, either pass pretrained=False (train from scratch; for a classifier that then "
            "calls load_encoder() nothing is lost), or pass local copies of the weights with "
            "pretrained_fnames=('/path/to/weights.pth', '/path/to/vocab.pkl') (for WikiText-103, the .pth and "
            ".pkl files in ~/.fastai/models/wt103-fwd on a machine that has downloaded them)") from e


def language_model_learner(dls, arch=AWD_LSTM, config=None, drop_mult=1., backwards=False, pretrained=True,
                           pretrained_fnames=None, **kwargs):
    """fastai's `language_model_learner` (an `LMLearner`), usable offline: `pretrained=False` trains
    from scratch; `pretrained_fnames=(weights, vocab)` loads local weights (full paths accepted) and
    freezes the body; a failed download of the default weights raises a ValueError saying so.
    Other arguments (`metrics=[accuracy, Perplexity()]`, `path`, `cbs`, ...) go to fastai."""
    config = _clean_config(config)
    if pretrained_fnames is not None:
        learn = _learner.language_model_learner(dls, arch, config=config, drop_mult=drop_mult, backwards=backwards,
                                                pretrained=False, **kwargs)
        return _load_pretrained(learn, _resolve_fnames(learn, pretrained_fnames))
    with _download_errors("the language model"):
        return _learner.language_model_learner(dls, arch, config=config, drop_mult=drop_mult, backwards=backwards,
                                               pretrained=pretrained, **kwargs)


def text_classifier_learner(dls, arch=AWD_LSTM, seq_len=72, config=None, backwards=False, pretrained=True,
                            drop_mult=0.5, n_out=None, lin_ftrs=None, ps=None, max_len=72 * 20, y_range=None,
                            pretrained_fnames=None, **kwargs):
    """fastai's `text_classifier_learner`, usable offline (see `language_model_learner`). In the
    ULMFiT recipe the encoder comes from your fine-tuned language model (`load_encoder`), so
    `pretrained=False` is the offline choice; `pretrained_fnames` loads local weights into the encoder."""
    config = _clean_config(config)
    args = dict(seq_len=as_int("seq_len", seq_len, 1), config=config, backwards=backwards, drop_mult=drop_mult,
                n_out=None if n_out is None else as_int("n_out", n_out, 1), lin_ftrs=lin_ftrs, ps=ps,
                max_len=as_int("max_len", max_len, 1), y_range=y_range, **kwargs)
    if pretrained_fnames is not None:
        learn = _learner.text_classifier_learner(dls, arch, pretrained=False, **args)
        learn = _load_pretrained(learn, _resolve_fnames(learn, pretrained_fnames), model=learn.model[0])
        learn.freeze()
        return learn
    with _download_errors("the classifier's encoder"):
        return _learner.text_classifier_learner(dls, arch, pretrained=pretrained, **args)


def lm_predict(learn, text, n_words=20, temperature=0.75, n=1, no_unk=True, min_p=None, seed=None):
    """Continue `text` with `n_words` words sampled from a language model learner: a string that
    starts with `text` as given (fastai's `LMLearner.predict` returns the prompt as tokenized, e.g.
    lowercased "i" and "it 's"), or a list of `n` such strings. `temperature` < 1 makes the sampling
    more conservative; `seed` makes it reproducible."""
    if not isinstance(learn, _learner.LMLearner):
        raise TypeError(f"learn must be a language model learner (language_model_learner()), not {type(learn).__name__}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text (the prompt) must be a non-empty string")
    n_words, n = as_int("n_words", n_words, 0), as_int("n", n, 1)
    if not float(temperature) > 0: raise ValueError(f"temperature must be positive, not {temperature!r}")
    if seed is not None: torch.manual_seed(as_int("seed", seed))
    # The prompt as fastai decodes it, to swap back for the prompt as written.
    decoded_prompt = learn.predict(text, 0, no_bar=True)
    outs = []
    for _ in range(n):
        out = learn.predict(text, n_words, no_unk=no_unk, temperature=float(temperature), min_p=min_p, no_bar=True)
        outs.append(text.rstrip() + out[len(decoded_prompt):] if out.startswith(decoded_prompt) else out)
    return outs[0] if n == 1 else outs


def spec_tokens():
    "fastai's special tokens (`defaults.text_spec_tok`: xxunk, xxpad, xxbos, ...) as a list of strings."
    return [str(t) for t in defaults.text_spec_tok]


def proc_rules():
    "The names of fastai's default text rules (`defaults.text_proc_rules`), in the order they run."
    return [f.__name__ for f in defaults.text_proc_rules]


def _rules(rules):
    "Rule names (as `proc_rules()` gives) or functions, as functions; None means fastai's defaults."
    if rules is None: return None
    if isinstance(rules, str): rules = [rules]
    out = []
    for r in rules:
        f = getattr(_core, r, None) if isinstance(r, str) else r
        if not callable(f):
            raise ValueError(f"unknown text rule {r!r}; use names from proc_rules() ({', '.join(proc_rules())}) "
                             "or functions str -> str")
        out.append(f)
    return out


def text_tokens(texts, tok="word", rules=None, vocab_sz=None, lang="en"):
    """Tokenize `texts` the way fastai's `TextBlock` does: a list (one per text) of lists of token strings.

    - `tok="word"`: fastai's `WordTokenizer` (spaCy's rule-based `spacy.blank(lang)`: no model download).
    - `tok="subword"`: fastai's `SubwordTokenizer` (SentencePiece), trained on `texts` with a vocab of
      `vocab_sz` pieces (default: fastai's guess from the text); needs the `sentencepiece` package.
    - any fastai tokenizer object (e.g. `BaseTokenizer()`, splitting on spaces).
    `rules`: the pre-tokenization rules, names from `proc_rules()` or functions (default: fastai's;
    `[]` for none). They add the special tokens: xxbos at the start, xxmaj before capitalised words, ...
    """
    texts = check_texts(texts)
    rules = _rules(rules)
    with tempfile.TemporaryDirectory(prefix="fastai-spm-") as tmp:  # SentencePiece writes its model files here
        if tok == "word": tokenizer = WordTokenizer(lang=lang)
        elif tok == "subword":
            if importlib.util.find_spec("sentencepiece") is None:
                raise ImportError("tok='subword' needs the sentencepiece package: pip install sentencepiece")
            tokenizer = SubwordTokenizer(lang=lang, cache_dir=tmp,
                                         vocab_sz=None if vocab_sz is None else as_int("vocab_sz", vocab_sz, 1))
        elif isinstance(tok, str): raise ValueError(f"tok must be 'word', 'subword' or a fastai tokenizer, not {tok!r}")
        else: tokenizer = tok
        toks = tokenize_texts(texts, n_workers=0, rules=rules, tok=tokenizer)  # n_workers=0: no process pool
    return [[str(t) for t in ts] for ts in toks]


def _token_lists(tokens):
    "Lists of token strings; a single string (an R character vector of length 1) is one token."
    if isinstance(tokens, str) or not isinstance(tokens, (list, tuple, L, pd.Series, np.ndarray)):
        raise TypeError("tokens must be a list of token lists, as text_tokens() returns")
    return [[t] if isinstance(t, str) else [str(x) for x in t] for t in tokens]


def text_vocab(tokens, min_freq=3, max_vocab=60000):
    """The vocab fastai's `Numericalize` builds from tokenized texts (`text_tokens()` output): the
    special tokens, then tokens seen at least `min_freq` times by decreasing frequency, at most
    `max_vocab`, padded with 'xxfake' to a multiple of 8 (a faster embedding on GPUs). A list of strings."""
    num = Numericalize(min_freq=as_int("min_freq", min_freq, 0), max_vocab=as_int("max_vocab", max_vocab, 1))
    num.setup(L(_token_lists(tokens)))
    return [str(t) for t in num.vocab]


def numericalize_tokens(tokens, vocab):
    """Token lists as lists of vocab indices (fastai's `Numericalize`); tokens not in `vocab` map to 0 (xxunk)."""
    if isinstance(vocab, str) or len(vocab) == 0:
        raise ValueError("vocab must be a non-empty list of tokens, as text_vocab() returns")
    num = Numericalize(vocab=[str(v) for v in vocab])
    return [num(t).tolist() for t in _token_lists(tokens)]
