"""Round trips: fastai's export/load_learner, and the self-describing HF folder of hf_save_pretrained read
back by hf_load_learner (in a new process too) and by a plain transformers pipeline."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fastai_hf
import numpy as np
import pytest
import torch
from fastai_hf import (accuracy_multi, find_thresholds, hf_load_learner, hf_save_pretrained, load_learner, partial,
                       run_record)
from fastai_hf.card import card_header
from fastai_hf.export import SPEC_FILE, read_spec
from helpers import EKMAN, make_learner, quiet_fit
from transformers import pipeline

TEXTS = ["thank you, this made my day", "I can't believe they did that, awful", "hmm",
         "what a scary night", "so sad to hear that", "wow, did not expect that at all"]
PICKLE_SUFFIXES = (".bin", ".pkl", ".pickle", ".pt", ".pth", ".ckpt")


# ------------------------------------------------------------------------------------- fixtures
def _middle_thresholds(probs):
    "Per-label thresholds at the median probability of the texts: about half the labels are predicted (none at 0.5)."
    return torch.tensor(np.median(probs, axis=0), dtype=torch.float32)


@pytest.fixture(scope="session")
def _saved(tiny_path, _ekman, tmp_path_factory):
    """A multi-label learner trained frozen then unfrozen (max_length 48, a metric with its own threshold),
    with per-label thresholds set by hand, saved once; plain values of the learner that wrote it."""
    learn = make_learner(tiny_path, _ekman["multi"].copy(), multi=True, bs=8, max_length=48,
                         metrics=partial(accuracy_multi, thresh=0.2))
    learn.freeze()
    quiet_fit(learn, "fit_one_cycle", 1, 1e-3)
    learn.unfreeze()
    quiet_fit(learn, "fit_one_cycle", 1, slice(1e-5, 1e-3))
    learn.loss_func.thresh = _middle_thresholds(learn.hf_predict(TEXTS)[EKMAN].to_numpy())
    preds = learn.hf_predict(TEXTS)
    path = hf_save_pretrained(learn, tmp_path_factory.mktemp("saved") / "emotions")
    return {"path": path, "probs": preds[EKMAN].to_numpy(), "predicted": preds["predicted"].tolist(),
            "at_half": learn.hf_predict(TEXTS, thresh=0.5)["predicted"].tolist(),
            "thresholds": learn.loss_func.thresh.tolist(), "record": run_record(learn)}


@pytest.fixture
def saved_copy(_saved, tmp_path):
    "A copy of the saved folder the test may change."
    return Path(shutil.copytree(_saved["path"], tmp_path / "emotions"))


# ------------------------------------------------------------------------- fastai's own export
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


# ------------------------------------------------------------------------------- the HF folder
def test_folder_holds_safetensors_tokenizer_spec_and_card_and_no_pickle(_saved):
    files = {p.name for p in _saved["path"].iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", SPEC_FILE, "README.md"} <= files
    assert not [f for f in files if f.endswith(PICKLE_SUFFIXES)]
    spec = read_spec(_saved["path"])
    assert spec["format_version"] == 1 and spec["task"] == "text_classification"
    assert set(spec["files"]) == files - {SPEC_FILE, "README.md"}


def test_hf_save_pretrained_refuses_pickled_weights(multi_learn, tmp_path):
    with pytest.raises(ValueError, match="safetensors only"):
        hf_save_pretrained(multi_learn, tmp_path / "m", safe_serialization=False)
    assert not (tmp_path / "m").exists()


def test_spec_holds_the_predict_time_settings(_saved):
    spec = read_spec(_saved["path"])
    tok, ts = spec["inputs"]["tokenizer"], spec["task_settings"]
    assert spec["inputs"]["text_columns"] == ["text"]
    assert (tok["max_length"], tok["truncation"], tok["padding"]) == (48, True, True)
    assert (spec["inputs"]["bs"], spec["inputs"]["val_bs"]) == (8, 8)
    assert ts["labels"] == EKMAN and ts["target"] == "multi_label" and ts["label_layout"]["columns"] == EKMAN
    np.testing.assert_allclose([ts["thresholds"][l] for l in EKMAN], _saved["thresholds"])
    assert ts["thresholds_source"] == {"how": "set by hand"}


def test_round_trip_in_a_new_process_predicts_identically(_saved):
    "Thresholds differ from 0.5 per label, so a folder that lost them predicts other labels."
    assert _saved["predicted"] != _saved["at_half"]
    code = ("import json, sys\nfrom fastai_hf import hf_load_learner\n"
            "learn = hf_load_learner(sys.argv[1])\ndf = learn.hf_predict(json.loads(sys.argv[2]))\n"
            "labels = [c for c in df.columns if c != 'predicted']\n"
            "print(json.dumps({'labels': labels, 'probs': df[labels].astype(float).values.tolist(), "
            "'predicted': df['predicted'].tolist()}))")
    env = {**os.environ, "PYTHONPATH": str(Path(fastai_hf.__file__).parents[1]), "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", code, str(_saved["path"]), json.dumps(TEXTS)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["labels"] == EKMAN
    np.testing.assert_array_equal(np.asarray(out["probs"], dtype=np.float32), _saved["probs"])
    assert out["predicted"] == _saved["predicted"]


def test_loaded_learner_keeps_loss_metrics_optimizer_and_record(_saved):
    learn = hf_load_learner(_saved["path"])
    assert torch.equal(learn.loss_func.thresh, torch.tensor(_saved["thresholds"], dtype=torch.float32))
    assert [m.name for m in learn.metrics] == ["accuracy_multi"] and learn.metrics[0].func.keywords == {"thresh": 0.2}
    assert learn.opt_func.__name__ == "Adam"
    assert run_record(learn) == _saved["record"]
    assert len(learn.dls.train.dataset) == 0  # no data: it predicts only


def test_loaded_learner_trains_further_on_new_data(_saved, ekman_df):
    learn = hf_load_learner(_saved["path"], df=ekman_df, seed=0, valid_pct=0.25)
    assert (len(learn.dls.train_ds), len(learn.dls.valid_ds)) == (90, 30)
    before = [p.detach().clone() for p in learn.model.parameters()]
    quiet_fit(learn, "fit_one_cycle", 1, 1e-3)
    assert any(not torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))
    fits = run_record(learn)["fits"]
    assert len(fits) == 3 and fits[-1]["n_train"] == 90 and fits[-1]["finished"]
    assert np.isfinite(fits[-1]["metrics"]["train_loss"])
    assert learn.hf_predict(TEXTS[:2]).shape == (2, len(EKMAN) + 1)


def test_loaded_learner_takes_dataloaders_with_the_same_labels(_saved, multi_learn, single_learn):
    learn = hf_load_learner(_saved["path"], dls=multi_learn.dls)
    assert learn.dls is multi_learn.dls
    with pytest.raises(ValueError, match="labels"):
        hf_load_learner(_saved["path"], dls=single_learn.dls)


def test_single_label_round_trip(single_learn, tmp_path):
    before = single_learn.hf_predict(TEXTS)
    loaded = hf_load_learner(hf_save_pretrained(single_learn, tmp_path / "single"))
    after = loaded.hf_predict(TEXTS)
    np.testing.assert_array_equal(before[EKMAN].to_numpy(), after[EKMAN].to_numpy())
    assert before["predicted"].tolist() == after["predicted"].tolist()
    assert type(loaded.loss_func).__name__ == "CrossEntropyLossFlat"


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


def test_pipeline_with_the_saved_thresholds_gives_the_learners_labels(_saved):
    "What the card tells plain transformers users to do."
    path = _saved["path"]
    pipe = pipeline("text-classification", model=str(path), top_k=None, device="cpu")
    thresholds = json.loads((path / SPEC_FILE).read_text())["task_settings"]["thresholds"]
    labels = [[s["label"] for s in row if s["score"] >= thresholds[s["label"]]] for row in pipe(TEXTS)]
    assert [sorted(l) for l in labels] == [sorted(l) for l in _saved["predicted"]]


def test_hf_save_pretrained_needs_an_hf_learner(tmp_path):
    class NotHF:
        model, dls = None, None
    with pytest.raises(TypeError, match="HF_BaseModelWrapper"):
        hf_save_pretrained(NotHF(), tmp_path)


def test_a_failed_save_leaves_the_earlier_folder(multi_learn, tmp_path, monkeypatch):
    path = hf_save_pretrained(multi_learn, tmp_path / "m")
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def broken(*args, **kwargs): raise RuntimeError("disk full")
    monkeypatch.setattr("fastai_hf.export.model_card", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        hf_save_pretrained(multi_learn, path)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


# -------------------------------------------------------------------------- the model card
def _section(card, title):
    return card.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_card_fields_match_the_learner(_saved):
    card = (_saved["path"] / "README.md").read_text()
    header = card_header(card)
    assert header["library_name"] == "transformers" and header["pipeline_tag"] == "text-classification"
    assert "multi-label-classification" in header["tags"] and "base_model" not in header  # a local folder: no hub id
    labels = _section(card, "Labels and decision thresholds")
    for label, t in zip(EKMAN, _saved["thresholds"]):
        assert f"| {label} | {t:.3g} |" in labels
    assert "set by hand" in labels
    training = _section(card, "Training")
    fits = _saved["record"]["fits"]
    assert "Data: 96 training and 24 validation rows" in training
    rows = [l for l in training.splitlines() if l.startswith("| 1 |") or l.startswith("| 2 |")]
    assert len(rows) == len(fits) == 2
    for row, f in zip(rows, fits):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == "fit_one_cycle" and cells[2] == str(f["epochs"]) == "1"
        assert cells[5] == "8" and cells[6] == str(f["seed"])
        assert f"{f['lr'][-1]:.3g}" in cells[3]
    assert fits[0]["frozen_groups"] == 3 and rows[0].split("|")[5].strip().startswith("3 of 4 groups")
    assert rows[1].split("|")[5].strip() == "none"
    assert f"{fits[1]['lr'][0]:.3g} … {fits[1]['lr'][-1]:.3g} (4 groups)" in rows[1]
    evaluation = _section(card, "Evaluation")
    for name, value in fits[-1]["metrics"].items():
        assert f"{value:.4g}" in evaluation
    assert "accuracy_multi (thresh=0.2)" in evaluation
    versions = _section(card, "Versions")
    import fastai
    import transformers
    for name, v in [("torch", torch.__version__), ("transformers", transformers.__version__),
                    ("fastai", fastai.__version__), ("fastai_hf", fastai_hf.__version__)]:
        assert f"| {name} | {v} |" in versions
    assert "| python |" in versions


def test_card_data_sets_the_hub_metadata(multi_learn, tmp_path):
    path = hf_save_pretrained(multi_learn, tmp_path / "m", versions={"R": "4.2.2"},
                              card_data={"base_model": "sentence-transformers/all-MiniLM-L6-v2", "license": "mit"})
    card = (path / "README.md").read_text()
    assert card_header(card)["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert card_header(card)["license"] == "mit" and "| R | 4.2.2 |" in card


def test_card_says_where_tuned_thresholds_come_from(multi_learn, tmp_path):
    tuned = find_thresholds(multi_learn, apply=True)
    path = hf_save_pretrained(multi_learn, tmp_path / "m")
    spec = read_spec(path)
    assert spec["task_settings"]["thresholds_source"]["how"] == "find_thresholds"
    assert spec["task_settings"]["thresholds_source"]["split"] == "valid"
    assert spec["task_settings"]["thresholds_source"]["n_rows"] == len(multi_learn.dls.valid_ds) == 24
    card = (path / "README.md").read_text()
    assert "tuned per label by `find_thresholds`" in card and "validation set (24 rows)" in card
    assert [spec["task_settings"]["thresholds"][l] for l in EKMAN] == pytest.approx(tuned["threshold"].tolist())


# --------------------------------------------------------------------- damaged folders
@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "config.json", SPEC_FILE])
def test_a_missing_file_is_named(saved_copy, name):
    (saved_copy / name).unlink()
    with pytest.raises(FileNotFoundError, match=name.replace(".", r"\.")):
        hf_load_learner(saved_copy)


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "config.json"])
def test_a_changed_file_is_named(saved_copy, name):
    data = bytearray((saved_copy / name).read_bytes())
    data[-2] = (data[-2] + 1) % 256
    (saved_copy / name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{name.replace('.', '[.]')} in .* was changed or damaged"):
        hf_load_learner(saved_copy)


def test_an_edited_spec_is_named(saved_copy):
    spec = json.loads((saved_copy / SPEC_FILE).read_text())
    spec["task_settings"]["thresholds"]["joy"] = 0.9
    (saved_copy / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r"fastai_hf\.json in .* was changed"):
        hf_load_learner(saved_copy)


def test_a_damaged_spec_is_named(saved_copy):
    (saved_copy / SPEC_FILE).write_text("{not json")
    with pytest.raises(ValueError, match=r"fastai_hf\.json .* is damaged"):
        hf_load_learner(saved_copy)


def test_an_edited_card_still_loads_and_verify_false_skips_the_check(saved_copy, _saved):
    (saved_copy / "README.md").write_text("# my notes\n")
    assert hf_load_learner(saved_copy).hf_predict(TEXTS[:1])["predicted"].tolist() == _saved["predicted"][:1]
    (saved_copy / "tokenizer_config.json").write_text((saved_copy / "tokenizer_config.json").read_text() + "\n")
    hf_load_learner(saved_copy, verify=False)


def test_a_folder_of_a_newer_format_or_unknown_task_is_refused(saved_copy):
    from fastai_hf.export import _spec_digest
    spec = json.loads((saved_copy / SPEC_FILE).read_text())
    spec["task"] = "protein_folding"
    spec["spec_sha256"] = _spec_digest(spec)
    (saved_copy / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="'protein_folding' model"):
        hf_load_learner(saved_copy)
    spec["format_version"] = 99
    (saved_copy / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="format version 99"):
        hf_load_learner(saved_copy)


def test_loading_a_plain_folder_or_nothing_says_what_is_missing(tiny_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="fastai_hf.json is missing"):
        hf_load_learner(tiny_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        hf_load_learner(tmp_path / "nowhere")


# ------------------------------------------------------------------------ other label layouts
def _layout_learner(path, df, layout):
    "A learner (untrained) on labels joined by ';' in one column, or on integer class ids."
    from fastai_hf import (BCEWithLogitsLossFlat, CategoryBlock, ColReader, CrossEntropyLossFlat, DataBlock,
                           HF_BaseModelCallback, HF_BaseModelWrapper, HF_TextBlock, Learner, MultiCategoryBlock,
                           RandomSplitter, hf_splitter)
    from helpers import hf_objects
    hf_arch, _, tok, model = hf_objects(path, len(EKMAN))
    if layout == "delimited":
        y, get_y, loss = MultiCategoryBlock(vocab=EKMAN), ColReader("labels", label_delim=";"), BCEWithLogitsLossFlat()
    else:
        df["label"] = df["label"].map(EKMAN.index)
        y, get_y, loss = CategoryBlock(vocab=list(range(7))), ColReader("label"), CrossEntropyLossFlat()
    dls = DataBlock(blocks=[HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=tok), y], get_x=ColReader("text"), get_y=get_y,
                    splitter=RandomSplitter(seed=0)).dataloaders(df, bs=16)
    return Learner(dls, HF_BaseModelWrapper(model), loss_func=loss, cbs=HF_BaseModelCallback(), splitter=hf_splitter)


@pytest.mark.parametrize("layout,fixture", [("delimited", "ekman_df"), ("integer", "ekman_single_df")])
def test_other_label_layouts_round_trip_and_load_new_data(layout, fixture, tiny_path, request, tmp_path):
    df = request.getfixturevalue(fixture)
    learn = _layout_learner(tiny_path, df.copy(), layout)
    loaded = hf_load_learner(hf_save_pretrained(learn, tmp_path / "m"))
    before, after = learn.hf_predict(TEXTS), loaded.hf_predict(TEXTS)
    np.testing.assert_array_equal(before.drop(columns="predicted").to_numpy(), after.drop(columns="predicted").to_numpy())
    assert before["predicted"].tolist() == after["predicted"].tolist()
    assert list(loaded.dls.vocab) == list(learn.dls.vocab)  # integer labels stay integers
    again = hf_load_learner(tmp_path / "m", df=learn.dls.train.items.iloc[:40])  # the same layout as the training data
    assert len(again.dls.train_ds) == 32 and again.dls.one_batch()[1].shape[0] == 16


def test_model_card_previews_a_learners_card(multi_learn):
    from fastai_hf import model_card
    card = model_card(multi_learn, name="preview")
    assert card.startswith("---\n") and "# preview" in card and "| joy | 0.5 |" in card
