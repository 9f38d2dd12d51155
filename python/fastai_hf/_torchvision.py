"""Hide a torchvision that cannot be imported, before transformers looks for it.

fastai depends on torchvision, so pip and uv install PyPI's build of it. Beside a torch from another
build (the CPU wheel from download.pytorch.org or a local wheel) its import fails with
`RuntimeError: operator torchvision::nms does not exist`, and transformers, which imports
torchvision whenever it is installed, then fails too: `import transformers` breaks although
fastai's text API and this package never use torchvision. `make setup` and `install_fastai()`
uninstall it; environments that cannot uninstall (reticulate's `py_require()`, built by uv) rely on
this module instead, imported first by `fastai_hf/__init__.py`.

Only when torchvision is installed and its import fails, `sys.modules["torchvision"]` becomes None:
`importlib.util.find_spec` then reports it absent (transformers' availability check) and
`import torchvision` raises ImportError, which the libraries that treat it as optional expect.
A torchvision that imports is left alone.
"""
import importlib.util
import sys


def hide_broken_torchvision():
    "Returns True when a broken torchvision was hidden."
    if "torchvision" in sys.modules: return False  # already imported (or already hidden)
    try:
        if importlib.util.find_spec("torchvision") is None: return False
    except (ImportError, ValueError):
        return False
    try:
        import torchvision  # noqa: F401
    except Exception:  # RuntimeError (missing C++ operators), ImportError, OSError (missing libraries)
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision"] = None
        return True
    return False


hide_broken_torchvision()
