"""The execute step: nbgrader's ``Execute`` with the sandboxed kernel, limits and per-cell records.

:class:`SandboxedExecute` runs a submission's notebook in a kernel of :mod:`nnkit.course.kernel`
(started, or forked by :mod:`nnkit.course.zygote`), with a wall time per notebook and a cap on the
output kept. After each cell it moves what the cell's checks recorded into a folder of that cell;
before a test cell it stages the trusted earlier parts the cell substitutes (and only those, only
while it runs). After the notebook it hands the records to :mod:`nnkit.course.verdicts`.
:func:`configure` wires it into nbgrader's ``Autograde`` for one task.
"""
from __future__ import annotations

import ast
import asyncio
import importlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from ..files import empty_folder
from .kernel import SandboxKernelManager, SandboxSettings, sandbox_uid
from .verdicts import apply_verdicts, error_output, policy_violations

REFERENCES = "nnkit.grading.references"


def substituted_references(source: str) -> list[str]:
    """The instructor-only references a test cell hands to ``grading.substitute`` (the trusted
    earlier parts), never those its checks name as ``reference=``/``forward=`` (the part's own
    answer, which the kernel must not see: it is compared outside)."""
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


def pickle_by_value(name: str) -> bytes:
    """A reference function pickled with its code (cloudpickle), so the kernel needs no module."""
    module = importlib.import_module(REFERENCES)
    cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(getattr(module, name.rsplit(".", 1)[1]))
    finally:
        cloudpickle.unregister_pickle_by_value(module)


class SandboxedExecute(Execute):
    """nbgrader's Execute with the sandboxed kernel, limits, per-cell records and trusted verdicts."""

    notebook_timeout = Integer(1200, help="wall time of one notebook, seconds").tag(config=True)
    output_limit = Integer(2048 * 1024, help="bytes of output kept per notebook").tag(config=True)
    record_root = Unicode("", help="where each cell's records are moved to").tag(config=True)
    live_record_dir = Unicode("", help="where the kernel's checks write (bound read-write)"
                              ).tag(config=True)
    solution_records = Unicode("", help="per-cell records of the instructor's solution"
                               ).tag(config=True)
    record_solution = Bool(False, help="True while recording the solution itself (no verdicts)"
                           ).tag(config=True)
    source_dir = Unicode("", help="the instructor's notebooks (the policy)").tag(config=True)
    trusted_dir = Unicode("", help="trusted helpers staged per test cell (bound read-only)"
                          ).tag(config=True)
    timings_file = Unicode("", help="JSON file the seconds per phase are added to (benchmarks)"
                           ).tag(config=True)

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
                if self.km is not None:
                    asyncio.ensure_future(self.km.interrupt_kernel())
                err = error_output("OutputLimitExceeded",
                                   f"more than {self.output_limit // 1024} KiB of output: the rest "
                                   "was dropped and the cell interrupted")
                outs.append(err)
                return err
            return None
        return super().output(outs, msg, display_id, cell_index)

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._out_bytes, self._flooded, self._stopped = 0, False, None
        self._deadline = time.monotonic() + self.notebook_timeout
        self._cell_timeout = self.timeout
        self._timings = {"kernel_start": 0.0, "cells": 0.0, "kernel_stop": 0.0, "verdicts": 0.0}
        name = (resources or {}).get("nbgrader", {}).get("notebook", "notebook")
        self._records = Path(self.record_root) / name if self.record_root else None
        self._live = Path(self.live_record_dir) if self.live_record_dir else None
        if self._live is not None:
            empty_folder(self._live)
        t0 = time.monotonic()
        with self.setup_kernel():
            info_msg = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
            self._timings["kernel_start"] = time.monotonic() - t0
            for index, cell in enumerate(self.nb.cells):
                self.preprocess_cell(cell, resources, index)
            t2 = time.monotonic()
        self._timings["kernel_stop"] = time.monotonic() - t2
        t3 = time.monotonic()
        self.set_widgets_metadata()
        if self._records is not None and not self.record_solution:
            solution = Path(self.source_dir) / f"{name}.ipynb" if self.source_dir else None
            apply_verdicts(self.nb, self._records,
                           Path(self.solution_records) / name if self.solution_records else None,
                           policy=policy_violations(self.nb, solution))
        self._timings["verdicts"] = time.monotonic() - t3
        self._save_timings()
        return self.nb, self.resources

    def _save_timings(self) -> None:
        """Add this notebook's seconds per phase to :attr:`timings_file` (one task, several
        notebooks: the file holds their sums)."""
        if not self.timings_file:
            return
        path = Path(self.timings_file)
        total = json.loads(path.read_text()) if path.is_file() else {}
        for phase, seconds in self._timings.items():
            total[phase] = total.get(phase, 0.0) + seconds
        path.write_text(json.dumps(total))

    def _stage_trusted(self, cell) -> None:
        """Put the trusted helpers this test cell substitutes (and only those) where the kernel
        can read them; the references module itself is not visible in the sandbox."""
        if not self.trusted_dir:
            return
        empty_folder(self.trusted_dir)
        if not (utils.is_grade(cell) and not utils.is_solution(cell)):
            return
        for name in substituted_references(cell.source):
            path = Path(self.trusted_dir) / f"{name}.pkl"
            path.write_bytes(pickle_by_value(name))
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
        empty_folder(self._live)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped:
            cell.outputs = [error_output("NotExecuted", self._stopped)]
            return cell, resources
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._stopped = (f"the notebook ran out of its {self.notebook_timeout} s wall time "
                             "before this cell")
            cell.outputs = [error_output("NotebookTimeout", self._stopped)]
            return cell, resources
        self.timeout = max(1, int(min(self._cell_timeout or remaining, remaining)))
        t0 = time.monotonic()
        self._stage_trusted(cell)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stopped = f"the kernel died in cell {index} (exit, crash or a limit reached)"
            cell.outputs = list(cell.get("outputs", [])) + [error_output("KernelDied", self._stopped)]
        except CellTimeoutError as e:
            self._stopped = (f"cell {index} timed out after {self.timeout} s and the kernel did not "
                             "respond to the interrupt")
            cell.outputs = list(cell.get("outputs", [])) + [
                error_output("KernelUnresponsive", f"{self._stopped} ({str(e).splitlines()[0]})")]
        except Exception as e:      # the kernel broke its own protocol (patched internals, ...)
            self._stopped = (f"the kernel stopped answering in cell {index} "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
            cell.outputs = list(cell.get("outputs", [])) + [error_output("KernelUnresponsive",
                                                                    self._stopped)]
        finally:
            self._timings["cells"] += time.monotonic() - t0
            self._move_records(self._cell_key(cell, index))
            if self.trusted_dir:
                empty_folder(self.trusted_dir)
        return cell, resources



# ---------------------------------------------------------------------------- wiring (in the worker)
@dataclass(frozen=True)
class Folders:
    """The private folders of one task's kernels: ``ipc`` (its sockets and home), ``live`` (where
    its checks write), ``records`` (per cell, moved out of ``live``), ``trusted`` (staged helpers)."""
    ipc: Path
    live: Path
    records: Path
    trusted: Path


def configure(cfg, sandbox: SandboxSettings, *, scratch: Path, solution_records: Path | None,
              record_solution: bool = False, source_dir: Path | None = None, slot=None,
              zygote_key: str = "") -> Folders:
    """Point nbgrader's Autograde (its config ``cfg``) at :class:`SandboxedExecute` and give it
    private folders under ``scratch`` (the task's temporary folder), or the zygote's ``slot``
    (emptied per task, see :mod:`nnkit.course.zygote`) with ``zygote_key``."""
    uid = sandbox_uid() if (sandbox.setpriv and sandbox.bwrap) else 0
    folders = Folders(ipc=slot.ipc if slot else scratch / "ipc",
                      live=slot.live if slot else scratch / "record-live",
                      records=scratch / "records",
                      trusted=slot.trusted if slot else scratch / "trusted")
    for d in (folders.ipc, folders.live, folders.records, folders.trusted):
        d.mkdir(parents=True, exist_ok=True)
    (folders.ipc / "home").mkdir(exist_ok=True)
    if uid:
        for d in (folders.ipc, folders.ipc / "home", folders.live):
            os.chown(d, uid, uid)
    os.chmod(scratch, 0o755)
    cfg.Autograde.autograde_preprocessors = [
        SandboxedExecute if p is Execute else p
        for p in Autograde.class_traits()["autograde_preprocessors"].default()]
    limits = sandbox.limits
    km = cfg.SandboxKernelManager
    km.use_bwrap = sandbox.bwrap
    km.use_prlimit = sandbox.prlimit
    km.use_setpriv = bool(uid)
    km.uid = uid
    km.limits = dict(limits)
    km.ipc_dir = str(folders.ipc)
    km.record_dir = str(folders.live)
    km.log_file = str(scratch / "kernel.log")
    km.zygote_key = zygote_key
    ex = cfg.SandboxedExecute
    if zygote_key:       # a forked kernel is thrown away: killed with its namespace, not asked
        ex.shutdown_kernel = "immediate"
    ex.notebook_timeout = int(limits["notebook_timeout"])
    ex.output_limit = int(limits["output_kb"]) * 1024
    ex.record_root = str(folders.records)
    ex.live_record_dir = str(folders.live)
    ex.solution_records = str(solution_records) if solution_records else ""
    ex.record_solution = record_solution
    ex.source_dir = str(source_dir) if source_dir else ""
    ex.trusted_dir = km.trusted_dir = str(folders.trusted) if sandbox.bwrap else ""
    ex.timings_file = str(scratch / "timings.json")
    return folders
