"""What travels to a grading worker and back: a :class:`GradingTask` and its :class:`GradingResult`.

A task carries everything the worker needs (no shared filesystem is assumed): the assignment's
source files, the student's submitted files, a copy of the gradebook reduced to the assignment,
the course's nbgrader configuration and the sandbox settings. Two kinds: a student's submission
(:meth:`GradingTask.for_student`) and the instructor's solution, run to record what its checks
compute (:meth:`GradingTask.for_solution`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .coursedir import Course
from .gradebook import export_assignment
from .kernel import SandboxSettings


#: the student id under which the instructor's solution is graded (in a throw-away gradebook)
SOLUTION_STUDENT = "reference-solution"


@dataclass(frozen=True)
class AssignmentInputs:
    """What every task of one assignment shares."""
    source: dict[str, bytes]       # the instructor's folder: notebooks and data files
    gradebook: bytes               # the course's gradebook reduced to this assignment (SQLite)
    notebook_names: list[str]      # the assignment's notebooks, without ``.ipynb``
    preload: dict                  # what its kernels pre-import (nnkit.course.zygote.preload_plan)

    @classmethod
    def of(cls, course: Course, assignment: str, preload: dict) -> "AssignmentInputs":
        return cls(source=course.source_files(assignment),
                   gradebook=export_assignment(course.db_url, course.course_id, assignment),
                   notebook_names=course.notebooks(assignment), preload=preload)


@dataclass(frozen=True)
class GradingTask:
    student: str
    assignment: str
    course_id: str
    config: dict                   # the course's nbgrader configuration
    inputs: AssignmentInputs
    submission: dict[str, bytes]   # the submitted files, by relative path
    sandbox: SandboxSettings | None
    record_solution: bool = False  # the instructor's solution, run to record its checks

    @classmethod
    def for_student(cls, course: Course, assignment: str, student: str, inputs: AssignmentInputs,
                    sandbox: SandboxSettings | None) -> "GradingTask":
        return cls(student, assignment, course.course_id, dict(course.config), inputs,
                   course.submitted_files(student, assignment), sandbox)

    @classmethod
    def for_solution(cls, course: Course, assignment: str, inputs: AssignmentInputs,
                     sandbox: SandboxSettings) -> "GradingTask":
        notebooks = {rel: data for rel, data in inputs.source.items() if rel.endswith(".ipynb")}
        return cls(SOLUTION_STUDENT, assignment, course.course_id, dict(course.config), inputs,
                   notebooks, sandbox, record_solution=True)


@dataclass
class GradingResult:
    student: str
    assignment: str
    success: bool = False                  # nbgrader's Autograde finished
    notebooks: dict[str, str] = field(default_factory=dict)    # autograded notebooks' JSON
    files: dict[str, bytes] = field(default_factory=dict)      # the other files of autograded/
    verdicts: dict[str, dict] = field(default_factory=dict)    # per notebook, per graded cell
    problems: list[str] = field(default_factory=list)          # for the table, in words
    records: dict[str, bytes] = field(default_factory=dict)    # the solution's (record_solution)
    log: str = ""                          # nbgrader's log (its last 20,000 characters)
    error: str = ""                        # why it failed (a traceback or the log's end)
    infrastructure_error: str = ""         # not graded at all (worker lost, solution broken)
    duration: float = 0.0                  # seconds in the worker
    phases: dict[str, float] = field(default_factory=dict)     # where they went (benchmarks)
    memory_kb: dict[str, int] = field(default_factory=dict)    # worker / zygote peak (benchmarks)

    @property
    def cell_seconds(self) -> float:
        """Seconds the kernels spent running the notebooks' cells."""
        return self.phases.get("cells", 0.0)
