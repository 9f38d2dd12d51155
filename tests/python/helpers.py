"""Plain helpers shared by the tests (fixtures live in conftest.py): learner builders and the one
decoder of the R column format."""
import io

import pandas as pd
import torch
from fastai_hf import (HF_TASKS_AUTO, Adam, AutoConfig, BCEWithLogitsLossFlat, CategoryBlock, ColReader,
                       CrossEntropyLossFlat, DataBlock, HF_BaseModelCallback, HF_BaseModelWrapper, HF_TextBlock,
                       Learner, MultiCategoryBlock, Perplexity, RandomSplitter, TextBlock, accuracy, awd_lstm_config,
                       get_hf_objects, hf_splitter, language_model_learner, set_seed, text_classifier_learner)

EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
ULMFIT_LABELS = ["anger", "joy", "neutral", "sadness"]
SMALL = dict(emb_sz=32, n_hid=64, n_layers=2)  # AWD_LSTM is 400/1152/3: far too slow for tests


# ----------------------------------------------------------------------------------------- R tables
def r_table(t):
    """A table in the R column format (`fastai_hf.r.convert`) as the R side reads it, back to a
    DataFrame: missing values (`na`) as None, factors as their labels. Written independently of
    `frame_from_r`, so the tests do not check the converter with itself."""
    assert t.get("r_type", "frame") == "frame", t.get("r_type")
    cols = {}
    for name, col in zip(t["names"], t["columns"]):
        vals = list(col["values"])
        assert len(vals) == t["nrow"], (name, len(vals), t["nrow"])
        for i in col["na"]: vals[i] = None
        numeric = col["kind"] in ("integer", "double", "logical") and not col["na"]
        cols[name] = pd.Series(vals, dtype=None if numeric else object)
    return pd.DataFrame(cols, columns=list(t["names"]), index=pd.RangeIndex(t["nrow"]))


def r_col(kind, values, na=(), levels=None):
    "One column of a table as the R side sends it."
    c = {"kind": kind, "values": values, "na": list(na)}
    if levels is not None: c["levels"] = levels
    return c


# ----------------------------------------------------------------------------------- model weights
def state_bytes(model):
    "A model's weights, serialised: a session fixture can hand them out without sharing tensors."
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def load_state(model, data):
    model.load_state_dict(torch.load(io.BytesIO(data)))
    return model


def quiet_fit(learn, method="fit_one_cycle", *args, **kwargs):
    with learn.no_bar(), learn.no_logging(): getattr(learn, method)(*args, **kwargs)
    return learn


# ------------------------------------------------------------------------------------ HF learners
def hf_objects(path, num_labels):
    config = AutoConfig.from_pretrained(path)
    config.num_labels = num_labels
    return get_hf_objects(path, task=HF_TASKS_AUTO.SequenceClassification, config=config)


def make_learner(path, df, multi=True, bs=16, seed=0, opt_func=Adam, num_labels=len(EKMAN), max_length=None,
                 **learner_kwargs):
    "The R vignette's flow, in Python: multi-label on the one-hot columns, or single-label on `label`."
    set_seed(seed)
    hf_arch, _, hf_tokenizer, hf_model = hf_objects(path, num_labels)
    y_block = MultiCategoryBlock(encoded=True, vocab=EKMAN) if multi else CategoryBlock(vocab=EKMAN)
    text_block = HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer, max_length=max_length)
    dblock = DataBlock(blocks=[text_block, y_block],
                       get_x=ColReader("text"), get_y=ColReader(EKMAN if multi else "label"),
                       splitter=RandomSplitter(seed=seed))
    dls = dblock.dataloaders(df, bs=bs)
    loss = BCEWithLogitsLossFlat() if multi else CrossEntropyLossFlat()
    return Learner(dls, HF_BaseModelWrapper(hf_model), opt_func=opt_func, loss_func=loss,
                   cbs=HF_BaseModelCallback(), splitter=hf_splitter, **learner_kwargs)


# -------------------------------------------------------------------------------- ULMFiT learners
def lm_dls(df, path, vocab=None):
    "Language-model DataLoaders over `df.text` (no process pools: they cost more than they save here)."
    return DataBlock(blocks=TextBlock.from_df("text", is_lm=True, vocab=vocab, n_workers=0), get_x=ColReader("text"),
                     splitter=RandomSplitter(0.1, seed=0)).dataloaders(df, bs=8, seq_len=16, num_workers=0, path=path)


def clas_dls(df, path, vocab):
    """Classifier DataLoaders over `df.text` / `df.label` on a language model's vocab; 20% validation.
    Texts are padded in chunks of 16 tokens, matching the classifiers' `seq_len` (fastai's
    SentenceEncoder reads a batch in chunks of that size)."""
    return DataBlock(blocks=(TextBlock.from_df("text", vocab=vocab, seq_len=16, n_workers=0), CategoryBlock),
                     get_x=ColReader("text"), get_y=ColReader("label"), splitter=RandomSplitter(0.2, seed=0)
                     ).dataloaders(df, bs=8, num_workers=0, path=path)


def make_lm(dls, **kwargs):
    return language_model_learner(dls, config=awd_lstm_config("lm", **SMALL), drop_mult=0.3, pretrained=False,
                                  metrics=[accuracy, Perplexity()], **kwargs)


def make_classifier(dls, **kwargs):
    return text_classifier_learner(dls, config=awd_lstm_config("classifier", **SMALL), drop_mult=0.5,
                                   pretrained=False, metrics=accuracy, seq_len=16, **kwargs)


def encoder_of(learn):
    "The AWD_LSTM of a language model or of a classifier (inside its SentenceEncoder)."
    enc = learn.model[0]
    return getattr(enc, "module", enc)
