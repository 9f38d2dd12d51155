"""ULMFiT offline on 200 GoEmotions texts: a small AWD-LSTM language model, its encoder in a classifier,
local pretrained weights, the offline error, LM generation, the tokenization helpers, fastai's text
batches as tables, and fastai's own `show_results` on a text classifier."""
import math
from urllib.error import URLError

import fastai.text.learner as fastai_text_learner
import pandas as pd
import pytest
import torch
from fastai_hf import (AWD_LSTM, LMLearner, SubwordTokenizer, TextDataLoaders, Tokenizer, WordTokenizer,
                       awd_lstm_config, defaults, language_model_learner, lm_predict, numericalize_tokens,
                       proc_rules, save_pickle, spec_tokens, text_classifier_learner, text_tokens, text_vocab)
from fastai_hf.ulmfit import (lm_dataloader, quiet, setup_subword, text_batch_df, text_results_df,
                              tokenize_df_counts)
from helpers import SMALL, ULMFIT_LABELS, encoder_of, lm_dls, make_classifier, quiet_fit


@pytest.fixture
def small_clas_dls(ulmfit_lm_dls):
    "Eight labelled texts on the language model's vocab, for building classifiers quickly."
    d = pd.DataFrame({"text": ["I love it", "I hate it", "so happy", "so angry", "great day", "awful day",
                               "love love", "hate hate"], "label": ["pos", "neg"] * 4})
    return TextDataLoaders.from_df(d, text_col="text", label_col="label", text_vocab=ulmfit_lm_dls.vocab,
                                   valid_pct=0.25, seed=0, bs=4, num_workers=0, path=ulmfit_lm_dls.path, n_workers=0)


@pytest.fixture
def local_weights(ulmfit_lm, tmp_path):
    "The language model's weights and vocab saved as files, outside any learner's folder."
    folder = tmp_path / "saved"
    folder.mkdir()
    wgts, vocab = folder / "lm_weights.pth", folder / "lm_vocab.pkl"
    torch.save(ulmfit_lm.model.state_dict(), wgts)
    save_pickle(vocab, list(ulmfit_lm.dls.vocab))
    return wgts, vocab


def same_embeddings(model_embedding, lm):
    "fastai's padding tokens ('xxfake') get a mean row when weights are matched to a vocab; the rest are equal."
    real = [i for i, w in enumerate(lm.dls.vocab) if w != "xxfake"]
    return torch.equal(model_embedding.weight[real], lm.model[0].encoder.weight[real])


# -------------------------------------------------------------------------- language model, encoder
def test_language_model_trains_with_accuracy_and_perplexity(_ulmfit):
    _, valid_loss, acc, ppl = _ulmfit["lm_values"]  # train loss, valid loss, metrics of the session's epoch
    assert 0 < acc < 1 and math.isfinite(valid_loss)
    assert ppl == pytest.approx(math.exp(valid_loss), rel=1e-4)


def test_language_model_learner_is_an_lm_learner(ulmfit_lm):
    assert isinstance(ulmfit_lm, LMLearner)


def test_save_encoder_writes_the_file(ulmfit_lm):
    ulmfit_lm.save_encoder("enc")
    assert (ulmfit_lm.path / ulmfit_lm.model_dir / "enc.pth").is_file()


def test_classifier_loads_the_encoder(ulmfit_clas_dls, ulmfit_lm, encoder_file):
    clas = make_classifier(ulmfit_clas_dls).load_encoder(encoder_file)
    lm_sd, cl_sd = encoder_of(ulmfit_lm).state_dict(), encoder_of(clas).state_dict()
    assert lm_sd.keys() == cl_sd.keys()
    assert all(torch.equal(lm_sd[k].cpu(), cl_sd[k].cpu()) for k in lm_sd)


def test_gradual_unfreezing_leaves_the_embeddings_alone(ulmfit_clas_dls, encoder_file):
    clas = make_classifier(ulmfit_clas_dls).load_encoder(encoder_file)
    clas.freeze_to(-2)
    frozen = [p.detach().clone() for p in encoder_of(clas).encoder.parameters()]
    last = [p.detach().clone() for p in encoder_of(clas).rnns[-1].parameters()]
    quiet_fit(clas, "fit_one_cycle", 1, slice(1e-3, 1e-2))
    assert all(torch.equal(a, b) for a, b in zip(frozen, encoder_of(clas).encoder.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(last, encoder_of(clas).rnns[-1].parameters()))


def test_classifier_predict(ulmfit_clas):
    label, idx, probs = ulmfit_clas.predict("I am so happy today!")
    assert label in ULMFIT_LABELS and label == ulmfit_clas.dls.vocab[1][int(idx)]
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)


# ------------------------------------------------------------------------------- fastai's show_results
def shown_table(out):
    "The rows of a table fastai printed after its progress bar: a list of fields per line."
    return [line.split() for line in out.rsplit("\r", 1)[-1].strip().splitlines()]


def test_fastai_show_results_on_a_text_classifier(ulmfit_clas, capsys):
    """fastai's text tutorial, `learn.show_results()`, with the names `from fastai_hf import *` gives
    (fastai 2.8.12 alone raises TypeError: 'Function' object is not subscriptable)."""
    ns = {"learn": ulmfit_clas}
    with pd.option_context("display.width", 10_000, "display.max_columns", None, "display.max_colwidth", None):
        exec("from fastai_hf import *\nlearn.show_results(max_n=3)", ns)
    table = shown_table(capsys.readouterr().out)
    assert table[0] == ["text", "category", "category_"] and len(table) == 4
    assert all(row[1] == "xxbos" and set(row[-2:]) <= set(ULMFIT_LABELS) for row in table[1:])


def test_fastai_show_results_truncates_texts(ulmfit_clas, capsys):
    with pd.option_context("display.width", 10_000, "display.max_columns", None, "display.max_colwidth", None):
        ulmfit_clas.show_results(max_n=2, trunc_at=5)
    rows = shown_table(capsys.readouterr().out)[1:]
    assert len(rows) == 2 and all(len(row[1:-2]) <= 5 for row in rows)  # index | words | label, prediction


# --------------------------------------------------------------------------------------- lm_predict
def test_lm_predict_continues_the_prompt_as_written(ulmfit_lm):
    out = lm_predict(ulmfit_lm, "I feel so", n_words=6, temperature=0.75, seed=1)
    assert isinstance(out, str) and out.startswith("I feel so ") and len(out) > len("I feel so ")
    # fastai's own predict, which lm_predict wraps, lowercases the prompt ("i feel so ..."); ours keeps it.
    assert ulmfit_lm.predict("I feel so", n_words=2, no_bar=True).startswith("i feel so")


def test_lm_predict_is_reproducible_with_a_seed(ulmfit_lm):
    assert lm_predict(ulmfit_lm, "I feel so", n_words=6, seed=1) == lm_predict(ulmfit_lm, "I feel so", n_words=6, seed=1)


def test_lm_predict_several(ulmfit_lm):
    outs = lm_predict(ulmfit_lm, "It's a WONDERFUL day", n_words=3, n=2)
    assert isinstance(outs, list) and len(outs) == 2 and all(o.startswith("It's a WONDERFUL day") for o in outs)
    assert len(lm_predict(ulmfit_lm, "Hello", n_words=3.0, n=2.0)) == 2  # R sends doubles


def test_lm_predict_no_words(ulmfit_lm):
    assert lm_predict(ulmfit_lm, "Hello", n_words=0) == "Hello"


def test_lm_predict_errors(ulmfit_lm, ulmfit_clas):
    with pytest.raises(TypeError, match="language model learner"):
        lm_predict(ulmfit_clas, "hello")
    with pytest.raises(ValueError, match="non-empty string"):
        lm_predict(ulmfit_lm, "  ")
    with pytest.raises(ValueError, match="n_words must be a whole number"):
        lm_predict(ulmfit_lm, "hello", n_words=2.5)
    with pytest.raises(ValueError, match="temperature must be positive"):
        lm_predict(ulmfit_lm, "hello", temperature=0)


# ------------------------------------------------------------------------------- pretrained weights
@pytest.mark.parametrize("ext", [True, False])
def test_local_pretrained_weights_by_full_path(ulmfit_lm, ulmfit_lm_dls, local_weights, ext):
    "Full paths, with or without the extension (fastai itself would look for 'lm_weights.pth.pth')."
    fnames = local_weights if ext else tuple(str(f)[:-4] for f in local_weights)
    learn = language_model_learner(ulmfit_lm_dls, config=awd_lstm_config(**SMALL), pretrained_fnames=fnames)
    assert same_embeddings(learn.model[0].encoder, ulmfit_lm)


def test_local_pretrained_weights_by_name_in_the_models_folder(ulmfit_lm, ulmfit_lm_dls, local_weights):
    "fastai's convention: names without extension inside learn.path/models."
    models = ulmfit_lm_dls.path / "models"
    models.mkdir(exist_ok=True)
    local_weights[0].rename(models / "local_wt.pth"), local_weights[1].rename(models / "local_vocab.pkl")
    learn = language_model_learner(ulmfit_lm_dls, config=awd_lstm_config(**SMALL),
                                   pretrained_fnames=("local_wt", "local_vocab"))
    assert same_embeddings(learn.model[0].encoder, ulmfit_lm)


def test_local_pretrained_weights_in_a_classifier(ulmfit_lm, small_clas_dls, local_weights):
    clf = text_classifier_learner(small_clas_dls, config=awd_lstm_config("classifier", **SMALL),
                                  pretrained_fnames=local_weights, seq_len=16)
    assert same_embeddings(encoder_of(clf).encoder, ulmfit_lm)


def test_local_pretrained_weights_errors(ulmfit_lm_dls, local_weights):
    wgts, vocab = local_weights
    with pytest.raises(ValueError, match="weights file 'missing' was not found"):
        language_model_learner(ulmfit_lm_dls, config=awd_lstm_config(**SMALL), pretrained_fnames=("missing", vocab))
    with pytest.raises(ValueError, match="do not fit this model"):
        language_model_learner(ulmfit_lm_dls, config=awd_lstm_config(emb_sz=48, n_hid=64, n_layers=2),
                               pretrained_fnames=local_weights)
    with pytest.raises(TypeError, match="two files"):
        language_model_learner(ulmfit_lm_dls, config=awd_lstm_config(**SMALL), pretrained_fnames=str(wgts))


def test_default_pretrained_offline_raises_a_clear_error(ulmfit_lm_dls, small_clas_dls, monkeypatch):
    calls = []

    def offline(*args, **kwargs):
        calls.append(args)
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(fastai_text_learner, "untar_data", offline)  # what fastai calls to download weights
    with pytest.raises(ValueError, match=r"pretrained=False.*pretrained_fnames"):
        language_model_learner(ulmfit_lm_dls, AWD_LSTM)
    with pytest.raises(ValueError, match=r"could not download .*URLError"):
        text_classifier_learner(small_clas_dls, AWD_LSTM)
    assert len(calls) == 2


def test_awd_lstm_config():
    cfg = awd_lstm_config("lm", emb_sz=32.0, n_hid=64, n_layers=2)  # R sends doubles
    assert cfg["emb_sz"] == 32 and isinstance(cfg["emb_sz"], int) and cfg["tie_weights"] is True
    assert awd_lstm_config("classifier")["output_p"] == 0.4


@pytest.mark.parametrize("kwargs,match", [(dict(emb_size=32), "unknown AWD_LSTM config keys"),
                                          (dict(task="seq2seq"), "task"),
                                          (dict(emb_sz=32.5), "emb_sz must be a whole number")])
def test_awd_lstm_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        awd_lstm_config(**kwargs)


# ------------------------------------------------------------------------------------ tokenization
def test_special_tokens_and_rules():
    assert spec_tokens() == list(defaults.text_spec_tok) and spec_tokens()[:3] == ["xxunk", "xxpad", "xxbos"]
    rules = proc_rules()
    assert rules[0] == "fix_html" and "replace_maj" in rules and all(isinstance(r, str) for r in rules)


def test_word_tokens_offline():
    toks = text_tokens("Hello WORLD it's a test!!!!")
    assert toks == [["xxbos", "xxmaj", "hello", "xxup", "world", "it", "'s", "a", "test", "xxrep", "4", "!"]]


def test_word_tokens_with_chosen_rules():
    assert text_tokens(["Hello WORLD", "ok"], rules=[]) == [["Hello", "WORLD"], ["ok"]]
    assert text_tokens("Hello WORLD", rules=["lowercase"]) == [["xxbos", "hello", "world"]]


def test_tokenize_with_a_tokenizer_object():
    "A base tokenizer takes `rules`; a fastai Tokenizer brings its own."
    texts = ["Hello WORLD!!!!", "it's fine"]
    assert text_tokens(texts, tok=WordTokenizer()) == text_tokens(texts)
    assert text_tokens(texts, tok=Tokenizer(WordTokenizer(), rules=[])) == [["Hello", "WORLD", "!", "!", "!", "!"],
                                                                            ["it", "'s", "fine"]]
    assert text_tokens("one text", tok=WordTokenizer(), rules=["lowercase"]) == [["xxbos", "one", "text"]]


@pytest.mark.parametrize("kwargs,error,match", [(dict(rules=["shout"]), ValueError, "unknown text rule"),
                                                (dict(tok="char"), TypeError, "tok must be"),
                                                (dict(tok=42), TypeError, "fastai tokenizer")])
def test_tokenize_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        text_tokens("hi", **kwargs)


def test_tokenize_names_bad_texts():
    with pytest.raises(ValueError, match=r"position \[1\]"):
        text_tokens(["hi", None])
    with pytest.raises(ValueError, match="missing, empty"):
        text_tokens(["ok", ""], tok=WordTokenizer())


def test_subword_tokens_leave_no_files(ulmfit_df, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # fastai's SentencePiece tokenizer writes to ./tmp unless told otherwise
    toks = text_tokens(ulmfit_df.text.tolist()[:100], tok="subword", vocab_sz=150)
    assert len(toks) == 100 and toks[0][0] == "\u2581xxbos"
    pieces = {t for ts in toks for t in ts}
    assert any(t.startswith("\u2581") for t in pieces) and any(not t.startswith("\u2581") for t in pieces)
    assert list(tmp_path.iterdir()) == []


def test_setup_subword_trains_quietly(ulmfit_df, tmp_path, capfd):
    tok = setup_subword(SubwordTokenizer(vocab_sz=150, cache_dir=tmp_path), list(ulmfit_df.text))
    out, err = capfd.readouterr()
    assert out == "" and "sentencepiece" not in err.lower()
    assert (tmp_path / "spm.model").is_file()
    toks = text_tokens(["Hello there"], tok=tok)
    assert toks[0][0] == "\u2581xxbos" and len(toks[0]) > 2


def test_quiet_silences_stdout_and_fd2_but_not_errors(capfd):
    import os
    with pytest.raises(KeyError):
        with quiet():
            print("to stdout")
            os.write(2, b"to fd 2\n")
            raise KeyError("boom")
    os.write(2, b"after\n")
    out, err = capfd.readouterr()
    assert out == "" and err == "after\n"


def test_vocab_and_numericalize():
    toks = text_tokens(["the cat sat", "the cat ran", "the dog sat"])
    vocab = text_vocab(toks, min_freq=2)
    assert vocab[:len(spec_tokens())] == spec_tokens() and len(vocab) % 8 == 0
    assert {"the", "cat", "sat"} <= set(vocab) and not {"dog", "ran"} & set(vocab)
    assert vocab.index("the") < vocab.index("cat")  # by frequency
    assert {"dog", "ran"} <= set(text_vocab(toks, min_freq=1))
    ids = numericalize_tokens([["the", "dog"], "cat"], vocab)
    assert ids == [[vocab.index("the"), 0], [vocab.index("cat")]]  # unknown -> 0 (xxunk)


def test_tokenize_df_counts_returns_token_lists_and_counts(ulmfit_df):
    df, counts = tokenize_df_counts(ulmfit_df[["text", "label"]].head(10), "text")
    assert list(df.columns) == ["label", "text", "text_length"]
    assert df.text[0] == text_tokens(ulmfit_df.text[0])[0]
    assert [len(t) for t in df.text] == list(df.text_length)
    assert list(counts.columns) == ["token", "n"]
    assert counts.n.is_monotonic_decreasing and counts.n.sum() == df.text_length.sum()


def test_tokenize_df_counts_names_missing_columns(ulmfit_df):
    with pytest.raises(ValueError, match=r"columns \['body'\] are not in the data"):
        tokenize_df_counts(ulmfit_df.head(3), "body")


# --------------------------------------------------------------------------------- LM dataloader
def test_lm_dataloader_from_id_vectors():
    dl = lm_dataloader([list(range(50)), list(range(50, 100)), 7], bs=2.0, seq_len=5)  # R: doubles, scalars
    x, y = dl.one_batch()
    assert x.shape == (2, 5) and torch.equal(y, x + 1)


def test_lm_dataloader_needs_tokens():
    with pytest.raises(ValueError, match="non-empty"):
        lm_dataloader([[1, 2], []])


# ------------------------------------------------------------------------------- text batch tables
def test_language_model_batch_as_a_table(ulmfit_lm_dls):
    lm = text_batch_df(ulmfit_lm_dls.train, max_n=3)
    assert list(lm.columns) == ["text", "text_"] and len(lm) == 3
    assert all(a.split(" ")[1:] == b.split(" ")[:-1] for a, b in zip(lm.text, lm.text_))  # one token later


def test_classifier_batch_as_a_table(ulmfit_clas):
    clas = text_batch_df(ulmfit_clas.dls.train, max_n=4, trunc_at=20)
    assert list(clas.columns) == ["text", "category"] and len(clas) == 4
    assert all(t.startswith("xxbos") and len(t) <= 20 for t in clas.text)
    assert set(clas.category) <= set(ULMFIT_LABELS)


def test_classifier_results_as_a_table(ulmfit_clas):
    res = text_results_df(ulmfit_clas, max_n=5, shuffle=False)
    assert list(res.columns) == ["text", "category", "category_"] and len(res) == 5
    assert set(res.category_) <= set(ULMFIT_LABELS)


def test_language_model_results_as_a_table(ulmfit_lm):
    res = text_results_df(ulmfit_lm, max_n=2, shuffle=False)
    assert list(res.columns) == ["text", "text_", "text_pred"] and len(res) == 2


def test_lm_dls_on_a_given_vocab_keep_it(ulmfit_df, _ulmfit, tmp_path):
    vocab = list(_ulmfit["vocab"])
    assert list(lm_dls(ulmfit_df, tmp_path, vocab=vocab).vocab) == vocab
