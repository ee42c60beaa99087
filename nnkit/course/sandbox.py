"""Run each submission's kernel inside a bubblewrap sandbox, and judge its checks outside.

The kernel command ``python -m ipykernel_launcher -f CONN`` becomes::

    bwrap --unshare-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --new-session
          --ro-bind /usr /usr ... (the system, this Python, the venv, the nnkit package: read-only)
          --tmpfs /tmp  --bind WORKDIR WORKDIR  --bind IPC IPC  --bind RECORD RECORD
          --clearenv --setenv ...
      setpriv --reuid UID --regid UID --clear-groups --no-new-privs --bounding-set=-all
      prlimit --as=MEM --nproc=N --cpu=SECONDS --fsize=BYTES -- python -m ipykernel_launcher ...

- Nothing of the course folder is mounted but the ``nnkit`` package itself (read-only):
  ``solutions/``, the gradebook, other submissions and the instructor's home simply do not exist
  inside; ``/tmp`` is a private tmpfs.
- No network namespace interface but loopback: nothing reaches the host or the internet. The kernel
  talks to the grader over ZeroMQ **ipc** (Unix sockets) in a folder bound into the sandbox.
- ``setpriv`` drops root for a uid of its own (one per worker process), so ``RLIMIT_NPROC`` holds
  (it does not for uid 0) and the kernel cannot write anything it was not given.
- Limits: address space, processes, CPU seconds, file size (``prlimit``); wall time per cell
  (nbgrader's ``Execute.timeout``) and per notebook, and the output kept per notebook
  (:class:`SandboxedExecute`).

Tamper-proof scores: graded test cells use :mod:`nnkit.grading` checks, which in the sandbox run in
record mode (``NNKIT_GRADING_RECORD``): they only save what the student's code returned. After each
cell the grader moves the records into a folder of that cell, so a record can only come from the
cell that made it. After the notebook, trusted code outside the sandbox
(:func:`nnkit.grading.compare_records`, against the records of the instructor's solution made the
same way) decides each graded cell, and the cell's outputs are rewritten to say so before nbgrader's
``SaveAutoGrades`` reads them. A graded cell that recorded nothing, or garbage, scores 0.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Bool, Dict, Integer, List, Type, Unicode

from nbgrader.preprocessors import Execute

RECORD_ENV = "NNKIT_GRADING_RECORD"
TRUSTED_ENV = "NNKIT_GRADING_TRUSTED"
#: seconds spent running cells in this process (the worker reports it per task, for benchmarks)
EXEC_SECONDS = [0.0]
#: seconds per phase of the current task in this process (kernel start, verdicts, ...: benchmarks)
PHASES: dict[str, float] = {}

#: default limits, overridable in nbgrader_config.py as ``c.Sandbox.<name> = ...`` (see settings())
DEFAULT_LIMITS = {
    "memory_mb": 6144,          # address space of the kernel (torch maps a lot of virtual memory)
    "processes": 256,           # RLIMIT_NPROC (threads count too)
    "cpu_seconds": 900,         # RLIMIT_CPU of the kernel
    "file_mb": 256,             # RLIMIT_FSIZE: largest file the kernel may write
    "notebook_timeout": 1200,   # wall time of one notebook, seconds
    "output_kb": 2048,          # outputs kept per notebook; past that the cell is interrupted
    "zygote": 1,                # 1: kernels forked from a pre-imported sandboxed Python (zygote.py)
}


# ---------------------------------------------------------------------------- availability
def probe() -> list[str]:
    """The protections this machine cannot give (empty if the full sandbox works)."""
    missing = []
    bwrap = shutil.which("bwrap")
    if not bwrap:
        missing.append("bubblewrap (bwrap) is not installed: no network, filesystem or process "
                       "isolation (Debian/Ubuntu: apt-get install bubblewrap)")
    else:
        cmd = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
               "--ro-bind", "/", "/", "true"]
        if os.geteuid() != 0:
            cmd.insert(1, "--unshare-user")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                missing.append(f"bubblewrap cannot create namespaces here ({r.stderr.strip()[:200]}): "
                               "no network, filesystem or process isolation (enable user namespaces)")
        except (OSError, subprocess.TimeoutExpired) as e:
            missing.append(f"bubblewrap does not run ({e}): no isolation")
    if not shutil.which("prlimit"):
        missing.append("prlimit (util-linux) is missing: no memory, process or CPU limits")
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        missing.append("setpriv (util-linux) is missing: kernels would run as root, the process "
                       "limit does not hold")
    return missing


def settings(config, *, unsafe: bool = False, out=None) -> dict:
    """The sandbox settings a task carries; refuses (SystemExit message) if protections are off
    and ``unsafe`` is not given."""
    from .course import CourseError
    limits = dict(DEFAULT_LIMITS)
    for k, v in dict(config.get("Sandbox", {})).items():
        if k not in limits:
            raise CourseError(f"unknown sandbox setting c.Sandbox.{k}; known: {', '.join(limits)}")
        limits[k] = int(v)
    missing = probe()
    if missing:
        text = "the grading sandbox is not available; these protections are OFF:\n  - " + \
            "\n  - ".join(missing)
        if not unsafe:
            raise CourseError(text + "\nInstall what is missing, or pass --unsafe to grade without "
                              "them (students' code can then read solutions/, the gradebook, the "
                              "network and your files)")
        if out is not None:
            print("WARNING: " + text + "\n(grading anyway because of --unsafe)", file=out)
    elif os.geteuid() != 0 and out is not None:
        print("note: not running as root, so kernels keep your uid and the process-count limit "
              "(c.Sandbox.processes) is not applied; the other protections are on", file=out)
    return {"bwrap": not any("bubblewrap" in m for m in missing),
            "prlimit": shutil.which("prlimit") is not None,
            "setpriv": shutil.which("setpriv") is not None and os.geteuid() == 0,
            "limits": limits}


def sandbox_settings(course, unsafe: bool = False, out=None) -> dict:
    return settings(course.config, unsafe=unsafe, out=out)


# ---------------------------------------------------------------------------- the kernel manager
def _python_roots() -> list[str]:
    """Read-only paths the kernel needs: this Python, its venv, and where nnkit is imported from."""
    import nnkit
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             os.path.dirname(os.path.realpath(nnkit.__file__))}
    exe = os.path.realpath(sys.executable)
    roots.add(os.path.dirname(os.path.dirname(exe)))
    out = []
    for r in sorted(roots, key=len):
        if not any(r == o or r.startswith(o + os.sep) for o in out):
            out.append(r)
    return out


@functools.lru_cache(maxsize=1)
def _bwrap_has_size() -> bool:
    """bubblewrap >= 0.7 can cap a tmpfs (``--size``)."""
    try:
        r = subprocess.run([shutil.which("bwrap") or "bwrap", "--help"], capture_output=True,
                           text=True, timeout=10)
        return "--size" in r.stdout + r.stderr
    except (OSError, subprocess.TimeoutExpired):
        return False


def sandbox_uid() -> int:
    """A uid of its own per grading process (unique among the live processes of this machine)."""
    return 200000 + os.getpid()


def _parents(path: str) -> list[str]:
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


class SandboxKernelClient(AsyncKernelClient):
    """jupyter_client's client, but ready as soon as the kernel answers: its ``wait_for_ready``
    ends with 0.2 s of listening for silence on IOPub, per notebook. Here 20 ms: what is left is
    the status of the kernel_info requests, which nbclient ignores anyway (it only reads
    messages whose parent is the request it sent). Its sockets retry a kernel that has not bound
    its own yet every 10 ms, not 100 ms."""

    def _create_connected_socket(self, channel, identity=None):
        import zmq
        opts = self.context.sockopts
        old = opts.get(zmq.RECONNECT_IVL)
        opts[zmq.RECONNECT_IVL] = 10
        try:
            return super()._create_connected_socket(channel, identity)
        finally:
            if old is None:
                opts.pop(zmq.RECONNECT_IVL, None)
            else:
                opts[zmq.RECONNECT_IVL] = old

    async def wait_for_ready(self, timeout=None):
        from queue import Empty
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=0.5)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:           # IOPub connected: a message of ours comes through it
                        await self.iopub_channel.get_msg(timeout=0.05)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.02)
            except Empty:
                break


class SandboxKernelManager(AsyncKernelManager):
    """An ipykernel launched through bwrap + setpriv + prlimit, over ipc sockets."""

    client_class = Unicode("nnkit.course.sandbox.SandboxKernelClient")
    client_factory = Type(SandboxKernelClient, klass=AsyncKernelClient)

    use_bwrap = Bool(True).tag(config=True)
    use_prlimit = Bool(True).tag(config=True)
    use_setpriv = Bool(True).tag(config=True)
    limits = Dict().tag(config=True)
    ipc_dir = Unicode("").tag(config=True)
    record_dir = Unicode("").tag(config=True)
    writable = List(Unicode()).tag(config=True)
    log_file = Unicode("").tag(config=True)
    uid = Integer(0).tag(config=True)
    trusted_dir = Unicode("").tag(config=True)
    #: the command to wrap instead of the kernelspec's (the zygote's, see nnkit.course.zygote)
    command = List(Unicode()).tag(config=True)
    #: fork the kernel from this process's zygote (nnkit.course.zygote.activate) instead of
    #: starting one; empty: start it as a new process
    zygote_key = Unicode("").tag(config=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        if self.ipc_dir:
            self.transport = "ipc"
            self.ip = os.path.join(self.ipc_dir, "k")
            self.connection_file = os.path.join(self.ipc_dir, "kernel.json")

    async def _async_pre_start_kernel(self, **kw):
        # interrupt through the control channel: signals to bwrap would not reach the kernel
        self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kw):
        super().write_connection_file(**kw)
        if self.uid and os.geteuid() == 0 and self.use_setpriv:
            os.chown(self.connection_file, self.uid, self.uid)

    def _env(self) -> list[str]:
        home = os.path.join(self.ipc_dir or "/tmp", "home")
        env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin",
                                        "/usr/bin", "/bin"]),
               "HOME": home, "TMPDIR": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "NNKIT_STATIC": "1", "NBGRADER_EXECUTION": "autograde"}
        if self.record_dir:
            env[RECORD_ENV] = self.record_dir
        if self.trusted_dir:
            env[TRUSTED_ENV] = self.trusted_dir
        out = []
        for k, v in env.items():
            out += ["--setenv", k, v]
        return out

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = list(self.command) if self.command else super().format_kernel_cmd(extra_arguments)
        cwd = str((self._launch_args or {}).get("cwd") or os.getcwd())
        if self.use_setpriv:
            chown_workdir(cwd, self.uid)
        lim = {**DEFAULT_LIMITS, **self.limits}
        wrap: list[str] = []
        if self.use_bwrap:
            wrap = [shutil.which("bwrap") or "bwrap", "--unshare-net", "--unshare-pid",
                    "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
                    "--new-session", "--hostname", "sandbox"]
            if os.geteuid() != 0:         # an instructor's own account: a user namespace
                wrap.insert(1, "--unshare-user")
            for d in ("/usr", "/etc"):
                wrap += ["--ro-bind", d, d]
            for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
                if os.path.islink(d):
                    wrap += ["--symlink", os.readlink(d), d]
                elif os.path.isdir(d):
                    wrap += ["--ro-bind", d, d]
            # its own /tmp: world-writable, in memory, and capped (RLIMIT_AS does not count it)
            size = ["--size", str(lim["file_mb"] * 2**20)] if _bwrap_has_size() else []
            wrap += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", *size,
                     "--tmpfs", "/tmp",
                     "--perms", "0755", "--tmpfs", "/root", "--tmpfs", "/home", "--tmpfs", "/var",
                     "--tmpfs", "/run", "--tmpfs", "/srv", "--tmpfs", "/mnt", "--tmpfs", "/opt",
                     "--tmpfs", "/media"]
            made = set()
            binds = [(p, "ro") for p in _python_roots()] + \
                [(p, "rw") for p in [cwd, self.ipc_dir, self.record_dir, *self.writable] if p]
            for path, mode in binds:
                for parent in _parents(path):
                    if parent not in made and not os.path.islink(parent):
                        wrap += ["--perms", "0755", "--dir", parent]
                        made.add(parent)
                wrap += ["--ro-bind" if mode == "ro" else "--bind", path, path]
                made.add(path)
            if self.trusted_dir:
                wrap += ["--ro-bind", self.trusted_dir, self.trusted_dir]
            for path in hidden_paths():   # the instructor-only references read as empty files
                wrap += ["--ro-bind", "/dev/null", path]
            wrap += ["--chdir", cwd, "--clearenv"] + self._env()
        if self.use_setpriv and self.uid and os.geteuid() == 0:
            wrap += [shutil.which("setpriv") or "setpriv", "--reuid", str(self.uid), "--regid",
                     str(self.uid), "--clear-groups", "--no-new-privs", "--inh-caps=-all",
                     "--bounding-set=-all"]
        if self.use_prlimit:
            # RLIMIT_NPROC counts every process of the uid: only meaningful for a uid of its own
            nproc = [f"--nproc={lim['processes']}"] if self.use_setpriv and self.uid else []
            wrap += [shutil.which("prlimit") or "prlimit",
                     f"--as={lim['memory_mb'] * 2**20}", *nproc,
                     f"--cpu={lim['cpu_seconds']}", f"--fsize={lim['file_mb'] * 2**20}",
                     "--core=0", "--"]
        return wrap + cmd

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.zygote_key:
            from . import zygote
            z = zygote.active(self.zygote_key)
            cwd = os.path.realpath(str(kw.get("cwd") or os.getcwd()))
            if z is not None and z.alive() and cwd.startswith(str(z.slot.root) + os.sep):
                t0 = time.monotonic()
                try:
                    proc = z.spawn(self.connection_file, cwd, self.uid,
                                   {**DEFAULT_LIMITS, **self.limits})
                except zygote.ZygoteError as e:   # start it the plain way instead
                    self.log.warning("zygote unavailable (%s): starting the kernel as a process", e)
                else:
                    prov = self.provisioner
                    prov.process, prov.pid, prov.pgid = proc, proc.pid, None
                    prov.cwd = kw.get("cwd")
                    self._reconcile_connection_info(prov.connection_info)
                    PHASES["kernel_spawn"] = PHASES.get("kernel_spawn", 0.0) + time.monotonic() - t0
                    return
        fh = open(self.log_file, "ab") if self.log_file else None
        if fh is not None:       # the kernel's own chatter goes to a log, not the terminal
            kw["stdout"] = fh
            kw["stderr"] = fh
        if not self.use_bwrap:
            env = dict(kw.get("env") or os.environ)
            if self.record_dir:
                env[RECORD_ENV] = self.record_dir
            kw["env"] = env
        try:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if fh is not None:
                fh.close()       # the child keeps its own copy


# ---------------------------------------------------------------------------- trusted helpers
REFERENCES = "nnkit.grading.references"


def substituted_references(source: str) -> list[str]:
    """The instructor-only references a test cell hands to ``grading.substitute`` (the trusted
    earlier parts), never those its checks name as ``reference=``/``forward=`` (the part's own
    answer, which the kernel must not see: it is compared outside)."""
    import ast
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    if not any(isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) == "substitute"
               for n in ast.walk(tree)):
        return []
    judged = {id(kw.value) for n in ast.walk(tree) if isinstance(n, ast.Call)
              for kw in n.keywords if kw.arg in ("reference", "forward", "verifier")}
    return sorted({n.value for n in ast.walk(tree)
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)
                   and n.value.startswith(REFERENCES + ".") and id(n) not in judged
                   and n.value[len(REFERENCES) + 1:].isidentifier()})


def _pickle_by_value(name: str) -> bytes:
    """A reference function pickled with its code (cloudpickle), so the kernel needs no module."""
    import importlib

    import cloudpickle
    module = importlib.import_module(REFERENCES)
    cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(getattr(module, name.rsplit(".", 1)[1]))
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def hidden_paths() -> list[str]:
    """Files of the nnkit package the kernel must not read: the instructor-only references
    (source and compiled)."""
    import nnkit
    grading = Path(os.path.realpath(nnkit.__file__)).parent / "grading"
    out = [str(grading / "references.py")]
    out += [str(p) for p in (grading / "__pycache__").glob("references.*")]
    return [p for p in out if os.path.exists(p)]


# ---------------------------------------------------------------------------- the execute step
def _clear(folder: Path) -> None:
    """Empty ``folder`` (created if missing) without following symlinks."""
    folder.mkdir(parents=True, exist_ok=True)
    for e in list(folder.iterdir()):
        if e.is_dir() and not e.is_symlink():
            shutil.rmtree(e, ignore_errors=True)
        else:
            try:
                e.unlink()
            except OSError:
                pass


#: the policy of each solution notebook this process has read (by content)
_POLICIES: dict = {}


def _phase(name: str, seconds: float) -> None:
    PHASES[name] = PHASES.get(name, 0.0) + seconds


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class SandboxedExecute(Execute):
    """nbgrader's Execute with the sandboxed kernel, limits, per-cell records and trusted verdicts."""

    notebook_timeout = Integer(1200).tag(config=True)
    output_limit = Integer(2048 * 1024).tag(config=True)
    record_root = Unicode("").tag(config=True)
    reference_dir = Unicode("").tag(config=True)     # per-cell records of the instructor's solution
    reference_mode = Bool(False).tag(config=True)    # True while recording the solution itself
    live_record_dir = Unicode("").tag(config=True)   # where the kernel's checks write (bound rw)
    source_dir = Unicode("").tag(config=True)        # the instructor's notebooks (the policy)
    trusted_dir = Unicode("").tag(config=True)       # trusted helpers staged per test cell (bound ro)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    # -- output size: counted as messages arrive, so a flood never fills the grader's memory
    def output(self, outs, msg, display_id, cell_index):
        if msg.get("msg_type") == "error":          # one per cell at most: always kept
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._out_bytes = getattr(self, "_out_bytes", 0) + size
        if self._out_bytes > self.output_limit:
            if not getattr(self, "_flooded", False):
                self._flooded = True
                self._flood_cell = cell_index
                import asyncio
                if self.km is not None:
                    asyncio.ensure_future(self.km.interrupt_kernel())
                err = _error("OutputLimitExceeded",
                             f"more than {self.output_limit // 1024} KiB of output: the rest was "
                             "dropped and the cell interrupted")
                outs.append(err)
                return err
            return None
        return super().output(outs, msg, display_id, cell_index)

    def preprocess(self, nb, resources=None, km=None):
        from nbclient.client import NotebookClient
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._out_bytes, self._flooded, self._stopped = 0, False, None
        self._deadline = time.monotonic() + self.notebook_timeout
        self._cell_timeout = self.timeout
        name = (resources or {}).get("nbgrader", {}).get("notebook", "notebook")
        self._records = Path(self.record_root) / name if self.record_root else None
        self._live = Path(self.live_record_dir) if self.live_record_dir else None
        if self._live is not None:
            _clear(self._live)
        t0 = time.monotonic()
        with self.setup_kernel():
            info_msg = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
            t1 = time.monotonic()
            _phase("kernel_start", t1 - t0)
            for index, cell in enumerate(self.nb.cells):
                self.preprocess_cell(cell, resources, index)
            t2 = time.monotonic()
        _phase("kernel_stop", time.monotonic() - t2)
        t3 = time.monotonic()
        self.set_widgets_metadata()
        if self._records is not None and not self.reference_mode:
            apply_verdicts(self.nb, self._records, Path(self.reference_dir) / name
                           if self.reference_dir else None, policy=self._policy(name))
        _phase("verdicts", time.monotonic() - t3)
        return self.nb, self.resources

    def _policy(self, name: str) -> dict:
        """The test cells whose answers call nnkit's own implementation (from the source)."""
        from nnkit.grading.policy import policy_for, violations
        solution = Path(self.source_dir) / f"{name}.ipynb" if self.source_dir else None
        if solution is None or not solution.is_file():
            return {}
        import hashlib

        import nbformat
        data = solution.read_bytes()
        key = hashlib.sha256(data).hexdigest()
        policy = _POLICIES.get(key)      # read once per solution notebook by this process
        if policy is None:
            policy = policy_for(nbformat.reads(data.decode("utf-8"), as_version=4))
            if len(_POLICIES) > 32:
                _POLICIES.clear()
            _POLICIES[key] = policy
        return violations(self.nb, policy)

    def _stage_trusted(self, cell) -> None:
        """Put the trusted helpers this test cell substitutes (and only those) where the kernel
        can read them; the references module itself is not visible in the sandbox."""
        if not self.trusted_dir:
            return
        _clear(Path(self.trusted_dir))
        from nbgrader import utils
        if not (utils.is_grade(cell) and not utils.is_solution(cell)):
            return
        for name in substituted_references(cell.source):
            path = Path(self.trusted_dir) / f"{name}.pkl"
            path.write_bytes(_pickle_by_value(name))
            path.chmod(0o644)

    def _cell_key(self, cell, index) -> str:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        return f"grade-{gid}" if gid and cell.metadata.nbgrader.get("grade") else f"cell-{index}"

    def _move_records(self, key: str) -> None:
        """Everything recorded so far belongs to the cell that just ran. Only regular files and
        folders are taken (never symlinks), then the live folder is emptied."""
        if self._live is None or self._records is None or not self._live.is_dir():
            return
        dest = self._records / key
        for dirpath, dirnames, filenames in os.walk(self._live, followlinks=False):
            rel = Path(dirpath).relative_to(self._live)
            for f in filenames:
                src = Path(dirpath) / f
                try:
                    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
                except OSError:
                    continue
                with os.fdopen(fd, "rb") as fh:
                    if not os.path.isfile(f"/proc/self/fd/{fd}"):
                        continue
                    (dest / rel).mkdir(parents=True, exist_ok=True)
                    (dest / rel / f).write_bytes(fh.read(64 * 2**20))
        _clear(self._live)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped:
            cell.outputs = [_error("NotExecuted", self._stopped)]
            return cell, resources
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._stopped = (f"the notebook ran out of its {self.notebook_timeout} s wall time "
                             "before this cell")
            cell.outputs = [_error("NotebookTimeout", self._stopped)]
            return cell, resources
        self.timeout = max(1, int(min(self._cell_timeout or remaining, remaining)))
        t0 = time.monotonic()
        self._stage_trusted(cell)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stopped = f"the kernel died in cell {index} (exit, crash or a limit reached)"
            cell.outputs = list(cell.get("outputs", [])) + [_error("KernelDied", self._stopped)]
        except CellTimeoutError as e:
            self._stopped = (f"cell {index} timed out after {self.timeout} s and the kernel did not "
                             "respond to the interrupt")
            cell.outputs = list(cell.get("outputs", [])) + [
                _error("KernelUnresponsive", f"{self._stopped} ({str(e).splitlines()[0]})")]
        except Exception as e:      # the kernel broke its own protocol (patched internals, ...)
            self._stopped = (f"the kernel stopped answering in cell {index} "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
            cell.outputs = list(cell.get("outputs", [])) + [_error("KernelUnresponsive",
                                                                    self._stopped)]
        finally:
            EXEC_SECONDS[0] += time.monotonic() - t0
            self._move_records(self._cell_key(cell, index))
            if self.trusted_dir:
                _clear(Path(self.trusted_dir))
        return cell, resources



# ---------------------------------------------------------------------------- trusted verdicts
def _judge_cell(student: Path, reference: Path) -> tuple[bool, str]:
    from nnkit.grading import compare_records
    if not student.is_dir():
        return False, "no output of the checks was recorded (the cell did not run its checks)"
    try:
        verdicts = compare_records(student, expected=reference)
    except Exception as e:    # malformed records: never let them stop the batch
        return False, f"the recorded outputs could not be read ({type(e).__name__}: {e})"
    if not verdicts:
        return False, "no check of this cell was recorded"
    failed = [msg for ok, msg in verdicts.values() if not ok]
    if failed:
        return False, "; ".join(failed)
    return True, "; ".join(msg for _, msg in verdicts.values())


#: what a student's own cell has no business touching: the grading code and ways to reach it
#: by other names. The checks' references are importable in the kernel (``substitute`` needs them),
#: so code that reaches for them could make a check record the reference's outputs.
TAMPERING = re.compile(r"\bgrading\b|\breferences\b|\bcompare_records\b|\bcheck_(function|gradient|"
                       r"values)\b|sys\.modules|__import__|\bimportlib\b|\b(eval|exec|compile)\s*\(|"
                       r"__builtins__|\bgc\.get_(objects|referrers)|\bmarshal\b|\bpickle\b")


def tampering(nb) -> tuple[int, str] | None:
    """The first cell the student wrote (not a locked cell) that touches the grading machinery."""
    from nbgrader import utils
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or (utils.is_locked(cell) and not utils.is_solution(cell)):
            continue
        m = TAMPERING.search(cell.source)
        if m:
            return i, m.group(0)
    return None


def apply_verdicts(nb, records: Path, reference: Path | None, policy: dict | None = None) -> None:
    """Rewrite each graded code cell whose reference made records: pass -> no error outputs,
    fail -> one ``GradingError`` output with the reason (the kernel's own say-so is dropped).
    Checks after a student cell that touches the grading code (:data:`TAMPERING`) fail, and so
    do the cells in ``policy`` (``{grade_id: why}``: answers that call nnkit's own implementation,
    see :mod:`nnkit.grading.policy`)."""
    from nbgrader import utils
    touched = tampering(nb)
    policy = policy or {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            continue
        gid = cell.metadata.nbgrader["grade_id"]
        key = f"grade-{gid}"
        ref = reference / key if reference is not None else None
        if ref is None or not ref.is_dir():
            if gid in policy:   # a cell without nnkit.grading checks: the policy still applies
                cell.outputs = list(cell.get("outputs", [])) + [_error("GradingError", policy[gid])]
            continue       # this cell does not use nnkit.grading: nbgrader's default applies
        if gid in policy:
            ok, why = False, policy[gid]
        elif touched is not None and touched[0] < index:
            ok, why = False, (f"cell {touched[0]} touches the grading code ({touched[1]!r}); the "
                              "checks after it are not trusted and score 0 (the instructor can "
                              "review it in the formgrader)")
        else:
            ok, why = _judge_cell(records / key, ref)
        kept = [o for o in cell.get("outputs", [])
                if o.get("output_type") in ("stream", "display_data")
                and not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        if ok:
            cell.outputs = kept + [NotebookNode(output_type="stream", name="stdout",
                                                text=f"[grader] {why}\n")]
        else:
            cell.outputs = kept + [_error("GradingError", why)]
        cell.metadata.setdefault("nnkit", {})["verdict"] = {"passed": ok, "reason": why}


# ---------------------------------------------------------------------------- wiring (in the worker)
def configure_sandbox(cfg, sandbox: dict, *, scratch: Path, reference_dir: Path | None,
                      reference_mode: bool = False, source_dir: Path | None = None,
                      slot=None, zygote_key: str = "") -> dict:
    """Point nbgrader's Autograde at :class:`SandboxedExecute` and give it private folders under
    ``scratch`` (the task's temporary folder), or the zygote's ``slot`` (emptied per task, see
    :mod:`nnkit.course.zygote`) with ``zygote_key``. Returns the folders used."""
    from nbgrader.converters import Autograde
    uid = sandbox_uid() if (sandbox.get("setpriv") and sandbox.get("bwrap")) else 0
    dirs = {"ipc": scratch / "ipc", "live": scratch / "record-live", "records": scratch / "records",
            "trusted": scratch / "trusted"}
    if slot is not None:
        dirs.update(ipc=slot.ipc, live=slot.live, trusted=slot.trusted)
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (dirs["ipc"] / "home").mkdir(exist_ok=True)
    if uid:
        for d in (dirs["ipc"], dirs["ipc"] / "home", dirs["live"]):
            os.chown(d, uid, uid)
    os.chmod(scratch, 0o755)
    pps = [SandboxedExecute if p is Execute else p
           for p in Autograde.class_traits()["autograde_preprocessors"].default()]
    cfg.Autograde.autograde_preprocessors = pps
    lim = sandbox.get("limits", DEFAULT_LIMITS)
    km = cfg.SandboxKernelManager
    km.use_bwrap = bool(sandbox.get("bwrap"))
    km.use_prlimit = bool(sandbox.get("prlimit"))
    km.use_setpriv = bool(uid)
    km.uid = uid
    km.limits = dict(lim)
    km.ipc_dir = str(dirs["ipc"])
    km.record_dir = str(dirs["live"])
    km.log_file = str(scratch / "kernel.log")
    km.zygote_key = zygote_key
    ex = cfg.SandboxedExecute
    if zygote_key:       # a forked kernel is thrown away: killed with its namespace, not asked
        ex.shutdown_kernel = "immediate"
    ex.notebook_timeout = int(lim["notebook_timeout"])
    ex.output_limit = int(lim["output_kb"]) * 1024
    ex.record_root = str(dirs["records"])
    ex.live_record_dir = str(dirs["live"])
    ex.reference_dir = str(reference_dir) if reference_dir else ""
    ex.reference_mode = reference_mode
    ex.source_dir = str(source_dir) if source_dir else ""
    ex.trusted_dir = km.trusted_dir = str(dirs["trusted"]) if km.use_bwrap else ""
    return dirs


def chown_workdir(path: str, uid: int) -> None:
    """Give the kernel its working folder (the submission's copy), nothing else."""
    if uid and os.geteuid() == 0 and os.path.isdir(path):
        os.chown(path, uid, uid)
