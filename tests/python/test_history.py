"""fastai_hf.history: one row per training epoch over a learner's life, and the last fit's loss curve."""
import pytest
from fastai_hf import accuracy_multi, partial
from fastai_hf.history import HistoryCallback, history_callback, history_df, loss_curve
from helpers import make_learner, quiet_fit


@pytest.fixture
def learn(tiny_path, ekman_df):
    learn = make_learner(tiny_path, ekman_df, metrics=partial(accuracy_multi, thresh=0.2))
    history_callback(learn)
    return learn


def test_no_rows_before_the_first_fit(learn):
    df = history_df(learn)
    assert list(df.columns) == ["epoch", "train_loss", "valid_loss", "time"] and len(df) == 0


def test_one_row_per_epoch_with_losses_metrics_and_time(learn):
    quiet_fit(learn, "fit_one_cycle", 2, 1e-3)
    df = history_df(learn)
    assert list(df.columns) == ["epoch", "train_loss", "valid_loss", "accuracy_multi", "time"]
    assert df["epoch"].tolist() == [1, 2] and str(df["epoch"].dtype) == "int64"
    assert (df["time"] >= 0).all() and df[["train_loss", "valid_loss", "accuracy_multi"]].notna().all().all()
    assert df["valid_loss"].tolist() == pytest.approx([float(v[1]) for v in learn.recorder.values])


def test_epochs_are_counted_across_fits(learn):
    quiet_fit(learn, "fit_one_cycle", 1, 1e-3)
    quiet_fit(learn, "fit", 1, 1e-4)
    assert history_df(learn)["epoch"].tolist() == [1, 2]


def test_validate_and_get_preds_add_no_rows(learn):
    "They run epoch events too, but no training phase."
    quiet_fit(learn, "fit", 1, 1e-3)
    with learn.no_bar():
        learn.validate()
        learn.get_preds()
    assert history_df(learn)["epoch"].tolist() == [1]


def test_lr_find_adds_no_rows(learn, tmp_path):
    learn.path = tmp_path
    with learn.no_bar(), learn.no_logging():
        learn.lr_find(num_it=10, show_plot=False)
    assert len(history_df(learn)) == 0


def test_the_callback_is_added_once(learn):
    cb = history_callback(learn)
    assert history_callback(learn) is cb
    assert sum(isinstance(c, HistoryCallback) for c in learn.cbs) == 1


def test_loss_curve_of_the_last_fit(learn):
    quiet_fit(learn, "fit", 2, 1e-3)
    curve = loss_curve(learn)
    n = len(learn.dls.train) * 2
    assert curve["iteration"] == list(range(1, n + 1)) and len(curve["loss"]) == n
    assert curve["valid_iteration"] == [n // 2, n] and len(curve["valid_loss"]) == 2
    assert curve["valid_loss"] == pytest.approx([float(v[1]) for v in learn.recorder.values])
