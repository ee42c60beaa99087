"""Plain ``nbgrader autograde`` applies the same rule as ``nnkit-course autograde``: no credit for
nnkit's own implementation of a graded part (:mod:`nnkit.grading.policy`).

``nbgrader_config.py`` puts :class:`EnforcePolicy` right after nbgrader's ``Execute``: it reads
the instructor's notebook from the course's source folder, and gives every test cell whose
graded answer breaks the policy one ``GradingError`` output, so ``SaveAutoGrades`` scores it 0
and the feedback says why. (The sandboxed ``nnkit-course autograde`` does the same in
:func:`nnkit.course.verdicts.apply_verdicts`.)
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.coursedir import CourseDirectory
from nbformat.notebooknode import NotebookNode
from traitlets import Bool

from nnkit.grading.policy import policy_for, violations


def solution_path(config, assignment: str, notebook: str) -> Path:
    """The instructor's notebook of an assignment, from the nbgrader configuration."""
    cd = CourseDirectory(config=config)
    return Path(cd.format_path(cd.source_directory, ".", assignment)) / f"{notebook}.ipynb"


def enforce(nb, solution: Path) -> dict:
    """Mark the test cells of ``nb`` that break the policy read from ``solution``; returns them."""
    if not solution.is_file():
        return {}
    found = violations(nb, policy_for(nbformat.read(str(solution), as_version=4)))
    for cell in nb.cells:
        gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if cell.cell_type == "code" and gid in found:
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"] + [
                NotebookNode(output_type="error", ename="GradingError", evalue=found[gid],
                             traceback=[f"GradingError: {found[gid]}"])]
    return found


class EnforcePolicy(Preprocessor):
    """After execution: zero the test cells whose answers call nnkit's own implementation."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        info = (resources or {}).get("nbgrader", {})
        if info.get("assignment") and info.get("notebook"):
            enforce(nb, solution_path(self.config, info["assignment"], info["notebook"]))
        return nb, resources
