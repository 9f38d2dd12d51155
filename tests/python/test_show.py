"""fastai_hf.show: a batch, and a batch with predictions, of any text data as a DataFrame (HF data
decoded by its tokenizer; fastai's text data as fastai shows it)."""
import pandas as pd
import pytest
from fastai_hf import show_batch_df, show_results_df
from helpers import EKMAN, ULMFIT_LABELS


def test_show_batch_df_of_hf_data(multi_learn):
    df = show_batch_df(multi_learn.dls, max_n=3)
    assert list(df.columns) == ["text", "target"] and len(df) == 3
    assert all(set(t.split(";")) <= set(EKMAN) for t in df.target if t)


def test_show_batch_df_of_the_validation_set_or_one_dataloader(single_learn):
    valid = single_learn.dls.valid.show_batch(max_n=2, show=False)  # not shuffled: the same batch each time
    pd.testing.assert_frame_equal(show_batch_df(single_learn.dls, ds_idx=1.0, max_n=2), valid)  # R sends doubles
    pd.testing.assert_frame_equal(show_batch_df(single_learn.dls.valid, max_n=2), valid)


def test_show_results_df_of_an_hf_learner(single_learn):
    df = show_results_df(single_learn, max_n=4, shuffle=False)
    assert list(df.columns) == ["text", "target", "predicted"] and len(df) == 4
    assert set(df.predicted) <= set(EKMAN)


def test_show_batch_df_of_fastai_text_data(ulmfit_clas):
    df = show_batch_df(ulmfit_clas.dls, max_n=2)
    assert list(df.columns) == ["text", "category"] and len(df) == 2


def test_show_results_df_of_a_ulmfit_classifier(ulmfit_clas):
    df = show_results_df(ulmfit_clas, max_n=3, shuffle=False)
    assert list(df.columns) == ["text", "category", "category_"] and set(df.category_) <= set(ULMFIT_LABELS)


def test_max_n_is_a_whole_number(multi_learn):
    with pytest.raises(ValueError, match="max_n must be a whole number >= 1"):
        show_batch_df(multi_learn.dls, max_n=0)
    assert isinstance(show_batch_df(multi_learn.dls, max_n=2.0), pd.DataFrame)  # R sends doubles
