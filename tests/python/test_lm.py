"""Causal and masked language models on a tiny GPT-2 and a tiny BERT built at test time: label shifting
and padding, masking statistics, perplexity, generation and fill-mask against transformers' pipelines."""
import math
import warnings

import pandas as pd
import pytest
import torch
import transformers
from fastai_hf import (ColReader, CrossEntropyLossFlat, DataBlock, HF_BaseModelCallback, HF_BaseModelWrapper, HF_LMBlock,
                       HF_Perplexity, Learner, RandomSplitter, get_hf_objects, hf_fill_mask, hf_generate,
                       hf_load_learner, hf_save_pretrained, hf_splitter, load_learner, set_seed)
from fastai_hf.card import card_header
from fastai_hf.data import hf_tokenizer_of
from fastai_hf.data.lm import HF_LMBeforeBatchTransform
from fastai_hf.r import verbs
from fastai_hf.testing import tiny_gpt2
from helpers import r_table
from types import SimpleNamespace


@pytest.fixture(scope="module")
def gpt2_path(tmp_path_factory): return tiny_gpt2(str(tmp_path_factory.mktemp("gpt2")))


@pytest.fixture
def texts(ekman_df): return ekman_df[["text"]]


def lm_learner(path, df, lm_type, task, bs=8, use_model_loss=False, **block_kwargs):
    set_seed(0)
    hf_arch, hf_config, hf_tokenizer, hf_model = get_hf_objects(path, task=task)
    dls = DataBlock(blocks=HF_LMBlock(hf_arch, hf_config, hf_tokenizer, hf_model, lm_type=lm_type, **block_kwargs),
                    get_x=ColReader("text"), splitter=RandomSplitter(0.25, seed=0)).dataloaders(df, bs=bs)
    return Learner(dls, HF_BaseModelWrapper(hf_model), loss_func=CrossEntropyLossFlat(), metrics=HF_Perplexity(),
                   cbs=HF_BaseModelCallback(use_model_loss=use_model_loss), splitter=hf_splitter)


def causal(gpt2_path, texts, **kwargs): return lm_learner(gpt2_path, texts, "causal", "CausalLM", **kwargs)


def masked(tiny_path, texts, **kwargs): return lm_learner(tiny_path, texts, "masked", "MaskedLM", **kwargs)


def valid_batch(dls): return next(iter(dls.valid))


# ------------------------------------------------------------------------------------------ causal
def test_causal_labels_are_the_next_tokens_with_padding_ignored(gpt2_path, texts):
    learn = causal(gpt2_path, texts)
    x, y = valid_batch(learn.dls)
    ids, mask = x["input_ids"], x["attention_mask"]
    assert learn.dls.train.hf_before_batch.hf_tokenizer.pad_token is not None  # GPT-2's eos became the pad
    assert (mask == 0).any()  # padded per batch
    real = mask[:, 1:] == 1
    assert torch.equal(y[:, :-1][real], ids[:, 1:][real])  # labels[t] = input_ids[t + 1]
    assert (y[:, :-1][~real] == -100).all() and (y[:, -1] == -100).all()


def test_causal_model_loss_equals_fastai_loss(gpt2_path, texts):
    learn = causal(gpt2_path, texts)
    x, y = valid_batch(learn.dls)
    learn.model.eval()
    with torch.no_grad():
        ours = learn.loss_func(learn.model(x).logits, y)
        theirs = learn.model({**x, **hf_tokenizer_of(learn.dls).model_labels((y,))}).loss  # the model shifts itself
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_concatenated_texts_fill_rows_of_max_length(gpt2_path, texts):
    learn = causal(gpt2_path, texts, max_length=16, concatenate=True)
    tfm = hf_tokenizer_of(learn.dls)
    batch = list(texts["text"][:8])
    rows = tfm.encodes([(t,) for t in batch])
    ids = torch.stack([r[0]["input_ids"] for r in rows])
    n_tokens = sum(len(tfm.hf_tokenizer(t)["input_ids"]) + 1 for t in batch)  # + the end-of-text after each
    assert ids.shape == (math.ceil(n_tokens / 16), 16)
    mask = torch.stack([r[0]["attention_mask"] for r in rows])
    assert mask[:-1].all() and mask.sum() == n_tokens  # only the last row is padded
    eos = tfm.hf_tokenizer.eos_token_id
    assert (ids[mask == 1] == eos).sum() == len(batch)


def test_causal_generation_matches_the_text_generation_pipeline(gpt2_path, texts, tmp_path):
    learn = causal(gpt2_path, texts)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    prompts = ["I love this", "What a"]
    ours = hf_generate(learn, prompts, max_new_tokens=6, bs=1)
    hf_save_pretrained(learn, tmp_path / "gpt2")
    pipe = transformers.pipeline("text-generation", model=str(tmp_path / "gpt2"))
    for prompt, generated in zip(prompts, ours["generated"]):
        assert pipe(prompt, max_new_tokens=6, do_sample=False)[0]["generated_text"] == prompt + generated


def test_batched_prompts_are_left_padded_and_continue_each_prompt(gpt2_path, texts):
    learn = causal(gpt2_path, texts)
    prompts = ["I love this so much", "What a"]
    assert hf_generate(learn, prompts, max_new_tokens=5)["generated"].tolist() == \
        [hf_generate(learn, [p], max_new_tokens=5)["generated"][0] for p in prompts]


def test_sampling_arguments_reach_generate(gpt2_path, texts):
    learn = causal(gpt2_path, texts)
    model, seen = learn.model.hf_model, []
    original = model.generate
    model.generate = lambda *a, **kw: seen.append(kw) or original(*a, **kw)
    hf_generate(learn, ["I love"], do_sample=True, top_p=0.9, temperature=0.7, max_new_tokens=3.0)
    assert {k: seen[0][k] for k in ("do_sample", "top_p", "temperature", "max_new_tokens")} == \
        {"do_sample": True, "top_p": 0.9, "temperature": 0.7, "max_new_tokens": 3}


def test_causal_predict_verb_returns_generated_texts(gpt2_path, texts):
    learn = causal(gpt2_path, texts)
    res = verbs.call(verbs.predict, learn, ["I love"], max_new_tokens=3)
    assert res["kind"] == "causal_lm"
    assert list(r_table(res["generated"]).columns) == ["text", "generated"]


# ------------------------------------------------------------------------------------------ masked
def test_masking_statistics_follow_the_15_80_10_10_rule(tiny_path):
    hf_arch, hf_config, tok, _ = get_hf_objects(tiny_path, task="MaskedLM")
    tfm = HF_LMBeforeBatchTransform(hf_arch, hf_config, tok, lm_type="masked")
    words = "the quick brown fox jumps over the lazy dog while we watch a film".split()
    g = torch.Generator().manual_seed(0)
    texts = [" ".join(words[i] for i in torch.randint(len(words), (int(n),), generator=g))
             for n in torch.randint(5, 40, (400,), generator=g)]
    enc = tfm.tokenize(texts)
    rows = tfm.encodes([(t,) for t in texts])
    x = torch.stack([r[0]["input_ids"] for r in rows])
    y = torch.stack([r[1] for r in rows])
    original, special = enc["input_ids"], enc["special_tokens_mask"].bool()
    chosen = y != -100
    assert not (chosen & special).any()  # [CLS], [SEP] and padding are never chosen
    assert torch.equal(y[chosen], original[chosen])  # labels hold the original ids where chosen
    assert torch.equal(x[~chosen], original[~chosen])  # the rest of the input is untouched
    rate = chosen.sum().item() / (~special).sum().item()
    as_mask = (x[chosen] == tok.mask_token_id).float().mean().item()
    unchanged = (x[chosen] == original[chosen]).float().mean().item()
    random_ = 1 - as_mask - unchanged
    n = chosen.sum().item()  # about 1,000 chosen tokens: 3 standard errors is about 0.03 at most
    assert abs(rate - 0.15) < 0.015, rate
    assert abs(as_mask - 0.8) < 3 * math.sqrt(0.16 / n) + 0.005, as_mask
    assert abs(unchanged - 0.1) < 3 * math.sqrt(0.09 / n) + 0.005, unchanged  # includes random draws of the same id
    assert abs(random_ - 0.1) < 3 * math.sqrt(0.09 / n) + 0.005, random_


def test_masks_are_fixed_per_batch_and_follow_the_seed(tiny_path, texts):
    learn = masked(tiny_path, texts)
    a, b = valid_batch(learn.dls), valid_batch(learn.dls)
    assert torch.equal(a[0]["input_ids"], b[0]["input_ids"]) and torch.equal(a[1], b[1])  # validation stays comparable
    other = masked(tiny_path, texts, seed=1)
    assert not torch.equal(valid_batch(other.dls)[1], a[1])


def test_masked_lm_needs_a_mask_token(gpt2_path):
    hf_arch, hf_config, tok, _ = get_hf_objects(gpt2_path, task="CausalLM")
    with pytest.raises(ValueError, match="needs a tokenizer with a mask token"):
        HF_LMBeforeBatchTransform(hf_arch, hf_config, tok, lm_type="masked")


def test_unknown_lm_type_is_refused(tiny_path):
    with pytest.raises(ValueError, match="lm_type must be 'causal'.*or 'masked'"):
        lm_learner(tiny_path, pd.DataFrame({"text": ["a b c"] * 8}), "mlm2", "MaskedLM")


def test_missing_texts_fail_up_front(tiny_path, texts):
    texts.loc[3, "text"] = None
    with pytest.raises(ValueError, match=r"text column 'text' has 1 row .*missing \(NA\)"):
        masked(tiny_path, texts)


def test_fill_mask_matches_the_fill_mask_pipeline(tiny_path, texts, tmp_path):
    learn = masked(tiny_path, texts)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    hf_save_pretrained(learn, tmp_path / "mlm")
    pipe = transformers.pipeline("fill-mask", model=str(tmp_path / "mlm"), top_k=3)
    ours = hf_fill_mask(learn, ["I feel [MASK] today.", "[MASK] is [MASK]."], top_k=3)
    assert list(ours.columns) == ["text", "mask", "rank", "token", "score", "sequence"]
    one = ours[ours.text == "I feel [MASK] today."]
    theirs = pipe("I feel [MASK] today.")
    assert one["sequence"].tolist() == [t["sequence"] for t in theirs]
    assert one["token"].tolist() == [t["token_str"] for t in theirs]
    assert one["score"].to_numpy() == pytest.approx([t["score"] for t in theirs], rel=1e-4)
    two = ours[ours.text == "[MASK] is [MASK]."]
    theirs = [p for per_mask in pipe("[MASK] is [MASK].") for p in per_mask]
    assert two["sequence"].tolist() == [t["sequence"] for t in theirs] and two["mask"].tolist() == [1] * 3 + [2] * 3


def test_language_model_learners_export_and_load(tiny_path, gpt2_path, texts, tmp_path):
    mlm, clm = masked(tiny_path, texts), causal(gpt2_path, texts)
    mlm.export(tmp_path / "mlm.pkl")
    clm.export(tmp_path / "clm.pkl")
    assert hf_fill_mask(load_learner(tmp_path / "mlm.pkl"), ["I feel [MASK]."]).equals(hf_fill_mask(mlm, ["I feel [MASK]."]))
    assert hf_generate(load_learner(tmp_path / "clm.pkl"), ["I love"], max_new_tokens=3).equals(
        hf_generate(clm, ["I love"], max_new_tokens=3))


def test_fill_mask_needs_a_mask_in_each_text(tiny_path, texts):
    learn = masked(tiny_path, texts)
    with pytest.raises(ValueError, match=r"has no mask token '\[MASK\]'"):
        hf_fill_mask(learn, ["no mask here"])


def test_masked_predict_verb_fills_masks(tiny_path, texts):
    learn = masked(tiny_path, texts)
    res = verbs.call(verbs.predict, learn, ["I feel [MASK]."], top_k=2)
    assert res["kind"] == "masked_lm" and r_table(res["filled"])["rank"].tolist() == [1, 2]
    with pytest.raises(TypeError, match="takes top_k and bs, not \\['max_new_tokens'\\]"):
        verbs.predict(learn, ["I feel [MASK]."], max_new_tokens=3)


# -------------------------------------------------------------------------------------- perplexity
def test_perplexity_against_hand_computed_values():
    metric = HF_Perplexity()
    metric.reset()
    uniform = torch.zeros(2, 3, 7)  # uniform over 7 tokens: cross-entropy log 7 at every target
    metric.accumulate(SimpleNamespace(pred=uniform, yb=(torch.tensor([[1, 2, -100], [3, -100, -100]]),)))
    assert metric.value == pytest.approx(7.0)
    sure = torch.full((1, 2, 7), -1e4)
    sure[0, 0, 5] = sure[0, 1, 6] = 0.0  # certain and right: cross-entropy 0 on two more tokens
    metric.accumulate(SimpleNamespace(pred=sure, yb=(torch.tensor([[5, 6]]),)))
    assert metric.value == pytest.approx(math.exp(3 * math.log(7) / 5))  # token-weighted: 3 tokens of log 7 in 5
    assert metric.name == "perplexity"


def test_perplexity_is_the_exp_of_the_token_mean_loss(gpt2_path, texts):
    learn = causal(gpt2_path, texts, bs=64)  # one validation batch: the mean loss is over its tokens
    with learn.no_bar(): loss, ppl = learn.validate()
    assert ppl == pytest.approx(math.exp(loss), rel=1e-4)


# ------------------------------------------------------------------ hf_save_pretrained -> hf_load_learner
FILL = ["I feel [MASK] today.", "[MASK] is [MASK]."]


def test_loaded_causal_lm_generates_as_before(gpt2_path, texts, tmp_path):
    learn = causal(gpt2_path, texts, max_length=32)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    prompts = ["I love this", "What a"]
    ours = hf_generate(learn, prompts, max_new_tokens=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything restored, perplexity included
        loaded = hf_load_learner(hf_save_pretrained(learn, tmp_path / "clm"))
    assert hf_generate(loaded, prompts, max_new_tokens=6).equals(ours)
    assert [m.name for m in loaded.metrics] == ["perplexity"]
    tfm = hf_tokenizer_of(loaded.dls)
    assert (tfm.lm_type, tfm.max_length, tfm.concatenate) == ("causal", 32, False)


def test_loaded_masked_lm_fills_masks_as_before(tiny_path, texts, tmp_path):
    learn = masked(tiny_path, texts, mlm_probability=0.25, seed=3)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    ours = hf_fill_mask(learn, FILL, top_k=3)
    loaded = hf_load_learner(hf_save_pretrained(learn, tmp_path / "mlm"))
    assert hf_fill_mask(loaded, FILL, top_k=3).equals(ours)
    tfm, before = hf_tokenizer_of(loaded.dls), hf_tokenizer_of(learn.dls)
    assert (tfm.lm_type, tfm.seed, tfm.collator.mlm_probability) == ("masked", 3, 0.25)
    batch = [(t,) for t in texts["text"][:16]]  # masked as the learner that saved it masks them
    for (x1, y1), (x2, y2) in zip(tfm.encodes(batch), before.encodes(batch)):
        assert torch.equal(x1["input_ids"], x2["input_ids"]) and torch.equal(y1, y2)


@pytest.mark.parametrize("lm_type", ["causal", "masked"])
def test_loaded_language_model_trains_further_on_a_data_frame(lm_type, gpt2_path, tiny_path, texts, tmp_path):
    learn = causal(gpt2_path, texts) if lm_type == "causal" else masked(tiny_path, texts, seed=3)
    loaded = hf_load_learner(hf_save_pretrained(learn, tmp_path / "lm"), df=texts, seed=0, bs=16)
    assert (len(loaded.dls.train_ds), len(loaded.dls.valid_ds), loaded.dls.bs) == (96, 24, 16)
    with loaded.no_bar(): loss, ppl = loaded.validate()
    with loaded.no_bar(), loaded.no_logging(): loaded.fit(1, 1e-2)
    assert loaded.validate()[0] < loss and ppl == pytest.approx(math.exp(loss), rel=0.05)
    with pytest.raises(ValueError, match=f"dls must be {lm_type} language-model DataLoaders"):
        other = masked(tiny_path, texts) if lm_type == "causal" else causal(gpt2_path, texts)
        hf_load_learner(tmp_path / "lm", dls=other.dls)


@pytest.mark.parametrize("lm_type, task", [("causal", "text-generation"), ("masked", "fill-mask")])
def test_language_model_card_names_the_task(lm_type, task, gpt2_path, tiny_path, texts, tmp_path):
    learn = causal(gpt2_path, texts) if lm_type == "causal" else masked(tiny_path, texts)
    path = hf_save_pretrained(learn, tmp_path / "lm")
    card = (path / "README.md").read_text()
    assert card_header(card)["pipeline_tag"] == task and f'pipeline("{task}"' in card
    assert f"for {lm_type} language modeling" in card and "column `text`" in card
