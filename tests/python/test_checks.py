"""Bad input fails early, as a ValueError/TypeError naming the column or label and what to do, worded
for the user's language: Python (0-based rows, pandas advice) or R (1-based rows, R values and code)."""
import numpy as np
import pandas as pd
import pytest
from fastai_hf import CategoryBlock, ColReader, DataBlock, HF_TextBlock, MultiCategoryBlock, RandomSplitter
from fastai_hf.checks import advice, as_int, as_number, check_texts, for_r, rows, show, speaking
from fastai_hf.r.convert import frame_to_r
from fastai_hf.r.verbs import call
from helpers import EKMAN, make_learner
from transformers import AutoTokenizer


@pytest.fixture
def tok(tiny_path):
    return AutoTokenizer.from_pretrained(tiny_path)


def multi_block(tok, text_col="text", labels=EKMAN, vocab=EKMAN):
    return DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), MultiCategoryBlock(encoded=True, vocab=vocab)],
                     get_x=ColReader(text_col), get_y=ColReader(labels), splitter=RandomSplitter(seed=0))


def single_block(tok, vocab=EKMAN):
    return DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), CategoryBlock(vocab=vocab)],
                     get_x=ColReader("text"), get_y=ColReader("label"), splitter=RandomSplitter(seed=0))


def with_text(df, row, value):
    df = df.copy()
    df["text"] = df["text"].astype(object)
    df.loc[row, "text"] = value
    return df


# ------------------------------------------------------------------------------- the data source
def test_missing_text_column(tok, ekman_df):
    with pytest.raises(ValueError, match=r"column 'comment' is not in the data.*ColReader"):
        multi_block(tok, text_col="comment").dataloaders(ekman_df)


def test_missing_label_column(tok, ekman_df):
    with pytest.raises(ValueError, match="column 'love' is not in the data"):
        multi_block(tok, labels=EKMAN[:-1] + ["love"]).dataloaders(ekman_df)


@pytest.mark.parametrize("bad,what", [(None, "missing"), (np.nan, "missing"), ("", "empty"), ("   ", "empty"),
                                      (42, "not strings")])
def test_na_empty_or_non_string_texts(tok, ekman_df, bad, what):
    with pytest.raises(ValueError, match=rf"text column 'text' has 1 rows? whose text is {what}.*row \[3\]"):
        multi_block(tok).dataloaders(with_text(ekman_df, 3, bad))


def test_label_columns_must_be_0_1(tok, ekman_df):
    ekman_df["joy"] = ekman_df["joy"].astype(float)
    ekman_df.loc[0, "joy"] = 0.7
    with pytest.raises(ValueError, match=r"label columns \['joy'\] must hold only 0/1.*0.7"):
        multi_block(tok).dataloaders(ekman_df)


def test_missing_labels_are_reported(tok, ekman_df):
    ekman_df["fear"] = ekman_df["fear"].astype(float)
    ekman_df.loc[5, "fear"] = np.nan
    with pytest.raises(ValueError, match=r"\['fear'\] must hold only 0/1"):
        multi_block(tok).dataloaders(ekman_df)


def test_vocab_and_label_columns_must_agree(tok, ekman_df):
    with pytest.raises(ValueError, match="has 6 labels in vocab but get_y reads 7 columns"):
        multi_block(tok, vocab=EKMAN[:-1]).dataloaders(ekman_df)


def test_label_outside_the_vocab(tok, ekman_single_df):
    ekman_single_df.loc[2, "label"] = "love"
    with pytest.raises(ValueError, match=r"labels that are not in the vocab: \['love'\].*add them"):
        single_block(tok).dataloaders(ekman_single_df)


def test_missing_single_labels(tok, ekman_single_df):
    ekman_single_df.loc[4, "label"] = None
    with pytest.raises(ValueError, match=r"label column 'label' has 1 missing \(NA\) labels? \(row \[4\]\)"):
        single_block(tok).dataloaders(ekman_single_df)


def test_zero_rows(tok, ekman_df):
    with pytest.raises(ValueError, match="zero rows"):
        multi_block(tok).dataloaders(ekman_df.iloc[:0])


def test_a_path_is_no_data_frame(tok, tmp_path):
    with pytest.raises(TypeError, match=r"is a path.*read the file first.*pd.read_csv"):
        multi_block(tok).dataloaders(tmp_path / "data.csv")


def test_num_labels_must_match_the_vocab(tiny_path, ekman_df):
    with pytest.raises(ValueError, match=r"num_labels=3 but the data has 7 labels.*config.num_labels = 7"):
        make_learner(tiny_path, ekman_df, num_labels=3)


def test_good_multi_label_data_passes(tok, ekman_df):
    assert len(multi_block(tok).dataloaders(ekman_df, bs=8).train_ds) > 0


def test_good_single_label_data_passes(tok, ekman_single_df):
    assert len(single_block(tok).dataloaders(ekman_single_df, bs=8).valid_ds) > 0


def test_fastai_text_blocks_reading_the_tokenizers_column_pass(ekman_single_df):
    from fastai_hf import TextBlock
    df = ekman_single_df.rename(columns={"text": "review"})[["review", "label"]]
    dblock = DataBlock(blocks=[TextBlock.from_df("review", n_workers=0), CategoryBlock(vocab=EKMAN)],
                       get_x=ColReader("text"), get_y=ColReader("label"), splitter=RandomSplitter(seed=0))
    dls = dblock.dataloaders(df, bs=8, num_workers=0)  # TextBlock's Tokenizer makes the 'text' column
    assert dls.one_batch()[0].shape[0] == 8


def test_fastai_text_blocks_still_check_their_labels(ekman_single_df):
    from fastai_hf import TextBlock
    df = ekman_single_df.rename(columns={"text": "review", "label": "y"})[["review", "y"]]
    with pytest.raises(ValueError, match="column 'label' is not in the data"):
        DataBlock(blocks=[TextBlock.from_df("review", n_workers=0), CategoryBlock(vocab=EKMAN)],
                  get_x=ColReader("text"), get_y=ColReader("label")).dataloaders(df)


def test_an_item_that_is_no_text_is_named(tok):
    "Items that are no DataFrame rows reach the type transform, which says what is wrong."
    dls = DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), CategoryBlock(vocab=["a", "b"])],
                    get_y=lambda o: "a", splitter=RandomSplitter(seed=0))
    with pytest.raises(ValueError, match="a text is missing \\(NA\\); every text must be a non-empty string"):
        dls.dataloaders([None] * 10, bs=2).one_batch()


# --------------------------------------------------------------- messages in the user's language
def test_python_users_get_0_based_rows_and_pandas_advice(tok, ekman_df):
    with pytest.raises(ValueError) as e:
        multi_block(tok).dataloaders(with_text(ekman_df, 3, None))
    msg = str(e.value)
    assert "row [3]" in msg and "df.dropna(subset=['text'])" in msg
    assert "is.na" not in msg


def test_r_users_get_1_based_rows_and_r_code(tok, ekman_df):
    with speaking("r"), pytest.raises(ValueError) as e:
        multi_block(tok).dataloaders(with_text(ekman_df, 3, None))
    msg = str(e.value)
    assert "row 4" in msg and 'df[!is.na(df[["text"]]), ]' in msg
    assert "[3]" not in msg and "dropna" not in msg


def test_calls_from_r_speak_r(tok, ekman_df):
    "The R package's entry point words errors for R: a table from R with an NA text in its 4th row."
    with pytest.raises(ValueError, match=r"row 4\).*is\.na"):
        call(multi_block(tok).dataloaders, frame_to_r(with_text(ekman_df, 3, None)))
    assert not for_r()  # and Python speaks Python again afterwards


def test_speaking_ends_with_its_block_even_on_errors():
    with pytest.raises(RuntimeError):
        with speaking("r"):
            assert for_r()
            raise RuntimeError("boom")
    assert not for_r()


def test_speaking_nests():
    with speaking("r"):
        with speaking("python"):
            assert not for_r()
        assert for_r()


def test_speaking_knows_two_languages():
    with pytest.raises(ValueError, match="'python' or 'r'"):
        with speaking("julia"): pass


@pytest.mark.parametrize("value,python,r", [
    (None, "None", "NA"), (float("nan"), "nan", "NA"), (True, "True", "TRUE"), (2.0, "2.0", "2"),
    (np.int64(2), "2", "2"), ("a\"b", "'a\"b'", '"a\\"b"'), (["x", 1], "['x', 1]", 'c("x", 1)')])
def test_values_are_shown_as_the_user_writes_them(value, python, r):
    assert show(value) == python
    with speaking("r"):
        assert show(value) == r


def test_rows_are_0_based_for_python_and_1_based_for_r():
    assert rows([3]) == "row [3]" and rows([3, 7]) == "rows [3, 7]"
    assert rows(range(8)) == "rows [0, 1, 2, 3, 4] and 3 more"
    with speaking("r"):
        assert rows([3]) == "row 4" and rows([3, 7]) == "rows 4, 8"


def test_advice_follows_the_language():
    assert advice("py", "r") == "py"
    with speaking("r"):
        assert advice("py", "r") == "r"


# -------------------------------------------------------------------------------- argument checks
@pytest.mark.parametrize("value", [32, 32.0, np.int64(32), np.float64(32.0)])
def test_as_int_takes_whole_numbers(value):
    assert as_int("bs", value, 1) == 32 and type(as_int("bs", value, 1)) is int


@pytest.mark.parametrize("value", [32.5, True, "32", float("nan"), float("inf"), None, 0])
def test_as_int_rejects_others(value):
    with pytest.raises(ValueError, match="bs must be a whole number >= 1"):
        as_int("bs", value, 1)


def test_as_int_shows_the_value_in_the_users_language():
    with pytest.raises(ValueError, match=r"not True$"):
        as_int("n", True)
    with speaking("r"), pytest.raises(ValueError, match=r"not TRUE$"):
        as_int("n", True)


def test_as_number_bounds():
    assert as_number("lr", 1e-3, 0, exclusive_minimum=True) == 1e-3
    assert as_number("p", 1, 0, 1) == 1.0
    with pytest.raises(ValueError, match="lr must be a finite number > 0, not 0"):
        as_number("lr", 0, 0, exclusive_minimum=True)
    with pytest.raises(ValueError, match="p must be a finite number >= 0 and <= 1"):
        as_number("p", 1.5, 0, 1)
    with pytest.raises(ValueError, match="finite number"):
        as_number("x", float("nan"))
    with pytest.raises(ValueError, match="finite number"):
        as_number("x", False)


@pytest.mark.parametrize("texts,expected", [("one", ["one"]), (("a", "b"), ["a", "b"]),
                                            (pd.Series(["a", "b"]), ["a", "b"]), (np.array(["a"]), ["a"])])
def test_check_texts_gives_a_list_of_strings(texts, expected):
    assert check_texts(texts) == expected


def test_check_texts_names_the_bad_positions():
    with pytest.raises(ValueError, match=r"1 of the texts are missing, empty or not strings \(position \[1\]; "
                                         r"e.g. missing \(NA\)\).*t.strip\(\)"):
        check_texts(["fine", None])
    with speaking("r"), pytest.raises(ValueError, match=r"\(positions 2, 3; e.g. \"\"\).*nzchar"):
        check_texts(["fine", "", " "])


@pytest.mark.parametrize("texts,error,match", [([], ValueError, "no texts given"),
                                               (pd.DataFrame({"text": ["a"]}), TypeError, r"not a DataFrame.*df\['text'\]"),
                                               (42, TypeError, "not int")])
def test_check_texts_rejects_other_inputs(texts, error, match):
    with pytest.raises(error, match=match):
        check_texts(texts)


def test_type_transforms_check_their_own_columns(tok, ekman_df):
    "DataBlock asks every type transform with a `check_source(df, cols)` method (a task family's input)."
    from fastai_hf import Transform, TransformBlock
    seen = []

    class Checked(Transform):
        def encodes(self, o): return o
        def check_source(self, df, cols):
            seen.append(cols)
            raise ValueError(f"column {cols[0]} is not good enough")

    dblock = DataBlock(blocks=[HF_TextBlock(hf_tokenizer=tok), TransformBlock(type_tfms=Checked())],
                       get_x=ColReader("text"), get_y=ColReader("joy"), splitter=RandomSplitter(seed=0))
    with pytest.raises(ValueError, match="column joy is not good enough"):
        dblock.dataloaders(ekman_df)
    assert seen == [["joy"]]
