import numpy as np
import pytest
from helpers import EKMAN, make_learner
from fastai_hf import F1ScoreMulti, RocAucMulti, accuracy_multi, find_thresholds, multilabel_metrics, partial
from sklearn.metrics import f1_score, roc_auc_score


def valid_probs(learn):
    with learn.no_bar():
        probs, targs = learn.get_preds()
    return probs.numpy(), targs.numpy().astype(int)


def test_fastai_multilabel_metrics_work_in_training(tiny_path, ekman_df):
    learn = make_learner(tiny_path, ekman_df, metrics=[partial(accuracy_multi, thresh=0.2), F1ScoreMulti(average="micro"),
                                                       F1ScoreMulti(average="macro"), RocAucMulti(average="micro")])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    loss, acc, f1_micro, f1_macro, auc = learn.recorder.values[-1][1:]
    probs, targs = valid_probs(learn)
    assert acc == pytest.approx(((probs > 0.2) == targs).mean(), abs=1e-6)
    assert f1_micro == pytest.approx(f1_score(targs, probs > 0.5, average="micro", zero_division=0), abs=1e-6)
    assert auc == pytest.approx(roc_auc_score(targs, probs, average="micro"), abs=1e-6)


def test_find_thresholds_maximises_each_labels_f1(multi_learn):
    probs, targs = valid_probs(multi_learn)
    table = find_thresholds(multi_learn)
    assert table["label"].tolist() == EKMAN
    assert table["support"].tolist() == targs.sum(0).tolist()
    for j, row in table.iterrows():
        if row.support == 0:
            assert row.threshold == 0.5 and row.f1 == 0.0
            continue
        f1_at = lambda t: f1_score(targs[:, j], probs[:, j] >= t, zero_division=0)
        assert row.f1 == pytest.approx(f1_at(row.threshold), abs=1e-9)
        assert row.f1 >= max(f1_at(t) for t in np.arange(0.01, 1.0, 0.01)) - 1e-9


def test_thresholds_can_be_applied_to_the_loss(multi_learn):
    table = find_thresholds(multi_learn, apply=True)
    np.testing.assert_allclose(multi_learn.loss_func.thresh.numpy(), table["threshold"].to_numpy(), atol=1e-6)


def test_applied_thresholds_are_used_by_predict(multi_learn):
    table = find_thresholds(multi_learn, apply=True)
    df = multi_learn.hf_predict(["so happy", "so sad"])
    expected = [[l for l, p, t in zip(EKMAN, row, table.threshold) if p >= t] for row in df[EKMAN].to_numpy()]
    assert df["predicted"].tolist() == expected


def test_multilabel_metrics_agree_with_sklearn(multi_learn):
    probs, targs = valid_probs(multi_learn)
    m = multilabel_metrics(multi_learn, thresh=0.3)
    pred = probs >= 0.3
    assert m["f1_micro"] == pytest.approx(f1_score(targs, pred, average="micro", zero_division=0))
    assert m["f1_macro"] == pytest.approx(f1_score(targs, pred, average="macro", zero_division=0))
    assert m["roc_auc_micro"] == pytest.approx(roc_auc_score(targs, probs, average="micro"))
    assert m["accuracy_subset"] == pytest.approx((pred == targs).all(1).mean())
    assert 0 <= m["roc_auc_macro"] <= 1


def test_multilabel_metrics_need_one_hot_targets(single_learn):
    with pytest.raises(ValueError, match="one-hot targets"):
        multilabel_metrics(single_learn)
