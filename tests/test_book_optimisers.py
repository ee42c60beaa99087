"""No chapter or assignment uses an optimiser before the book has defined it.

Momentum and Adam are defined in labelled sections (``(sec-momentum)=`` in chapter 2,
``(sec-adam)=`` in chapter 6). Every code cell of the chapters, in the order of ``book/_toc.yml``,
and of the assignment notebooks (``solutions/<name>/<name>.ipynb``, placed at the end of the chapter
that links ``assignment-<name>``) is scanned for uses: a non-zero ``momentum=``, nnkit's numpy
``MLP`` (momentum 0.9 by default), ``Adam``, ``nnkit.pytorch.training.fit`` (Adam by default), and any
other optimiser (``RMSprop``, ``Adagrad``, ...), which the book never defines and so may not use.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
DEFINED_BY = {"momentum": "sec-momentum", "Adam": "sec-adam"}
UNDEFINED = ("RMSprop", "Adagrad", "Adadelta", "AdamW", "Adamax", "NAdam", "RAdam", "LBFGS", "SparseAdam")

CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def _chapters():
    """Chapter files in the order of the table of contents."""
    toc = (BOOK / "_toc.yml").read_text()
    return [BOOK / f"{name}.md" for name in re.findall(r"file:\s*(chapters/\S+)", toc)]


def _uses(code):
    """(optimiser, offset) for each use in a piece of code."""
    found = []
    for m in re.finditer(r"\bmomentum\s*=\s*(\d*\.?\d+)", code):
        if float(m.group(1)) > 0:
            found.append(("momentum", m.start()))
    for m in re.finditer(r"(?<!pytorch\.)\b(?:nnkit|models)\.MLP\(|^from nnkit(?:\.models)? import [^\n]*\bMLP\b", code, re.M):
        found.append(("momentum", m.start()))  # nnkit's numpy MLP trains with momentum 0.9 by default
    for m in re.finditer(r"\bAdam\b", code):
        found.append(("Adam", m.start()))
    if re.search(r"from nnkit\.pytorch(?:\.training)? import[^\n]*\bfit\b", code):
        for m in re.finditer(r"(?<![\w.])fit\(", code):
            found.append(("Adam", m.start()))  # nnkit.pytorch's fit: Adam unless given an optimizer
    for name in UNDEFINED:
        for m in re.finditer(rf"\b{name}\b", code):
            found.append((name, m.start()))
    return found


def _scan():
    """Definitions {optimiser: (chapter index, offset)} and uses [(where, optimiser, position)]."""
    chapters = _chapters()
    definitions, uses, assignment_at = {}, [], {}
    for k, path in enumerate(chapters):
        text = path.read_text()
        for opt, label in DEFINED_BY.items():
            m = re.search(rf"^\({re.escape(label)}\)=\s*$", text, re.M)
            if m:
                definitions[opt] = (k, m.start())
        for name in re.findall(r"<assignment-([a-z-]+)>", text):
            assignment_at.setdefault(name.replace("-", "_"), k)
        imports = "\n".join(re.findall(r"^from nnkit\.pytorch(?:\.training)? import[^\n]*$", text, re.M))
        for cell in CODE_CELL.finditer(text):
            for opt, offset in _uses(imports + "\n" + cell.group(1)):
                line = text[:cell.start(1)].count("\n") + 1
                uses.append((f"{path.name}, cell at line {line}", opt, (k, cell.start(1))))
    for nb in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        k = assignment_at.get(nb.parent.name)
        assert k is not None, f"no chapter links the assignment {nb.parent.name} (assignment-...)"
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for opt, _ in _uses(code):
            uses.append((f"{nb.relative_to(ROOT)} (after {chapters[k].name})", opt, (k, float("inf"))))
    return definitions, uses


def test_optimisers_are_defined_before_they_are_used():
    definitions, uses = _scan()
    assert set(definitions) == set(DEFINED_BY), f"missing definitions: {set(DEFINED_BY) - set(definitions)}"
    early = [f"{where}: {opt} before its definition" if opt in definitions
             else f"{where}: {opt}, which the book never defines"
             for where, opt, pos in uses if opt not in definitions or pos < definitions[opt]]
    assert not early, "\n".join(early)


def test_the_scan_sees_the_known_uses():
    """The book does use both (so the scan is not vacuous): chapter 5's momentum, chapter 6's Adam."""
    _, uses = _scan()
    seen = {(where.split(",")[0].split(" ")[0], opt) for where, opt, _ in uses}
    assert ("05_mlp_mnist.md", "momentum") in seen
    assert ("06_cnn_rnn.md", "Adam") in seen
    assert any(w.startswith("solutions/transfer_learning") and o == "Adam" for w, o, _ in uses)


@pytest.mark.parametrize("code, expected", [
    ("opt = SGD(p, g, lr=0.1, momentum=0.9)", {"momentum"}),
    ("opt = SGD(p, g, lr=0.1, momentum=0.0)", set()),
    ("torch.optim.Adam(model.parameters())", {"Adam"}),
    ("torch.optim.RMSprop(model.parameters())", {"RMSprop"}),
    ("from nnkit.pytorch.training import fit\nh = fit(model, loader)", {"Adam"}),
    ("net = nnkit.MLP((784, 100, 10))", {"momentum"}),
    ("net = nnkit.pytorch.models.MLP((784, 100, 10))", set()),   # PyTorch's MLP: no optimiser of its own
    ("m = LogisticRegression(lr=1.0).fit(X, y)", set()),
])
def test_uses_are_recognised(code, expected):
    assert {opt for opt, _ in _uses(code)} == expected
