"""`HF_load_dataset`: Hugging Face `datasets.load_dataset`, returning pandas DataFrames.

Local files are read by a format builder ("csv", "tsv", "json", "parquet", "text", ...) with
`data_files`; any other name is a dataset on the Hugging Face Hub. A file format that `datasets`
does not read (e.g. "xlsx") is refused with the list of formats it reads, instead of being looked
up on the Hub; missing data files are named.
"""
import errno
import os
from pathlib import Path

from .checks import advice, show


def _hf_datasets():
    "Hugging Face `datasets`, imported on first use (~1 s; `import fastai_hf` does not pay it)."
    import datasets
    return datasets

__all__ = ["HF_load_dataset", "FORMATS"]

# The builders for local files, and aliases for them: name -> (builder, default keyword arguments).
FORMATS = {"csv": ("csv", {}), "tsv": ("csv", {"delimiter": "\t"}), "json": ("json", {}), "jsonl": ("json", {}),
           "ndjson": ("json", {}), "parquet": ("parquet", {}), "text": ("text", {}), "txt": ("text", {}),
           "arrow": ("arrow", {})}

# File formats people pass that `datasets` does not read, with how to read them instead.
_OTHER_FORMATS = {
    "xlsx": ("pd.read_excel(path)", "readxl::read_excel(path)"),
    "xls": ("pd.read_excel(path)", "readxl::read_excel(path)"),
    "ods": ("pd.read_excel(path, engine='odf')", "readODS::read_ods(path)"),
    "feather": ("pd.read_feather(path)", "arrow::read_feather(path)"),
    "rds": ("pyreadr.read_r(path)", "readRDS(path)"), "rdata": ("pyreadr.read_r(path)", "load(path)"),
    "rda": ("pyreadr.read_r(path)", "load(path)"), "sav": ("pd.read_spss(path)", "haven::read_sav(path)"),
    "dta": ("pd.read_stata(path)", "haven::read_dta(path)"), "sas7bdat": ("pd.read_sas(path)", "haven::read_sas(path)"),
    "pkl": ("pd.read_pickle(path)", "reticulate::py_load_object(path)"),
    "pickle": ("pd.read_pickle(path)", "reticulate::py_load_object(path)"),
    "html": ("pd.read_html(path)[0]", "rvest::html_table(rvest::read_html(path))[[1]]"),
}


def _formats():
    return ", ".join(show(f) for f in FORMATS)


def _unreadable(path):
    "The file format named by `path` (a format name or a local file's extension) when datasets cannot read it."
    p = str(path)
    if "/" in p or "\\" in p:
        if not Path(p).expanduser().is_file(): return None
    ext = p.lower().rsplit(".", 1)[-1] if "." in p else p.lower()
    if ext in FORMATS or f".{ext}" in _hf_datasets().packaged_modules._EXTENSION_TO_MODULE: return None
    if ext in _OTHER_FORMATS: return ext
    if "." in p and Path(p).expanduser().is_file(): return ext  # a local file of a format datasets does not know
    return None


def _check_files(data_files):
    "Every local data file exists (globs and URLs are left to datasets)."
    files = data_files.values() if isinstance(data_files, dict) else [data_files]
    for group in files:
        for f in ([group] if isinstance(group, (str, os.PathLike)) else group or []):
            f = os.fspath(f)
            if "://" in f or any(c in f for c in "*?["): continue
            if not Path(f).expanduser().exists():
                raise FileNotFoundError(errno.ENOENT, f"could not find the data: file {show(f)} does not exist "
                                                      f"(working directory: {show(os.getcwd())}); check the path", f)


def HF_load_dataset(path, name=None, split=None, data_files=None, **kwargs):
    """Load a dataset as pandas: one DataFrame for one split, else a dict `{split: DataFrame}`.

    `path` is a format for local files with `data_files`: "csv", "tsv", "json" (also "jsonl"),
    "parquet", "text" (also "txt"), "arrow"; or a hub dataset name (online). `split` takes slices such
    as "train[:1%]" or "train[:500]". Other keyword arguments go to `datasets.load_dataset` (e.g.
    `delimiter=`, `column_names=`).
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"path must be a file format such as 'csv' or a dataset name, not {show(path)}")
    path = os.fspath(path)
    if isinstance(data_files, (str, os.PathLike)): data_files = [os.fspath(data_files)]
    other = _unreadable(path)
    if other is not None:
        how = _OTHER_FORMATS.get(other)
        read = f" Read the file yourself, e.g. {advice(*how)}, and pass the data frame on" if how else ""
        raise ValueError(f"HF_load_dataset does not read {show(other)} files; it reads the formats {_formats()} "
                         f"(with data_files=), or a dataset from the Hugging Face Hub by name.{read}")
    if path.lower() in FORMATS:
        path, defaults = FORMATS[path.lower()]
        kwargs = {**defaults, **kwargs}
        if data_files is None:
            raise ValueError(f"HF_load_dataset({show(path)}) reads local files: give them with data_files=, e.g. "
                             + advice("data_files='train.csv'", 'data_files = "train.csv"'))
        _check_files(data_files)
    hf_datasets = _hf_datasets()
    try:
        ds = hf_datasets.load_dataset(path, name, split=split, data_files=data_files, **kwargs)
    except FileNotFoundError as e:
        raise FileNotFoundError(errno.ENOENT, f"could not find the data for {show(path)} (data_files="
                                              f"{show(data_files)}): {e}. For local files pass one of the formats "
                                              f"{_formats()} and data_files=; a dataset name needs the Hugging Face "
                                              "Hub (online)") from e
    except ConnectionError as e:
        raise ConnectionError(f"could not reach the Hugging Face Hub for the dataset {show(path)} ({e}). Without "
                              f"network, read local files with one of the formats {_formats()} and data_files=") from e
    if isinstance(ds, hf_datasets.DatasetDict): return {k: v.to_pandas() for k, v in ds.items()}
    return ds.to_pandas()
