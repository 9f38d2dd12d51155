"""The package's layering, read from the source with `ast` (importing would run every module anyway):
no import cycles, `checks` imports nothing of the package, and the core never imports `fastai_hf.r`."""
import ast
from pathlib import Path

import fastai_hf

PACKAGE = Path(fastai_hf.__file__).parent


def module_names(root):
    "Dotted module name -> file, for every .py file under the package folder `root`."
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = [root.name, *f.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__": parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def import_graph(root):
    """Module -> the package's modules it imports (anywhere in the file, functions included).
    `from pkg import name` counts as importing `pkg.name` when that is a module, else `pkg`."""
    modules = module_names(root)
    graph = {}
    for name, f in modules.items():
        is_pkg = f.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]  # the package a relative import starts from
        targets = set()
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                bases, names = [a.name for a in node.names], []
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    up = here[:len(here) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                else:
                    base = node.module
                bases, names = [base], [a.name for a in node.names]
            else:
                continue
            for base in bases:
                if base.split(".")[0] != root.name: continue
                subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules]
                targets.update(subs)
                if len(subs) < len(names) or not names:
                    # a name defined in the module itself (or `import pkg.mod`): the module, or the
                    # deepest package holding it
                    mod = base
                    while mod not in modules: mod = mod.rsplit(".", 1)[0]
                    targets.add(mod)
        targets.discard(name)
        graph[name] = targets
    return graph


def find_cycle(graph):
    "One import cycle as a list of modules (first == last), or None."
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open": return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found: return found
        stack.pop()
        state[n] = "done"
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found: return found
    return None


def test_the_graph_sees_real_imports():
    "The reader finds the imports written in the package (relative, absolute, of names and of modules)."
    g = import_graph(PACKAGE)
    assert {"fastai_hf.checks", "fastai_hf.data.core", "fastai_hf.modeling.core", "fastai_hf.r.verbs"} <= set(g)
    assert "fastai_hf.checks" in g["fastai_hf.data.core"]                         # from ..checks import ...
    assert "fastai_hf.data.core" in g["fastai_hf.data.classification"]            # from .core import ...
    assert {"fastai_hf.predict", "fastai_hf.r.convert"} <= g["fastai_hf.r.verbs"]  # from ..predict / .convert
    assert "fastai_hf.data" in g["fastai_hf"]                                    # from .data import ...


def test_the_cycle_finder_finds_cycles(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import c\n")  # a lazy import counts too
    (pkg / "c.py").write_text("import pkg.a\n")
    g = import_graph(pkg)
    assert g["pkg.a"] == {"pkg.sub.b"} and g["pkg.sub.b"] == {"pkg.c"} and g["pkg.c"] == {"pkg.a"}
    assert find_cycle(g) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    (pkg / "c.py").write_text("")
    assert find_cycle(import_graph(pkg)) is None


def test_no_import_cycles():
    assert find_cycle(import_graph(PACKAGE)) is None


def test_checks_is_a_leaf():
    assert import_graph(PACKAGE)["fastai_hf.checks"] == set()


def test_the_core_does_not_import_the_r_layer():
    g = import_graph(PACKAGE)
    r_layer = {m for m in g if m == "fastai_hf.r" or m.startswith("fastai_hf.r.")}
    offenders = {m: sorted(g[m] & r_layer) for m in set(g) - r_layer if g[m] & r_layer}
    assert offenders == {}


def test_every_module_defines_what_it_exports():
    "Each name in a module's `__all__` exists (a stale `__all__` breaks `from module import *`)."
    import importlib
    missing = {}
    for name in module_names(PACKAGE):
        mod = importlib.import_module(name)
        absent = [n for n in getattr(mod, "__all__", []) if not hasattr(mod, n)]
        if absent: missing[name] = absent
    assert missing == {}


def test_the_star_import_gives_fastai_and_the_hf_layer():
    ns = {}
    exec("from fastai_hf import *", ns)
    assert {"Learner", "TextBlock", "AWD_LSTM", "HF_TextBlock", "HF_BaseModelWrapper", "predict_texts",
            "interpretation", "history_df", "show_batch_df", "text_tokens"} <= set(ns)
