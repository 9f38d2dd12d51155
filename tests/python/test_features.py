"""hf_hidden_states: one pooled vector per text from a frozen transformer, in input order."""
import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModel

from fastai_hf import (CategoryBlock, ColReader, CrossEntropyLossFlat, DataBlock, HF_BaseModelCallback,
                       HF_BaseModelWrapper, HF_TextBlock, Learner, RandomSplitter, get_hf_objects, hf_hidden_states,
                       hf_splitter)

TEXTS = ["I love this so much!", "meh", "This is the worst thing that has happened to me in a very long time.",
         "Not sure how I feel about it, honestly.", "wow"]


@pytest.fixture
def tiny(tiny_path):
    "(tokenizer, bare BertModel, BertForSequenceClassification) sharing the same encoder weights."
    _, _, tok, clf = get_hf_objects(tiny_path)
    return tok, AutoModel.from_pretrained(tiny_path), clf


def _manual(model, tok, text, output_hidden_states=False):
    "The model's output for one text, unpadded."
    with torch.no_grad():
        return model.eval()(**tok(text, return_tensors="pt"), output_hidden_states=output_hidden_states)


def test_shape_dtype_and_cls_matches_first_token(tiny):
    tok, base, _ = tiny
    x = hf_hidden_states(TEXTS, base, tok, bs=2)
    assert isinstance(x, np.ndarray) and x.dtype == np.float32
    assert x.shape == (len(TEXTS), base.config.hidden_size)
    for i in (0, 2):
        expected = _manual(base, tok, TEXTS[i]).last_hidden_state[0, 0].numpy()
        np.testing.assert_allclose(x[i], expected, atol=1e-5)


def test_mean_pooling_equals_manual_mean_over_tokens(tiny):
    tok, base, _ = tiny
    x = hf_hidden_states(TEXTS, base, tok, pooling="mean")
    h = _manual(base, tok, TEXTS[3]).last_hidden_state[0]
    np.testing.assert_allclose(x[3], h.mean(0).numpy(), atol=1e-5)
    assert not np.allclose(x[3], hf_hidden_states(TEXTS[3], base, tok, pooling="cls")[0])


def test_permuting_inputs_permutes_rows(tiny):
    tok, base, _ = tiny
    perm = np.array([3, 0, 4, 2, 1])
    x = hf_hidden_states(TEXTS, base, tok, bs=2, pooling="mean")
    y = hf_hidden_states([TEXTS[i] for i in perm], base, tok, bs=3.0, pooling="mean")  # R sends doubles
    np.testing.assert_allclose(y, x[perm], atol=1e-5)
    assert not np.allclose(x[0], x[1])  # rows really differ, so the check above means something


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_padding_does_not_change_a_text_vector(tiny, pooling):
    tok, base, _ = tiny
    alone = hf_hidden_states(["meh"], base, tok, pooling=pooling)
    batched = hf_hidden_states(["meh", TEXTS[2], TEXTS[3]], base, tok, pooling=pooling, bs=3)
    np.testing.assert_allclose(batched[0], alone[0], atol=1e-5)


def test_classifier_model_uses_its_encoder_and_layer_picks_a_hidden_state(tiny):
    tok, base, clf = tiny
    np.testing.assert_allclose(hf_hidden_states(TEXTS, clf, tok), hf_hidden_states(TEXTS, base, tok), atol=1e-5)
    emb = _manual(base, tok, TEXTS[0], output_hidden_states=True).hidden_states[0][0, 0].numpy()
    np.testing.assert_allclose(hf_hidden_states(TEXTS, clf, tok, layer=0)[0], emb, atol=1e-5)
    with pytest.raises(ValueError, match="layer must be"):
        hf_hidden_states(TEXTS, clf, tok, layer=5)


def test_max_length_truncates(tiny):
    tok, base, _ = tiny
    short = hf_hidden_states([TEXTS[2]], base, tok, pooling="mean", max_length=4)
    ids = tok(TEXTS[2], truncation=True, max_length=4, return_tensors="pt")
    with torch.no_grad():
        expected = base(**ids).last_hidden_state[0].mean(0).numpy()
    np.testing.assert_allclose(short[0], expected, atol=1e-5)


def test_deterministic_and_leaves_training_mode(tiny):
    tok, base, _ = tiny
    base.train()  # dropout on: the function must switch it off and restore the mode after
    a, b = hf_hidden_states(TEXTS, base, tok), hf_hidden_states(pd.Series(TEXTS), base, tok)
    assert base.training
    np.testing.assert_array_equal(a, b)


def test_accepts_an_hf_learner(tiny):
    tok, _, clf = tiny
    df = pd.DataFrame({"text": TEXTS * 2, "label": ["a", "b"] * 5})
    dls = DataBlock(blocks=(HF_TextBlock("bert", tok), CategoryBlock), get_x=ColReader("text"),
                    get_y=ColReader("label"), splitter=RandomSplitter(seed=0)).dataloaders(df, bs=4)
    learn = Learner(dls, HF_BaseModelWrapper(clf), loss_func=CrossEntropyLossFlat(), splitter=hf_splitter,
                    cbs=[HF_BaseModelCallback()])
    np.testing.assert_allclose(hf_hidden_states(TEXTS, learn), hf_hidden_states(TEXTS, clf, tok), atol=1e-6)


@pytest.mark.parametrize("texts, match", [
    ([], "no texts"), (["fine", ""], "missing, empty"), (["fine", None], "missing"),
    (pd.Series(["fine", np.nan]), "NA"), (pd.DataFrame({"text": ["a"]}), "not a DataFrame"), (42, "string")])
def test_bad_texts_raise(tiny, texts, match):
    tok, base, _ = tiny
    with pytest.raises((ValueError, TypeError), match=match):
        hf_hidden_states(texts, base, tok)


def test_bad_arguments_raise(tiny):
    tok, base, _ = tiny
    with pytest.raises(ValueError, match="pooling must be one of"):
        hf_hidden_states(TEXTS, base, tok, pooling="max")
    with pytest.raises(ValueError, match="bs"):
        hf_hidden_states(TEXTS, base, tok, bs=0)
    with pytest.raises(ValueError, match="layer must be a whole number"):
        hf_hidden_states(TEXTS, base, tok, layer=1.5)
    with pytest.raises(TypeError, match="hf_model must be a transformers model"):
        hf_hidden_states(TEXTS, "bert-base-uncased", tok)
    with pytest.raises(TypeError, match="hf_tokenizer"):
        hf_hidden_states(TEXTS, base)
