"""Kernels forked from the zygote (nnkit.course.zygote): each one fresh, isolated and limited like a
kernel started per notebook. Needs the full sandbox (bubblewrap, root, setpriv), as `.ci/run` has."""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nnkit.course import kernel, zygote

SETTINGS = kernel.SandboxSettings(bwrap=True, prlimit=True, setpriv=True).with_limits(
    memory_mb=2048, processes=64)
REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.sandbox,
              pytest.mark.skipif(bool(kernel.probe()) or not zygote.usable(SETTINGS),
                                 reason="needs the full sandbox (bubblewrap, root, setpriv)")]


@pytest.fixture
def zyg():
    uid = kernel.sandbox_uid()
    z = zygote.zygote_for(SETTINGS, {"kind": "numpy", "modules": ["numpy", "nnkit"]}, uid)
    z.slot.reset()
    yield z, uid
    zygote.shutdown()


def _run(z, uid: int, *sources: str) -> list[str]:
    """Run cells in ONE kernel forked from ``z``; the stdout of each cell."""
    work = z.slot.work / "student" / "hw"
    work.mkdir(parents=True, exist_ok=True)
    km = kernel.SandboxKernelManager(
        kernel_name="python3", ipc_dir=str(z.slot.ipc), record_dir=str(z.slot.live),
        trusted_dir=str(z.slot.trusted), uid=uid, use_setpriv=True,
        limits=SETTINGS.limits, zygote_key=zygote.activate(z))
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])

    async def go():
        from nbclient import NotebookClient
        client = NotebookClient(nb, km=km, timeout=60, allow_errors=True,
                                resources={"metadata": {"path": str(work)}})
        try:
            await client.async_execute()
        finally:
            await km.shutdown_kernel(now=True)
    forked = z.slot.log.read_text().count("zygote kernel: initialized")
    try:
        # a thread of its own: an earlier test of the session may leave an asyncio loop on this one
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, go()).result()
    finally:                  # forked from the zygote, not started as a process
        assert z.slot.log.read_text().count("zygote kernel: initialized") == forked + 1
    return ["".join(o.get("text", "") + str(o.get("evalue", "")) for o in c.outputs)
            for c in nb.cells]


def _uid_processes(uid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if p.stat().st_uid == uid:
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def test_each_kernel_is_fresh_and_leaves_nothing(zyg):
    z, uid = zyg
    first = _run(z, uid,
                 "import numpy, os, subprocess, sys\nnumpy.LEFT = 1\nos.environ['LEFT'] = '1'\n"
                 "open('/tmp/left', 'w').write('x')\n"
                 "open(os.path.expanduser('~/left'), 'w').write('x')\n"
                 "p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
                 "print('spawned', p.pid, 'zygote' in sys.modules['ipykernel'].__name__ or 'ok')\n"
                 "LEFT = 1")
    assert "spawned" in first[0], first
    z.killall()
    assert _uid_processes(uid) == []        # the sleeper died with the kernel's namespace
    z.slot.reset()
    second = _run(z, uid,
                  "import numpy, os\n"
                  "print(hasattr(numpy, 'LEFT'), 'LEFT' in os.environ, os.path.exists('/tmp/left'),"
                  " os.path.exists(os.path.expanduser('~/left')), 'LEFT' in globals())\n"
                  "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    assert second[0].splitlines()[0] == "False False False False False", second
    assert max(json.loads(second[0].splitlines()[1])) < 10     # its own pid namespace only
    z.killall()


def test_forked_kernel_has_the_sandbox_limits_uid_and_no_network(zyg):
    z, uid = zyg
    out = _run(z, uid,
               "import os, resource, socket\n"
               "print(os.getuid(), os.getgid(), os.getgroups())\n"
               "st = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
               "print(st['CapEff'].strip(), st['CapBnd'].strip(), st['NoNewPrivs'].strip())\n"
               "print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20,"
               " resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
               "print(sorted(os.listdir('/sys/class/net')) if os.path.isdir('/sys/class/net') "
               "else ['lo'])\n"
               f"print(os.path.exists({str(REPO / 'solutions')!r}), "
               f"os.path.exists({str(REPO / 'gradebook.db')!r}))\n"
               "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
               "    print('network')\nexcept OSError:\n    print('no network')\n"
               "import sys\nprint('' in sys.path, os.getcwd().endswith('student/hw'))")
    lines = out[0].splitlines()
    assert lines[0] == f"{uid} {uid} []", out
    assert lines[1] == "0000000000000000 0000000000000000 1", out
    assert lines[2] == "2048 64", out
    assert lines[4] == "False False", out
    assert lines[5] == "no network", out
    assert lines[6] == "True True", out
    z.killall()


def test_a_kernel_that_dies_is_reported_dead(zyg):
    from nbclient.exceptions import DeadKernelError
    z, uid = zyg
    with pytest.raises(DeadKernelError):
        _run(z, uid, "import os\nos._exit(3)", "print('after')")
    z.killall()
    assert _uid_processes(uid) == []
