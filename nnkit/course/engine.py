"""Fan autograding out over Dask; merge each result as it arrives, through one gradebook writer.

By default a ``LocalCluster`` on 127.0.0.1 with one single-threaded worker process per core (two
kernels on one worker only slow each other down); ``scheduler="tcp://HOST:PORT"`` sends the same tasks
to a cluster the instructor runs (``dask scheduler`` / ``dask worker``). Tasks carry their inputs, so
no shared filesystem is assumed. Each finished submission is recorded at once (gradebook first, then
its ``autograded/`` folder is moved into place), so an interrupted run loses nothing already graded
and the next run resumes with what is left.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, CourseError, ensure_path_env
from .gradebook import export_assignment, record_result, submission_scores
from .worker import grade_submission


@dataclass
class Job:
    assignment: str
    student: str
    cost: float = 0.0            # estimated seconds, for ordering (long/suspect first)


@dataclass
class Row:
    student: str
    assignment: str
    score: float | None
    max_score: float | None
    status: str
    duration: float = 0.0
    parts: dict = field(default_factory=dict)
    exec_seconds: float = 0.0    # running the notebooks' cells (in the worker)
    merge_seconds: float = 0.0   # recording the result (in this process)
    phases: dict = field(default_factory=dict)   # where the worker's time went (benchmarks)
    memory_kb: dict = field(default_factory=dict)  # worker / zygote resident memory (benchmarks)


# ---------------------------------------------------------------------------- state (resume, status)
def _state_file(course: Course) -> Path:
    return course.state_dir / "autograde.json"


def load_state(course: Course) -> dict:
    try:
        return json.loads(_state_file(course).read_text())
    except (OSError, ValueError):
        return {}


def _save_state(course: Course, state: dict) -> None:
    course.state_dir.mkdir(exist_ok=True)
    tmp = _state_file(course).with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, _state_file(course))


# ---------------------------------------------------------------------------- what to grade
def _files_under(path: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(path.rglob("*")):
        if p.is_file() and not p.is_symlink() and ".ipynb_checkpoints" not in p.parts:
            out[str(p.relative_to(path))] = p.read_bytes()
    return out


def submission_hash(course: Course, student: str, assignment: str) -> str:
    """A digest of the submitted files: a re-collected, changed submission is graded again."""
    import hashlib
    h = hashlib.sha256()
    for rel, data in _files_under(course.submitted_path(student, assignment)).items():
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def pending_jobs(course: Course, assignments: list[str], students: list[str] | None,
                 force: bool, since: float | None = None) -> tuple[list[Job], int]:
    """Submissions to grade now, and how many are skipped because already graded (``since``:
    with ``force``, what was graded after this time counts as done: an interrupted forced run)."""
    state = load_state(course)
    jobs, skipped = [], 0
    cd = course.coursedir
    for a in assignments:
        submitted = course.submitted_students(a)
        for s in students or submitted:
            if s not in submitted:
                raise CourseError(f"no submission of {a} by {s} in {course.submitted_dir}; collect it "
                                  f"first (`nnkit-course collect {a} ZIP`); students with a "
                                  f"submission: {', '.join(submitted) or 'none'}")
            dest = course.autograded_path(s, a)
            prev = state.get(f"{a}/{s}", {})
            if dest.exists() and (not force or (since is not None
                                                and prev.get("graded_at", 0) >= since)):
                new = cd.get_existing_timestamp(str(course.submitted_path(s, a)))
                old = cd.get_existing_timestamp(str(dest))
                changed = prev.get("submission") not in (None, submission_hash(course, s, a))
                if not (new and old and new > old) and not changed:
                    skipped += 1
                    continue
            size = sum(p.stat().st_size for p in course.submitted_path(s, a).rglob("*")
                       if p.is_file())
            cost = float(prev.get("duration", 0.0)) + size / 1e6
            if prev.get("status", "ok") != "ok":
                cost += 1000.0   # timed out / crashed / hostile last time: start it first
            jobs.append(Job(a, s, cost))
    jobs.sort(key=lambda j: -j.cost)
    return jobs, skipped


# ---------------------------------------------------------------------------- merging one result
def _status(result: dict) -> str:
    """A short, specific reason for the table: what happened to this submission."""
    bits = list(result.get("problems", []))
    failed = []
    for nb, verdicts in sorted(result.get("verdicts", {}).items()):
        for part, v in verdicts.items():
            if v["error"] and (v["score"] or 0) < v["max_score"]:
                failed.append(f"{part}: {v['error'].splitlines()[0][:100]}")
    if failed:
        bits.append(f"{len(failed)} part(s) failed; " + "; ".join(failed[:3])
                    + (" ..." if len(failed) > 3 else ""))
    if not result.get("success"):
        log = (result.get("log") or "").splitlines()
        errors = [ln.replace("[ERROR]", "").strip() for ln in log if ln.startswith("[ERROR]")]
        err = (result.get("error") or "").strip().splitlines()
        first = errors[0] if errors else (err[-1] if err else "unknown error")
        nothing_left = "No notebooks were matched" in first or "No notebooks found" in first
        if not (nothing_left and result.get("problems")):
            bits.append(f"nbgrader could not grade it ({first[:200]}); its notebooks score 0")
    return "; ".join(bits) if bits else "ok"


def _install_autograded(course: Course, result: dict) -> None:
    """Write the returned autograded files into place atomically (read-only, as nbgrader does)."""
    s, a = result["student"], result["assignment"]
    dest = course.autograded_path(s, a)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{a}.partial-{uuid.uuid4().hex[:8]}"
    try:
        files = dict(result.get("files", {}))
        for name, text in result.get("notebooks", {}).items():
            files[f"{name}.ipynb"] = text.encode("utf-8")
        for rel, data in files.items():
            p = (tmp / rel).resolve()
            if tmp.resolve() not in p.parents:
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.chmod(p, 0o444)
        tmp.mkdir(exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def merge_result(course: Course, result: dict, state: dict, gb=None) -> Row:
    """Record one task's result: gradebook (the only writer), autograded files, state."""
    t0 = time.monotonic()
    row = _merge(course, result, state, gb)
    row.exec_seconds = result.get("exec_seconds", 0.0)
    row.merge_seconds = time.monotonic() - t0
    row.phases = dict(result.get("phases", {}))
    row.memory_kb = {k: result[k] for k in ("worker_rss_kb", "zygote_rss_kb") if k in result}
    return row


def _merge(course: Course, result: dict, state: dict, gb=None) -> Row:
    s, a = result["student"], result["assignment"]
    if result.get("infrastructure_error"):
        row = Row(s, a, None, None, f"not graded ({result['infrastructure_error']}); "
                  "run autograde again to retry", result.get("duration", 0.0))
        state[f"{a}/{s}"] = {"status": "error", "reason": row.status, "duration": row.duration}
        _save_state(course, state)
        return row
    ts = course.coursedir.get_existing_timestamp(str(course.submitted_path(s, a)))
    record_result(course.config, course.db_url, course.course_id, a, s, ts, result["notebooks"],
                  gb=gb)
    _install_autograded(course, result)
    sc = submission_scores(course.db_url, course.course_id, a, s, gb=gb)
    status = _status(result)
    row = Row(s, a, sc.get("score"), sc.get("max_score"), status, result.get("duration", 0.0),
              sc.get("parts", {}))
    state[f"{a}/{s}"] = {"status": "ok" if status == "ok" else "problem", "reason": status,
                         "submission": result.get("submission_hash"),
                         "duration": row.duration, "score": row.score, "max_score": row.max_score,
                         "graded_at": time.time()}
    _save_state(course, state)
    return row


# ---------------------------------------------------------------------------- the run
def _shared_inputs(course: Course, assignment: str) -> dict:
    src = course.source_dir / assignment
    return {"source": _files_under(src),
            "gradebook": export_assignment(course.db_url, course.course_id, assignment),
            "notebook_names": course.notebooks(assignment)}


def _task(course: Course, job: Job, shared: dict, sandbox: dict | None) -> dict:
    return {"student": job.student, "assignment": job.assignment, "course_id": course.course_id,
            "config": dict(course.config), "source": shared["source"],
            "gradebook": shared["gradebook"], "notebook_names": shared["notebook_names"],
            "submission": _files_under(course.submitted_path(job.student, job.assignment)),
            "sandbox": sandbox}


def _reference_key(shared: dict) -> str:
    """Changes when the solution notebooks or the grading code change."""
    import hashlib

    import nnkit.grading
    h = hashlib.sha256()
    for rel, data in sorted(shared["source"].items()):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    for p in sorted(Path(nnkit.grading.__file__).parent.glob("*.py")):
        h.update(p.name.encode() + p.read_bytes())
    h.update(Path(__file__).with_name("sandbox.py").read_bytes())
    return h.hexdigest()[:16]


def _reference_path(course: Course, assignment: str, shared: dict) -> Path:
    return course.state_dir / "references" / f"{assignment}-{_reference_key(shared)}"


def _load_reference(course: Course, assignment: str, shared: dict) -> dict | None:
    """Records of the solution kept from an earlier run (if the solution did not change)."""
    path = _reference_path(course, assignment, shared)
    if not (path / "complete").is_file():
        return None
    records = {str(p.relative_to(path / "records")): p.read_bytes()
               for p in (path / "records").rglob("*") if p.is_file()}
    return {"success": True, "problems": [], "records": records}


def _save_reference(course: Course, assignment: str, shared: dict, ref: dict) -> None:
    path = _reference_path(course, assignment, shared)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, data in ref.get("records", {}).items():
        p = tmp / "records" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (tmp / "records").mkdir(parents=True, exist_ok=True)
    (tmp / "complete").write_text("ok")
    shutil.rmtree(path, ignore_errors=True)
    os.rename(tmp, path)


def _reference_task(course: Course, assignment: str, shared: dict, sandbox: dict) -> dict:
    """Run the instructor's notebooks like a submission, keeping the checks' records."""
    src = {rel: data for rel, data in shared["source"].items() if rel.endswith(".ipynb")}
    return {"student": "reference-solution", "assignment": assignment,
            "course_id": course.course_id, "config": dict(course.config),
            "source": shared["source"], "gradebook": shared["gradebook"],
            "notebook_names": shared["notebook_names"], "submission": src,
            "sandbox": sandbox, "reference": True}


def _forced_file(course: Course) -> Path:
    return course.state_dir / "forced-run.json"


def _quiet() -> None:
    """No tracebacks from Dask's threads while it shuts down after Ctrl-C."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def start_client(workers: int | None, scheduler: str | None):
    """A Dask client: on ``scheduler`` if given, else on a fresh LocalCluster on 127.0.0.1."""
    from dask.distributed import Client, LocalCluster
    ensure_path_env()
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as e:
            raise CourseError(f"cannot reach the Dask scheduler at {scheduler} ({e}); start it with "
                              "`dask scheduler` and workers with `dask worker "
                              f"{scheduler} --nthreads 1`, or drop --scheduler") from None
    n = workers or os.cpu_count() or 1
    import signal
    import threading
    # the worker processes inherit "ignore Ctrl-C": only this process handles it (one line, no
    # tracebacks from every worker); kernels run in their own session and are not concerned
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               scheduler_kwargs={"dashboard": False},
                               worker_dashboard_address=None,
                               silence_logs=logging.CRITICAL)   # results carry the errors
        return Client(cluster), cluster
    finally:
        if main:
            signal.signal(signal.SIGINT, old)


def run_autograde(course: Course, assignments: list[str], *, workers: int | None = None,
                  students: list[str] | None = None, force: bool = False,
                  scheduler: str | None = None, sandbox: dict | None = None,
                  progress: bool = True, out=None) -> list[Row]:
    """Grade every pending submission of ``assignments``; return the table's rows."""
    from dask.distributed import as_completed
    from tqdm import tqdm
    out = out or sys.stdout
    selection = {"assignments": sorted(assignments), "students": sorted(students or [])}
    since = None
    if force:      # an interrupted --force run of the same selection continues where it stopped
        try:
            forced = json.loads(_forced_file(course).read_text())
        except (OSError, ValueError):
            forced = None
        if forced and forced.get("selection") == selection:
            since = float(forced["started"])
            print("continuing the --force run interrupted earlier (started "
                  f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(since))})", file=out)
        else:
            course.state_dir.mkdir(exist_ok=True)
            tmp = _forced_file(course).with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps({"selection": selection, "started": time.time()}))
            os.replace(tmp, _forced_file(course))
    jobs, skipped = pending_jobs(course, assignments, students, force, since)
    if not jobs:
        _forced_file(course).unlink(missing_ok=True)
        print(f"nothing to grade: {skipped} submission(s) already graded "
              "(use --force to grade them again)", file=out)
        return []
    state = load_state(course)
    from .zygote import preload_plan    # what each assignment's kernels have pre-imported
    plan = preload_plan({a: _files_under(course.source_dir / a)
                         for a in {j.assignment for j in jobs}})
    from concurrent.futures import ThreadPoolExecutor

    from nbgrader.api import Gradebook

    from .worker import _fast_sqlite
    _fast_sqlite(None)           # the exported copies are throw-away: no fsync per commit
    with ThreadPoolExecutor(1) as pool:   # exported while the cluster starts
        shared_fut = pool.submit(lambda: {a: _shared_inputs(course, a)
                                          for a in {j.assignment for j in jobs}})
        try:
            client, cluster = start_client(workers, scheduler)
        finally:
            shared_local = shared_fut.result()
    if sandbox is not None:      # imports and zygotes ready in every worker before the tasks
        from .worker import warm_up
        try:
            client.run(warm_up, sandbox, list(plan.values()), wait=False)
        except Exception:
            pass
    rows: list[Row] = []
    gb = Gradebook(course.db_url, course.course_id)     # the only writer, for the whole run
    restore = None
    try:
        futures, hashes = {}, {}
        refs, fresh = {}, {}
        if sandbox is not None:     # the instructor's solution, recorded once per assignment
            for a in sorted(shared_local):
                cached = _load_reference(course, a, shared_local[a])
                if cached is not None:
                    refs[a] = client.scatter([cached])[0]
                    continue
                refs[a] = fresh[a] = client.submit(
                    grade_submission, {**_reference_task(course, a, shared_local[a], sandbox),
                                       "preload": plan[a]},
                    key=f"reference-{a}-{uuid.uuid4().hex[:8]}", priority=len(jobs) + 1,
                    pure=False)
        for i, job in enumerate(jobs):
            task = _task(course, job, shared_local[job.assignment], sandbox)
            task["preload"] = plan[job.assignment]
            hashes[(job.assignment, job.student)] = submission_hash(course, job.student,
                                                                   job.assignment)
            fut = client.submit(grade_submission, task, refs.get(job.assignment),
                                key=f"grade-{job.assignment}-{job.student}-"
                                f"{uuid.uuid4().hex[:8]}", priority=len(jobs) - i, pure=False)
            futures[fut] = job
        bar = tqdm(total=len(jobs), desc="autograde", unit="submission", disable=not progress,
                   file=sys.stderr)
        for fut in as_completed(list(futures)):
            job = futures[fut]
            try:
                result = fut.result()
            except Exception as e:   # the worker process died, the scheduler lost it, ...
                result = {"student": job.student, "assignment": job.assignment,
                          "infrastructure_error": f"{type(e).__name__}: {str(e)[:200]}"}
            result["submission_hash"] = hashes[(job.assignment, job.student)]
            rows.append(merge_result(course, result, state, gb))
            bar.set_postfix_str(f"{job.student}/{job.assignment}", refresh=False)
            bar.update(1)
            fut.release()
        bar.close()
        for a, fut in fresh.items():
            ref = fut.result()
            if ref.get("success") and not ref.get("problems"):
                _save_reference(course, a, shared_local[a], ref)
        _forced_file(course).unlink(missing_ok=True)
    except KeyboardInterrupt:
        import signal
        import threading
        if threading.current_thread() is threading.main_thread():   # a 2nd Ctrl-C: no half cleanup
            restore = signal.signal(signal.SIGINT, signal.SIG_IGN)
        _quiet()
        raise
    finally:
        gb.close()
        if sandbox is not None and restore is None:   # the workers' zygotes end with the run
            from .worker import finish
            try:
                client.run(finish)
            except Exception:
                pass
        client.close()
        if cluster is not None:
            cluster.close()
        if restore is not None:
            import signal
            signal.signal(signal.SIGINT, restore)
    rows.sort(key=lambda r: (r.assignment, r.student))
    if skipped and since is not None:
        print(f"({skipped} submission(s) graded again before the interruption were skipped)",
              file=out)
    elif skipped:
        print(f"({skipped} submission(s) already graded were skipped; --force grades them again)",
              file=out)
    return rows
