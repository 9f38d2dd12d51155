"""Token classification data (NER, POS, chunking): word lists with one tag per word.

An item is a sentence already split into words plus one tag per word, read from two DataFrame
columns of lists (R: list columns; `words_from_long` turns the one-row-per-word layout into that).
Items stay words until a batch is drawn: `HF_TokenClassBeforeBatchTransform` tokenizes the batch's
word lists in one call (`is_split_into_words=True`), pads to the batch's longest sentence, and
aligns the word tags to the word pieces: the first piece of each word carries the word's tag id,
every other position (later pieces of a word, special tokens, padding, words cut by truncation)
holds `ignore_token_id` (-100), which the loss and the metrics skip. The names are blurr's:

    DataBlock(blocks=[HF_TokenClassBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer), HF_TokenCategoryBlock()],
              get_x=ColReader("words"), get_y=ColReader("tags"), splitter=...)

The tag vocab comes from the data (`O` first, then per entity type B-, I-, ...) or is given
(`HF_TokenCategoryBlock(vocab=[...])`). A byte-level BPE tokenizer (RoBERTa, GPT-2, ...) must be loaded
with `add_prefix_space=True` for pre-split words; the transform says so when it is not.
"""
import numpy as np
import pandas as pd
import torch
from fastai.data.block import TransformBlock
from fastai.data.transforms import CategoryMap
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import TensorBase, display_df
from fasttransform import DisplayedTransform, Transform

from ..checks import advice, as_int, rows, show
from .core import HF_BeforeBatchTransform, HF_TextDL, is_tokenizer

__all__ = ["HF_TokenClassInput", "HF_TokenClassBeforeBatchTransform", "HF_TokenClassBatchTransform",
           "HF_TokenClassBlock", "HF_TokenTensorCategory", "HF_TokenCategorize", "HF_TokenCategoryBlock",
           "HF_TokenClassDL", "align_word_labels", "tag_vocab", "words_from_long", "check_word_lists",
           "needs_prefix_space"]

IGNORE = -100  # torch's CrossEntropyLoss ignore_index, the Trainer's and blurr's convention


# ------------------------------------------------------------------------------------- checks
def _is_list(v):
    return isinstance(v, (list, tuple, np.ndarray))


def check_word_lists(df, col, what="words"):
    """Every cell of column `col` is a non-empty list of non-empty strings (words or tags)."""
    cells = df[col]
    c = show(col)
    not_list = cells.map(lambda v: not _is_list(v)).to_numpy()
    if not_list.any():
        first = cells[not_list].iloc[0]
        fix = advice(f"make each cell a list, e.g. df[{c}] = df[{c}].str.split() for space-separated strings",
                     f"make it a list column, e.g. df[[{c}]] <- strsplit(df[[{c}]], \" \") for space-separated "
                     "strings, or words_from_long() for one row per word")
        raise ValueError(f"column {c} must hold a list of {what} per row, but {rows(list(df.index[not_list]))} "
                         f"hold {show(first) if not _is_list(first) else type(first).__name__}; {fix}")
    empty = cells.map(len).to_numpy() == 0
    if empty.any():
        raise ValueError(f"column {c} has {int(empty.sum())} empty list(s) of {what} ({rows(list(df.index[empty]))}); "
                         "every sentence needs at least one word: drop those rows")
    bad_word = cells.map(lambda ws: any(not isinstance(w, str) or not w.strip() for w in ws)).to_numpy()
    if bad_word.any():
        ws = cells[bad_word].iloc[0]
        w = next(w for w in ws if not isinstance(w, str) or not w.strip())
        kind = "missing (NA)" if w is None or (isinstance(w, float) and np.isnan(w)) else \
            ("not a string" if not isinstance(w, str) else "empty")
        fix = (advice("tags must be strings such as 'B-PER'; map tag ids to their names first, e.g. "
                      f"df[{c}] = df[{c}].map(lambda ids: [names[i] for i in ids])",
                      f"tags must be strings such as \"B-PER\"; map tag ids to their names first, e.g. "
                      f"df[[{c}]] <- lapply(df[[{c}]], function(ids) names[ids + 1])")
               if what == "tags" and kind == "not a string" else
               advice(f"drop or fix those {what}, e.g. [w for w in ws if w.strip()]",
                      f"drop or fix those {what}, e.g. lapply(x, function(w) w[nzchar(trimws(w))])"))
        raise ValueError(f"column {c} has {what} that are {kind} (e.g. {show(w)}) in "
                         f"{rows(list(df.index[bad_word]))}; {fix}")


def needs_prefix_space(hf_tokenizer):
    """Does a tokenizer mis-tokenize pre-split words? Byte-level BPE tokenizers (RoBERTa, GPT-2,
    BART, ...) mark a word that follows a space with 'Ġ'; given words one by one they see no space
    unless loaded with `add_prefix_space=True`."""
    if getattr(hf_tokenizer, "add_prefix_space", None) is not False: return False
    pre = getattr(getattr(hf_tokenizer, "backend_tokenizer", None), "pre_tokenizer", None)
    return pre is not None and "ByteLevel" in repr(pre)


# ----------------------------------------------------------------------------------- long format
def words_from_long(df, sentence_col="sentence", word_col="word", tag_col="tag"):
    """One row per word (a sentence id, the word and its tag: the layout of CoNLL files and of many R
    data frames) to one row per sentence: `sentence`, `words` (list) and `tags` (list, when `tag_col`
    is given and present). Sentences keep the order of their first row, words their row order."""
    missing = [c for c in (sentence_col, word_col) + ((tag_col,) if tag_col else ()) if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) {show(missing)} are not in the data; its columns are {show(list(df.columns))}. "
                         "Name the sentence id, word and tag columns with sentence_col=, word_col=, tag_col= "
                         "(tag_col=None for words without tags)")
    cols = [word_col] + ([tag_col] if tag_col else [])
    for c in cols:
        bad = df[c].isna().to_numpy() | ~df[c].map(lambda v: isinstance(v, str) and bool(v.strip())).to_numpy()
        if bad.any():
            raise ValueError(f"column {show(c)} has {int(bad.sum())} missing or empty value(s) "
                             f"({rows(list(df.index[bad]))}); every word needs a non-empty "
                             f"{'word' if c == word_col else 'tag'}: drop or fill those rows")
    if df[sentence_col].isna().any():
        raise ValueError(f"sentence id column {show(sentence_col)} has missing values "
                         f"({rows(list(df.index[df[sentence_col].isna().to_numpy()]))}); every word needs its sentence's id")
    grouped = df.groupby(sentence_col, sort=False)[cols].agg(list)
    out = pd.DataFrame({"sentence": grouped.index.to_numpy(), "words": grouped[word_col].to_numpy()})
    if tag_col: out["tags"] = grouped[tag_col].to_numpy()
    return out


# ------------------------------------------------------------------------------------------ vocab
_PREFIX_ORDER = {"B": 0, "I": 1, "E": 2, "S": 3, "L": 4, "U": 5}


def _tag_key(tag):
    if tag == "O": return (0, "", 0)
    if len(tag) > 2 and tag[1] == "-" and tag[0] in _PREFIX_ORDER: return (1, tag[2:], _PREFIX_ORDER[tag[0]])
    return (1, tag, 9)


def tag_vocab(tags):
    """The tags found in `tags` (lists of tags), in a readable order: `O` first, then per entity
    type its B-, I-, E-, S- tags (entity types alphabetically)."""
    found = {t for ts in tags for t in ts}
    return sorted(found, key=_tag_key)


# ------------------------------------------------------------------------------------ transforms
class HF_TokenClassInput(Transform):
    "The input of a token classification item: a list of words (strings), checked in the DataFrame up front."
    def encodes(self, words): return [str(w) for w in words] if _is_list(words) else words

    def check_source(self, df, cols):
        if len(cols) != 1:
            raise ValueError(f"HF_TokenClassBlock reads one column of word lists; get_x reads {show(list(cols))}")
        check_word_lists(df, cols[0], "words")


class HF_TokenTensorCategory(TensorBase):
    "Tag ids of a sentence: one per word in an item, one per token (with -100 where ignored) in a batch."


class HF_TokenCategorize(DisplayedTransform):
    """Tags (a list of strings per sentence) to ids of `vocab`, and back (blurr's name).

    `vocab`: the tags, in the order of the model's labels (default: from the data, see `tag_vocab`).
    Ids equal to `ignore_token_id` are skipped when decoding. Its `loss_func` (the Learner's default)
    is `CrossEntropyLossFlat(ignore_index=ignore_token_id)`."""
    order = 1
    target_kind = "tokens"  # what `data.core.target_kind` reports for these targets

    def __init__(self, vocab=None, ignore_token_id=IGNORE):
        self.ignore_token_id = as_int("ignore_token_id", ignore_token_id)
        self.vocab = None if vocab is None else CategoryMap(self._check_vocab(vocab), sort=False)
        self.loss_func = CrossEntropyLossFlat(ignore_index=self.ignore_token_id)

    @staticmethod
    def _check_vocab(vocab):
        vocab = [vocab] if isinstance(vocab, str) else list(vocab)
        if not vocab or not all(isinstance(v, str) and v for v in vocab):
            raise ValueError(f"vocab must be the tag names (non-empty strings), not {show(vocab)}")
        dup = sorted({v for v in vocab if vocab.count(v) > 1})
        if dup: raise ValueError(f"vocab has duplicated tags {show(dup)}; give each tag once")
        return vocab

    def setups(self, dsets):
        if self.vocab is None and dsets is not None: self.vocab = CategoryMap(tag_vocab(dsets), sort=False)
        self.c = len(self.vocab)

    def encodes(self, tags):
        if isinstance(tags, torch.Tensor): return tags
        try:
            return HF_TokenTensorCategory(torch.tensor([self.vocab.o2i[t] for t in tags], dtype=torch.long))
        except KeyError as e:
            raise KeyError(f"tag {show(e.args[0])} is not in the vocab {show(list(self.vocab))}; add it to "
                           "HF_TokenCategoryBlock(vocab=) or drop the sentences that use it") from None

    def decodes(self, ids: HF_TokenTensorCategory):
        return [self.vocab[i] for i in ids.tolist() if i != self.ignore_token_id]

    def check_source(self, df, cols):
        if len(cols) != 1:
            raise ValueError(f"HF_TokenCategoryBlock reads one column of tag lists; get_y reads {show(list(cols))}")
        col = cols[0]
        check_word_lists(df, col, "tags")
        if self.vocab is None: return
        known = set(self.vocab)
        outside = df[col].map(lambda ts: any(t not in known for t in ts)).to_numpy()
        if outside.any():
            unknown = sorted({t for ts in df[col][outside] for t in ts if t not in known})
            raise ValueError(f"tag column {show(col)} has tags that are not in the vocab: {show(unknown[:5])} "
                             f"({rows(list(df.index[outside]))}); add them to vocab= (now {show(list(self.vocab))}) "
                             "or drop those rows")

    def check_with_inputs(self, df, cols, input_cols):
        "Each row has as many tags as words."
        if len(input_cols) != 1 or len(cols) != 1: return
        words, tags = df[input_cols[0]], df[cols[0]]
        n_words, n_tags = words.map(len).to_numpy(), tags.map(len).to_numpy()
        bad = n_words != n_tags
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{int(bad.sum())} row(s) have a different number of words and tags "
                             f"({rows(list(df.index[bad]))}; e.g. {n_words[i]} words and {n_tags[i]} tags); give "
                             f"one tag per word: {show(input_cols[0])} and {show(cols[0])} must have the same length "
                             "in every row")


def HF_TokenCategoryBlock(vocab=None, ignore_token_id=IGNORE):
    "A `TransformBlock` for one tag per word (blurr's name): see `HF_TokenCategorize`."
    return TransformBlock(type_tfms=HF_TokenCategorize(vocab=vocab, ignore_token_id=ignore_token_id))


def align_word_labels(word_ids, word_labels, ignore_token_id=IGNORE):
    """Token labels from word labels: the first piece of word `w` gets `word_labels[w]`, every other
    position (later pieces, special tokens and padding, whose word id is None) `ignore_token_id`.
    Words that `word_ids` never mentions (cut by truncation) simply have no token."""
    out, prev = [], None
    for w in word_ids:
        out.append(ignore_token_id if w is None or w == prev else int(word_labels[w]))
        prev = w
    return out


class HF_TokenClassBeforeBatchTransform(HF_BeforeBatchTransform):
    """Tokenizes a batch of word lists at once (`is_split_into_words=True`), padded to its longest
    sentence, and turns each sentence's word tag ids into token labels (`align_word_labels`).

    Takes `HF_BeforeBatchTransform`'s arguments (blurr's, positionally too) plus `ignore_token_id`.
    Samples without targets (a test set) are tokenized only."""
    def __init__(self, hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, max_length=None, padding=True,
                 truncation=True, is_split_into_words=True, tok_kwargs=None, ignore_token_id=IGNORE, **kwargs):
        if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
        super().__init__(hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length, padding=padding,
                         truncation=truncation, is_split_into_words=True, tok_kwargs=tok_kwargs, **kwargs)
        if not getattr(self.hf_tokenizer, "is_fast", False):
            raise TypeError("token classification needs a fast tokenizer (it maps word pieces to words); load the "
                            "tokenizer with use_fast=True")
        if needs_prefix_space(self.hf_tokenizer):
            raise ValueError(
                f"this {type(self.hf_tokenizer).__name__} is a byte-level BPE tokenizer loaded with "
                "add_prefix_space=False, so pre-split words would be tokenized as if each began the text; load it with "
                + advice("get_hf_objects(name, task=..., tokenizer_kwargs={'add_prefix_space': True})",
                         "get_hf_objects(name, task = ..., tokenizer_kwargs = list(add_prefix_space = TRUE))"))
        self.ignore_token_id = as_int("ignore_token_id", ignore_token_id)

    def _labels(self, word_ids, sample, length):
        labels = align_word_labels(word_ids, sample[1], self.ignore_token_id)
        pad = [self.ignore_token_id] * (length - len(labels))
        labels = labels + pad if self.hf_tokenizer.padding_side == "right" else pad + labels
        return HF_TokenTensorCategory(torch.tensor(labels, dtype=torch.long))

    def _with_labels(self, enc, word_ids, samples):
        rows = [{k: v[i] for k, v in enc.items()} for i in range(len(samples))]
        length = enc["input_ids"].shape[1]
        return [(row, self._labels(w, s, length), *s[2:]) if len(s) > 1 else (row,)
                for row, w, s in zip(rows, word_ids, samples)]

    def encodes(self, samples: list):
        enc = self.tokenize(s[0] for s in samples)
        return self._with_labels(enc, [enc.word_ids(i) for i in range(len(samples))], samples)

    def pad(self, encoded, rows, samples):
        features = [{k: v[i] for k, v in encoded.items()} for i in rows]
        enc = self.hf_tokenizer.pad(features, padding=self.padding, max_length=self.max_length, return_tensors="pt",
                                    pad_to_multiple_of=self.tok_kwargs.get("pad_to_multiple_of"))
        return self._with_labels(enc, [encoded.word_ids(i) for i in rows], samples)

    def decode_words(self, input_ids, first_piece):
        """Each row of a batch as its words: the pieces from each first piece (`first_piece`, a bool
        matrix) up to the next, decoded (special tokens dropped)."""
        out = []
        for ids, first in zip(input_ids.tolist(), first_piece.tolist()):
            starts = [j for j, f in enumerate(first) if f] + [len(ids)]
            special = set(self.hf_tokenizer.all_special_ids)
            out.append([self.hf_tokenizer.decode([t for t in ids[a:b] if t not in special]).strip()
                        for a, b in zip(starts[:-1], starts[1:])])
        return out


HF_TokenClassBatchTransform = HF_TokenClassBeforeBatchTransform  # blurr's earlier name


class HF_TokenClassDL(HF_TextDL):
    """`HF_TextDL` for word lists, shown as one row per sentence: `words` (the words the model saw,
    decoded from its pieces), `target` and `predicted` (lists of tags, one per word).

    Training batches come from pools of `pool_batches` (default 4) batches' worth of sentences drawn
    at random: each pool is tokenized in one call and cut into batches of similar token counts. Small
    random pools keep batches nearly as random as plain shuffling while cutting most of the padding:
    on CoNLL-2003, sorting whole chunks of 50 batches by length (`HF_TextDL`'s classification
    default) padded least but cost entity F1 (0.683 against 0.715 for random batches, MiniLM, 800
    sentences, one epoch), as sentences of one length share their kind (headlines, scores, prose).
    `pool_batches=1` gives plain random batches, padded to their longest sentence."""
    def __init__(self, dataset, pool_batches=4, **kwargs):
        super().__init__(dataset, pool_batches=pool_batches, **kwargs)

    def shuffle_fn(self, idxs):
        idxs = np.random.permutation(len(self.dataset))
        if len(idxs):  # the longest sentence first, so memory limits show at once
            first = np.where(idxs == self.idx_max)[0][0]
            idxs[0], idxs[first] = idxs[first], idxs[0]
        return iter(idxs)
    def _table(self, b, max_n, preds=None):
        x, y = b[0], b[self.n_inp]
        tfm = self.hf_before_batch
        ignore = tfm.ignore_token_id
        n = min(max_n, len(x["input_ids"]))
        first = (y[:n] != ignore).cpu()
        vocab = self.vocab
        df = pd.DataFrame({"words": tfm.decode_words(x["input_ids"][:n].cpu(), first)})
        df["target"] = [[vocab[i] for i in row[m].tolist()] for row, m in zip(y[:n].cpu(), first)]
        if preds is not None:
            p = preds[0] if isinstance(preds, (tuple, list)) else preds
            p = p.argmax(-1) if p.ndim == 3 else p
            df["predicted"] = [[vocab[i] for i in row[m].tolist()] for row, m in zip(p[:n].cpu(), first)]
        return df


def HF_TokenClassBlock(hf_arch=None, hf_config=None, hf_tokenizer=None, hf_model=None, before_batch_tfm=None,
                       max_length=None, padding=True, truncation=True, dl_type=None, before_batch_kwargs=None,
                       tok_kwargs=None, ignore_token_id=IGNORE, **kwargs):
    """The input block of token classification: word lists, tokenized per batch with dynamic padding
    and tags aligned to the first piece of each word (`HF_TokenClassBeforeBatchTransform`).

    Takes `HF_TextBlock`'s arguments (blurr's order: `hf_arch, hf_config, hf_tokenizer, hf_model`);
    other keyword arguments go to the DataLoaders (e.g. `pool_batches`, see `HF_TextDL`)."""
    if hf_tokenizer is None and is_tokenizer(hf_config): hf_config, hf_tokenizer = None, hf_config
    if before_batch_tfm is None:
        before_batch_tfm = HF_TokenClassBeforeBatchTransform(
            hf_arch, hf_config, hf_tokenizer, hf_model, max_length=max_length, padding=padding, truncation=truncation,
            tok_kwargs=tok_kwargs, ignore_token_id=ignore_token_id, **(before_batch_kwargs or {}))
    return TransformBlock(type_tfms=HF_TokenClassInput(), dl_type=dl_type or HF_TokenClassDL,
                          dls_kwargs={"before_batch": before_batch_tfm, **kwargs})
