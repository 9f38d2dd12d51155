"""Round trips: fastai's export/load_learner, and a standard HF folder read back by `pipeline`."""
import json

import numpy as np
import pytest
from helpers import EKMAN
from fastai_hf import hf_save_pretrained, load_learner
from transformers import pipeline

TEXTS = ["thank you, this made my day", "I can't believe they did that, awful", "hmm"]


@pytest.mark.parametrize("which", ["multi_learn", "single_learn"])
def test_export_and_load_learner_round_trip(which, request, tmp_path):
    learn = request.getfixturevalue(which)
    before = learn.hf_predict(TEXTS)
    learn.export(tmp_path / "learner.pkl")
    loaded = load_learner(tmp_path / "learner.pkl")
    after = loaded.hf_predict(TEXTS)
    np.testing.assert_array_equal(before[EKMAN].to_numpy(), after[EKMAN].to_numpy())
    assert before["predicted"].tolist() == after["predicted"].tolist()
    assert loaded.predict(TEXTS[0])[0] == learn.predict(TEXTS[0])[0]


@pytest.mark.parametrize("which,problem", [("multi_learn", "multi_label_classification"),
                                           ("single_learn", "single_label_classification")])
def test_hf_save_pretrained_loads_in_a_pipeline_with_the_same_probabilities(which, problem, request, tmp_path):
    learn = request.getfixturevalue(which)
    ours = learn.hf_predict(TEXTS)
    path = hf_save_pretrained(learn, tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    assert config["problem_type"] == problem
    assert config["id2label"] == {str(i): l for i, l in enumerate(EKMAN)} and config["label2id"]["joy"] == 3
    pipe = pipeline("text-classification", model=str(path), top_k=None, device="cpu")
    for i, scores in enumerate(pipe(TEXTS)):
        theirs = {s["label"]: s["score"] for s in scores}
        np.testing.assert_allclose([theirs[l] for l in EKMAN], ours.loc[i, EKMAN].to_numpy(dtype=float), atol=1e-5)


def test_hf_save_pretrained_needs_an_hf_learner(tmp_path):
    class NotHF:
        model, dls = None, None
    with pytest.raises(TypeError, match="HF_BaseModelWrapper"):
        hf_save_pretrained(NotHF(), tmp_path)
