import pytest
from fastai_hf import goemotions_path, load_goemotions


def test_one_hot_columns_agree_with_the_label_names():
    df = load_goemotions("ekman", split="dev", n_rows=200)
    names = (goemotions_path("ekman") / "labels.txt").read_text().split()
    assert list(df.columns) == ["text", "labels", *names] and len(df) == 200
    for labels, row in zip(df["labels"], df[names].to_numpy()):
        assert sorted(labels.split(";")) == sorted(n for n, v in zip(names, row) if v == 1)


def test_single_label_keeps_rows_with_one_label():
    df = load_goemotions("ekman", split="dev", n_rows=100, single_label=True)
    assert len(df) == 100 and (df["label"] == df["labels"]).all() and not df["label"].str.contains(";").any()


def test_goemotions_dir_overrides_the_project_copy(tmp_path, monkeypatch):
    (tmp_path / "ekman").mkdir()
    (tmp_path / "ekman" / "labels.txt").write_text("joy\nsadness\n")
    (tmp_path / "ekman" / "train.tsv").write_text("so glad\t0\tc1\nso sad\t1\tc2\nbittersweet\t0,1\tc3\n")
    monkeypatch.setenv("GOEMOTIONS_DIR", str(tmp_path))
    df = load_goemotions("ekman")
    assert df["labels"].tolist() == ["joy", "sadness", "joy;sadness"]
    assert df[["joy", "sadness"]].to_numpy().tolist() == [[1, 0], [0, 1], [1, 1]]


def test_a_folder_without_labels_says_what_to_pass(tmp_path):
    with pytest.raises(ValueError, match="GOEMOTIONS_DIR"):
        load_goemotions(tmp_path)
