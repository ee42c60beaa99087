"""Fork-server kernels: a sandboxed, pre-imported Python per grading process forks one fresh kernel
per notebook (see :mod:`nnkit.course.zygote_server` for what happens inside).

Starting a kernel the plain way costs a new interpreter, ipykernel's imports and the notebook's
(numpy, nnkit, torch): most of the time of a short notebook. Here that cost is paid once per grading
process: the zygote runs in a bubblewrap sandbox built like the kernels' (no network, only the
*slot*'s folders and the Python roots, the references hidden) and each kernel is forked from it
untouched, into namespaces of its own, with the same limits and uid as before. A kernel is never
reused: one notebook, one fork, killed with its whole pid namespace afterwards.

The slot is a fixed set of folders per grading process, bound into the zygote's sandbox once:
``ipc/`` (the kernel's sockets and home), ``record-live/``, ``trusted/`` and ``autograded/``
(the submission's working folder: the task's ``autograded`` directory links there). The worker
empties them between submissions. Only the full sandbox (bubblewrap, root, setpriv) uses zygotes;
``c.Sandbox.zygote = 0`` turns them off (a kernel started per notebook, as before).
"""
from __future__ import annotations

import ast
import atexit
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..files import empty_folder
from . import kernel
from .kernel import SandboxKernelManager, SandboxSettings, SpawnError, python_roots, scratch_root

#: always imported by the zygote (a kernel needs them whatever the notebook does)
BASE_PRELOAD = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                "IPython.core.interactiveshell", "IPython.core.completer", "jupyter_client.session",
                "comm", "numpy"]
#: never imported by the zygote: the hidden references (and anything that reads them)
NEVER = ("nnkit.grading.references", "nnkit.course")
#: zygotes kept per grading process (one per kind: "numpy", "torch")
MAX_ZYGOTES = 2


def notebook_imports(source: dict[str, bytes]) -> list[str]:
    """The modules the instructor's notebooks import (absolute imports of their code cells)."""
    mods: set[str] = set()
    for rel, data in source.items():
        if not rel.endswith(".ipynb"):
            continue
        try:
            nb = json.loads(data)
        except ValueError:
            continue
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            try:
                tree = ast.parse("\n".join(l for l in src.splitlines()
                                           if not l.lstrip().startswith(("%", "!"))))
            except SyntaxError:
                continue
            for n in ast.walk(tree):
                if isinstance(n, ast.Import):
                    mods.update(a.name for a in n.names)
                elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                    mods.add(n.module)
    return sorted(m for m in mods if not m.startswith(NEVER))


def kind_of(modules: list[str]) -> str:
    return "torch" if any(m.split(".")[0] in ("torch", "torchvision") for m in modules) else "numpy"


def preload_plan(sources: dict[str, dict[str, bytes]]) -> dict[str, dict]:
    """Per assignment: its zygote kind and what that zygote pre-imports (the union over the run's
    assignments of the same kind, so one zygote per kind serves them all)."""
    imports = {a: notebook_imports(src) for a, src in sources.items()}
    union: dict[str, set] = {}
    for a, mods in imports.items():
        union.setdefault(kind_of(mods), set()).update(mods)
    return {a: {"kind": kind_of(m), "modules": sorted(union[kind_of(m)])}
            for a, m in imports.items()}


def usable(sandbox: SandboxSettings | None) -> bool:
    """The zygote needs the full sandbox (bubblewrap as root, setpriv) and is not turned off."""
    if not sandbox or os.environ.get("NNKIT_ZYGOTE", "1") == "0":
        return False
    return bool(sandbox.bwrap and sandbox.setpriv and os.geteuid() == 0
                and int(sandbox.limits.get("zygote", 1)))


# ---------------------------------------------------------------------------- the slot
class Slot:
    """The folders of one grading process that its zygote's sandbox binds (emptied per task)."""

    def __init__(self, uid: int):
        _remove_stale()
        self.root = Path(tempfile.mkdtemp(prefix=f"nnkit-slot-{os.getpid()}-",
                                          dir=scratch_root()))
        os.chmod(self.root, 0o755)
        self.uid = uid
        self.ipc = self.root / "ipc"
        self.live = self.root / "record-live"
        self.trusted = self.root / "trusted"
        self.work = self.root / "autograded"
        self.log = Path(tempfile.mkdtemp(prefix=f"nnkit-zylog-{os.getpid()}-",
                                         dir=scratch_root())) / "kernel.log"
        self.reset()

    def reset(self) -> None:
        """Empty every folder (nothing of one submission is left for the next). The folders
        themselves stay: the zygote's sandbox has them mounted (a new folder would not be seen)."""
        for d in (self.ipc, self.live, self.trusted, self.work):
            if d.is_symlink() or (d.exists() and not d.is_dir()):
                d.unlink()
            empty_folder(d)                # symlinks are removed, never followed
        (self.ipc / "home").mkdir()
        for d in (self.ipc, self.ipc / "home", self.live):
            os.chown(d, self.uid, self.uid)
            os.chmod(d, 0o755)
        for d in (self.trusted, self.work):
            os.chown(d, 0, 0)
            os.chmod(d, 0o755)
        # the kernels' stdout/stderr (inherited descriptor, outside the sandbox): root's only, so
        # a kernel cannot reopen it through /proc/self/fd to read an earlier one's; emptied
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        os.close(fd)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.log.parent, ignore_errors=True)


def _remove_stale() -> None:
    """Slots of grading processes that were killed (no clean-up ran): removed."""
    tmp = Path(scratch_root() or tempfile.gettempdir())
    for p in [*tmp.glob("nnkit-slot-*-*"), *tmp.glob("nnkit-zylog-*-*")]:
        parts = p.name.split("-")
        if p.is_symlink() or len(parts) != 4 or not parts[2].isdigit():
            continue
        try:
            os.kill(int(parts[2]), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


# ---------------------------------------------------------------------------- the zygote
class ZygoteError(SpawnError):
    """The zygote did not answer, or refused to fork a kernel."""


class Zygote:
    """One sandboxed fork server (outside view): start, spawn kernels, poll, kill."""

    def __init__(self, slot: Slot, sandbox: SandboxSettings, modules: list[str]):
        self.slot, self.modules = slot, list(modules)
        self.limits = dict(sandbox.limits)
        self.lock = threading.Lock()
        km = SandboxKernelManager(kernel_name="python3", ipc_dir=str(slot.ipc),
                                  record_dir=str(slot.live), trusted_dir=str(slot.trusted),
                                  writable=[str(slot.work)], use_bwrap=True,
                                  use_prlimit=False, use_setpriv=False, uid=0,
                                  limits=self.limits)
        km._launch_args = {"cwd": str(slot.root)}
        code = Path(__file__).with_name("zygote_server.py").read_text()
        km.command = [sys.executable, "-c", code + "\nserve()\n"]
        cmd = km.format_kernel_cmd()
        self.env = {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "--setenv"}
        self.log = open(slot.log, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, close_fds=True, start_new_session=True)
        self.proc.stdin.write((json.dumps({"preload": BASE_PRELOAD + self.modules}) + "\n").encode())
        self.proc.stdin.flush()
        self.ready = False
        self._buf = b""

    def _read(self, timeout: float) -> dict:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ZygoteError(f"the zygote did not answer within {timeout:.0f} s")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ZygoteError(f"the zygote exited ({self.proc.poll()})")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, obj: dict, timeout: float = 60.0) -> dict:
        with self.lock:
            if self.proc.poll() is not None:
                raise ZygoteError(f"the zygote exited ({self.proc.returncode})")
            if not self.ready:
                try:
                    hello = self._read(120.0)
                except ZygoteError:
                    self.close()
                    raise
                if not hello.get("ready"):       # e.g. a pre-import started a thread
                    self.close()
                    raise ZygoteError(f"the zygote cannot fork safely: {hello}")
                self.ready = True
            try:
                self.proc.stdin.write((json.dumps(obj) + "\n").encode())
                self.proc.stdin.flush()
            except OSError as e:
                raise ZygoteError(f"the zygote is gone ({e})") from None
            ans = self._read(timeout)
        if not ans.get("ok"):
            raise ZygoteError(ans.get("error", "unknown error"))
        return ans

    def alive(self) -> bool:
        return self.proc.poll() is None

    def can_spawn(self, cwd: str) -> bool:
        """Kernels whose working folder is in this zygote's slot (the folders its sandbox binds)."""
        return self.alive() and cwd.startswith(str(self.slot.root) + os.sep)

    def spawn(self, conn: str, cwd: str, uid: int, limits: dict) -> "ZygoteKernel":
        import ipykernel_launcher
        lim = {k: int(v) for k, v in limits.items()}
        ans = self.request({"op": "spawn", "conn": conn, "cwd": cwd, "uid": uid, "limits": lim,
                            "env": self.env, "launcher": ipykernel_launcher.__file__,
                            "keep": [str(self.slot.root), *_under_tmp()], "t": time.time()})
        return ZygoteKernel(self, int(ans["pid"]))

    def killall(self) -> None:
        if self.alive():
            try:
                self.request({"op": "killall"})
            except ZygoteError:
                self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.log.close()


class ZygoteKernel:
    """What jupyter_client's provisioner keeps as ``process`` (the Popen methods it calls)."""

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote, self.pid = zygote, pid
        self.returncode = None
        self.stdin = self.stdout = self.stderr = None

    def poll(self):
        if self.returncode is None:
            try:
                st = self.zygote.request({"op": "poll", "pid": self.pid})["status"]
            except ZygoteError:
                st = -9                   # the zygote (and so every kernel of it) is gone
            if st is not None:
                self.returncode = st
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):        # interrupts go through the control channel
        self.kill()

    def kill(self):
        if self.returncode is None:
            try:
                self.zygote.request({"op": "kill", "pid": self.pid})
            except ZygoteError:
                pass

    terminate = kill


# ---------------------------------------------------------------------------- per grading process
_SLOT: Slot | None = None
_ZYGOTES: dict[str, Zygote] = {}     # kind -> zygote (most recently used last)
#: one task at a time uses the slot (a worker with several threads grades the others plainly)
BUSY = threading.Lock()


def _under_tmp() -> list[str]:
    """The Python roots (interpreter, venv, nnkit) that live under /tmp, as in a checkout cloned
    there: the kernel's fresh /tmp must show them again (bound back with what hides the references)."""
    tmp = os.path.realpath(tempfile.gettempdir())
    return [r for r in python_roots() if r == tmp or r.startswith(tmp + os.sep) or r.startswith("/tmp/")]


def slot(uid: int) -> Slot:
    global _SLOT
    if _SLOT is None or _SLOT.uid != uid or not _SLOT.root.is_dir():
        _SLOT = Slot(uid)
        atexit.register(shutdown)
    return _SLOT


def zygote_for(sandbox: SandboxSettings, plan: dict, uid: int) -> Zygote:
    """This process's zygote of ``plan["kind"]``, started (in the background) if needed."""
    with _LOCK:
        return _zygote_for(sandbox, plan, uid)


_LOCK = threading.RLock()


def _zygote_for(sandbox: SandboxSettings, plan: dict, uid: int) -> Zygote:
    s = slot(uid)
    kind, modules = plan.get("kind", "numpy"), list(plan.get("modules", []))
    z = _ZYGOTES.pop(kind, None)
    if z is not None and (not z.alive() or not set(modules) <= set(z.modules)
                          or z.limits != dict(sandbox.limits)):
        z.close()
        z = None
    if z is None:
        z = Zygote(s, sandbox, modules)
    _ZYGOTES[kind] = z
    while len(_ZYGOTES) > MAX_ZYGOTES:
        old = next(iter(_ZYGOTES))
        _ZYGOTES.pop(old).close()
    return z


def activate(z: Zygote) -> str:
    """Make ``z`` fork the kernels of the task being graded; returns the key for
    ``SandboxKernelManager.zygote_key``."""
    key = f"{os.getpid()}-{id(z)}"
    kernel.register_spawner(key, z)
    return key


def kill_kernels() -> None:
    """Kill every kernel this process's zygotes forked (the task is over)."""
    for z in list(_ZYGOTES.values()):
        z.killall()


def shutdown() -> None:
    global _SLOT
    for z in list(_ZYGOTES.values()):
        z.close()
    _ZYGOTES.clear()
    kernel.forget_spawners()
    if _SLOT is not None:
        _SLOT.remove()
        _SLOT = None


def memory_kb() -> int:
    """Resident memory (KiB) of this process's zygotes (the kernels they fork are counted apart)."""
    total = 0
    for z in _ZYGOTES.values():
        try:
            for pid in _tree(z.proc.pid):
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (bwrap, then the zygote inside)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                kids = open(f"/proc/{p}/task/{t}/children").read().split()
                todo += [int(k) for k in kids]
        except OSError:
            pass
    return out
