"""Bad input fails early, as a ValueError/TypeError naming the column or label and what to do."""
import numpy as np
import pytest
from conftest import EKMAN, hf_objects, make_learner
from fastai_hf import CategoryBlock, ColReader, DataBlock, HF_TextBlock, MultiCategoryBlock, RandomSplitter


@pytest.fixture(scope="module")
def tok(tiny_path):
    return hf_objects(tiny_path, len(EKMAN))[2]


def multi_block(tok, text_col="text", labels=EKMAN, vocab=EKMAN):
    return DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), MultiCategoryBlock(encoded=True, vocab=vocab)],
                     get_x=ColReader(text_col), get_y=ColReader(labels), splitter=RandomSplitter(seed=0))


def single_block(tok, vocab=EKMAN):
    return DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), CategoryBlock(vocab=vocab)],
                     get_x=ColReader("text"), get_y=ColReader("label"), splitter=RandomSplitter(seed=0))


def test_missing_text_column(tok, ekman_df):
    with pytest.raises(ValueError, match=r"column 'comment' is not in the data.*ColReader"):
        multi_block(tok, text_col="comment").dataloaders(ekman_df)


def test_missing_label_column(tok, ekman_df):
    with pytest.raises(ValueError, match="column 'love' is not in the data"):
        multi_block(tok, labels=EKMAN[:-1] + ["love"]).dataloaders(ekman_df)


@pytest.mark.parametrize("bad,what", [(None, "missing"), (np.nan, "missing"), ("", "empty"), ("   ", "empty"), (42, "not strings")])
def test_na_empty_or_non_string_texts(tok, ekman_df, bad, what):
    df = ekman_df.copy()
    df["text"] = df["text"].astype(object)
    df.loc[3, "text"] = bad
    with pytest.raises(ValueError, match=rf"text column 'text' has 1 rows whose text is {what}.*rows \[3\]"):
        multi_block(tok).dataloaders(df)


def test_label_columns_must_be_0_1(tok, ekman_df):
    df = ekman_df.copy()
    df["joy"] = df["joy"].astype(float)
    df.loc[0, "joy"] = 0.7
    with pytest.raises(ValueError, match=r"label columns \['joy'\] must hold only 0/1.*0.7"):
        multi_block(tok).dataloaders(df)


def test_missing_labels_are_reported(tok, ekman_df):
    df = ekman_df.copy()
    df["fear"] = df["fear"].astype(float)
    df.loc[5, "fear"] = np.nan
    with pytest.raises(ValueError, match=r"\['fear'\] must hold only 0/1"):
        multi_block(tok).dataloaders(df)


def test_vocab_and_label_columns_must_agree(tok, ekman_df):
    with pytest.raises(ValueError, match="has 6 labels in vocab but get_y reads 7 columns"):
        multi_block(tok, vocab=EKMAN[:-1]).dataloaders(ekman_df)


def test_label_outside_the_vocab(tok, ekman_single_df):
    df = ekman_single_df.copy()
    df.loc[2, "label"] = "love"
    with pytest.raises(ValueError, match=r"labels that are not in the vocab: \['love'\].*add them"):
        single_block(tok).dataloaders(df)


def test_zero_rows(tok, ekman_df):
    with pytest.raises(ValueError, match="zero rows"):
        multi_block(tok).dataloaders(ekman_df.iloc[:0])


def test_num_labels_must_match_the_vocab(tiny_path, ekman_df, monkeypatch):
    import conftest
    real = conftest.hf_objects
    monkeypatch.setattr(conftest, "hf_objects", lambda path, n: real(path, 3))
    with pytest.raises(ValueError, match=r"num_labels=3 but the data has 7 labels.*config.num_labels = 7"):
        make_learner(tiny_path, ekman_df)


def test_good_data_passes(tok, ekman_df, ekman_single_df):
    assert len(multi_block(tok).dataloaders(ekman_df, bs=8).train_ds) > 0
    assert len(single_block(tok).dataloaders(ekman_single_df, bs=8).valid_ds) > 0


def test_fastai_text_blocks_reading_the_tokenizers_column_pass(ekman_single_df):
    from fastai_hf import TextBlock
    df = ekman_single_df.rename(columns={"text": "review"})[["review", "label"]]
    dblock = DataBlock(blocks=[TextBlock.from_df("review", n_workers=0), CategoryBlock(vocab=EKMAN)],
                       get_x=ColReader("text"), get_y=ColReader("label"), splitter=RandomSplitter(seed=0))
    dls = dblock.dataloaders(df, bs=8, num_workers=0)  # TextBlock's Tokenizer makes the 'text' column
    assert dls.one_batch()[0].shape[0] == 8
    with pytest.raises(ValueError, match="column 'label' is not in the data"):
        DataBlock(blocks=[TextBlock.from_df("review", n_workers=0), CategoryBlock(vocab=EKMAN)],
                  get_x=ColReader("text"), get_y=ColReader("label")).dataloaders(df.rename(columns={"label": "y"}))
