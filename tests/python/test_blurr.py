"""blurr's client code runs as written: `HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model)` by
position, and `learn.model(xb).logits` on a batch, while fastai's loop sees the logits."""
import pytest
import torch
from fastai_hf import (BCEWithLogitsLossFlat, Callback, ColReader, DataBlock, HF_BaseModelCallback,
                       HF_BaseModelWrapper, HF_BeforeBatchTransform, HF_TextBlock, Learner, MultiCategoryBlock,
                       RandomSplitter, TransformBlock, hf_splitter, set_seed)
from helpers import EKMAN, hf_objects, quiet_fit


def dataloaders(text_block, df):
    set_seed(0)
    return DataBlock(blocks=[text_block, MultiCategoryBlock(encoded=True, vocab=EKMAN)], get_x=ColReader("text"),
                     get_y=ColReader(EKMAN), splitter=RandomSplitter(seed=0)).dataloaders(df, bs=8)


def batches(dl):
    set_seed(1)
    return list(dl)


def assert_same_batches(a, b):
    assert len(a) == len(b) > 0
    for (xa, ya), (xb, yb) in zip(a, b):
        assert xa.keys() == xb.keys()
        assert all(torch.equal(xa[k], xb[k]) for k in xa) and torch.equal(ya, yb)


@pytest.fixture
def hf(tiny_path):
    "blurr's four objects: (hf_arch, hf_config, hf_tokenizer, hf_model)."
    return hf_objects(tiny_path, len(EKMAN))


@pytest.fixture
def positional_learn(hf, ekman_df):
    "The learner as blurr's notebooks build it, HF_TextBlock's arguments by position."
    hf_arch, hf_config, hf_tokenizer, hf_model = hf
    dls = dataloaders(HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model), ekman_df)
    return Learner(dls, HF_BaseModelWrapper(hf_model), loss_func=BCEWithLogitsLossFlat(),
                   cbs=HF_BaseModelCallback(), splitter=hf_splitter)


def test_hf_text_block_is_a_transform_block(hf):
    hf_arch, hf_config, hf_tokenizer, hf_model = hf
    assert isinstance(HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model), TransformBlock)


def test_positional_form_keeps_blurrs_four_objects(hf, ekman_df):
    hf_arch, hf_config, hf_tokenizer, hf_model = hf
    tfm = dataloaders(HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model), ekman_df).train.hf_before_batch
    assert (tfm.hf_arch, tfm.hf_config, tfm.hf_tokenizer, tfm.hf_model) == (hf_arch, hf_config, hf_tokenizer, hf_model)


def test_positional_and_keyword_forms_build_the_same_dataloaders(hf, ekman_df):
    hf_arch, hf_config, hf_tokenizer, hf_model = hf
    pos = dataloaders(HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model), ekman_df)
    kw = dataloaders(HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer), ekman_df)
    assert type(pos.train) is type(kw.train)
    assert list(pos.train.items.index) == list(kw.train.items.index)
    assert list(pos.valid.items.index) == list(kw.valid.items.index)
    assert_same_batches(batches(pos.train), batches(kw.train))
    assert_same_batches(batches(pos.valid), batches(kw.valid))


def test_the_older_two_argument_form_still_works(hf, ekman_df):
    "(hf_arch, hf_tokenizer): the tokenizer in second place, as fastai_hf's earlier versions took it."
    hf_arch, _, hf_tokenizer, _ = hf
    two = dataloaders(HF_TextBlock(hf_arch, hf_tokenizer), ekman_df)
    kw = dataloaders(HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer), ekman_df)
    assert_same_batches(batches(two.valid), batches(kw.valid))


def test_before_batch_transform_takes_blurrs_positions(hf):
    hf_arch, hf_config, hf_tokenizer, hf_model = hf
    tfm = HF_BeforeBatchTransform(hf_arch, hf_config, hf_tokenizer, hf_model, 12)
    assert tfm.hf_tokenizer is hf_tokenizer and tfm.max_length == 12
    assert HF_BeforeBatchTransform(hf_arch, hf_tokenizer).hf_tokenizer is hf_tokenizer


def test_model_output_has_logits(positional_learn):
    "blurr's wrapper returned the model's output: client code reads `.logits` (and `.loss`, ...)."
    xb, yb = positional_learn.dls.one_batch()
    positional_learn.model.eval()
    with torch.no_grad():
        out = positional_learn.model(xb)
    assert out.logits.shape == (len(yb), len(EKMAN))
    assert torch.equal(out["logits"], out.logits)


def test_fastai_sees_the_logits_during_training(positional_learn):
    seen = []

    class Spy(Callback):
        order = HF_BaseModelCallback.order + 1
        def after_pred(self): seen.append(self.learn.pred)
        def after_loss(self): seen.append(self.learn.loss)

    positional_learn.add_cb(Spy())
    quiet_fit(positional_learn, "fit", 1, 1e-3)
    preds = seen[0::2]
    assert all(torch.is_tensor(p) and p.shape[1] == len(EKMAN) for p in preds)
    assert all(torch.isfinite(l) for l in seen[1::2])


def test_callback_keeps_the_whole_output_for_the_batch(positional_learn):
    kept = []

    class Spy(Callback):
        order = HF_BaseModelCallback.order + 1
        def after_pred(self): kept.append(self.learn.hf_base_model.hf_output)

    positional_learn.add_cb(Spy())
    quiet_fit(positional_learn, "fit", 1, 1e-3)
    assert all(torch.equal(o.logits, o["logits"]) for o in kept)
    assert positional_learn.hf_base_model.hf_output is None  # released after each batch


def test_fit_and_predict(positional_learn):
    quiet_fit(positional_learn, "fit_one_cycle", 1, 1e-3)
    labels, hits, probs = positional_learn.predict("What a lovely surprise!")
    assert probs.shape == (len(EKMAN),) and list(labels) == [l for l, h in zip(EKMAN, hits) if h]
    df = positional_learn.hf_predict(["one text", "another"])
    assert list(df.columns) == EKMAN + ["predicted"]
