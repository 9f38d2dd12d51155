"""ULMFiT offline on 200 GoEmotions texts: a small AWD-LSTM language model, its encoder in a classifier,
local pretrained weights, the offline error, LM generation and the tokenization helpers."""
import math
import os
from urllib.error import URLError

import fastai.text.learner as fastai_text_learner
import numpy as np
import pandas as pd
import pytest
import torch

from fastai_hf import (AWD_LSTM, CategoryBlock, ColReader, DataBlock, LMLearner, Perplexity, RandomSplitter,
                       TextBlock, TextDataLoaders, accuracy, awd_lstm_config, confidence_df, defaults,
                       language_model_learner, lm_predict, load_goemotions, numericalize_tokens, proc_rules,
                       save_pickle, set_seed, spec_tokens, text_classifier_learner, text_tokens, text_vocab)

SMALL = dict(emb_sz=32, n_hid=64, n_layers=2)  # AWD_LSTM is 400/1152/3: far too slow for tests


@pytest.fixture(scope="module")
def df():
    d = load_goemotions("ekman", n_rows=1000, single_label=True)
    return d[d.label.isin(["anger", "joy", "neutral", "sadness"])].groupby("label").head(50).reset_index(drop=True)


@pytest.fixture(scope="module")
def dls_lm(df, tmp_path_factory):
    # n_workers=0 / num_workers=0: no process pools, which cost more than they save on 200 texts.
    return DataBlock(blocks=TextBlock.from_df("text", is_lm=True, n_workers=0), get_x=ColReader("text"),
                     splitter=RandomSplitter(0.1, seed=0)).dataloaders(
        df, bs=8, seq_len=16, num_workers=0, path=tmp_path_factory.mktemp("ulmfit"))


@pytest.fixture(scope="module")
def lm(dls_lm):
    set_seed(0)
    learn = language_model_learner(dls_lm, AWD_LSTM, config=awd_lstm_config("lm", **SMALL), drop_mult=0.3,
                                   pretrained=False, metrics=[accuracy, Perplexity()])
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 1e-2)
    learn.save_encoder("finetuned")
    return learn


@pytest.fixture(scope="module")
def clas(df, dls_lm, lm):
    dls = DataBlock(blocks=(TextBlock.from_df("text", vocab=dls_lm.vocab, n_workers=0), CategoryBlock),
                    get_x=ColReader("text"), get_y=ColReader("label"), splitter=RandomSplitter(0.2, seed=0)
                    ).dataloaders(df, bs=8, num_workers=0, path=dls_lm.path)
    learn = text_classifier_learner(dls, AWD_LSTM, config=awd_lstm_config("classifier", **SMALL), drop_mult=0.5,
                                    pretrained=False, metrics=accuracy, seq_len=16)
    return learn.load_encoder("finetuned")


@pytest.fixture(scope="module")
def small_clas_dls(dls_lm):
    "Eight labelled texts on the language model's vocab, for building classifiers quickly."
    d = pd.DataFrame({"text": ["I love it", "I hate it", "so happy", "so angry", "great day", "awful day",
                               "love love", "hate hate"], "label": ["pos", "neg"] * 4})
    return TextDataLoaders.from_df(d, text_col="text", label_col="label", text_vocab=dls_lm.vocab, valid_pct=0.25,
                                   seed=0, bs=4, num_workers=0, path=dls_lm.path, n_workers=0)


def _encoder(learn):
    "The AWD_LSTM of a language model or of a classifier (inside its SentenceEncoder)."
    enc = learn.model[0]
    return getattr(enc, "module", enc)


def test_language_model_trains_with_accuracy_and_perplexity(lm):
    assert isinstance(lm, LMLearner)
    _, valid_loss, acc, ppl = lm.recorder.values[-1]  # train loss, valid loss, metrics
    assert 0 < acc < 1 and math.isfinite(valid_loss)
    assert ppl == pytest.approx(math.exp(valid_loss), rel=1e-4)
    assert (lm.path / lm.model_dir / "finetuned.pth").is_file()


def test_classifier_loads_the_encoder_and_fine_tunes_gradually(clas, lm):
    lm_sd, cl_sd = _encoder(lm).state_dict(), _encoder(clas).state_dict()
    assert lm_sd.keys() == cl_sd.keys()
    assert all(torch.equal(lm_sd[k].cpu(), cl_sd[k].cpu()) for k in lm_sd)
    clas.freeze_to(-2)
    frozen = [p.detach().clone() for p in _encoder(clas).encoder.parameters()]
    with clas.no_bar(), clas.no_logging():
        clas.fit_one_cycle(1, slice(1e-3, 1e-2))
    assert all(torch.equal(a, b) for a, b in zip(frozen, _encoder(clas).encoder.parameters()))  # embeddings frozen
    label, idx, probs = clas.predict("I am so happy today!")
    assert label in clas.dls.vocab[1] and label == clas.dls.vocab[1][int(idx)]
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_confidence_df_on_ulmfit_classifier_shows_readable_text(clas, df):
    conf = confidence_df(clas)
    assert len(conf) == len(clas.dls.valid.items) == 40
    assert not conf.text.str.contains("xxbos|xxmaj|xxpad").any()
    vocab = set(clas.dls.vocab[0])
    checked = 0
    for row in conf.index:  # every in-vocab word of the raw text is in the decoded text
        words = [w.lower() for w in df.loc[row, "text"].split() if w.isalpha() and w.lower() in vocab]
        assert all(w in conf.loc[row, "text"].lower() for w in words)
        checked += len(words)
    assert checked > 50
    assert conf.text.str[0].str.isupper().any()  # xxmaj undone: capitals are back
    np.testing.assert_allclose(conf.loss, -np.log(conf.label_probability), rtol=1e-4)


def test_lm_predict_continues_the_prompt(lm):
    out = lm_predict(lm, "I feel so", n_words=6, temperature=0.75, seed=1)
    assert isinstance(out, str) and out.startswith("I feel so ") and len(out) > len("I feel so ")
    assert out == lm_predict(lm, "I feel so", n_words=6, temperature=0.75, seed=1)  # seeded: reproducible
    # fastai's own predict, which lm_predict wraps, lowercases the prompt ("i feel so ..."); ours keeps it.
    assert lm.predict("I feel so", n_words=2, no_bar=True).startswith("i feel so")
    outs = lm_predict(lm, "It's a WONDERFUL day", n_words=3, n=2)
    assert isinstance(outs, list) and len(outs) == 2 and all(o.startswith("It's a WONDERFUL day") for o in outs)
    assert lm_predict(lm, "Hello", n_words=0) == "Hello"
    assert len(lm_predict(lm, "Hello", n_words=3.0, n=2.0)) == 2  # R sends doubles


def test_lm_predict_errors(lm, clas):
    with pytest.raises(TypeError, match="language model learner"):
        lm_predict(clas, "hello")
    with pytest.raises(ValueError, match="non-empty string"):
        lm_predict(lm, "  ")
    with pytest.raises(ValueError, match="n_words must be an integer"):
        lm_predict(lm, "hello", n_words=2.5)


def test_local_pretrained_weights(lm, dls_lm, small_clas_dls, tmp_path):
    wgts, vocab = tmp_path / "lm_weights.pth", tmp_path / "lm_vocab.pkl"
    torch.save(lm.model.state_dict(), wgts)
    save_pickle(vocab, list(lm.dls.vocab))
    real = [i for i, w in enumerate(lm.dls.vocab) if w != "xxfake"]  # fastai's padding tokens get a mean row

    def same_embeddings(learn):
        return torch.equal(learn.model[0].encoder.weight[real], lm.model[0].encoder.weight[real])

    # Full paths (fastai itself would look for 'lm_weights.pth.pth'), with or without the extension.
    for fnames in [(wgts, vocab), (str(wgts)[:-4], str(vocab)[:-4])]:
        learn = language_model_learner(dls_lm, config=awd_lstm_config(**SMALL), pretrained_fnames=fnames)
        assert same_embeddings(learn)
    # fastai's convention: names without extension inside learn.path/models.
    models = dls_lm.path / "models"
    os.replace(wgts, models / "local_wt.pth"), os.replace(vocab, models / "local_vocab.pkl")
    learn = language_model_learner(dls_lm, config=awd_lstm_config(**SMALL), pretrained_fnames=("local_wt", "local_vocab"))
    assert same_embeddings(learn)
    clf = text_classifier_learner(small_clas_dls, config=awd_lstm_config("classifier", **SMALL),
                                  pretrained_fnames=(models / "local_wt.pth", models / "local_vocab.pkl"), seq_len=16)
    assert torch.equal(_encoder(clf).encoder.weight[real], lm.model[0].encoder.weight[real])

    with pytest.raises(ValueError, match="weights file 'missing' was not found"):
        language_model_learner(dls_lm, config=awd_lstm_config(**SMALL), pretrained_fnames=("missing", "local_vocab"))
    with pytest.raises(ValueError, match="do not fit this model"):
        language_model_learner(dls_lm, config=awd_lstm_config(emb_sz=48, n_hid=64, n_layers=2),
                               pretrained_fnames=("local_wt", "local_vocab"))
    with pytest.raises(TypeError, match="two files"):
        language_model_learner(dls_lm, config=awd_lstm_config(**SMALL), pretrained_fnames="local_wt")


def test_default_pretrained_offline_raises_a_clear_error(dls_lm, small_clas_dls, monkeypatch):
    calls = []

    def offline(*args, **kwargs):
        calls.append(args)
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(fastai_text_learner, "untar_data", offline)  # what fastai calls to download weights
    with pytest.raises(ValueError, match=r"pretrained=False.*pretrained_fnames"):
        language_model_learner(dls_lm, AWD_LSTM)
    with pytest.raises(ValueError, match=r"could not download .*URLError"):
        text_classifier_learner(small_clas_dls, AWD_LSTM)
    assert len(calls) == 2


def test_awd_lstm_config():
    cfg = awd_lstm_config("lm", emb_sz=32.0, n_hid=64, n_layers=2)  # R sends doubles
    assert cfg["emb_sz"] == 32 and isinstance(cfg["emb_sz"], int) and cfg["tie_weights"] is True
    assert awd_lstm_config("classifier")["output_p"] == 0.4
    with pytest.raises(ValueError, match="unknown AWD_LSTM config keys"):
        awd_lstm_config(emb_size=32)
    with pytest.raises(ValueError, match="task"):
        awd_lstm_config("seq2seq")
    with pytest.raises(ValueError, match="emb_sz must be an integer"):
        awd_lstm_config(emb_sz=32.5)


def test_special_tokens_and_rules():
    assert spec_tokens() == list(defaults.text_spec_tok) and spec_tokens()[:3] == ["xxunk", "xxpad", "xxbos"]
    rules = proc_rules()
    assert rules[0] == "fix_html" and "replace_maj" in rules and all(isinstance(r, str) for r in rules)


def test_word_tokens_offline():
    toks = text_tokens("Hello WORLD it's a test!!!!")
    assert toks == [["xxbos", "xxmaj", "hello", "xxup", "world", "it", "'s", "a", "test", "xxrep", "4", "!"]]
    assert text_tokens(["Hello WORLD", "ok"], rules=[]) == [["Hello", "WORLD"], ["ok"]]
    assert text_tokens("Hello WORLD", rules=["lowercase"]) == [["xxbos", "hello", "world"]]
    with pytest.raises(ValueError, match="unknown text rule"):
        text_tokens("hi", rules=["shout"])
    with pytest.raises(ValueError, match="tok must be"):
        text_tokens("hi", tok="char")
    with pytest.raises(ValueError, match="positions \\[1\\]"):
        text_tokens(["hi", None])


def test_subword_tokens_leave_no_files(df, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # fastai's SentencePiece tokenizer writes to ./tmp unless told otherwise
    toks = text_tokens(df.text.tolist()[:100], tok="subword", vocab_sz=150)
    assert len(toks) == 100 and toks[0][0] == "\u2581xxbos"
    pieces = {t for ts in toks for t in ts}
    assert any(t.startswith("\u2581") for t in pieces) and any(not t.startswith("\u2581") for t in pieces)
    assert list(tmp_path.iterdir()) == []


def test_vocab_and_numericalize():
    toks = text_tokens(["the cat sat", "the cat ran", "the dog sat"])
    vocab = text_vocab(toks, min_freq=2)
    assert vocab[:len(spec_tokens())] == spec_tokens() and len(vocab) % 8 == 0
    assert {"the", "cat", "sat"} <= set(vocab) and not {"dog", "ran"} & set(vocab)
    assert vocab.index("the") < vocab.index("cat")  # by frequency
    assert {"dog", "ran"} <= set(text_vocab(toks, min_freq=1))
    ids = numericalize_tokens([["the", "dog"], "cat"], vocab)
    assert ids == [[vocab.index("the"), 0], [vocab.index("cat")]]  # unknown -> 0 (xxunk)
