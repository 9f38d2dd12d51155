"""Learner.fit_linear: the Hugging Face Trainer's schedule (linear warm-up, then linear decay to 0)."""
import numpy as np
import pytest
from fastai_hf import GradientClip, linear_sched, run_record
from fastai_hf.history import SCHEDULES
from helpers import make_learner, quiet_fit


@pytest.fixture
def learn(tiny_path, ekman_df):
    return make_learner(tiny_path, ekman_df.iloc[:48].reset_index(drop=True), bs=8)


def test_rate_falls_linearly_from_the_peak_to_zero(learn):
    quiet_fit(learn, "fit_linear", 2, 1e-3)
    lrs = np.array(learn.recorder.lrs)
    n = len(learn.dls.train) * 2
    assert len(lrs) == n
    # batch i of n trains at lr * (1 - i/n): the peak first, lr/n last (transformers' linear schedule)
    np.testing.assert_allclose(lrs, 1e-3 * (1 - np.arange(n) / n), rtol=1e-5)
    rec = run_record(learn)["fits"][-1]  # what the model card says about training
    assert rec["method"] == "fit_linear" and "linear decay" in SCHEDULES["fit_linear"]


def test_warm_up_rises_linearly_then_decays(learn):
    quiet_fit(learn, "fit_linear", 2, 1e-3, pct_start=0.5)
    lrs = np.array(learn.recorder.lrs)
    n = len(lrs)
    pos = np.arange(n) / n
    expected = np.where(pos < 0.5, 1e-3 * pos / 0.5, 1e-3 * (1 - pos) / 0.5)
    np.testing.assert_allclose(lrs, expected, rtol=1e-5, atol=1e-9)
    assert lrs[0] == 0 and lrs.argmax() == n // 2


def test_discriminative_rates_keep_their_ratio_and_the_fits_callbacks_leave_with_it(learn):
    clip = GradientClip(1.0)
    quiet_fit(learn, "fit_linear", 1, slice(1e-5, 1e-3), cbs=clip)
    n = len(learn.dls.train)
    rec = run_record(learn)["fits"][-1]
    peaks = np.array(rec["lr"])
    np.testing.assert_allclose(peaks[[0, -1]], [1e-5, 1e-3], rtol=1e-5)  # the slice spread over the groups
    np.testing.assert_allclose(rec["lr_last"], peaks / n, rtol=1e-5)       # each group decays to its peak / n
    assert clip not in learn.cbs  # a fit's own callbacks leave with it, as with fastai's schedules


def test_linear_sched_is_a_fastai_schedule():
    s = linear_sched(2.0, pct_start=0.25)
    assert [round(s(p), 6) for p in (0.0, 0.125, 0.25, 0.625, 1.0)] == [0.0, 1.0, 2.0, 1.0, 0.0]


@pytest.mark.parametrize("kwargs, message", [({"n_epoch": 0, "lr": 1e-3}, "n_epoch must be"),
                                             ({"n_epoch": 1, "lr": -1.0}, "lr"),
                                             ({"n_epoch": 1, "lr": 1e-3, "pct_start": 1.5}, "pct_start")])
def test_bad_arguments_are_named_before_training(learn, kwargs, message):
    with pytest.raises(ValueError, match=message) as e:
        learn.fit_linear(**kwargs)
    assert str(e.value).startswith("fit_linear(): ")
    assert run_record(learn)["fits"] == []  # checked before anything trained
