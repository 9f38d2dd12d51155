"""The project's local generation data as DataFrames: DialogSum (summarization) and Multi30k (English to
German translation), found the way `goemotions_path` finds GoEmotions (an environment variable, else
`../shared/data/<name>` beside the source tree or above the working directory). See each folder's README.
"""
import os
from pathlib import Path

import pandas as pd

from .checks import as_int, show

__all__ = ["shared_data_path", "dialogsum_path", "multi30k_path", "load_dialogsum", "load_multi30k"]

_SPLITS = ("train", "valid", "test")


def shared_data_path(name, env=None):
    """Folder `name` of the project's shared data: `$<env>` if set, else `../shared/data/<name>` beside the
    source tree (editable install) or in the working directory or one above it."""
    if env and os.environ.get(env): return Path(os.environ[env])
    beside_source = Path(__file__).resolve().parents[3] / "shared" / "data" / name
    candidates = [beside_source] + [d / "shared" / "data" / name for d in (Path.cwd(), *Path.cwd().parents)]
    return next((c for c in candidates if c.is_dir()), beside_source)


def dialogsum_path():
    "Folder of the local DialogSum sample (`$DIALOGSUM_DIR`, else `shared/data/dialogsum`)."
    return shared_data_path("dialogsum", "DIALOGSUM_DIR")


def multi30k_path():
    "Folder of the local Multi30k English-German sample (`$MULTI30K_DIR`, else `shared/data/multi30k_en_de`)."
    return shared_data_path("multi30k_en_de", "MULTI30K_DIR")


def _read(folder, split, n_rows, env):
    if split not in _SPLITS: raise ValueError(f"split must be one of {show(list(_SPLITS))}, not {show(split)}")
    path = Path(folder) / f"{split}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} does not exist; set {env} to the folder that holds train.csv, "
                                "valid.csv and test.csv")
    df = pd.read_csv(path, keep_default_na=False, dtype=str)
    return df if n_rows is None else df.iloc[:as_int("n_rows", n_rows, 1)].reset_index(drop=True)


def load_dialogsum(split="train", n_rows=None):
    """One split of DialogSum (`train` 5,000 sampled rows, `valid` 500, `test` 500): `id`, `text` (the
    dialogue, speakers `#Person1#`, ...; turns separated by newlines), `summary`, `topic` (test also
    `summary2`, `summary3`). `n_rows` keeps the first rows. Non-commercial licence (CC BY-NC-SA 4.0)."""
    return _read(dialogsum_path(), split, n_rows, "DIALOGSUM_DIR")


def load_multi30k(split="train", n_rows=None):
    """One split of Multi30k English-German (`train` 10,000 sampled pairs, `valid` 1,014, `test` 1,000):
    `id`, `source` (English), `target` (German). `n_rows` keeps the first rows. Non-commercial research use."""
    return _read(multi30k_path(), split, n_rows, "MULTI30K_DIR")
