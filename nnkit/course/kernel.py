"""The submission's kernel: what this machine can isolate, the limits, and the bubblewrap launcher.

The kernel command ``python -m ipykernel_launcher -f CONN`` becomes::

    bwrap --unshare-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --new-session
          --ro-bind /usr /usr ... (the system, this Python, the venv, the nnkit package: read-only)
          --tmpfs /tmp  --bind WORKDIR WORKDIR  --bind IPC IPC  --bind RECORD RECORD
          --clearenv --setenv ...
      setpriv --reuid UID --regid UID --clear-groups --no-new-privs --bounding-set=-all
      prlimit --as=MEM --nproc=N --cpu=SECONDS --fsize=BYTES -- python -m ipykernel_launcher ...

- Nothing of the course folder is mounted but the ``nnkit`` package itself (read-only, without the
  instructor-only references): ``solutions/``, the gradebook, other submissions and the
  instructor's home simply do not exist inside; ``/tmp`` is a private tmpfs.
- No network namespace interface but loopback: nothing reaches the host or the internet. The kernel
  talks to the grader over ZeroMQ **ipc** (Unix sockets) in a folder bound into the sandbox.
- ``setpriv`` drops root for a uid of its own (one per worker process), so ``RLIMIT_NPROC`` holds
  (it does not for uid 0) and the kernel cannot write anything it was not given.
- Limits (:class:`Sandbox`, set as ``c.Sandbox.<name>`` in ``nbgrader_config.py``): address space,
  processes, CPU seconds, file size (``prlimit``); wall time per notebook and output kept per
  notebook (applied by :mod:`nnkit.course.execute`).

A kernel is either started as a new process this way, or forked by a pre-imported sandboxed
Python (:mod:`nnkit.course.zygote`) registered with :func:`register_spawner`.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Integer, List, TraitError, Type, Unicode
from traitlets.config import Config, Configurable

from .coursedir import CourseError

RECORD_ENV = "NNKIT_GRADING_RECORD"
TRUSTED_ENV = "NNKIT_GRADING_TRUSTED"


# ---------------------------------------------------------------------------- limits and settings
class Sandbox(Configurable):
    """The limits of a submission's kernel: ``c.Sandbox.<name> = value`` in ``nbgrader_config.py``."""

    memory_mb = Integer(6144, help="address space of the kernel, MiB (torch maps a lot of "
                        "virtual memory)").tag(config=True)
    processes = Integer(256, help="RLIMIT_NPROC (threads count too)").tag(config=True)
    cpu_seconds = Integer(900, help="RLIMIT_CPU of the kernel").tag(config=True)
    file_mb = Integer(256, help="RLIMIT_FSIZE: the largest file the kernel may write, MiB"
                      ).tag(config=True)
    notebook_timeout = Integer(1200, help="wall time of one notebook, seconds").tag(config=True)
    output_kb = Integer(2048, help="outputs kept per notebook, KiB; past that the cell is "
                        "interrupted").tag(config=True)
    zygote = Integer(1, help="1: kernels forked from a pre-imported sandboxed Python "
                     "(nnkit.course.zygote); 0: one new process per kernel").tag(config=True)

    def limits(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in sorted(self.trait_names(config=True))}


#: the default limits, by name
DEFAULT_LIMITS = Sandbox().limits()


@dataclass(frozen=True)
class SandboxSettings:
    """What a grading task carries about the sandbox: the protections this machine gives, and the
    limits (:class:`Sandbox`)."""
    bwrap: bool
    prlimit: bool
    setpriv: bool
    limits: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    def with_limits(self, **changes) -> "SandboxSettings":
        return SandboxSettings(self.bwrap, self.prlimit, self.setpriv, {**self.limits, **changes})


def read_limits(config) -> dict[str, int]:
    """The limits set in the course's configuration (``c.Sandbox.*``), checked: an unknown name or
    a value that is not a whole number is a :class:`CourseError` naming what is expected."""
    config = config if isinstance(config, Config) else Config(config)
    known = sorted(Sandbox.class_trait_names(config=True))
    unknown = [k for k in config.get("Sandbox", {}) if k not in known]
    if unknown:
        raise CourseError(f"unknown sandbox setting c.Sandbox.{unknown[0]}; known: {', '.join(known)}")
    try:
        return Sandbox(config=config).limits()
    except TraitError as e:
        raise CourseError(f"c.Sandbox settings are whole numbers ({e})") from None


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


def sandbox_settings(config, *, unsafe: bool = False, out=None) -> SandboxSettings:
    """The sandbox settings a task carries; refuses (:class:`CourseError`) if protections are off
    and ``unsafe`` is not given."""
    limits = read_limits(config)
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
    return SandboxSettings(bwrap=not any("bubblewrap" in m for m in missing),
                           prlimit=shutil.which("prlimit") is not None,
                           setpriv=shutil.which("setpriv") is not None and os.geteuid() == 0,
                           limits=limits)


def scratch_root() -> str | None:
    """Where a task's private folders go: ``$NNKIT_SCRATCH`` if set, else ``/dev/shm`` when it is
    a writable tmpfs with at least 1 GiB free (a task writes a few hundred small files: on a disk
    each costs ~0.1 ms, in memory ~0.01 ms), else the system's temporary folder."""
    chosen = os.environ.get("NNKIT_SCRATCH")
    if chosen:
        return chosen
    try:
        st = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK | os.X_OK) and st.f_bavail * st.f_frsize >= 2**30:
            return "/dev/shm"
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------- the kernel manager
def python_roots() -> list[str]:
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

    client_class = Unicode("nnkit.course.kernel.SandboxKernelClient")
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
    #: fork the kernel with the spawner registered under this key (:func:`register_spawner`)
    #: instead of starting one; empty: start it as a new process
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
            binds = [(p, "ro") for p in python_roots()] + \
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
            for path in hidden_paths():   # the instructor-only references: an empty folder, empty files
                wrap += (["--perms", "0555", "--tmpfs", path, "--remount-ro", path] if os.path.isdir(path)
                         else ["--ro-bind", "/dev/null", path])
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
        spawner = _SPAWNERS.get(self.zygote_key) if self.zygote_key else None
        cwd = os.path.realpath(str(kw.get("cwd") or os.getcwd()))
        if spawner is not None and spawner.can_spawn(cwd):
            try:
                proc = spawner.spawn(self.connection_file, cwd, self.uid,
                                     {**DEFAULT_LIMITS, **self.limits})
            except SpawnError as e:      # start it the plain way instead
                self.log.warning("zygote unavailable (%s): starting the kernel as a process", e)
            else:
                prov = self.provisioner
                prov.process, prov.pid, prov.pgid = proc, proc.pid, None
                prov.cwd = kw.get("cwd")
                self._reconcile_connection_info(prov.connection_info)
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


class SpawnError(RuntimeError):
    """A spawner could not fork the kernel (the kernel is then started as a new process)."""


#: what forks kernels in this process, by key (:mod:`nnkit.course.zygote` registers its zygotes)
_SPAWNERS: dict[str, object] = {}


def register_spawner(key: str, spawner) -> None:
    """Kernels of managers whose ``zygote_key`` is ``key`` are forked by ``spawner``: an object with
    ``can_spawn(cwd) -> bool`` and ``spawn(connection_file, cwd, uid, limits) -> process``. Only
    one is registered at a time (the task being graded)."""
    _SPAWNERS.clear()
    _SPAWNERS[key] = spawner


def forget_spawners() -> None:
    _SPAWNERS.clear()


def hidden_paths() -> list[str]:
    """What of the nnkit package the kernel must not read: the instructor-only references, the
    whole ``nnkit/grading/references/`` package (sources and compiled files, hidden behind an
    empty read-only folder), and any file compiled from the single module they once were."""
    import nnkit
    grading = Path(os.path.realpath(nnkit.__file__)).parent / "grading"
    out = [str(grading / "references"), str(grading / "references.py")]
    out += [str(p) for p in (grading / "__pycache__").glob("references.*")]
    return [p for p in out if os.path.exists(p)]



def chown_workdir(path: str, uid: int) -> None:
    """Give the kernel its working folder (the submission's copy), nothing else."""
    if uid and os.geteuid() == 0 and os.path.isdir(path):
        os.chown(path, uid, uid)
