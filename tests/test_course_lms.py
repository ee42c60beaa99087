"""A term as an instructor: roster, real LMS downloads (Canvas, Moodle), nothing lost on collect,
zip limits, autograde, grades an LMS imports, feedback handed back.

The course is a temporary copy of the real ``perceptron`` assignment (4 autograded parts of 2 points
and a written answer of 2 points), released once per module and copied per test.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from nnkit.course.cli import main

REPO = Path(__file__).resolve().parents[1]
DUE = "2026-11-20 23:59:00 UTC"
CONFIG = '''c = get_config()
c.CourseDirectory.course_id = "nnkit-lms-test"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.Execute.timeout = 60
c.LateSubmissionPlugin.penalty_method = "zero"
'''
PARTS = ["predict_update", "train", "gates", "xor"]       # 2 points each, autograded
WRITTEN = "A line cannot separate XOR's classes: (0,1),(1,0) against (0,0),(1,1)."


def _cli(*args) -> int:
    return main([str(a) for a in args])


def _solution_sources() -> dict[str, str]:
    nb = nbformat.read(REPO / "solutions" / "perceptron" / "perceptron.ipynb", as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [ln for ln in cell.source.splitlines()
                     if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            out[meta["grade_id"]] = "\n".join(lines)
    return out


def notebook(root: Path, right: list[str], written: str | None = None,
             replace: dict[str, str] | None = None) -> str:
    """The released perceptron notebook with the parts in ``right`` solved."""
    sol = _solution_sources()
    nb = nbformat.read(root / "exercises" / "perceptron" / "perceptron.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in right:
            cell.source = sol[gid]
        if gid == "why_not_xor" and written:
            cell.source = written
        if replace and gid in replace:
            cell.source = replace[gid]
    return nbformat.writes(nb)


def make_zip(path: Path, entries: list[tuple[str, str | bytes, tuple]]) -> Path:
    """entries: (name in the zip, content, date_time); big entries are deflated."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in entries:
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data.encode() if isinstance(data, str) else data)
    return path


def without_utf8_flag(path: Path) -> Path:
    """Clear the zip's "names are UTF-8" flag, as some LMS and zip tools write them (the names
    then read as cp437)."""
    import struct
    data = bytearray(path.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.find(sig)
        while i >= 0:
            flags = struct.unpack_from("<H", data, i + off)[0]
            struct.pack_into("<H", data, i + off, flags & ~0x800)
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))
    return path


CANVAS_ROSTER = '''Student,ID,SIS User ID,SIS Login ID,Section
    Points Possible,,,,
"Smith, Jane",12345,S001,jsmith,A
"Müller, José",12346,S002,jmuller,A
"Ng, Li",12347,S003,lng,A
"Doe, John",12348,S004,jdoe,A
'''
MOODLE_WORKSHEET = '''Identifier,Full name,Email address,Status,Grade,Maximum Grade
Participant 501,Jane Smith,jane.smith@uni.example,Submitted,,10
Participant 502,José Müller,jose.muller@uni.example,Submitted,,10
Participant 503,Ana Lima,ana.lima@uni.example,No submission,,10
Participant 504,Li Wei,li.wei@uni.example,Submitted,,10
'''


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = tmp_path_factory.mktemp("lms") / "course"
    (root / "solutions").mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / "perceptron", root / "solutions" / "perceptron")
    (root / "nbgrader_config.py").write_text(CONFIG)
    assert _cli("--course-dir", root, "release", "--duedate", DUE) == 0
    return root


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _canvas_zips(root: Path, tmp: Path) -> tuple[Path, Path]:
    old = make_zip(tmp / "canvas-old.zip", [
        ("lng_12347_67892_perceptron.ipynb", notebook(root, ["predict_update"]),
         (2026, 11, 18, 9, 0, 0)),
    ])
    new = make_zip(tmp / "canvas-new.zip", [
        ("smithjane_12345_67890_perceptron.ipynb", notebook(root, ["predict_update"]),
         (2026, 11, 19, 10, 0, 0)),
        ("smithjane_12345_67890_perceptron-1.ipynb", notebook(root, PARTS, WRITTEN),
         (2026, 11, 19, 12, 0, 0)),                               # the resubmission: 8 points
        ("mullerjose_late_12346_67891_perceptron.ipynb", notebook(root, PARTS),
         (2026, 11, 21, 9, 0, 0)),                                # after the due date
        ("lng_12347_67892_perceptron.ipynb", notebook(root, ["predict_update", "train"]),
         (2026, 11, 19, 8, 0, 0)),                                # newer than canvas-old's
        ("smithjohn_12399_67893_perceptron.ipynb", notebook(root, PARTS),
         (2026, 11, 19, 8, 0, 0)),                                # not on the roster
        ("bombbob_12350_67894_perceptron.ipynb", b"\0" * (100 * 2**20),
         (2026, 11, 19, 8, 0, 0)),                                # 100 MB of zeros
        ("../../escape_12351_1_perceptron.ipynb", notebook(root, PARTS), (2026, 11, 19, 8, 0, 0)),
        ("/etc/abs_12352_1_perceptron.ipynb", notebook(root, PARTS), (2026, 11, 19, 8, 0, 0)),
    ])
    return old, new


def _lines(out: str, start: str) -> list[str]:
    return [ln.strip() for ln in out.splitlines() if ln.strip().startswith(start)]


def _gradebook(root: Path) -> dict:
    from nnkit.course.coursedir import Course
    from nnkit.course.report import gradebook
    _, students, _ = gradebook(Course(root))
    return {s.id: s for s in students}


@pytest.mark.sandbox  # autograde
@pytest.mark.browser  # the feedback's maths in chromium
def test_canvas_term(released, tmp_path, capsys):
    root = _copy(released, tmp_path / "canvas")
    capsys.readouterr()
    roster = tmp_path / "canvas-gradebook.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    assert _cli("--course-dir", root, "roster", "import", roster) == 0
    cap = capsys.readouterr()
    assert "roster: 4 student(s) from" in cap.out and "(canvas columns), 4 new" in cap.out
    assert "Creating/updating" not in cap.err + cap.out         # one summary, not a line each
    old, new = _canvas_zips(root, tmp_path)
    sub = root / "submitted"

    assert _cli("--course-dir", root, "collect", "perceptron", old, "--lms", "canvas") == 0
    first_li = (sub / "lng" / "perceptron" / "perceptron.ipynb").read_text()
    capsys.readouterr()

    # unmatched files: nothing written, exit 1, every problem listed with its reason
    assert _cli("--course-dir", root, "collect", "perceptron", new, "--lms", "canvas") == 1
    cap = capsys.readouterr()
    assert "nothing was written" in cap.err
    assert sorted(p.name for p in sub.iterdir()) == ["lng"]
    assert (sub / "lng" / "perceptron" / "perceptron.ipynb").read_text() == first_li
    out = cap.out
    refused = "\n".join(_lines(out, "refused"))
    assert "bombbob_12350_67894_perceptron.ipynb: 100 MB uncompressed, more than the 64 MB" in refused
    assert "../../escape_12351_1_perceptron.ipynb: its path leaves the download folder" in refused
    assert "/etc/abs_12352_1_perceptron.ipynb: its path leaves the download folder" in refused
    unmatched = "\n".join(_lines(out, "could not match"))
    assert "'smithjohn' (LMS id 12399) is not on the roster; closest: jsmith (Jane Smith)" \
        in unmatched

    # --dry-run says what would change and writes nothing
    assert _cli("--course-dir", root, "collect", "perceptron", new, "--lms", "canvas",
                "--allow-unmatched", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would replace lng's submission of 2026-11-18 09:00:00 UTC by the newer one of " \
           "2026-11-19 08:00:00 UTC" in out
    assert sorted(p.name for p in sub.iterdir()) == ["lng"]
    assert not (root / ".nnkit-course" / "replaced").exists()

    assert _cli("--course-dir", root, "collect", "perceptron", new, "--lms", "canvas",
                "--allow-unmatched") == 0
    out = capsys.readouterr().out
    assert "perceptron: collected 3 student(s)" in out
    assert ("duplicate for jsmith: kept the newest smithjane_12345_67890_perceptron-1.ipynb, "
            "ignored smithjane_12345_67890_perceptron.ipynb") in out
    assert "jmuller: marked late by the LMS" in out
    assert "no submission from 1 rostered student(s): jdoe" in out
    kept = re.search(r"replaced lng's submission .* the old one is kept in (\S+)", out)
    assert kept, out
    assert (root / kept.group(1) / "perceptron.ipynb").read_text() == first_li   # nothing lost
    assert sorted(p.name for p in sub.iterdir()) == ["jmuller", "jsmith", "lng"]

    # an older download collected after the newer one changes nothing
    newer_li = (sub / "lng" / "perceptron" / "perceptron.ipynb").read_text()
    assert newer_li != first_li
    assert _cli("--course-dir", root, "collect", "perceptron", old, "--lms", "canvas") == 0
    out = capsys.readouterr().out
    assert "kept lng's newer submission of 2026-11-19 08:00:00 UTC already collected; this " \
           "download's is older (2026-11-18 09:00:00 UTC)" in out
    assert (sub / "lng" / "perceptron" / "perceptron.ipynb").read_text() == newer_li

    assert _cli("--course-dir", root, "autograde", "--workers", "2", "--no-progress") == 0
    capsys.readouterr()
    gb = _gradebook(root)
    assert list(gb) == ["jsmith", "jmuller", "lng", "jdoe"]
    p = {s: g.by_assignment["perceptron"] for s, g in gb.items()}
    assert (p["jsmith"]["score"], p["jsmith"]["pending"]) == (8.0, ["perceptron/why_not_xor"])
    assert (p["jmuller"]["raw"], p["jmuller"]["late_penalty"], p["jmuller"]["score"]) == (8, 8, 0)
    assert "late by 9.0 h" in p["jmuller"]["status"]
    assert (p["lng"]["score"], p["lng"]["pending"]) == (4.0, [])
    assert (p["jdoe"]["score"], p["jdoe"]["status"]) == (0.0, "missing")

    assert _cli("--course-dir", root, "status", "--details") == 0
    out = capsys.readouterr().out
    assert re.search(r"lng\s+perceptron\s+perceptron\.ipynb: not attempted: gates, xor", out)
    assert re.search(r"jdoe\s+perceptron\s+no submission \(scores 0\)", out)
    assert re.search(r"jsmith\s+perceptron: perceptron/why_not_xor", out)    # to grade by hand

    # grades Canvas imports: its header, a Points Possible row, one row per rostered student
    dest = tmp_path / "canvas-grades.csv"
    assert _cli("--course-dir", root, "grades", "--format", "canvas", "--output", dest) == 0
    err = capsys.readouterr().err
    assert "1 answer(s) not graded by hand yet (written answers, or cells the autograder could " \
           "not grade), counted as 0: jsmith (perceptron: perceptron/why_not_xor)" in err
    rows = list(csv.reader(dest.open(encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "perceptron",
                       "Final Points"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "10"
    assert [r[:2] + r[5:] for r in rows[2:]] == [
        ["Smith, Jane", "12345", "8", "8"], ["Müller, José", "12346", "0", "0"],
        ["Ng, Li", "12347", "4", "4"], ["Doe, John", "12348", "0", "0"]]

    # feedback: refused while the written answer waits, then handed back as Canvas takes it
    assert _cli("--course-dir", root, "feedback") == 1
    err = capsys.readouterr().err
    assert "perceptron: 1 answer(s) of 1 student(s) not graded by hand yet " \
           "(jsmith: perceptron/why_not_xor)" in err and "nothing was written" in err
    assert not (root / "feedback").exists()
    _hand_grade(root, "jsmith", "why_not_xor", 2)
    assert _cli("--course-dir", root, "feedback", "--zip") == 0
    out = capsys.readouterr().out
    assert "feedback for perceptron: 3 student(s)" in out
    with zipfile.ZipFile(root / "feedback" / "perceptron-canvas.zip") as zf:
        names = sorted(zf.namelist())
        html = zf.read("smithjane_12345_67890_perceptron-feedback.html").decode()
    assert names == ["lng_12347_67892_perceptron-feedback.html",
                     "mullerjose_12346_67891_perceptron-feedback.html",
                     "smithjane_12345_67890_perceptron-feedback.html"]
    assert "cdnjs" not in html and "MathJax" in html and "window.MathJax = {tex:" in html
    assert "BEGIN HIDDEN TESTS" not in html and "hidden tests are not shown" in html
    assert re.search(r"10\.0\s*/\s*10\.0|10 / 10|10\.0 / 10", html), "Jane's 8 + 2 hand-graded"
    assert _gradebook(root)["jsmith"].total == 10
    _maths_render_offline(tmp_path / "jane-feedback.html", html)


def _maths_render_offline(path: Path, html: str) -> None:
    """Chromium with every request other than the file aborted: MathJax typesets the maths."""
    import os
    chromium = Path(os.environ.get("NNKIT_CHROMIUM", "/usr/bin/chromium"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the offline-maths check needs playwright (a dev dependency)")
    if not chromium.exists():
        pytest.skip(f"the offline-maths check needs chromium at {chromium} (as .ci/run installs)")
    path.write_text(html, encoding="utf-8")
    external = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()
    def look():
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                         args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.route("**/*", route)
                page.goto(path.as_uri())
                page.wait_for_selector("mjx-container svg", timeout=30000)
                return (page.evaluate("document.querySelectorAll('mjx-container').length"),
                        page.evaluate("document.body.innerText.includes('$w_0')"))
            finally:
                browser.close()

    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:  # a thread of its own: no asyncio loop left by earlier tests
        n, raw = pool.submit(look).result()
    assert n >= 3 and not raw and external == []


def _hand_grade(root: Path, student: str, cell: str, score: float) -> None:
    """What the formgrader does when the instructor grades a written answer."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db", "nnkit-lms-test") as gb:
        g = gb.find_grade(cell, "perceptron", "perceptron", student)
        g.manual_score = score
        g.needs_manual_grade = False
        gb.db.commit()


@pytest.mark.sandbox  # autograde
def test_moodle_term(released, tmp_path, capsys):
    root = _copy(released, tmp_path / "moodle")
    sheet = tmp_path / "grading-worksheet.csv"
    sheet.write_text(MOODLE_WORKSHEET, encoding="utf-8")
    assert _cli("--course-dir", root, "roster", "import", sheet) == 0
    broken = _solution_sources()["train"].replace("def train_perceptron(X, y, max_epochs):",
                                                   "def train_perceptron(X, y, max_epochs)")
    folder = "{}_{}_assignsubmission_file_/perceptron.ipynb"
    new = make_zip(tmp_path / "moodle-new.zip", [
        (folder.format("Jane Smith", 501), notebook(root, PARTS), (2026, 11, 19, 10, 0, 0)),
        (folder.format("José Müller", 502),
         notebook(root, ["predict_update"], replace={"train": broken}), (2026, 11, 19, 11, 0, 0)),
        ("José Müller_502_assignsubmission_onlinetext_/onlinetext.html", "<p>see the notebook</p>",
         (2026, 11, 19, 11, 0, 0)),
        (folder.format("Li Wei", 504), b"\x89PNG\r\n\x1a\n", (2026, 11, 19, 11, 0, 0)),
    ])
    with zipfile.ZipFile(without_utf8_flag(new)) as zf:
        assert "José Müller_502_assignsubmission_file_/perceptron.ipynb" not in zf.namelist()
    old = make_zip(tmp_path / "moodle-old.zip", [
        (folder.format("Jane Smith", 501), notebook(root, ["predict_update"]),
         (2026, 11, 18, 10, 0, 0)),
    ])
    capsys.readouterr()
    assert _cli("--course-dir", root, "collect", "perceptron", new, "--lms", "moodle") == 1
    assert "onlinetext.html: not a notebook (.html)" in capsys.readouterr().out
    assert _cli("--course-dir", root, "collect", "perceptron", new, "--lms", "moodle",
                "--allow-unmatched") == 0
    out = capsys.readouterr().out
    assert "perceptron: collected 3 student(s)" in out
    assert "no submission from 1 rostered student(s): ana.lima" in out
    sub = root / "submitted"
    assert sorted(p.name for p in sub.iterdir()) == ["jane.smith", "jose.muller", "li.wei"]
    jane = (sub / "jane.smith" / "perceptron" / "perceptron.ipynb").read_text()
    assert _cli("--course-dir", root, "collect", "perceptron", old, "--lms", "moodle") == 0
    assert "kept jane.smith's newer submission" in capsys.readouterr().out
    assert (sub / "jane.smith" / "perceptron" / "perceptron.ipynb").read_text() == jane

    assert _cli("--course-dir", root, "autograde", "--workers", "2", "--no-progress") == 0
    out = capsys.readouterr().out
    assert "nbgrader formgrader" not in out            # not a command in nbgrader 0.9
    assert "the formgrader (`jupyter lab`, then Nbgrader -> Formgrader)" in out
    row = [ln for ln in out.splitlines() if ln.startswith("jose.muller")][0]
    assert "perceptron.ipynb: syntax error at line 1 of cell 7 (train)" in row
    gb = _gradebook(root)
    assert {s: g.by_assignment["perceptron"]["score"] for s, g in gb.items()} == {
        "jane.smith": 8, "jose.muller": 2, "ana.lima": 0, "li.wei": 0}
    assert _cli("--course-dir", root, "status", "--details", "perceptron") == 0
    out = capsys.readouterr().out
    assert re.search(r"jose\.muller\s+perceptron\s+perceptron\.ipynb: syntax error at line 1 of "
                     r"cell 7 \(train\)", out), out
    assert re.search(r"li\.wei\s+perceptron\s+perceptron\.ipynb: unreadable file \(not a notebook",
                     out), out

    dest = tmp_path / "moodle-grades.csv"
    assert _cli("--course-dir", root, "grades", "--format", "moodle", "-o", dest) == 0
    rows = list(csv.reader(dest.open(encoding="utf-8")))
    assert rows == [["First name", "Last name", "ID number", "Email address", "perceptron",
                     "Course total"],
                    ["Jane", "Smith", "jane.smith", "jane.smith@uni.example", "8", "8"],
                    ["José", "Müller", "jose.muller", "jose.muller@uni.example", "2", "2"],
                    ["Ana", "Lima", "ana.lima", "ana.lima@uni.example", "0", "0"],
                    ["Li", "Wei", "li.wei", "li.wei@uni.example", "0", "0"]]

    assert _cli("--course-dir", root, "feedback", "--zip") == 0      # no written answer: no wait
    assert "perceptron: no feedback for li.wei: perceptron.ipynb: unreadable file (not a " \
           "notebook" in capsys.readouterr().out
    with zipfile.ZipFile(root / "feedback" / "perceptron-moodle.zip") as zf:
        assert sorted(zf.namelist()) == [
            "Jane Smith_501_assignsubmission_file_/perceptron-feedback.html",
            "José Müller_502_assignsubmission_file_/perceptron-feedback.html"]


# ---------------------------------------------------------------------------- cheap: no grading
@pytest.fixture
def bare(tmp_path):
    """A course with perceptron and a second assignment, not released (collect() needs none)."""
    from nbformat.v4 import new_code_cell, new_notebook
    root = tmp_path / "bare"
    shutil.copytree(REPO / "solutions" / "perceptron", root / "solutions" / "perceptron")
    other = new_notebook(cells=[new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "grade_id": f"other_{i}", "locked": True, "points": 1, "schema_version": 3,
        "solution": False, "task": False}}) for i in range(3)])
    (root / "solutions" / "logistic").mkdir(parents=True)
    nbformat.write(other, root / "solutions" / "logistic" / "logistic.ipynb")
    (root / "nbgrader_config.py").write_text(CONFIG)
    from nnkit.course.coursedir import Course
    return Course(root), nbformat.writes(other)


def test_collect_foreign_notebook_limits_and_blackboard(bare, tmp_path):
    from nnkit.course.collect import collect
    course, other = bare
    sol = (REPO / "solutions" / "perceptron" / "perceptron.ipynb").read_text()
    inner = make_zip(tmp_path / "inner.zip", [("ann_perceptron.ipynb", sol, (2026, 11, 1, 0, 0, 0))])
    zp = make_zip(tmp_path / "dl.zip", [
        ("ben_logistic.ipynb", other, (2026, 11, 1, 0, 0, 0)),           # another assignment's
        ("cid_perceptron.ipynb", other, (2026, 11, 1, 0, 0, 0)),         # ... under this name
        ("dan_perceptron.ipynb", sol + " " * 3 * 2**20, (2026, 11, 1, 0, 0, 0)),
        ("eve_perceptron.ipynb", sol + " " * 3 * 2**20, (2026, 11, 1, 0, 0, 0)),
        ("nested.zip", inner.read_bytes(), (2026, 11, 1, 0, 0, 0)),
        ("__MACOSX/._dan_perceptron.ipynb", "junk", (2026, 11, 1, 0, 0, 0)),
    ])
    rep = collect(course, "perceptron", zp, max_entry_mb=4, max_total_mb=5, dry_run=True,
                  allow_unmatched=True)
    lines = "\n".join(rep.lines())
    assert ("could not match ben_logistic.ipynb: a notebook of assignment logistic, not "
            "perceptron: collect it with `nnkit-course collect logistic ...`") in lines
    assert ("cid: cid_perceptron.ipynb looks like a notebook of assignment logistic, not "
            "perceptron (collected; it will score 0)") in lines
    assert "refused eve_perceptron.ipynb: the download would exceed 5 MB" in lines
    assert "ignored __MACOSX/._dan_perceptron.ipynb: macOS metadata or a hidden file" in lines
    assert rep.problems == 2     # ben's (another assignment) and eve's (over the limit)
    assert sorted(rep.collected) == ["ann", "cid", "dan"]      # ann: from the nested zip
    assert not (course.root / "submitted").exists()              # dry run

    bb = make_zip(tmp_path / "bb.zip", [
        ("Perceptron_jsmith_attempt_2026-11-19-10-00-00_perceptron.ipynb", sol,
         (2026, 11, 25, 0, 0, 0)),
        ("Perceptron_jsmith_attempt_2026-11-19-10-00-00.txt", "Name: Jane Smith",
         (2026, 11, 25, 0, 0, 0)),
    ])
    rep = collect(course, "perceptron", bb, lms="blackboard")
    assert rep.problems == 0 and list(rep.collected) == ["jsmith"]
    stamp = (course.root / "submitted" / "jsmith" / "perceptron" / "timestamp.txt").read_text()
    assert stamp.startswith("2026-11-19 10:00:00")             # the time in the name, not the zip's

    from nnkit.course.coursedir import CourseError
    (tmp_path / "x.zip").write_text("not a zip")
    with pytest.raises(CourseError, match=r"x\.zip is not a readable zip file .*pass the zip "
                                          "downloaded from the LMS"):
        collect(course, "perceptron", tmp_path / "x.zip")

    # zip dates in the LMS's time zone (c.Collect.zip_timezone), stored in UTC
    course.config.Collect.zip_timezone = "Europe/Paris"
    rep = collect(course, "perceptron", make_zip(tmp_path / "tz.zip", [
        ("kim_perceptron.ipynb", sol, (2026, 11, 19, 10, 0, 0))]))
    stamp = (course.root / "submitted" / "kim" / "perceptron" / "timestamp.txt").read_text()
    assert stamp.startswith("2026-11-19 09:00:00")


def test_diagnosis_in_plain_words(bare):
    from nnkit.course.report import diagnose
    course, other = bare
    sub = course.root / "submitted"
    nb = json.loads((REPO / "solutions" / "perceptron" / "perceptron.ipynb").read_text())
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    nb["cells"][code[1]]["source"] = "x = 1\n\nif x\n    pass\n"
    cases = {"syn": json.dumps(nb), "foreign": other, "junk": b"\x89PNG\r\n", "empty": ""}
    for s, data in cases.items():
        (sub / s / "perceptron").mkdir(parents=True)
        p = sub / s / "perceptron" / "perceptron.ipynb"
        p.write_bytes(data) if isinstance(data, bytes) else p.write_text(data)
    gid = nb["cells"][code[1]].get("metadata", {}).get("nbgrader", {}).get("grade_id")
    assert diagnose(course, "perceptron", "syn") == [
        f"perceptron.ipynb: syntax error at line 3 of cell {code[1] + 1}"
        + (f" ({gid})" if gid else "") + ": expected ':'"]
    assert diagnose(course, "perceptron", "foreign") == [
        "perceptron.ipynb is a notebook of another assignment (logistic), not perceptron"]
    assert diagnose(course, "perceptron", "junk")[0].startswith(
        "perceptron.ipynb: unreadable file (not a notebook")
    assert diagnose(course, "perceptron", "empty") == ["perceptron.ipynb: unreadable file "
                                                       "(empty file)"]
    assert diagnose(course, "perceptron", "nobody") == ["perceptron.ipynb not submitted"]
    assert diagnose(course, "perceptron", "syn", "test_xor: CellTimeoutError: ...")[-1] == \
        "timed out (a cell ran past the time limit)"
    assert "memory limit reached" in diagnose(course, "perceptron", "junk", "x: MemoryError")
    assert "tampering: a cell touches the grading code" in diagnose(
        course, "perceptron", "junk", "cell 3 touches the grading code ('grading')")


def test_feedback_skips_what_has_no_grades(bare, capsys):
    import sys

    from nnkit.course.coursedir import CourseError
    from nnkit.course.feedback import feedback
    course, _ = bare
    assert feedback(course, ["logistic", "perceptron"], explicit=False, out=sys.stdout) == {}
    assert capsys.readouterr().out.splitlines() == [
        "skipped logistic: nothing autograded yet", "skipped perceptron: nothing autograded yet"]
    with pytest.raises(CourseError, match="nothing autograded for perceptron yet"):
        feedback(course, ["perceptron"], explicit=True)


@pytest.mark.parametrize("text, kind, first", [
    ("First name,Surname,ID number,Institution,Department,Email address\n"
     "Zoë,Ångström,u42,,,zoe@uni.example\n", "moodle",
     {"id": "u42", "first_name": "Zoë", "last_name": "Ångström", "email": "zoe@uni.example"}),
    ("Last Name,First Name,Username,Student ID,Last Access,Availability\n"
     "Smith,Jane,jsmith,900123,,Yes\n", "blackboard",
     {"id": "jsmith", "first_name": "Jane", "last_name": "Smith", "sis_user_id": "900123"}),
    ("id,first_name,last_name,email\nalice,Alice,Liddell,alice@example.org\n", "nbgrader",
     {"id": "alice", "first_name": "Alice", "last_name": "Liddell"}),
])
def test_roster_formats(tmp_path, text, kind, first):
    from nnkit.course.roster import parse_roster
    p = tmp_path / "r.csv"
    p.write_text(text, encoding="utf-8")
    got_kind, rows = parse_roster(p)
    assert got_kind == kind and len(rows) == 1
    assert {k: rows[0][k] for k in first} == first


def test_roster_errors_name_what_is_expected(tmp_path):
    from nnkit.course.coursedir import CourseError
    from nnkit.course.roster import parse_roster
    p = tmp_path / "r.csv"
    p.write_text("name;score\nJane;3\n")
    with pytest.raises(CourseError, match="cannot tell which column is the student id.*"
                                          "expected nbgrader's `id, first_name"):
        parse_roster(p)
    p.write_text("id,first_name\nann,Ann\nann,Anne\n")
    with pytest.raises(CourseError, match="line 3: student id 'ann' already on line 2"):
        parse_roster(p)


def _commands() -> list[str]:
    import argparse

    from nnkit.course.parser import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert re.search(r"example:\n  nnkit-course " + command, out), out


def test_roster_matching_accents_ambiguity_closest():
    from nnkit.course.roster import Matcher
    m = Matcher([
        {"id": "js1", "first_name": "Jane", "last_name": "Smith", "email": "", "lms_user_id": ""},
        {"id": "js2", "first_name": "Jane", "last_name": "Smith", "email": "", "lms_user_id": "9"},
        {"id": "jm", "first_name": "José", "last_name": "Müller", "email": "jm@uni.example",
         "lms_user_id": "7"}])
    assert m.match(name="mullerjose") == m.match(name="José  Müller") == "jm"   # Canvas, Moodle
    assert m.match(login="jm") == m.match(login="JM") == "jm"                    # id, any case
    assert m.match(lms_id="9", name="smithjane") == "js2"     # the LMS id decides
    assert m.match(name="smithjane") is None and m.ambiguous("", "Jane Smith") == ["js1", "js2"]
    assert m.match(name="mullerjoseph") is None
    assert m.closest("mullerjoseph") == "jm (José Müller)"
