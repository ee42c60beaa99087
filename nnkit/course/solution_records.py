"""What the instructor's solution's checks compute, recorded once per assignment in the sandbox.

Every submission's records are compared with these (:mod:`nnkit.course.verdicts`). ``release``
makes them (and says so if the solution fails its own checks in the sandbox); ``autograde`` makes
them if they are missing. They are kept under ``.nnkit-course/references/<assignment>-<key>/``,
where the key changes with the solution's files and with the code that records and judges
(nnkit's grading package, the execute step), so a stale record is never used.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import nnkit.grading

from ..files import new_folder, read_tree, tree_digest, write_tree
from . import execute, kernel, verdicts, zygote
from .coursedir import Course, last_error
from .task import SOLUTION_STUDENT, AssignmentInputs, GradingResult, GradingTask
from .worker import grade_submission


def _key(inputs: AssignmentInputs) -> str:
    """Changes when the solution's files or the grading code change."""
    grading = Path(nnkit.grading.__file__).parent
    code = {str(p.relative_to(grading)): p.read_bytes() for p in sorted(grading.rglob("*.py"))}
    for module in (execute, verdicts):
        code[module.__name__] = Path(module.__file__).read_bytes()
    h = hashlib.sha256((tree_digest(inputs.source) + tree_digest(code)).encode())
    return h.hexdigest()[:16]


def _path(course: Course, assignment: str, inputs: AssignmentInputs) -> Path:
    return course.state_dir / "references" / f"{assignment}-{_key(inputs)}"


def load(course: Course, assignment: str, inputs: AssignmentInputs) -> GradingResult | None:
    """The records kept from an earlier run (None if the solution or the grading code changed)."""
    path = _path(course, assignment, inputs)
    if not (path / "complete").is_file():
        return None
    return GradingResult(SOLUTION_STUDENT, assignment, success=True,
                         records=read_tree(path / "records"))


def save(course: Course, assignment: str, inputs: AssignmentInputs, result: GradingResult) -> None:
    with new_folder(_path(course, assignment, inputs)) as stage:
        write_tree(stage / "records", result.records)
        (stage / "records").mkdir(exist_ok=True)
        (stage / "complete").write_text("ok")


def record(course: Course, assignment: str) -> str:
    """Run the instructor's solution in the sandbox once and keep its checks' records (skipped
    when they are up to date, or when the sandbox is unavailable: autograde then does it).
    Returns a warning for the instructor, or ``""``."""
    if kernel.probe():
        return f"{assignment}: sandbox unavailable, the solution's checks will be recorded by autograde"
    source = course.source_files(assignment)
    inputs = AssignmentInputs.of(course, assignment, zygote.preload_plan({assignment: source})[assignment])
    if load(course, assignment, inputs) is not None:
        return ""
    result = grade_submission(GradingTask.for_solution(course, assignment, inputs,
                                                       kernel.sandbox_settings(course.config)))
    if not result.success or result.problems:
        why = "; ".join(result.problems) or last_error(result.log, result.error)
        return f"WARNING: {assignment}: the solution does not pass its own checks in the sandbox: {why}"
    save(course, assignment, inputs, result)
    return ""

