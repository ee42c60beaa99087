"""``release`` and ``feedback``: nbgrader's GenerateAssignment and GenerateFeedback converters."""
from __future__ import annotations

import os
import re
from pathlib import Path

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


def pending_hand_grading(course: Course, assignment: str) -> list[tuple[str, str]]:
    """(student, notebook/cell) of every written answer still waiting for a human."""
    from nbgrader.api import Gradebook, MissingEntry
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


def _graded_students(course: Course, assignment: str) -> list[str]:
    return sorted(p.parent.name for p in course.autograded_dir.glob(f"*/{assignment}")
                  if any(p.glob("*.ipynb")))


def feedback(course: Course, assignments: list[str], *, show_hidden_tests: bool = False,
             allow_ungraded: bool = False, explicit: bool = True, out=None) -> dict:
    """nbgrader's HTML feedback for every autograded submission; returns {assignment: students}.

    Hidden tests are left out unless ``show_hidden_tests``. An assignment with written answers not
    graded by hand yet is refused (nothing written) unless ``allow_ungraded``. ``explicit=False``
    (no assignment named): assignments with nothing graded are skipped with a line on ``out``.
    The HTML carries MathJax inline (from the sphinx-mathjax-offline package): maths renders with
    no network, and each file stands alone (for the LMS upload)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import GetGrades
    from traitlets.config import Config
    todo, refused = [], []
    for a in assignments:
        graded = _graded_students(course, a)
        if not graded:
            if explicit:
                raise CourseError(f"nothing autograded for {a} yet: collect it, then run "
                                  f"`nnkit-course autograde {a}`")
            if out is not None:
                print(f"skipped {a}: nothing autograded yet", file=out)
            continue
        pending = [(s, c) for s, c in pending_hand_grading(course, a) if s in graded]
        if pending and not allow_ungraded:
            who = sorted({s for s, _ in pending})
            where = "; ".join(f"{s}: {c}" for s, c in pending[:6]) + \
                (" ..." if len(pending) > 6 else "")
            refused.append(f"{a}: {len(pending)} answer(s) of {len(who)} student(s) not "
                           f"graded by hand yet ({where})")
            continue
        todo.append((a, graded))
    if refused:
        raise CourseError("feedback refused, hand grading is pending:\n  " + "\n  ".join(refused)
                          + "\ngrade them in the formgrader (`jupyter lab`, then Nbgrader -> "
                          "Formgrader -> Manual Grading), or pass --allow-ungraded to send the "
                          "feedback with them counted 0; nothing was written")
    result = {}
    for a, graded in todo:
        cfg = Config()
        if not show_hidden_tests:
            cfg.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests,
                                                  CSSHTMLHeaderPreprocessor]
        res = _run(GenerateFeedback, course, assignment=a, config=cfg, force=True)
        if not res["success"]:
            raise CourseError(f"feedback for {a} failed: {_last_error(res)}")
        made = []
        for s in graded:
            htmls = sorted((course.feedback_dir / s / a).glob("*.html"))
            for h in htmls:
                offline_mathjax(h)
            if htmls:
                made.append(s)
        if out is not None:
            from .report import diagnose
            for s in course.submitted_students(a):
                if s not in made:
                    why = "; ".join(diagnose(course, a, s)) or "not autograded yet"
                    print(f"{a}: no feedback for {s}: {why}", file=out)
        result[a] = made
    return result


# ---------------------------------------------------------------------------- offline maths
_MATHJAX_BLOCK = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->",
                            re.S)
_MATHJAX_CONFIG = r"""<script>
window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\(', '\\)']],
                        displayMath: [['$$', '$$'], ['\\[', '\\]']],
                        processEscapes: true, processEnvironments: true, tags: 'ams'},
                  svg: {fontCache: 'global'}, options: {enableMenu: false}};
</script>"""


def mathjax_script() -> str:
    """MathJax 3 (TeX input, SVG output: no font files to fetch) from the sphinx-mathjax-offline
    package the book uses."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        path = Path(distribution("sphinx-mathjax-offline").locate_file(
            "sphinx-mathjax-offline/static/mathjax/tex-svg-full.js"))
        js = path.read_text(encoding="utf-8")
    except (PackageNotFoundError, OSError):
        raise CourseError("MathJax for the feedback comes from the package sphinx-mathjax-offline "
                          "(a dev dependency): `pip install sphinx-mathjax-offline`") from None
    return "<script>" + js.replace("</script", "<\\/script") + "</script>"


def offline_mathjax(html_path: Path) -> None:
    """Replace the CDN MathJax of nbgrader's feedback template with MathJax inline (atomically)."""
    text = html_path.read_text(encoding="utf-8")
    if "MathJax = {tex:" in text:
        return
    new, n = _MATHJAX_BLOCK.subn(lambda m: _MATHJAX_CONFIG + "\n" + mathjax_script(), text,
                                 count=1)
    if not n:
        new = text.replace("</head>", _MATHJAX_CONFIG + "\n" + mathjax_script() + "\n</head>", 1)
    tmp = html_path.with_name(f".{html_path.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, html_path)


# ---------------------------------------------------------------------------- the LMS zip
def _zip_name(lms: str, student: str, assignment: str, meta: dict | None, roster: dict) -> str | None:
    """Where a student's feedback goes in the zip the LMS takes back (None: cannot be placed)."""
    from .roster import fold
    fname = f"{assignment}-feedback.html"
    r = roster.get(student, {})
    if lms == "canvas":
        m = meta or {}
        uid = (m.get("lms_id") if m.get("lms") == "canvas" else "") or r.get("lms_user_id")
        if not uid:
            return None
        name = (m.get("name") if m.get("lms") == "canvas" else "") or \
            fold(r.get("last_name", "") + r.get("first_name", "")) or fold(student)
        sub = m.get("submission_id") if m.get("lms") == "canvas" else ""
        return "_".join(x for x in (name, uid, sub) if x) + f"_{fname}"
    if lms == "moodle":
        m = meta or {}
        uid = (m.get("lms_id") if m.get("lms") == "moodle" else "") or r.get("lms_user_id")
        if not uid:
            return None
        name = (m.get("name") if m.get("lms") == "moodle" else "") or \
            f"{r.get('first_name', '')} {r.get('last_name', '')}".strip() or student
        return f"{name}_{uid}_assignsubmission_file_/{fname}"
    return f"{student}/{fname}"


def feedback_zip(course: Course, assignment: str, lms: str | None) -> tuple[Path, list[str]]:
    """One file per student, named as ``lms`` takes feedback back in bulk (Canvas: the download's
    ``name_userid_submissionid_`` prefix; Moodle: the download's per-student folders; Blackboard and
    folder: ``<student>/``). A multi-notebook assignment gives one page holding every notebook."""
    import html as _html
    import zipfile

    from .collect import submission_meta
    from .roster import load_roster
    meta_all = submission_meta(course)
    if lms is None:
        seen = [m.get("lms") for k, m in meta_all.items() if k.startswith(f"{assignment}/")]
        lms = max(set(seen), key=seen.count) if seen else "folder"
    roster = {r["id"]: r for r in (load_roster(course) or [])}
    dest = course.feedback_dir / f"{assignment}-{lms}.zip"
    notes, entries = [], {}
    for s in _graded_students(course, assignment):
        pages = sorted((course.feedback_dir / s / assignment).glob("*.html"))
        if not pages:
            continue
        name = _zip_name(lms, s, assignment, meta_all.get(f"{assignment}/{s}"), roster)
        if name is None:
            notes.append(f"{s}: no {lms} user id (collect with --lms {lms}, or import the roster "
                         f"from {lms}); left out of the zip")
            continue
        if len(pages) == 1:
            data = pages[0].read_bytes()
        else:
            body = "".join(f"<h2>{_html.escape(p.stem)}</h2><iframe style='width:100%;height:90vh;"
                           f"border:1px solid #ccc' srcdoc=\"{_html.escape(p.read_text())}\">"
                           "</iframe>" for p in pages)
            data = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{assignment}"
                    f"</title></head><body><h1>{assignment}</h1>{body}</body></html>").encode()
        entries[name] = data
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries.items()):
            zf.writestr(name, data)
    os.replace(tmp, dest)
    return dest, [f"{assignment}: {len(entries)} student(s) in {dest} ({lms} layout)"] + \
        [f"  {n}" for n in notes]
