"""fastai_hf.r.convert: tables and results between R and Python, both ways (the column format)."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from fastai_hf.r.convert import frame_from_r, frame_to_r, from_r, to_r
from helpers import r_col, r_table


# ------------------------------------------------------------------------------------- R -> pandas
@pytest.fixture
def r_frame():
    "A table as R sends it: every column kind, with NAs."
    return {"names": ["i", "i_na", "d", "b", "b_na", "s", "f", "t", "l"], "nrow": 3, "columns": [
        r_col("integer", [1, 2, 3]),
        r_col("integer", [1, 0, 3], na=[1]),
        r_col("double", [0.5, float("nan"), 2.0]),
        r_col("logical", [True, False, True]),
        r_col("logical", [True, False, False], na=[2]),
        r_col("character", ["a", "", "c"], na=[1]),
        r_col("factor", ["u", "v", "u"], levels=["u", "v"]),
        r_col("datetime", [0.0, 86400.0, 0.0], na=[2]),
        r_col("list", [["x", "y"], "z", []]),
    ]}


def test_frame_from_r_keeps_the_column_names_and_order(r_frame):
    df = frame_from_r(r_frame)
    assert list(df.columns) == r_frame["names"] and len(df) == 3
    assert isinstance(df.index, pd.RangeIndex) and df.index[0] == 0


def test_frame_from_r_integers(r_frame):
    df = frame_from_r(r_frame)
    assert df["i"].dtype == np.int64 and df["i"].tolist() == [1, 2, 3]
    assert df["i_na"].dtype == np.float64 and math.isnan(df["i_na"][1])  # pandas' classic missing integer


def test_frame_from_r_doubles_and_logicals(r_frame):
    df = frame_from_r(r_frame)
    assert math.isnan(df["d"][1])
    assert df["b"].dtype == bool
    assert df["b_na"].tolist() == [True, False, None]


def test_frame_from_r_strings_factors_dates_and_lists(r_frame):
    df = frame_from_r(r_frame)
    assert df["s"].tolist() == ["a", None, "c"]
    assert df["f"].tolist() == ["u", "v", "u"]  # factors cross as their labels
    assert str(df["t"][1].date()) == "1970-01-02" and pd.isna(df["t"][2])
    assert df["l"].tolist() == [["x", "y"], ["z"], []]


def test_frame_from_r_scalars_from_length_one_vectors():
    "reticulate sends a length-1 R vector as a scalar; a one-row table must still work."
    df = frame_from_r({"names": "text", "nrow": 1, "columns": [r_col("character", "hello")]})
    assert df.shape == (1, 1) and df["text"][0] == "hello"


def test_frame_from_r_rejects_ragged_columns():
    with pytest.raises(ValueError, match="2 values for 3 rows"):
        frame_from_r({"names": ["a"], "nrow": 3, "columns": [r_col("integer", [1, 2])]})


def test_frame_from_r_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="unknown column kind 'complex'"):
        frame_from_r({"names": ["a"], "nrow": 1, "columns": [r_col("complex", [1])]})


def test_from_r_converts_tables_inside_arguments(r_frame):
    out = from_r([r_frame, {"data": r_frame, "n": 3}, ("x", r_frame), "text"])
    assert isinstance(out[0], pd.DataFrame) and isinstance(out[1]["data"], pd.DataFrame)
    assert out[1]["n"] == 3 and isinstance(out[2], tuple) and isinstance(out[2][1], pd.DataFrame)
    assert out[3] == "text"


def test_from_r_leaves_other_dicts_alone():
    d = {"names": ["a"], "levels": 2}  # no table: lacks nrow and columns
    assert from_r(d) == d
    arr = {"r_type": "array", "names": [], "nrow": 0, "columns": []}  # tables only
    assert from_r(arr) == arr


# ------------------------------------------------------------------------------------- pandas -> R
@pytest.fixture
def frame():
    return pd.DataFrame({
        "i": np.array([1, 2, 3], dtype=np.int64),
        "big": np.array([1, 2 ** 40, 3], dtype=np.int64),
        "d": [0.1, np.nan, 0.3],
        "b": [True, False, True],
        "s": ["a", None, "c"],
        "c": pd.Categorical(["x", None, "y"], categories=["y", "x"]),
        "l": [["a"], [], ["b", "c"]],
        "ni": pd.array([1, None, 3], dtype="Int64"),
        "bo": pd.array([True, None, False], dtype="boolean"),
        "t": pd.to_datetime([0, None, 86400], unit="s", utc=True),
    })


def test_frame_to_r_column_kinds(frame):
    out = frame_to_r(frame)
    assert out["r_type"] == "frame" and out["nrow"] == 3 and out["names"] == list(frame.columns)
    kinds = {n: c["kind"] for n, c in zip(out["names"], out["columns"])}
    assert kinds == {"i": "integer", "big": "double", "d": "double", "b": "logical", "s": "character",
                     "c": "factor", "l": "list", "ni": "integer", "bo": "logical", "t": "datetime"}


def test_frame_to_r_missing_values_travel_as_positions(frame):
    cols = dict(zip(*[frame_to_r(frame)[k] for k in ("names", "columns")]))
    assert all(cols[n]["na"] == [1] for n in ("d", "s", "c", "ni", "bo", "t"))
    assert cols["i"]["na"] == [] and cols["l"]["na"] == []


def test_frame_to_r_values(frame):
    t = r_table(frame_to_r(frame))
    assert t["big"][1] == float(2 ** 40)  # wider than R's 32-bit integers: a double, not wrapped
    assert t["c"].tolist() == ["x", None, "y"] and frame_to_r(frame)["columns"][5]["levels"] == ["y", "x"]
    assert t["l"].tolist() == [["a"], [], ["b", "c"]]
    assert t["t"][2] == 86400.0  # seconds since the epoch


def test_frame_to_r_and_back(frame):
    "What R would send back from the table it received is the same data."
    out = frame_to_r(frame)
    back = frame_from_r({"names": out["names"], "nrow": 3, "columns": out["columns"]})
    assert back["i"].tolist() == [1, 2, 3] and math.isnan(back["d"][1]) and back["s"][1] is None
    assert back["b"].tolist() == [True, False, True] and back["c"].tolist() == ["x", None, "y"]
    assert back["l"].tolist() == frame["l"].tolist()
    assert back["t"][0] == frame["t"][0] and pd.isna(back["t"][1])


def test_frame_to_r_of_a_series_and_of_object_columns():
    assert frame_to_r(pd.Series([1.5, 2.5], name="x"))["names"] == ["x"]
    mixed = frame_to_r(pd.DataFrame({"flag": pd.Series([True, None, False], dtype=object),
                                     "n": pd.Series([np.int64(1), 2.5], dtype=object).reindex(range(3))}))
    flag, n = mixed["columns"]
    assert flag["kind"] == "logical" and flag["na"] == [1]
    assert n["kind"] == "character" and n["na"] == [2]


def test_to_r_arrays_and_tensors():
    t = to_r(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert t["r_type"] == "array" and t["kind"] == "double" and t["shape"] == [2, 2]
    assert t["values"] == [1.0, 2.0, 3.0, 4.0]  # row-major: R fills the matrix by row
    assert to_r(torch.tensor([True, False]))["kind"] == "logical"
    assert to_r(np.array([1, 2], dtype=np.int32))["kind"] == "integer"
    assert to_r(torch.tensor([1.0], dtype=torch.bfloat16))["values"] == [1.0]


def test_to_r_scalars_containers_and_paths():
    out = to_r({"n": np.int64(3), "x": (1, "a"), 2: "two", "p": Path("/tmp/x"), "df": pd.DataFrame({"a": [1]})})
    assert out["n"] == 3 and type(out["n"]) is int
    assert out["x"] == [1, "a"] and out["2"] == "two" and out["p"] == "/tmp/x"
    assert out["df"]["r_type"] == "frame"


def test_to_r_passes_other_objects_as_they_are():
    obj = object()
    assert to_r(obj) is obj and to_r(None) is None and to_r("text") == "text"
