"""nnkit.course.state: what autograde remembers between runs."""
from __future__ import annotations

import shutil
from pathlib import Path

from nnkit.course import state
from nnkit.course.coursedir import Course

REPO = Path(__file__).resolve().parents[1]


def _course(tmp_path: Path) -> Course:
    shutil.copy(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    sub = tmp_path / "submitted" / "ada" / "hw"
    sub.mkdir(parents=True)
    (sub / "hw.ipynb").write_text("{}")
    return Course(tmp_path)


def test_state_round_trips_and_a_forced_run_resumes_only_its_own_selection(tmp_path):
    course = _course(tmp_path)
    assert state.load_state(course) == {}
    state.save_state(course, {"hw/ada": {"status": "ok"}})
    assert state.load_state(course) == {"hw/ada": {"status": "ok"}}
    sel = {"assignments": ["hw"], "students": []}
    assert state.forced_run_since(course, sel) is None          # a new forced run starts
    started = state.forced_run_since(course, sel)               # interrupted, run again: resumes
    assert isinstance(started, float)
    assert state.forced_run_since(course, {"assignments": ["other"], "students": []}) is None
    state.forced_run_done(course)
    assert state.forced_run_since(course, sel) is None


def test_the_digest_changes_with_the_submission_not_with_autosaves(tmp_path):
    course = _course(tmp_path)
    before = state.submission_digest(course, "ada", "hw")
    ckpt = course.submitted_path("ada", "hw") / ".ipynb_checkpoints"
    ckpt.mkdir()
    (ckpt / "hw-checkpoint.ipynb").write_text("{ }")
    assert state.submission_digest(course, "ada", "hw") == before
    (course.submitted_path("ada", "hw") / "hw.ipynb").write_text('{"cells": []}')
    assert state.submission_digest(course, "ada", "hw") != before
