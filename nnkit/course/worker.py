"""What one Dask task runs: autograde ONE submission in a private, throw-away course folder.

The task carries everything it needs (no shared filesystem is assumed): the assignment's source
files, the student's submitted files, a copy of the gradebook reduced to the assignment, and the
course's nbgrader config. It runs nbgrader's ``Autograde`` converter there, unchanged apart from the
kernel manager (see :mod:`nnkit.course.sandbox`), and returns the autograded files. The real
gradebook is written by the command's process only (:func:`nnkit.course.gradebook.record_result`).
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

#: what an ``error`` output or a log line must contain to be reported as a timeout / a dead kernel
_TIMEOUT_MARKERS = ("CellTimeoutError", "NotebookTimeoutError", "timed out", "Timeout waiting")
_DEAD_MARKERS = ("DeadKernelError", "Kernel died", "kernel died")


def _write_tree(base: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = (base / rel).resolve()
        if base.resolve() not in p.parents:
            raise ValueError(f"refusing a file outside the submission: {rel!r}")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def _read_tree(base: Path) -> dict[str, bytes]:
    out = {}
    if base.is_dir():
        for p in sorted(base.rglob("*")):
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(base))] = p.read_bytes()
    return out


def check_notebook(data: bytes) -> str | None:
    """``None`` if ``data`` is a readable notebook, else why it is not (in words for the table)."""
    if not data.strip():
        return "empty file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not a notebook (binary file, not UTF-8 JSON)"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        return f"not a notebook (invalid JSON: {e.msg} at line {e.lineno})"
    if not isinstance(obj, dict) or "cells" not in obj:
        return "not a notebook (JSON without a 'cells' list)"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises several kinds
        return f"not a valid notebook ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
    return None


#: errors that say what happened to the kernel (sandbox limits, timeouts, exits, crashes)
INCIDENTS = ("KernelUnresponsive", "CellTimeoutError", "KernelDied", "NotebookTimeout", "OutputLimitExceeded",
             "MemoryError", "RecursionError", "SystemExit", "KeyboardInterrupt", "BlockingIOError",
             "PermissionError", "ProcessLookupError", "ConnectionRefusedError", "OSError")


def incidents(name: str, nb) -> list[str]:
    """The first error of each kind outside graded cells' verdicts, for the table."""
    out, seen = [], set()
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            ename = o.get("ename", "") if o.get("output_type") == "error" else ""
            if ename in INCIDENTS and ename not in seen:
                seen.add(ename)
                ev = str(o.get("evalue", "")).strip().splitlines()
                out.append(f"{name}.ipynb cell {i}: {ename}" + (f": {ev[0][:120]}" if ev else ""))
    return out


def _deduplicate(path: Path) -> list[str]:
    """Keep the nbgrader metadata of the LAST cell of each id, as nbgrader's DeduplicateIds does,
    but drop it from the others entirely (nbgrader leaves ``{}``, which then fails its schema check
    and aborts the notebook)."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    seen, dup = set(), []
    for cell in reversed(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or not meta.get("grade_id"):
            continue
        if meta["grade_id"] in seen:
            dup.append(meta["grade_id"])
            del cell.metadata["nbgrader"]
        else:
            seen.add(meta["grade_id"])
    if dup:
        nbformat.write(nb, path)
    return sorted(set(dup))


def cell_verdicts(nb) -> dict[str, dict]:
    """Per graded cell of an autograded notebook: score, max and the first error, as nbgrader sees it."""
    from nbgrader import utils
    out = {}
    for cell in nb.cells:
        if not utils.is_grade(cell):
            continue
        score, max_score = utils.determine_grade(cell)
        err = None
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                ev = str(o.get("evalue", "")).strip()
                err = f"{o.get('ename')}: {ev[:200]}" if ev else str(o.get("ename"))
                break
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                err = "wrote to stderr: " + o.get("text", "")[:200].strip()
                break
        out[cell.metadata.nbgrader["grade_id"]] = {"score": score, "max_score": max_score,
                                                  "error": err}
    return out


def _check_reference(records: Path) -> list[str]:
    """The instructor's solution must pass its own recorded checks."""
    from .sandbox import _judge_cell
    bad = []
    if records.is_dir():
        for nb_dir in sorted(p for p in records.iterdir() if p.is_dir()):
            for cell in sorted(p for p in nb_dir.iterdir() if p.is_dir() and
                               p.name.startswith("grade-")):
                ok, why = _judge_cell(cell, cell)
                if not ok:
                    bad.append(f"{nb_dir.name}/{cell.name[6:]}: {why}")
    return bad


def _graded_cells(db_url: str, course_id: str, assignment: str) -> dict[str, list[str]]:
    from nbgrader.api import Gradebook
    with Gradebook(db_url, course_id) as gb:
        return {nb.name: sorted(c.name for c in nb.grade_cells)
                for nb in gb.find_assignment(assignment).notebooks}


def grade_submission(task: dict, reference: dict | None = None) -> dict:
    """Autograde one submission; see the module docstring. Never raises: errors go in the result.

    ``reference`` is the result of the instructor's solution run in reference mode (its per-cell
    records), which the trusted comparison needs; ``task["reference"]`` asks for such a run.
    """
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log
    from traitlets.config import Config

    from .course import ensure_path_env
    from .gradebook import submission_scores

    import warnings

    from sqlalchemy.exc import SAWarning
    warnings.filterwarnings("ignore", category=SAWarning)   # nbgrader's autoflush noise
    ensure_path_env()
    t0 = time.monotonic()
    student, assignment = task["student"], task["assignment"]
    result = {"student": student, "assignment": assignment, "notebooks": {}, "files": {},
              "problems": [], "success": False, "log": "", "error": "", "scores": {},
              "verdicts": {}, "worker": os.uname().nodename + f":{os.getpid()}"}
    if reference is not None and (not reference.get("success") or reference.get("problems")):
        why = "; ".join(reference.get("problems", [])) or \
            (reference.get("error") or "unknown error").strip().splitlines()[-1]
        result["infrastructure_error"] = f"the instructor's solution failed in the sandbox: {why}"
        return result
    tmp = Path(tempfile.mkdtemp(prefix=f"nnkit-{assignment}-"))
    try:
        cfg = Config(copy.deepcopy(task["config"]))
        cd = cfg.CourseDirectory
        root = tmp / "course"
        private = tmp / "private"
        private.mkdir()
        db = private / "gradebook.db"
        db.write_bytes(task["gradebook"])
        src_name = cd.get("source_directory", "source")
        sub_name = cd.get("submitted_directory", "submitted")
        ag_name = cd.get("autograded_directory", "autograded")
        src = root / src_name / assignment
        sub = root / sub_name / student / assignment
        _write_tree(src, task["source"])
        _write_tree(sub, task["submission"])
        sub.mkdir(parents=True, exist_ok=True)

        # unreadable notebooks are set aside: nbgrader then scores them 0 like a missing file,
        # and grades the other notebooks of the assignment normally
        for name in task["notebook_names"]:
            p = sub / f"{name}.ipynb"
            if p.exists():
                why = check_notebook(p.read_bytes())
                if why:
                    result["problems"].append(f"{name}.ipynb: {why} (scored 0)")
                    p.unlink()
                else:
                    dup = _deduplicate(p)
                    if dup:
                        result["problems"].append(
                            f"{name}.ipynb: duplicated cell id(s) {', '.join(dup)}: only the last "
                            "copy counts")
            else:
                result["problems"].append(f"{name}.ipynb: not submitted (scored 0)")

        cd.root = str(root)
        cd.db_url = f"sqlite:///{db}"
        cd.course_id = task["course_id"]
        cd.assignment_id = assignment
        cd.student_id = student
        sandbox = task.get("sandbox")
        dirs = None
        from . import sandbox as _sb
        _sb.EXEC_SECONDS[0] = 0.0
        if sandbox is not None:
            from .sandbox import configure_sandbox
            ref_dir = None
            if reference is not None:
                ref_dir = tmp / "reference"
                ref_dir.mkdir()
                _write_tree(ref_dir, reference.get("records", {}))
            dirs = configure_sandbox(cfg, sandbox, scratch=tmp, reference_dir=ref_dir,
                                     reference_mode=bool(task.get("reference")), source_dir=src)
        coursedir = CourseDirectory(config=cfg)
        app = Autograde(coursedir=coursedir, config=cfg)
        app.force = True
        app.create_student = True
        res = capture_log(app)
        result["success"] = bool(res.get("success"))
        result["log"] = res.get("log", "")[-20000:]
        result["error"] = res.get("error", "")[-5000:]
        if not result["success"] and not result["error"]:
            result["error"] = result["log"][-2000:]

        out = root / ag_name / student / assignment
        files = _read_tree(out)
        expected = _graded_cells(cd.db_url, task["course_id"], assignment)
        if task.get("reference") and dirs is not None:
            result["records"] = _read_tree(dirs["records"])
            result["problems"] += _check_reference(dirs["records"])
        # files besides the notebooks: what nbgrader copied in (never what the kernel wrote)
        result["files"] = {rel: data for rel, data in task["submission"].items()
                           if not rel.endswith(".ipynb")}
        result["files"].update({rel: data for rel, data in task["source"].items()
                                if not rel.endswith(".ipynb")})
        for rel, data in files.items():
            if rel.endswith(".ipynb") and "/" not in rel:
                name = rel[:-len(".ipynb")]
                text = data.decode("utf-8")
                result["notebooks"][name] = text
                nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
                result["verdicts"][name] = cell_verdicts(nb)
                result["problems"] += incidents(name, nb)
                gone = [c for c in expected.get(name, []) if c not in result["verdicts"][name]]
                if gone:
                    result["problems"].append(f"{name}.ipynb: graded cell(s) missing: "
                                              f"{', '.join(gone)} (scored 0)")
        result["scores"] = submission_scores(cd.db_url, task["course_id"], assignment, student)
    except Exception:
        import traceback
        result["error"] = traceback.format_exc()[-5000:]
        result["success"] = False
    finally:
        result["duration"] = time.monotonic() - t0
        from . import sandbox as _sb
        result["exec_seconds"] = _sb.EXEC_SECONDS[0]
        try:
            result["kernel_log"] = (tmp / "kernel.log").read_bytes()[-4000:].decode("utf-8",
                                                                                "replace")
        except OSError:
            result["kernel_log"] = ""
        shutil.rmtree(tmp, ignore_errors=True)
    return result
