import numpy as np
import pandas as pd
import pytest
import torch
from fastai_hf import (ColReader, DataBlock, HF_BeforeBatchTransform, HF_load_dataset, HF_TextBlock,
                       MultiCategoryBlock, RandomSplitter, TransformBlock, load_goemotions)
from helpers import EKMAN, hf_objects
from transformers import AutoTokenizer


@pytest.fixture
def multi_dls(tiny_path, ekman_df):
    hf_arch, _, tok, _ = hf_objects(tiny_path, len(EKMAN))
    dblock = DataBlock(blocks=[HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=tok), MultiCategoryBlock(encoded=True, vocab=EKMAN)],
                       get_x=ColReader("text"), get_y=ColReader(EKMAN), splitter=RandomSplitter(seed=1))
    return dblock.dataloaders(ekman_df, bs=8)


def test_items_stay_raw_strings(multi_dls, ekman_df):
    text, y = multi_dls.train_ds[0]
    assert isinstance(text, str) and text in set(ekman_df["text"])
    assert y.shape == (len(EKMAN),)


def test_batches_are_padded_to_their_longest_text(multi_dls):
    tok = multi_dls.train.hf_before_batch.hf_tokenizer
    for xb, yb in list(multi_dls.train)[:4]:
        ids, mask = xb["input_ids"], xb["attention_mask"]
        assert ids.shape == mask.shape and yb.shape == (len(ids), len(EKMAN))
        assert mask.sum(1).max() == ids.shape[1]  # no column is padding for every row
        assert (ids[mask == 0] == tok.pad_token_id).all()


def test_tokenizes_each_text_once(tiny_path, ekman_df):
    "Each text is tokenized once per epoch: per batch, or per pool of batches when training."
    hf_arch, _, tok, _ = hf_objects(tiny_path, len(EKMAN))
    calls = []

    class Counting(HF_BeforeBatchTransform):
        def tokenize(self, texts):
            texts = list(texts)
            calls.append(len(texts))
            return super().tokenize(texts)

        def encode(self, texts):
            texts = list(texts)
            calls.append(len(texts))
            return super().encode(texts)

    block = HF_TextBlock(before_batch_tfm=Counting(hf_arch, tok))
    dls = DataBlock(blocks=[block, MultiCategoryBlock(encoded=True, vocab=EKMAN)], get_x=ColReader("text"),
                    get_y=ColReader(EKMAN), splitter=RandomSplitter(seed=0)).dataloaders(ekman_df, bs=8, pool_batches=4)
    # building the loaders only runs fastai's one-item type-inference pass, not the data set
    assert sum(calls) <= 2
    for dl in (dls.train, dls.valid):
        calls.clear()
        n = sum(1 for _ in dl)
        assert sum(calls) == len(dl.dataset) - (len(dl.dataset) % 8 if dl.drop_last else 0)
        assert len(calls) == (-(-n // 4) if dl is dls.train else n)  # training: one call per pool of 4 batches


@pytest.fixture
def tok(tiny_path):
    "The tiny model's tokenizer (MiniLM's vocabulary)."
    return AutoTokenizer.from_pretrained(tiny_path)


def _indexed_dls(tok, df, pool_batches, bs=16, drop_last=True):
    "Loaders whose target is the row number, so a batch tells which rows it holds."
    df = df.assign(row=np.arange(len(df)))
    dblock = DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), TransformBlock()], get_x=ColReader("text"),
                       get_y=ColReader("row"), splitter=RandomSplitter(0.1, seed=0))
    return dblock.dataloaders(df, bs=bs, pool_batches=pool_batches, drop_last=drop_last)


@pytest.mark.parametrize("drop_last", [True, False])
def test_pooled_training_batches(tok, drop_last):
    "Every training row once per epoch; each batch is exactly what per-batch tokenization gives."
    df = load_goemotions("original", split="train", n_rows=403)
    dls = _indexed_dls(tok, df, pool_batches=8, drop_last=drop_last)
    dl, tfm = dls.train, dls.train.hf_before_batch
    seen = []
    for xb, yb in dl:
        rows = yb.tolist()
        seen += rows
        ref = tfm.encodes([(df.text.iloc[r], r) for r in rows])  # tokenizing this batch by itself
        for k, v in xb.items():
            assert torch.equal(v, torch.stack([s[0][k] for s in ref])), k
    n = len(dl.dataset)
    assert len(seen) == len(set(seen)) == (n - n % 16 if drop_last else n)
    assert set(seen) <= set(dl.dataset.items["row"])  # training rows only
    assert len(list(dl)) == len(dl)


def test_pool_batches_is_a_whole_number(tok):
    df = load_goemotions("original", split="train", n_rows=64)
    assert _indexed_dls(tok, df, pool_batches=4.0).train.pool_batches == 4  # an R number
    with pytest.raises(ValueError, match="pool_batches must be a whole number >= 1"):
        _indexed_dls(tok, df, pool_batches=0)


def test_pooling_pads_less_than_character_sorting(tok):
    df = load_goemotions("original", split="train", n_rows=1000)

    def mean_padded_length(pool_batches):
        dl = _indexed_dls(tok, df, pool_batches).train
        return np.mean([xb["input_ids"].shape[1] for _ in range(3) for xb, _ in dl])

    assert mean_padded_length(8) < 0.9 * mean_padded_length(1)


def test_training_batches_group_similar_lengths(multi_dls):
    "Mean padding in sorted batches is well below that of batches drawn in random order."
    lengths = np.array(multi_dls.train.res)
    rng = np.random.default_rng(0)

    def padding(batches): return np.mean([lengths[b].max() - lengths[b].mean() for b in batches])

    idxs = list(multi_dls.train.get_idxs())
    bs = multi_dls.train.bs
    sorted_batches = [idxs[i:i + bs] for i in range(0, len(idxs) - bs + 1, bs)]
    perm = rng.permutation(len(lengths))
    random_batches = [perm[i:i + bs] for i in range(0, len(perm) - bs + 1, bs)]
    assert padding(sorted_batches) < 0.5 * padding(random_batches)


def test_max_length_truncates(tiny_path, ekman_df):
    hf_arch, _, tok, _ = hf_objects(tiny_path, len(EKMAN))
    dls = DataBlock(blocks=[HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=tok, max_length=12), MultiCategoryBlock(encoded=True, vocab=EKMAN)],
                    get_x=ColReader("text"), get_y=ColReader(EKMAN)).dataloaders(ekman_df, bs=8)
    assert dls.one_batch()[0]["input_ids"].shape[1] <= 12


def test_validation_runs_longest_first(multi_dls):
    res = np.array(multi_dls.valid.res)
    order = list(multi_dls.valid.get_idxs())
    assert list(res[order]) == sorted(res, reverse=True)


def test_show_batch_decodes_texts_and_labels(multi_dls, ekman_df):
    df = multi_dls.show_batch(show=False, max_n=4)
    assert list(df.columns) == ["text", "target"] and len(df) == 4
    known = {" ".join(t.lower().split()) for t in ekman_df["text"]}
    assert sum(" ".join(t.split()) in known for t in df["text"]) >= 2  # uncased tokenizer: lowercase round trip
    for labels in df["target"]: assert set(labels.split(";")) <= set(EKMAN)


def test_show_batch_prints(multi_dls, capsys):
    multi_dls.show_batch(max_n=2)
    assert "text" in capsys.readouterr().out


def test_hf_text_block_needs_a_tokenizer():
    with pytest.raises(TypeError, match="hf_tokenizer must be"):
        HF_TextBlock(hf_arch="bert")


def test_hf_load_dataset_formats(tmp_path):
    df = pd.DataFrame({"text": ["a b", "c", "d e f", "g"], "x": [0, 1, 1, 0]})
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_csv(tmp_path / "d.tsv", index=False, sep="\t")
    df.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    df.to_parquet(tmp_path / "d.parquet")
    for path, f in [("csv", "d.csv"), ("tsv", "d.tsv"), ("json", "d.jsonl"), ("parquet", "d.parquet")]:
        out = HF_load_dataset(path, data_files=str(tmp_path / f), split="train")
        assert isinstance(out, pd.DataFrame) and out["text"].tolist() == df["text"].tolist(), path
        assert out["x"].tolist() == [0, 1, 1, 0]
    assert len(HF_load_dataset("csv", data_files=str(tmp_path / "d.csv"), split="train[:50%]")) == 2
    both = HF_load_dataset("csv", data_files={"train": str(tmp_path / "d.csv"), "test": str(tmp_path / "d.csv")})
    assert set(both) == {"train", "test"} and all(isinstance(v, pd.DataFrame) for v in both.values())


def test_hf_load_dataset_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="could not find the data"):
        HF_load_dataset("csv", data_files=str(tmp_path / "nope.csv"), split="train")


def test_sort_lengths_are_the_texts_lengths(multi_dls):
    for dl in (multi_dls.train, multi_dls.valid):  # read off the DataFrame column at once
        assert list(dl.res) == [len(text) for text, _ in dl.dataset]
    test_dl = multi_dls.test_dl(["a longer text here", "short"])  # plain strings: read item by item
    assert list(test_dl.res) == [18, 5]


def test_text_columns_of_hf_data(tok, ekman_single_df):
    from fastai_hf import CategoryBlock
    from fastai_hf.data import text_columns
    df = ekman_single_df.rename(columns={"text": "review"})
    dls = DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), CategoryBlock], get_x=ColReader("review"),
                    get_y=ColReader("label"), splitter=RandomSplitter(seed=0)).dataloaders(df, bs=8)
    assert text_columns(dls) == ["review"]


def test_text_columns_of_fastai_text_data_are_the_tokenizers(ulmfit_clas_dls):
    from fastai_hf.data import text_columns
    assert text_columns(ulmfit_clas_dls) == ["text"]


def test_hf_tokenizer_of(multi_dls, ulmfit_clas_dls):
    from fastai_hf.data import hf_tokenizer_of
    assert isinstance(hf_tokenizer_of(multi_dls), HF_BeforeBatchTransform)
    assert hf_tokenizer_of(multi_dls.valid) is hf_tokenizer_of(multi_dls)
    assert hf_tokenizer_of(ulmfit_clas_dls) is None
