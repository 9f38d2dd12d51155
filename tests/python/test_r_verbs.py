"""fastai_hf.r.verbs: `call`, the one way R reaches Python, and the verbs R calls through it.

Every verb is called here as R calls it, `call(verb, ...)`, and its result read back with the one
table decoder (`helpers.r_table`), as the R side reads it."""
from urllib.error import URLError

import fastai.text.learner as fastai_text_learner
import numpy as np
import pandas as pd
import pytest
import torch
from fastai_hf import (AWD_LSTM, LMLearner, accuracy_multi, awd_lstm_config, history_df, interpretation,
                       language_model_learner, partial, save_pickle, show_batch_df, show_results_df)
from fastai_hf.checks import as_int
from fastai_hf.history import loss_curve
from fastai_hf.r.convert import frame_to_r
from fastai_hf.r.verbs import (call, confidence, fit, get_preds, lr_find, predict, summary, top_losses,
                               validate)
from fastai_hf.ulmfit import tokenize_df_counts
from helpers import EKMAN, SMALL, ULMFIT_LABELS, make_learner, r_table

TEXTS = ["I am so happy", "this is awful"]


@pytest.fixture
def learn(tiny_path, ekman_df):
    "An untrained multi-label learner with a metric."
    return make_learner(tiny_path, ekman_df, bs=8, metrics=partial(accuracy_multi, thresh=0.2))


# -------------------------------------------------------------------------------------------- call
def test_call_turns_tables_from_r_into_data_frames():
    seen = []
    table = frame_to_r(pd.DataFrame({"text": ["a", None]}))
    call(lambda *a, **k: seen.append((a, k)), table, [table], data=table, n=2)
    (args, kwargs), = seen
    assert isinstance(args[0], pd.DataFrame) and args[0]["text"].tolist() == ["a", None]
    assert isinstance(args[1][0], pd.DataFrame) and isinstance(kwargs["data"], pd.DataFrame) and kwargs["n"] == 2


def test_call_returns_r_values():
    out = call(lambda: {"df": pd.DataFrame({"x": [1.5]}), "t": torch.ones(2), "n": np.int64(1)})
    assert r_table(out["df"])["x"].tolist() == [1.5]
    assert out["t"]["r_type"] == "array" and out["n"] == 1 and type(out["n"]) is int


def test_call_passes_python_objects_through(learn):
    assert call(lambda: learn) is learn


def test_call_routes_output_to_write():
    got = []
    call(lambda: print("epoch  train_loss\n\rbar", end=""), write=got.append, mode="table")
    assert got == ["epoch  train_loss\n"]


def test_call_without_write_prints_as_usual(capsys):
    call(print, "hello")
    assert capsys.readouterr().out == "hello\n"


def test_call_words_errors_for_r():
    with pytest.raises(ValueError, match="n must be a whole number, not TRUE"):
        call(as_int, "n", True)


def test_learner_creation_routes_output(ulmfit_lm_dls, _ulmfit, tmp_path, monkeypatch, capsys):
    "What fastai prints while it makes a learner (the download of pretrained weights) reaches R's `write`."
    weights = tmp_path / "wt103"
    weights.mkdir()
    (weights / "lstm.pth").write_bytes(_ulmfit["lm"])
    save_pickle(weights / "vocab.pkl", list(_ulmfit["vocab"]))

    def download(url, c_key=None, **kwargs):
        print(f"\rDownloading {url}: 50%", end="")
        print(f"\rDownloading {url}: 100%")
        return weights

    monkeypatch.setattr(fastai_text_learner, "untar_data", download)  # what fastai calls to download weights
    written = []
    lm = call(language_model_learner, ulmfit_lm_dls, AWD_LSTM, config=awd_lstm_config("lm", **SMALL),
              write=written.append, mode="table")
    assert isinstance(lm, LMLearner)
    assert "".join(written).startswith("Downloading ") and "".join(written).endswith(": 100%\n")
    assert capsys.readouterr().out == ""


def test_learner_creation_errors_reach_r_after_the_output(ulmfit_lm_dls, monkeypatch):
    def offline(*args, **kwargs):
        print("Downloading ...")
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(fastai_text_learner, "untar_data", offline)
    written = []
    with pytest.raises(ValueError, match="could not download.*pretrained=False"):
        call(language_model_learner, ulmfit_lm_dls, AWD_LSTM, write=written.append, mode="table")
    assert written == ["Downloading ...\n"]


# ------------------------------------------------------------------------------------ fit, history
def test_fit_records_the_epochs_in_the_history(learn):
    call(fit, learn, "fit_one_cycle", write=[].append, mode="table", n_epoch=2, lr_max=1e-3)
    h = r_table(call(history_df, learn))
    assert list(h.columns) == ["epoch", "train_loss", "valid_loss", "accuracy_multi", "time"]
    assert h["epoch"].tolist() == [1, 2] and (h["time"] >= 0).all()


def test_fit_continues_the_history(learn):
    call(fit, learn, "fit_one_cycle", write=[].append, mode="silent", n_epoch=1, lr_max=1e-3)
    call(fit, learn, "fit", write=[].append, mode="silent", n_epoch=1, lr=1e-4)
    assert r_table(call(history_df, learn))["epoch"].tolist() == [1, 2]


def test_fit_prints_the_epoch_table_to_r(learn):
    lines = []
    call(fit, learn, "fit", write=lines.append, mode="table", n_epoch=1, lr=1e-3)
    text = "".join(lines)
    assert text.splitlines()[0].split() == ["epoch", "train_loss", "valid_loss", "accuracy_multi", "time"]
    assert "\r" not in text and len(text.splitlines()) == 2


def test_fit_takes_per_group_learning_rates_as_r_lists(learn):
    lrs = [1e-5, 2e-5, 3e-5, 4e-5]  # embeddings | 2 layers | head
    call(fit, learn, "fit", write=[].append, mode="silent", n_epoch=1, lr=lrs)
    assert [h["lr"] for h in learn.opt.hypers] == pytest.approx(lrs)


def test_fit_returns_nothing(learn):
    assert call(fit, learn, "fit", mode="silent", write=[].append, n_epoch=1, lr=1e-3) is None


def test_fit_needs_a_training_method(learn):
    with pytest.raises(ValueError, match="no training method 'fit_two_cycles'"):
        call(fit, learn, "fit_two_cycles", n_epoch=1)


def test_loss_curve_after_fit(learn):
    call(fit, learn, "fit", write=[].append, mode="silent", n_epoch=1, lr=1e-3)
    curve = call(loss_curve, learn)
    assert len(curve["loss"]) == len(learn.dls.train) and curve["valid_iteration"] == [len(learn.dls.train)]


# ------------------------------------------------------------------------------------------ lr_find
def test_lr_find_returns_the_curve_and_suggestions(learn, tmp_path):
    learn.path = tmp_path
    res = call(lr_find, learn, num_it=20, suggest_funcs=["valley", "minimum"], write=[].append, mode="table")
    assert len(res["lr"]) == len(res["loss"]) > 0
    assert set(res["suggestions"]) == {"valley", "minimum"}
    assert all(res["lr"][0] <= v <= res["lr"][-1] for v in res["suggestions"].values())


def test_lr_find_takes_one_suggestion_as_a_string(learn, tmp_path):
    learn.path = tmp_path
    assert list(call(lr_find, learn, num_it=10, suggest_funcs="steep", mode="silent", write=[].append)["suggestions"]) == ["steep"]


def test_lr_find_leaves_no_files(learn, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    learn.path, model_dir = tmp_path, learn.model_dir
    call(lr_find, learn, num_it=10, write=[].append, mode="silent")
    assert list(tmp_path.iterdir()) == [] and learn.model_dir == model_dir


def test_lr_find_is_no_epoch_of_the_history(learn, tmp_path):
    learn.path = tmp_path
    call(fit, learn, "fit", write=[].append, mode="silent", n_epoch=1, lr=1e-3)
    call(lr_find, learn, num_it=10, write=[].append, mode="silent")
    assert r_table(call(history_df, learn))["epoch"].tolist() == [1]


def test_lr_find_knows_its_suggestions(learn):
    with pytest.raises(ValueError, match="unknown suggestion"):
        call(lr_find, learn, num_it=5, suggest_funcs=["best"])


# ---------------------------------------------------------------------------------------- predict
def test_predict_multilabel_gives_a_frame_the_kind_and_the_labels(multi_learn):
    res = call(predict, multi_learn, TEXTS, thresh=0.0)
    assert res["kind"] == "classification" and res["multilabel"] is True and res["labels"] == EKMAN
    t = r_table(res["frame"])
    assert list(t.columns) == EKMAN + ["predicted"] and len(t) == 2
    assert t["predicted"].tolist() == [EKMAN, EKMAN]  # thresh 0: every label


def test_predict_single_label(single_learn):
    res = call(predict, single_learn, TEXTS)
    t = r_table(res["frame"])
    assert res["multilabel"] is False and set(t["predicted"]) <= set(EKMAN)
    np.testing.assert_allclose(t[EKMAN].to_numpy(dtype=float).sum(1), 1, atol=1e-5)


def test_predict_one_text_gives_one_row(multi_learn):
    assert call(predict, multi_learn, "just one")["frame"]["nrow"] == 1


def test_predict_texts_in_a_table_from_r(single_learn):
    table = frame_to_r(pd.DataFrame({"id": [1, 2], "text": TEXTS}))
    from_table = r_table(call(predict, single_learn, table)["frame"])
    direct = r_table(call(predict, single_learn, TEXTS)["frame"])
    pd.testing.assert_frame_equal(from_table, direct)


def test_predict_ulmfit_classifier(ulmfit_clas):
    res = call(predict, ulmfit_clas, TEXTS)
    assert res["labels"] == ULMFIT_LABELS and res["multilabel"] is False
    assert list(r_table(res["frame"]).columns) == ULMFIT_LABELS + ["predicted"]


def test_predict_goes_to_the_predictor_of_a_task_family(single_learn, monkeypatch):
    import fastai_hf.predict as predict_module
    seen = []

    def tables(learn, texts, bs=None, **kwargs):
        seen.append((learn, kwargs))
        return {"words": pd.DataFrame({"word": texts})}

    monkeypatch.setitem(predict_module._PREDICTORS, "tokens", (lambda learn: learn is single_learn, tables))
    res = call(predict, single_learn, TEXTS, aggregation="first")
    assert res["kind"] == "tokens" and r_table(res["words"])["word"].tolist() == TEXTS
    assert seen == [(single_learn, {"aggregation": "first"})]


def test_predict_errors_are_worded_for_r(single_learn):
    with pytest.raises(ValueError, match=r"position 2;.*nzchar"):
        call(predict, single_learn, ["fine", ""])


# -------------------------------------------------------------------------------------- get_preds
def test_get_preds_of_texts(multi_learn):
    p = call(get_preds, multi_learn, texts=TEXTS, with_decoded=True)
    assert p["preds"]["shape"] == [2, 7] and p["decoded"]["shape"] == [2, 7] and "targs" not in p
    assert p["labels"] == EKMAN


def test_get_preds_of_the_validation_set(single_learn):
    p = call(get_preds, single_learn, ds_idx=1.0)  # R sends doubles
    n = len(single_learn.dls.valid_ds)
    assert p["preds"]["shape"] == [n, 7] and p["targs"]["shape"] == [n] and "decoded" not in p


def test_get_preds_of_texts_in_a_table_from_r(single_learn):
    p = call(get_preds, single_learn, texts=frame_to_r(pd.DataFrame({"text": TEXTS})))
    assert p["preds"]["shape"] == [2, 7]


def test_get_preds_names_the_labels_of_a_ulmfit_classifier(ulmfit_clas):
    out = call(get_preds, ulmfit_clas)
    assert out["labels"] == ULMFIT_LABELS  # fastai text data: vocab = (tokens, labels)
    assert out["preds"]["shape"] == [40, len(ULMFIT_LABELS)]


def test_get_preds_of_a_language_model_has_no_labels(ulmfit_lm):
    # reorder=False: fastai 2.8.12's own get_preds fails on a language model's validation set otherwise
    assert call(get_preds, ulmfit_lm, reorder=False)["labels"] == []


# -------------------------------------------------------------------------------- validate, summary
def test_validate_names_the_loss_and_metrics(learn):
    v = call(validate, learn)
    assert list(v) == ["valid_loss", "accuracy_multi"] and all(isinstance(x, float) for x in v.values())


def test_validate_the_training_set(learn):
    with learn.no_bar():
        expected = learn.validate(ds_idx=0)[0]
    assert call(validate, learn, ds_idx=0.0)["valid_loss"] == pytest.approx(float(expected))


def test_summary_is_text(learn):
    s = call(summary, learn, write=[].append, mode="table")
    assert isinstance(s, str) and "Total params" in s


# ------------------------------------------------------------------------------- tables with rows
def test_confidence_has_the_row_of_each_item_in_rs_numbering(single_learn):
    conf = r_table(call(confidence, single_learn))
    items = single_learn.dls.valid.items
    assert list(conf.columns)[:2] == ["row", "text"]
    assert conf["row"].tolist() == (items.index + 1).tolist() and conf["text"].tolist() == items["text"].tolist()


def test_confidence_of_an_interpretation_is_its_table(single_learn):
    interp = interpretation(single_learn)
    conf = r_table(call(confidence, interp))
    assert conf["loss"].tolist() == pytest.approx(interp.confidence_table["loss"].tolist())
    assert conf["row"].tolist() == (interp.confidence_table.index + 1).tolist()


def test_top_losses_sorted_with_rows(single_learn):
    conf = r_table(call(confidence, single_learn))
    top = r_table(call(top_losses, single_learn, k=4.0))  # R sends doubles
    assert top["loss"].tolist() == pytest.approx(sorted(conf["loss"], reverse=True)[:4])
    by_row = dict(zip(conf["row"], conf["loss"]))
    assert [by_row[r] for r in top["row"]] == pytest.approx(top["loss"].tolist())


def test_top_losses_smallest(single_learn):
    conf = r_table(call(confidence, single_learn))
    low = r_table(call(top_losses, single_learn, k=2, largest=False))
    assert low["loss"].tolist() == pytest.approx(sorted(conf["loss"])[:2], rel=1e-5)


def test_confidence_of_a_ulmfit_classifier(ulmfit_clas):
    conf = r_table(call(confidence, ulmfit_clas))
    assert len(conf) == 40 and conf["row"].tolist() == (ulmfit_clas.dls.valid.items.index + 1).tolist()


def test_show_batch_as_a_table(multi_learn):
    t = r_table(call(show_batch_df, multi_learn.dls, max_n=2.0))
    assert list(t.columns) == ["text", "target"] and len(t) == 2


def test_show_results_as_a_table(multi_learn):
    t = r_table(call(show_results_df, multi_learn, max_n=3))
    assert list(t.columns) == ["text", "target", "predicted"] and len(t) == 3


def test_tokenized_tables_from_and_to_r(ulmfit_df):
    "A table from R in, token lists out as an R list column."
    df, counts = call(tokenize_df_counts, frame_to_r(ulmfit_df[["text", "label"]].head(5)), "text")
    assert [c["kind"] for c in df["columns"]] == ["character", "list", "integer"]
    t = r_table(df)
    assert t["text"].map(len).tolist() == t["text_length"].tolist()
    assert r_table(counts)["n"].sum() == t["text_length"].sum()
