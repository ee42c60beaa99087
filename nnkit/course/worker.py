"""What one Dask task runs: autograde ONE submission in a private, throw-away course folder.

:func:`grade_submission` lays the task's files out as a course of one student (source, submission,
a gradebook copy), runs nbgrader's ``Autograde`` converter there, unchanged apart from the execute
step (:mod:`nnkit.course.execute`: the sandboxed kernel, forked by this process's zygote when it
can be), and returns the autograded files with the trusted verdicts (:class:`GradingResult`). The
real gradebook is written by the command's process only (:mod:`nnkit.course.gradebook`).

:func:`warm_up` and :func:`finish` run once per worker process, when a run starts and ends.
"""
from __future__ import annotations

import copy
import gc
import json
import os
import resource
import shutil
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from ..files import read_tree, write_tree
from . import execute, nbgrader_tuning, zygote
from .coursedir import ensure_path_env
from .kernel import SandboxSettings, sandbox_uid, scratch_root
from .notebooks import check_notebook, deduplicate_ids
from .task import GradingResult, GradingTask
from .verdicts import cell_verdicts, incidents, solution_failures


@dataclass
class _Run:
    """One task's private course folder, and the zygote slot its kernels work in (if any)."""
    tmp: Path
    root: Path           # the course: source/, submitted/<student>/, autograded/<student>/
    config: Config
    db_url: str
    folders: execute.Folders | None = None
    slot: zygote.Slot | None = None


def grade_submission(task: GradingTask, solution: GradingResult | None = None) -> GradingResult:
    """Autograde one submission (see the module docstring). Never raises: errors go in the result.

    ``solution``: the result of the instructor's solution run with ``record_solution`` (its
    per-cell records), which the trusted comparison needs.
    """
    t0 = time.monotonic()
    result = GradingResult(task.student, task.assignment)
    if solution is not None and (not solution.success or solution.problems):
        why = "; ".join(solution.problems) or (solution.error or "unknown error").strip().splitlines()[-1]
        result.infrastructure_error = f"the instructor's solution failed in the sandbox: {why}"
        return result
    warnings.filterwarnings("ignore", category=SAWarning)   # nbgrader's autoflush noise
    ensure_path_env()
    run = None
    try:
        run = _lay_out(task, result)
        _sandbox(task, run, solution)
        result.phases["setup"] = time.monotonic() - t0
        _autograde(task, run, result)
        _gather(task, run, result)
    except Exception:
        result.error = traceback.format_exc()[-5000:]
        result.success = False
    finally:
        _clean_up(run, result)
        result.duration = time.monotonic() - t0
    return result


def _lay_out(task: GradingTask, result: GradingResult) -> _Run:
    """The task's course folder: files written, unreadable notebooks set aside (nbgrader then scores
    them 0 like a missing file, and grades the other notebooks normally), the configuration."""
    tmp = Path(tempfile.mkdtemp(prefix=f"nnkit-{task.assignment}-", dir=scratch_root()))
    config = Config(copy.deepcopy(task.config))
    cd = config.CourseDirectory
    run = _Run(tmp, tmp / "course", config, f"sqlite:///{tmp / 'private' / 'gradebook.db'}")
    write_tree(tmp / "private", {"gradebook.db": task.inputs.gradebook})
    write_tree(_source(run, task), task.inputs.source)
    submitted = run.root / cd.get("submitted_directory", "submitted") / task.student / task.assignment
    write_tree(submitted, task.submission)
    submitted.mkdir(parents=True, exist_ok=True)
    result.problems += _set_aside_unreadable(submitted, task.inputs.notebook_names)
    cd.root, cd.db_url, cd.course_id = str(run.root), run.db_url, task.course_id
    cd.assignment_id, cd.student_id = task.assignment, task.student
    nbgrader_tuning.install(throwaway_db=str(tmp / "private" / "gradebook.db"))
    return run


def _source(run: _Run, task: GradingTask) -> Path:
    return run.root / run.config.CourseDirectory.get("source_directory", "source") / task.assignment


def _autograded(run: _Run) -> Path:
    return run.root / run.config.CourseDirectory.get("autograded_directory", "autograded")


def _set_aside_unreadable(submitted: Path, names: list[str]) -> list[str]:
    problems = []
    for name in names:
        path = submitted / f"{name}.ipynb"
        if not path.exists():
            problems.append(f"{name}.ipynb: not submitted (scored 0)")
        elif why := check_notebook(path.read_bytes()):
            problems.append(f"{name}.ipynb: {why} (scored 0)")
            path.unlink()
        elif dup := deduplicate_ids(path):
            problems.append(f"{name}.ipynb: duplicated cell id(s) {', '.join(dup)}: only the last "
                            "copy counts")
    return problems


def _sandbox(task: GradingTask, run: _Run, solution: GradingResult | None) -> None:
    """The execute step in the sandbox (nothing to do without one): the zygote's slot if this
    process can have one, the solution's records where the verdicts read them."""
    if task.sandbox is None:
        return
    records = None
    if solution is not None:
        records = run.tmp / "solution-records"
        write_tree(records, solution.records)
    run.slot, key = _claim_zygote(task, task.sandbox, _autograded(run))
    run.folders = execute.configure(run.config, task.sandbox, scratch=run.tmp,
                                    solution_records=records, record_solution=task.record_solution,
                                    source_dir=_source(run, task), slot=run.slot, zygote_key=key)


def _claim_zygote(task: GradingTask, sandbox: SandboxSettings, autograded: Path):
    """With the full sandbox: this process's zygote for the task's assignment and its slot, the
    task's ``autograded`` folder linked into the slot (the kernels' working folders). Else
    ``(None, "")``: kernels started per notebook."""
    if not zygote.usable(sandbox) or not zygote.BUSY.acquire(blocking=False):
        return None, ""        # (another thread of this process has the slot)
    try:
        z = zygote.zygote_for(sandbox, task.inputs.preload, sandbox_uid())
        z.slot.reset()
        autograded.parent.mkdir(parents=True, exist_ok=True)
        autograded.symlink_to(z.slot.work, target_is_directory=True)
    except Exception:        # cannot start it here: kernels started per notebook
        zygote.BUSY.release()
        return None, ""
    return z.slot, zygote.activate(z)


def _autograde(task: GradingTask, run: _Run, result: GradingResult) -> None:
    t0 = time.monotonic()
    app = Autograde(coursedir=CourseDirectory(config=run.config), config=run.config)
    app.force = True
    app.create_student = True
    res = capture_log(app)
    result.phases["autograde"] = time.monotonic() - t0
    result.success = bool(res.get("success"))
    result.log = res.get("log", "")[-20000:]
    result.error = res.get("error", "")[-5000:]
    if not result.success and not result.error:
        result.error = result.log[-2000:]
    timings = run.tmp / "timings.json"
    if timings.is_file():
        result.phases.update(json.loads(timings.read_text()))


def _gather(task: GradingTask, run: _Run, result: GradingResult) -> None:
    """The autograded notebooks and their verdicts; files besides the notebooks are what nbgrader
    copied in (never what the kernel wrote)."""
    out = read_tree(_autograded(run) / task.student / task.assignment)
    if task.record_solution and run.folders is not None:
        result.records = read_tree(run.folders.records)
        result.problems += solution_failures(run.folders.records)
    result.files = {rel: data for rel, data in {**task.submission, **task.inputs.source}.items()
                    if not rel.endswith(".ipynb")}
    expected = _graded_cells(run.db_url, task.course_id, task.assignment)
    for rel, data in out.items():
        if rel.endswith(".ipynb") and "/" not in rel:
            name = rel[:-len(".ipynb")]
            text = data.decode("utf-8")
            nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
            result.notebooks[name] = text
            result.verdicts[name] = cell_verdicts(nb)
            result.problems += incidents(name, nb)
            gone = [c for c in expected.get(name, []) if c not in result.verdicts[name]]
            if gone:
                result.problems.append(f"{name}.ipynb: graded cell(s) missing: {', '.join(gone)} "
                                       "(scored 0)")


def _graded_cells(db_url: str, course_id: str, assignment: str) -> dict[str, list[str]]:
    with Gradebook(db_url, course_id) as gb:
        return {nb.name: sorted(c.name for c in nb.grade_cells)
                for nb in gb.find_assignment(assignment).notebooks}


def _clean_up(run: _Run | None, result: GradingResult) -> None:
    """Every kernel of this submission dead, the zygote's slot emptied (or the zygote stopped if it
    could not be), the task's folder deleted; the peak memory noted."""
    t0 = time.monotonic()
    if run is not None and run.slot is not None:
        try:
            zygote.kill_kernels()
            run.slot.reset()
            result.memory_kb["zygote_rss_kb"] = zygote.memory_kb()
        except Exception:         # never reuse a slot that could not be emptied
            zygote.shutdown()
        finally:
            zygote.BUSY.release()
    nbgrader_tuning.forget_engines()
    result.memory_kb["worker_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if run is not None:
        shutil.rmtree(run.tmp, ignore_errors=True)
    result.phases["cleanup"] = time.monotonic() - t0


# ---------------------------------------------------------------------------- per worker process
def warm_up(sandbox: SandboxSettings | None, plans: list[dict]) -> int:
    """Run once per worker process when a run starts (``Client.run``): start the zygotes the run's
    assignments use (this module's imports are already what grading needs), so the first
    submissions do not wait."""
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
            first = {}
            for plan in plans:
                first.setdefault(plan.get("kind"), plan)
            for plan in first.values():
                try:
                    zygote.zygote_for(sandbox, plan, sandbox_uid())
                except Exception:      # the task falls back to a kernel per notebook
                    pass
    finally:
        zygote.BUSY.release()
    return os.getpid()


def finish(exiting: bool = False) -> int:
    """Run in every worker process when a run ends: stop its zygotes, remove its slot.
    ``exiting``: the process ends right after (a cluster of the command's own), so its objects are
    frozen out of the garbage collector, which then need not walk them all at exit (~0.5 s)."""
    if zygote.BUSY.acquire(blocking=False):      # (not while a task of this process grades)
        try:
            zygote.shutdown()
        finally:
            zygote.BUSY.release()
    if exiting:
        gc.freeze()
    return os.getpid()
