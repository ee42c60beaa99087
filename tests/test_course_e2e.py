"""End to end: an LMS zip through release, collect, autograde (Dask, 2 workers), grades, feedback.

The tiny fixture course (tests/adversarial/fixture_course.py) has one assignment ``hw`` with two
notebooks; a right submission autogrades to 6 of 7 points (1 point is a written answer).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adversarial.fixture_course import (RIGHT, WRONG, empty_notebook, make_course, make_zip,
                                        student_notebook)
from nnkit.course.cli import main
from nnkit.course.gradebook import all_scores

BIN = Path(sys.executable).parent
# every test starts from the released and collected course (nbgrader, ~7 s); `sandbox` marks those
# that autograde (`nnkit-course autograde` runs the notebooks in the bubblewrap sandbox)
pytestmark = pytest.mark.slow
# student -> part -> score expected from the zip below
EXPECTED = {
    "alice": {"test_add": 2, "test_mul": 3, "test_square": 1},   # right
    "bob": {"test_add": 2, "test_mul": 0, "test_square": 1},     # mul wrong
    "carol": {"test_add": 2, "test_mul": 3, "test_square": 0},   # part2.ipynb missing
    "dave": {"test_add": 2, "test_mul": 3, "test_square": 1},    # part1 misnamed: found by content
    "erin": {"test_add": 2, "test_mul": 3, "test_square": 1},    # duplicate part1: newest is right
    "frank": {"test_add": 0, "test_mul": 0, "test_square": 1},   # part1 is an empty notebook
    "gina": {"test_add": 0, "test_mul": 0, "test_square": 0},    # untouched exercise
}


def _zip(root: Path) -> Path:
    r = RIGHT
    files = {
        "alice_part1.ipynb": student_notebook(root, "part1", r),
        "alice_part2.ipynb": student_notebook(root, "part2", r),
        "attempts/bob_part1.ipynb": student_notebook(root, "part1", {"add": r["add"],
                                                                      "mul": WRONG["mul"]}),
        "attempts/bob_part2.ipynb": student_notebook(root, "part2", r),
        "carol_part1.ipynb": student_notebook(root, "part1", r),
        "dave_Part 1 (1).ipynb": student_notebook(root, "part1", r),
        "dave_part2.ipynb": student_notebook(root, "part2", r),
        "erin_2026-11-01-10-00-00_part1.ipynb": student_notebook(root, "part1", WRONG),
        "erin_2026-11-02-10-00-00_part1.ipynb": student_notebook(root, "part1", r),
        "erin_2026-11-02-10-00-00_part2.ipynb": student_notebook(root, "part2", r),
        "frank_part1.ipynb": empty_notebook(),
        "frank_part2.ipynb": student_notebook(root, "part2", r),
        "gina_part1.ipynb": student_notebook(root, "part1", {}),
        "gina_part2.ipynb": student_notebook(root, "part2", {}),
        "readme.txt": "exported from the LMS",
    }
    return make_zip(root.parent / "download.zip", files)


def _scores(root: Path) -> dict:
    """student -> {part: score} (+ totals and manual flags) read from the course's gradebook."""
    out = {}
    for row in all_scores(f"sqlite:///{root}/gradebook.db", "nnkit-test"):
        parts = {k.split("/")[1]: v[0] for k, v in row["parts"].items()}
        out[row["student"]] = {"parts": parts, "total": row["score"],
                               "manual": row["needs_manual"]}
    return out


def _check_expected(scores: dict) -> None:
    assert sorted(scores) == sorted(EXPECTED)
    for s, parts in EXPECTED.items():
        got = {k: v for k, v in scores[s]["parts"].items() if k != "why"}
        assert got == parts, s
        assert scores[s]["total"] == sum(parts.values()), s


def _cli(*args) -> int:
    return main(list(args))


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """A course after release and collect (kept pristine: tests copy it)."""
    root = make_course(tmp_path_factory.mktemp("course") / "course", timeout=20)
    assert _cli("--course-dir", str(root), "release") == 0
    assert _cli("--course-dir", str(root), "release", "hw") == 0     # idempotent
    zp = _zip(root)
    # readme.txt matches nothing: refused, nothing written
    assert _cli("--course-dir", str(root), "collect", "hw", str(zp)) == 1
    assert not (root / "submitted").exists()
    assert _cli("--course-dir", str(root), "collect", "hw", str(zp), "--allow-unmatched") == 0
    return root


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_collect_reports_and_files(collected, capsys, tmp_path):
    root = _copy(collected, tmp_path / "c")
    zp = _zip(root)
    assert _cli("--course-dir", str(root), "collect", "hw", str(zp), "--allow-unmatched") == 0
    out = capsys.readouterr().out
    assert "collected 7 student(s) (7 unchanged, 0 new or changed)" in out
    assert ("dave: dave_Part 1 (1).ipynb is named 'Part 1 (1).ipynb' but is this assignment's "
            "part1.ipynb: taken as part1.ipynb") in out
    assert ("duplicate for erin: kept the newest erin_2026-11-02-10-00-00_part1.ipynb, ignored "
            "erin_2026-11-01-10-00-00_part1.ipynb") in out
    assert "missing for carol: part2.ipynb" in out and "missing for dave" not in out
    assert "could not match readme.txt: not a notebook (.txt)" in out
    sub = root / "submitted"
    assert sorted(p.name for p in sub.iterdir()) == sorted(EXPECTED)
    assert sorted(p.name for p in (sub / "erin" / "hw").iterdir()) == ["part1.ipynb", "part2.ipynb",
                                                                       "timestamp.txt"]
    assert (sub / "erin" / "hw" / "timestamp.txt").read_text().startswith("2026-11-02 10:00:00")
    assert "return a * b" in (sub / "erin" / "hw" / "part1.ipynb").read_text()   # the newer one
    assert (sub / "dave" / "hw" / "part1.ipynb").exists()


def test_errors_name_the_fix(collected, tmp_path, capsys):
    assert _cli("--course-dir", str(collected), "autograde", "nope") == 1
    assert "no such assignment: nope; the assignments are: hw" in capsys.readouterr().err
    fresh = make_course(tmp_path / "fresh")
    assert _cli("--course-dir", str(fresh), "autograde") == 1
    assert "run `nnkit-course release` first" in capsys.readouterr().err
    assert _cli("--course-dir", str(tmp_path), "status") == 1
    assert "no nbgrader_config.py" in capsys.readouterr().err


@pytest.fixture(scope="module")
def graded(collected, tmp_path_factory):
    """The course graded by `nnkit-course autograde --workers 2`."""
    root = _copy(collected, tmp_path_factory.mktemp("graded") / "course")
    assert _cli("--course-dir", str(root), "autograde", "--workers", "2", "--no-progress") == 0
    return root


@pytest.mark.sandbox
def test_autograde_scores_match_expected_and_sequential_nbgrader(graded, collected, tmp_path):
    scores = _scores(graded)
    _check_expected(scores)
    # the same submissions through plain sequential `nbgrader autograde`
    seq = _copy(collected, tmp_path / "seq")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([str(BIN / "nbgrader"), "autograde", "hw"], cwd=seq, env=env, check=True,
                   capture_output=True)
    assert _scores(seq) == scores
    # nbgrader's own autograded notebooks exist for the formgrader, read-only as nbgrader makes them
    nb = graded / "autograded" / "alice" / "hw" / "part1.ipynb"
    assert nb.is_file() and not os.access(nb, os.W_OK) or os.geteuid() == 0
    state = json.loads((graded / ".nnkit-course" / "autograde.json").read_text())
    assert "part2.ipynb: not submitted" in state["hw/carol"]["reason"]
    assert "graded cell(s) missing: test_add, test_mul" in state["hw/frank"]["reason"]
    assert "test_mul: GradingError: mul: relative error" in state["hw/bob"]["reason"]
    assert state["hw/alice"]["reason"] == "ok"


@pytest.mark.sandbox
def test_rerun_grades_nothing_and_status(graded, capsys):
    assert _cli("--course-dir", str(graded), "autograde", "--no-progress") == 0
    assert "nothing to grade: 7 submission(s) already graded" in capsys.readouterr().out
    assert _cli("--course-dir", str(graded), "status") == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("hw ")][0]
    assert line.split()[:6] == ["hw", "yes", "7", "7/7", "4", "0/7"]


@pytest.mark.sandbox
def test_grades_csv(graded, tmp_path, capsys):
    out = tmp_path / "grades.csv"
    assert _cli("--course-dir", str(graded), "grades", "--csv", str(out)) == 0
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert sorted(rows) == sorted(EXPECTED)
    for s, parts in EXPECTED.items():
        for part, score in parts.items():
            nb = "part1" if part != "test_square" else "part2"
            assert float(rows[s][f"hw:{nb}/{part}"]) == score
        assert float(rows[s]["total"]) == sum(parts.values())
        assert float(rows[s]["max"]) == 7
    assert rows["alice"]["needs_manual_grading"] == "1"     # the written answer
    assert "alice" in capsys.readouterr().out


def _text(path: Path) -> str:
    """The visible text of an HTML page (code is split into highlighting spans)."""
    import html
    import re
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


HIDDEN = 'cases=[Case(seed=1, args={"a": normal(2, 4)'     # test_add's hidden check
VISIBLE = 'cases=[Case(seed=0, args={"a": normal(3,)'


@pytest.mark.sandbox
def test_feedback_with_and_without_hidden_tests(graded, tmp_path, capsys):
    fb = _copy(graded, tmp_path / "fb")
    # the written answers wait for a human: refused, saying how many and where
    assert _cli("--course-dir", str(fb), "feedback") == 1
    err = capsys.readouterr().err
    assert ("hw: 7 answer(s) of 5 student(s) not graded by hand yet (alice: part2/why; bob: "
            "part2/why; dave: part2/why; erin: part2/why; frank: part1/test_add; frank: "
            "part1/test_mul ...)") in err
    assert not (fb / "feedback").exists()
    assert _cli("--course-dir", str(fb), "feedback", "--allow-ungraded") == 0
    html = _text(fb / "feedback" / "bob" / "hw" / "part1.html")
    assert HIDDEN not in html and "hidden tests are not shown" in html    # hidden by default
    assert VISIBLE in html                            # visible tests stay
    assert sorted(p.name for p in (fb / "feedback").iterdir()) == sorted(EXPECTED)
    assert _cli("--course-dir", str(fb), "feedback", "hw", "--show-hidden-tests",
                "--allow-ungraded") == 0
    html = _text(fb / "feedback" / "bob" / "hw" / "part1.html")
    assert HIDDEN in html                             # nbgrader's own view, on request
    # one file per student for the LMS; two notebooks -> one page holding both
    assert _cli("--course-dir", str(fb), "feedback", "--allow-ungraded", "--zip") == 0
    import zipfile
    with zipfile.ZipFile(fb / "feedback" / "hw-folder.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"{s}/hw-feedback.html" for s in EXPECTED)
        page = zf.read("bob/hw-feedback.html").decode()
    assert page.count("<iframe") == 2 and "<h2>part1</h2>" in page and "<h2>part2</h2>" in page


def _env():
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.sandbox
def test_killed_midway_then_rerun_loses_nothing(collected, tmp_path):
    root = _copy(collected, tmp_path / "k")
    state = root / ".nnkit-course" / "autograde.json"
    proc = subprocess.Popen([str(BIN / "nnkit-course"), "--course-dir", str(root), "autograde",
                             "--workers", "1", "--no-progress"], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    done = {}
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done = json.loads(state.read_text())
            except (OSError, ValueError):
                done = {}
            if len(done) >= 2:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert 2 <= len(done) < 7, "the batch should be killed midway"
    before = _scores(root)
    first = {k.split("/")[1] for k in done}
    for s in first:       # what was recorded before the kill is there, and right
        assert {k: v for k, v in before[s]["parts"].items() if k != "why"} == EXPECTED[s]
    assert _cli("--course-dir", str(root), "autograde", "--workers", "2", "--no-progress") == 0
    after = json.loads(state.read_text())
    regraded = {k.split("/")[1] for k, v in after.items() if v["graded_at"] > max(
        d["graded_at"] for d in done.values())}
    assert regraded == set(EXPECTED) - first          # only what was left
    _check_expected(_scores(root))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.sandbox
def test_existing_dask_cluster_gives_same_scores(graded, collected, tmp_path):
    root = _copy(collected, tmp_path / "d")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    work = tmp_path / "workers"
    work.mkdir()
    logs = [open(work / f"{n}.log", "wb") for n in ("scheduler", "worker1", "worker2")]
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], cwd=work, env=_env(),
                              stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", addr, "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1"], cwd=work, env=_env(), stdout=logs[i + 1],
                stderr=subprocess.STDOUT))
        from dask.distributed import Client
        with Client(addr, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
            assert len(c.scheduler_info()["workers"]) == 2
        assert _cli("--course-dir", str(root), "autograde", "--scheduler", addr,
                    "--no-progress") == 0
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for fh in logs:
            fh.close()
    assert _scores(root) == _scores(graded)
    _check_expected(_scores(root))


@pytest.mark.sandbox
def test_ctrl_c_one_line_then_forced_run_continues(graded, tmp_path, capsys):
    root = _copy(graded, tmp_path / "int")
    state = root / ".nnkit-course" / "autograde.json"
    t0 = time.time()
    proc = subprocess.Popen([str(BIN / "nnkit-course"), "--course-dir", str(root), "autograde",
                             "--force", "--workers", "1", "--no-progress"], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,       # Ctrl-C reaches the whole group
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline, first = time.monotonic() + 240, set()
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                first = {k for k, v in json.loads(state.read_text()).items()
                         if v["graded_at"] > t0}
            except (OSError, ValueError):
                pass
            if len(first) >= 2:
                break
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "nnkit-course: interrupted; what was done is saved, run the same command again to resume"]
    done = {k for k, v in json.loads(state.read_text()).items() if v["graded_at"] > t0}
    assert 2 <= len(done) < 7
    t1 = time.time()
    assert _cli("--course-dir", str(root), "autograde", "--force", "--workers", "2",
                "--no-progress") == 0
    out = capsys.readouterr().out
    assert "continuing the --force run interrupted earlier" in out
    after = json.loads(state.read_text())
    regraded = {k for k, v in after.items() if v["graded_at"] > t1}
    assert regraded == {f"hw/{s}" for s in EXPECTED} - done        # only what was left
    assert not (root / ".nnkit-course" / "forced-run.json").exists()  # the next --force: all
    _check_expected(_scores(root))
