"""``nnkit-course dist OUT``: the student course, a folder ready to be pushed as the public repository.

The instructor's repository holds the answers (``solutions/``, the hidden tests and the trusted
references in the package ``nnkit/grading/references/``) and stays private. ``dist`` writes what students
may see::

    OUT/
      README.md           for students: install, read, complete, validate, submit
      pyproject.toml      the nnkit package without the instructor's tooling (no nnkit-course)
      environment.yml     the same for conda
      Makefile            `make book` builds the same book offline inside OUT
      book/               the chapters (+ a paired .ipynb of each, which Colab's button opens)
      exercises/          the released student notebooks
      nnkit/              the package, without nnkit/course/ and the references

and, instead of the references, ``nnkit/grading/visible_expected.json``: the expected values of
the visible test cases (computed here, by the trusted references), so every visible test works in
OUT with the same messages. Hidden tests never leave the instructor's side.

OUT is built in a temporary folder beside it and moved into place at the end: an interrupted or
failed ``dist`` leaves no half-written course. It refuses a non-empty OUT unless ``--force``, and
never writes inside the instructor's course folder.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

import nnkit
from nnkit.grading.checks import COLLECT_ENV

from ..files import replace_folder
from . import setup_cell
from .coursedir import Course, CourseError

#: what never leaves the instructor's side, relative to the nnkit package
INSTRUCTOR_ONLY = ("course", "grading/references")
#: packages only the instructor's tooling and the tests need
INSTRUCTOR_PACKAGES = ("nbgrader", "dask", "distributed", "pytest", "pytest-timeout", "playwright")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "_build", ".DS_Store")


def write_dist(course: Course, out: Path, *, force: bool = False, repository_url: str | None = None,
               progress: bool = True) -> Path:
    """Write the student course to ``out`` (see the module docstring); returns ``out``."""
    out = Path(out).resolve()
    root = course.root
    if out == root or root in out.parents or out in root.parents:
        raise CourseError(f"{out} is the instructor's course folder or overlaps it: give a folder "
                          "outside it (the student course is a repository of its own)")
    if out.exists() and not out.is_dir():
        raise CourseError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise CourseError(f"{out} is not empty: choose an empty folder, or pass --force to replace "
                              "its contents")
        if (out / "solutions").exists() or (out / "nbgrader_config.py").exists():
            raise CourseError(f"{out} looks like an instructor's course (it has solutions/ or "
                              "nbgrader_config.py): refusing to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _build(course, stage, repository_url=repository_url, progress=progress)
        _replace(out, stage)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out


def _replace(out: Path, stage: Path) -> None:
    """Move the finished course into place; an existing OUT's contents go only once it is done."""
    replace_folder(out, stage)
    out.chmod(0o755)


def _build(course: Course, stage: Path, *, repository_url, progress) -> None:
    root = course.root
    package = Path(nnkit.__file__).resolve().parent
    if package.parent != root:
        raise CourseError(f"nnkit is imported from {package}, not from this course ({root}): run "
                          "dist with the course's own environment (`make venv`)")
    shutil.copytree(package, stage / "nnkit", ignore=_IGNORE)
    for rel in INSTRUCTOR_ONLY:
        target = stage / "nnkit" / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    shutil.copytree(course.release_dir, stage / "exercises", ignore=_IGNORE)
    shutil.copytree(root / "book", stage / "book", ignore=_IGNORE, symlinks=True)
    for name in ("requirements.txt", "constraints.txt", "binder", ".gitignore"):
        src = root / name
        if src.is_dir():
            shutil.copytree(src, stage / name, ignore=_IGNORE)
        elif src.is_file():
            shutil.copy2(src, stage / name)
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    version = meta["project"]["version"]
    url = repository_url or _book_setting(stage / "book" / "_config.yml", "url")
    if not re.match(r"(https?|ssh|git|file)://", url or ""):
        raise CourseError("the student repository's address is unknown: set repository.url in "
                          "book/_config.yml or pass --repository-url https://github.com/ORG/REPO")
    if repository_url:
        _set_repository(stage / "book" / "_config.yml", repository_url)
    _exclude_paired(stage / "book" / "_config.yml")
    _setup_cells(stage, version, url)
    _pair_chapters(stage / "book")
    (stage / "pyproject.toml").write_text(student_pyproject(meta))
    if (root / "environment.yml").is_file():
        (stage / "environment.yml").write_text(student_environment((root / "environment.yml").read_text()))
    (stage / "Makefile").write_text(STUDENT_MAKEFILE)
    (stage / "README.md").write_text(STUDENT_README.format(url=url, version=version,
                                                           course_id=course.course_id))
    collect_visible_expected(course, stage / "nnkit" / "grading" / "visible_expected.json",
                             progress=progress)


# --- the book: repository, paired notebooks, set-up cells ---------------------------------------

def _book_setting(config: Path, key: str) -> str:
    m = re.search(rf"^\s*{key}:\s*(\S+)", config.read_text(), re.M)
    return m.group(1) if m else ""


def _set_repository(config: Path, url: str) -> None:
    text = config.read_text()
    text, n = re.subn(r"(^repository:\s*\n\s*url:\s*)\S+", lambda m: m.group(1) + url, text, flags=re.M)
    if not n:
        raise CourseError(f"{config} has no `repository: url:` setting to point at {url}")
    config.write_text(text)


def _exclude_paired(config: Path) -> None:
    """The paired chapter notebooks are for the launch buttons, not a second copy of each page."""
    text = config.read_text()
    text, n = re.subn(r"^(exclude_patterns:\s*\[)", r'\1"chapters/*.ipynb", ', text, count=1, flags=re.M)
    if not n:
        text += '\nexclude_patterns: ["chapters/*.ipynb", _build, _ext]\n'
    config.write_text(text)


def _pair_chapters(book: Path) -> list[Path]:
    """A ``.ipynb`` beside each chapter's ``.md`` (the book's Colab button opens the notebook)."""
    import jupytext      # the book's extra, not the course's: only needed here
    made = []
    for md in sorted((book / "chapters").glob("*.md")):
        nb = jupytext.read(md)
        nb.metadata.pop("jupytext", None)
        path = md.with_suffix(".ipynb")
        jupytext.write(nb, path, fmt="ipynb")
        made.append(path)
    return made


def _setup_cells(stage: Path, version: str, url: str) -> None:
    """A first cell that installs nnkit where it is missing (Colab, Binder, a hub), hidden in the
    book's HTML; nothing where nnkit imports."""
    for md in sorted((stage / "book" / "chapters").glob("*.md")):
        md.write_text(setup_cell.add_setup_cell_to_myst(md.read_text(), version=version, repository_url=url))
    for path in sorted((stage / "exercises").glob("*/*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        setup_cell.add_setup_cell(nb, version=version, repository_url=url)
        nbformat.write(nb, str(path))


# --- the package's metadata for students ----------------------------------------------------------

def _toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        if all(isinstance(x, str) for x in v) and len(v) > 2:
            return "[\n" + "".join(f"    {json.dumps(x)},\n" for x in v) + "]"
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return str(v)


def _instructor_only(requirement: str) -> bool:
    name = re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower()
    return name in INSTRUCTOR_PACKAGES


def student_pyproject(meta: dict) -> str:
    """The instructor's pyproject.toml without the instructor's extras and command."""
    project = {k: v for k, v in meta["project"].items() if k not in ("scripts", "optional-dependencies")}
    project["dependencies"] = [d for d in project.get("dependencies", []) if not _instructor_only(d)]
    extras = {name: [d for d in deps if not _instructor_only(d) and not d.startswith("nnkit[")]
              for name, deps in meta["project"].get("optional-dependencies", {}).items()
              if name not in ("course", "dev")}
    lines = ["# The nnkit package for students (written by the course's dist command).",
             "[build-system]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in meta["build-system"].items()]
    lines += ["", "[project]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in project.items()]
    if extras:
        lines += ["", "[project.optional-dependencies]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in extras.items()]
    lines += ["", "[tool.setuptools.packages.find]", 'include = ["nnkit*"]',
              "", "[tool.setuptools.package-data]",
              'nnkit = ["pretrained/*.npz", "pretrained/*.pt", "pretrained/*.json", "grading/*.json"]', ""]
    return "\n".join(lines)


def student_environment(text: str) -> str:
    """environment.yml without the instructor's packages; nnkit from this folder."""
    out = []
    for line in text.splitlines():
        item = re.match(r"^\s*-\s*(.+?)\s*(#.*)?$", line)
        if item and _instructor_only(item.group(1)):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


# --- the visible tests' expected values -------------------------------------------------------------

def collect_visible_expected(course: Course, path: Path, *, progress: bool = True) -> dict:
    """Run every released notebook (untouched: its answers raise NotImplementedError) with
    ``NNKIT_GRADING_COLLECT``: each visible check writes the expected values of its cases, computed
    by the trusted references, to ``path``. Returns {assignment: number of cases}."""
    notebooks = sorted(course.release_dir.glob("*/*.ipynb"))
    if not notebooks:
        raise CourseError(f"nothing released in {course.release_dir}: run `nnkit-course release` first")
    try:
        from tqdm.auto import tqdm
        bar = tqdm(notebooks, desc="visible tests' expected values", unit="notebook", disable=not progress)
    except ImportError:
        bar = notebooks
    counts = {}
    old = os.environ.get(COLLECT_ENV)
    os.environ[COLLECT_ENV] = str(path)
    try:
        for nb_path in bar:
            before = len(json.loads(path.read_text())) if path.is_file() else 0
            with tempfile.TemporaryDirectory() as work:
                shutil.copytree(nb_path.parent, work, dirs_exist_ok=True)
                nb = nbformat.read(str(nb_path), as_version=4)
                km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(work, "kernel"))
                client = NotebookClient(nb, km=km, timeout=300, allow_errors=True,
                                        resources={"metadata": {"path": work}})
                client.execute()
            counts[nb_path.parent.name] = (len(json.loads(path.read_text())) if path.is_file() else 0) - before
    finally:
        if old is None:
            os.environ.pop(COLLECT_ENV, None)
        else:
            os.environ[COLLECT_ENV] = old
    if not path.is_file():
        path.write_text("{}")
    return counts


STUDENT_MAKEFILE = """\
# The student course: `make book` builds the book offline into book/_build/html.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    ?= $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv book clean help

help:
\t@echo "make venv   create .venv with nnkit and what the book needs"
\t@echo "make book   build the book into book/_build/html (works offline once installed)"

venv:
\t@$(BIN)/python -c "import nnkit, jupyter_book" 2>/dev/null || ( \\
\t  (test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)) && \\
\t  $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[book]' )

book: venv
\tPYTHONPATH=$(CURDIR) NNKIT_STATIC=1 $(BIN)/jupyter-book build book --warningiserror --keep-going
\t@echo "The book is built. Open: file://$(CURDIR)/book/_build/html/index.html"

clean:
\trm -rf book/_build
"""

STUDENT_README = """\
# Neural networks, from the perceptron to transfer learning: the student course

This repository is what you, the student, work with: the **book** (its chapters run their own
code), the **exercises** (graded notebooks) and **nnkit**, the small package both use. Version
{version} of the course `{course_id}`.

## Install

With Python 3.11 or newer:

```bash
pip install "nnkit @ git+{url}@v{version}"   # the package alone (what the notebooks import)
# or, in a clone of this repository:
make venv                             # .venv with nnkit and what the book needs
```

Each chapter and exercise notebook installs nnkit by itself in its first cell when you open it on
Colab, Binder or a JupyterHub that lacks it.

## Read

The book's pages have launch buttons (Binder, Colab, your JupyterHub) that open each chapter as a
notebook. To build it yourself, offline: `make book`, then open the page it prints.

## Complete

Open `exercises/<assignment>/<assignment>.ipynb` in Jupyter. Fill in every `YOUR CODE HERE` (delete
the `raise NotImplementedError()` line) and every `YOUR ANSWER HERE`. Keep function names and
signatures; don't edit the locked test cells. Write the graded functions yourself: an answer that
calls nnkit's own implementation of the same job (say `nnkit.activations.softmax` for `softmax`)
scores 0 for that part. What an assignment gives you from nnkit is imported in its first cells.

## Check and validate

The test cell under each task runs your code on a visible case and prints `<part>: passed`, or
which output is wrong, where, and by how much. Grading adds hidden cases (other shapes, seeds and
extreme inputs), so write general code. Before you submit: *Kernel → Restart & Run All*, then
`nbgrader validate path/to/<assignment>.ipynb` (install it with `pip install nbgrader`).

## Submit

Upload the `.ipynb` the way your course says (your LMS, or `nbgrader submit` on a JupyterHub).
"""
