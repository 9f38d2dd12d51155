"""The project's local NER and QA data as DataFrames: CoNLL-2003 (English NER) and a SQuAD v1.1 sample.

Each folder has a README (source, conversion, license). A folder is found as `$CONLL2003_DIR` /
`$SQUAD_DIR` if set, else beside `$GOEMOTIONS_DIR` (its sibling), else the project's
`../shared/data/<name>` beside the source tree or above the working directory.
"""
import os
from pathlib import Path

import pandas as pd

from .checks import as_int, show

__all__ = ["shared_data_path", "load_conll2003", "conll2003_labels", "load_squad"]

_ENV = {"conll2003": "CONLL2003_DIR", "squad": "SQUAD_DIR"}


def shared_data_path(name):
    "The folder of the local data set `name` ('conll2003' or 'squad'), see the module doc."
    env = _ENV.get(name)
    if env and os.environ.get(env): return Path(os.environ[env])
    candidates = []
    if os.environ.get("GOEMOTIONS_DIR"): candidates.append(Path(os.environ["GOEMOTIONS_DIR"]).parent / name)
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data" / name)
    candidates += [d / "shared" / "data" / name for d in (Path.cwd(), *Path.cwd().parents)]
    found = next((c for c in candidates if c.is_dir()), None)
    if found is None:
        raise ValueError(f"the local {name} data was not found (looked in {', '.join(str(c) for c in candidates[:2])}, ...); "
                         f"set {env or 'the folder'} to the folder that holds it")
    return found


def _split(split, allowed):
    if split not in allowed: raise ValueError(f"split must be one of {show(list(allowed))}, not {show(split)}")
    return split


def _head(df, n_rows):
    return df if n_rows is None else df.head(as_int("n_rows", n_rows, 1)).reset_index(drop=True)


def conll2003_labels():
    "The 9 CoNLL-2003 tags in their usual order (the Hugging Face `ner_tags` ids): O, B-PER, I-PER, ..."
    return (shared_data_path("conll2003") / "labels.txt").read_text().split()


def load_conll2003(split="train", n_rows=None):
    """One split of CoNLL-2003 ('train' 14,041 sentences, 'valid' 3,250, 'test' 3,453) as a DataFrame
    with list columns `tokens` (words) and `tags` (BIO tags); `n_rows` keeps the first sentences."""
    path = shared_data_path("conll2003") / f"{_split(split, ('train', 'valid', 'test'))}.jsonl"
    return _head(pd.read_json(path, lines=True, dtype=False), n_rows)


def load_squad(split="train", n_rows=None):
    """One split of the local SQuAD v1.1 sample ('train' 7,000 questions, 'valid' 1,000, 'test' 1,000, split
    by article) as a DataFrame: `id`, `title`, `context`, `question`, `answer_text`, `answer_start` (the
    answer's 0-based character offset in `context`); `n_rows` keeps the first rows."""
    path = shared_data_path("squad") / f"{_split(split, ('train', 'valid', 'test'))}.csv"
    return _head(pd.read_csv(path, keep_default_na=False, dtype={"answer_start": "int64"}), n_rows)
