"""fastai_hf.bridge: the values the R package receives and sends, and the verbs it calls."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from fastai_hf import bridge


def col(kind, values, na=(), levels=None):
    c = {"kind": kind, "values": values, "na": list(na)}
    if levels is not None: c["levels"] = levels
    return c


# ------------------------------------------------------------------------------------- R -> pandas
def test_frame_from_r_keeps_types_and_missing_values():
    table = {"names": ["i", "i_na", "d", "b", "b_na", "s", "f", "t", "l"], "nrow": 3, "columns": [
        col("integer", [1, 2, 3]),
        col("integer", [1, 0, 3], na=[1]),
        col("double", [0.5, float("nan"), 2.0]),
        col("logical", [True, False, True]),
        col("logical", [True, False, False], na=[2]),
        col("character", ["a", "", "c"], na=[1]),
        col("factor", ["u", "v", "u"]),
        col("datetime", [0.0, 86400.0, 0.0], na=[2]),
        col("list", [["x", "y"], "z", []]),
    ]}
    df = bridge.frame_from_r(table)
    assert list(df.columns) == table["names"]
    assert df["i"].dtype == np.int64 and df["i"].tolist() == [1, 2, 3]
    assert df["i_na"].dtype == np.float64 and math.isnan(df["i_na"][1])
    assert math.isnan(df["d"][1])
    assert df["b"].dtype == bool
    assert df["b_na"].tolist() == [True, False, None]
    assert df["s"].tolist() == ["a", None, "c"]
    assert df["f"].tolist() == ["u", "v", "u"]
    assert str(df["t"][1].date()) == "1970-01-02" and pd.isna(df["t"][2])
    assert df["l"].tolist() == [["x", "y"], ["z"], []]


def test_frame_from_r_scalars_from_length_one_vectors():
    "reticulate sends a length-1 R vector as a scalar; a one-row table must still work."
    df = bridge.frame_from_r({"names": "text", "nrow": 1, "columns": [col("character", "hello")]})
    assert df.shape == (1, 1) and df["text"][0] == "hello"


def test_frame_from_r_rejects_ragged_columns():
    with pytest.raises(ValueError, match="2 values for 3 rows"):
        bridge.frame_from_r({"names": ["a"], "nrow": 3, "columns": [col("integer", [1, 2])]})


# ------------------------------------------------------------------------------------- pandas -> R
def test_frame_to_r_round_trip():
    df = pd.DataFrame({
        "i": np.array([1, 2, 3], dtype=np.int64),
        "big": np.array([1, 2 ** 40, 3], dtype=np.int64),
        "d": [0.1, np.nan, 0.3],
        "b": [True, False, True],
        "s": ["a", None, "c"],
        "c": pd.Categorical(["x", None, "y"], categories=["y", "x"]),
        "l": [["a"], [], ["b", "c"]],
        "ni": pd.array([1, None, 3], dtype="Int64"),
    })
    out = bridge.frame_to_r(df)
    assert out["r_type"] == "frame" and out["nrow"] == 3 and out["names"] == list(df.columns)
    kinds = {n: c["kind"] for n, c in zip(out["names"], out["columns"])}
    assert kinds == {"i": "integer", "big": "double", "d": "double", "b": "logical", "s": "character",
                     "c": "factor", "l": "list", "ni": "integer"}
    cols = dict(zip(out["names"], out["columns"]))
    assert cols["d"]["na"] == [1] and cols["s"]["na"] == [1] and cols["ni"]["na"] == [1]
    assert cols["c"]["levels"] == ["y", "x"] and cols["c"]["na"] == [1]
    assert cols["big"]["values"][1] == float(2 ** 40)
    assert cols["l"]["values"] == [["a"], [], ["b", "c"]]
    # and back: the R side would send the same columns
    back = bridge.frame_from_r({"names": out["names"][:5], "nrow": 3, "columns": out["columns"][:5]})
    assert back["i"].tolist() == [1, 2, 3] and math.isnan(back["d"][1]) and back["s"][1] is None


def test_to_r_arrays_tensors_and_nesting():
    out = bridge.to_r({"t": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "n": np.int64(3), "x": (1, "a")})
    t = out["t"]
    assert t["r_type"] == "array" and t["shape"] == [2, 2] and t["values"] == [1.0, 2.0, 3.0, 4.0]
    assert out["n"] == 3 and isinstance(out["n"], int) and out["x"] == [1, "a"]
    assert bridge.to_r(torch.tensor([True, False]))["kind"] == "logical"


# ------------------------------------------------------------------------------------------ output
def test_table_mode_keeps_finished_lines_only():
    got = []
    with bridge.r_output(got.append, "table"):
        print("\u2588", end="\r")
        print("epoch  train_loss")
        print("\rEpoch 1/1 : |----| 0% [0/8]", end="")
        print("\rEpoch 1/1 :           \r", end="")
        print("0      0.5")
        print("unfinished", end="")
    assert "".join(got) == "epoch  train_loss\n0      0.5\nunfinished\n"
    got = []
    with bridge.r_output(got.append, "table"):  # lr_find stops mid-epoch: its last bar is dropped
        print("\rEpoch 13/13 : |--| 50.00% [4/8]", end="")
    assert got == []


def test_bar_mode_passes_carriage_returns_and_restores_stdout():
    import sys
    got, before = [], sys.stdout
    with bridge.r_output(got.append, "bar"):
        print("a", end="\r")
    assert got == ["a", "\r"] and sys.stdout is before
    with pytest.raises(ValueError, match="progress mode"):
        bridge.RStream(print, "loud")


# ------------------------------------------------------------------------------- training verbs
@pytest.fixture(scope="module")
def learn():
    from fastai_hf import (AutoConfig, BCEWithLogitsLossFlat, ColReader, DataBlock, HF_BaseModelCallback,
                           HF_BaseModelWrapper, HF_TextBlock, Learner, MultiCategoryBlock, RandomSplitter,
                           accuracy_multi, get_hf_objects, hf_splitter, load_goemotions, partial)
    from fastai_hf.testing import tiny_bert
    df = load_goemotions("ekman", n_rows=48)
    labels = [c for c in df.columns if c not in ("text", "labels")]
    path = tiny_bert()
    config = AutoConfig.from_pretrained(path)
    config.num_labels = len(labels)
    arch, _, tok, model = get_hf_objects(path, config=config)
    dblock = DataBlock(blocks=[HF_TextBlock(hf_arch=arch, hf_tokenizer=tok),
                               MultiCategoryBlock(encoded=True, vocab=labels)],
                       get_x=ColReader("text"), get_y=ColReader(labels), splitter=RandomSplitter(seed=1))
    dls = dblock.dataloaders(df, bs=8)
    return Learner(dls, HF_BaseModelWrapper(model), loss_func=BCEWithLogitsLossFlat(),
                   metrics=partial(accuracy_multi, thresh=0.2), cbs=HF_BaseModelCallback(), splitter=hf_splitter)


def table_of(t):
    "What the R results helper does, in Python: the column format back to a dict of lists."
    return {n: c["values"] for n, c in zip(t["names"], t["columns"])}


def test_fit_records_history_across_fits(learn):
    lines = []
    bridge.fit(learn, "fit_one_cycle", write=lines.append, mode="table", n_epoch=1, lr_max=1e-3)
    bridge.fit(learn, "fit", write=lines.append, mode="table", n_epoch=1, lr=[1e-4] * 4)
    h = table_of(bridge.history(learn))
    assert h["epoch"] == [1, 2]
    assert set(h) == {"epoch", "train_loss", "valid_loss", "accuracy_multi", "time"}
    assert all(t >= 0 for t in h["time"])
    text = "".join(lines)
    assert "train_loss" in text and "\r" not in text
    # validate and get_preds run epoch events, but add no history rows
    v = bridge.validate(learn)
    assert list(v) == ["valid_loss", "accuracy_multi"]
    bridge.get_preds(learn)
    assert table_of(bridge.history(learn))["epoch"] == [1, 2]


def test_lr_find_returns_curve_and_suggestions_and_leaves_no_files(learn, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    learn.path = tmp_path
    res = bridge.lr_find(learn, num_it=20, suggest_funcs=["valley", "minimum"])
    assert len(res["lr"]) == len(res["loss"]) > 0
    assert set(res["suggestions"]) == {"valley", "minimum"}
    assert not (tmp_path / "models").exists()
    assert table_of(bridge.history(learn))["epoch"] == [1, 2]  # lr_find is no training epoch
    with pytest.raises(ValueError, match="unknown suggestion"):
        bridge.lr_find(learn, num_it=5, suggest_funcs=["best"])


def test_predict_and_tables(learn):
    assert len(bridge.losses(learn)["loss"]) > 0  # the last fit's (summary below runs a batch and resets them)
    res = bridge.predict(learn, ["I am so happy", "this is awful"], thresh=0.0)
    assert res["multilabel"] and len(res["labels"]) == 7
    t = table_of(res["frame"])
    assert list(t)[:7] == res["labels"] and t["predicted"][0] == res["labels"]  # thresh 0: every label
    one = bridge.predict(learn, "just one")
    assert one["frame"]["nrow"] == 1
    p = bridge.get_preds(learn, texts=["a text", "another"], with_decoded=True)
    assert p["preds"]["shape"] == [2, 7] and "targs" not in p
    assert bridge.show_batch(learn.dls, max_n=2)["names"][0] == "text"
    assert "predicted" in bridge.show_results(learn, max_n=2)["names"]
    assert "Total params" in bridge.summary(learn)
