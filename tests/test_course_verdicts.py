"""nnkit.course.verdicts: the trusted decision on missing, malformed and genuine records."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import numpy as np
from nbformat.v4 import new_code_cell, new_notebook

from nnkit.course import verdicts


def _graded_nb():
    cell = new_code_cell("check()", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 2.0,
        "grade_id": "test_f", "schema_version": 3}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="f: passed\n")]
    return new_notebook(cells=[cell])


def _reference(tmp_path: Path) -> Path:
    """Records of a trusted run of check_function('f', np.tanh, reference='numpy.tanh')."""
    from nnkit import grading
    ref = tmp_path / "ref" / "grade-test_f"
    os.environ[grading.RECORD_ENV] = str(ref)
    try:
        grading.check_function("f", np.tanh, reference="numpy.tanh",
                               cases=[grading.Case(seed=0, shape=(4,))])
    finally:
        del os.environ[grading.RECORD_ENV]
    return tmp_path / "ref"


def test_verdicts_come_from_records_not_from_the_kernel(tmp_path):
    from nbgrader.utils import determine_grade
    ref = _reference(tmp_path)
    # the kernel printed "passed" but recorded nothing: 0
    nb = _graded_nb()
    verdicts.apply_verdicts(nb, tmp_path / "student", ref)
    assert determine_grade(nb.cells[0]) == (0, 2.0)
    assert "no output of the checks was recorded" in nb.cells[0].outputs[-1]["evalue"]
    # malformed records: 0, the batch goes on
    bad = tmp_path / "bad" / "grade-test_f" / "f"
    bad.mkdir(parents=True)
    (bad / "call0.json").write_text("{not json")
    (bad / "call0_case0_out0.npy").write_bytes(b"garbage")
    nb = _graded_nb()
    verdicts.apply_verdicts(nb, tmp_path / "bad", ref)
    assert determine_grade(nb.cells[0]) == (0, 2.0)
    # the reference's own records pass
    nb = _graded_nb()
    nb.cells[0].outputs.append(nbformat.v4.new_output("error", ename="AssertionError",
                                                      evalue="the kernel's own verdict",
                                                      traceback=[]))
    verdicts.apply_verdicts(nb, ref, ref)
    assert determine_grade(nb.cells[0]) == (2.0, 2.0)
    assert json.dumps(nb.cells[0].outputs).count("the kernel's own verdict") == 0
