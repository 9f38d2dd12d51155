import numpy as np
import pandas as pd
import pytest
import torch
from conftest import EKMAN
from fastai_hf import hf_predict

TEXTS = ["I love this so much, thank you!", "This is disgusting and I am furious.", "ok",
         "What a surprise, I did not expect that at all. Wow, really, truly unexpected news today."]


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


def test_batch_predict_matches_one_by_one_in_order(single_learn):
    df = single_learn.hf_predict(TEXTS)
    assert list(df.columns) == EKMAN + ["predicted"] and len(df) == len(TEXTS)
    for i, text in enumerate(TEXTS):  # sorted-by-length batching must not reorder rows
        _, _, probs = single_learn.predict(text)
        np.testing.assert_allclose(df.loc[i, EKMAN].to_numpy(dtype=float), probs.numpy(), atol=1e-5)
    assert df["predicted"].tolist() == [EKMAN[i] for i in df[EKMAN].to_numpy().argmax(1)]


def test_batch_predict_multilabel_thresholds(multi_learn):
    df = hf_predict(multi_learn, pd.Series(TEXTS), thresh=0.4)
    probs = df[EKMAN].to_numpy()
    assert [set(p) for p in df["predicted"]] == [{l for l, v in zip(EKMAN, row) if v >= 0.4} for row in probs]
    per_label = [0.0] * 3 + [1.1] * 4  # one threshold per label: the first three always, the rest never
    df2 = hf_predict(multi_learn, TEXTS, thresh=per_label)
    assert all(p == EKMAN[:3] for p in df2["predicted"])


def test_per_label_threshold_on_the_loss_is_used(multi_learn):
    multi_learn.loss_func.thresh = torch.tensor([0.0] * 6 + [1.1])
    try:
        labels, _, _ = multi_learn.predict(TEXTS[0])
        assert list(labels) == EKMAN[:6]
    finally:
        multi_learn.loss_func.thresh = 0.5


def test_predict_a_dataframe_uses_the_training_text_column(single_learn, ekman_single_df):
    df = single_learn.hf_predict(ekman_single_df.iloc[:5])
    assert len(df) == 5
    with pytest.raises(ValueError, match="has no text column"):
        single_learn.hf_predict(pd.DataFrame({"comment": TEXTS}))


@pytest.mark.parametrize("bad", [[], ["fine", ""], ["fine", None]])
def test_predict_rejects_empty_input(single_learn, bad):
    with pytest.raises(ValueError, match="no texts|missing, empty"):
        single_learn.hf_predict(bad)


def test_wrong_number_of_thresholds(multi_learn):
    with pytest.raises(ValueError, match="got 2 thresholds for 7 labels"):
        hf_predict(multi_learn, TEXTS, thresh=[0.1, 0.2])
