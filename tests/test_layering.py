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


def _package_of(module, is_package):
    """The package a module's relative imports start from: the module itself if it is a package."""
    return module if is_package else module.rpartition(".")[0]


def _from_module(node, package):
    """The dotted name a ``from X import ...`` node imports from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    parts = parts[:len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _imports(tree, module, is_package, is_module=_is_nnkit_module):
    """(line, dotted name) of everything a module imports, at any depth (inside functions too):
    ``import a.b``, ``from a import b`` (``a.b`` where that is a module, else ``a``), relative
    imports resolved against the module's package, ``importlib.import_module("a.b")``."""
    package = _package_of(module, is_package)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _from_module(node, package)
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
    assert layering_violations("from ..course import autograde\n", "nnkit.grading.checks") == [
        "<module>:1 imports nnkit.course.autograde (layer grading may not import layer course)"]
    assert layering_violations("from .. import plotting\n", "nnkit.pytorch", is_package=True) == [
        "<module>:1 imports nnkit.plotting (layer pytorch may not import layer plotting)"]
    assert layering_violations("import torch\nfrom nnkit import widgets\n", "nnkit.plotting.images") == [
        "<module>:1 imports torch (layer plotting may not import torch)",
        "<module>:2 imports nnkit.widgets (layer plotting may not import layer widgets)"]
    assert layering_violations("from nnkit.course import cli\n", "nnkit.course.steps") == []
    assert layering_violations("x = 1\n", "nnkit.somewhere_new")[0].endswith("belongs to no layer of LAYERS")


# --- no private name crosses a module boundary ----------------------------------------------------

def _is_private(name):
    """``_x`` and ``__x`` are private to their module; dunder names such as ``__version__`` are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _nnkit_module_aliases(tree, package, is_module=_is_nnkit_module):
    """The names a module's imports bind to nnkit modules, each with the module's dotted name:
    ``import nnkit.a.b`` binds ``nnkit``, ``import nnkit.a.b as m`` binds ``m`` and
    ``from nnkit.a import b`` (relative too) binds ``b`` where ``nnkit.a.b`` is a module."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "nnkit":
                    aliases[alias.asname or "nnkit"] = alias.name if alias.asname else "nnkit"
        elif isinstance(node, ast.ImportFrom):
            base = _from_module(node, package)
            for alias in node.names:
                if base.split(".")[0] == "nnkit" and is_module(f"{base}.{alias.name}"):
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    return aliases


def _dotted(node):
    """``"a.b.c"`` for the expression ``a.b.c`` (a name and attributes only), else None."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return ".".join([node.id] + attrs[::-1]) if isinstance(node, ast.Name) else None


def private_name_violations(source, module, is_package=False, where="<module>", is_module=_is_nnkit_module):
    """``file:line ...`` for each private name of another nnkit module that a module uses, spelled
    ``from <nnkit module> import _x`` (absolute or relative) or ``<alias of an nnkit module>._x``."""
    tree = ast.parse(source)
    package = _package_of(module, is_package)
    aliases = _nnkit_module_aliases(tree, package, is_module)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _from_module(node, package)
            if base.split(".")[0] == "nnkit":
                found += [(node.lineno, node.col_offset, f"imports the private name {alias.name} of {base}")
                          for alias in node.names if _is_private(alias.name)
                          and (base != module or is_module(f"{base}.{alias.name}"))]  # not its own names
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            head, _, rest = (_dotted(node.value) or "").partition(".")
            if head in aliases:
                target = aliases[head] + (f".{rest}" if rest else "")
                if target != module and (not rest or is_module(target)):
                    found.append((node.lineno, node.col_offset, f"uses the private name {node.attr} of {target}"))
    return [f"{where}:{line} {what}" for line, _, what in sorted(found)]


def test_no_private_name_crosses_a_module_boundary():
    modules = sorted(NNKIT.rglob("*.py"))
    assert len(modules) > 40 and any(p.parent.name == "course" for p in modules)
    problems = []
    for path in modules:
        problems += private_name_violations(path.read_text(encoding="utf-8"), _module_name(path),
                                            path.name == "__init__.py", str(path.relative_to(NNKIT.parent)))
    assert not problems, "private names used across modules (make them public):\n" + "\n".join(problems)


def test_the_private_name_check_sees_imports_and_attributes():
    source = ("import numpy as np\nimport nnkit.models\nimport nnkit.data.mnist as mn\nfrom . import cases\n"
              "from .cases import SHOWN, _show, __version__\n\n\ndef f():\n"
              "    from ..pytorch.transfer import _one_thread\n"
              "    return cases._draw, mn._subset_arrays(), nnkit.models._augment, cases.__doc__, np._x, f._y\n")
    problems = private_name_violations(source, "nnkit.grading.extra", where="nnkit/grading/extra.py",
                                       is_module=lambda d: d in {"nnkit.grading.cases", "nnkit.models",
                                                                 "nnkit.data.mnist", "nnkit.pytorch.transfer"})
    assert problems == [
        "nnkit/grading/extra.py:5 imports the private name _show of nnkit.grading.cases",
        "nnkit/grading/extra.py:9 imports the private name _one_thread of nnkit.pytorch.transfer",
        "nnkit/grading/extra.py:10 uses the private name _draw of nnkit.grading.cases",
        "nnkit/grading/extra.py:10 uses the private name _subset_arrays of nnkit.data.mnist",
        "nnkit/grading/extra.py:10 uses the private name _augment of nnkit.models",
    ], problems
    assert private_name_violations("from ._axes import MARKERS, new_axes\n", "nnkit.plotting.boundaries") == []
    assert private_name_violations("from . import _axes\n", "nnkit.plotting", is_package=True) == [
        "<module>:1 imports the private name _axes of nnkit.plotting"]
    assert private_name_violations("from nnkit.grading.cases import _show\n", "nnkit.grading.cases") == []
