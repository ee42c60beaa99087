"""``feedback``: nbgrader's GenerateFeedback, made safe to send (hidden tests hidden, maths that
renders offline, no feedback while hand grading is pending), and the zip each LMS takes back."""
from __future__ import annotations

import html
import re
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader import utils
from nbgrader.converters import GenerateFeedback
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets.config import Config

from ..files import atomic_open, atomic_write
from .collect import submission_meta
from .coursedir import Course, CourseError, last_error, run_converter
from .gradebook import pending_hand_grading
from .report import diagnose
from .roster import fold, load_roster


class HideHiddenTests(ClearHiddenTests):
    """Feedback without the hidden tests' code: the region and its traceback lines are dropped."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell) and self._remove_hidden_test_region(cell):
            cell.source = cell.source.rstrip("\n") + "\n# (hidden tests are not shown)"
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename')}: {out.get('evalue')}"]
        return cell, resources


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
        res = run_converter(GenerateFeedback, course, assignment=a, config=cfg, force=True)
        if not res["success"]:
            raise CourseError(f"feedback for {a} failed: "
                              f"{last_error(res.get('log', ''), res.get('error', ''))}")
        made = []
        for s in graded:
            htmls = sorted((course.feedback_dir / s / a).glob("*.html"))
            for h in htmls:
                offline_mathjax(h)
            if htmls:
                made.append(s)
        if out is not None:
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
    atomic_write(html_path, new)


# ---------------------------------------------------------------------------- the LMS zip
def _zip_name(lms: str, student: str, assignment: str, meta: dict | None, roster: dict) -> str | None:
    """Where a student's feedback goes in the zip the LMS takes back (None: cannot be placed)."""
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
            body = "".join(f"<h2>{html.escape(p.stem)}</h2><iframe style='width:100%;height:90vh;"
                           f"border:1px solid #ccc' srcdoc=\"{html.escape(p.read_text())}\">"
                           "</iframe>" for p in pages)
            data = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{assignment}"
                    f"</title></head><body><h1>{assignment}</h1>{body}</body></html>").encode()
        entries[name] = data
    with atomic_open(dest, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries.items()):
            zf.writestr(name, data)
    return dest, [f"{assignment}: {len(entries)} student(s) in {dest} ({lms} layout)"] + \
        [f"  {n}" for n in notes]
