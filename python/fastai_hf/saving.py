"""Saving and loading learners without losing anything: fastai's `export`, `save` and `save_encoder`
made transactional, and a `load_learner` that says what a file is when it is not an export.

fastai 2.8's `Learner.export` swaps the learner's DataLoaders for empty ones and drops its optimizer
before pickling, and restores them only when pickling succeeds: a failed export (missing folder, an
attribute that cannot be pickled, a full disk) left the learner without data or optimizer, and a
failure part-way through left a truncated stub in place of a good earlier export. Here every write
goes through `atomic_file` (a temporary file beside the target, renamed into place when complete),
and the learner gets its DataLoaders and optimizer back whatever happens (`try`/`finally`, the same
optimizer object with its state). Importing this module patches `Learner.export`, `Learner.save`
(also used by `SaveModelCallback` and `lr_find`) and `TextLearner.save_encoder`.
"""
import errno
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import cloudpickle
import torch
from fastai.learner import Learner, save_model
from fastai.text.learner import TextLearner
from fastai.torch_core import default_device, get_model, rank_distrib
from fastcore.basics import patch
from fastcore.xtras import join_path_file

from .atomic import atomic_file
from .checks import advice, show

__all__ = ["load_learner"]

# What pickling raises for an object it cannot save (a lock, an open file, a generator, ...).
_PICKLE_ERRORS = (pickle.PicklingError, TypeError, AttributeError, NotImplementedError)


@patch
def export(self: Learner, fname="export.pkl", pickle_module=cloudpickle, pickle_protocol=2):
    """fastai's `export`, transactional: the file at `self.path/fname` is replaced only by a complete
    export, and the learner keeps its DataLoaders, optimizer and weights whatever fails. Returns the path."""
    if rank_distrib(): return None  # don't export from a child process (as fastai)
    target = Path(self.path) / fname
    self._end_cleanup()
    dls, opt = self.dls, self.opt
    try:
        self.dls, self.opt = dls.new_empty(), None
        with atomic_file(target) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's warning that the model source is not checked (as fastai)
            try:
                torch.save(self, tmp, pickle_module=pickle_module, pickle_protocol=pickle_protocol)
            except _PICKLE_ERRORS as e:
                kept = " and the file that was there is unchanged" if target.exists() else ""
                raise TypeError(
                    f"could not export the learner to {show(str(target))}: something it holds cannot be saved "
                    f"({type(e).__name__}: {e}), e.g. an attribute or callback holding an open file, a lock or a "
                    "connection. Remove it first (" + advice("learn.remove_cb(cb)", "learn$remove_cb(cb)")
                    + "), or save only the weights with " + advice("learn.save(name)", "save_model(learn, name)")
                    + f" or hf_save_pretrained(). Nothing was written{kept}; the learner is unchanged") from e
    finally:
        self.dls, self.opt = dls, opt
    return target


@patch
def save(self: Learner, file, **kwargs):
    """fastai's `save` (model and, with `with_opt`, optimizer state to `self.path/self.model_dir/file.pth`),
    written atomically: an earlier file of that name stays whole until the new one is complete."""
    file = join_path_file(file, Path(self.path) / self.model_dir, ext=".pth")
    if rank_distrib(): return file  # fastai's save_model writes nothing in a child process
    if not isinstance(file, (str, os.PathLike)):  # a file object: written as fastai does
        save_model(file, self.model, getattr(self, "opt", None), **kwargs)
        return file
    with atomic_file(file) as tmp:
        save_model(tmp, self.model, getattr(self, "opt", None), **kwargs)
    return file


@patch
def save_encoder(self: TextLearner, file):
    """fastai's `save_encoder` (the encoder's weights to `self.path/self.model_dir/file.pth`), written
    atomically. Returns the path."""
    if rank_distrib(): return None
    encoder = get_model(self.model)[0]
    if hasattr(encoder, "module"): encoder = encoder.module
    path = join_path_file(file, Path(self.path) / self.model_dir, ext=".pth")
    with atomic_file(path) as tmp:
        torch.save(encoder.state_dict(), tmp)
    return path


# What torch.load raises on a file that is not a pickle or a torch zip archive.
_NOT_AN_EXPORT = (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, RuntimeError, ValueError, UnicodeDecodeError,
                  IndexError, KeyError, OverflowError, MemoryError)

_warned = False


def _export_how():
    return advice("learn.export('export.pkl')", "export(learn, \"export.pkl\")")


def _what_it_holds(obj):
    "A few words on what a torch file that is not a learner holds, and how to load that instead."
    if isinstance(obj, dict) and ("model" in obj or all(isinstance(v, torch.Tensor) for v in obj.values())):
        return ("model weights (what " + advice("learn.save()", "save_model()") + " writes), not a whole learner; load "
                "them into a learner built the same way with " + advice("learn.load(name)", "load_model(learn, name)"))
    return f"a {type(obj).__name__}, not a learner"


def load_learner(fname, cpu=True, pickle_module=pickle):
    """fastai's `load_learner` (a Learner from a file written by `learn.export()`, on the CPU by default)
    with errors that name the file and say what it is when it is not an export: missing, a folder, empty,
    not a pickle (a csv, a truncated file), or weights from `learn.save()`. Only load files you trust:
    unpickling can run code."""
    if not isinstance(fname, (str, os.PathLike)):  # a file object: as fastai does
        from fastai.learner import load_learner as fastai_load_learner
        return fastai_load_learner(fname, cpu=cpu, pickle_module=pickle_module)
    path = Path(os.fspath(fname)).expanduser()
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"file {show(str(path))} does not exist, so there is no learner to load; "
                                              f"check the path, or export a learner first with {_export_how()}",
                                str(path))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{show(str(path))} is a folder; load_learner reads the file that "
                                              f"{_export_how()} writes. A Hugging Face model folder (from "
                                              "hf_save_pretrained) loads with get_hf_objects(folder)", str(path))
    if path.stat().st_size == 0:
        raise ValueError(f"{show(str(path))} is empty (0 bytes), not a learner exported with {_export_how()}; export "
                         "the learner again")
    global _warned
    if not _warned:  # fastai's notice, once per session (fastai repeats it at every load)
        warnings.warn("load_learner uses Python's pickle module, which can run arbitrary code while loading: only load "
                      "files you trust. To share weights only, use learn.save() / learn.load() or hf_save_pretrained()",
                      stacklevel=2)
        _warned = True
    try:
        res = torch.load(path, map_location="cpu" if cpu else default_device(), pickle_module=pickle_module,
                         weights_only=False)
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(f"{show(str(path))} was exported with the Python module {e.name!r}, which is not "
                                  "installed here; install it, then load again", name=e.name) from e
    except AttributeError as e:
        raise AttributeError(f"{show(str(path))} refers to a class or function that is not defined here ({e}); define "
                             "or import it before loading (custom callbacks, losses and functions are saved by "
                             "name)") from e
    except _NOT_AN_EXPORT as e:
        head = path.read_bytes()[:64]
        is_text = head and all(32 <= b < 127 or b in b"\t\r\n" for b in head)
        text = " (it looks like a text file, e.g. a csv)" if is_text else ""
        raise ValueError(f"{show(str(path))} is not a learner exported with {_export_how()}{text}: it cannot be read "
                         f"as one ({type(e).__name__}: {e}). Pass the file export() wrote, or export the learner "
                         "again") from e
    if not isinstance(res, Learner):
        raise TypeError(f"{show(str(path))} holds {_what_it_holds(res)}")
    if cpu:  # as fastai's load_learner
        res.dls.cpu()
        if hasattr(res, "channels_last"): res = res.to_contiguous(to_fp32=True)
        elif hasattr(res, "mixed_precision"): res = res.to_fp32()
        elif hasattr(res, "non_native_mixed_precision"): res = res.to_non_native_fp32()
    return res
