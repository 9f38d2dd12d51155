"""Seq2seq (summarization, translation) on tiny T5, BART and bert2bert models built at test time: labels,
decoder inputs, truncation, bad targets, the splitter, generation metrics, generation arguments, export."""
import warnings

import pandas as pd
import pytest
import torch
from fastai_hf import (ColReader, CrossEntropyLossFlat, DataBlock, HF_BaseModelCallback, HF_BaseModelWrapper,
                       HF_Seq2SeqBlock, HF_Seq2SeqMetricsCallback, HF_Seq2SeqTargetBlock, Learner, RandomSplitter,
                       calculate_bleu, calculate_chrf, calculate_rouge, get_hf_encoder_decoder, get_hf_objects,
                       hf_generate, hf_load_learner, hf_save_pretrained, hf_splitter, load_learner, noop, set_seed)
from fastai_hf.card import card_header
from fastai_hf.checks import speaking
from fastai_hf.data import hf_tokenizer_of
from fastai_hf.modeling.seq2seq import generation_scores
from fastai_hf.r import verbs
from fastai_hf.testing import tiny_bart, tiny_t5
from helpers import r_table
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

PAIRS = pd.DataFrame({
    "text": ["The cat sat on the mat all day long.", "A dog runs in the park with a red ball.",
             "Two men talk about the weather and the news.", "She sells sea shells by the sea shore.",
             "He buys a new car for his long trip to the north.", "The children play football after school.",
             "It rains, so they stay at home and read books.", "A woman sings a song on a small stage."] * 2,
    "summary": ["cat sits", "dog runs", "men talk", "she sells shells", "he buys a car", "children play",
                "they read", "woman sings"] * 2,
})


@pytest.fixture(scope="module")
def t5_path(tmp_path_factory): return tiny_t5(str(tmp_path_factory.mktemp("t5")))


@pytest.fixture(scope="module")
def bart_path(tmp_path_factory): return tiny_bart(str(tmp_path_factory.mktemp("bart")))


@pytest.fixture(params=["t5", "bart"])
def arch_path(request, t5_path, bart_path): return {"t5": t5_path, "bart": bart_path}[request.param]


def seq2seq_dls(path, df=None, bs=4, target_block=None, **block_kwargs):
    hf_arch, hf_config, hf_tokenizer, hf_model = get_hf_objects(path, task="Seq2SeqLM")
    block = HF_Seq2SeqBlock(hf_arch, hf_config, hf_tokenizer, hf_model, **block_kwargs)
    dblock = DataBlock(blocks=[block, target_block or HF_Seq2SeqTargetBlock()], get_x=ColReader("text"),
                       get_y=ColReader("summary"), splitter=RandomSplitter(0.25, seed=0))
    return dblock.dataloaders(PAIRS.copy() if df is None else df, bs=bs), hf_tokenizer, hf_model


def seq2seq_learner(path, cbs=(), **kwargs):
    set_seed(0)
    dls, _, hf_model = seq2seq_dls(path, **kwargs)
    return Learner(dls, HF_BaseModelWrapper(hf_model), loss_func=CrossEntropyLossFlat(),
                   cbs=[HF_BaseModelCallback(), *cbs], splitter=hf_splitter)


def valid_batch(dls):
    return next(iter(dls.valid))


# ----------------------------------------------------------------------------------------- batches
def test_labels_are_target_mode_ids_padded_with_ignore_index(arch_path):
    dls, tok, _ = seq2seq_dls(arch_path)
    x, y = valid_batch(dls)
    targets = [dls.valid_ds[i][1] for i in range(len(dls.valid_ds))]
    want = tok(text_target=targets)["input_ids"]
    got = [row[row != -100].tolist() for row in y]
    assert sorted(map(tuple, got)) == sorted(map(tuple, want))  # the batch is sorted by source length
    assert y.shape[1] == max(len(t) for t in want)  # padded to the batch's longest target, not further
    assert (y == -100).any() and not (y == tok.pad_token_id).any()
    assert x["input_ids"].shape[1] == x["attention_mask"].sum(1).max()  # sources padded to their longest


def test_decoder_inputs_are_the_models_own_shift(arch_path):
    dls, _, model = seq2seq_dls(arch_path)
    x, y = valid_batch(dls)
    assert torch.equal(x["decoder_input_ids"], model.prepare_decoder_input_ids_from_labels(labels=y))
    start = model.config.decoder_start_token_id
    assert (x["decoder_input_ids"][:, 0] == start).all()
    body = y[:, :-1] != -100
    assert torch.equal(x["decoder_input_ids"][:, 1:][body], y[:, :-1][body])


def test_without_a_model_labels_are_shifted_behind_the_config_start(t5_path):
    hf_arch, hf_config, hf_tokenizer, hf_model = get_hf_objects(t5_path, task="Seq2SeqLM")
    block = HF_Seq2SeqBlock(hf_arch, hf_config, hf_tokenizer)  # no hf_model
    dls = DataBlock(blocks=[block, HF_Seq2SeqTargetBlock()], get_x=ColReader("text"), get_y=ColReader("summary"),
                    splitter=RandomSplitter(0.25, seed=0)).dataloaders(PAIRS.copy(), bs=4)
    x, y = valid_batch(dls)
    assert torch.equal(x["decoder_input_ids"], hf_model.prepare_decoder_input_ids_from_labels(labels=y))


def test_bert2bert_recipe_ids_and_no_double_start(tiny_path):
    hf_arch, hf_config, tok, model = get_hf_encoder_decoder(tiny_path)
    assert hf_arch == "encoder-decoder"
    assert (hf_config.decoder_start_token_id, hf_config.eos_token_id, hf_config.pad_token_id) == \
        (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id)
    assert model.generation_config.decoder_start_token_id == tok.cls_token_id
    block = HF_Seq2SeqBlock(hf_arch, hf_config, tok, model)
    dls = DataBlock(blocks=[block, HF_Seq2SeqTargetBlock()], get_x=ColReader("text"), get_y=ColReader("summary"),
                    splitter=RandomSplitter(0.25, seed=0)).dataloaders(PAIRS.copy(), bs=4)
    x, y = valid_batch(dls)
    assert not (y[:, 0] == tok.cls_token_id).any()  # the decoder is fed [CLS]; labels do not repeat it
    assert (x["decoder_input_ids"][:, 0] == tok.cls_token_id).all()
    assert (y == tok.sep_token_id).sum() == len(y)  # each target ends with [SEP], the eos


def test_long_targets_are_truncated_with_a_warning(t5_path):
    with pytest.warns(UserWarning, match="max_target_length=3"):
        dls, tok, _ = seq2seq_dls(t5_path, max_target_length=3)
        x, y = valid_batch(dls)
    assert y.shape[1] == 3
    assert (y[:, -1] == tok.eos_token_id).all() | (y[:, -1] == -100).all()  # truncation keeps the end token


def test_targets_that_fit_do_not_warn(t5_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dls, _, _ = seq2seq_dls(t5_path, max_target_length=64)
        valid_batch(dls)


@pytest.mark.parametrize("bad", [None, "", "   "])
def test_missing_or_empty_targets_fail_up_front(t5_path, bad):
    df = PAIRS.copy()
    df.loc[5, "summary"] = bad
    with pytest.raises(ValueError, match=r"text column 'summary' has 1 row .*rows? \[5\]"):
        seq2seq_dls(t5_path, df=df)


def test_missing_target_is_worded_for_r(t5_path):
    df = PAIRS.copy()
    df.loc[5, "summary"] = None
    with speaking("r"), pytest.raises(ValueError, match=r'"summary" has 1 row .*row 6'):
        seq2seq_dls(t5_path, df=df)


def test_blurr_noop_target_fails_when_the_batch_is_made(t5_path):
    df = PAIRS.copy()
    df["summary"] = ""
    with pytest.raises(ValueError, match="target text is empty"):
        seq2seq_dls(t5_path, df=df, target_block=noop)


# ---------------------------------------------------------------------------------- model and loss
def test_model_loss_equals_fastai_loss(arch_path):
    learn = seq2seq_learner(arch_path)
    x, y = valid_batch(learn.dls)
    learn.model.eval()
    with torch.no_grad():
        ours = learn.loss_func(learn.model(x).logits, y)
        theirs = learn.model({**x, **hf_tokenizer_of(learn.dls).model_labels((y,))}).loss
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_learner_trains_on_the_models_own_loss(t5_path):
    learn = seq2seq_learner(t5_path)
    learn.cbs.filter(lambda cb: isinstance(cb, HF_BaseModelCallback))[0].use_model_loss = True
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert torch.isfinite(torch.tensor(learn.recorder.values[-1][0]))


@pytest.mark.parametrize("kind", ["t5", "bart", "bert2bert"])
def test_splitter_groups_encoder_then_decoder_layers(kind, t5_path, bart_path, tiny_path):
    model = get_hf_encoder_decoder(tiny_path)[3] if kind == "bert2bert" else \
        AutoModelForSeq2SeqLM.from_pretrained({"t5": t5_path, "bart": bart_path}[kind])
    groups = hf_splitter(model)
    ids = [id(p) for g in groups for p in g]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # every parameter, once
    names = {id(p): n for n, p in model.named_parameters()}
    enc, dec = model.get_encoder(), model.get_decoder()
    n_enc = len(getattr(enc, "block", None) or getattr(enc, "layers", None) or enc.encoder.layer)
    n_dec = len(getattr(dec, "block", None) or getattr(dec, "layers", None) or dec.bert.encoder.layer)
    assert len(groups) in (1 + n_enc + n_dec, 2 + n_enc + n_dec)  # body | encoder | decoder (| head)
    assert all("encoder" in names[id(p)] for g in groups[1:1 + n_enc] for p in g)
    assert all("decoder" in names[id(p)] for g in groups[1 + n_enc:1 + n_enc + n_dec] for p in g)
    emb = model.get_input_embeddings().weight
    assert any(p is emb for p in groups[0])  # tied output embeddings stay with the embeddings


# ------------------------------------------------------------------------------------------ metrics
def test_rouge_against_hand_computed_values():
    # unigrams: 3 of 3 predicted match, 3 of 6 reference -> F1 = 2 * 1 * 0.5 / 1.5; bigrams 2/2 and 2/5
    scores = calculate_rouge(["the cat sat"], ["the cat sat on the mat"], use_stemmer=False)
    assert scores["rouge1"] == pytest.approx(2 / 3)
    assert scores["rouge2"] == pytest.approx(2 * 1 * 0.4 / 1.4)
    assert scores["rougeL"] == pytest.approx(2 / 3)  # longest common subsequence: 3 tokens


def test_rouge_averages_texts_and_takes_the_best_reference():
    two = calculate_rouge(["the cat sat", "a dog"], ["the cat sat", "no match here"], use_stemmer=False)
    assert two["rouge1"] == pytest.approx(0.5)
    best = calculate_rouge(["a dog"], [["no match here", "a dog"]], use_stemmer=False)
    assert best["rouge1"] == pytest.approx(1.0)


def test_bleu_against_hand_computed_value():
    # n-gram precisions 5/6, 3/5, 2/4, 1/3, equal lengths (no brevity penalty): geometric mean
    hand = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert calculate_bleu(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(hand, abs=1e-4)
    assert calculate_bleu(["a b c d e"], ["a b c d e"]) == pytest.approx(100)


def test_chrf_against_hand_computed_value():
    # character n-grams 1..6 of "abcdefg" vs "abcdefh": precision = recall = 6/7, 5/6, 4/5, 3/4, 2/3, 1/2
    hand = 100 * (6 / 7 + 5 / 6 + 4 / 5 + 3 / 4 + 2 / 3 + 1 / 2) / 6
    assert calculate_chrf(["abcdefg"], ["abcdefh"]) == pytest.approx(hand, abs=1e-4)


def test_metric_names_and_inputs_are_checked():
    with pytest.raises(ValueError, match="unknown generation metric 'rouge3'"):
        generation_scores(["a"], ["a"], ["rouge3"])
    with pytest.raises(ValueError, match="2 predicted texts but 1 references"):
        calculate_bleu(["a", "b"], ["a"])


def _recording_generate(model, calls):
    original = model.generate

    def generate(*args, **kwargs):
        calls.append({"kwargs": kwargs, "config": model.generation_config.to_dict()})
        return original(*args, **kwargs)
    model.generate = generate


def test_metrics_callback_scores_generated_text_with_the_users_settings(t5_path):
    cb = HF_Seq2SeqMetricsCallback(metrics=["rouge1", "bleu"], text_gen_kwargs={"max_new_tokens": 3, "num_beams": 2})
    learn = seq2seq_learner(t5_path, cbs=[cb])
    model = learn.model.hf_model
    calls = []
    _recording_generate(model, calls)
    with learn.no_bar(): res = learn.validate()
    names = ["valid_loss"] + [m.name for m in learn.metrics]
    assert names == ["valid_loss", "rouge1", "bleu"]
    assert len(calls) == len(learn.dls.valid) and all(c["config"]["max_new_tokens"] == 3 and
                                                      c["config"]["num_beams"] == 2 for c in calls)
    assert len(cb.preds) == len(cb.refs) == len(learn.dls.valid_ds)
    assert all(len(hf_tokenizer_of(learn.dls).hf_tokenizer(p)["input_ids"]) <= 3 + 1 for p in cb.preds)
    hand = generation_scores(cb.preds, cb.refs, ["rouge1", "bleu"])
    assert res[1] == pytest.approx(hand["rouge1"]) and res[2] == pytest.approx(hand["bleu"])
    assert sorted(cb.refs) == sorted(learn.dls.valid_ds.items["summary"])  # references: the decoded labels


def test_get_preds_does_not_generate(t5_path):
    learn = seq2seq_learner(t5_path, cbs=[HF_Seq2SeqMetricsCallback()])
    calls = []
    _recording_generate(learn.model.hf_model, calls)
    with learn.no_bar(): learn.get_preds()
    assert calls == []


def test_unknown_generation_setting_is_refused(t5_path):
    with pytest.raises(ValueError, match="does not know: \\['beams'\\]"):
        seq2seq_learner(t5_path, cbs=[HF_Seq2SeqMetricsCallback(text_gen_kwargs={"beams": 2})])


def test_model_that_cannot_generate_is_refused(tiny_path):
    hf_arch, hf_config, tok, model = get_hf_objects(tiny_path)  # a sequence classifier
    dls = DataBlock(blocks=[HF_Seq2SeqBlock(hf_arch, hf_config, tok), HF_Seq2SeqTargetBlock()], get_x=ColReader("text"),
                    get_y=ColReader("summary"), splitter=RandomSplitter(0.25, seed=0)).dataloaders(PAIRS.copy(), bs=4)
    with pytest.raises(TypeError, match="BertForSequenceClassification.*cannot generate"):
        Learner(dls, HF_BaseModelWrapper(model), cbs=[HF_BaseModelCallback(), HF_Seq2SeqMetricsCallback()])
    learn = Learner(dls, HF_BaseModelWrapper(model), loss_func=CrossEntropyLossFlat(), cbs=HF_BaseModelCallback())
    with pytest.raises(TypeError, match="cannot generate"):
        hf_generate(learn, ["a text"])


# ------------------------------------------------------------------------------------- generation
def test_generation_arguments_reach_generate(t5_path):
    learn = seq2seq_learner(t5_path)
    calls = []
    _recording_generate(learn.model.hf_model, calls)
    out = hf_generate(learn, ["a text", "another text"], num_beams=2, max_new_tokens=4.0, no_repeat_ngram_size=2)
    assert list(out.columns) == ["text", "generated"] and out["text"].tolist() == ["a text", "another text"]
    assert calls[0]["kwargs"]["num_beams"] == 2 and calls[0]["kwargs"]["max_new_tokens"] == 4
    assert isinstance(calls[0]["kwargs"]["max_new_tokens"], int)  # R's 4 arrives as 4.0
    assert calls[0]["kwargs"]["no_repeat_ngram_size"] == 2


def test_blurr_generate_and_the_predict_verb(t5_path):
    learn = seq2seq_learner(t5_path)
    one = learn.blurr_generate("a text", max_new_tokens=3)
    assert isinstance(one, str)
    res = verbs.call(verbs.predict, learn, ["a text", "another text"], max_new_tokens=3)
    assert res["kind"] == "seq2seq"
    table = r_table(res["generated"])
    assert table["text"].tolist() == ["a text", "another text"] and table["generated"].iloc[0] == one


def test_learner_exports_and_loads_with_the_metrics_callback(t5_path, tmp_path):
    cb = HF_Seq2SeqMetricsCallback(text_gen_kwargs={"max_new_tokens": 3})
    learn = seq2seq_learner(t5_path, cbs=[cb])
    with learn.no_bar(): learn.validate()
    ours = learn.blurr_generate("a text")
    learn.export(tmp_path / "s2s.pkl")
    loaded = load_learner(tmp_path / "s2s.pkl")
    assert loaded.blurr_generate("a text") == ours
    assert [m.name for m in loaded.metrics] == ["rouge1", "rouge2", "rougeL"]


def test_learner_predict_gives_the_generated_text(t5_path):
    learn = seq2seq_learner(t5_path)
    res = learn.predict("a text")
    assert list(res) == ["generated"] and res["generated"]["generated"][0] == learn.blurr_generate("a text")


def test_predict_reads_the_text_column_of_a_data_frame(t5_path):
    learn = seq2seq_learner(t5_path)
    out = hf_generate(learn, PAIRS.head(3), max_new_tokens=2)
    assert out["text"].tolist() == PAIRS["text"].head(3).tolist()


def test_generation_of_bad_texts_is_refused(t5_path):
    learn = seq2seq_learner(t5_path)
    with pytest.raises(ValueError, match="missing, empty or not strings"):
        hf_generate(learn, ["fine", None])
    with pytest.raises(ValueError, match="num_return_sequences must be 1"):
        hf_generate(learn, ["fine"], num_return_sequences=2, num_beams=2)


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_export_then_generate_gives_the_same_texts(kind, t5_path, bart_path, tmp_path):
    path = {"t5": t5_path, "bart": bart_path}[kind]
    learn = seq2seq_learner(path, cbs=[HF_Seq2SeqMetricsCallback(text_gen_kwargs={"max_new_tokens": 6, "num_beams": 2})])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)  # trained weights, not the saved ones
    texts = PAIRS["text"].tolist()[:4]
    ours = hf_generate(learn, texts)["generated"].tolist()
    hf_save_pretrained(learn, tmp_path / "model")
    # transformers 5 removed pipeline("summarization" / "translation_xx_to_yy" / "text2text-generation"); what
    # they did is tokenize, generate with the saved generation_config, decode without special tokens:
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    model = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "model").eval()
    assert model.generation_config.max_new_tokens == 6 and model.generation_config.num_beams == 2
    theirs = [tok.decode(model.generate(**tok(t, return_tensors="pt"))[0], skip_special_tokens=True) for t in texts]
    assert ours == theirs


# ------------------------------------------------------------------ hf_save_pretrained -> hf_load_learner
def _s2s_learner(kind, t5_path, bart_path, tiny_path, cbs=()):
    "A seq2seq learner on a tiny T5, BART or bert2bert (EncoderDecoderModel warm-started from a tiny BERT)."
    if kind != "bert2bert": return seq2seq_learner({"t5": t5_path, "bart": bart_path}[kind], cbs=cbs)
    set_seed(0)
    hf_arch, hf_config, tok, model = get_hf_encoder_decoder(tiny_path)
    dls = DataBlock(blocks=[HF_Seq2SeqBlock(hf_arch, hf_config, tok, model, max_target_length=8), HF_Seq2SeqTargetBlock()],
                    get_x=ColReader("text"), get_y=ColReader("summary"),
                    splitter=RandomSplitter(0.25, seed=0)).dataloaders(PAIRS.copy(), bs=4)
    return Learner(dls, HF_BaseModelWrapper(model), loss_func=CrossEntropyLossFlat(), cbs=[HF_BaseModelCallback(), *cbs],
                   splitter=hf_splitter)


@pytest.mark.parametrize("kind", ["t5", "bart", "bert2bert"])
def test_hf_load_learner_generates_as_before_with_its_metrics_callback(kind, t5_path, bart_path, tiny_path, tmp_path):
    cb = HF_Seq2SeqMetricsCallback(metrics=["rouge1", "bleu"], text_gen_kwargs={"max_new_tokens": 5, "num_beams": 2})
    learn = _s2s_learner(kind, t5_path, bart_path, tiny_path, cbs=[cb])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    texts = PAIRS["text"].tolist()[:4]
    ours = hf_generate(learn, texts)["generated"].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is "not restored": the callback and its scores come back
        loaded = hf_load_learner(hf_save_pretrained(learn, tmp_path / "model"))
    assert hf_generate(loaded, texts)["generated"].tolist() == ours
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")  # plain transformers too, with the saved settings
    model = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "model").eval()
    assert [tok.decode(model.generate(**tok(t, return_tensors="pt", return_token_type_ids=False))[0],
                       skip_special_tokens=True) for t in texts] == ours
    assert loaded.predict(texts[0])["generated"]["generated"][0] == ours[0]
    back = [c for c in loaded.cbs if isinstance(c, HF_Seq2SeqMetricsCallback)]
    assert len(back) == 1 and back[0].metric_names == ["rouge1", "bleu"]
    assert back[0].text_gen_kwargs == {"max_new_tokens": 5, "num_beams": 2}
    assert [m.name for m in loaded.metrics] == ["rouge1", "bleu"]
    tfm, before = hf_tokenizer_of(loaded.dls), hf_tokenizer_of(learn.dls)
    assert (tfm.max_length, tfm.max_target_length, tfm.start_id) == (before.max_length, before.max_target_length,
                                                                     before.start_id)


def test_loaded_seq2seq_learner_trains_further_on_a_data_frame(t5_path, tmp_path):
    learn = seq2seq_learner(t5_path, max_target_length=6)
    loaded = hf_load_learner(hf_save_pretrained(learn, tmp_path / "model"), df=PAIRS.copy(), seed=0, bs=4)
    assert (len(loaded.dls.train_ds), len(loaded.dls.valid_ds), loaded.dls.bs) == (13, 3, 4)  # valid_pct 0.2 of 16
    assert hf_tokenizer_of(loaded.dls).max_target_length == 6
    before = loaded.model.hf_model.lm_head.weight.detach().clone()
    with loaded.no_bar(), loaded.no_logging(): loaded.fit(1, 1e-2)
    assert torch.isfinite(torch.tensor(loaded.recorder.values[-1][0]))
    assert not torch.equal(before, loaded.model.hf_model.lm_head.weight)
    again = hf_load_learner(tmp_path / "model", dls=seq2seq_dls(t5_path)[0])  # or DataLoaders built by hand
    assert len(again.dls.train_ds) == 12
    with pytest.raises(ValueError, match="dls must be seq2seq DataLoaders"):
        hf_load_learner(tmp_path / "model", dls=learn_of_lm_data(tmp_path))


def learn_of_lm_data(tmp_path):
    "DataLoaders of another family (a causal LM's), to be refused."
    from fastai_hf import HF_LMBlock
    from fastai_hf.testing import tiny_gpt2
    hf_arch, hf_config, tok, model = get_hf_objects(tiny_gpt2(str(tmp_path / "gpt2")), task="CausalLM")
    return DataBlock(blocks=HF_LMBlock(hf_arch, hf_config, tok, model), get_x=ColReader("text"),
                     splitter=RandomSplitter(0.25, seed=0)).dataloaders(PAIRS.copy(), bs=4)


@pytest.mark.parametrize("metrics, task", [(["rouge1", "rougeL"], "summarization"), (["bleu", "chrf"], "translation"),
                                           (None, "text2text-generation")])
def test_the_card_names_the_task(metrics, task, t5_path, tmp_path):
    cbs = [HF_Seq2SeqMetricsCallback(metrics=metrics)] if metrics else []
    path = hf_save_pretrained(seq2seq_learner(t5_path, cbs=cbs), tmp_path / "model")
    card = (path / "README.md").read_text()
    assert card_header(card)["pipeline_tag"] == task and task in card_header(card)["tags"]
    assert f"for {task.replace('text2text-generation', 'text-to-text generation')} (sequence to sequence)" in card
    assert "column `text`" in card and "column `summary`" in card and "AutoModelForSeq2SeqLM" in card
