"""``release`` and ``feedback``: nbgrader's GenerateAssignment and GenerateFeedback converters."""
from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests

from .course import Course, CourseError


def _run(converter_cls, course: Course, *, assignment: str, student: str = "*", config=None,
         **attrs) -> dict:
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log
    from traitlets.config import Config
    cfg = Config(course.config)
    if config is not None:
        cfg.merge(config)
    cd = CourseDirectory(config=cfg)
    cd.assignment_id = assignment
    cd.student_id = student
    app = converter_cls(coursedir=cd, config=cfg)
    for k, v in attrs.items():
        setattr(app, k, v)
    return capture_log(app)


def _last_error(res: dict) -> str:
    lines = [ln for ln in (res.get("log", "") + res.get("error", "")).splitlines() if ln.strip()]
    errs = [ln for ln in lines if "[ERROR]" in ln] or lines
    return errs[-1] if errs else "unknown error"


def release(course: Course, assignments: list[str], out=None) -> list[str]:
    """Generate ``exercises/<a>/`` from ``solutions/<a>/``, record ``a`` in the gradebook, and
    record what the solution's checks compute (in the sandbox), which autograde compares with."""
    from nbgrader.converters import GenerateAssignment
    done = []
    for a in assignments:
        res = _run(GenerateAssignment, course, assignment=a, student=".", force=True,
                   create_assignment=True)
        if not res["success"]:
            raise CourseError(f"release of {a} failed: {_last_error(res)}")
        done.append(a)
        note = record_reference(course, a)
        if note and out is not None:
            print(note, file=out)
    return done


def record_reference(course: Course, assignment: str) -> str:
    """Run the instructor's solution in the sandbox once and keep its checks' records (skipped
    when they are up to date, or when the sandbox is unavailable: autograde then does it)."""
    from . import sandbox
    from .engine import _load_reference, _reference_task, _save_reference, _shared_inputs
    from .worker import grade_submission
    if sandbox.probe():
        return f"{assignment}: sandbox unavailable, the solution's checks will be recorded by autograde"
    shared = _shared_inputs(course, assignment)
    if _load_reference(course, assignment, shared) is not None:
        return ""
    ref = grade_submission(_reference_task(course, assignment, shared,
                                           sandbox.settings(course.config)))
    if not ref.get("success") or ref.get("problems"):
        why = "; ".join(ref.get("problems", [])) or _last_error(ref)
        return f"WARNING: {assignment}: the solution does not pass its own checks in the sandbox: {why}"
    _save_reference(course, assignment, shared, ref)
    return ""


class HideHiddenTests(ClearHiddenTests):
    """Feedback without the hidden tests' code: the region and its traceback lines are dropped."""

    def preprocess_cell(self, cell, resources, cell_index):
        from nbgrader import utils
        if cell.cell_type == "code" and utils.is_grade(cell) and self._remove_hidden_test_region(cell):
            cell.source = cell.source.rstrip("\n") + "\n# (hidden tests are not shown)"
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename')}: {out.get('evalue')}"]
        return cell, resources


def feedback(course: Course, assignments: list[str], *, hide_hidden_tests: bool = False) -> dict:
    """nbgrader's HTML feedback for every autograded submission; returns {assignment: n students}."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import GetGrades
    from traitlets.config import Config
    out = {}
    for a in assignments:
        graded = [p.parent.name for p in course.autograded_dir.glob(f"*/{a}")
                  if any(p.glob("*.ipynb"))]
        if not graded:
            raise CourseError(f"nothing autograded for {a} yet: run `nnkit-course autograde {a}` first")
        cfg = Config()
        if hide_hidden_tests:
            cfg.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests,
                                                  CSSHTMLHeaderPreprocessor]
        res = _run(GenerateFeedback, course, assignment=a, config=cfg, force=True)
        if not res["success"]:
            raise CourseError(f"feedback for {a} failed: {_last_error(res)}")
        out[a] = len(graded)
    return out
