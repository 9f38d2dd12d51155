import socket

import pytest
from helpers import hf_objects
from fastai_hf import HF_TASKS_ALL, HF_TASKS_AUTO, get_hf_objects, minilm_path
from fastai_hf.hub import _looks_like_path


def test_task_enums_name_the_auto_classes():
    for task in ["SequenceClassification", "TokenClassification", "QuestionAnswering", "CausalLM", "MaskedLM", "Seq2SeqLM"]:
        assert HF_TASKS_AUTO[task].name == task
        assert HF_TASKS_ALL[task].name == task
    # ALL also holds tasks that only some architectures have (no Auto class)
    assert set(t.name for t in HF_TASKS_AUTO) < set(t.name for t in HF_TASKS_ALL)


def test_get_hf_objects_loads_a_local_folder_without_network(tiny_path, monkeypatch):
    def no_network(*args, **kwargs): raise AssertionError("tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    hf_arch, hf_config, hf_tokenizer, hf_model = hf_objects(tiny_path, 5)
    assert hf_arch == "bert"
    assert hf_config.num_labels == 5 and hf_model.config is hf_config
    assert hf_model.classifier.out_features == 5
    assert hf_tokenizer("hello world")["input_ids"][0] == hf_tokenizer.cls_token_id


def test_get_hf_objects_defaults_to_sequence_classification(tiny_path):
    _, config, _, model = get_hf_objects(tiny_path, config_kwargs={"num_labels": 3})
    assert type(model).__name__ == "BertForSequenceClassification" and config.num_labels == 3


def test_get_hf_objects_other_task(tiny_path):
    _, _, _, model = get_hf_objects(tiny_path, task=HF_TASKS_AUTO.MaskedLM)
    assert type(model).__name__ == "BertForMaskedLM"


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        get_hf_objects(str(tmp_path / "no-such-model"))


def test_folder_without_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="could not load the config"):
        get_hf_objects(str(tmp_path))


def test_bad_config_and_task_types(tiny_path):
    with pytest.raises(TypeError, match="config must be"):
        get_hf_objects(tiny_path, config={"num_labels": 3})
    with pytest.raises(ValueError, match="no AutoModelForNoSuchTask"):
        get_hf_objects(tiny_path, task="NoSuchTask")


@pytest.mark.parametrize("name,is_path", [("distilroberta-base", False), ("org/model", False), ("/abs/model", True),
                                          ("./model", True), ("~/model", True), ("a/b/c", True)])
def test_hub_ids_and_paths_are_told_apart(name, is_path):
    assert _looks_like_path(name) is is_path


def test_minilm_ships_with_the_wheel():
    _, config, tokenizer, _ = get_hf_objects(minilm_path(), config_kwargs={"num_labels": 2})
    assert config.model_type == "bert" and config.num_hidden_layers == 6
    assert tokenizer.tokenize("fastai")[0] != tokenizer.unk_token
