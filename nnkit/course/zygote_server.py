"""The zygote: a pre-imported Python, inside the bubblewrap sandbox, that forks one kernel per notebook.

Run by :mod:`nnkit.course.zygote` (``python -c <this file's source>``) as root inside bwrap (no
network, only the slot's folders and the Python roots mounted; the references hidden). It imports
ipykernel and the modules the assignment's notebooks import, then answers one-line JSON requests on
its stdin (the only channel to it; no file, socket or port):

- ``spawn``: fork a kernel for one notebook. The child enters new mount, pid, IPC and UTS
  namespaces (so nothing it starts outlives it, it sees only its own processes under a fresh
  ``/proc``, a fresh ``/tmp`` and no System V IPC of anyone else), and a minimal init (pid 1 of that
  namespace, root, runs no student code) forks the kernel, which sets its limits (address space,
  processes, CPU, file size, no core), drops every capability and the bounding set, takes the
  worker's uid (no new privileges), starts a session, closes every inherited descriptor and only
  then runs ``ipykernel`` on the notebook's connection file. When the kernel exits, the init exits
  and the kernel tears the whole namespace down.
- ``poll`` / ``signal`` / ``killall``: the exit status of a kernel, SIGKILL to its namespace.

Nothing of one kernel is seen by the next: each is forked from the untouched zygote (never from a
kernel), with its own /tmp and namespaces; the grader empties the slot's folders between
submissions. This file imports only the standard library at module level (it runs before the
pre-imports).
"""
import ctypes
import json
import os
import signal
import sys
import time

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x04000000, 0x08000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 0x4000, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 24, 36, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4

_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _mount(src, target, fstype, flags, data=None):
    _check(_libc.mount(src and src.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _preload(modules):
    import importlib
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:     # a module that does not import here fails in the kernel too
            pass
    _warm_tracebacks()


def _warm_tracebacks():
    """Format one traceback the way a kernel's shell does: the Python lexer's regular expressions
    are compiled once here (class-level caches, inherited by every fork) instead of in each kernel
    at its first error (~45 ms per failing submission). Nothing of it is visible to a kernel."""
    try:
        from IPython.core import ultratb
        try:
            exec(compile("def _warm():\n    raise ValueError('warm')\n_warm()", "<warm>", "exec"), {})
        except ValueError:
            ultratb.AutoFormattedTB(mode="Context", theme_name="linux").structured_traceback(
                *sys.exc_info(), tb_offset=0)
    except BaseException:         # only slower if IPython formats tracebacks differently
        pass
    import linecache
    linecache.cache.pop("<warm>", None)


def _drop_privileges(uid, limits):
    import resource
    mb = 2 ** 20
    for res, value in ((resource.RLIMIT_AS, limits["memory_mb"] * mb),
                       (resource.RLIMIT_CPU, limits["cpu_seconds"]),
                       (resource.RLIMIT_FSIZE, limits["file_mb"] * mb),
                       (resource.RLIMIT_CORE, 0),
                       (resource.RLIMIT_NPROC, limits["processes"])):
        resource.setrlimit(res, (value, value))
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)          # from root to another uid: every capability is cleared
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("could not leave root")


def _kernel(req):
    """In the kernel process (pid 2 of its namespace): limits, uid, then ipykernel. Never returns."""
    try:
        os.setsid()
        for s in (signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE, signal.SIGHUP):
            signal.signal(s, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(2, 1)                     # stdout and stderr: the zygote's log (outside)
        os.closerange(3, 65536)           # the zygote's channel and anything else inherited
        _drop_privileges(int(req["uid"]), req["limits"])
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        if sys.path and sys.path[0] == "":    # as ipykernel_launcher does
            del sys.path[0]
        # no history file: the kernel is thrown away after one notebook
        sys.argv = [req["launcher"], "-f", req["conn"], "--HistoryManager.hist_file=:memory:"]
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        import random
        random.seed()                     # not the zygote's state: as a fresh interpreter
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        from ipykernel import kernelapp
        t0 = time.time()
        app = kernelapp.IPKernelApp.instance()
        app.initialize()
        os.write(2, f"zygote kernel: initialized in {time.time() - t0:.3f} s "
                    f"({time.time() - float(req.get('t', t0)):.3f} s after the request)\n".encode())
        app.start()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:            # noqa: BLE001 - report and die
        try:
            os.write(2, f"zygote kernel: {type(e).__name__}: {e}\n".encode())
        except OSError:
            pass
        code = 70
    os._exit(code)


def _init(req):
    """pid 1 of the new namespaces (root, trusted code only): fresh /tmp and /proc, then the kernel;
    exits with the kernel's status, which kills whatever the kernel left in the namespace."""
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        # the slot's folders live under /tmp: hold them by descriptor, then bind them back
        # into the fresh /tmp at the same paths
        keep = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in req.get("keep", [])]
        size = int(req["limits"]["file_mb"]) * 2 ** 20
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={size}")
        for path, fd in keep:
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            os.close(fd)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _check(_libc.sethostname(b"sandbox", 7), "sethostname")
        pid = os.fork()
    except BaseException as e:            # noqa: BLE001
        os.write(2, f"zygote init: {type(e).__name__}: {e}\n".encode())
        os._exit(71)
    if pid == 0:
        _kernel(req)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.closerange(3, 65536)
    while True:
        try:
            got, status = os.wait()
        except ChildProcessError:
            os._exit(72)
        except InterruptedError:
            continue
        if got == pid:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status)
                     else 128 + os.WTERMSIG(status))


def _spawn(req):
    """Fork the namespace's init (through a short-lived intermediate: unshare(CLONE_NEWPID) applies
    to the children of the caller); the zygote, a subreaper, adopts it. Returns its pid."""
    r, w = os.pipe()
    mid = os.fork()
    if mid == 0:
        try:
            os.close(r)
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
            pid = os.fork()
            if pid == 0:
                os.close(w)
                _init(req)
            os.write(w, str(pid).encode())
            os._exit(0)
        except BaseException as e:        # noqa: BLE001
            os.write(2, f"zygote spawn: {type(e).__name__}: {e}\n".encode())
            os._exit(1)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 64)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(mid, 0)
    if not data:
        raise OSError("the kernel's namespace could not be created (see the kernel log)")
    return int(data)


def serve():
    out = os.dup(1)                       # the channel back; stray prints go to the log
    os.dup2(2, 1)
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "subreaper")
    setup = json.loads(sys.stdin.readline())
    _preload(setup.get("preload", []))
    sys.stdout.flush()
    live = {}

    def reply(obj):
        os.write(out, (json.dumps(obj) + "\n").encode())

    def reap():
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in live:
                live[pid] = os.waitstatus_to_exitcode(status)

    # forking is only safe single-threaded (a native thread could hold a lock the child needs)
    threads = len(os.listdir("/proc/self/task"))
    reply({"ready": threads == 1, "pid": os.getpid(), "threads": threads})
    for line in sys.stdin:
        try:
            reap()       # the kernels themselves end up here (their init was killed first)
            req = json.loads(line)
            op = req["op"]
            if op == "spawn":
                pid = _spawn(req)
                live[pid] = None
                reply({"ok": True, "pid": pid})
            elif op == "poll":
                reap()
                reply({"ok": True, "status": live.get(int(req["pid"]), -1)})
            elif op == "kill":          # the namespace's init: all of it dies; reaped here
                pid = int(req["pid"])
                if live.get(pid, 0) is None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    for _ in range(400):
                        try:
                            got, status = os.waitpid(pid, os.WNOHANG)
                        except ChildProcessError:
                            break
                        if got:
                            live[pid] = os.waitstatus_to_exitcode(status)
                            break
                        time.sleep(0.005)
                reply({"ok": True})
            elif op == "killall":
                for pid, st in list(live.items()):
                    if st is None:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                # every process of every kernel reaped before answering: none is left running
                # or as a zombie (zombies would count against the uid's process limit)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    try:
                        pid, _ = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        time.sleep(0.002)
                live.clear()
                reply({"ok": True})
            else:
                reply({"ok": False, "error": f"unknown op {op!r}"})
        except Exception as e:            # noqa: BLE001 - keep serving
            reply({"ok": False, "error": f"{type(e).__name__}: {e}"})
