"""ULMFiT (fastbook ch. 10) offline: fastai's AWD-LSTM learners, LM text generation, tokenization helpers,
and fastai's text batches as tables.

fastai 2.8's `language_model_learner` / `text_classifier_learner` work as they are with
`pretrained=False`. The wrappers here keep their names and arguments and add what offline use needs:
- `pretrained=True` (the default) downloads the WikiText-103 weights; without network that ends in a
  `URLError` deep in urllib. The wrappers turn it into a ValueError that says what to do instead.
- `pretrained_fnames=(weights, vocab)` takes local files: full paths (with or without the .pth / .pkl
  extension) or, as in fastai, names without extension inside `learn.path/learn.model_dir`. fastai
  appends the extension itself, so a full file name such as 'wt103.pth' fails there; here it works.
  `text_classifier_learner` accepts `pretrained_fnames` too (fastai's has no such argument).

The helpers return plain Python values (str, lists of str/int, DataFrames of them). fastai 2.8.12's
`show_results` crashes on text classifiers (`TypeError: 'Function' object is not subscriptable`: it
indexes a plum dispatcher as fastcore's used to allow); importing this module registers a fixed method.
"""
import contextlib
import importlib.util
import io
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from fastai.text import core as _core
from fastai.text import learner as _learner
from fastai.data.core import show_results
from fastai.text.core import SubwordTokenizer, Tokenizer, WordTokenizer, defaults, tokenize_texts
from fastai.text.core import tokenize_df as _tokenize_df
from fastai.text.data import LMDataLoader, Numericalize, TensorText
from fastai.text.models.awdlstm import AWD_LSTM, awd_lstm_clas_config, awd_lstm_lm_config
from fastai.torch_core import display_df, get_empty_df
from fastcore.foundation import L
from fastcore.xtras import is_listy

from .checks import as_int, check_texts, show

__all__ = ["language_model_learner", "text_classifier_learner", "lm_predict", "awd_lstm_config",
           "spec_tokens", "proc_rules", "text_tokens", "text_vocab", "numericalize_tokens", "tokenize_df_counts",
           "setup_subword", "lm_dataloader", "text_batch_df", "text_results_df", "text_rules"]

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


def text_rules(rules):
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


def _tokenizer_and_rules(tok, rules):
    "A fastai `Tokenizer` brings its own rules; a base tokenizer takes `rules` (None: fastai's defaults)."
    if isinstance(tok, Tokenizer): return tok.tok, tok.rules
    if not callable(tok):
        raise TypeError(f"tok must be 'word', 'subword' or a fastai tokenizer (Tokenizer(), WordTokenizer(), "
                        f"SubwordTokenizer()), not {show(tok) if isinstance(tok, str) else type(tok).__name__}")
    return tok, text_rules(rules)


def text_tokens(texts, tok="word", rules=None, vocab_sz=None, lang="en"):
    """Tokenize `texts` the way fastai's `TextBlock` does: a list (one per text) of lists of token strings.

    - `tok="word"`: fastai's `WordTokenizer` (spaCy's rule-based `spacy.blank(lang)`: no model download).
    - `tok="subword"`: fastai's `SubwordTokenizer` (SentencePiece), trained on `texts` with a vocab of
      `vocab_sz` pieces (default: fastai's guess from the text); needs the `sentencepiece` package.
    - any fastai tokenizer object: a `Tokenizer` (with its own rules), a `WordTokenizer()`, a set-up
      `SubwordTokenizer()`, `BaseTokenizer()` (splitting on spaces).
    `rules`: the pre-tokenization rules, names from `proc_rules()` or functions (default: fastai's;
    `[]` for none). They add the special tokens: xxbos at the start, xxmaj before capitalised words, ...
    """
    texts = check_texts(texts)
    with tempfile.TemporaryDirectory(prefix="fastai-spm-") as tmp:  # SentencePiece writes its model files here
        if isinstance(tok, str) and tok == "word": tok = WordTokenizer(lang=lang)
        elif isinstance(tok, str) and tok == "subword":
            if importlib.util.find_spec("sentencepiece") is None:
                raise ImportError("tok='subword' needs the sentencepiece package: pip install sentencepiece")
            tok = SubwordTokenizer(lang=lang, cache_dir=tmp, vocab_sz=None if vocab_sz is None else as_int("vocab_sz", vocab_sz, 1))
        base, rules = _tokenizer_and_rules(tok, rules)
        with quiet():  # SentencePiece trains on its first batch and logs to stderr
            toks = tokenize_texts(texts, n_workers=0, rules=rules, tok=base)  # n_workers=0: no process pool
    return [[str(t) for t in ts] for ts in toks]


def tokenize_df_counts(df, text_cols, n_workers=0, rules=None, mark_fields=None, tok=None, tok_text_col="text"):
    """fastai's `tokenize_df` with plain values: `(df, counts)`, the table with the texts replaced by
    token lists (lists of str) in `tok_text_col` and their counts in `<tok_text_col>_length`, and a
    DataFrame of `token`, `n` by decreasing count."""
    if not isinstance(df, pd.DataFrame): raise TypeError(f"df must be a data frame, not {type(df).__name__}")
    text_cols = [text_cols] if isinstance(text_cols, (str, int)) else list(text_cols)
    missing = [c for c in text_cols if isinstance(c, str) and c not in df.columns]
    if missing: raise ValueError(f"columns {show(missing)} are not in the data; its columns are {show(list(df.columns))}")
    res, counter = _tokenize_df(df, text_cols, n_workers=as_int("n_workers", n_workers, 0), rules=text_rules(rules),
                                mark_fields=mark_fields, tok=tok, tok_text_col=tok_text_col)
    res = res.reset_index(drop=True)
    res[tok_text_col] = pd.Series([[str(t) for t in ts] for ts in res[tok_text_col]], dtype="object")
    counts = counter.most_common()
    return res, pd.DataFrame({"token": [str(t) for t, _ in counts], "n": [int(n) for _, n in counts]})


def setup_subword(tok, texts, rules=None):
    """Train a `SubwordTokenizer`'s SentencePiece model on `texts` (after the pre-tokenization rules,
    as fastai's `TextBlock` does) and return the tokenizer. Without it, the first call trains on its batch."""
    texts = check_texts(texts)
    rules = text_rules(rules)
    with quiet():
        tok.setup(texts, rules=defaults.text_proc_rules if rules is None else rules)
    return tok


@contextlib.contextmanager
def quiet():
    """Silence fastai's progress bar (Python's stdout) and SentencePiece's training log, which its C++
    code writes to file descriptor 2 (R's console, past knitr). Exceptions still propagate."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()):
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def lm_dataloader(dataset, **kwargs):
    """fastai's `LMDataLoader` over `dataset`: token-id sequences (lists of ints, e.g. `numericalize_tokens()`
    output; a single int is a one-token sequence) become LongTensors; a fastai dataset passes as it is."""
    if isinstance(dataset, (list, tuple)):
        seqs = [[s] if isinstance(s, int) else s for s in dataset]
        if not seqs or any(not is_listy(s) or not len(s) for s in seqs):
            raise ValueError("dataset must be a non-empty list of non-empty token-id vectors "
                             "(e.g. numericalize_tokens() output)")
        dataset = [torch.as_tensor([as_int("a token id", t, 0) for t in s], dtype=torch.long) for s in seqs]
    for k in ("bs", "seq_len", "num_workers"):
        if kwargs.get(k) is not None: kwargs[k] = as_int(k, kwargs[k], 0 if k != "bs" else 1)
    return LMDataLoader(dataset, **kwargs)


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


# ---------------------------------------------------------------------------------------------------
# fastai's text batches as tables
# ---------------------------------------------------------------------------------------------------
def _cell(o, trunc_at=None):
    "A decoded item as a table cell: a string (truncated), or a list of labels for multi-label targets."
    if is_listy(o) and not isinstance(o, str): return [str(v) for v in o]
    text = str(o)
    return text[:trunc_at] if trunc_at else text


def _decoded_table(its, n_inp, names, trunc_at=None, outs=None):
    "Decoded samples (tuples of inputs and targets) and predictions as a DataFrame with fastai's column names."
    rows = [list(it) for it in its]
    if outs is not None: rows = [r + list(out) for r, out in zip(rows, outs)]
    width = len(rows[0]) if rows else len(names)
    cols = (names + [f"{names[-1]}_{i}" for i in range(width - len(names))])[:width]
    return pd.DataFrame({c: [_cell(r[j], trunc_at if j < n_inp else None) for r in rows] for j, c in enumerate(cols)})


def _text_names(dl, with_preds=False):
    "fastai's names: text and text_ (the shifted text) for a language model, text and category(_) for a classifier."
    lm = isinstance(dl, LMDataLoader)
    names = ["text", "text_"] if lm else ["text", "category"]
    return names + (["text_pred" if lm else "category_"] if with_preds else [])


def text_batch_df(dl, max_n=9, trunc_at=150):
    """A batch of fastai text data (TextBlock: tokens with fastai's special tokens) as the table fastai's
    `show_batch` displays: `text` and `category` (a classifier) or `text` and `text_` (a language model,
    the same text one token later). Texts are cut at `trunc_at` characters."""
    _, _, its = dl._pre_show_batch(dl.one_batch(), max_n=as_int("max_n", max_n, 1))
    return _decoded_table(its, dl.n_inp, _text_names(dl), trunc_at)


def text_results_df(learn, ds_idx=1, max_n=9, shuffle=True, trunc_at=150):
    """A batch of fastai text data with the decoded predictions (`category_`; for a language model
    `text_pred`, the predicted next tokens), as the table fastai's `show_results` displays."""
    dl = learn.dls[as_int("ds_idx", ds_idx, 0)].new(shuffle=shuffle)
    b = dl.one_batch()
    with learn.no_bar():
        _, _, decoded = learn.get_preds(dl=[b], with_decoded=True)
    _, _, its, outs = dl.show_results(b, decoded, max_n=as_int("max_n", max_n, 1), show=False)
    return _decoded_table(its, dl.n_inp, _text_names(dl, True), trunc_at, outs)


_show_results_generic = show_results._resolve_method_with_cache((Any, Any, Any, Any))[0]


@show_results.dispatch
def show_results(x: TensorText, y, samples, outs, ctxs=None, max_n=10, trunc_at=150, **kwargs):
    "fastai's method for text classifiers, calling the generic one as fastai 2.8.12 meant to (see the module doc)."
    if ctxs is None: ctxs = get_empty_df(min(len(samples), max_n))
    samples = L((s[0].truncate(trunc_at), *s[1:]) for s in samples)
    ctxs = _show_results_generic(x, y, samples, outs, ctxs=ctxs, max_n=max_n, **kwargs)
    display_df(pd.DataFrame(ctxs))
    return ctxs
