"""What ``autograde`` remembers between runs, in ``.nnkit-course/``.

- ``autograde.json``: per submission (``assignment/student``), its status (``ok``, ``problem``,
  ``error``), the reason in words, the digest of the files graded (a changed submission is graded
  again), the seconds it took (long ones start first next time) and its score.
- ``forced-run.json``: the selection and start time of a ``--force`` run in progress, so that an
  interrupted one resumes instead of starting over.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..files import tree_digest, write_json
from .coursedir import Course



def _state_file(course: Course) -> Path:
    return course.state_dir / "autograde.json"


def _forced_file(course: Course) -> Path:
    return course.state_dir / "forced-run.json"


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def load_state(course: Course) -> dict:
    return _read(_state_file(course)) or {}


def save_state(course: Course, state: dict) -> None:
    write_json(_state_file(course), state)


def submission_digest(course: Course, student: str, assignment: str) -> str:
    """A digest of the submitted files: a re-collected, changed submission is graded again."""
    return tree_digest(course.submitted_files(student, assignment))


def forced_run_since(course: Course, selection: dict) -> float | None:
    """When the interrupted ``--force`` run of this same selection started (None: there is none,
    and a new one starts now)."""
    forced = _read(_forced_file(course))
    if forced and forced.get("selection") == selection:
        return float(forced["started"])
    write_json(_forced_file(course), {"selection": selection, "started": time.time()})
    return None


def forced_run_done(course: Course) -> None:
    _forced_file(course).unlink(missing_ok=True)
