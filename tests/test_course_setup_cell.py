"""The set-up cell (nnkit.course.setup_cell): its code, its insertion into notebooks, and a real run
in a kernel whose environment has no nnkit (it installs the local checkout, not from the network).
"""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

from nnkit.course import setup_cell as sc

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/nnkit-course/nnkit-course"
VERSION = "0.1.0"


def _transformed(source: str) -> str:
    """The cell as IPython runs it (``%pip`` becomes ``get_ipython().run_line_magic(...)``)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


# ---------------------------------------------------------------- the cell's code


def test_source_pins_the_course_version_from_its_repository():
    src = sc.setup_cell_source(VERSION, URL)
    assert src.startswith(sc.MARKER)
    assert f'"nnkit @ git+{URL}@v{VERSION}"' in src
    assert "%pip install" in src and sc.PIP_ARGS_ENV in src
    assert "download.pytorch.org/whl/cpu" in src  # where torch is missing: a CPU build
    compile(_transformed(src), "<setup cell>", "exec")  # valid IPython


@pytest.mark.parametrize("version, url", [("0.1.0; rm -rf ~", URL), (VERSION, "github.com/x/y"),
                                          (VERSION, URL + '"; import os')])
def test_source_refuses_what_is_not_a_version_or_a_url(version, url):
    with pytest.raises(ValueError):
        sc.setup_cell_source(version, url)


class _Shell:
    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


def test_the_cell_is_a_no_op_where_nnkit_imports(capsys):
    shell = _Shell()
    exec(_transformed(sc.setup_cell_source(VERSION, URL)), {"get_ipython": lambda: shell})
    assert shell.magics == [] and capsys.readouterr().out == ""


# ---------------------------------------------------------------- inserting it


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter"), nbformat.v4.new_code_cell("import nnkit")]
    return nb


def test_add_setup_cell_first_hidden_and_idempotent():
    nb = _notebook()
    assert sc.add_setup_cell(nb, VERSION, URL) is nb
    first = nb.cells[0]
    assert first.cell_type == "code" and first.source == sc.setup_cell_source(VERSION, URL)
    assert first.metadata.tags == ["remove-cell"]
    assert [c.source for c in nb.cells[1:]] == ["# Chapter", "import nnkit"]
    nbformat.validate(nb)
    once = copy.deepcopy(nb)
    sc.add_setup_cell(nb, VERSION, URL)
    assert nb == once

    sc.add_setup_cell(nb, "0.2.0", URL)  # a new version replaces the old cell
    assert sum(sc.is_setup_cell(c) for c in nb.cells) == 1 and "@v0.2.0" in nb.cells[0].source
    nbformat.validate(nb)


def test_add_setup_cell_moves_a_misplaced_cell_first_and_takes_plain_dicts():
    nb = _notebook()
    nb.cells.append(nbformat.v4.new_code_cell(sc.setup_cell_source("0.0.9", URL)))
    sc.add_setup_cell(nb, VERSION, URL)
    assert [sc.is_setup_cell(c) for c in nb.cells] == [True, False, False]
    nbformat.validate(nb)

    plain = nbformat.from_dict(_notebook())
    plain = {"cells": [dict(c) for c in plain.cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    sc.add_setup_cell(plain, VERSION, URL)
    nbformat.validate(nbformat.from_dict(plain))
    assert plain["cells"][0]["metadata"] == {"tags": ["remove-cell"]}


MYST = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  name: python3
---

# The perceptron

Some text.

```{code-cell} ipython3
import nnkit
```
"""


def test_add_setup_cell_to_myst_after_the_front_matter_and_idempotent():
    jupytext = pytest.importorskip("jupytext")
    text = sc.add_setup_cell_to_myst(MYST, VERSION, URL)
    assert text.startswith(MYST.split("\n---\n")[0] + "\n---\n")
    assert sc.add_setup_cell_to_myst(text, VERSION, URL) == text
    nb = jupytext.reads(text, fmt="myst")
    assert nb.cells[0].cell_type == "code" and nb.cells[0].metadata.get("tags") == ["remove-cell"]
    assert nb.cells[0].source.strip() == sc.setup_cell_source(VERSION, URL)
    assert nb.cells[1].source.startswith("# The perceptron") and nb.cells[-1].source == "import nnkit"

    newer = sc.add_setup_cell_to_myst(text, "0.2.0", URL)
    assert newer.count(sc.MARKER) == 1 and "@v0.2.0" in newer
    assert newer.replace("0.2.0", "0.1.0") == text
    assert sc.add_setup_cell_to_myst("# no front matter\n", VERSION, URL).lstrip().startswith("```{code-cell}")


# ---------------------------------------------------------------- a real kernel without nnkit


def _venv_without_nnkit(path: Path) -> Path:
    """A venv (no pip of its own) that sees this interpreter's packages but not nnkit.

    Its .pth lists this interpreter's sys.path entries as plain paths: their own .pth files (the
    editable install of nnkit among them) are not processed, and entries holding an ``nnkit``
    folder (a checkout) are left out. numpy, ipykernel and pip come from there.
    """
    venv.EnvBuilder(with_pip=False).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    parents = [p for p in sys.path if p and Path(p).is_dir() and not (Path(p) / "nnkit").exists()
               and Path(p).resolve() != Path(purelib).resolve()]
    (Path(purelib) / "_parent_packages.pth").write_text("\n".join(parents) + "\n")
    probe = subprocess.run([str(python), "-c", "import numpy, ipykernel, pip\nimport nnkit"],
                           capture_output=True, text=True, cwd=path)
    assert "No module named 'nnkit'" in probe.stderr, probe.stderr
    return python


def _source_copy(dest: Path) -> Path:
    """What pip needs to build nnkit, copied from the checkout (pip builds in the source folder)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "nnkit", dest / "nnkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


@pytest.mark.slow  # a venv, a kernel and a pip install
@pytest.mark.timeout(300)
def test_notebook_with_the_set_up_cell_installs_nnkit_where_it_is_missing(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    python = _venv_without_nnkit(tmp_path / "venv")
    source = _source_copy(tmp_path / "src")
    kernels = tmp_path / "jupyter" / "kernels" / "no-nnkit"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        '{"argv": ["%s", "-m", "ipykernel_launcher", "-f", "{connection_file}"], '
        '"display_name": "no nnkit", "language": "python"}' % python)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # The cell installs the local copy, without dependencies and without the network.
    monkeypatch.setenv(sc.PIP_ARGS_ENV, f"--no-deps --no-index --no-build-isolation --ignore-installed {source}")
    monkeypatch.delenv("PYTHONPATH", raising=False)

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import nnkit, sys\nfrom nnkit.activations import sigmoid\n"
        "print(nnkit.__version__, nnkit.__file__.startswith(sys.prefix), float(sigmoid(0.0)))")]
    sc.add_setup_cell(nb, VERSION, URL)
    nb.cells.append(nbformat.v4.new_code_cell(sc.setup_cell_source(VERSION, URL)))  # again: no-op
    workdir = tmp_path / "work"
    workdir.mkdir()
    NotebookClient(nb, kernel_name="no-nnkit", timeout=240, resources={"metadata": {"path": str(workdir)}}).execute()

    def stdout(cell):
        return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")

    assert f"installed nnkit {VERSION} from" in stdout(nb.cells[0]), nb.cells[0].outputs
    assert stdout(nb.cells[1]).split() == [VERSION, "True", "0.5"], nb.cells[1].outputs
    assert "installed" not in stdout(nb.cells[2]) and not [o for o in nb.cells[2].outputs if o.get("name") == "stderr"]
