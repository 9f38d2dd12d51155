import pytest
import torch
from conftest import EKMAN, make_learner
from fastai_hf import HF_BaseModelWrapper, hf_splitter
from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification


def n_trainable(learn, group):
    return sum(p.requires_grad for p in learn.opt.param_lists[group])


def test_splitter_groups_embeddings_layers_head(tiny_path, ekman_df):
    learn = make_learner(tiny_path, ekman_df)
    groups = hf_splitter(learn.model)
    bert = learn.model.hf_model.bert
    assert len(groups) == 1 + len(bert.encoder.layer) + 1  # embeddings | each layer | head
    assert {id(p) for p in groups[0]} == {id(p) for p in bert.embeddings.parameters()}
    assert {id(p) for p in groups[1]} == {id(p) for p in bert.encoder.layer[0].parameters()}
    head = list(learn.model.hf_model.classifier.parameters()) + list(bert.pooler.parameters())
    assert {id(p) for p in groups[-1]} == {id(p) for p in head}
    assert sum(len(g) for g in groups) == len(list(learn.model.parameters()))  # every parameter, once


def test_freeze_trains_the_head_and_freeze_to_opens_groups(tiny_path, ekman_df):
    learn = make_learner(tiny_path, ekman_df, train_bn=False)
    learn.create_opt()
    learn.freeze()
    trainable = {id(p) for p in learn.model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in learn.opt.param_lists[-1]}
    learn.freeze_to(-2)
    assert n_trainable(learn, -2) == len(learn.opt.param_lists[-2]) and n_trainable(learn, 0) == 0
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())


def test_frozen_training_leaves_the_body_unchanged(tiny_path, ekman_df):
    learn = make_learner(tiny_path, ekman_df, train_bn=False)
    learn.freeze()
    emb = learn.model.hf_model.bert.embeddings.word_embeddings.weight.detach().clone()
    head = learn.model.hf_model.classifier.weight.detach().clone()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    assert torch.equal(emb, learn.model.hf_model.bert.embeddings.word_embeddings.weight)
    assert not torch.equal(head, learn.model.hf_model.classifier.weight)


def test_slice_spreads_learning_rates(tiny_path, ekman_df):
    learn = make_learner(tiny_path, ekman_df)
    learn.create_opt()
    learn.opt.set_hyper("lr", slice(1e-5, 1e-3))  # what fit(..., lr=slice(lo, hi)) does
    lrs = [h["lr"] for h in learn.opt.hypers]
    assert lrs[0] == pytest.approx(1e-5) and lrs[-1] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(lrs, lrs[1:]))


def test_wrapper_passes_only_the_inputs_the_model_takes(tiny_path):
    tok = AutoTokenizer.from_pretrained(tiny_path)
    cfg = DistilBertConfig(vocab_size=tok.vocab_size, dim=32, hidden_dim=64, n_layers=2, n_heads=2, num_labels=3)
    model = HF_BaseModelWrapper(DistilBertForSequenceClassification(cfg))
    batch = dict(tok(["one text", "another one here"], padding=True, return_tensors="pt"))
    assert "token_type_ids" in batch and "token_type_ids" not in model.hf_inputs
    assert model(batch).shape == (2, 3)
    groups = hf_splitter(model)  # distilbert: embeddings | transformer.layer[0], [1] | pre_classifier + classifier
    assert len(groups) == 4


def test_wrapper_rejects_non_models():
    with pytest.raises(TypeError, match="hf_model must be"):
        HF_BaseModelWrapper("bert")


def test_config_follows_the_data(multi_learn, single_learn):
    for learn, problem in [(multi_learn, "multi_label_classification"), (single_learn, "single_label_classification")]:
        config = learn.model.hf_model.config
        assert config.problem_type == problem
        assert config.id2label == dict(enumerate(EKMAN)) and config.label2id == {l: i for i, l in enumerate(EKMAN)}


def test_model_loss_equals_the_learner_loss(tiny_path, ekman_df):
    "use_model_loss trains on the loss the HF model computes: for BCE, the same value as BCEWithLogitsLossFlat."
    from fastai_hf import HF_BaseModelCallback
    learn = make_learner(tiny_path, ekman_df)
    learn.remove_cb(HF_BaseModelCallback)
    learn.add_cb(HF_BaseModelCallback(use_model_loss=True))
    learn.model.eval()
    xb, yb = learn.dls.one_batch()
    losses = []

    class Grab(HF_BaseModelCallback.__base__):
        order = 50
        def after_loss(self): losses.append((float(self.learn.loss), float(learn.loss_func(self.pred, *self.yb))))
        def before_backward(self): raise __import__("fastai").callback.core.CancelBatchException()

    learn.add_cb(Grab())
    learn.model.hf_model.config.hidden_dropout_prob = 0.0
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 0.0)
    model_loss, fastai_loss = losses[0]
    assert model_loss == pytest.approx(fastai_loss, rel=1e-4)
