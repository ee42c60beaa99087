"""Hostile and broken submissions, graded beside an honest one in ONE `nnkit-course autograde` run.

Each case (tests/adversarial/attacks.py) must score 0 on the parts it breaks (the rest graded
normally where the notebook allows) with a clear reason in its row; the batch completes, the honest
student's marks and the gradebook stay intact, nothing reaches the network and nothing outside the
submission changes. Needs bubblewrap (the real sandbox), as `.ci/run` installs it.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import sqlite3
import threading
from pathlib import Path

import nbformat
import pytest

from adversarial.attacks import CODE_ATTACKS, NOTEBOOK_ATTACKS
from adversarial.fixture_course import RIGHT, make_course, student_notebook
from nnkit.course import kernel
from nnkit.course.cli import main
from nnkit.course.gradebook import all_scores

LIMITS = """
c.Sandbox.memory_mb = 2048
c.Sandbox.processes = 64
c.Sandbox.cpu_seconds = 30
c.Sandbox.notebook_timeout = 40
c.Sandbox.output_kb = 256
"""

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(
    bool(kernel.probe()), reason="needs the bubblewrap sandbox: " + "; ".join(kernel.probe()))]


class Listener:
    """A TCP server on 127.0.0.1, outside the sandbox, counting connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def _tree_digest(root: Path, skip=()) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(str(rel).startswith(s) for s in skip):
            out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _fill(code: str, values: dict) -> str:
    for k, v in values.items():
        code = code.replace("{" + k + "}", str(v))
    return code


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("adv")
    root = make_course(base / "course", timeout=5)
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(LIMITS)
    outside = base / "outside"
    outside.mkdir()
    tag = f"nnkit-pwned-{base.name}"
    assert main(["--course-dir", str(root), "release"]) == 0
    listener = Listener()
    values = {"gradebook": root / "gradebook.db", "course": root, "outside": outside,
              "port": listener.port, "tag": tag}

    sub = root / "submitted"
    (sub / "honest" / "hw").mkdir(parents=True)
    for name in ("part1", "part2"):
        (sub / "honest" / "hw" / f"{name}.ipynb").write_text(student_notebook(root, name, RIGHT))
    for name, (code, _, _) in CODE_ATTACKS.items():
        d = sub / name / "hw"
        d.mkdir(parents=True)
        (d / "part1.ipynb").write_text(student_notebook(
            root, "part1", {"add": RIGHT["add"], "mul": _fill(code, values)}))
    for name, (make, _, _) in NOTEBOOK_ATTACKS.items():
        d = sub / name / "hw"
        d.mkdir(parents=True)
        if isinstance(make, bytes):
            (d / "part1.ipynb").write_bytes(make)
        else:
            nb = json.loads(student_notebook(root, "part1", {"add": RIGHT["add"]}))
            (d / "part1.ipynb").write_text(json.dumps(make(nb)))

    skip = ("autograded", "gradebook.db", ".nnkit-course")
    before = _tree_digest(root, skip)
    with sqlite3.connect(root / "gradebook.db") as db:
        cells_before = db.execute("SELECT b.name, g.max_score FROM grade_cells g JOIN base_cell b ON g.id = b.id ORDER BY b.name").fetchall()
    try:
        code = main(["--course-dir", str(root), "autograde", "--workers", "2", "--no-progress"])
    finally:
        listener.close()
    state = json.loads((root / ".nnkit-course" / "autograde.json").read_text())
    scores = {r["student"]: {k.split("/")[1]: v[0] for k, v in r["parts"].items()}
              for r in all_scores(f"sqlite:///{root}/gradebook.db", "nnkit-test")}
    return {"root": root, "code": code, "state": state, "scores": scores, "before": before,
            "after": _tree_digest(root, skip), "outside": outside, "tag": tag,
            "listener": listener, "cells_before": cells_before}


def test_the_batch_completes_and_the_honest_student_is_intact(run):
    assert run["code"] == 0
    students = {k.split("/")[1] for k in run["state"]}
    assert students == {"honest"} | set(CODE_ATTACKS) | set(NOTEBOOK_ATTACKS)
    assert run["scores"]["honest"] == {"test_add": 2, "test_mul": 3, "test_square": 1, "why": 0}
    assert run["state"]["hw/honest"]["reason"] == "ok"
    assert len(CODE_ATTACKS) + len(NOTEBOOK_ATTACKS) >= 20


def test_the_gradebook_is_intact(run):
    db_path = run["root"] / "gradebook.db"
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT b.name, g.max_score FROM grade_cells g JOIN base_cell b ON g.id = b.id ORDER BY b.name").fetchall() == \
            run["cells_before"]
        assert db.execute("SELECT MAX(auto_score) FROM grade").fetchone()[0] <= 3


def test_nothing_reaches_the_network_and_nothing_outside_changes(run):
    assert run["listener"].connections == 0
    assert run["before"] == run["after"]          # solutions/, exercises/, submissions, config
    assert list(run["outside"].iterdir()) == []
    assert not Path("/tmp", run["tag"]).exists()
    text = _outputs(run, "connect_localhost")
    assert "no network 127.0.0.1" in text and "connected 127.0.0.1" not in text
    assert "solutions found: []" in _outputs(run, "read_solutions")
    text = _outputs(run, "write_gradebook")
    assert "denied" in text and "wrote" not in text
    text = _outputs(run, "write_outside")     # only its own private /tmp and home take writes
    wrote = re.findall(r"wrote (\S+)", text)
    assert "denied" in text and all(p.startswith("/tmp/nnkit-") for p in wrote), wrote


def _outputs(run, student: str) -> str:
    """Everything the student's kernel printed (the outputs, not the code)."""
    nb = nbformat.read(run["root"] / "autograded" / student / "hw" / "part1.ipynb", 4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


@pytest.mark.parametrize("name", sorted(CODE_ATTACKS) + sorted(NOTEBOOK_ATTACKS))
def test_each_attack_scores_zero_where_it_breaks_with_a_reason(run, name):
    expect = (CODE_ATTACKS.get(name) or NOTEBOOK_ATTACKS[name])[1:]
    (add, mul), reason = expect
    got = run["scores"][name]
    assert (got["test_add"], got["test_mul"]) == (add, mul), run["state"][f"hw/{name}"]
    assert got["test_square"] == 0                # part2.ipynb was not submitted
    row = run["state"][f"hw/{name}"]["reason"]
    assert re.search(reason, row), row
    assert "part2.ipynb: not submitted" in row
