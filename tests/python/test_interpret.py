"""Error analysis tables for a tiny HF classifier trained briefly on 80 GoEmotions (Ekman) rows."""
import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from fastai.interpret import ClassificationInterpretation  # noqa: E402

from fastai_hf import (AutoConfig, CategoryBlock, ColReader, CrossEntropyLossFlat, DataBlock,  # noqa: E402
                       HF_BaseModelCallback, HF_BaseModelWrapper, HF_TextBlock, Learner, MultiCategoryBlock,
                       RandomSplitter, confidence_df, confusion_matrix_df, get_hf_objects, hf_predict, hf_splitter,
                       load_goemotions, plot_confusion_matrix, set_seed, top_losses_df)
from fastai_hf.testing import tiny_bert  # noqa: E402

EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]


@pytest.fixture(scope="module")
def data():
    "80 single-label rows, 20 each of four labels; the vocab keeps all seven (three never occur)."
    df = load_goemotions("ekman", n_rows=1000, single_label=True)
    return df[df.label.isin(["anger", "joy", "neutral", "sadness"])].groupby("label").head(20).reset_index(drop=True)


def _learner(path, df, multi=False):
    config = AutoConfig.from_pretrained(path)
    config.num_labels = len(EKMAN)
    hf_arch, _, tok, model = get_hf_objects(path, config=config)
    y_block = MultiCategoryBlock(encoded=True, vocab=EKMAN) if multi else CategoryBlock(vocab=EKMAN)
    dls = DataBlock(blocks=(HF_TextBlock(hf_arch, tok), y_block), get_x=ColReader("text"),
                    get_y=ColReader(EKMAN if multi else "label"),
                    splitter=RandomSplitter(valid_pct=0.25, seed=0)).dataloaders(df, bs=16)
    return Learner(dls, HF_BaseModelWrapper(model), loss_func=CrossEntropyLossFlat(), splitter=hf_splitter,
                   cbs=[HF_BaseModelCallback()])


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return tiny_bert(str(tmp_path_factory.mktemp("tiny-bert")))


@pytest.fixture(scope="module")
def learn(tiny_path, data):
    set_seed(0)
    learn = _learner(tiny_path, data)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(2, 1e-2)
    return learn


@pytest.fixture(scope="module")
def conf(learn):
    return confidence_df(learn)


def test_confidence_df_has_every_validation_row_with_its_raw_text(learn, data, conf):
    valid = learn.dls.valid.items
    assert list(conf.columns) == ["text", "label", "predicted", "probability", "label_probability", "loss", "correct"]
    assert len(conf) == len(valid) == 20
    assert list(conf.index) == list(valid.index)  # item order, indexed like the source DataFrame
    assert list(conf.text) == list(data.loc[conf.index, "text"])  # raw text: case and spacing kept
    assert list(conf.label.astype(str)) == list(data.loc[conf.index, "label"])
    assert list(conf.label.cat.categories) == EKMAN and list(conf.predicted.cat.categories) == EKMAN


def test_confidence_df_agrees_with_predict_and_cross_entropy(learn, conf):
    pred = hf_predict(learn, conf.text.tolist())
    assert list(conf.predicted.astype(str)) == list(pred.predicted)
    np.testing.assert_allclose(conf.probability, pred[EKMAN].max(axis=1), atol=1e-5)
    np.testing.assert_allclose(conf.label_probability,
                               [pred.loc[i, lab] for i, lab in enumerate(conf.label.astype(str))], atol=1e-5)
    np.testing.assert_allclose(conf.loss, -np.log(conf.label_probability), rtol=1e-4)
    assert (conf.correct == (conf.label.astype(str) == conf.predicted.astype(str))).all()


def test_top_losses_df_sorts_by_loss(learn, conf):
    top = top_losses_df(learn, k=5)
    assert list(top.columns) == ["text", "label", "predicted", "loss", "probability", "label_probability"]
    assert list(top.index) == list(conf.loss.nlargest(5).index)
    assert top.loss.is_monotonic_decreasing
    low = top_losses_df(learn, k=3, largest=False)
    np.testing.assert_allclose(low.loss, np.sort(conf.loss)[:3], rtol=1e-6)
    assert len(top_losses_df(learn, k=None)) == len(conf)
    assert list(top_losses_df(learn, k=3.0).index) == list(top.index[:3])  # R sends doubles
    with pytest.raises(ValueError, match=r"k .* must be an integer >= 1"):
        top_losses_df(learn, k=0)


def test_confusion_matrix_df_long_and_wide(learn, conf):
    long = confusion_matrix_df(learn)
    assert list(long.columns) == ["actual", "predicted", "n", "proportion"] and len(long) == len(EKMAN) ** 2
    counts = pd.crosstab(conf.label, conf.predicted, dropna=False).reindex(index=EKMAN, columns=EKMAN, fill_value=0)
    np.testing.assert_array_equal(long.n.to_numpy().reshape(7, 7), counts.to_numpy())
    by_actual = long.groupby("actual", observed=False).proportion.sum()
    present = conf.label.astype(str).unique()
    np.testing.assert_allclose(by_actual[present], 1.0)
    assert (by_actual.drop(present) == 0).all()  # labels with no rows: zeros, not NaN

    wide = confusion_matrix_df(learn, wide=True)
    assert list(wide.index) == EKMAN and list(wide.columns) == EKMAN
    fastai_cm = ClassificationInterpretation.from_learner(learn).confusion_matrix()
    np.testing.assert_array_equal(wide.to_numpy(), fastai_cm)
    norm = confusion_matrix_df(learn, wide=True, normalize=True)
    np.testing.assert_allclose(norm.loc[present].sum(axis=1), 1.0)


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


def test_fastai_interpretation_works_on_hf_learners(learn, conf, capsys):
    interp = ClassificationInterpretation.from_learner(learn)
    np.testing.assert_allclose(interp.losses.numpy(), conf.loss.to_numpy(), rtol=1e-5)
    wrong = conf[~conf.correct]
    assert sum(n for _, _, n in interp.most_confused()) == len(wrong)
    capsys.readouterr()
    interp.plot_top_losses(3)  # fastai's own raises RecursionError on dict inputs
    shown = capsys.readouterr().out
    assert conf.loc[conf.loss.idxmax(), "text"][:20] in shown


def test_labelled_test_set_and_errors(learn, data, tiny_path):
    extra = load_goemotions("ekman", split="dev", n_rows=200, single_label=True)
    extra = extra[extra.label.isin(EKMAN)].head(6)
    conf = confidence_df(learn, dl=learn.dls.test_dl(extra, with_labels=True))
    assert list(conf.text) == list(extra.text) and list(conf.label.astype(str)) == list(extra.label)
    with pytest.raises(ValueError, match="no labels"):
        confidence_df(learn, dl=learn.dls.test_dl(extra.text.tolist()))
    with pytest.raises(TypeError, match="fastai DataLoader"):
        top_losses_df(learn, dl=extra)
    multi = _learner(tiny_path, data, multi=True)
    with pytest.raises(ValueError, match="single-label"):
        confusion_matrix_df(multi)
