"""The sandbox's pieces, without running a notebook: refusal without bwrap, the kernel command,
and the trusted verdicts on missing or malformed records."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nnkit.course import kernel, verdicts
from nnkit.course.coursedir import CourseError


def test_refuses_without_bubblewrap_unless_unsafe(monkeypatch, tmp_path):
    real_which = kernel.shutil.which
    monkeypatch.setattr(kernel.shutil, "which",
                        lambda name, *a, **k: None if name == "bwrap" else real_which(name, *a, **k))
    assert any("bubblewrap (bwrap) is not installed" in m for m in kernel.probe())
    with pytest.raises(CourseError) as e:
        kernel.sandbox_settings({}, unsafe=False)
    msg = str(e.value)
    assert "protections are OFF" in msg and "no network, filesystem or process isolation" in msg
    assert "--unsafe" in msg
    out = io.StringIO()
    s = kernel.sandbox_settings({}, unsafe=True, out=out)
    assert s.bwrap is False and "WARNING" in out.getvalue()


def test_unknown_limit_is_an_error():
    with pytest.raises(CourseError, match="unknown sandbox setting c.Sandbox.memry"):
        kernel.sandbox_settings({"Sandbox": {"memry": 1}})


def test_limits_are_a_configurable_with_checked_values():
    from traitlets.config import Config
    cfg = Config()
    cfg.Sandbox.memory_mb = 1234
    cfg.Sandbox.zygote = 0
    limits = kernel.read_limits(cfg)
    assert limits["memory_mb"] == 1234 and limits["zygote"] == 0
    assert limits["processes"] == kernel.Sandbox().processes == kernel.DEFAULT_LIMITS["processes"]
    with pytest.raises(CourseError, match="c.Sandbox settings are whole numbers"):
        kernel.read_limits({"Sandbox": {"memory_mb": "lots"}})


def test_kernel_command_is_wrapped(tmp_path):
    root = os.geteuid() == 0
    km = kernel.SandboxKernelManager(kernel_name="python3", ipc_dir=str(tmp_path / "ipc"),
                                      record_dir=str(tmp_path / "rec"), uid=299999 if root else 0,
                                      use_setpriv=root, limits={"memory_mb": 1000, "processes": 32})
    (tmp_path / "ipc").mkdir()
    assert km.transport == "ipc" and km.ip.startswith(str(tmp_path / "ipc"))
    km._launch_args = {"cwd": str(tmp_path)}
    cmd = km.format_kernel_cmd()
    assert cmd[0].endswith("bwrap")
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session",
                 "--clearenv"):
        assert flag in cmd
    assert f"--as={1000 * 2**20}" in cmd
    if root:      # a uid of its own, so that the process limit holds
        assert "--nproc=32" in cmd and cmd[cmd.index("--reuid") + 1] == "299999"
        assert os.stat(tmp_path).st_uid == 299999             # its working folder, nothing else
    i = cmd.index("--setenv", cmd.index(kernel.RECORD_ENV) - 1)
    assert cmd[i + 2] == str(tmp_path / "rec")
    bound = [cmd[k + 1] for k, a in enumerate(cmd) if a in ("--bind", "--ro-bind")]
    repo = str(Path(kernel.__file__).resolve().parents[2])
    assert repo not in bound                               # not the course / repository
    assert not any(b.startswith(repo + "/solutions") for b in bound)
    assert cmd[-3:-1] == ["-m", "ipykernel_launcher"] or "ipykernel_launcher" in " ".join(cmd)


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
