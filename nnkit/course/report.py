"""Plain-text tables, the grades CSV and the course status."""
from __future__ import annotations

import csv
import io

from .course import Course


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


def autograde_table(rows) -> str:
    return table(["student", "assignment", "score", "max", "status"],
                 [[r.student, r.assignment, r.score, r.max_score, r.status] for r in rows])


def grades_rows(course: Course) -> tuple[list[str], list[list]]:
    """Wide form: one row per student and assignment, one column per part, then the totals."""
    from .gradebook import all_scores
    subs = all_scores(course.db_url, course.course_id)
    parts = []
    for s in subs:
        for p in s["parts"]:
            key = f"{s['assignment']}:{p}"
            if key not in parts:
                parts.append(key)
    headers = ["student", "assignment"] + parts + ["late_penalty", "total", "max",
                                                   "needs_manual_grading"]
    rows = []
    for s in subs:
        row = [s["student"], s["assignment"]]
        for key in parts:
            a, p = key.split(":", 1)
            row.append(s["parts"][p][0] if a == s["assignment"] and p in s["parts"] else "")
        row += [s["late_penalty"], s["score"] - s["late_penalty"], s["max_score"],
                s["needs_manual"]]
        rows.append(row)
    return headers, rows


def grades_csv(course: Course) -> str:
    headers, rows = grades_rows(course)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows([[_fmt(c) if c != "" else "" for c in r] for r in rows])
    return buf.getvalue()


def grades_summary(course: Course) -> str:
    from .gradebook import all_scores
    subs = all_scores(course.db_url, course.course_id)
    return table(["student", "assignment", "score", "max", "late penalty", "to grade by hand"],
                 [[s["student"], s["assignment"], s["score"] - s["late_penalty"], s["max_score"],
                   s["late_penalty"], s["needs_manual"]] for s in subs])


def status(course: Course) -> str:
    """What is released, collected, graded (and with problems), fed back, per assignment."""
    from .engine import load_state
    released = set(course.released_assignments())
    state = load_state(course)
    rows = []
    for a in course.source_assignments():
        subs = course.submitted_students(a)
        graded = [s for s in subs if course.autograded_path(s, a).is_dir()]
        problems = [s for s in graded if state.get(f"{a}/{s}", {}).get("status", "ok") != "ok"]
        fed = [s for s in graded if (course.feedback_dir / s / a).is_dir()]
        rel = "yes" if a in released and (course.release_dir / a).is_dir() else "no"
        rows.append([a, rel, len(subs), f"{len(graded)}/{len(subs)}", len(problems),
                     f"{len(fed)}/{len(graded)}"])
    out = table(["assignment", "released", "collected", "autograded", "with problems",
                 "feedback"], rows)
    if not course.gradebook_exists():
        out += "\n(no gradebook yet: run `nnkit-course release`)"
    return out
