"""GoEmotions (Demszky et al., 2020) as DataFrames: the data of the examples, tests and benchmarks.

The shipped files are tab-separated with no header: text, comma-separated label ids, comment id.
"""
from pathlib import Path

import os

import numpy as np
import pandas as pd

__all__ = ["load_goemotions", "goemotions_path"]


def goemotions_path(taxonomy="original"):
    """Folder of the local GoEmotions copy: `$GOEMOTIONS_DIR/<taxonomy>` if set, else the project's
    `../shared/data/goemotions/<taxonomy>` (beside the source tree of an editable install, or found
    from the working directory upwards) (taxonomy: "original", 28 labels, or "ekman", 7)."""
    if os.environ.get("GOEMOTIONS_DIR"): return Path(os.environ["GOEMOTIONS_DIR"]) / taxonomy
    beside_source = Path(__file__).resolve().parents[3] / "shared" / "data" / "goemotions"
    candidates = [beside_source] + [d / "shared" / "data" / "goemotions" for d in (Path.cwd(), *Path.cwd().parents)]
    return next((c for c in candidates if c.is_dir()), beside_source) / taxonomy


def load_goemotions(folder, split="train", n_rows=None, single_label=False):
    """One split of a GoEmotions folder (`original/` with 28 labels, or `ekman/` with 7; or just the
    name "original"/"ekman" for the project's copy, see `goemotions_path`) as a
    DataFrame: `text`, `labels` (names joined by ";"), then one 0/1 column per label.

    `n_rows` keeps the first rows; `single_label=True` keeps rows with exactly one label and adds a
    `label` column, the multi-class form of the data.
    """
    folder = Path(folder) if os.sep in str(folder) or Path(folder).exists() else goemotions_path(folder)
    if not (folder / "labels.txt").exists():
        raise ValueError(f"'{folder}' is not a GoEmotions folder (no labels.txt); pass e.g. shared/data/goemotions/original "
                         "or set GOEMOTIONS_DIR to the folder that holds original/ and ekman/")
    names = (folder / "labels.txt").read_text().split()
    raw = pd.read_csv(folder / f"{split}.tsv", sep="\t", header=None, quoting=3, names=["text", "ids", "comment_id"],
                      dtype={"text": str, "ids": str, "comment_id": str}, keep_default_na=False)
    ids = raw["ids"].str.split(",").map(lambda xs: [int(x) for x in xs])
    if single_label:
        keep = ids.map(len) == 1
        raw, ids = raw[keep].reset_index(drop=True), ids[keep].reset_index(drop=True)
    if n_rows is not None: raw, ids = raw.iloc[:n_rows], ids.iloc[:n_rows]
    onehot = np.zeros((len(raw), len(names)), dtype=np.int64)
    for row, label_ids in enumerate(ids): onehot[row, label_ids] = 1
    df = pd.DataFrame({"text": raw["text"].to_numpy(), "labels": ids.map(lambda xs: ";".join(names[i] for i in xs)).to_numpy()})
    if single_label: df["label"] = df["labels"]
    return pd.concat([df, pd.DataFrame(onehot, columns=names)], axis=1)
