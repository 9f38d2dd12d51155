"""Extractive question answering on a tiny BERT (and a tiny RoBERTa) built at test time: windows and
answer mapping, data checks, loss, SQuAD metrics, the answer decoder, predict, show, export."""
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
from fastai_hf import (HF_TASKS_AUTO, ColReader, DataBlock, HF_AnswerBlock, HF_BaseModelCallback, HF_BaseModelWrapper,
                       HF_QABlock, HF_QstAndAnsModelCallback, Learner, MultiTargetLoss, RandomSplitter, SquadExactMatch,
                       SquadF1, get_hf_objects, hf_load_learner, hf_save_pretrained, hf_splitter, load_learner,
                       load_squad, predict_qa, run_record, set_seed, squad_metrics)
from fastai_hf.card import card_header
from fastai_hf.checks import speaking
from fastai_hf.data.qa import HF_QABeforeBatchTransform, answer_positions
from fastai_hf.modeling.qa import best_answer, normalize_answer, squad_exact_match, squad_f1
from fastai_hf.r.verbs import predict as r_predict
from fastai_hf.show import show_batch_df, show_results_df
from fastai_hf.testing import tiny_roberta
from helpers import load_state, quiet_fit, state_bytes
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

# Words that are one word piece each in MiniLM's (BERT uncased) vocabulary: token positions are word positions.
WORDS = ("red blue green house tree river city music book water stone light night house table chair road field "
         "bread milk horse bird fish cloud rain snow wind fire gold silver paper glass door window garden hill "
         "lake ship train king queen star moon").split()
CONTEXT = " ".join(WORDS)


def qa_df(n=24):
    "`n` real SQuAD questions (the first rows of the local train split)."
    return load_squad("train", n_rows=n)


def qa_objects(path, **tokenizer_kwargs):
    return get_hf_objects(path, task=HF_TASKS_AUTO.QuestionAnswering, tokenizer_kwargs=tokenizer_kwargs or None)


def qa_dblock(path, max_length=96, stride=24, **tokenizer_kwargs):
    arch, _, tok, model = qa_objects(path, **tokenizer_kwargs)
    dblock = DataBlock(blocks=[HF_QABlock(hf_arch=arch, hf_tokenizer=tok, max_length=max_length, stride=stride),
                               HF_AnswerBlock()],
                       get_x=ColReader(["question", "context"]), get_y=ColReader(["answer_text", "answer_start"]),
                       splitter=RandomSplitter(seed=0))
    return dblock, model


def qa_learner(path, df=None, bs=4, metrics=None, **kwargs):
    set_seed(0)
    dblock, model = qa_dblock(path, **kwargs)
    dls = dblock.dataloaders(qa_df() if df is None else df, bs=bs)
    return Learner(dls, HF_BaseModelWrapper(model), cbs=HF_BaseModelCallback(), splitter=hf_splitter,
                   metrics=[SquadExactMatch(), SquadF1()] if metrics is None else metrics)


@pytest.fixture(scope="module")
def _trained(tiny_path):
    learn = qa_learner(tiny_path)
    return state_bytes(quiet_fit(learn, "fit_one_cycle", 1, 1e-3).model)


@pytest.fixture
def reader(tiny_path, _trained):
    "A QA learner with trained weights (windows of 96 tokens, stride 24), new for each test."
    learn = qa_learner(tiny_path)
    load_state(learn.model, _trained)
    return learn


@pytest.fixture(scope="module")
def bert_tok(tiny_path):
    return qa_objects(tiny_path)[2]


# -------------------------------------------------------------------------------- answer mapping
def test_answer_positions_inside_at_the_border_and_outside():
    offsets = [(0, 0), (0, 4), (0, 0), (0, 3), (4, 8), (9, 12), (0, 0)]  # [CLS] q [SEP] c0 c1 c2 [SEP]
    ctx = [False, False, False, True, True, True, False]
    assert answer_positions(offsets, ctx, 4, 12) == (4, 5)       # ends on the window's last context token
    assert answer_positions(offsets, ctx, 0, 3) == (3, 3)        # starts on its first
    assert answer_positions(offsets, ctx, 9, 14) == (0, 0)       # runs past the window: CLS
    assert answer_positions(offsets, ctx, 20, 24) == (0, 0)      # elsewhere in the context: CLS
    assert answer_positions(offsets, ctx, 5, 7, cls_index=2) == (4, 4)  # a part of a token: that token


def test_windows_overlap_by_stride_and_each_maps_its_answer_or_cls(bert_tok):
    assert all(len(bert_tok.tokenize(w)) == 1 for w in WORDS)
    tfm = HF_QABeforeBatchTransform(hf_tokenizer=bert_tok, max_length=24, stride=6)
    question = "which colour?"  # [CLS] which colour ? [SEP] ... [SEP]: 18 context tokens a window
    n_q = len(bert_tok.tokenize(question))
    per_window = 24 - n_q - 3
    checked = 0
    # every one- and two-word answer, wherever it falls: inside, across or outside each window
    for i in range(len(WORDS)):
        for n in (1, 2):
            if i + n > len(WORDS): continue
            start = len(" ".join(WORDS[:i])) + (1 if i else 0)
            answer = " ".join(WORDS[i:i + n])
            assert CONTEXT[start:start + len(answer)] == answer
            rows = tfm([([question, CONTEXT], torch.tensor([start, start + len(answer)]))])
            assert len(rows) == int(np.ceil((len(WORDS) - per_window) / (per_window - 6))) + 1
            for w, (x, s, e) in enumerate(rows):
                first = w * (per_window - 6)  # the window's first context word
                inside = first <= i and i + n <= first + per_window
                if inside:
                    assert (s.item(), e.item()) == (n_q + 2 + i - first, n_q + 2 + i - first + n - 1)
                    assert tfm.decode_span(x["input_ids"], s.item(), e.item()) == answer
                else:
                    assert (s.item(), e.item()) == (0, 0)
                checked += 1
    assert checked > 200


def test_a_batch_holds_a_row_per_window_with_what_evaluation_needs(reader):
    xb, start, end = reader.dls.one_batch()
    n = len(xb["input_ids"])
    assert start.shape == end.shape == (n,) and n >= reader.dls.bs
    assert xb["sample_index"].tolist() == sorted(xb["sample_index"].tolist())  # a question's windows are adjacent
    assert len(xb["context"]) == len(xb["question"]) == n and xb["word_spans"].shape == (*xb["input_ids"].shape, 2)
    for i in range(n):  # labelled windows point at the gold answer's tokens
        if start[i] == 0: continue
        a, b = xb["answer"][i].tolist()
        spans = xb["word_spans"][i]
        assert spans[start[i], 0] <= a and spans[end[i], 1] >= b


# ----------------------------------------------------------------------------------- bad input
def test_an_answer_not_at_its_offset_names_the_row_and_the_fix(tiny_path):
    dblock, _ = qa_dblock(tiny_path)
    df = qa_df(6)
    df.loc[2, "answer_start"] += 1  # as if counted from 1
    with pytest.raises(ValueError, match=r"not found in their context at their offset \(row \[2\]\).*look 1-based"):
        dblock.dataloaders(df, bs=2)
    with speaking("r"), pytest.raises(ValueError, match=r"\(row 3\).*df\[\[\"answer_start\"\]\] - 1"):
        dblock.dataloaders(df, bs=2)
    df = qa_df(6)
    df.loc[4, "answer_text"] = "not in the paragraph at all"
    with pytest.raises(ValueError, match=r"row \[4\].*does not occur in its context at all"):
        dblock.dataloaders(df, bs=2)
    df = qa_df(6)
    df["answer_start"] = df["answer_start"].astype(float)
    df.loc[1, "answer_start"] = 1.5
    with pytest.raises(ValueError, match=r"must hold whole numbers >= 0.*row \[1\]"):
        dblock.dataloaders(df, bs=2)


def test_empty_contexts_or_questions_name_the_rows(tiny_path):
    dblock, _ = qa_dblock(tiny_path)
    for col in ("context", "question"):
        df = qa_df(6)
        df.loc[3, col] = "  "
        with pytest.raises(ValueError, match=rf"text column '{col}' has 1 row whose text is empty \(row \[3\]\)"):
            dblock.dataloaders(df, bs=2)
        with speaking("r"), pytest.raises(ValueError, match=r"\(row 4\); drop them"):
            dblock.dataloaders(df, bs=2)


def test_stride_must_be_smaller_than_max_length(bert_tok):
    with pytest.raises(ValueError, match="stride \\(64\\) must be smaller than max_length \\(64\\)"):
        HF_QABeforeBatchTransform(hf_tokenizer=bert_tok, max_length=64, stride=64)


# ----------------------------------------------------------------------------------- loss, metrics
def test_the_default_loss_is_the_models_own(reader):
    xb, start, end = reader.dls.one_batch()
    assert isinstance(reader.loss_func, MultiTargetLoss)
    model = reader.model.hf_model.eval()
    with torch.no_grad():
        out = model(**{k: v for k, v in xb.items() if k in reader.model.hf_inputs}, start_positions=start,
                    end_positions=end)
        ours = reader.loss_func((out.start_logits, out.end_logits), start, end)
    assert torch.allclose(out.loss, ours, atol=1e-6)


def test_use_model_loss_passes_start_and_end_positions(tiny_path):
    learn = qa_learner(tiny_path, df=qa_df(12), metrics=[])
    learn.remove_cb(HF_BaseModelCallback)
    learn.add_cb(HF_QstAndAnsModelCallback(use_model_loss=True))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert np.isfinite(learn.recorder.values[-1][0])


def test_squad_scores_against_hand_computed_values():
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert squad_exact_match("the Eiffel tower.", "Eiffel Tower") == 1.0
    assert squad_exact_match("Eiffel", "Eiffel Tower") == 0.0
    assert squad_f1("the cat sat", "cat sat down") == pytest.approx(0.8)  # P = 2/2, R = 2/3
    assert squad_f1("dog", "cat") == 0.0
    assert squad_f1("cat sat", ["a dog", "cat sat"]) == 1.0  # the best of several gold answers


def _window(start, end, n=8):
    "One window of `n` tokens: CLS at 0, context tokens 3.. (their word spans one char apart)."
    ok = np.array([True, False, False] + [True] * (n - 3))
    spans = np.array([[-1, -1]] * 3 + [[2 * j, 2 * j + 1] for j in range(n - 3)])
    return np.asarray(start, np.float32), np.asarray(end, np.float32), ok, spans


def test_best_answer_never_returns_cls_and_respects_the_answer_length():
    context = "a b c d e"
    s = [9, 0, 0, 1, 5, 0, 0, 0]  # CLS has the highest logits: never chosen
    e = [9, 0, 0, 0, 0, 5, 0, 1]
    ans, score, a, b = best_answer(*[[v] for v in _window(s, e)], context, max_answer_length=30)
    assert (ans, a, b) == ("b c", 2, 5) and 0 < score < 1
    e = [9, 0, 0, 0, 0, 0, 0, 8]  # the best end is 3 tokens past the best start
    assert best_answer(*[[v] for v in _window(s, e)], context, max_answer_length=4)[0] == "b c d e"
    short = best_answer(*[[v] for v in _window(s, e)], context, max_answer_length=2)[0]
    assert len(short.split()) <= 2 and short != "b c d e"


def test_best_answer_adds_the_scores_of_the_same_answer_in_several_windows():
    context = "a b c d e"
    w1 = _window([0, 0, 0, 0, 4, 0, 0, 0], [0, 0, 0, 0, 4, 0, 0, 0])  # "b" in windows 1 and 2
    w2 = _window([0, 0, 0, 0, 4, 0, 0, 0], [0, 0, 0, 0, 4, 0, 0, 0])
    w3 = _window([0, 0, 0, 0, 0, 0, 5, 0], [0, 0, 0, 0, 0, 0, 5, 0])  # "d": higher alone
    ans, score, *_ = best_answer(*[list(v) for v in zip(w1, w2, w3)], context)
    single = best_answer(*[[v] for v in w3], context)[1]
    assert ans == "b" and score > single


def test_in_loop_metrics_equal_squad_metrics_on_the_validation_rows(reader):
    with reader.no_bar(): loss, em, f1 = reader.validate()
    table = squad_metrics(reader)
    assert table["n"] == len(reader.dls.valid_ds)
    assert em == pytest.approx(table["exact_match"]) and f1 == pytest.approx(table["f1"])


# ----------------------------------------------------------------------------------------- predict
def test_predict_qa_formats_and_answers_from_the_context(reader):
    df = load_squad("valid", n_rows=5)
    res = predict_qa(reader, df)
    assert list(res.columns) == ["answer", "score", "start", "end"] and len(res) == 5
    for ctx, r in zip(df["context"], res.itertuples()):
        assert r.answer.strip() and ctx[r.start:r.end] == r.answer and 0 < r.score <= 1
    pair = predict_qa(reader, (df.question[0], df.context[0]))
    kw = predict_qa(reader, question=df.question.tolist()[:2], context=df.context.tolist()[:2])
    pairs = predict_qa(reader, list(zip(df.question[:2], df.context[:2])))
    pd.testing.assert_frame_equal(pair, res.head(1))
    pd.testing.assert_frame_equal(kw, res.head(2))
    pd.testing.assert_frame_equal(pairs, res.head(2))
    pd.testing.assert_frame_equal(reader.predict((df.question[0], df.context[0]))["answers"], res.head(1))


def test_a_short_context_still_gets_an_answer(reader):
    res = predict_qa(reader, question="Who?", context="Ada.")
    assert res["answer"].tolist() == ["Ada."] or res["answer"].tolist() == ["Ada"]


def test_bad_predict_inputs(reader):
    with pytest.raises(ValueError, match=r"1 context\(s\) are missing, empty or not strings \(row \[1\]"):
        predict_qa(reader, question=["a?", "b?"], context=["text", ""])
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        predict_qa(reader, question=["a?", "b?"], context=["text"])


def test_r_predict_counts_characters_from_one(reader):
    df = load_squad("valid", n_rows=2)
    res = r_predict(reader, df)["answers"]
    py = predict_qa(reader, df)
    assert (res["start"] == py["start"] + 1).all() and (res["end"] == py["end"]).all()  # substr(context, start, end)


# ---------------------------------------------------------------------------------- show, export
def test_show_batch_and_show_results_tables(reader):
    batch = show_batch_df(reader.dls, max_n=4)
    assert list(batch.columns) == ["question", "context", "answer"] and len(batch) == 4
    res = show_results_df(reader, max_n=3)
    assert list(res.columns) == ["question", "context", "answer", "predicted"]


def test_export_round_trips(reader, tmp_path):
    df = load_squad("valid", n_rows=3)
    reader.export(tmp_path / "reader.pkl")
    pd.testing.assert_frame_equal(predict_qa(load_learner(tmp_path / "reader.pkl"), df), predict_qa(reader, df))


def test_hf_save_pretrained_folder_gives_the_same_logits(reader, tmp_path):
    path = hf_save_pretrained(reader, tmp_path / "qa")
    model = AutoModelForQuestionAnswering.from_pretrained(str(path)).eval()
    tok = AutoTokenizer.from_pretrained(str(path))
    df = load_squad("valid", n_rows=1)
    enc = tok(df.question[0], df.context[0], truncation="only_second", max_length=96, return_tensors="pt")
    with torch.no_grad():
        theirs = model(**enc)
        ours = reader.model.eval()(dict(enc))
    assert torch.allclose(theirs.start_logits, ours.start_logits, atol=1e-5)
    assert torch.allclose(theirs.end_logits, ours.end_logits, atol=1e-5)


def test_hf_load_learner_answers_as_before(reader, tmp_path):
    path = hf_save_pretrained(reader, tmp_path / "qa")
    spec = json.loads((path / "fastai_hf.json").read_text())
    ts = spec["task_settings"]
    assert spec["task"] == "question_answering" and (ts["max_length"], ts["stride"], ts["max_answer_length"]) == (96, 24, 30)
    assert [ts[k] for k in ("question_column", "context_column", "answer_text_column", "answer_start_column")] == \
        ["question", "context", "answer_text", "answer_start"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loss and metrics come back: nothing "not restored"
        learn = hf_load_learner(path)
    tfm = learn.dls.train.hf_before_batch
    assert isinstance(tfm, HF_QABeforeBatchTransform) and (tfm.max_length, tfm.stride) == (96, 24)
    assert isinstance(learn.loss_func, MultiTargetLoss) and learn.loss_func.weights == [0.5, 0.5]
    assert [(type(m), m.max_answer_length) for m in learn.metrics] == [(SquadExactMatch, 30), (SquadF1, 30)]
    df = load_squad("valid", n_rows=6)
    pd.testing.assert_frame_equal(predict_qa(learn, df), predict_qa(reader, df))
    pd.testing.assert_frame_equal(predict_qa(learn, df, max_answer_length=3), predict_qa(reader, df, max_answer_length=3))


def test_a_custom_multi_target_loss_and_blurrs_callback_come_back(tiny_path, tmp_path):
    learn = qa_learner(tiny_path, metrics=[SquadF1(max_answer_length=12)])
    learn.loss_func = MultiTargetLoss(weights=(0.25, 0.75))
    learn.remove_cb(HF_BaseModelCallback)
    learn.add_cb(HF_QstAndAnsModelCallback())
    path = hf_save_pretrained(learn, tmp_path / "qa")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = hf_load_learner(path)
    assert loaded.loss_func.weights == [0.25, 0.75] and loaded.metrics[0].max_answer_length == 12
    xb, *yb = learn.dls.one_batch()
    with torch.no_grad():
        pred = learn.model.eval()(xb)
        pred = (pred.start_logits, pred.end_logits)
    assert torch.equal(learn.loss_func(pred, *yb), loaded.loss_func(pred, *yb))


def test_a_loaded_reader_trains_further_on_a_data_frame(reader, tmp_path):
    path = hf_save_pretrained(reader, tmp_path / "qa")
    learn = hf_load_learner(path, df=qa_df(12), valid_pct=0.25, seed=0, bs=4)
    assert (len(learn.dls.train_ds), len(learn.dls.valid_ds)) == (9, 3)
    before = [p.detach().clone() for p in learn.model.parameters()]
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert any(not torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))
    fit = run_record(learn)["fits"][-1]
    assert fit["n_train"] == 9 and set(fit["metrics"]) >= {"exact_match", "squad_f1"}
    assert hf_load_learner(path, dls=reader.dls).dls is reader.dls


def test_the_card_names_the_task_windows_and_the_pipeline(reader, tmp_path):
    card = (hf_save_pretrained(reader, tmp_path / "qa") / "README.md").read_text()
    assert card_header(card)["pipeline_tag"] == "question-answering"
    assert "for question answering" in card and "windows of 96 tokens (24 tokens shared" in card
    assert 'pipeline("question-answering", model="qa")' in card and "max_seq_len=96, doc_stride=24, max_answer_len=30" in card


# A folder holding transformers 4.x (pip install --target): the variable (`make test-python` sets it, so CI
# always runs the test; a wrong folder fails it), else where `make test-python` puts it.
TRANSFORMERS4 = (os.environ.get("FASTAI_HF_TRANSFORMERS4")
                 or str(Path(__file__).resolve().parents[2] / "build" / "transformers4"))


@pytest.mark.skipif(not (os.environ.get("FASTAI_HF_TRANSFORMERS4") or os.path.isdir(TRANSFORMERS4)),
                    reason="transformers 5 removed pipeline('question-answering'); `make test-python` installs "
                    "transformers 4 into build/transformers4 (or set FASTAI_HF_TRANSFORMERS4 to such a folder)")
def test_the_question_answering_pipeline_of_transformers_4_gives_the_same_answers(reader, tmp_path):
    path = hf_save_pretrained(reader, tmp_path / "qa")
    df = load_squad("valid", n_rows=12)
    ours = predict_qa(reader, df, max_answer_length=15)
    (tmp_path / "in.json").write_text(df[["question", "context"]].to_json(orient="records"))
    code = ("import json, sys\nfrom transformers import pipeline\n"
            f"pipe = pipeline('question-answering', model={str(path)!r}, device='cpu')\n"
            f"rows = json.load(open({str(tmp_path / 'in.json')!r}))\n"
            "out = [pipe(question=r['question'], context=r['context'], max_seq_len=96, doc_stride=24, max_answer_len=15)"
            " for r in rows]\n"
            f"json.dump(out, open({str(tmp_path / 'out.json')!r}, 'w'))\n")
    env = {**os.environ, "PYTHONPATH": TRANSFORMERS4, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads((tmp_path / "out.json").read_text())
    assert [t["answer"] for t in theirs] == ours["answer"].tolist()
    assert [(t["start"], t["end"]) for t in theirs] == list(zip(ours["start"], ours["end"]))
    np.testing.assert_allclose([t["score"] for t in theirs], ours["score"], rtol=1e-4)


# --------------------------------------------------------------------------------- other families
def test_a_tiny_roberta_reads_windows_and_answers(tmp_path):
    df = qa_df(12)
    path = tiny_roberta(str(tmp_path / "roberta"), corpus=df["context"].tolist() + df["question"].tolist())
    learn = qa_learner(path, df=df, metrics=[], max_length=64, stride=16)
    xb, start, end = learn.dls.one_batch()
    assert len(xb["input_ids"]) > learn.dls.bs  # long contexts became several windows
    tfm = learn.dls.train.hf_before_batch
    for i in range(len(start)):
        if start[i] == 0: continue
        a, b = xb["answer"][i].tolist()
        assert normalize_answer(tfm.decode_span(xb["input_ids"][i], int(start[i]), int(end[i]))) == \
            normalize_answer(xb["context"][i][a:b])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    res = predict_qa(learn, df.head(3))
    assert all(c[s:e] == a and a for c, a, s, e in zip(df.context, res.answer, res.start, res.end))
