"""The course folder: ``nbgrader_config.py``, its directories and its assignments."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..files import read_tree

#: folders inside an assignment's folder that are not part of it (Jupyter's autosaves)
NOT_PART_OF_IT = (".ipynb_checkpoints",)


class CourseError(Exception):
    """A problem the instructor can fix; the message says how."""


def venv_bin() -> str:
    """The ``bin`` folder of the Python running us (nbgrader shells out to ``alembic`` from there)."""
    return str(Path(sys.executable).parent)


def ensure_path_env() -> None:
    """Put this interpreter's ``bin`` first on PATH (kernels, ``alembic``, ``jupyter``)."""
    path = os.environ.get("PATH", "")
    b = venv_bin()
    if path.split(os.pathsep)[0] != b:
        os.environ["PATH"] = b + os.pathsep + path


def load_config(root: Path) -> Config:
    """Load ``root/nbgrader_config.py`` (as nbgrader does) and pin the course root in it."""
    cfg_file = root / "nbgrader_config.py"
    if not cfg_file.is_file():
        raise CourseError(
            f"no nbgrader_config.py in {root}: run nnkit-course from the course folder "
            "(the one holding nbgrader_config.py) or pass --course-dir")
    cfg = PyFileConfigLoader(cfg_file.name, path=str(root)).load_config()
    cfg.CourseDirectory.root = str(root)
    structure = cfg.CourseDirectory.get("directory_structure")
    if structure and structure != os.path.join("{nbgrader_step}", "{student_id}", "{assignment_id}"):
        raise CourseError("nnkit-course supports nbgrader's default CourseDirectory.directory_structure "
                          "only; remove it from nbgrader_config.py")
    return cfg


class Course:
    """Paths and settings of one nbgrader course folder."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root or os.getcwd()).resolve()
        self.config = load_config(self.root)
        self.coursedir = CourseDirectory(config=self.config)
        cd = self.coursedir
        self.course_id = cd.course_id or "default_course"
        self.db_url = cd.db_url
        self.source_dir = self.root / cd.source_directory
        self.release_dir = self.root / cd.release_directory
        self.submitted_dir = self.root / cd.submitted_directory
        self.autograded_dir = self.root / cd.autograded_directory
        self.feedback_dir = self.root / cd.feedback_directory
        self.state_dir = self.root / ".nnkit-course"

    # ------------------------------------------------------------------ assignments
    def source_assignments(self) -> list[str]:
        """Assignments with a folder in the source directory (``solutions/``)."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))

    def gradebook_exists(self) -> bool:
        if self.db_url.startswith("sqlite:///"):
            return Path(self.db_url[len("sqlite:///"):]).is_file()
        return True

    def released_assignments(self) -> list[str]:
        """Assignments recorded in the gradebook (by ``release``)."""
        if not self.gradebook_exists():
            return []
        with Gradebook(self.db_url, self.course_id) as gb:
            return sorted(a.name for a in gb.assignments)

    def check_assignments(self, names: list[str] | None, *, released: bool = True) -> list[str]:
        """Validate assignment names; ``None``/empty means all. Errors name what exists and the fix."""
        existing = self.source_assignments()
        if not existing:
            raise CourseError(f"no assignments in {self.source_dir}: each assignment is a folder "
                              f"{self.coursedir.source_directory}/<assignment>/ holding its notebooks")
        names = list(names or [])
        unknown = [n for n in names if n not in existing]
        if unknown:
            raise CourseError(f"no such assignment: {', '.join(unknown)}; the assignments are: "
                              f"{', '.join(existing)}")
        if released:
            if not self.gradebook_exists():
                raise CourseError(f"no gradebook ({self.db_url}): run `nnkit-course release` first")
            rel = self.released_assignments()
            missing = [n for n in (names or existing) if n not in rel]
            if names and missing:
                raise CourseError(f"not released yet: {', '.join(missing)}; run "
                                  f"`nnkit-course release {' '.join(missing)}` first")
            if not names:
                names = [n for n in existing if n in rel]
                if not names:
                    raise CourseError("nothing released yet: run `nnkit-course release` first")
        return names or existing

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without .ipynb) of an assignment, from its source folder."""
        return sorted(p.stem for p in (self.source_dir / assignment).glob("*.ipynb"))

    def submitted_students(self, assignment: str) -> list[str]:
        if not self.submitted_dir.is_dir():
            return []
        return sorted(p.name for p in self.submitted_dir.iterdir()
                      if (p / assignment).is_dir() and not p.name.startswith("."))

    def autograded_path(self, student: str, assignment: str) -> Path:
        return self.autograded_dir / student / assignment

    def submitted_path(self, student: str, assignment: str) -> Path:
        return self.submitted_dir / student / assignment

    # ------------------------------------------------------------------ files, as {relative path: bytes}
    def source_files(self, assignment: str) -> dict[str, bytes]:
        """The instructor's folder of ``assignment`` (notebooks and data files)."""
        return read_tree(self.source_dir / assignment, skip=NOT_PART_OF_IT)

    def submitted_files(self, student: str, assignment: str) -> dict[str, bytes]:
        return read_tree(self.submitted_path(student, assignment), skip=NOT_PART_OF_IT)


# ---------------------------------------------------------------------------- nbgrader's apps
def run_converter(converter_cls, course: Course, *, assignment: str, student: str = "*",
                  config: Config | None = None, **attrs) -> dict:
    """Run one of nbgrader's converters (GenerateAssignment, GenerateFeedback, ...) on this course;
    returns nbgrader's ``capture_log`` result (``success``, ``log``, ``error``)."""
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


def last_error(log: str, error: str = "") -> str:
    """The last ``[ERROR]`` line of an nbgrader run's log and error, else their last line."""
    lines = [ln for ln in ((log or "") + (error or "")).splitlines() if ln.strip()]
    errs = [ln for ln in lines if "[ERROR]" in ln] or lines
    return errs[-1] if errs else "unknown error"
