"""The only place values change shape between R and Python.

Debian's reticulate 1.28 converts neither NumPy 2 arrays nor pandas 3 DataFrames, and its own
`r_to_py` turns NA strings into "NA" and NA logicals into True. So tables cross the boundary here,
once each way, in a column format both sides build explicitly (R's side: `R/bridge.R`):

    {"names": [...], "nrow": n, "columns": [{"kind": k, "values": [...], "na": [0-based rows], "levels": [...]}]}

with kind one of "integer", "double", "logical", "character", "factor", "datetime", "list". Missing
values travel as positions (`na`) beside placeholder values, because a Python list holding None
becomes an R list rather than a vector. `to_r` applies the same idea to any result: DataFrames
become such tables, arrays and tensors `{"r_type": "array", "shape", "values"}`, dicts and lists
stay dicts and lists, other objects (a Learner, a tokenizer) pass as they are. `from_r` turns the
tables inside any argument back into DataFrames.
"""
import math
import os

import numpy as np
import pandas as pd
import torch
from fastcore.foundation import L

__all__ = ["frame_from_r", "frame_to_r", "to_r", "from_r"]

_INT32 = 2 ** 31 - 1


def _as_list(values):
    "reticulate passes a length-1 R vector as a scalar: make it a list again."
    if values is None: return []
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _column_from_r(col, nrow):
    kind, values, na = col["kind"], _as_list(col.get("values")), _as_list(col.get("na"))
    if len(values) != nrow:
        raise ValueError(f"a {kind} column has {len(values)} values for {nrow} rows")
    if kind == "integer":
        if not na: return pd.Series(values, dtype="int64")
        s = pd.Series(values, dtype="float64")  # pandas' classic missing integer: float with NaN
        s.iloc[na] = np.nan
        return s
    if kind == "double":  # R's NA and NaN both arrive as nan; `na` marks them too
        s = pd.Series(values, dtype="float64")
        if na: s.iloc[na] = np.nan
        return s
    if kind == "logical":
        if not na: return pd.Series(values, dtype="bool")
        s = pd.Series(values, dtype="object")
        s.iloc[na] = None
        return s
    if kind in ("character", "factor"):  # factors cross as their labels
        s = pd.Series(values, dtype="object")
        if na: s.iloc[na] = None
        return s
    if kind == "datetime":  # seconds since the epoch, UTC (R's POSIXct; Dates arrive converted)
        s = pd.to_datetime(pd.Series(values, dtype="float64"), unit="s", utc=True)
        if na: s.iloc[na] = pd.NaT
        return s
    if kind == "list":  # an R list column; a length-1 element arrives as a scalar
        return pd.Series([_as_list(v) for v in values], dtype="object")
    raise ValueError(f"unknown column kind '{kind}'")


def frame_from_r(table):
    "A pandas DataFrame from the column format above (what R's `to_pandas()` sends)."
    names, nrow = _as_list(table["names"]), int(table["nrow"])
    columns = _as_list(table["columns"]) if names else []
    data = {name: _column_from_r(col, nrow) for name, col in zip(names, columns)}
    return pd.DataFrame(data, index=pd.RangeIndex(nrow), columns=names)


# ---------------------------------------------------------------------------------------------------
# Tables and results: Python -> R
# ---------------------------------------------------------------------------------------------------
def _scalar(v):
    "A numpy / torch scalar as a plain Python value."
    if isinstance(v, (np.generic,)): return v.item()
    if torch.is_tensor(v) and v.ndim == 0: return v.item()
    return v


def _missing(v):
    if v is None or v is pd.NA or v is pd.NaT: return True
    return isinstance(v, float) and math.isnan(v)


def _column_to_r(s):
    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":  # plain NumPy columns, the common case: vectorised
        arr = s.to_numpy()
        if dtype.kind == "f":
            mask = np.isnan(arr)
            return {"kind": "double", "values": (np.where(mask, 0.0, arr) if mask.any() else arr).tolist(),
                    "na": np.flatnonzero(mask).tolist()}
        if dtype.kind == "b": return {"kind": "logical", "values": arr.tolist(), "na": []}
        # R integers are 32-bit: wider values go as doubles rather than wrap around.
        small = arr.size == 0 or (int(arr.min()) >= -_INT32 and int(arr.max()) <= _INT32)
        return {"kind": "integer" if small else "double", "values": (arr if small else arr.astype(float)).tolist(),
                "na": []}
    if isinstance(dtype, pd.CategoricalDtype):
        na = np.flatnonzero(s.isna().to_numpy()).tolist()
        levels = [str(c) for c in dtype.categories]
        return {"kind": "factor", "values": [("" if i < 0 else levels[i]) for i in s.cat.codes.tolist()],
                "na": na, "levels": levels}
    if pd.api.types.is_bool_dtype(dtype):
        mask = s.isna().to_numpy()
        return {"kind": "logical", "values": [bool(v) if not m else False for v, m in zip(s.tolist(), mask)],
                "na": np.flatnonzero(mask).tolist()}
    if pd.api.types.is_integer_dtype(dtype):  # nullable Int64 and friends
        mask = s.isna().to_numpy()
        vals = [0 if m else int(v) for v, m in zip(s.tolist(), mask)]
        kind = "integer" if all(-_INT32 <= v <= _INT32 for v in vals) else "double"
        return {"kind": kind, "values": vals if kind == "integer" else [float(v) for v in vals],
                "na": np.flatnonzero(mask).tolist()}
    if pd.api.types.is_float_dtype(dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        mask = np.isnan(arr)
        return {"kind": "double", "values": np.where(mask, 0.0, arr).tolist(), "na": np.flatnonzero(mask).tolist()}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        mask = s.isna().to_numpy()
        secs = [0.0 if m else v.timestamp() for v, m in zip(s.tolist(), mask)]
        return {"kind": "datetime", "values": secs, "na": np.flatnonzero(mask).tolist()}
    # object / string columns: strings, lists (e.g. predicted label sets) or mixed values
    vals = [_scalar(v) for v in s.tolist()]
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in vals):
        return {"kind": "list", "values": [to_r(v) for v in vals], "na": []}
    na = [i for i, v in enumerate(vals) if _missing(v)]
    if all(isinstance(v, bool) for i, v in enumerate(vals) if i not in set(na)) and len(na) < len(vals):
        return {"kind": "logical", "values": [bool(v) if not _missing(v) else False for v in vals], "na": na}
    return {"kind": "character", "values": ["" if _missing(v) else str(v) for v in vals], "na": na}


def frame_to_r(df):
    "A DataFrame in the column format above (what R's results helper turns into a data.frame)."
    if isinstance(df, pd.Series): df = df.to_frame()
    names = [str(c) for c in df.columns]
    return {"r_type": "frame", "names": names, "nrow": int(len(df)),
            "columns": [_column_to_r(df.iloc[:, j]) for j in range(df.shape[1])]}


def _array_to_r(a, dtype=None):
    a = np.asarray(a)
    if a.dtype == bool: kind = "logical"
    elif np.issubdtype(a.dtype, np.integer) and (a.size == 0 or np.abs(a).max() <= _INT32): kind = "integer"
    elif np.issubdtype(a.dtype, np.number): kind = "double"
    else: kind = "character"
    flat = a.reshape(-1).astype(float if kind == "double" else a.dtype).tolist()
    if kind == "character": flat = [str(v) for v in flat]
    return {"r_type": "array", "kind": kind, "shape": list(a.shape), "values": flat,
            "class": dtype or type(a).__name__}


def to_r(obj):
    """Any result as values R converts itself (str, numbers, bools, lists, dicts), with DataFrames as
    tables and arrays / tensors as `{"r_type": "array", ...}`; other objects are returned as they are."""
    if isinstance(obj, (pd.DataFrame, pd.Series)): return frame_to_r(obj)
    if torch.is_tensor(obj):
        t = obj.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16): t = t.float()
        return _array_to_r(t.numpy(), type(obj).__name__)
    if isinstance(obj, np.ndarray): return _array_to_r(obj)
    if isinstance(obj, np.generic): return obj.item()
    if isinstance(obj, dict): return {str(k): to_r(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, L)): return [to_r(v) for v in obj]
    if isinstance(obj, os.PathLike): return os.fspath(obj)
    return obj


def _is_r_table(x):
    return isinstance(x, dict) and x.get("r_type", "frame") == "frame" and {"names", "nrow", "columns"} <= set(x)


def from_r(obj):
    "An argument from R with its tables (the column format above) as DataFrames, inside lists and dicts too."
    if _is_r_table(obj): return frame_from_r(obj)
    if isinstance(obj, dict): return {k: from_r(v) for k, v in obj.items()}
    if isinstance(obj, list): return [from_r(v) for v in obj]
    if isinstance(obj, tuple): return tuple(from_r(v) for v in obj)
    return obj
