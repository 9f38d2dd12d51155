"""Error analysis tables: a tiny HF classifier trained briefly on 80 GoEmotions (Ekman) rows, and the
ULMFiT classifier; every table from a learner or from an `interpretation()`."""
import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from fastai.interpret import ClassificationInterpretation  # noqa: E402

from fastai_hf import (CategoryBlock, ColReader, CrossEntropyLossFlat, DataBlock, HF_BaseModelCallback,  # noqa: E402
                       HF_BaseModelWrapper, HF_TextBlock, Learner, MultiCategoryBlock, RandomSplitter, confidence_df,
                       confusion_matrix_df, hf_predict, hf_splitter, interpretation, load_goemotions,
                       plot_confusion_matrix, set_seed, top_losses_df)
from helpers import EKMAN, ULMFIT_LABELS, hf_objects, load_state, quiet_fit, state_bytes  # noqa: E402


def _learner(path, df, multi=False):
    hf_arch, _, tok, model = hf_objects(path, len(EKMAN))
    y_block = MultiCategoryBlock(encoded=True, vocab=EKMAN) if multi else CategoryBlock(vocab=EKMAN)
    dls = DataBlock(blocks=(HF_TextBlock(hf_arch, tok), y_block), get_x=ColReader("text"),
                    get_y=ColReader(EKMAN if multi else "label"),
                    splitter=RandomSplitter(valid_pct=0.25, seed=0)).dataloaders(df, bs=16)
    return Learner(dls, HF_BaseModelWrapper(model), loss_func=CrossEntropyLossFlat(), splitter=hf_splitter,
                   cbs=[HF_BaseModelCallback()])


@pytest.fixture(scope="session")
def _interp_data():
    "80 single-label rows, 20 each of four labels; the vocab keeps all seven (three never occur)."
    df = load_goemotions("ekman", n_rows=1000, single_label=True)
    return df[df.label.isin(["anger", "joy", "neutral", "sadness"])].groupby("label").head(20).reset_index(drop=True)


@pytest.fixture(scope="session")
def _interp_weights(tiny_path, _interp_data):
    set_seed(0)
    return state_bytes(quiet_fit(_learner(tiny_path, _interp_data.copy()), "fit_one_cycle", 2, 1e-2).model)


@pytest.fixture
def data(_interp_data):
    return _interp_data.copy()


@pytest.fixture
def learn(tiny_path, data, _interp_weights):
    learn = _learner(tiny_path, data)
    load_state(learn.model, _interp_weights)
    return learn


@pytest.fixture
def conf(learn):
    return confidence_df(learn)


# ------------------------------------------------------------------------------------ confidence_df
def test_confidence_df_has_every_validation_row_with_its_raw_text(learn, data, conf):
    valid = learn.dls.valid.items
    assert list(conf.columns) == ["text", "label", "predicted", "probability", "label_probability", "loss", "correct"]
    assert len(conf) == len(valid) == 20
    assert list(conf.index) == list(valid.index)  # item order, indexed like the source DataFrame
    assert list(conf.text) == list(data.loc[conf.index, "text"])  # raw text: case and spacing kept
    assert list(conf.label.astype(str)) == list(data.loc[conf.index, "label"])


def test_confidence_df_labels_are_categoricals_of_the_vocab(conf):
    assert list(conf.label.cat.categories) == EKMAN and list(conf.predicted.cat.categories) == EKMAN


def test_confidence_df_agrees_with_predict_and_cross_entropy(learn, conf):
    pred = hf_predict(learn, conf.text.tolist())
    assert list(conf.predicted.astype(str)) == list(pred.predicted)
    np.testing.assert_allclose(conf.probability, pred[EKMAN].max(axis=1), atol=1e-5)
    np.testing.assert_allclose(conf.label_probability,
                               [pred.loc[i, lab] for i, lab in enumerate(conf.label.astype(str))], atol=1e-5)
    np.testing.assert_allclose(conf.loss, -np.log(conf.label_probability), rtol=1e-4)
    assert (conf.correct == (conf.label.astype(str) == conf.predicted.astype(str))).all()


def test_confidence_df_of_a_labelled_test_set(learn):
    extra = load_goemotions("ekman", split="dev", n_rows=200, single_label=True).head(6)
    conf = confidence_df(learn, dl=learn.dls.test_dl(extra, with_labels=True))
    assert list(conf.text) == list(extra.text) and list(conf.label.astype(str)) == list(extra.label)


def test_confidence_df_needs_labels(learn):
    with pytest.raises(ValueError, match="no labels"):
        confidence_df(learn, dl=learn.dls.test_dl(["a text", "another"]))


def test_a_data_frame_is_no_dataloader(learn, data):
    with pytest.raises(TypeError, match="fastai DataLoader"):
        top_losses_df(learn, dl=data)


def test_multi_label_learners_are_refused(tiny_path, ekman_df):
    with pytest.raises(ValueError, match="single-label"):
        confusion_matrix_df(_learner(tiny_path, ekman_df, multi=True))


# ------------------------------------------------------------------------------------ top_losses_df
def test_top_losses_df_sorts_by_loss(learn, conf):
    top = top_losses_df(learn, k=5)
    assert list(top.columns) == ["text", "label", "predicted", "loss", "probability", "label_probability"]
    assert list(top.index) == list(conf.loss.nlargest(5).index)
    assert top.loss.is_monotonic_decreasing


def test_top_losses_df_smallest(learn, conf):
    low = top_losses_df(learn, k=3, largest=False)
    np.testing.assert_allclose(low.loss, np.sort(conf.loss)[:3], rtol=1e-6)


def test_top_losses_df_all_rows_and_r_numbers(learn, conf):
    assert len(top_losses_df(learn, k=None)) == len(conf)
    assert list(top_losses_df(learn, k=3.0).index) == list(conf.loss.nlargest(3).index)  # R sends doubles
    with pytest.raises(ValueError, match=r"k .* must be a whole number >= 1"):
        top_losses_df(learn, k=0)


# ------------------------------------------------------------------------------- confusion matrices
def test_confusion_matrix_df_long(learn, conf):
    long = confusion_matrix_df(learn)
    assert list(long.columns) == ["actual", "predicted", "n", "proportion"] and len(long) == len(EKMAN) ** 2
    counts = pd.crosstab(conf.label, conf.predicted, dropna=False).reindex(index=EKMAN, columns=EKMAN, fill_value=0)
    np.testing.assert_array_equal(long.n.to_numpy().reshape(7, 7), counts.to_numpy())
    by_actual = long.groupby("actual", observed=False).proportion.sum()
    present = conf.label.astype(str).unique()
    np.testing.assert_allclose(by_actual[present], 1.0)
    assert (by_actual.drop(present) == 0).all()  # labels with no rows: zeros, not NaN


def test_confusion_matrix_df_wide_is_fastais(learn, conf):
    wide = confusion_matrix_df(learn, wide=True)
    assert list(wide.index) == EKMAN and list(wide.columns) == EKMAN
    np.testing.assert_array_equal(wide.to_numpy(), ClassificationInterpretation.from_learner(learn).confusion_matrix())
    norm = confusion_matrix_df(learn, wide=True, normalize=True)
    np.testing.assert_allclose(norm.loc[conf.label.astype(str).unique()].sum(axis=1), 1.0)


def test_plot_confusion_matrix_returns_the_figure(learn):
    fig = plot_confusion_matrix(learn, normalize=True)
    try:
        assert isinstance(fig, matplotlib.figure.Figure)
        ax = fig.axes[0]
        assert ax.get_title() == "Normalized confusion matrix"
        assert [t.get_text() for t in ax.get_yticklabels()] == EKMAN
        assert len(ax.texts) == len(EKMAN) ** 2
    finally:
        plt.close(fig)


# ------------------------------------------------------------------------------ fastai's interpretation
def test_fastai_interpretation_works_on_hf_learners(learn, conf):
    interp = ClassificationInterpretation.from_learner(learn)
    np.testing.assert_allclose(interp.losses.numpy(), conf.loss.to_numpy(), rtol=1e-5)
    assert sum(n for _, _, n in interp.most_confused()) == (~conf.correct).sum()


def test_plot_top_losses_shows_the_table_for_hf_learners(learn, conf, capsys):
    interp = ClassificationInterpretation.from_learner(learn)
    capsys.readouterr()
    interp.plot_top_losses(3)  # fastai's own raises RecursionError on dict inputs
    assert conf.loc[conf.loss.idxmax(), "text"][:20] in capsys.readouterr().out


def test_interpretation_is_fastais_from_one_pass(learn):
    interp = interpretation(learn)
    ref = ClassificationInterpretation.from_learner(learn)
    assert isinstance(interp, ClassificationInterpretation)
    np.testing.assert_allclose(interp.losses.numpy(), ref.losses.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(interp.confusion_matrix(), ref.confusion_matrix())


def test_interpretation_keeps_its_table(learn, conf):
    interp = interpretation(learn)
    assert confidence_df(interp) is interp.confidence_table  # kept, not recomputed
    pd.testing.assert_frame_equal(interp.confidence_table, conf)


def test_interpretation_of_the_training_set(learn):
    interp = interpretation(learn, ds_idx=0.0)  # R sends doubles
    assert len(interp.confidence_table) == len(learn.dls.train_ds)


def test_tables_from_an_interpretation_equal_the_learners(learn):
    interp = interpretation(learn)
    pd.testing.assert_frame_equal(top_losses_df(interp, k=4), top_losses_df(learn, k=4))
    pd.testing.assert_frame_equal(confusion_matrix_df(interp), confusion_matrix_df(learn))
    plt.close(plot_confusion_matrix(interp))


def test_an_interpretation_with_another_dl_computes_anew(learn):
    interp = interpretation(learn)
    train = confidence_df(interp, dl=learn.dls.train)
    assert len(train) == len(learn.dls.train_ds) and confidence_df(interp) is interp.confidence_table


# ------------------------------------------------------------------------------------------ ULMFiT
def test_confidence_df_on_a_ulmfit_classifier_shows_readable_text(ulmfit_clas, ulmfit_df):
    conf = confidence_df(ulmfit_clas)
    assert len(conf) == len(ulmfit_clas.dls.valid.items) == 40
    assert not conf.text.str.contains("xxbos|xxmaj|xxpad").any()
    vocab = set(ulmfit_clas.dls.vocab[0])
    checked = 0
    for row in conf.index:  # every in-vocab word of the raw text is in the decoded text
        words = [w.lower() for w in ulmfit_df.loc[row, "text"].split() if w.isalpha() and w.lower() in vocab]
        assert all(w in conf.loc[row, "text"].lower() for w in words)
        checked += len(words)
    assert checked > 50
    assert conf.text.str[0].str.isupper().any()  # xxmaj undone: capitals are back
    np.testing.assert_allclose(conf.loss, -np.log(conf.label_probability), rtol=1e-4)


def test_interpretation_of_a_ulmfit_classifier(ulmfit_clas):
    interp = interpretation(ulmfit_clas)
    assert interp.vocab == ULMFIT_LABELS
    np.testing.assert_allclose(interp.losses.numpy(), confidence_df(ulmfit_clas).loss.to_numpy(), rtol=1e-5)
    assert len(interp.confidence_table) == 40
