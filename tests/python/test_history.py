"""fastai_hf.history: one row per training epoch over a learner's life, one run record per fit, the
last fit's loss curve; every learner records."""
import numpy as np
import pandas as pd
import pytest
from fastai_hf import HistoryCallback, Learner, accuracy_multi, defaults, history_df, partial, run_record, run_record_df, set_seed
from fastai_hf.history import history_callback, loss_curve
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


def test_an_epoch_without_validation_has_its_training_loss_and_no_validation_values(learn):
    "A callback may cancel validation (as the benchmarks do): the row keeps train_loss, NaN for the rest."
    from fastai_hf import Callback, CancelValidException

    class SkipValidation(Callback):
        def before_validate(self): raise CancelValidException()

    quiet_fit(learn, "fit", 1, 1e-3, cbs=SkipValidation())
    row = history_df(learn).iloc[0]
    assert row["train_loss"] == pytest.approx(float(learn.recorder.values[0][0]))
    assert np.isnan(row["valid_loss"]) and np.isnan(row["accuracy_multi"]) and row["time"] >= 0


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


def small(df, n=48):
    return df.iloc[:n].reset_index(drop=True)


def test_every_learner_gets_the_history_callback(tiny_path, ekman_df):
    assert HistoryCallback in defaults.callbacks
    learn = make_learner(tiny_path, small(ekman_df))
    assert sum(isinstance(cb, HistoryCallback) for cb in learn.cbs) == 1
    assert run_record(learn)["fits"] == [] and len(history_df(learn)) == 0


def test_each_fit_is_recorded_with_its_recipe(tiny_path, ekman_df):
    learn = make_learner(tiny_path, small(ekman_df), bs=8, seed=3)
    learn.freeze()
    quiet_fit(learn, "fit_one_cycle", 1, 1e-3, pct_start=0.5)
    learn.unfreeze()
    quiet_fit(learn, "fit", 2, slice(1e-5, 1e-3))
    first, second = run_record(learn)["fits"]
    assert (first["fit"], first["method"], first["epochs"], first["n_epoch"]) == (1, "fit_one_cycle", 1, 1)
    assert first["arguments"]["pct_start"] == 0.5 and first["called_from"] is None
    assert first["frozen_groups"] == 3 and first["param_groups"] == 4
    assert 0 < first["trainable_params"] < first["total_params"]
    assert np.allclose(first["lr"], 1e-3, rtol=0.05)  # one-cycle peaks near lr_max in every group
    assert first["lr_first"][0] < first["lr"][0] / 10  # and starts at lr_max / div
    assert (first["bs"], first["n_train"], first["n_valid"], first["seed"]) == (8, 39, 9, 3)
    assert (first["opt"], first["loss"], first["finished"]) == ("Adam", "BCEWithLogitsLossFlat", True)
    assert set(first["metrics"]) == {"train_loss", "valid_loss"}
    assert (second["method"], second["epochs"], second["frozen_groups"]) == ("fit", 2, 0)
    np.testing.assert_allclose(second["lr"], np.geomspace(1e-5, 1e-3, 4), rtol=1e-6)  # slice: spread to the head
    assert second["trainable_params"] == second["total_params"]
    assert [r["epoch"] for r in run_record(learn)["epochs"]] == [1, 2, 3]


def test_fine_tune_records_its_two_stages(tiny_path, ekman_df):
    learn = make_learner(tiny_path, small(ekman_df), bs=16)
    quiet_fit(learn, "fine_tune", 1, 1e-3)
    fits = run_record(learn)["fits"]
    assert [(f["method"], f["called_from"]) for f in fits] == [("fit_one_cycle", "fine_tune")] * 2
    assert fits[0]["frozen_groups"] == 3 and fits[1]["frozen_groups"] == 0


def test_predicting_validating_and_lr_find_are_no_fits(tiny_path, ekman_df, tmp_path):
    learn = make_learner(tiny_path, small(ekman_df), bs=16)
    learn.path = tmp_path  # lr_find saves its temporary weights there
    with learn.no_bar(), learn.no_logging():
        learn.get_preds()
        learn.validate()
        learn.lr_find(num_it=5, show_plot=False)
    assert run_record(learn)["fits"] == [] and len(history_df(learn)) == 0


def test_seed_is_torchs_seed_last_set(tiny_path, ekman_df):
    learn = make_learner(tiny_path, small(ekman_df), bs=16)
    set_seed(123)
    quiet_fit(learn, "fit", 1, 1e-4)
    assert run_record(learn)["fits"][0]["seed"] == 123


def test_run_record_df_has_one_row_per_fit(tiny_path, ekman_df):
    learn = make_learner(tiny_path, small(ekman_df), bs=16)
    quiet_fit(learn, "fit_one_cycle", 1, 1e-3)
    quiet_fit(learn, "fit_flat_cos", 1, 1e-4)
    df = run_record_df(learn)
    assert df["method"].tolist() == ["fit_one_cycle", "fit_flat_cos"]
    assert df["fit"].tolist() == [1, 2] and df["epochs"].tolist() == [1, 1]
    assert df["lr_max"].iloc[1] == max(df["lr"].iloc[1]) and isinstance(df["lr"].iloc[0], list)
    assert {"train_loss", "valid_loss"} <= set(df.columns) and df["valid_loss"].notna().all()
    assert pd.api.types.is_integer_dtype(df["bs"])


def test_a_plain_learner_records_too(ekman_df):
    from fastai.data.core import DataLoaders
    from fastai.test_utils import synth_learner
    learn = synth_learner()
    assert isinstance(learn, Learner) and isinstance(learn.dls, DataLoaders)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    assert run_record(learn)["fits"][0]["method"] == "fit"
