"""`HF_load_dataset`: Hugging Face `datasets.load_dataset`, returning pandas DataFrames."""
__all__ = ["HF_load_dataset"]

_DELIMITED = {"tsv": "\t"}


def HF_load_dataset(path, name=None, split=None, data_files=None, **kwargs):
    """Load a dataset as pandas: one DataFrame for one split, else a dict `{split: DataFrame}`.

    `path` is a hub dataset name (online) or a builder for local files: "csv", "tsv", "json",
    "parquet", "text" with `data_files`. `split` takes slices such as "train[:1%]" or "train[:500]".
    Other keyword arguments go to `datasets.load_dataset` (e.g. `delimiter=`, `column_names=`).
    """
    import datasets as hf_datasets  # imported when used: ~1 s
    if isinstance(data_files, str): data_files = [data_files]
    if path in _DELIMITED:
        kwargs.setdefault("delimiter", _DELIMITED[path])
        path = "csv"
    try:
        ds = hf_datasets.load_dataset(path, name, split=split, data_files=data_files, **kwargs)
    except FileNotFoundError as e:
        raise ValueError(f"could not find the data for '{path}' (data_files={data_files}): {e}. Check the file "
                         "paths, or the dataset name if you are online") from e
    if isinstance(ds, hf_datasets.DatasetDict): return {k: v.to_pandas() for k, v in ds.items()}
    return ds.to_pandas()
