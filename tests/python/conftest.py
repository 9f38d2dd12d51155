"""Shared fixtures: a tiny BERT built at test time, small slices of GoEmotions (Ekman labels), and
learners trained once per session.

Nothing mutable is shared between tests: session fixtures (names starting with `_`) hold data and
serialised weights only, and every fixture a test receives is built for that test (a fresh copy of
the data, a fresh learner with the session's weights loaded), so tests can train, set thresholds or
save files in any order.
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tests never need the hub
# Before torch loads OpenMP: its threads then sleep rather than spin while they wait, which on a busy
# machine (the tests share two cores with whatever else runs) makes training ten times slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402
from fastai_hf import load_goemotions, set_seed  # noqa: E402
from fastai_hf.testing import tiny_bert  # noqa: E402
from helpers import (ULMFIT_LABELS, clas_dls, lm_dls, load_state, make_classifier, make_learner, make_lm,  # noqa: E402
                     quiet_fit, state_bytes)


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)


# ------------------------------------------------------------------------------------------- data
@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    "A folder holding a tiny 2-layer BERT with MiniLM's vocabulary (read-only for the tests)."
    return tiny_bert(str(tmp_path_factory.mktemp("tiny-bert")))


@pytest.fixture(scope="session")
def _ekman():
    return {"multi": load_goemotions("ekman", split="train", n_rows=120),
            "single": load_goemotions("ekman", split="train", n_rows=120, single_label=True)}


@pytest.fixture
def ekman_df(_ekman):
    "120 multi-label rows: text, labels and 7 one-hot columns."
    return _ekman["multi"].copy()


@pytest.fixture
def ekman_single_df(_ekman):
    "120 single-label rows: text and a `label` column."
    return _ekman["single"].copy()


# ------------------------------------------------------------------------------------ HF learners
@pytest.fixture(scope="session")
def _hf_weights(tiny_path, _ekman):
    "Weights of the tiny BERT after one epoch, multi-label and single-label."
    out = {}
    for kind in ("multi", "single"):
        learn = make_learner(tiny_path, _ekman[kind].copy(), multi=kind == "multi")
        out[kind] = state_bytes(quiet_fit(learn, "fit_one_cycle", 1, 1e-3).model)
    return out


@pytest.fixture
def multi_learn(tiny_path, ekman_df, _hf_weights):
    "A multi-label learner with the weights of one epoch of training (a new one for each test)."
    learn = make_learner(tiny_path, ekman_df, multi=True)
    load_state(learn.model, _hf_weights["multi"])
    return learn


@pytest.fixture
def single_learn(tiny_path, ekman_single_df, _hf_weights):
    "A single-label learner with the weights of one epoch of training (a new one for each test)."
    learn = make_learner(tiny_path, ekman_single_df, multi=False)
    load_state(learn.model, _hf_weights["single"])
    return learn


# -------------------------------------------------------------------------------------- ULMFiT
@pytest.fixture(scope="session")
def _ulmfit_texts():
    d = load_goemotions("ekman", n_rows=1000, single_label=True)
    return d[d.label.isin(ULMFIT_LABELS)].groupby("label").head(50).reset_index(drop=True)


@pytest.fixture
def ulmfit_df(_ulmfit_texts):
    "200 single-label texts, 50 each of anger, joy, neutral and sadness."
    return _ulmfit_texts.copy()


@pytest.fixture(scope="session")
def _ulmfit(_ulmfit_texts, tmp_path_factory):
    """One epoch of a small AWD-LSTM language model on the texts, its encoder, and a classifier that
    loaded the encoder and trained one epoch: the vocab, the LM's last epoch (train loss, valid loss,
    accuracy, perplexity) and the serialised weights."""
    path = tmp_path_factory.mktemp("ulmfit")
    dls = lm_dls(_ulmfit_texts.copy(), path)
    set_seed(0)
    lm = quiet_fit(make_lm(dls), "fit_one_cycle", 1, 1e-2)
    lm.save_encoder("finetuned")
    clas = make_classifier(clas_dls(_ulmfit_texts.copy(), path, dls.vocab)).load_encoder("finetuned")
    quiet_fit(clas, "fit_one_cycle", 1, 1e-2)
    return {"vocab": tuple(dls.vocab), "lm_values": tuple(float(v) for v in lm.recorder.values[-1]),
            "lm": state_bytes(lm.model), "encoder": (path / "models" / "finetuned.pth").read_bytes(),
            "clas": state_bytes(clas.model)}


@pytest.fixture
def ulmfit_lm_dls(ulmfit_df, _ulmfit, tmp_path):
    "Language-model DataLoaders on the session's vocab, with `path` a fresh folder."
    return lm_dls(ulmfit_df, tmp_path, vocab=list(_ulmfit["vocab"]))


@pytest.fixture
def ulmfit_lm(ulmfit_lm_dls, _ulmfit):
    "The trained language model (a new learner with its weights)."
    learn = make_lm(ulmfit_lm_dls)
    load_state(learn.model, _ulmfit["lm"])
    return learn


@pytest.fixture
def encoder_file(tmp_path, _ulmfit):
    "The language model's encoder saved as `finetuned` in tmp_path/models (where learners built on tmp_path look)."
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "finetuned.pth").write_bytes(_ulmfit["encoder"])
    return "finetuned"


@pytest.fixture
def ulmfit_clas_dls(ulmfit_df, _ulmfit, tmp_path):
    "Classifier DataLoaders on the language model's vocab (40 validation texts), with `path` a fresh folder."
    return clas_dls(ulmfit_df, tmp_path, list(_ulmfit["vocab"]))


@pytest.fixture
def ulmfit_clas(ulmfit_clas_dls, _ulmfit):
    "The trained ULMFiT classifier (a new learner with its weights)."
    learn = make_classifier(ulmfit_clas_dls)
    load_state(learn.model, _ulmfit["clas"])
    return learn
