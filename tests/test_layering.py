"""The layers of nnkit: the numpy core stays light (importing nnkit and nnkit.data loads no torch,
matplotlib or ipywidgets and takes well under a second), and every import of every nnkit module,
read from the source, keeps to the layering rule of :data:`LAYERS`."""
import ast
import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "matplotlib", "ipywidgets")

PROBE = """
import json, sys, time
t = time.process_time()   # CPU time: robust to other processes on a busy machine
import nnkit, nnkit.data
elapsed = time.process_time() - t
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"elapsed": elapsed, "heavy": heavy}}))
"""


def _probe(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_nnkit_loads_no_heavy_package_and_is_fast():
    result = _probe(PROBE.format(heavy=set(HEAVY)))
    assert result["heavy"] == []
    assert result["elapsed"] < 1.0, f"import nnkit, nnkit.data took {result['elapsed']:.2f} s of CPU time"


def test_core_names_and_lazy_load_mnist():
    code = """
import json, sys
import nnkit
names = ["activations", "losses", "layers", "models", "optim", "gradcheck", "Dense", "Sequential",
         "ReLU", "Dropout", "MLP", "Perceptron", "LogisticRegression", "SGD", "check_layer",
         "softmax_cross_entropy"]
missing = [n for n in names if not hasattr(nnkit, n)]
before = "nnkit.data" in sys.modules
from nnkit.data import load_mnist
print(json.dumps({"missing": missing, "same": nnkit.load_mnist is load_mnist,
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
""" % (set(HEAVY),)
    result = _probe(code)
    assert result["missing"] == []
    assert result["same"] is True
    assert result["heavy"] == []


# --- the layering rule, checked statically over every import of every nnkit module --------------

NNKIT = Path(__file__).resolve().parent.parent / "nnkit"

#: The layers of nnkit, lowest first. A module belongs to the layer of the longest prefix its dotted
#: name starts with (``nnkit`` alone is the package's ``__init__``, part of the numpy core); every
#: module must belong to one. Each layer may import its own modules, the nnkit layers listed, and any
#: third-party package but those it forbids. So: the numpy core imports no torch, matplotlib,
#: ipywidgets and no other nnkit layer; plotting never imports widgets, grading or course; pytorch
#: never imports plotting, widgets, grading or course; grading never imports course; and nothing
#: but nnkit.course imports nnkit.course.
LAYERS = {
    # layer:      (module prefixes,                      nnkit layers it may import,   packages it may not)
    "core":       (("nnkit", "nnkit.activations", "nnkit.losses", "nnkit.layers", "nnkit.models",
                    "nnkit.optim", "nnkit.gradcheck", "nnkit.data",
                    "nnkit.files"),   # atomic file writes (standard library only), shared by every layer
                   (), ("torch", "matplotlib", "ipywidgets")),
    "plotting":   (("nnkit.plotting",),   ("core",),                                 ("torch", "ipywidgets")),
    "pytorch":    (("nnkit.pytorch",),    ("core",),                                 ("matplotlib", "ipywidgets")),
    "pretrained": (("nnkit.pretrained",), ("core", "pytorch"),                       ("matplotlib", "ipywidgets")),
    "widgets":    (("nnkit.widgets",),    ("core", "plotting"),                      ("torch",)),
    "grading":    (("nnkit.grading",),    ("core", "pytorch", "pretrained"),         ("matplotlib", "ipywidgets")),
    "course":     (("nnkit.course",),     ("core", "plotting", "pytorch", "pretrained", "widgets", "grading"), ()),
}


def _layer_of(module):
    """The layer of a dotted nnkit module name (None if no layer claims it)."""
    best, best_len = None, -1
    for layer, (prefixes, _, _) in LAYERS.items():
        for p in prefixes:
            matches = module == p or (p != "nnkit" and module.startswith(p + "."))
            if matches and len(p) > best_len:
                best, best_len = layer, len(p)
    return best


def _module_name(path, root=NNKIT):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_nnkit_module(dotted, root=NNKIT):
    base = root.parent.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(tree, module, is_package, is_module=_is_nnkit_module):
    """(line, dotted name) of everything a module imports, at any depth (inside functions too):
    ``import a.b``, ``from a import b`` (``a.b`` where that is a module, else ``a``), relative
    imports resolved against the module's package, ``importlib.import_module("a.b")``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if alias.name != "*" and is_module(sub) else base
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and not node.args[0].value.startswith(".")):
            yield node.lineno, node.args[0].value


def layering_violations(source, module, is_package=False, where="<module>", is_module=_is_nnkit_module):
    """``file:line imports X (layer A may not import layer B)`` for each import that breaks the rule."""
    layer = _layer_of(module)
    if layer is None:
        return [f"{where}: module {module} belongs to no layer of LAYERS"]
    _, allowed, forbidden = LAYERS[layer]
    out = []
    for line, target in _imports(ast.parse(source), module, is_package, is_module):
        top = target.split(".")[0]
        if top == "nnkit":
            other = _layer_of(target)
            if other is None:
                out.append(f"{where}:{line} imports {target} (a module of no layer of LAYERS)")
            elif other != layer and other not in allowed:
                out.append(f"{where}:{line} imports {target} (layer {layer} may not import layer {other})")
        elif top in forbidden:
            out.append(f"{where}:{line} imports {target} (layer {layer} may not import {top})")
    return out


def test_every_import_of_nnkit_keeps_to_the_layers():
    modules = sorted(NNKIT.rglob("*.py"))
    assert len(modules) > 40
    problems = []
    for path in modules:
        problems += layering_violations(path.read_text(encoding="utf-8"), _module_name(path),
                                        path.name == "__init__.py", str(path.relative_to(NNKIT.parent)))
    assert not problems, "imports against the layering rule:\n" + "\n".join(problems)


def test_the_layering_check_sees_relative_and_function_level_imports():
    source = ("import numpy as np\nfrom . import toy\n\n\ndef f():\n    from ..pytorch import models\n"
              "    import matplotlib.pyplot as plt\n    from nnkit.course import cli\n"
              "    return importlib.import_module('nnkit.widgets')\n")
    problems = layering_violations(source, "nnkit.data.extra", where="nnkit/data/extra.py",
                                   is_module=lambda d: d in {"nnkit.data.toy", "nnkit.pytorch.models"})
    assert problems == [
        "nnkit/data/extra.py:6 imports nnkit.pytorch.models (layer core may not import layer pytorch)",
        "nnkit/data/extra.py:7 imports matplotlib.pyplot (layer core may not import matplotlib)",
        "nnkit/data/extra.py:8 imports nnkit.course (layer core may not import layer course)",
        "nnkit/data/extra.py:9 imports nnkit.widgets (layer core may not import layer widgets)",
    ], problems
    assert layering_violations("from ..course import sandbox\n", "nnkit.grading.checks") == [
        "<module>:1 imports nnkit.course.sandbox (layer grading may not import layer course)"]
    assert layering_violations("from .. import plotting\n", "nnkit.pytorch", is_package=True) == [
        "<module>:1 imports nnkit.plotting (layer pytorch may not import layer plotting)"]
    assert layering_violations("import torch\nfrom nnkit import widgets\n", "nnkit.plotting.images") == [
        "<module>:1 imports torch (layer plotting may not import torch)",
        "<module>:2 imports nnkit.widgets (layer plotting may not import layer widgets)"]
    assert layering_violations("from nnkit.course import cli\n", "nnkit.course.steps") == []
    assert layering_violations("x = 1\n", "nnkit.somewhere_new")[0].endswith("belongs to no layer of LAYERS")
