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


def _zygote(task: dict, sandbox: dict, autograded: Path):
    """With the full sandbox: this process's zygote for the task's assignment and its slot, the
    task's ``autograded`` folder linked into the slot (the kernels' working folders). Else
    ``(None, "")``: kernels started per notebook."""
    from . import zygote
    if not zygote.usable(sandbox):
        return None, ""
    from .sandbox import sandbox_uid
    plan = task.get("preload") or zygote.preload_plan(
        {task["assignment"]: task["source"]})[task["assignment"]]
    if not zygote.BUSY.acquire(blocking=False):   # another thread of this process has the slot
        return None, ""
    try:
        z = zygote.zygote_for(sandbox, plan, sandbox_uid())
        z.slot.reset()
    except Exception:        # cannot start it here: kernels started per notebook
        zygote.BUSY.release()
        return None, ""
    try:
        autograded.parent.mkdir(parents=True, exist_ok=True)
        autograded.symlink_to(z.slot.work, target_is_directory=True)
    except BaseException:
        zygote.BUSY.release()
        raise
    return z.slot, zygote.activate(z)


def warm_up(sandbox: dict | None, plans: list[dict]) -> int:
    """Run once per worker process when a run starts (``Client.run``): import what grading needs
    and start the zygotes the run's assignments use, so the first submissions do not wait."""
    import nbclient  # noqa: F401
    import nbconvert.preprocessors  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401
    from nbgrader.api import Gradebook  # noqa: F401

    import nnkit.grading  # noqa: F401  (the trusted comparison)
    import nnkit.grading.policy  # noqa: F401

    from . import sandbox as _sb  # noqa: F401
    from . import zygote
    if any(p.get("kind") == "torch" for p in plans):
        try:               # the comparison of torch assignments' records needs it
            import torch  # noqa: F401
        except ImportError:
            pass
    if not zygote.BUSY.acquire(blocking=False):     # a task of this process is grading
        return os.getpid()
    try:
        zygote.shutdown()      # never one of an earlier run (its nnkit may have changed since)
        if sandbox is not None and zygote.usable(sandbox):
            from .sandbox import sandbox_uid
            seen = set()
            for plan in plans:
                if plan.get("kind") not in seen:
                    seen.add(plan.get("kind"))
                    try:
                        zygote.zygote_for(sandbox, plan, sandbox_uid())
                    except Exception:      # the task falls back to a kernel per notebook
                        pass
    finally:
        zygote.BUSY.release()
    return os.getpid()


def finish() -> int:
    """Run in every worker process when a run ends: stop its zygotes, remove its slot."""
    from . import zygote
    if zygote.BUSY.acquire(blocking=False):      # (not while a task of this process grades)
        try:
            zygote.shutdown()
        finally:
            zygote.BUSY.release()
    return os.getpid()


def _fast_sqlite(db: Path | None) -> None:
    """The task's gradebook is a throw-away copy, and so are the per-assignment copies the command
    exports (in ``nnkit-gb-*`` temporary folders): no fsync on each of nbgrader's commits."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    global _FAST_DB
    _FAST_DB = str(db) if db is not None else _FAST_DB
    if not getattr(_fast_sqlite, "registered", False):
        @event.listens_for(Engine, "connect")
        def _pragma(dbapi_conn, record):
            try:
                rows = dbapi_conn.execute("PRAGMA database_list").fetchall()
            except Exception:
                return
            tmp = os.path.join(tempfile.gettempdir(), "nnkit-gb-")   # export_assignment's
            if any(r[2] and (r[2] == _FAST_DB or r[2].startswith(tmp)) for r in rows):
                dbapi_conn.execute("PRAGMA synchronous=OFF")
                dbapi_conn.execute("PRAGMA journal_mode=MEMORY")
        _fast_sqlite.registered = True


_FAST_DB = ""


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
    phases: dict[str, float] = {}
    slot, zygote_log = None, None
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
        _sb.PHASES.clear()
        if sandbox is not None:
            from .sandbox import configure_sandbox
            ref_dir = None
            if reference is not None:
                ref_dir = tmp / "reference"
                ref_dir.mkdir()
                _write_tree(ref_dir, reference.get("records", {}))
            slot, key = _zygote(task, sandbox, root / ag_name)
            if slot is not None:
                zygote_log = (slot.log, slot.log.stat().st_size if slot.log.exists() else 0)
            dirs = configure_sandbox(cfg, sandbox, scratch=tmp, reference_dir=ref_dir,
                                     reference_mode=bool(task.get("reference")), source_dir=src,
                                     slot=slot, zygote_key=key)
        _fast_sqlite(db)
        t1 = time.monotonic()
        phases["setup"] = t1 - t0
        coursedir = CourseDirectory(config=cfg)
        app = Autograde(coursedir=coursedir, config=cfg)
        app.force = True
        app.create_student = True
        res = capture_log(app)
        phases["autograde"] = time.monotonic() - t1
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
        from . import sandbox as _sb
        t2 = time.monotonic()
        if slot is not None:          # every kernel of this submission dead, its folders emptied
            from . import zygote
            try:
                for z in list(zygote._ZYGOTES.values()):
                    z.killall()
                if zygote_log is not None:
                    try:
                        with open(zygote_log[0], "rb") as fh:   # its last 4000 bytes
                            fh.seek(max(zygote_log[1], os.fstat(fh.fileno()).st_size - 4000))
                            (tmp / "kernel.log").write_bytes(fh.read(4000))
                    except OSError:
                        pass
                slot.reset()
                result["zygote_rss_kb"] = zygote.memory_kb()
            except Exception:         # never reuse a slot that could not be emptied
                zygote.shutdown()
            finally:
                zygote.BUSY.release()
        import resource
        result["worker_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        phases["cleanup"] = time.monotonic() - t2
        result["duration"] = time.monotonic() - t0
        result["exec_seconds"] = _sb.EXEC_SECONDS[0]
        phases.update(_sb.PHASES)
        phases["cells"] = _sb.EXEC_SECONDS[0]
        result["phases"] = phases
        try:
            result["kernel_log"] = (tmp / "kernel.log").read_bytes()[-4000:].decode("utf-8",
                                                                                "replace")
        except OSError:
            result["kernel_log"] = ""
        shutil.rmtree(tmp, ignore_errors=True)
    return result
