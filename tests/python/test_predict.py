"""Prediction on raw texts, one path for every text classifier: HF learners (multi- and single-label)
and fastai's ULMFiT classifiers; `learn.predict` for HF learners; labels, thresholds, activation."""
import numpy as np
import pandas as pd
import pytest
import torch
from fastai_hf import hf_predict, predict_texts
from fastai_hf.checks import speaking
from fastai_hf.predict import (activation, label_thresholds, label_vocab, predictor_of, probabilities,
                               register_predictor, texts_of)
from helpers import EKMAN, ULMFIT_LABELS

TEXTS = ["I love this so much, thank you!", "This is disgusting and I am furious.", "ok",
         "What a surprise, I did not expect that at all. Wow, really, truly unexpected news today."]


# ------------------------------------------------------------------------------ learn.predict (HF)
def test_predict_one_text_multilabel(multi_learn):
    multi_learn.loss_func.thresh = 0.3
    labels, hits, probs = multi_learn.predict(TEXTS[0])
    assert probs.shape == (len(EKMAN),) and ((probs > 0) & (probs < 1)).all()
    assert hits.tolist() == (probs >= 0.3).tolist()
    assert list(labels) == [l for l, h in zip(EKMAN, hits) if h]


def test_predict_one_text_single_label(single_learn):
    label, idx, probs = single_learn.predict(TEXTS[1])
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert label == EKMAN[int(idx)] and int(idx) == int(probs.argmax())


def test_predict_with_input(single_learn):
    text, label, _, _ = single_learn.predict(TEXTS[2], with_input=True)
    assert text == TEXTS[2] and label in EKMAN


def test_per_label_threshold_on_the_loss_is_used(multi_learn):
    multi_learn.loss_func.thresh = torch.tensor([0.0] * 6 + [1.0])
    labels, _, _ = multi_learn.predict(TEXTS[0])
    assert list(labels) == EKMAN[:6]


# ----------------------------------------------------------------------- predict_texts, hf_predict
def test_batch_predict_matches_one_by_one_in_order(single_learn):
    df = single_learn.hf_predict(TEXTS)
    assert list(df.columns) == EKMAN + ["predicted"] and len(df) == len(TEXTS)
    for i, text in enumerate(TEXTS):  # sorted-by-length batching must not reorder rows
        _, _, probs = single_learn.predict(text)
        np.testing.assert_allclose(df.loc[i, EKMAN].to_numpy(dtype=float), probs.numpy(), atol=1e-5)
    assert df["predicted"].tolist() == [EKMAN[i] for i in df[EKMAN].to_numpy().argmax(1)]


def test_hf_predict_is_predict_texts(single_learn):
    assert hf_predict is predict_texts
    pd.testing.assert_frame_equal(single_learn.hf_predict(TEXTS[:2]), predict_texts(single_learn, TEXTS[:2]))


def test_batch_predict_multilabel_threshold(multi_learn):
    df = hf_predict(multi_learn, pd.Series(TEXTS), thresh=0.4)
    probs = df[EKMAN].to_numpy()
    assert [set(p) for p in df["predicted"]] == [{l for l, v in zip(EKMAN, row) if v >= 0.4} for row in probs]


def test_batch_predict_per_label_thresholds(multi_learn):
    per_label = [0.0] * 3 + [1.0] * 4  # one threshold per label: the first three always, the rest never
    df = hf_predict(multi_learn, TEXTS, thresh=per_label)
    assert all(p == EKMAN[:3] for p in df["predicted"])


def test_batch_size_does_not_change_predictions(single_learn):
    a, b = predict_texts(single_learn, TEXTS, bs=1), predict_texts(single_learn, TEXTS, bs=3.0)
    np.testing.assert_allclose(a[EKMAN].to_numpy(dtype=float), b[EKMAN].to_numpy(dtype=float), atol=1e-5)


def test_predict_a_dataframe_uses_the_training_text_column(single_learn, ekman_single_df):
    df = single_learn.hf_predict(ekman_single_df.iloc[:5])
    assert len(df) == 5


def test_predict_a_dataframe_without_the_text_column(single_learn):
    with pytest.raises(ValueError, match=r"has no text column \['text'\].*df\['text'\]"):
        single_learn.hf_predict(pd.DataFrame({"comment": TEXTS}))
    with speaking("r"), pytest.raises(ValueError, match=r'has no text column c\("text"\).*df\$text'):
        single_learn.hf_predict(pd.DataFrame({"comment": TEXTS}))


@pytest.mark.parametrize("bad", [[], ["fine", ""], ["fine", None]])
def test_predict_rejects_empty_input(single_learn, bad):
    with pytest.raises(ValueError, match="no texts|missing, empty"):
        single_learn.hf_predict(bad)


def test_wrong_number_of_thresholds(multi_learn):
    with pytest.raises(ValueError, match="got 2 thresholds for 7 labels"):
        hf_predict(multi_learn, TEXTS, thresh=[0.1, 0.2])


# ------------------------------------------------------------------ many texts: the direct path
def _get_preds_probs(learn, texts, bs=4):
    "The reference: fastai's get_preds on a test DataLoader (what predict used before the direct path)."
    from fastai_hf.predict import activation
    with learn.no_bar():
        probs, _ = learn.get_preds(dl=learn.dls.test_dl(texts, bs=bs), act=activation(learn))
    return probs.numpy()


@pytest.mark.parametrize("kind", ["multi", "single"])
def test_many_texts_same_probabilities_as_get_preds_in_input_order(kind, multi_learn, single_learn, ekman_df):
    "Sorted-by-length inference batches give get_preds' probabilities, row for row in input order."
    import fastai_hf.predict as pr
    learn = multi_learn if kind == "multi" else single_learn
    texts = ekman_df.text.tolist()[:50] + TEXTS  # uneven lengths, more than one batch at bs=8
    calls = []
    real = pr._direct_probabilities
    pr._direct_probabilities = lambda *a: calls.append(1) or real(*a)
    try:
        got = pr.probabilities(learn, texts, bs=8)
    finally:
        pr._direct_probabilities = real
    assert calls  # the direct path ran
    np.testing.assert_allclose(got, _get_preds_probs(learn, texts), rtol=1e-5, atol=1e-6)


def test_many_texts_run_without_autograd_in_eval_mode(multi_learn):
    seen = []
    layer = multi_learn.model.hf_model.classifier
    h = layer.register_forward_hook(lambda m, i, o: seen.append((torch.is_inference_mode_enabled(), m.training)))
    multi_learn.model.train()
    try:
        hf_predict(multi_learn, TEXTS)
    finally:
        h.remove()
    assert seen and all(inf and not training for inf, training in seen)
    assert multi_learn.model.training  # the learner's mode is restored


def test_unknown_batch_callback_falls_back_to_get_preds(multi_learn):
    "A callback that changes predictions is honoured: those learners predict through get_preds."
    from fastai_hf import Callback

    class Halve(Callback):
        order = 0  # after HF_BaseModelCallback: sees logits
        def after_pred(self): self.learn.pred = self.pred / 2

    plain = hf_predict(multi_learn, TEXTS)[EKMAN].to_numpy()
    multi_learn.add_cb(Halve())
    halved = hf_predict(multi_learn, TEXTS)[EKMAN].to_numpy()
    logit = lambda p: np.log(p / (1 - p))
    np.testing.assert_allclose(logit(halved), logit(plain) / 2, rtol=1e-4, atol=1e-5)


def test_predict_inside_one_cycle_training_takes_the_direct_path(multi_learn):
    "fit_one_cycle's ParamScheduler acts on training batches only: a callback may predict after each epoch."
    from fastai_hf import Callback
    seen = []

    class PredictEachEpoch(Callback):
        def after_epoch(self): seen.append(hf_predict(self.learn, TEXTS)[EKMAN].to_numpy())

    with multi_learn.no_bar(), multi_learn.no_logging():
        multi_learn.fit_one_cycle(2, 1e-3, cbs=PredictEachEpoch())
    assert len(seen) == 2 and not np.allclose(seen[0], seen[1])
    np.testing.assert_allclose(seen[1], _get_preds_probs(multi_learn, TEXTS), rtol=1e-5, atol=1e-6)


def test_bf16_learner_predicts_under_bf16_with_fp32_tolerance(multi_learn, monkeypatch):
    "to_bf16(): predictions run in bf16 (matmul outputs bf16) and stay within bf16 rounding of fp32's."
    import fastai_hf.precision as prec
    monkeypatch.setattr(prec, "cpu_bf16_support", lambda: (True, "test"))
    texts = TEXTS * 3
    fp32 = hf_predict(multi_learn, texts)[EKMAN].to_numpy()
    dtypes = []
    h = multi_learn.model.hf_model.classifier.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    multi_learn.to_bf16()
    try:
        bf16 = hf_predict(multi_learn, texts)[EKMAN].to_numpy()
    finally:
        h.remove()
    assert dtypes and all(d == torch.bfloat16 for d in dtypes)
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(bf16, fp32, atol=0.02)
    assert not np.array_equal(bf16, fp32)


@pytest.mark.parametrize("bad", [1.1, -0.1, float("nan")])
def test_thresholds_are_probabilities(multi_learn, bad):
    with pytest.raises(ValueError, match="must lie between 0 and 1"):
        hf_predict(multi_learn, TEXTS, thresh=bad)


def test_a_language_model_has_nothing_to_predict(ulmfit_lm):
    with pytest.raises(TypeError, match="no labels to predict.*lm_predict"):
        predict_texts(ulmfit_lm, TEXTS)


def test_only_learners_predict():
    with pytest.raises(TypeError, match="must be a fastai Learner"):
        probabilities("a model", TEXTS)


# --------------------------------------------------------------------------------- ULMFiT classifiers
def test_predict_texts_with_a_ulmfit_classifier(ulmfit_clas):
    df = predict_texts(ulmfit_clas, TEXTS)
    assert list(df.columns) == ULMFIT_LABELS + ["predicted"] and len(df) == len(TEXTS)
    probs = df[ULMFIT_LABELS].to_numpy(dtype=float)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert list(df.predicted) == [ULMFIT_LABELS[i] for i in probs.argmax(1)]


def test_ulmfit_batch_predict_agrees_with_fastais_predict(ulmfit_clas):
    # Texts within one chunk of seq_len tokens: fastai's SentenceEncoder reads longer batches in chunks, and
    # a short text padded to a long one's length then gets other features than alone (fastai's design).
    texts = ["I am so happy", "this is terrible", "ok then"]
    probs = predict_texts(ulmfit_clas, texts)[ULMFIT_LABELS].to_numpy(dtype=float)
    for text, row in zip(texts, probs):
        np.testing.assert_allclose(ulmfit_clas.predict(text)[2].numpy(), row, atol=1e-5)


def test_ulmfit_predict_a_dataframe_with_the_raw_text_column(ulmfit_clas):
    "The column the classifier's Tokenizer read, in any column order."
    direct = predict_texts(ulmfit_clas, TEXTS[:3])
    from_df = predict_texts(ulmfit_clas, pd.DataFrame({"id": [1, 2, 3], "text": TEXTS[:3]}))
    np.testing.assert_allclose(from_df[ULMFIT_LABELS].to_numpy(dtype=float),
                               direct[ULMFIT_LABELS].to_numpy(dtype=float), atol=1e-5)
    with pytest.raises(ValueError, match="no text column"):
        predict_texts(ulmfit_clas, pd.DataFrame({"body": TEXTS}))


# ---------------------------------------------------------------------- labels, thresholds, activation
def test_label_vocab_of_an_hf_learner(single_learn):
    assert label_vocab(single_learn) == EKMAN == label_vocab(single_learn.dls)


def test_label_vocab_of_a_ulmfit_classifier(ulmfit_clas):
    assert label_vocab(ulmfit_clas) == ULMFIT_LABELS == label_vocab(ulmfit_clas.dls)


def test_a_language_model_has_no_label_vocab(ulmfit_lm):
    assert label_vocab(ulmfit_lm) is None


def test_label_thresholds_default_to_the_loss_functions(multi_learn):
    np.testing.assert_array_equal(label_thresholds(multi_learn), [0.5] * 7)
    multi_learn.loss_func.thresh = 0.25
    np.testing.assert_array_equal(label_thresholds(multi_learn), [0.25] * 7)
    np.testing.assert_array_equal(label_thresholds(multi_learn, 0.75), [0.75] * 7)


def test_activation_is_the_loss_functions_own(multi_learn, single_learn):
    assert activation(multi_learn) is None and activation(single_learn) is None  # fastai's flat losses have one


def test_activation_without_one_on_the_loss(multi_learn, single_learn):
    multi_learn.loss_func, single_learn.loss_func = torch.nn.BCEWithLogitsLoss(), torch.nn.CrossEntropyLoss()
    x = torch.tensor([[0.0, 2.0]])
    assert torch.equal(activation(multi_learn)(x), torch.sigmoid(x))
    torch.testing.assert_close(activation(single_learn)(x), torch.softmax(x, -1))


def test_plain_torch_losses_predict_probabilities(single_learn):
    probs = predict_texts(single_learn, TEXTS)[EKMAN].to_numpy(dtype=float)
    single_learn.loss_func = torch.nn.CrossEntropyLoss()
    np.testing.assert_allclose(predict_texts(single_learn, TEXTS)[EKMAN].to_numpy(dtype=float), probs, atol=1e-6)


def test_texts_of_reads_strings_sequences_and_frames(single_learn):
    assert texts_of(single_learn, "one") == ["one"]
    assert texts_of(single_learn, np.array(["a", "b"])) == ["a", "b"]
    assert texts_of(single_learn, pd.DataFrame({"x": [1], "text": ["t"]})) == ["t"]


# ------------------------------------------------------------------------------- task-family registry
def test_a_text_classifier_has_no_other_predictor(single_learn, ulmfit_clas):
    assert predictor_of(single_learn) is None and predictor_of(ulmfit_clas) is None


def test_registered_predictors_claim_their_learners(single_learn, multi_learn, monkeypatch):
    import fastai_hf.predict as predict_module
    monkeypatch.setattr(predict_module, "_PREDICTORS", {})  # registrations end with the test
    fn = lambda learn, inputs, **kwargs: {}
    register_predictor("tokens", lambda learn: learn is multi_learn, fn)
    assert predictor_of(multi_learn) == ("tokens", fn) and predictor_of(single_learn) is None
