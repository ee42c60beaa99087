"""The trust decision, outside the sandbox: what a graded cell's recorded outputs are worth.

Graded test cells use :mod:`nnkit.grading` checks, which in the sandbox run in record mode: they
only save what the student's code returned, in a folder of that cell (:mod:`nnkit.course.execute`
moves them there after each cell, so a record can only come from the cell that made it). After the
notebook, :func:`apply_verdicts` decides each graded cell here, comparing its records with those
of the instructor's solution made the same way (:func:`nnkit.grading.compare_records`), and
rewrites the cell's outputs to say so before nbgrader's ``SaveAutoGrades`` reads them. A graded
cell that recorded nothing, or garbage, scores 0; so do the checks after a student cell that
touches the grading code (:data:`TAMPERING`), and answers that call nnkit's own implementation
(:mod:`nnkit.grading.policy`).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils

from nnkit.grading import compare_records
from nnkit.grading.policy import policy_for, violations


def error_output(ename: str, evalue: str) -> NotebookNode:
    """A notebook ``error`` output (what a failed cell shows, and what nbgrader scores 0)."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def judge_cell(student: Path, reference: Path) -> tuple[bool, str]:
    """(passed, why) of one graded cell: its records ``student`` against the solution's ``reference``."""
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
#: by other names (code that reaches for them could make a check record another's outputs).
TAMPERING = re.compile(r"\bgrading\b|\breferences\b|\bcompare_records\b|\bcheck_(function|gradient|"
                       r"values)\b|sys\.modules|__import__|\bimportlib\b|\b(eval|exec|compile)\s*\(|"
                       r"__builtins__|\bgc\.get_(objects|referrers)|\bmarshal\b|\bpickle\b")


def tampering(nb) -> tuple[int, str] | None:
    """The first cell the student wrote (not a locked cell) that touches the grading machinery."""
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
                cell.outputs = list(cell.get("outputs", [])) + [error_output("GradingError", policy[gid])]
            continue       # this cell does not use nnkit.grading: nbgrader's default applies
        if gid in policy:
            ok, why = False, policy[gid]
        elif touched is not None and touched[0] < index:
            ok, why = False, (f"cell {touched[0]} touches the grading code ({touched[1]!r}); the "
                              "checks after it are not trusted and score 0 (the instructor can "
                              "review it in the formgrader)")
        else:
            ok, why = judge_cell(records / key, ref)
        kept = [o for o in cell.get("outputs", [])
                if o.get("output_type") in ("stream", "display_data")
                and not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        if ok:
            cell.outputs = kept + [NotebookNode(output_type="stream", name="stdout",
                                                text=f"[grader] {why}\n")]
        else:
            cell.outputs = kept + [error_output("GradingError", why)]
        cell.metadata.setdefault("nnkit", {})["verdict"] = {"passed": ok, "reason": why}


#: errors that say what happened to the kernel (sandbox limits, timeouts, exits, crashes)
INCIDENTS = ("KernelUnresponsive", "CellTimeoutError", "KernelDied", "NotebookTimeout", "OutputLimitExceeded",
             "MemoryError", "RecursionError", "SystemExit", "KeyboardInterrupt", "BlockingIOError",
             "PermissionError", "ProcessLookupError", "ConnectionRefusedError", "OSError")


def incidents(name: str, nb) -> list[str]:
    """The first error of each kind outside graded cells' verdicts, for the table."""
    out, seen = [], set()
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            ename = o.get("ename", "") if o.get("output_type") == "error" else ""
            if ename in INCIDENTS and ename not in seen:
                seen.add(ename)
                ev = str(o.get("evalue", "")).strip().splitlines()
                out.append(f"{name}.ipynb cell {i}: {ename}" + (f": {ev[0][:120]}" if ev else ""))
    return out


def cell_verdicts(nb) -> dict[str, dict]:
    """Per graded cell of an autograded notebook: score, max and the first error, as nbgrader sees it."""
    out = {}
    for cell in nb.cells:
        if not utils.is_grade(cell):
            continue
        score, max_score = utils.determine_grade(cell)
        err = None
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                ev = str(o.get("evalue", "")).strip()
                err = f"{o.get('ename')}: {ev[:200]}" if ev else str(o.get("ename"))
                break
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                err = "wrote to stderr: " + o.get("text", "")[:200].strip()
                break
        out[cell.metadata.nbgrader["grade_id"]] = {"score": score, "max_score": max_score,
                                                  "error": err}
    return out


def solution_failures(records: Path) -> list[str]:
    """The checks the instructor's solution fails in its own records (it must pass them all)."""
    bad = []
    if records.is_dir():
        for nb_dir in sorted(p for p in records.iterdir() if p.is_dir()):
            for cell in sorted(p for p in nb_dir.iterdir() if p.is_dir() and
                               p.name.startswith("grade-")):
                ok, why = judge_cell(cell, cell)
                if not ok:
                    bad.append(f"{nb_dir.name}/{cell.name[6:]}: {why}")
    return bad


#: the policy of each solution notebook this process has read (by content)
_POLICIES: dict[str, dict] = {}


def policy_violations(nb, solution: Path | None) -> dict[str, str]:
    """``{grade_id: why}``: the test cells of ``nb`` whose answers call nnkit's own implementation,
    by the policy read from the instructor's notebook ``solution`` (once per content)."""
    if solution is None or not solution.is_file():
        return {}
    data = solution.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    policy = _POLICIES.get(key)
    if policy is None:
        policy = policy_for(nbformat.reads(data.decode("utf-8"), as_version=4))
        if len(_POLICIES) > 32:
            _POLICIES.clear()
        _POLICIES[key] = policy
    return violations(nb, policy)
