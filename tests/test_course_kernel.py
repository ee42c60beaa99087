"""nnkit.course.kernel without running a notebook: refusal without bwrap, the limits, the kernel
command."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from nnkit.course import kernel
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
