"""``release``: nbgrader's GenerateAssignment (``solutions/<a>/`` -> ``exercises/<a>/`` and the
assignment in the gradebook), then the solution's checks recorded in the sandbox
(:mod:`nnkit.course.solution_records`), which autograde compares every submission with."""
from __future__ import annotations

from nbgrader.converters import GenerateAssignment

from . import solution_records
from .coursedir import Course, CourseError, last_error, run_converter


def release(course: Course, assignments: list[str], out=None) -> list[str]:
    """Release each of ``assignments``; returns those done. Warnings (a solution that fails its own
    checks in the sandbox) go to ``out``."""
    done = []
    for a in assignments:
        res = run_converter(GenerateAssignment, course, assignment=a, student=".", force=True,
                            create_assignment=True)
        if not res["success"]:
            raise CourseError(f"release of {a} failed: {last_error(res.get('log', ''), res.get('error', ''))}")
        done.append(a)
        note = solution_records.record(course, a)
        if note and out is not None:
            print(note, file=out)
    return done
