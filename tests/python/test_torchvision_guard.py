"""fastai_hf/_torchvision.py: a torchvision that fails to import is hidden before transformers sees it.

Each case runs in a fresh interpreter (sys.modules is process-wide) with a fake torchvision package
first on sys.path: broken (raises at import like PyPI's build beside a CPU torch), working, or none.
"""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import fastai_hf
import pytest

CORE = Path(fastai_hf.__file__).resolve().parent        # the fastai_hf package under test
GUARD = CORE / "_torchvision.py"
BROKEN = 'raise RuntimeError("operator torchvision::nms does not exist")\n'


def fake_torchvision(root, init):
    "A torchvision package with installed-distribution metadata (transformers reads its version)."
    (root / "torchvision").mkdir(parents=True)
    (root / "torchvision" / "__init__.py").write_text(init)
    meta = root / "torchvision-0.29.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.29.1\n")
    return root


def run(code, path=()):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, [*path, CORE.parent]))}
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout.split()


# The guard module alone, loaded from its file (importing fastai_hf._torchvision would run the whole
# package __init__ first): what it returns and leaves in sys.modules.
GUARD_ONLY = textwrap.dedent(f"""
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("guard", {str(GUARD)!r})
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)   # runs hide_broken_torchvision() once, as the package import does
    print("torchvision" in sys.modules, sys.modules.get("torchvision", "absent") is None,
          importlib.util.find_spec("torchvision") is None, guard.hide_broken_torchvision())
""")


def test_a_broken_torchvision_is_hidden(tmp_path):
    fake = fake_torchvision(tmp_path, BROKEN)
    # in sys.modules as None, so find_spec says absent; calling again changes nothing
    assert run(GUARD_ONLY, [fake]) == ["True", "True", "True", "False"]


def test_a_working_torchvision_is_left_alone(tmp_path):
    fake = fake_torchvision(tmp_path, "ok = True\n")
    assert run(GUARD_ONLY + "print(sys.modules['torchvision'].ok)", [fake]) == ["True", "False", "False", "False", "True"]


def test_without_torchvision_nothing_happens():
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("this environment has torchvision installed")
    assert run(GUARD_ONLY) == ["False", "False", "True", "False"]


def test_transformers_works_beside_a_broken_torchvision(tmp_path):
    fake = fake_torchvision(tmp_path, "import torch\n" + BROKEN)
    out = run("""
        import sys, fastai_hf
        from transformers import BertModel              # fails without the guard
        from transformers.utils import is_torchvision_available
        print(sys.modules["torchvision"] is None, is_torchvision_available(), BertModel.__name__)
    """, [fake])
    assert out == ["True", "False", "BertModel"]


def test_the_guard_runs_first_in_the_package():
    imports = [ln for ln in (CORE / "__init__.py").read_text().splitlines() if ln.startswith(("import ", "from "))]
    assert imports[0].startswith("from . import _torchvision")
