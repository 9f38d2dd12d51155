import pytest
import torch
from fastai_hf import HF_BaseModelWrapper, hf_splitter
from fastai_hf.modeling import prediction_of, problem_type, sync_config, wrapper_of
from helpers import EKMAN, hf_objects, make_learner
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
    assert model(batch).logits.shape == (2, 3)
    groups = hf_splitter(model)  # distilbert: embeddings | transformer.layer[0], [1] | pre_classifier + classifier
    assert len(groups) == 4


def test_wrapper_rejects_non_models():
    with pytest.raises(TypeError, match="hf_model must be"):
        HF_BaseModelWrapper("bert")


@pytest.mark.parametrize("which,problem", [("multi_learn", "multi_label_classification"),
                                           ("single_learn", "single_label_classification")])
def test_config_follows_the_data(which, problem, request):
    config = request.getfixturevalue(which).model.hf_model.config
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
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)  # every batch is cancelled before its step
    model_loss, fastai_loss = losses[0]
    assert model_loss == pytest.approx(fastai_loss, rel=1e-4)


# ----------------------------------------------------------------- what the task families share
def test_prediction_of_a_model_output_is_its_logits():
    from transformers.modeling_outputs import QuestionAnsweringModelOutput, SequenceClassifierOutput
    logits, start, end = torch.zeros(2, 3), torch.zeros(2, 5), torch.ones(2, 5)
    assert prediction_of(SequenceClassifierOutput(logits=logits)) is logits
    assert prediction_of(QuestionAnsweringModelOutput(start_logits=start, end_logits=end)) == (start, end)
    assert prediction_of(logits) is logits  # anything else passes unchanged


def test_wrapper_of_finds_the_wrapper_inside_data_parallel(tiny_path):
    wrapper = HF_BaseModelWrapper(hf_objects(tiny_path, 2)[3])
    assert wrapper_of(wrapper) is wrapper and wrapper_of(torch.nn.DataParallel(wrapper)) is wrapper
    assert wrapper_of(torch.nn.Linear(2, 2)) is None


@pytest.mark.parametrize("which,problem", [("multi_learn", "multi_label_classification"),
                                           ("single_learn", "single_label_classification"), ("ulmfit_lm", None)])
def test_problem_type_of_the_data(which, problem, request):
    assert problem_type(request.getfixturevalue(which).dls) == problem


def test_sync_config_leaves_other_learners_alone(ulmfit_clas):
    sync_config(ulmfit_clas)  # an AWD_LSTM classifier has no HF config to write


def test_wrapper_passes_its_output_options(tiny_path):
    tok = AutoTokenizer.from_pretrained(tiny_path)
    model = HF_BaseModelWrapper(hf_objects(tiny_path, 2)[3], output_hidden_states=True).eval()
    out = model(dict(tok(["a text"], return_tensors="pt")))
    assert len(out.hidden_states) == 3  # embeddings and the 2 layers


def test_hf_splitter_must_not_be_called_with_a_name():
    with pytest.raises(TypeError, match="Pass it uncalled, as splitter=hf_splitter"):
        hf_splitter("bert")
