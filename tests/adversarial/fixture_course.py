"""Build a tiny nbgrader course in a temporary folder, and student notebooks for it.

Assignment ``hw`` has two notebooks:

- ``part1.ipynb``: ``add`` (test_add, 2 points, with a hidden test) and ``mul`` (test_mul, 3 points)
- ``part2.ipynb``: ``square`` (test_square, 1 point) and a written answer ``why`` (1 point, manual)

so a right submission autogrades to 6 / 7 (the written answer waits for a human).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "hw"
RIGHT = {"add": "def add(a, b):\n    return a + b",
         "mul": "def mul(a, b):\n    return a * b",
         "square": "def square(x):\n    return x * x",
         "why": "Because the cells are graded separately."}
WRONG = {"add": "def add(a, b):\n    return a - b",
         "mul": "def mul(a, b):\n    return a + b",
         "square": "def square(x):\n    return 2 * x"}
POINTS = {"test_add": 2.0, "test_mul": 3.0, "test_square": 1.0, "why": 1.0}


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def _solution(grade_id, body):
    head, ret = body.split("\n", 1)
    src = f"{head}\n    ### BEGIN SOLUTION\n{ret}\n    ### END SOLUTION"
    return new_code_cell(src, metadata=_meta(grade_id, solution=True))


def _test(grade_id, visible, hidden=""):
    src = visible + (f"\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS" if hidden else "")
    return new_code_cell(src, metadata=_meta(grade_id, grade=True, locked=True,
                                             points=POINTS[grade_id]))


def _check(part, fn, ref, seed, shapes):
    names = "ab" if len(shapes) == 2 else "x"
    args = ", ".join(f'"{n}": normal{sh}' for n, sh in zip(names, shapes))
    return (f'grading.check_function("{part}", {fn}, reference="{ref}", '
            f'cases=[Case(seed={seed}, args={{{args}}})])')


IMPORT = "from nnkit import grading\nfrom nnkit.grading import Case, normal\n"


def source_notebooks() -> dict[str, nbformat.NotebookNode]:
    """Test cells use nnkit.grading's declarative checks (references: numpy's ufuncs)."""
    ks = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    p1 = new_notebook(metadata=ks, cells=[
        new_markdown_cell("# Part 1\nImplement `add` and `mul` (elementwise, on arrays).",
                          metadata=_meta("intro1", locked=True)),
        new_code_cell("import numpy as np", metadata=_meta("imports", locked=True)),
        _solution("add", RIGHT["add"]),
        _test("test_add", IMPORT + _check("add", "add", "numpy.add", 0, [(3,), (3,)]),
              _check("add", "add", "numpy.add", 1, [(2, 4), (2, 4)])),
        _solution("mul", RIGHT["mul"]),
        _test("test_mul", IMPORT + _check("mul", "mul", "numpy.multiply", 0, [(3,), (3,)]),
              _check("mul", "mul", "numpy.multiply", 1, [(4, 2), (4, 2)])),
    ])
    p2 = new_notebook(metadata=ks, cells=[
        _solution("square", RIGHT["square"]),
        _test("test_square", IMPORT + _check("square", "square", "numpy.square", 0, [(4,)]),
              _check("square", "square", "numpy.square", 1, [(3, 3)])),
        new_markdown_cell("Why are the parts graded separately?",
                          metadata=_meta("question", locked=True)),
        new_markdown_cell(RIGHT["why"], metadata=_meta("why", grade=True, solution=True,
                                                       points=POINTS["why"])),
    ])
    return {"part1": p1, "part2": p2}


CONFIG = '''c = get_config()
c.CourseDirectory.course_id = "nnkit-test"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.Execute.timeout = {timeout}
'''


def make_course(root: Path, *, timeout: int = 20) -> Path:
    """Write nbgrader_config.py and solutions/hw/ into ``root``; return root."""
    root = Path(root)
    (root / "solutions" / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(timeout=timeout))
    for name, nb in source_notebooks().items():
        nbformat.write(nb, root / "solutions" / ASSIGNMENT / f"{name}.ipynb")
    return root


def student_notebook(root: Path, name: str, answers: dict[str, str]) -> str:
    """The released ``name`` notebook with the solution cells in ``answers`` filled in (JSON text)."""
    nb = nbformat.read(Path(root) / "exercises" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nbformat.writes(nb)


def empty_notebook() -> str:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    return nbformat.writes(nb)


def make_zip(path: Path, files: dict[str, str | bytes], dates: dict[str, tuple] | None = None) -> Path:
    """A zip like an LMS download: ``files`` maps the name in the zip to its content."""
    dates = dates or {}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=dates.get(name, (2026, 11, 20, 12, 0, 0)))
            zf.writestr(info, data.encode() if isinstance(data, str) else data)
    return path
