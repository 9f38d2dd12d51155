"""Token classification on a tiny BERT (and a tiny RoBERTa) built at test time: label alignment,
data checks, loss, metrics, predict, show, export."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import fastai_hf
from fastai_hf import (HF_TASKS_AUTO, AutoConfig, ColReader, DataBlock, EntityF1, EntityPrecision, EntityRecall,
                       HF_BaseModelCallback, HF_BaseModelWrapper, HF_TokenCategoryBlock, HF_TokenClassBlock, IndexSplitter,
                       Learner, RandomSplitter, TokenAccuracy, entity_metrics, entity_report, get_hf_objects,
                       hf_load_learner, hf_save_pretrained, hf_splitter, load_learner, predict_tokens, run_record,
                       set_seed, token_metrics, words_from_long)
from fastai_hf.card import card_header
from fastai_hf.checks import speaking
from fastai_hf.data.tokens import (HF_TokenClassBeforeBatchTransform, align_word_labels, tag_vocab)
from fastai_hf.r.verbs import predict as r_predict
from fastai_hf.show import show_batch_df, show_results_df
from fastai_hf.testing import tiny_roberta
from helpers import load_state, quiet_fit, state_bytes
from transformers import pipeline

TAGS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
SENTENCES = [
    (["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
     ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]),
    (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
    (["BRUSSELS", "1996-08-22"], ["B-LOC", "O"]),
    (["Washingtonians", "met", "the", "European", "Commission", "in", "Brussels", "."],
     ["B-MISC", "O", "O", "B-ORG", "I-ORG", "O", "B-LOC", "O"]),
]


def conll_df(n=48):
    "`n` rows cycling through SENTENCES: a `words` and a `tags` list column."
    rows = [SENTENCES[i % len(SENTENCES)] for i in range(n)]
    return pd.DataFrame({"words": [list(w) for w, _ in rows], "tags": [list(t) for _, t in rows]})


def objects(path, **tokenizer_kwargs):
    config = AutoConfig.from_pretrained(path)
    config.num_labels = len(TAGS)
    return get_hf_objects(path, task=HF_TASKS_AUTO.TokenClassification, config=config,
                          tokenizer_kwargs=tokenizer_kwargs or None)


def token_learner(path, df=None, bs=8, max_length=None, metrics=None, **tokenizer_kwargs):
    set_seed(0)
    arch, _, tok, model = objects(path, **tokenizer_kwargs)
    dblock = DataBlock(blocks=[HF_TokenClassBlock(hf_arch=arch, hf_tokenizer=tok, max_length=max_length),
                               HF_TokenCategoryBlock(vocab=TAGS)],
                       get_x=ColReader("words"), get_y=ColReader("tags"), splitter=RandomSplitter(seed=0))
    dls = dblock.dataloaders(conll_df() if df is None else df, bs=bs)
    return Learner(dls, HF_BaseModelWrapper(model), cbs=HF_BaseModelCallback(), splitter=hf_splitter,
                   metrics=metrics if metrics is not None else entity_metrics())


@pytest.fixture(scope="module")
def _trained(tiny_path):
    "The weights of a tiny BERT token classifier after a few epochs on the four sentences."
    learn = token_learner(tiny_path)
    return state_bytes(quiet_fit(learn, "fit_one_cycle", 4, 5e-3).model)


@pytest.fixture
def tagger(tiny_path, _trained):
    "A trained token classifier (a new learner with the module's weights)."
    learn = token_learner(tiny_path)
    load_state(learn.model, _trained)
    return learn


@pytest.fixture(scope="module")
def bert_tok(tiny_path):
    return objects(tiny_path)[2]


# ------------------------------------------------------------------------------------ alignment
def test_align_word_labels_puts_the_label_on_the_first_piece_only():
    # [CLS] eu rejects washington ##ians [SEP] [PAD]
    assert align_word_labels([None, 0, 1, 2, 2, None, None], [5, 0, 1]) == [-100, 5, 0, 1, -100, -100, -100]


def test_words_of_several_pieces_carry_their_tag_on_the_first(bert_tok):
    tfm = HF_TokenClassBeforeBatchTransform(hf_tokenizer=bert_tok)
    words, tags = ["EU", "rejects", "Washingtonians"], torch.tensor([5, 0, 1])
    (x, y), = tfm([(words, tags)])
    tokens = bert_tok.convert_ids_to_tokens(x["input_ids"].tolist())
    assert tokens == ["[CLS]", "eu", "rejects", "washington", "##ians", "[SEP]"]  # hand-checked
    assert y.tolist() == [-100, 5, 0, 1, -100, -100]


def test_words_cut_by_truncation_have_no_label(bert_tok):
    tfm = HF_TokenClassBeforeBatchTransform(hf_tokenizer=bert_tok, max_length=4)
    (x, y), = tfm([(["EU", "rejects", "Washingtonians"], torch.tensor([5, 0, 1]))])
    assert bert_tok.convert_ids_to_tokens(x["input_ids"].tolist()) == ["[CLS]", "eu", "rejects", "[SEP]"]
    assert y.tolist() == [-100, 5, 0, -100]
    # a word cut in the middle keeps its first piece and its label
    tfm5 = HF_TokenClassBeforeBatchTransform(hf_tokenizer=bert_tok, max_length=5)
    (x, y), = tfm5([(["EU", "rejects", "Washingtonians"], torch.tensor([5, 0, 1]))])
    assert bert_tok.convert_ids_to_tokens(x["input_ids"].tolist())[-2] == "washington"
    assert y.tolist() == [-100, 5, 0, 1, -100]


def test_a_batch_pads_labels_with_the_ignore_id_and_pools_give_the_same_labels(bert_tok):
    tfm = HF_TokenClassBeforeBatchTransform(hf_tokenizer=bert_tok)
    samples = [(["Peter", "Blackburn"], torch.tensor([7, 8])), (["Washingtonians", "met", "the"], torch.tensor([3, 0, 0]))]
    direct = tfm(samples)
    assert [len(x["input_ids"]) for x, _ in direct] == [6, 6]
    assert direct[0][1].tolist() == [-100, 7, 8, -100, -100, -100]  # peter black ##burn: 2 words, 3 pieces + padding
    pooled = tfm.pad(tfm.encode(s[0] for s in samples), [0, 1], samples)
    for (x1, y1), (x2, y2) in zip(direct, pooled):
        assert y1.tolist() == y2.tolist() and x1["input_ids"].tolist() == x2["input_ids"].tolist()


def test_training_batches_hold_one_label_per_word(tagger):
    for xb, yb in list(tagger.dls.train)[:3]:
        assert yb.shape == xb["input_ids"].shape
        n_words = (yb != -100).sum(1).tolist()
        assert all(n in {9, 2, 8} for n in n_words)  # every word of each of the four sentences, once
        assert ((yb == -100) | (xb["attention_mask"] == 1)).all()  # padding is never labelled


def test_tag_vocab_order_and_given_vocab(tiny_path):
    assert tag_vocab([["O", "I-PER", "B-PER", "B-LOC"], ["X"]]) == ["O", "B-LOC", "B-PER", "I-PER", "X"]
    assert list(token_learner(tiny_path).dls.vocab) == TAGS


def test_tag_vocab_from_the_data(tiny_path):
    arch, _, tok, _ = objects(tiny_path)
    dls = DataBlock(blocks=[HF_TokenClassBlock(hf_arch=arch, hf_tokenizer=tok), HF_TokenCategoryBlock()],
                    get_x=ColReader("words"), get_y=ColReader("tags"), splitter=RandomSplitter(seed=0)
                    ).dataloaders(conll_df(), bs=4)
    assert list(dls.vocab) == ["O", "B-LOC", "B-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


def test_words_from_long():
    long = pd.DataFrame({"sid": [7, 7, 7, 3, 3], "w": ["EU", "rejects", "lamb", "Peter", "Blackburn"],
                         "t": ["B-ORG", "O", "O", "B-PER", "I-PER"]})
    wide = words_from_long(long, "sid", "w", "t")
    assert wide["sentence"].tolist() == [7, 3]
    assert wide["words"].tolist() == [["EU", "rejects", "lamb"], ["Peter", "Blackburn"]]
    assert wide["tags"].tolist() == [["B-ORG", "O", "O"], ["B-PER", "I-PER"]]
    assert "tags" not in words_from_long(long, "sid", "w", None).columns
    with pytest.raises(ValueError, match="'word'.*not in the data"):
        words_from_long(long)


# ------------------------------------------------------------------------------------ bad input
def blocks(tiny_path, vocab=None):
    arch, _, tok, _ = objects(tiny_path)
    return DataBlock(blocks=[HF_TokenClassBlock(hf_arch=arch, hf_tokenizer=tok), HF_TokenCategoryBlock(vocab=vocab)],
                     get_x=ColReader("words"), get_y=ColReader("tags"), splitter=RandomSplitter(seed=0))


def test_tags_and_words_of_different_lengths_name_the_row(tiny_path):
    df = conll_df(8)
    df.at[3, "tags"] = ["B-PER"]
    with pytest.raises(ValueError, match=r"different number of words and tags \(row \[3\]; e\.g\. 8 words and 1 tags\)"):
        blocks(tiny_path).dataloaders(df, bs=4)
    with speaking("r"), pytest.raises(ValueError, match=r"\(row 4;.*give one tag per word"):
        blocks(tiny_path).dataloaders(df, bs=4)


def test_a_tag_outside_the_vocab_names_the_rows_and_the_fix(tiny_path):
    df = conll_df(8)
    df.at[5, "tags"] = ["B-PER", "I-PERSON"]
    with pytest.raises(ValueError, match=r"not in the vocab: \['I-PERSON'\] \(row \[5\]\); add them to vocab="):
        blocks(tiny_path, vocab=TAGS).dataloaders(df, bs=4)


def test_cells_that_are_not_word_lists_and_empty_words(tiny_path):
    df = conll_df(8)
    df["words"] = df["words"].map(" ".join)
    with speaking("r"), pytest.raises(ValueError, match=r"must hold a list of words per row.*strsplit"):
        blocks(tiny_path).dataloaders(df, bs=4)
    df = conll_df(8)
    df.at[2, "words"] = ["Peter", " "]
    with pytest.raises(ValueError, match=r"words that are empty.*row \[2\]"):
        blocks(tiny_path).dataloaders(df, bs=4)
    df = conll_df(8)
    df.at[1, "tags"] = [7, 8]
    with pytest.raises(ValueError, match=r"tags that are not a string.*map tag ids to their names"):
        blocks(tiny_path).dataloaders(df, bs=4)


def test_a_byte_level_tokenizer_needs_add_prefix_space(tmp_path):
    path = tiny_roberta(str(tmp_path / "roberta"))
    _, _, tok, _ = objects(path)
    with pytest.raises(ValueError, match="add_prefix_space.*tokenizer_kwargs=\\{'add_prefix_space': True\\}"):
        HF_TokenClassBlock(hf_tokenizer=tok)
    with speaking("r"), pytest.raises(ValueError, match="tokenizer_kwargs = list\\(add_prefix_space = TRUE\\)"):
        HF_TokenClassBlock(hf_tokenizer=tok)


def test_num_labels_must_match_the_tags(tiny_path):
    set_seed(0)
    arch, _, tok, model = get_hf_objects(tiny_path, task=HF_TASKS_AUTO.TokenClassification)  # 2 labels
    dls = blocks(tiny_path, vocab=TAGS).dataloaders(conll_df(), bs=4)
    with pytest.raises(ValueError, match="num_labels=2 but the data has 9 labels"):
        Learner(dls, HF_BaseModelWrapper(model), cbs=HF_BaseModelCallback())


# ------------------------------------------------------------------------------------ loss, metrics
def test_the_default_loss_ignores_padding_and_later_pieces(tagger):
    xb, yb = tagger.dls.one_batch()
    logits = torch.randn(*yb.shape, len(TAGS))
    keep = yb != -100
    expected = torch.nn.functional.cross_entropy(logits[keep], yb[keep])
    assert torch.allclose(tagger.loss_func(logits, yb), expected)


class _FakeLearn:
    "What a fastai metric reads: predictions, targets, the vocab and the data's transform."
    def __init__(self, learn, pred, targ): self.pred, self.yb, self.dls = pred, (targ,), learn.dls


def test_entity_metrics_against_hand_computed_values(tagger):
    v = {t: i for i, t in enumerate(TAGS)}
    # two sentences; -100 marks later pieces and padding
    targ = torch.tensor([[-100, v["B-PER"], v["I-PER"], -100, v["O"], v["B-LOC"], -100],
                         [-100, v["B-ORG"], v["O"], v["B-LOC"], -100, -100, -100]])
    pred = torch.tensor([[0, v["B-PER"], v["I-PER"], v["B-LOC"], v["O"], v["O"], 0],
                         [0, v["B-ORG"], v["B-LOC"], v["B-LOC"], 0, 0, 0]])
    # gold entities: PER(0-1) LOC(3) | ORG(0) LOC(2); predicted: PER(0-1) | ORG(0) LOC(1) LOC(2)
    # tp = 3 (PER, ORG, LOC of sentence 2), predicted 4, gold 4; words right: 3/4 + 2/3 = 6/7... counted: 5 of 7
    metrics = [TokenAccuracy(), EntityPrecision(), EntityRecall(), EntityF1(), EntityF1("LOC"), EntityRecall("PER")]
    for m in metrics:
        m.reset()
        m.accumulate(_FakeLearn(tagger, torch.nn.functional.one_hot(pred, len(TAGS)).float(), targ))
    values = {m.name: m.value for m in metrics}
    assert values["token_accuracy"] == pytest.approx(5 / 7)
    assert values["precision"] == pytest.approx(3 / 4) and values["recall"] == pytest.approx(3 / 4)
    assert values["f1"] == pytest.approx(3 / 4)
    assert values["f1_LOC"] == pytest.approx(2 * (1 / 2) * (1 / 2) / 1)  # P = 1/2, R = 1/2
    assert values["recall_PER"] == 1.0


def test_fit_reports_the_metrics(tagger):
    with tagger.no_bar(), tagger.no_logging(): tagger.fit(1, 1e-4)
    names = tagger.recorder.metric_names
    assert list(names[3:7]) == ["token_accuracy", "precision", "recall", "f1"]
    assert all(0 <= v <= 1 for v in tagger.recorder.values[-1][2:6])


def test_token_metrics_and_entity_report_tables(tagger):
    df = conll_df(8)
    m = token_metrics(tagger, df)
    assert set(m) == {"accuracy", "precision", "recall", "f1"} and m["accuracy"] > 0.5  # it learned the sentences
    rep = entity_report(tagger, df)
    assert list(rep.columns) == ["entity", "precision", "recall", "f1", "support"]
    assert rep["entity"].tolist()[-3:] == ["micro avg", "macro avg", "weighted avg"]
    assert set(rep["entity"][:-3]) == {"LOC", "MISC", "ORG", "PER"}
    assert rep.loc[rep.entity == "PER", "support"].item() == 2  # Peter Blackburn, twice in 8 rows
    assert rep.loc[rep.entity == "micro avg", "f1"].item() == pytest.approx(m["f1"])
    assert token_metrics(tagger)["f1"] >= 0  # the validation rows by default


# ----------------------------------------------------------------------------------------- predict
def test_predict_texts_gives_words_with_offsets_and_entities(tagger):
    text = "Peter Blackburn met the European Commission in Brussels."
    res = predict_tokens(tagger, [text, "EU rejects German call."])
    words, ents = res["words"], res["entities"]
    assert list(words.columns) == ["sentence", "word", "start", "end", "tag", "probability"]
    assert list(ents.columns) == ["sentence", "entity", "text", "start", "end", "score"]
    first = words[words.sentence == 0]
    assert first["word"].tolist() == ["Peter", "Blackburn", "met", "the", "European", "Commission", "in", "Brussels", "."]
    assert all(text[s:e] == w for w, s, e in zip(first.word, first.start, first.end))
    assert set(words["tag"]) <= set(TAGS) and words["probability"].between(0, 1).all()
    for _, e in ents.iterrows():
        src = text if e.sentence == 0 else "EU rejects German call."
        assert src[e.start:e.end] == e.text
    # every word tagged B-X starts an entity of type X (seqeval's chunks of the word tags)
    b_words = words[words.tag.str.startswith("B-")]
    starts = set(zip(ents.sentence, ents.start, ents.entity))
    assert all((r.sentence, r.start, r.tag[2:]) in starts for r in b_words.itertuples())


def test_predict_word_lists_and_a_data_frame_agree(tagger):
    words = ["Peter", "Blackburn", "met", "the", "European", "Commission"]
    from_lists = predict_tokens(tagger, [words])["words"]
    from_frame = predict_tokens(tagger, pd.DataFrame({"words": [words]}))["words"]
    one = predict_tokens(tagger, words, is_split_into_words=True)["words"]
    pd.testing.assert_frame_equal(from_lists, from_frame)
    pd.testing.assert_frame_equal(from_lists, one)
    assert from_lists["word"].tolist() == words
    assert from_lists["start"].tolist() == [0, 6, 16, 20, 24, 33]  # offsets in the words joined by spaces
    single = tagger.predict(words)  # Learner.predict: one item, its tables
    pd.testing.assert_frame_equal(single["words"], from_lists)


def test_long_inputs_are_predicted_in_windows_so_every_word_gets_a_tag(tiny_path, _trained):
    learn = token_learner(tiny_path, max_length=16)
    load_state(learn.model, _trained)
    words = (SENTENCES[0][0] + SENTENCES[3][0]) * 4  # 68 words, ~85 pieces: six windows of 16
    res = predict_tokens(learn, [words])["words"]
    assert len(res) == len(words) and res["tag"].notna().all()
    short = predict_tokens(learn, [SENTENCES[1][0]])["words"]
    assert short["word"].tolist() == ["Peter", "Blackburn"]


def test_bad_predict_inputs(tagger):
    with pytest.raises(ValueError, match=r"missing, empty or not strings \(row \[1\]"):
        predict_tokens(tagger, ["fine", "  "])
    with pytest.raises(TypeError, match="mix texts and word lists"):
        predict_tokens(tagger, ["fine", ["a", "b"]])
    with pytest.raises(ValueError, match="empty list"):
        predict_tokens(tagger, [[]])


def test_r_predict_counts_from_one(tagger):
    res = r_predict(tagger, ["Peter Blackburn"])
    assert res["kind"] == "tokens"
    assert res["words"]["sentence"].tolist() == [1, 1] and res["words"]["start"].tolist() == [1, 7]
    assert res["words"]["end"].tolist() == [5, 15]  # substr("Peter Blackburn", 7, 15) == "Blackburn"


# ---------------------------------------------------------------------------------- show, export
def test_show_batch_and_show_results_tables(tagger):
    batch = show_batch_df(tagger.dls, max_n=3)
    assert list(batch.columns) == ["words", "target"] and len(batch) == 3
    assert all(len(w) == len(t) for w, t in zip(batch.words, batch.target))
    res = show_results_df(tagger, max_n=2)
    assert list(res.columns) == ["words", "target", "predicted"]
    assert all(len(p) == len(t) for p, t in zip(res.predicted, res.target))


def test_export_and_load_learner_round_trip(tagger, tmp_path):
    before = predict_tokens(tagger, ["Peter Blackburn met the European Commission."])
    tagger.export(tmp_path / "tagger.pkl")
    after = predict_tokens(load_learner(tmp_path / "tagger.pkl"), ["Peter Blackburn met the European Commission."])
    pd.testing.assert_frame_equal(before["words"], after["words"])


def _pipeline_entities(pipe, text):
    return [(e["entity_group"], e["start"], e["end"], round(float(e["score"]), 4)) for e in pipe(text)]


def _our_entities(learn, text, aggregation="first"):
    ents = predict_tokens(learn, [text], aggregation=aggregation)["entities"]
    return [(e.entity, int(e.start), int(e.end), round(float(e.score), 4)) for e in ents.itertuples()]


TEXTS = ["Peter Blackburn met Washingtonians in Brussels.", "BRUSSELS 1996-08-22", "EU rejects German call.",
         "The European Commission, in Brussels, said so."]


def test_hf_save_pretrained_finds_the_same_entities_in_a_pipeline(tagger, tmp_path):
    path = hf_save_pretrained(tagger, tmp_path / "ner")
    config = json.loads((path / "config.json").read_text())
    assert config["id2label"] == {str(i): t for i, t in enumerate(TAGS)} and config["label2id"]["B-PER"] == 7
    # "first": a word takes its first piece's tag, the learner's rule (its default)
    first = pipeline("token-classification", model=str(path), aggregation_strategy="first", device="cpu")
    for text in TEXTS:
        assert _pipeline_entities(first, text) == _our_entities(tagger, text)
    # "simple": each piece keeps its own tag; predict_tokens(aggregation="simple") groups them the same way
    simple = pipeline("token-classification", model=str(path), aggregation_strategy="simple", device="cpu")
    for text in TEXTS:
        assert _pipeline_entities(simple, text) == _our_entities(tagger, text, "simple")


def _all_predictions(learn):
    "predict_tokens' tables for texts (both aggregations) and for pre-split word lists."
    words = [w for w, _ in SENTENCES]
    return [predict_tokens(learn, TEXTS), predict_tokens(learn, TEXTS, aggregation="simple"),
            predict_tokens(learn, words)]


def _assert_same_predictions(a, b):
    for x, y in zip(_all_predictions(a), _all_predictions(b)):
        pd.testing.assert_frame_equal(x["words"], y["words"])
        pd.testing.assert_frame_equal(x["entities"], y["entities"])


def test_hf_load_learner_predicts_words_and_entities_as_before(tagger, tmp_path):
    path = hf_save_pretrained(tagger, tmp_path / "ner")
    spec = json.loads((path / "fastai_hf.json").read_text())
    assert spec["task"] == "token_classification"
    ts = spec["task_settings"]
    assert ts["labels"] == TAGS and (ts["word_column"], ts["tag_column"]) == ("words", "tags")
    assert ts["ignore_token_id"] == -100 and spec["inputs"]["tokenizer"]["is_split_into_words"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loss and metrics come back: nothing "not restored"
        learn = hf_load_learner(path)
    assert [str(v) for v in learn.dls.vocab] == TAGS and len(learn.dls.train.dataset) == 0
    assert [m.name for m in learn.metrics] == ["token_accuracy", "precision", "recall", "f1"]
    assert learn.loss_func.func.ignore_index == -100
    assert len(predict_tokens(learn, TEXTS)["entities"]) > 0  # a trained tagger: the comparison has entities
    _assert_same_predictions(tagger, learn)


def test_a_new_process_loads_the_folder_and_tags_as_before(tagger, tmp_path):
    "Only `fastai_hf.export` imported: the family registers with the package, nothing else is needed."
    path = hf_save_pretrained(tagger, tmp_path / "ner")
    code = ("import sys\nfrom fastai_hf.export import hf_load_learner\nfrom fastai_hf.modeling.tokens import predict_tokens\n"
            "res = predict_tokens(hf_load_learner(sys.argv[1]), sys.argv[2:])\n"
            "print(res['words'].to_json(orient='split'))\nprint(res['entities'].to_json(orient='split'))")
    env = {**os.environ, "PYTHONPATH": str(Path(fastai_hf.__file__).parents[1]), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code, str(path), *TEXTS], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    words, entities = done.stdout.strip().splitlines()[-2:]
    ours = predict_tokens(tagger, TEXTS)
    assert json.loads(words) == json.loads(ours["words"].to_json(orient="split"))
    assert json.loads(entities) == json.loads(ours["entities"].to_json(orient="split"))


def test_hf_load_learner_restores_entity_metrics_of_one_type(tiny_path, tmp_path):
    learn = token_learner(tiny_path, metrics=[EntityF1("PER"), EntityF1()])
    loaded = hf_load_learner(hf_save_pretrained(learn, tmp_path / "ner"))
    assert [(type(m), m.name) for m in loaded.metrics] == [(EntityF1, "f1_PER"), (EntityF1, "f1")]


def test_a_loaded_tagger_trains_further_on_a_data_frame(tagger, tmp_path):
    path = hf_save_pretrained(tagger, tmp_path / "ner")
    learn = hf_load_learner(path, df=conll_df(20), valid_pct=0.25, seed=0, bs=4)
    assert (len(learn.dls.train_ds), len(learn.dls.valid_ds)) == (15, 5) and learn.dls.bs == 4
    before = [p.detach().clone() for p in learn.model.parameters()]
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    assert any(not torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))
    fits = run_record(learn)["fits"]
    assert len(fits) == 1 and fits[-1]["n_train"] == 15 and set(fits[-1]["metrics"]) >= {"f1", "token_accuracy"}
    assert len(predict_tokens(learn, TEXTS[:1])["words"]) == 7  # Peter Blackburn met Washingtonians in Brussels .


def test_a_loaded_tagger_takes_dataloaders_with_the_same_tags(tagger, tiny_path, tmp_path):
    path = hf_save_pretrained(tagger, tmp_path / "ner")
    assert hf_load_learner(path, dls=tagger.dls).dls is tagger.dls
    arch, _, tok, _ = objects(tiny_path)
    other = DataBlock(blocks=[HF_TokenClassBlock(hf_arch=arch, hf_tokenizer=tok), HF_TokenCategoryBlock(vocab=TAGS[::-1])],
                      get_x=ColReader("words"), get_y=ColReader("tags"), splitter=RandomSplitter(seed=0))
    with pytest.raises(ValueError, match="tags"):
        hf_load_learner(path, dls=other.dataloaders(conll_df(8), bs=4))


def test_the_card_names_the_task_the_tags_and_the_pipeline(tagger, tmp_path):
    card = (hf_save_pretrained(tagger, tmp_path / "ner") / "README.md").read_text()
    header = card_header(card)
    assert header["pipeline_tag"] == "token-classification" and "token-classification" in header["tags"]
    assert "for token classification into 9 labels" in card
    assert all(f"`{t}`" in card for t in TAGS) and "entity types `LOC`, `MISC`, `ORG`, `PER`" in card
    assert 'pipeline("token-classification", model="ner", aggregation_strategy="simple")' in card


def test_a_tiny_roberta_round_trips_with_add_prefix_space(tmp_path):
    corpus = [" ".join(w) for w, _ in SENTENCES] * 3
    learn = token_learner(tiny_roberta(str(tmp_path / "roberta"), corpus=corpus), add_prefix_space=True)
    path = hf_save_pretrained(learn, tmp_path / "ner")
    assert json.loads((path / "fastai_hf.json").read_text())["task_settings"]["add_prefix_space"] is True
    loaded = hf_load_learner(path)
    assert loaded.dls.train.hf_before_batch.hf_tokenizer.add_prefix_space is True
    _assert_same_predictions(learn, loaded)


def test_simple_and_first_agree_on_words_of_one_piece(tagger):
    text = "Peter met the European Commission in Brussels."
    tok = tagger.dls.train.hf_before_batch.hf_tokenizer
    assert all(len(tok.tokenize(w)) == 1 for w in text.replace(".", " .").split())
    assert _our_entities(tagger, text, "simple") == _our_entities(tagger, text, "first")


def test_simple_entities_group_pieces_as_the_pipeline_does():
    from fastai_hf.modeling.tokens import simple_entities
    text = "Washingtonians met Peter Blackburn"
    pieces = [(0, 10, "B-LOC", 0.9, "washington"), (10, 14, "O", 0.6, "##ians"), (15, 18, "O", 0.9, "met"),
              (19, 24, "B-PER", 0.8, "peter"), (25, 30, "I-PER", 0.6, "black"), (30, 34, "B-PER", 0.5, "##burn")]
    assert simple_entities(pieces, text) == [
        {"entity": "LOC", "text": "Washington", "start": 0, "end": 10, "score": 0.9},
        {"entity": "PER", "text": "Peter Black", "start": 19, "end": 30, "score": pytest.approx(0.7)},
        {"entity": "PER", "text": "burn", "start": 30, "end": 34, "score": 0.5}]


# --------------------------------------------------------------------------------- other families
def test_a_tiny_roberta_trains_and_predicts_with_add_prefix_space(tmp_path):
    corpus = [" ".join(w) for w, _ in SENTENCES] * 3
    path = tiny_roberta(str(tmp_path / "roberta"), corpus=corpus)
    learn = token_learner(path, add_prefix_space=True)
    tok = learn.dls.train.hf_before_batch.hf_tokenizer
    (x, y), = learn.dls.train.hf_before_batch([(["Peter", "Blackburn"], torch.tensor([7, 8]))])
    pieces = tok.convert_ids_to_tokens(x["input_ids"].tolist())
    assert pieces[0] == "<s>" and pieces[-1] == "</s>" and all(p.startswith("Ġ") for p in pieces[1:2])
    assert (y != -100).sum() == 2 and y[0] == -100 and y[1] == 7  # the first piece of each word
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    res = predict_tokens(learn, ["Peter Blackburn met the European Commission."])["words"]
    assert res["word"].tolist() == ["Peter", "Blackburn", "met", "the", "European", "Commission", "."]


def test_use_model_loss_trains_on_the_models_own_loss(tiny_path):
    learn = token_learner(tiny_path, metrics=[])
    learn.remove_cb(HF_BaseModelCallback)
    learn.add_cb(HF_BaseModelCallback(use_model_loss=True))
    xb, yb = learn.dls.one_batch()
    with torch.no_grad():
        model_loss = learn.model.hf_model(**{k: v for k, v in xb.items() if k in learn.model.hf_inputs}, labels=yb).loss
        ours = learn.loss_func(learn.model(xb).logits, yb)
    assert torch.allclose(model_loss, ours, atol=1e-6)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert np.isfinite(learn.recorder.values[-1][0])
