"""Plain-text tables, the grade files (csv, Canvas, Moodle), diagnosis and the course status."""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from nbgrader.api import Gradebook
from traitlets import Dict
from traitlets.config import Configurable

from .collect import course_notebooks, identify
from .coursedir import Course
from .notebooks import check_notebook
from .roster import load_roster
from .state import load_state

GRADE_FORMATS = ["csv", "canvas", "moodle"]


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def table(headers: list[str], rows: list[list], max_width: int = 110) -> str:
    """A left-aligned text table; the last column is wrapped so lines stay readable."""
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    fixed = sum(widths[:-1]) + 2 * (len(headers) - 1)
    last = max(20, min(widths[-1], max_width - fixed))
    widths[-1] = last

    def line(vals):
        chunks = [vals[-1][i:i + last] for i in range(0, len(vals[-1]), last)] or [""]
        head = "  ".join(v.ljust(w) for v, w in zip(vals[:-1], widths[:-1]))
        return "\n".join(((head if k == 0 else " " * len(head)) + "  " + c).rstrip()
                         for k, c in enumerate(chunks))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep] + [line(r) for r in cells])


# ---------------------------------------------------------------------------- diagnosis
_PLAIN = [  # (pattern in the grader's reason, plain words)
    (r"CellTimeoutError|NotebookTimeout|KernelUnresponsive|timed out",
     "timed out (a cell ran past the time limit)"),
    (r"MemoryError", "memory limit reached"),
    (r"KernelDied", "the kernel died (memory limit, or the code crashed or exited)"),
    (r"OutputLimitExceeded", "too much output (the cell was stopped)"),
    (r"touches the grading code", "tampering: a cell touches the grading code"),
    (r"duplicated cell id", "tampering: duplicated graded cells"),
    (r"graded cell\(s\) missing", "tampering or a foreign notebook: graded cells are missing"),
    (r"SystemExit", "the notebook calls exit()"),
]


def _syntax_errors(nb) -> list[str]:
    from IPython.core.inputtransformer2 import TransformerManager
    tm, out = TransformerManager(), []
    for k, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        try:
            compile(tm.transform_cell(src), f"cell {k}", "exec")
        except (SyntaxError, ValueError) as e:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            where = f"cell {k}" + (f" ({gid})" if gid else "")
            line = getattr(e, "lineno", None)
            msg = getattr(e, "msg", str(e))
            out.append(f"syntax error at line {line} of {where}: {msg}" if line
                       else f"syntax error in {where}: {msg}")
        except Exception:
            pass
    return out


def diagnose(course: Course, assignment: str, student: str, reason: str = "") -> list[str]:
    """The problems of one submission in plain words, from its files and the grader's reason."""
    out = []
    sub = course.submitted_path(student, assignment)
    known = None
    for name in course.notebooks(assignment):
        p = sub / f"{name}.ipynb"
        if not p.is_file():
            out.append(f"{name}.ipynb not submitted")
            continue
        data = p.read_bytes()
        why = check_notebook(data)
        if why:
            out.append(f"{name}.ipynb: unreadable file ({why})")
            continue
        known = known if known is not None else course_notebooks(course)
        found = identify(data, known)
        if found and found[0] != assignment:
            out.append(f"{name}.ipynb is a notebook of another assignment ({found[0]}), not "
                       f"{assignment}")
            continue
        nb = json.loads(data)
        out += [f"{name}.ipynb: {s}" for s in _syntax_errors(nb)]
        stubs = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                 and "raise NotImplementedError()" in "".join(c.get("source", ""))]
        if stubs:
            out.append(f"{name}.ipynb: not attempted: {', '.join(map(str, stubs))} (still "
                       "`raise NotImplementedError()`)")
    for pat, words in _PLAIN:
        if reason and re.search(pat, reason) and words not in out:
            out.append(words)
    return out


def plain_status(course: Course, assignment: str, student: str, status: str) -> str:
    """The table's status: the plain reasons first, then the grader's own words."""
    if status == "ok":
        return status
    plain = diagnose(course, assignment, student, status)
    return "; ".join(plain + [status]) if plain else status


def autograde_table(rows, course: Course | None = None) -> str:
    return table(["student", "assignment", "score", "max", "status"],
                 [[r.student, r.assignment, r.score, r.max_score,
                   plain_status(course, r.assignment, r.student, r.status) if course else r.status]
                  for r in rows])


# ---------------------------------------------------------------------------- grades
class Grades(Configurable):
    """How ``nnkit-course grades`` names the assignments in an LMS file (``c.Grades.*``)."""
    lms_columns = Dict({}, help="assignment -> the LMS's column, e.g. {'perceptron': "
                       "'Perceptron (1234)'} for Canvas (its export names columns 'Name (id)')"
                       ).tag(config=True)


@dataclass
class StudentGrades:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    on_roster: bool = True
    by_assignment: dict = field(default_factory=dict)   # a -> dict

    @property
    def total(self) -> float:
        return sum(g["score"] for g in self.by_assignment.values())

    @property
    def max(self) -> float:
        return sum(g["max"] for g in self.by_assignment.values())

    @property
    def pending(self) -> list[str]:
        return [f"{a}: {c}" for a, g in self.by_assignment.items() for c in g["pending"]]


def gradebook(course: Course) -> tuple[list[str], list[StudentGrades], dict]:
    """(released assignments, one entry per student, per-assignment max). Every rostered student
    has every assignment: a missing submission scores 0 (status "missing")."""
    roster = load_roster(course)
    order = course.source_assignments()
    with Gradebook(course.db_url, course.course_id) as gb:
        assignments = sorted((a for a in gb.assignments), key=lambda a: (
            order.index(a.name) if a.name in order else len(order), a.name))
        names = [a.name for a in assignments]
        maxes = {a.name: float(a.max_score) for a in assignments}
        students: dict[str, StudentGrades] = {}
        for r in roster or []:
            students[r["id"]] = StudentGrades(**{k: r.get(k, "") or "" for k in (
                "id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id",
                "sis_login_id", "section")})
        for s in sorted(gb.students, key=lambda s: s.id):
            if s.id not in students:
                students[s.id] = StudentGrades(s.id, s.first_name or "", s.last_name or "",
                                               s.email or "", s.lms_user_id or "",
                                               on_roster=roster is None)
        for a in assignments:
            for st in students.values():
                st.by_assignment[a.name] = {"score": 0.0, "raw": 0.0, "max": maxes[a.name],
                                            "late_penalty": 0.0, "status": "missing",
                                            "submitted": "", "seconds_late": 0.0, "parts": {},
                                            "pending": []}
            for sub in a.submissions:
                st = students.get(sub.student.id)
                if st is None:
                    continue
                parts, pending = {}, []
                for nb in sorted(sub.notebooks, key=lambda n: n.name):
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        parts[f"{nb.name}/{g.name}"] = float(g.score)
                        if g.needs_manual_grade:
                            pending.append(f"{nb.name}/{g.name}")
                penalty = sum(float(nb.late_submission_penalty or 0) for nb in sub.notebooks)
                graded = any(nb.grades for nb in sub.notebooks)
                status = ("hand grading pending" if pending else "graded") if graded \
                    else "not graded yet"
                if sub.total_seconds_late > 0:
                    status += f", late by {_duration(sub.total_seconds_late)}"
                st.by_assignment[a.name].update(
                    score=float(sub.score) - penalty, raw=float(sub.score), late_penalty=penalty,
                    status=status, parts=parts, pending=pending,
                    seconds_late=float(sub.total_seconds_late),
                    submitted=sub.timestamp.strftime("%Y-%m-%d %H:%M") if sub.timestamp else "")
    if roster:       # roster order, then the others
        ids = [r["id"] for r in roster] + sorted(s for s in students if not students[s].on_roster)
    else:
        ids = sorted(students)
    return names, [students[i] for i in ids], maxes


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def grades_file(course: Course, fmt: str = "csv") -> tuple[str, list[str]]:
    """(the file's text, warnings) for ``fmt`` in :data:`GRADE_FORMATS`."""
    names, students, maxes = gradebook(course)
    cols = Grades(config=course.config).lms_columns
    warnings = []
    pending = [s for s in students if s.pending]
    if pending:
        n = sum(len(s.pending) for s in pending)
        where = "; ".join(f"{s.id} ({', '.join(s.pending)})" for s in pending[:5])
        warnings.append(f"{n} answer(s) not graded by hand yet (written answers, or cells the "
                        f"autograder could not grade), counted as 0: {where}"
                        + (" ..." if len(pending) > 5 else "")
                        + "; grade them in the formgrader (jupyter lab -> Nbgrader -> Formgrader "
                          "-> Manual Grading)")
    buf = io.StringIO()
    w = csv.writer(buf)
    if fmt == "csv":
        parts = {a: [] for a in names}
        for s in students:
            for a, g in s.by_assignment.items():
                for p in g["parts"]:
                    if p not in parts[a]:
                        parts[a].append(p)
        header = ["student", "first_name", "last_name", "email", "on_roster"]
        for a in names:
            header += [a, f"{a}:max", f"{a}:status", f"{a}:submitted", f"{a}:late_penalty"]
            header += [f"{a}:{p}" for p in parts[a]]
        header += ["total", "max", "needs_manual_grading"]
        w.writerow(header)
        for s in students:
            row = [s.id, s.first_name, s.last_name, s.email, "yes" if s.on_roster else "no"]
            for a in names:
                g = s.by_assignment[a]
                row += [_fmt(g["score"]), _fmt(g["max"]), g["status"], g["submitted"],
                        _fmt(g["late_penalty"])]
                row += [_fmt(g["parts"][p]) if p in g["parts"] else "" for p in parts[a]]
            row += [_fmt(s.total), _fmt(s.max), len(s.pending)]
            w.writerow(row)
        return buf.getvalue(), warnings
    off = [s.id for s in students if not s.on_roster]
    if off:
        warnings.append(f"not on the roster, left out of the {fmt} file: {', '.join(off)}")
    students = [s for s in students if s.on_roster]
    if fmt == "canvas":
        unmatched = [s.id for s in students if not (s.lms_user_id or s.sis_user_id
                                                    or s.sis_login_id)]
        if unmatched:
            warnings.append(f"no Canvas ID for {', '.join(unmatched)}: import the roster from "
                            "Canvas's gradebook export so Canvas can match them")
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
                   + [cols.get(a, a) for a in names] + ["Final Points"])
        w.writerow(["    Points Possible", "", "", "", ""] + [_fmt(maxes[a]) for a in names]
                   + [_fmt(sum(maxes.values()))])
        for s in students:
            w.writerow([f"{s.last_name}, {s.first_name}".strip(", "), s.lms_user_id,
                        s.sis_user_id, s.sis_login_id, s.section]
                       + [_fmt(s.by_assignment[a]["score"]) for a in names] + [_fmt(s.total)])
    elif fmt == "moodle":
        w.writerow(["First name", "Last name", "ID number", "Email address"]
                   + [cols.get(a, a) for a in names] + ["Course total"])
        for s in students:
            w.writerow([s.first_name, s.last_name, s.sis_user_id or s.id, s.email]
                       + [_fmt(s.by_assignment[a]["score"]) for a in names] + [_fmt(s.total)])
    else:
        raise ValueError(fmt)
    return buf.getvalue(), warnings


def grades_summary(course: Course) -> str:
    names, students, maxes = gradebook(course)
    headers = ["student"] + names + ["total", "max", "to grade by hand"]
    rows = []
    for s in students:
        row = [s.id + ("" if s.on_roster else " (not on roster)")]
        for a in names:
            g = s.by_assignment[a]
            mark = _fmt(g["score"])
            if g["status"] == "missing":
                mark += " (missing)"
            elif g["late_penalty"]:
                mark += f" (late -{_fmt(g['late_penalty'])})"
            rows_mark = mark + (" *" if g["pending"] else "")
            row.append(rows_mark)
        row += [s.total, s.max, len(s.pending)]
        rows.append(row)
    out = table(headers, rows)
    if any(s.pending for s in students):
        out += "\n* written answers still to grade by hand (they count 0 until graded)"
    return out


# back-compat helpers (the e2e tests and plain callers)
def grades_csv(course: Course) -> str:
    return grades_file(course, "csv")[0]


# ---------------------------------------------------------------------------- status
def status(course: Course, details: bool = False, assignment: str | None = None) -> str:
    """What is released, collected, graded (and with problems), fed back, per assignment;
    ``details``: each student with a problem and why, in plain words."""
    released = set(course.released_assignments())
    state = load_state(course)
    rows, problems_of = [], {}
    for a in course.source_assignments():
        if assignment and a != assignment:
            continue
        subs = course.submitted_students(a)
        graded = [s for s in subs if course.autograded_path(s, a).is_dir()]
        problems = [s for s in subs if state.get(f"{a}/{s}", {}).get("status", "ok") != "ok"]
        fed = [s for s in graded if (course.feedback_dir / s / a).is_dir()]
        rel = "yes" if a in released and (course.release_dir / a).is_dir() else "no"
        rows.append([a, rel, len(subs), f"{len(graded)}/{len(subs)}", len(problems),
                     f"{len(fed)}/{len(graded)}"])
        problems_of[a] = problems
    out = table(["assignment", "released", "collected", "autograded", "with problems",
                 "feedback"], rows)
    if not course.gradebook_exists():
        return out + "\n(no gradebook yet: run `nnkit-course release`)"
    if details:
        roster = [r["id"] for r in load_roster(course) or []]
        lines = []
        for a, studs in problems_of.items():
            for s in studs:
                reason = state.get(f"{a}/{s}", {}).get("reason", "")
                lines.append([s, a, plain_status(course, a, s, reason or "see the autograde "
                                                               "table")])
            if a in released:
                subs = set(course.submitted_students(a))
                lines += [[s, a, "no submission (scores 0)"] for s in roster if s not in subs]
        out += "\n\n" + (table(["student", "assignment", "problem"], lines) if lines
                         else "no submission with a problem")
        try:
            _, students, _ = gradebook(course)
        except Exception:
            students = []
        pend = [[s.id, ", ".join(s.pending)] for s in students if s.pending
                and (assignment is None or any(p.startswith(f"{assignment}:") for p in s.pending))]
        if pend:
            out += "\n\nwritten answers to grade by hand (formgrader):\n" + table(
                ["student", "answers"], pend)
    return out
