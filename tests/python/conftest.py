"""Shared fixtures: a tiny BERT built at test time and small slices of GoEmotions (Ekman labels)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tests never need the hub

import pytest
import torch
from fastai_hf import (HF_TASKS_AUTO, Adam, AutoConfig, BCEWithLogitsLossFlat, CategoryBlock, ColReader,
                       CrossEntropyLossFlat, DataBlock, HF_BaseModelCallback, HF_BaseModelWrapper, HF_TextBlock,
                       Learner, MultiCategoryBlock, RandomSplitter, get_hf_objects, hf_splitter, load_goemotions,
                       set_seed)
from fastai_hf.testing import tiny_bert

EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def ekman_df():
    "120 multi-label rows: text, labels and 7 one-hot columns."
    return load_goemotions("ekman", split="train", n_rows=120)


@pytest.fixture(scope="session")
def ekman_single_df():
    "120 single-label rows: text and a `label` column."
    return load_goemotions("ekman", split="train", n_rows=120, single_label=True)


def hf_objects(path, num_labels):
    config = AutoConfig.from_pretrained(path)
    config.num_labels = num_labels
    return get_hf_objects(path, task=HF_TASKS_AUTO.SequenceClassification, config=config)


def make_learner(path, df, multi=True, bs=16, seed=0, opt_func=Adam, **learner_kwargs):
    "The R vignette's flow, in Python: multi-label on the one-hot columns, or single-label on `label`."
    set_seed(seed)
    hf_arch, _, hf_tokenizer, hf_model = hf_objects(path, len(EKMAN))
    y_block = MultiCategoryBlock(encoded=True, vocab=EKMAN) if multi else CategoryBlock(vocab=EKMAN)
    dblock = DataBlock(blocks=[HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer), y_block],
                       get_x=ColReader("text"), get_y=ColReader(EKMAN if multi else "label"),
                       splitter=RandomSplitter(seed=seed))
    dls = dblock.dataloaders(df, bs=bs)
    loss = BCEWithLogitsLossFlat() if multi else CrossEntropyLossFlat()
    return Learner(dls, HF_BaseModelWrapper(hf_model), opt_func=opt_func, loss_func=loss,
                   cbs=HF_BaseModelCallback(), splitter=hf_splitter, **learner_kwargs)


@pytest.fixture(scope="module")
def multi_learn(tiny_path, ekman_df):
    learn = make_learner(tiny_path, ekman_df, multi=True)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    return learn


@pytest.fixture(scope="module")
def single_learn(tiny_path, ekman_single_df):
    learn = make_learner(tiny_path, ekman_single_df, multi=False)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    return learn


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)
