"""``nnkit-course report``: what the grades say about the class.

For each assignment:

- **item analysis**: per graded part, the share of rostered students with full, partial and no
  credit (a student without a submission has none), the mean score and the discrimination index
  (Pearson correlation of the part's score with the rest of the assignment: near 0 or negative, the
  part does not tell strong students from weak ones);
- **most common failures** per part: the graders' failure messages clustered into kinds
  (:func:`failure_kind`: relative errors grouped by the ratio yours/expected, shape mismatches,
  NaN/inf, inputs changed in place, nnkit's own implementation, exceptions, ...), with counts and
  one anonymised example each;
- **similar submissions**: pairs of students whose answer cells are alike
  (:mod:`nnkit.course.similarity`), ranked, with the matching lines side by side in the HTML.

It reads the gradebook (through :func:`nnkit.course.report.gradebook`) and the autograded notebooks
and never writes either: it changes no grade. ``--html DIR`` writes ``DIR/report.html``, one page
that stands alone offline (figures inlined as base64 PNG, no script, no link outside the page).
"""
from __future__ import annotations

import ast
import base64
import html
import io
import json
import math
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from nbgrader.api import (Assignment, Grade, GradeCell, Gradebook, Notebook, Student,
                          SubmittedAssignment, SubmittedNotebook)

from ..files import atomic_write
from .coursedir import Course, CourseError
from .report import table
from .roster import load_roster
from .similarity import (BUILTINS, Submission, common_fingerprints, fingerprint, imported_names,
                         similar_pairs, strip_magics)

# ---------------------------------------------------------------------------- failure kinds
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan"
_REL = re.compile(rf"(?P<name>[\w.\[\]]+): relative error (?P<err>{_NUM}) at \[[^\]]*\], tolerance "
                  rf"\S+ yours (?P<got>{_NUM}), (?P<label>expected|numerical) (?P<want>{_NUM})")
_NONFINITE = re.compile(rf"(?P<name>[\w.\[\]]+): yours is (?P<got>[-+]?(?:nan|inf)) at \[[^\]]*\] "
                        rf"where (?P<label>expected|numerical) is")
_SHAPE = re.compile(r"(?P<name>[\w.\[\]]+): expected shape (?P<want>\([^)]*\)), got "
                    r"(?P<got>\([^)]*\))")
_INPLACE = re.compile(r"(?P<part>[\w.\[\]]+): changed its input (?P<name>\w+) in place")
_POLICY = re.compile(r"(?P<name>[\w.]+) uses (?P<dotted>[\w.]+), nnkit's own implementation")
_NOT_ALLOWED = re.compile(r"(?P<name>[\w.]+) uses (?P<dotted>[\w.]+), which this part does not allow")
_RAISED = re.compile(r"(?:(?P<part>[\w.\[\]]+): )?your code raised (?P<exc>\w+)")
_WARNED = re.compile(r"(?P<part>[\w.\[\]]+): numpy warned '(?P<warning>[^':]+)")
_ACCURACY = re.compile(rf"test accuracy (?:{_NUM}) (?:is below|after transfer vs {_NUM} from "
                       rf"scratch \(needs) (?:the required |at least )?(?P<bar>{_NUM})")
_ERROR_LINE = re.compile(r"^(?P<exc>[A-Z]\w*(?:Error|Exception|Warning)|AssertionError)\b")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _ratio(got: float, want: float) -> str:
    if want == 0:
        return "yours is not 0 where the expected value is 0"
    r = got / want
    if abs(r) >= 1e-3 and abs(r - round(r)) <= 0.02 * abs(r) and round(r) != 0:
        txt = f"{int(round(r))}"
    else:
        txt = f"{r:.2g}"
    return f"yours ≈ {txt}× expected"


_SEED = re.compile(r"on the case \(seed\s*=\s*(\d+)")


def _case(flat: str) -> str:
    """Which case failed first: the same mistake fails the same case first, and two mistakes
    giving the same numbers on different cases (a sign error, sign(0)) stay apart."""
    m = _SEED.search(flat)
    return f" (case seed={m[1]})" if m else ""


def failure_kind(message: str) -> str:
    """The kind of a failure message: what is the same for every student making the same mistake
    (numbers that depend on the student's code are dropped, the ratio yours/expected is kept)."""
    flat = " ".join(_ANSI.sub("", message).split())
    if m := _POLICY.search(flat):
        return f"{m['name']} uses {m['dotted']} (nnkit's own implementation)"
    if m := _NOT_ALLOWED.search(flat):
        return f"{m['name']} uses {m['dotted']} (not allowed for this part)"
    if m := _INPLACE.search(flat):
        return f"{m['part']}: changes its input {m['name']} in place"
    if m := _SHAPE.search(flat):
        return f"{m['name']}: shape {m['got']} where {m['want']} is expected"
    if m := _NONFINITE.search(flat):
        what = "NaN" if "nan" in m["got"].lower() else "inf"
        return f"{m['name']}: {what} where a finite value is expected" + _case(flat)
    if m := _REL.search(flat):
        got, want, err = float(m["got"]), float(m["want"]), float(m["err"])
        if not (math.isfinite(got) and math.isfinite(want)):
            return f"{m['name']}: NaN/inf where a finite value is expected" + _case(flat)
        label = "expected" if m["label"] == "expected" else "numerical gradient"
        if want != 0 and abs(got / want - 1) < 1e-3:
            return (f"{m['name']}: relative error ~1e{int(math.floor(math.log10(max(err, 1e-300))))}"
                    f", yours ≈ {label} (a precision problem)" + _case(flat))
        return (f"{m['name']}: relative error, " + _ratio(got, want).replace("expected", label)
                + _case(flat))
    if m := _WARNED.search(flat):
        return f"{m['part']}: numpy warned '{re.sub(_NUM, 'N', m['warning']).strip()}'"
    if m := _RAISED.search(flat):
        return (f"{m['part']}: " if m["part"] else "") + f"raises {m['exc']}"
    if m := _ACCURACY.search(flat):
        extra = ""
        for why in ("NaN", "no weight changed", "instead of decreasing", "predicts class"):
            if why in flat:
                extra = {"NaN": ": the weights contain NaN", "no weight changed":
                         ": no weight changed during training", "instead of decreasing":
                         ": the training loss did not decrease", "predicts class":
                         ": predicts one class for every image"}[why]
                break
        return f"test accuracy below {m['bar']}{extra}"
    logical = re.sub(r"\n {3,}", " ", _ANSI.sub("", message))    # the checks wrap long lines
    first = next((ln.strip() for ln in logical.splitlines() if ln.strip()), "")
    if m := _ERROR_LINE.match(first):
        first = first if m["exc"] == "AssertionError" else m["exc"]
    return re.sub(_NUM, "N", first)[:160] or "failed (no message)"


def anonymiser(roster: list[dict]):
    """A function replacing the students' ids, names and emails in a text by ``<student>``."""
    words = set()
    for r in roster:
        for k in ("id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id",
                  "sis_login_id"):
            v = (r.get(k) or "").strip()
            if len(v) >= 3:
                words.add(v)
                if k == "email":
                    words.add(v.split("@")[0])
    if not words:
        return lambda text: text
    pat = re.compile(r"(?<![\w@.])(?:" + "|".join(re.escape(w) for w in
                                                  sorted(words, key=len, reverse=True))
                     + r")(?![\w@])", re.IGNORECASE)
    return lambda text: pat.sub("<student>", text)


# ---------------------------------------------------------------------------- the data
@dataclass
class Part:
    key: str          # notebook/grade_id
    notebook: str
    grade_id: str
    max_score: float
    cell_type: str


@dataclass
class AssignmentReport:
    name: str
    parts: list
    students: list                      # rostered student ids
    scores: np.ndarray                  # students x parts
    totals: np.ndarray
    max_total: float
    submitted: int
    failures: dict = field(default_factory=dict)   # part key -> [(kind, count, example)]
    failing: dict = field(default_factory=dict)    # (part key, kind) -> students (not shown)
    pairs: list = field(default_factory=list)      # similarity.Pair
    cells: dict = field(default_factory=dict)      # student -> {grade_id: (type, source)}
    analysis: list = field(default_factory=list)   # per part dict
    answered: int = 0                              # submissions compared for similarity


def _source(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _read_nb(path: Path):
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _nbg(cell) -> dict:
    md = cell.get("metadata", {}).get("nbgrader")
    return md if isinstance(md, dict) else {}


def answer_cells(nb) -> dict:
    """``{grade_id: (cell_type, source)}`` of the solution (answer) cells of a notebook."""
    out = {}
    for cell in nb.get("cells", []) if nb else []:
        md = _nbg(cell)
        if md.get("solution") and md.get("grade_id"):
            out[md["grade_id"]] = (cell.get("cell_type", "code"), _source(cell))
    return out


def failure_messages(nb) -> dict:
    """``{grade_id: message}`` of the graded test cells that failed in an autograded notebook:
    the trusted verdict's reason, else the cell's first error output."""
    out = {}
    for cell in nb.get("cells", []) if nb else []:
        md = _nbg(cell)
        if not md.get("grade") or md.get("solution") or cell.get("cell_type") != "code":
            continue
        verdict = cell.get("metadata", {}).get("nnkit", {}).get("verdict")
        if isinstance(verdict, dict):
            if not verdict.get("passed"):
                out[md["grade_id"]] = str(verdict.get("reason") or "failed")
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                ev = _ANSI.sub("", str(o.get("evalue", ""))).strip()
                out[md["grade_id"]] = f"{o.get('ename')}: {ev}" if ev else str(o.get("ename"))
                break
    return out


def _keep_names(template_nbs: list) -> frozenset:
    """Names a student does not choose: builtins, imports and what the template defines."""

    srcs = [_source(c) for nb in template_nbs for c in nb.get("cells", [])
            if c.get("cell_type") == "code"]
    keep = set(BUILTINS) | imported_names(srcs) | {"np", "torch", "nn", "F", "plt", "nnkit"}
    for src in srcs:
        try:
            tree = ast.parse(strip_magics(src))
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                keep.add(node.name)
    return frozenset(keep)


def _part_definitions(course: Course, assignment: str) -> list[Part]:
    with Gradebook(course.db_url, course.course_id) as gb:
        a = gb.find_assignment(assignment)
        parts = []
        for nb in sorted(a.notebooks, key=lambda n: n.name):
            for c in sorted(nb.grade_cells, key=lambda c: c.name):
                parts.append(Part(f"{nb.name}/{c.name}", nb.name, c.name, float(c.max_score),
                                  c.cell_type))
    # the notebook's order, not the alphabet's
    order = {}
    for nbname in {p.notebook for p in parts}:
        nb = _read_nb(course.source_dir / assignment / f"{nbname}.ipynb")
        for i, cell in enumerate(nb.get("cells", []) if nb else []):
            gid = _nbg(cell).get("grade_id")
            if gid:
                order[f"{nbname}/{gid}"] = i
    return sorted(parts, key=lambda p: (p.notebook, order.get(p.key, 10 ** 6), p.grade_id))


def class_scores(course: Course, assignments: list[str]) -> tuple[list[dict], dict]:
    """(the rostered students -- the roster's rows, or every student of the gradebook when no
    roster was imported -- and ``{assignment: {student: (part scores, late penalty)}}``).

    The same numbers as :func:`nnkit.course.report.gradebook` (nbgrader's ``Grade.score``: the
    hand-given score if any, else the autograder's, plus extra credit), read in one query: walking
    nbgrader's objects one submission at a time costs ~15 ms each, a minute for 500 students x 7
    assignments."""
    roster = load_roster(course)
    out: dict = {a: {} for a in assignments}
    with Gradebook(course.db_url, course.course_id) as gb:
        if roster is None:
            roster = [{"id": s.id, "first_name": s.first_name or "", "last_name": s.last_name or "",
                       "email": s.email or ""} for s in sorted(gb.students, key=lambda s: s.id)]
        q = (gb.db.query(Student.id, Assignment.name, Notebook.name, GradeCell.name, Grade.score,
                         SubmittedNotebook.late_submission_penalty)
             .select_from(Grade)
             .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
             .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
             .join(Student, SubmittedAssignment.student_id == Student.id)
             .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
             .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
             .join(GradeCell, Grade.cell_id == GradeCell.id)
             .filter(Assignment.name.in_(assignments)))
        penalties: dict = {}
        for sid, a, nb, cell, score, penalty in q:
            parts = out[a].setdefault(sid, ({}, [0.0]))[0]
            parts[f"{nb}/{cell}"] = float(score or 0.0)
            penalties[(a, sid, nb)] = float(penalty or 0.0)
        for (a, sid, _), pen in penalties.items():
            out[a][sid][1][0] += pen
        # a submission whose notebooks hold no grade yet is still a submission
        for sid, a in (gb.db.query(Student.id, Assignment.name).select_from(SubmittedAssignment)
                       .join(Student, SubmittedAssignment.student_id == Student.id)
                       .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                       .filter(Assignment.name.in_(assignments))):
            out[a].setdefault(sid, ({}, [0.0]))
    return roster, {a: {s: (p, pen[0]) for s, (p, pen) in d.items()} for a, d in out.items()}


def item_analysis(scores: np.ndarray, maxes: np.ndarray) -> list[dict]:
    """Per part (column of ``scores``, students x parts): share with full, partial and no credit,
    mean, and the discrimination index (correlation with the rest of the assignment)."""
    n = scores.shape[0]
    total = scores.sum(axis=1)
    out = []
    for j, m in enumerate(maxes):
        col = scores[:, j]
        eps = 1e-9 * max(m, 1.0)
        full = int(np.sum(col >= m - eps)) if m > 0 else 0
        none = int(np.sum(col <= eps)) if m > 0 else n
        rest = total - col
        disc = float("nan")
        if n > 2 and col.std() > 0 and rest.std() > 0:
            disc = float(np.corrcoef(col, rest)[0, 1])
        out.append({"full": full / n if n else 0.0, "partial": (n - full - none) / n if n else 0.0,
                    "none": none / n if n else 0.0, "n_full": full, "n_none": none,
                    "n_partial": n - full - none, "mean": float(col.mean()) if n else 0.0,
                    "discrimination": disc})
    return out


def _fingerprint_job(args):
    """Fingerprint one assignment's submissions (a process pool's task)."""
    keep, items = args
    return [fingerprint(Submission(s, cells), keep) for s, cells in items]


def build(course: Course, assignments: list[str] | None = None, *, top_pairs: int = 10,
          common: float = 0.2, workers: int | None = None) -> list[AssignmentReport]:
    """The report of ``assignments`` (default: every released assignment)."""
    if not course.gradebook_exists():
        raise CourseError(f"no gradebook ({course.db_url}): run `nnkit-course release` first")
    names = course.released_assignments()
    wanted = list(assignments or names)
    missing = [a for a in wanted if a not in names]
    if missing:
        raise CourseError(f"not in the gradebook: {', '.join(missing)}; run "
                          f"`nnkit-course release {' '.join(missing)}` first (released: "
                          f"{', '.join(names) or 'none'})")
    roster, by_assignment = class_scores(course, wanted)
    anonymise = anonymiser(roster)
    ids = [r["id"] for r in roster]
    reports, jobs, discounts = [], [], []
    for a in wanted:
        parts = _part_definitions(course, a)
        subs = by_assignment[a]
        scores = np.array([[subs[s][0].get(p.key, 0.0) if s in subs else 0.0 for p in parts]
                           for s in ids], dtype=float).reshape(len(ids), len(parts))
        penalty = np.array([subs[s][1] if s in subs else 0.0 for s in ids], dtype=float)
        totals = scores.sum(axis=1) - penalty
        maxes = np.array([p.max_score for p in parts], dtype=float)
        rep = AssignmentReport(a, parts, ids, scores, totals, float(maxes.sum()),
                               sum(s in subs for s in ids))
        rep.analysis = item_analysis(scores, maxes)
        # the notebooks: failure messages and answer cells
        kinds: dict = defaultdict(Counter)
        examples: dict = {}
        nbnames = sorted({p.notebook for p in parts}) or course.notebooks(a)
        for sid in ids:
            cells = {}
            for nbname in nbnames:
                nb = _read_nb(course.autograded_path(sid, a) / f"{nbname}.ipynb")
                if nb is None:
                    nb = _read_nb(course.submitted_path(sid, a) / f"{nbname}.ipynb")
                else:
                    for gid, msg in failure_messages(nb).items():
                        key = f"{nbname}/{gid}"
                        k = failure_kind(msg)
                        kinds[key][k] += 1
                        examples.setdefault((key, k), anonymise(msg))
                        rep.failing.setdefault((key, k), []).append(sid)
                cells.update({f"{nbname}/{g}": c for g, c in answer_cells(nb).items()})
            if cells:
                rep.cells[sid] = cells
        rep.failures = {key: [(k, n, examples[(key, k)]) for k, n in cnt.most_common()]
                        for key, cnt in kinds.items()}
        # what every correct answer shares: the released template and the solution
        shared_src: dict = defaultdict(list)
        templates = []
        for nbname in nbnames:
            for root in (course.release_dir, course.source_dir):
                nb = _read_nb(root / a / f"{nbname}.ipynb")
                if nb:
                    templates.append(nb)
                    for g, c in answer_cells(nb).items():
                        shared_src[f"{nbname}/{g}"].append(c)
        keep = _keep_names(templates)
        jobs.append((keep, sorted(rep.cells.items())))
        discounts.append(common_fingerprints(shared_src, keep))
        reports.append(rep)
    subs_per_assignment = _run(_fingerprint_job, jobs, workers)
    for rep, subs, discount in zip(reports, subs_per_assignment, discounts):
        rep.answered = len(subs)
        rep.pairs = similar_pairs(subs, discount, common=common, top=top_pairs)
    return reports


def _run(fn, jobs, workers):
    """``[fn(j) for j in jobs]``, in a process pool when there are several jobs and cores."""
    n = workers if workers is not None else min(len(jobs), os.cpu_count() or 1)
    if workers is None and sum(len(j[1]) for j in jobs) < 1000:
        n = 1          # starting the processes costs more than it saves
    if n <= 1 or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    with ProcessPoolExecutor(n, mp_context=get_context("spawn")) as pool:
        return list(pool.map(fn, jobs))


# ---------------------------------------------------------------------------- terminal
def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _disc(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:+.2f}"


def text_report(reports: list[AssignmentReport], n_failures: int = 3) -> str:
    out = []
    for r in reports:
        out.append(f"== {r.name}: {len(r.students)} rostered student(s), {r.submitted} "
                   f"submitted; mean total {r.totals.mean() if len(r.totals) else 0:.2f} / "
                   f"{r.max_total:g}")
        rows = [[p.grade_id, p.max_score, _pct(a["full"]), _pct(a["partial"]), _pct(a["none"]),
                 f"{a['mean']:.2f}", _disc(a["discrimination"])] for p, a in zip(r.parts, r.analysis)]
        out.append(table(["part", "max", "full", "partial", "none", "mean", "discrimination"], rows))
        n = max(len(r.students), 1)
        frows = []
        for p in r.parts:
            for kind, count, _ in r.failures.get(p.key, [])[:n_failures]:
                frows.append([p.grade_id, count, _pct(count / n), kind])
        if frows:
            out.append("\nmost common failures (share of rostered students):")
            out.append(table(["part", "students", "share", "failure"], frows))
        if r.pairs:
            out.append(f"\nmost similar submissions ({r.answered} compared; template and solution "
                       "code discounted; for a human to review, no grade changes):")
            out.append(table(["student", "student", "similarity", "jaccard", "containment",
                              "shared"],
                             [[p.a, p.b, f"{p.score:.2f}", f"{p.jaccard:.2f}",
                               f"{p.containment:.2f}", p.shared] for p in r.pairs]))
        else:
            out.append(f"\nno similar submissions ({r.answered} compared)")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------------------- HTML
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figures(r: AssignmentReport) -> tuple[str, str]:
    """(stacked bar per part, histogram of totals) as data: URLs. Drawn on matplotlib's Agg
    canvas directly (no pyplot: nothing global changes in the caller's process)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def new(size):
        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        return fig, fig.subplots()
    labels = [p.grade_id for p in r.parts]
    full = np.array([a["full"] for a in r.analysis]) * 100
    part = np.array([a["partial"] for a in r.analysis]) * 100
    none = np.array([a["none"] for a in r.analysis]) * 100
    fig, ax = new((7, 0.45 * max(len(labels), 2) + 1.2))
    y = np.arange(len(labels))
    ax.barh(y, full, color="#2e7d32", label="full credit")
    ax.barh(y, part, left=full, color="#f9a825", label="partial")
    ax.barh(y, none, left=full + part, color="#c62828", label="no credit")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of rostered students")
    ax.set_title(f"{r.name}: credit per part")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncol=3, frameon=False)
    bars = _png(fig)
    fig, ax = new((7, 3))
    bins = np.linspace(0, max(r.max_total, 1e-9), min(21, max(int(r.max_total) + 2, 6)))
    ax.hist(r.totals, bins=bins, color="#1565c0", edgecolor="white")
    ax.set_xlabel(f"total score (max {r.max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{r.name}: totals")
    return bars, _png(fig)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}
img{max-width:100%;height:auto;display:block;margin:.5em 0}
pre{margin:0;font-size:12px;line-height:1.35;white-space:pre-wrap}
.side{display:grid;grid-template-columns:1fr 1fr;gap:.5em;margin:.3em 0 1em}
.side>div{border:1px solid #ddd;padding:.3em;overflow:auto}
mark{background:#ffe082}.ex{font-size:12px;white-space:pre-wrap;color:#444}
details{margin:.4em 0}summary{cursor:pointer}
"""


def _code(source: str, lines: list[int]) -> str:
    marked = set(lines)
    out = []
    for n, line in enumerate(source.split("\n"), start=1):
        t = html.escape(line) or " "
        out.append(f"<mark>{t}</mark>" if n in marked else t)
    return "<pre>" + "\n".join(out) + "</pre>"


def html_report(reports: list[AssignmentReport], course_id: str = "") -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>Class report {e(course_id)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Class report{(' — ' + e(course_id)) if course_id else ''}</h1>",
             "<p>Item analysis, most common failures and similar submissions, from the gradebook "
             "and the autograded notebooks. Nothing here changes a grade; similar submissions are "
             "for a human to review.</p><ul>"]
    parts += [f'<li><a href="#{e(r.name)}">{e(r.name)}</a></li>' for r in reports]
    parts.append("</ul>")
    for r in reports:
        bars, hist = figures(r)
        n = max(len(r.students), 1)
        parts.append(f'<section id="{e(r.name)}"><h2>{e(r.name)}</h2>')
        parts.append(f"<p>{len(r.students)} rostered student(s), {r.submitted} submitted; mean "
                     f"total {r.totals.mean() if len(r.totals) else 0:.2f} / {r.max_total:g}.</p>")
        parts.append("<table><tr><th>part</th><th>max</th><th>full</th><th>partial</th><th>none"
                     "</th><th>mean</th><th>discrimination</th></tr>")
        for p, a in zip(r.parts, r.analysis):
            parts.append(f"<tr><td>{e(p.grade_id)}</td><td class=n>{p.max_score:g}</td>"
                         f"<td class=n>{_pct(a['full'])}</td><td class=n>{_pct(a['partial'])}</td>"
                         f"<td class=n>{_pct(a['none'])}</td><td class=n>{a['mean']:.2f}</td>"
                         f"<td class=n>{_disc(a['discrimination'])}</td></tr>")
        parts.append("</table>")
        parts.append(f'<img class="figure" alt="{e(r.name)}: credit per part" src="{bars}">')
        parts.append(f'<img class="figure" alt="{e(r.name)}: histogram of totals" src="{hist}">')
        parts.append("<h3>Most common failures</h3>")
        any_fail = False
        for p in r.parts:
            rows = r.failures.get(p.key, [])
            if not rows:
                continue
            any_fail = True
            parts.append(f"<h4>{e(p.grade_id)}</h4><table><tr><th>students</th><th>share</th>"
                         "<th>failure</th><th>example (anonymised)</th></tr>")
            for kind, count, example in rows:
                parts.append(f"<tr><td class=n>{count}</td><td class=n>{_pct(count / n)}</td>"
                             f"<td>{e(kind)}</td><td><div class=ex>{e(example[:1500])}</div></td>"
                             "</tr>")
            parts.append("</table>")
        if not any_fail:
            parts.append("<p>No failure recorded.</p>")
        parts.append(f"<h3>Similar submissions</h3><p>{r.answered} submission(s) compared; code of "
                     "the released template and of the solution, and code most of the class "
                     "writes, are discounted. Matching lines are highlighted.</p>")
        if not r.pairs:
            parts.append("<p>No pair is similar enough to list.</p>")
        for rank, pr in enumerate(r.pairs, start=1):
            parts.append(f"<details{' open' if rank <= 3 else ''}><summary>#{rank} "
                         f"<b>{e(pr.a)}</b> and <b>{e(pr.b)}</b>: similarity {pr.score:.2f} "
                         f"(Jaccard {pr.jaccard:.2f}, containment {pr.containment:.2f}, "
                         f"{pr.shared} shared fingerprints)</summary>")
            for gid, (la, lb) in pr.regions.items():
                ca = r.cells.get(pr.a, {}).get(gid, ("code", ""))[1]
                cb = r.cells.get(pr.b, {}).get(gid, ("code", ""))[1]
                parts.append(f"<p>{e(gid)}</p><div class=side><div>{e(pr.a)}{_code(ca, la)}</div>"
                             f"<div>{e(pr.b)}{_code(cb, lb)}</div></div>")
            parts.append("</details>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(reports: list[AssignmentReport], out_dir: Path, course_id: str = "") -> Path:
    """Write ``out_dir/report.html`` (through a temporary file, then renamed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write(out_dir / "report.html", html_report(reports, course_id))


# ---------------------------------------------------------------------------- the command
def run(course: Course, assignments: list[str] | None = None, *, html_dir: str | None = None,
        pairs: int = 10, out=None) -> int:
    """``nnkit-course report``: print the tables; with ``html_dir`` also write the page."""
    out = out or sys.stdout
    if pairs < 0:
        raise CourseError("--pairs must be 0 or more")
    names = course.check_assignments(assignments or None)
    reports = build(course, names, top_pairs=pairs)
    out.write(text_report(reports))
    if html_dir:
        path = write_html(reports, Path(html_dir), course.course_id)
        out.write(f"wrote {path} (one page, works offline)\n")
    return 0
