"""fastai_hf.r_text: what R's text and interpretation functions receive (plain lists, the bridge's tables)."""
import os

import numpy as np
import pandas as pd
import pytest
import torch

from fastai_hf import (AWD_LSTM, CategoryBlock, ColReader, DataBlock, RandomSplitter, TextBlock, Tokenizer,
                       WordTokenizer, awd_lstm_config, language_model_learner, load_goemotions, set_seed,
                       text_classifier_learner, text_tokens)
from fastai_hf import r_text
from fastai_hf.bridge import frame_to_r
from fastai_hf.interpret import confidence_df

SMALL = dict(emb_sz=16, n_hid=32, n_layers=1)


def table(res):
    "A bridge table back to a DataFrame (the R side's view), for assertions."
    cols = {}
    for name, col in zip(res["names"], res["columns"]):
        vals = list(col["values"])
        for i in col["na"]: vals[i] = None
        cols[name] = vals
    return pd.DataFrame(cols)


@pytest.fixture(scope="module")
def texts_df():
    d = load_goemotions("ekman", n_rows=400, single_label=True)
    return d[d.label.isin(["anger", "joy", "neutral"])].reset_index(drop=True).head(120)


@pytest.fixture(scope="module")
def ulmfit_clas(texts_df, tmp_path_factory):
    path = tmp_path_factory.mktemp("r-text")
    dls_lm = DataBlock(blocks=TextBlock.from_df("text", is_lm=True, n_workers=0), get_x=ColReader("text"),
                       splitter=RandomSplitter(0.1, seed=0)).dataloaders(texts_df, bs=8, seq_len=16, num_workers=0,
                                                                         path=path)
    set_seed(0)
    lm = language_model_learner(dls_lm, AWD_LSTM, config=awd_lstm_config("lm", **SMALL), pretrained=False)
    lm.save_encoder("enc")
    dls = DataBlock(blocks=(TextBlock.from_df("text", vocab=dls_lm.vocab, n_workers=0), CategoryBlock),
                    get_x=ColReader("text"), get_y=ColReader("label"), splitter=RandomSplitter(0.25, seed=0)
                    ).dataloaders(texts_df, bs=8, num_workers=0, path=path)
    clas = text_classifier_learner(dls, AWD_LSTM, config=awd_lstm_config("classifier", **SMALL), pretrained=False,
                                   seq_len=16).load_encoder("enc")
    with clas.no_bar(), clas.no_logging(): clas.fit_one_cycle(1, 1e-2)
    return clas


def test_tokenize_with_a_tokenizer_or_a_base_tokenizer():
    texts = ["Hello WORLD!!!!", "it's fine"]
    assert r_text.tokenize(WordTokenizer(), texts) == text_tokens(texts)
    assert r_text.tokenize(Tokenizer(WordTokenizer(), rules=[]), texts) == [["Hello", "WORLD", "!", "!", "!", "!"],
                                                                          ["it", "'s", "fine"]]
    assert r_text.tokenize(WordTokenizer(), "one text", rules=["lowercase"]) == [["xxbos", "one", "text"]]
    with pytest.raises(TypeError, match="fastai tokenizer"):
        r_text.tokenize(42, texts)
    with pytest.raises(ValueError, match="missing, empty"):
        r_text.tokenize(WordTokenizer(), ["ok", ""])


def test_tokenize_df_returns_token_lists_and_counts(texts_df):
    res = r_text.tokenize_df(texts_df[["text", "label"]].head(10), "text")
    df, counts = table(res["df"]), table(res["counts"])
    assert list(df.columns) == ["label", "text", "text_length"]
    assert res["df"]["columns"][1]["kind"] == "list"
    assert df.text[0] == text_tokens(texts_df.text[0])[0]
    assert [len(t) for t in df.text] == list(df.text_length)
    assert counts.n.is_monotonic_decreasing and counts.n.sum() == df.text_length.sum()
    # an R table (the bridge's format) works as well as a DataFrame
    again = r_text.tokenize_df(frame_to_r(texts_df[["text", "label"]].head(10)), ["text"])
    assert table(again["df"]).text.tolist() == df.text.tolist()
    with pytest.raises(ValueError, match="not in the data"):
        r_text.tokenize_df(texts_df.head(3), "body")


def test_setup_subword_trains_quietly(texts_df, tmp_path, capfd):
    from fastai_hf import SubwordTokenizer
    tok = r_text.setup_subword(SubwordTokenizer(vocab_sz=150, cache_dir=tmp_path), list(texts_df.text))
    out, err = capfd.readouterr()
    assert out == "" and "sentencepiece" not in err.lower()
    assert (tmp_path / "spm.model").is_file()
    toks = r_text.tokenize(tok, ["Hello there"])
    assert toks[0][0] == "\u2581xxbos" and len(toks[0]) > 2


def test_lm_dataloader_from_id_vectors():
    dl = r_text.lm_dataloader([list(range(50)), list(range(50, 100)), 7], bs=2.0, seq_len=5)  # R: doubles, scalars
    x, y = dl.one_batch()
    assert x.shape == (2, 5) and torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="non-empty"):
        r_text.lm_dataloader([[1, 2], []])


def test_label_vocab_of_hf_and_ulmfit_learners(single_learn, ulmfit_clas):
    assert r_text.label_vocab(single_learn) == [str(v) for v in single_learn.dls.vocab]
    assert r_text.label_vocab(ulmfit_clas) == ["anger", "joy", "neutral"]
    assert r_text.label_vocab(ulmfit_clas.dls) == ["anger", "joy", "neutral"]


def test_predict_ulmfit_classifier_in_the_bridge_format(ulmfit_clas, texts_df):
    texts = ["I am so happy", "this is terrible", "ok then"]
    res = r_text.predict(ulmfit_clas, texts)
    assert res["labels"] == ["anger", "joy", "neutral"] and res["multilabel"] is False
    df = table(res["frame"])
    assert list(df.columns) == ["anger", "joy", "neutral", "predicted"]
    probs = df[res["labels"]].to_numpy(dtype=float)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert list(df.predicted) == [res["labels"][i] for i in probs.argmax(1)]
    # fastai's own predict agrees, text by text
    for text, row in zip(texts, probs):
        np.testing.assert_allclose(ulmfit_clas.predict(text)[2].numpy(), row, atol=1e-5)
    # a DataFrame with the raw text column, in any column order
    from_df = table(r_text.predict(ulmfit_clas, pd.DataFrame({"id": [1, 2, 3], "text": texts}))["frame"])
    np.testing.assert_allclose(from_df[res["labels"]].to_numpy(dtype=float), probs, atol=1e-5)
    with pytest.raises(ValueError, match="no text column"):
        r_text.predict(ulmfit_clas, pd.DataFrame({"body": texts}))


def test_interpretation_keeps_one_table(single_learn):
    from fastai.interpret import ClassificationInterpretation
    interp = r_text.interpretation(single_learn)
    ref = ClassificationInterpretation.from_learner(single_learn)
    np.testing.assert_allclose(interp.losses.numpy(), ref.losses.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(interp.confusion_matrix(), ref.confusion_matrix())
    conf = table(r_text.confidence(interp))
    assert interp._r_confidence is r_text._confidence(interp)  # kept, not recomputed
    items = single_learn.dls.valid.items
    assert list(conf.row) == list(items.index + 1) and list(conf.text) == list(items.text)
    top = table(r_text.top_losses(interp, k=4.0))
    assert list(top.loss) == sorted(conf.loss, reverse=True)[:4]
    low = table(r_text.top_losses(single_learn, k=2, largest=False))
    assert list(low.loss) == pytest.approx(sorted(conf.loss)[:2], rel=1e-5)


def test_interpretation_of_a_ulmfit_classifier(ulmfit_clas):
    interp = r_text.interpretation(ulmfit_clas)
    assert interp.vocab == ["anger", "joy", "neutral"]
    conf = confidence_df(ulmfit_clas)
    np.testing.assert_allclose(interp.losses.numpy(), conf.loss.to_numpy(), rtol=1e-5)
    assert len(table(r_text.confidence(interp))) == len(ulmfit_clas.dls.valid.items) == 30


def test_learner_creation_routes_output(texts_df, tmp_path):
    dls = DataBlock(blocks=TextBlock.from_df("text", is_lm=True, n_workers=0), get_x=ColReader("text"),
                    splitter=RandomSplitter(0.1, seed=0)).dataloaders(texts_df, bs=8, seq_len=16, num_workers=0,
                                                                      path=tmp_path)
    written = []
    lm = r_text.learner("lm", dls, AWD_LSTM, write=written.append, mode="table",
                        config=awd_lstm_config("lm", **SMALL), pretrained=False)
    assert type(lm).__name__ == "LMLearner"
    with pytest.raises(ValueError, match="kind"):
        r_text.learner("seq2seq", dls)
    assert os.fspath(lm.path) == os.fspath(tmp_path)


def test_text_batch_and_results_as_tables(ulmfit_clas, texts_df):
    "What R's show_batch()/show_results() give for fastai text data (the bridge sends it to r_text)."
    from fastai_hf import bridge
    lm_dls = DataBlock(blocks=TextBlock.from_df("text", is_lm=True, vocab=ulmfit_clas.dls.vocab[0], n_workers=0),
                       get_x=ColReader("text"), splitter=RandomSplitter(0.1, seed=0)).dataloaders(
        texts_df, bs=4, seq_len=8, num_workers=0, path=ulmfit_clas.path)
    lm = table(bridge.show_batch(lm_dls, max_n=3))
    assert list(lm.columns) == ["text", "text_"] and len(lm) == 3
    # the target is the input one token later
    assert all(a.split(" ")[1:] == b.split(" ")[:-1] for a, b in zip(lm.text, lm.text_))
    clas = table(bridge.show_batch(ulmfit_clas.dls, max_n=4, trunc_at=20))
    assert list(clas.columns) == ["text", "category"] and len(clas) == 4
    assert all(t.startswith("xxbos") and len(t) <= 20 for t in clas.text)
    assert set(clas.category) <= {"anger", "joy", "neutral"}
    res = table(bridge.show_results(ulmfit_clas, max_n=5, shuffle=False))
    assert list(res.columns) == ["text", "category", "category_"] and len(res) == 5
    assert set(res.category_) <= {"anger", "joy", "neutral"}


def test_bridge_get_preds_names_the_labels_of_a_ulmfit_classifier(ulmfit_clas):
    from fastai_hf import bridge
    out = bridge.get_preds(ulmfit_clas)
    labels = [str(v) for v in ulmfit_clas.dls.vocab[-1]]  # fastai text data: vocab = (tokens, labels)
    assert out["labels"] == labels
    assert out["preds"]["shape"][1] == len(labels)
