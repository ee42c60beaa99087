"""`nnkit-course dist OUT`: the student course holds no answer, and works on its own.

OUT is built once (module fixture). It is then used through an environment in which `import nnkit`
finds OUT's package, as it does for a student who installed nnkit from OUT: a venv whose
site-packages point at this one's (numpy, torch, jupyter...) without the instructor's editable
nnkit, and PYTHONPATH=OUT.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from nnkit.course.cli import main

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS\n?", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION", re.S)
TEXT = {".py", ".md", ".ipynb", ".json", ".yml", ".yaml", ".toml", ".txt", ".html", ".js", ".cfg", ""}
# Every test that uses OUT is `slow`: building it runs `nnkit-course dist`, and the student venv,
# the wheel, the notebooks and the book are built or run in subprocesses.


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "student-course"
    assert main(["--course-dir", str(REPO), "dist", str(out), "--no-progress",
                 "--repository-url", "https://github.com/example-org/nnkit-student"]) == 0
    return out


@pytest.fixture(scope="module")
def student_env(tmp_path_factory, out):
    """A venv that sees this environment's packages but not the instructor's nnkit: with
    PYTHONPATH=OUT, `import nnkit` is OUT's."""
    env_dir = tmp_path_factory.mktemp("studentenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    purelib = Path(sysconfig.get_paths()["purelib"])
    site = next(env_dir.glob("lib/python3*/site-packages"))
    (site / "course_packages.pth").write_text(str(purelib) + "\n")   # its .pth files are not run
    py = env_dir / "bin" / "python"
    (env_dir / "bin" / "jupyter-book").write_text(
        f"#!{py}\nimport sys\nfrom jupyter_book.cli.main import main\nsys.exit(main())\n")
    (env_dir / "bin" / "jupyter-book").chmod(0o755)
    kernels = env_dir / "share" / "jupyter" / "kernels" / "student"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps(
        {"argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "student", "language": "python",
         "env": {"PYTHONPATH": str(out), "MPLBACKEND": "Agg", "NNKIT_STATIC": "1"}}))
    env = {**os.environ, "PYTHONPATH": str(out), "JUPYTER_PATH": str(env_dir / "share" / "jupyter")}
    where = subprocess.run([str(py), "-c", "import nnkit; print(nnkit.__file__)"], env=env, cwd=env_dir,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(out), where
    return {"python": py, "env": env, "bin": env_dir / "bin", "cwd": env_dir}


def _files(folder: Path):
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.suffix in TEXT and p.stat().st_size < 5_000_000:
            yield p, p.read_text(errors="replace")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _public_api() -> str:
    """nnkit's teaching API, which ships (the book documents it; calling it earns nothing)."""
    references = REPO / "nnkit" / "grading" / "references"
    return _squash("\n".join(p.read_text() for p in sorted((REPO / "nnkit").rglob("*.py"))
                              if references not in p.parents and "course" not in p.parts))


def _secrets():
    """(what, text) pairs that must appear nowhere in OUT: every solution region (but a formula
    that is also nnkit's public teaching API, like sigma' = x (1 - x)), and every line of the
    hidden tests that is not also in a visible test."""
    public = _public_api()
    out = []
    for a in ASSIGNMENTS:
        nb = nbformat.read(str(REPO / "solutions" / a / f"{a}.ipynb"), as_version=4)
        visible = "\n".join(HIDDEN.sub("", c.source) for c in nb.cells if c.cell_type == "code")
        for c in nb.cells:
            for block in SOLUTION.findall(c.source):
                if len(_squash(block)) >= 30 and _squash(block) not in public:
                    out.append((f"{a}: solution of {c.metadata.get('nbgrader', {}).get('grade_id')}", _squash(block)))
            for block in HIDDEN.findall(c.source):
                for line in block.splitlines():
                    if len(line.strip()) >= 25 and line.strip() not in visible:
                        out.append((f"{a}: hidden test", _squash(line)))
    assert len(out) > 20
    return out


@pytest.mark.slow
def test_out_has_no_solutions_no_tooling_no_references(out):
    assert not (out / "solutions").exists() and not (out / "nbgrader_config.py").exists()
    assert not (out / "nnkit" / "course").exists()
    assert not (out / "nnkit" / "grading" / "references").exists()
    assert not (out / "nnkit" / "grading" / "references.py").exists()
    assert (out / "nnkit" / "grading" / "visible_expected.json").is_file()
    assert (out / "constraints.txt").is_file() and "-c constraints.txt" in (out / "Makefile").read_text()
    for a in ASSIGNMENTS:
        assert (out / "exercises" / a / f"{a}.ipynb").is_file()
        assert (out / "book" / "assignments" / f"{a}.ipynb").resolve().is_file()
    chapters = sorted((out / "book" / "chapters").glob("*.md"))
    assert chapters and all(md.with_suffix(".ipynb").is_file() for md in chapters)
    pyproject = (out / "pyproject.toml").read_text()
    assert "nnkit-course" not in pyproject and "nbgrader" not in pyproject and "dask" not in pyproject
    assert "nbgrader" not in (out / "environment.yml").read_text()
    readme = (out / "README.md").read_text()
    for step in ("## Install", "## Read", "## Complete", "## Check and validate", "## Submit"):
        assert step in readme
    assert "https://github.com/example-org/nnkit-student" in (out / "book" / "_config.yml").read_text()


@pytest.mark.slow
def test_no_answer_text_anywhere_in_out(out):
    secrets = _secrets()
    for path, text in _files(out):
        flat = _squash(text)
        leaked = [what for what, s in secrets if s in flat]
        assert not leaked, f"{path.relative_to(out)} holds {leaked[:3]}"


@pytest.mark.slow
def test_the_wheel_built_from_out_holds_no_reference(out, tmp_path, student_env):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(out)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("nnkit-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "nnkit/grading/visible_expected.json" in names
        assert not any("references" in n or n.startswith("nnkit/course/") for n in names), names
        secrets = _secrets()
        for n in names:
            flat = _squash(zf.read(n).decode("utf-8", "replace"))
            assert not [w for w, s in secrets if s in flat], n


def _reference_names():
    names = set()
    for a in ASSIGNMENTS:
        text = (REPO / "solutions" / a / f"{a}.ipynb").read_text()
        names |= set(re.findall(r"nnkit\.grading\.references\.\w+", text))
    assert len(names) > 10
    return sorted(names)


@pytest.mark.slow
def test_hidden_references_do_not_import_in_out(student_env):
    code = ("import importlib, sys\nbad = []\nfor name in sys.argv[1:]:\n"
            "    module, attr = name.rsplit('.', 1)\n    try:\n"
            "        getattr(importlib.import_module(module), attr)\n        bad.append(name)\n"
            "    except (ImportError, AttributeError):\n        pass\n"
            "import nnkit.activations, nnkit.grading.verifiers\nprint('IMPORTABLE', bad)")
    r = subprocess.run([str(student_env["python"]), "-c", code, *_reference_names()], env=student_env["env"],
                       cwd=student_env["cwd"], capture_output=True, text=True, check=True)
    assert "IMPORTABLE []" in r.stdout


def _run(nb, env, cwd):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    ksm = KernelSpecManager(kernel_dirs=[str(Path(env["JUPYTER_PATH"]) / "kernels")])
    km = KernelManager(kernel_name="student", kernel_spec_manager=ksm)
    NotebookClient(nb, km=km, timeout=600, allow_errors=True, resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _errors(nb):
    out = {}
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id", "")
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                out[gid or f"cell:{c.source[:30]}"] = f"{o['ename']}: {o['evalue'][:300]}"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_tests_work_in_out(assignment, out, student_env):
    """The released notebook with the solution filled in passes its visible tests in OUT (no
    references there), and the untouched notebook fails them with NotImplementedError."""
    folder = out / "exercises" / assignment
    released = nbformat.read(str(folder / f"{assignment}.ipynb"), as_version=4)
    solution = nbformat.read(str(REPO / "solutions" / assignment / f"{assignment}.ipynb"), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    filled = nbformat.from_dict(json.loads(json.dumps(released)))
    for c in filled.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", answers[gid], flags=re.M)
    _run(filled, student_env["env"], folder)
    errors = _errors(filled)
    assert errors == {}, errors
    tests = [c for c in filled.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    untouched = _run(nbformat.read(str(folder / f"{assignment}.ipynb"), as_version=4), student_env["env"], folder)
    errors = _errors(untouched)
    graded = [c.metadata["nbgrader"]["grade_id"] for c in tests]
    assert set(graded) <= set(errors), (graded, errors)
    assert any("NotImplementedError" in e for e in errors.values())


@pytest.mark.book
@pytest.mark.timeout(1800)  # `make book` in OUT has 1500 s (a cold build of the whole book), then the checks
def test_make_book_builds_inside_out(out, student_env):
    r = subprocess.run(["make", "-C", str(out), "book", f"BIN={student_env['bin']}"], env=student_env["env"],
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    html = out / "book" / "_build" / "html"
    pages = sorted(html.rglob("*.html"))
    assert len(pages) > 10
    secrets = _secrets()
    for page in pages:
        flat = _squash(page.read_text(errors="replace"))
        assert not [w for w, s in secrets if s in flat], page
    colab = (html / "chapters" / "01_perceptron.html").read_text()
    assert "example-org/nnkit-student/blob/main/book/chapters/01_perceptron.ipynb" in colab


def test_dist_refuses_a_non_empty_folder_and_the_course_itself(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["--course-dir", str(REPO), "dist", str(tmp_path), "--no-progress"]) == 1
    assert "not empty" in capsys.readouterr().err and (tmp_path / "keep.txt").read_text() == "mine"
    assert main(["--course-dir", str(REPO), "dist", str(REPO / "student"), "--no-progress"]) == 1
    assert "overlaps" in capsys.readouterr().err and not (REPO / "student").exists()
