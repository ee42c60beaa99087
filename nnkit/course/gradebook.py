"""The gradebook side: nbgrader's SQLite (or PostgreSQL) gradebook, written by ONE process only.

Workers never touch the course's gradebook. Each task gets :func:`export_assignment`'s copy (a small
SQLite file holding just the assignment's notebooks and cells, what nbgrader's autograde needs) and
returns the autograded notebooks. :func:`record_result` then replays nbgrader's own grade-saving
steps (``update_or_create_submission``, zero scores for missing notebooks, the ``SaveAutoGrades`` and
``AssignLatePenalties`` preprocessors) on the returned notebooks against the real gradebook, in the
command's process.
"""
from __future__ import annotations

import csv
import tempfile
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import nbformat
from nbgrader.api import Base, Gradebook, MissingEntry
from nbgrader.apps.dbapp import DbStudentImportApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, NbGraderPreprocessor, SaveAutoGrades
from nbgrader.utils import capture_log
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from .coursedir import Course, CourseError


def _alembic_version(gb) -> str | None:
    try:
        return gb.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        return None


def _create_schema(url: str, version: str | None) -> None:
    """Create nbgrader's tables stamped with ``version``: a new Gradebook would otherwise run the
    ``alembic`` command to find it, which costs seconds."""
    if not version:
        return
    engine = create_engine(url, future=True)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
    finally:
        engine.dispose()


def export_assignment(db_url: str, course_id: str, assignment: str) -> bytes:
    """A copy of the gradebook reduced to ``assignment`` (its notebooks and cells), as SQLite bytes."""
    with tempfile.TemporaryDirectory(prefix="nnkit-gb-") as d:
        path = Path(d) / "gradebook.db"
        with Gradebook(db_url, course_id) as src:
            _create_schema(f"sqlite:///{path}", _alembic_version(src))
        with Gradebook(db_url, course_id) as src, Gradebook(f"sqlite:///{path}", course_id) as dst:
            a = src.find_assignment(assignment)
            dst.update_or_create_assignment(a.name, duedate=a.duedate)
            for nb in a.notebooks:
                dst.update_or_create_notebook(nb.name, a.name)
                for c in nb.grade_cells:
                    dst.update_or_create_grade_cell(c.name, nb.name, a.name,
                                                    max_score=c.max_score, cell_type=c.cell_type)
                for c in nb.solution_cells:
                    dst.update_or_create_solution_cell(c.name, nb.name, a.name)
                for c in nb.task_cells:
                    dst.update_or_create_task_cell(c.name, nb.name, a.name,
                                                   max_score=c.max_score, cell_type=c.cell_type)
                for c in nb.source_cells:
                    dst.update_or_create_source_cell(c.name, nb.name, a.name, cell_type=c.cell_type,
                                                     locked=c.locked, source=c.source,
                                                     checksum=c.checksum)
        return path.read_bytes()


def _save_auto_grades(gb, nb, resources, config) -> None:
    """nbgrader's ``SaveAutoGrades`` on an already open gradebook (one engine for the whole run,
    so SQLAlchemy's statement cache stays warm)."""

    class _Shared(SaveAutoGrades):
        def preprocess(self, nb, resources):
            meta = resources["nbgrader"]
            self.notebook_id, self.assignment_id = meta["notebook"], meta["assignment"]
            self.student_id, self.db_url = meta["student"], meta["db_url"]
            self.gradebook = gb
            return NbGraderPreprocessor.preprocess(self, nb, resources)

    _Shared(config=config).preprocess(nb, resources)


def record_result(config, db_url: str, course_id: str, assignment: str, student: str,
                  timestamp, notebooks: dict[str, str], gb=None) -> None:
    """Record one autograded submission in the gradebook with nbgrader's own steps.

    ``notebooks`` maps notebook name -> autograded notebook JSON. Notebooks of the assignment that
    are absent score 0 (what ``nbgrader autograde`` does for a missing file). ``gb``: an open
    :class:`nbgrader.api.Gradebook` to reuse (the engine keeps one for the run).
    """
    # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush warnings (harmless)
    warnings.filterwarnings("ignore", category=SAWarning)
    own = gb is None
    if own:
        gb = Gradebook(db_url, course_id)
    try:
        with _one_transaction(gb) as session:
            gb.update_or_create_student(student)
            if timestamp:
                sub = gb.update_or_create_submission(assignment, student, timestamp=timestamp)
            else:
                sub = gb.update_or_create_submission(assignment, student)
            late = sub.total_seconds_late > 0
            for nb in gb.find_assignment(assignment).notebooks:
                if nb.name not in notebooks:
                    snb = gb.find_submission_notebook(nb.name, assignment, student)
                    for grade in snb.grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = False
            for name, source in sorted(notebooks.items()):
                nb = nbformat.reads(source, as_version=nbformat.NO_CONVERT)
                resources = {"nbgrader": {"notebook": name, "assignment": assignment,
                                          "student": student, "db_url": db_url}}
                _save_auto_grades(gb, nb, resources, config)
                if late:      # nbgrader's own step: it opens its own connection, so commit first
                    session.commit()
                    AssignLatePenalties(config=config).preprocess(nb, resources)
                else:         # what AssignLatePenalties does for a submission on time
                    gb.find_submission_notebook(name, assignment,
                                                student).late_submission_penalty = None
    finally:
        if own:
            gb.close()


class _CommitMeansFlush:
    """A gradebook session whose ``commit()`` only flushes (everything else passes through)."""

    def __init__(self, session):
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name):
        return getattr(self._session, name)


@contextmanager
def _one_transaction(gb):
    """nbgrader's steps commit after every cell (a disk sync each, ~14 per submission); inside this
    block they only flush, and the submission is committed once at the end: all of it or none."""
    session = gb.db
    gb.db = _CommitMeansFlush(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        gb.db = session


def submission_scores(db_url: str, course_id: str, assignment: str, student: str,
                      gb=None) -> dict:
    """``{"score", "max_score", "parts": {notebook/part: (score, max)}, "needs_manual"}``."""
    with (nullcontext(gb) if gb is not None else Gradebook(db_url, course_id)) as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        parts, manual = {}, 0
        for nb in sorted(sub.notebooks, key=lambda n: n.name):
            for g in sorted(nb.grades, key=lambda g: g.name):
                parts[f"{nb.name}/{g.name}"] = (float(g.score), float(g.max_score))
                manual += bool(g.needs_manual_grade)
        penalty = sum(float(nb.late_submission_penalty or 0) for nb in sub.notebooks)
        return {"score": float(sub.score), "max_score": float(sub.max_score), "parts": parts,
                "needs_manual": manual, "late_penalty": penalty}


def all_scores(db_url: str, course_id: str) -> list[dict]:
    """Every submission in the gradebook: student, assignment, per-part scores and totals."""
    rows = []
    with Gradebook(db_url, course_id) as gb:
        for a in sorted(gb.assignments, key=lambda a: a.name):
            for sub in sorted(a.submissions, key=lambda s: s.student.id):
                parts = {}
                for nb in sorted(sub.notebooks, key=lambda n: n.name):
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        parts[f"{nb.name}/{g.name}"] = (float(g.score), float(g.max_score))
                penalty = sum(float(nb.late_submission_penalty or 0) for nb in sub.notebooks)
                rows.append({"student": sub.student.id, "assignment": a.name,
                             "score": float(sub.score), "max_score": float(sub.max_score),
                             "late_penalty": penalty,
                             "needs_manual": sum(bool(g.needs_manual_grade)
                                                 for nb in sub.notebooks for g in nb.grades),
                             "parts": parts})
    return rows


def pending_hand_grading(course: Course, assignment: str) -> list[tuple[str, str]]:
    """(student, notebook/cell) of every written answer still waiting for a human."""
    out = []
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return out
        for sub in sorted(a.submissions, key=lambda s: s.student.id):
            for nb in sorted(sub.notebooks, key=lambda n: n.name):
                for g in sorted(nb.grades, key=lambda g: g.name):
                    if g.needs_manual_grade:
                        out.append((sub.student.id, f"{nb.name}/{g.name}"))
    return out


def import_students(course: Course, rows: list[dict]) -> list[str]:
    """Add or update the students ``rows`` (id, first_name, last_name, email, lms_user_id) with
    nbgrader's db student import; returns the ids in the gradebook that are not in ``rows``."""
    with tempfile.TemporaryDirectory(prefix="nnkit-roster-") as d:
        norm = Path(d) / "students.csv"
        with norm.open("w", newline="") as fh:
            w = csv.DictWriter(fh, ["id", "first_name", "last_name", "email", "lms_user_id"],
                               extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        cfg = Config(course.config)
        app = DbStudentImportApp(config=cfg, coursedir=CourseDirectory(config=cfg))
        app.log_level = "WARN"        # its "Creating/updating" line per student: we summarise
        app.extra_args = [str(norm)]
        res = capture_log(app)
        if not res.get("success"):
            lines = [ln for ln in (res.get("log", "") + res.get("error", "")).splitlines()
                     if ln.strip()]
            raise CourseError(f"nbgrader's db student import failed: "
                              f"{lines[-1] if lines else 'unknown error'}")
    ids = {r["id"] for r in rows}
    with Gradebook(course.db_url, course.course_id) as gb:
        return sorted(s.id for s in gb.students if s.id not in ids)


def set_duedate(course: Course, assignment: str, when) -> None:
    """The assignment's due date (nbgrader's LateSubmissionPlugin counts lateness from it)."""
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_assignment(assignment, duedate=when)
