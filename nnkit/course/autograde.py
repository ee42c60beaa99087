"""``autograde``: choose what to grade, fan it out over Dask, merge each result as it arrives.

By default a ``LocalCluster`` on 127.0.0.1 with one single-threaded worker process per core (two
kernels on one worker only slow each other down); ``scheduler="tcp://HOST:PORT"`` sends the same
tasks to a cluster the instructor runs (``dask scheduler`` / ``dask worker``). Tasks carry their
inputs (:mod:`nnkit.course.task`), so no shared filesystem is assumed. Each finished submission is
recorded at once (gradebook first, then its ``autograded/`` folder is swapped into place), so an
interrupted run loses nothing already graded and the next run resumes with what is left.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from dask.distributed import Client, LocalCluster, as_completed
from nbgrader.api import Gradebook
from tqdm import tqdm

from ..files import new_folder, tree_digest, write_tree
from . import nbgrader_tuning, solution_records, zygote
from .coursedir import Course, CourseError, ensure_path_env
from .gradebook import record_result, submission_scores
from .kernel import SandboxSettings
from .state import forced_run_done, forced_run_since, load_state, save_state, submission_digest
from .task import AssignmentInputs, GradingResult, GradingTask
from .worker import finish, grade_submission, warm_up


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
    cell_seconds: float = 0.0    # running the notebooks' cells (in the worker)
    merge_seconds: float = 0.0   # recording the result (in this process)
    phases: dict = field(default_factory=dict)   # where the worker's time went (benchmarks)
    memory_kb: dict = field(default_factory=dict)  # worker / zygote resident memory (benchmarks)


# ---------------------------------------------------------------------------- what to grade
def pending_jobs(course: Course, assignments: list[str], students: list[str] | None,
                 force: bool, since: float | None = None) -> tuple[list[Job], int]:
    """Submissions to grade now, and how many are skipped because already graded (``since``:
    with ``force``, what was graded after this time counts as done: an interrupted forced run)."""
    state = load_state(course)
    jobs, skipped = [], 0
    for a in assignments:
        submitted = course.submitted_students(a)
        for s in students or submitted:
            if s not in submitted:
                raise CourseError(f"no submission of {a} by {s} in {course.submitted_dir}; collect it "
                                  f"first (`nnkit-course collect {a} ZIP`); students with a "
                                  f"submission: {', '.join(submitted) or 'none'}")
            prev = state.get(f"{a}/{s}", {})
            if _graded_already(course, a, s, prev, force, since):
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


def _graded_already(course: Course, a: str, s: str, prev: dict, force: bool,
                    since: float | None) -> bool:
    """Graded, and neither re-collected since nor changed (``force``: never, unless graded by the
    interrupted forced run that started at ``since``)."""
    dest = course.autograded_path(s, a)
    if not dest.exists() or (force and (since is None or prev.get("graded_at", 0) < since)):
        return False
    cd = course.coursedir
    new = cd.get_existing_timestamp(str(course.submitted_path(s, a)))
    old = cd.get_existing_timestamp(str(dest))
    changed = prev.get("submission") not in (None, submission_digest(course, s, a))
    return not (new and old and new > old) and not changed


# ---------------------------------------------------------------------------- merging one result
def status_text(result: GradingResult) -> str:
    """A short, specific reason for the table: what happened to this submission."""
    bits = list(result.problems)
    failed = []
    for nb, verdicts in sorted(result.verdicts.items()):
        for part, v in verdicts.items():
            if v["error"] and (v["score"] or 0) < v["max_score"]:
                failed.append(f"{part}: {v['error'].splitlines()[0][:100]}")
    if failed:
        bits.append(f"{len(failed)} part(s) failed; " + "; ".join(failed[:3])
                    + (" ..." if len(failed) > 3 else ""))
    if not result.success:
        log = (result.log or "").splitlines()
        errors = [ln.replace("[ERROR]", "").strip() for ln in log if ln.startswith("[ERROR]")]
        err = (result.error or "").strip().splitlines()
        first = errors[0] if errors else (err[-1] if err else "unknown error")
        nothing_left = "No notebooks were matched" in first or "No notebooks found" in first
        if not (nothing_left and result.problems):
            bits.append(f"nbgrader could not grade it ({first[:200]}); its notebooks score 0")
    return "; ".join(bits) if bits else "ok"


def _install_autograded(course: Course, result: GradingResult) -> None:
    """Swap the returned autograded files into place (read-only, as nbgrader leaves them)."""
    files = dict(result.files)
    files.update({f"{name}.ipynb": text.encode("utf-8") for name, text in result.notebooks.items()})
    with new_folder(course.autograded_path(result.student, result.assignment)) as stage:
        write_tree(stage, files, mode=0o444)


def merge_result(course: Course, result: GradingResult, digest: str, state: dict,
                 gb=None) -> Row:
    """Record one task's result: gradebook (the only writer), autograded files, state.
    ``digest``: of the submitted files graded (:func:`nnkit.course.state.submission_digest`)."""
    t0 = time.monotonic()
    s, a = result.student, result.assignment
    if result.infrastructure_error:
        row = Row(s, a, None, None, f"not graded ({result.infrastructure_error}); "
                  "run autograde again to retry", result.duration)
        state[f"{a}/{s}"] = {"status": "error", "reason": row.status, "duration": row.duration}
    else:
        ts = course.coursedir.get_existing_timestamp(str(course.submitted_path(s, a)))
        record_result(course.config, course.db_url, course.course_id, a, s, ts, result.notebooks,
                      gb=gb)
        _install_autograded(course, result)
        sc = submission_scores(course.db_url, course.course_id, a, s, gb=gb)
        status = status_text(result)
        row = Row(s, a, sc.get("score"), sc.get("max_score"), status, result.duration,
                  sc.get("parts", {}))
        state[f"{a}/{s}"] = {"status": "ok" if status == "ok" else "problem", "reason": status,
                             "submission": digest, "duration": row.duration, "score": row.score,
                             "max_score": row.max_score, "graded_at": time.time()}
    save_state(course, state)
    row.cell_seconds = result.cell_seconds
    row.phases, row.memory_kb = dict(result.phases), dict(result.memory_kb)
    row.merge_seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------- the cluster
def _quiet() -> None:
    """No tracebacks from Dask's threads while it shuts down after Ctrl-C."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def start_client(workers: int | None, scheduler: str | None):
    """A Dask client: on ``scheduler`` if given, else on a fresh LocalCluster on 127.0.0.1."""
    ensure_path_env()
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as e:
            raise CourseError(f"cannot reach the Dask scheduler at {scheduler} ({e}); start it with "
                              "`dask scheduler` and workers with `dask worker "
                              f"{scheduler} --nthreads 1`, or drop --scheduler") from None
    n = workers or os.cpu_count() or 1
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


# ---------------------------------------------------------------------------- the run
def run_autograde(course: Course, assignments: list[str], *, workers: int | None = None,
                  students: list[str] | None = None, force: bool = False,
                  scheduler: str | None = None, sandbox: SandboxSettings | None = None,
                  progress: bool = True, out=None, timeline: dict | None = None) -> list[Row]:
    """Grade every pending submission of ``assignments``; return the table's rows.
    ``timeline`` (benchmarks): filled with the seconds since the start at which the cluster was
    ready, the first and the last result were merged, and the cluster was closed."""
    t_start = time.monotonic()
    timeline = {} if timeline is None else timeline
    out = out or sys.stdout
    since = None
    if force:      # an interrupted --force run of the same selection continues where it stopped
        since = forced_run_since(course, {"assignments": sorted(assignments),
                                          "students": sorted(students or [])})
        if since is not None:
            print("continuing the --force run interrupted earlier (started "
                  f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(since))})", file=out)
    jobs, skipped = pending_jobs(course, assignments, students, force, since)
    if not jobs:
        forced_run_done(course)
        print(f"nothing to grade: {skipped} submission(s) already graded "
              "(use --force to grade them again)", file=out)
        return []
    nbgrader_tuning.install()    # the exported gradebook copies are throw-away: no fsync
    client, cluster, inputs = _start(course, {j.assignment for j in jobs}, workers, scheduler)
    timeline["cluster_ready"] = time.monotonic() - t_start
    if sandbox is not None:      # zygotes ready in every worker before the tasks
        try:
            client.run(warm_up, sandbox, [i.preload for i in inputs.values()], wait=False)
        except Exception:
            pass
    rows: list[Row] = []
    gb = Gradebook(course.db_url, course.course_id)     # the only writer, for the whole run
    interrupted = None
    try:
        solutions, fresh = _solutions(client, course, inputs, sandbox, priority=len(jobs) + 1)
        futures = _submit(client, course, jobs, inputs, solutions, sandbox)
        rows = _merge_as_completed(course, futures, gb, progress,
                                   lambda k: timeline.__setitem__(k, time.monotonic() - t_start))
        for a, fut in fresh.items():
            solution = fut.result()
            if solution.success and not solution.problems:
                solution_records.save(course, a, inputs[a], solution)
        forced_run_done(course)
    except KeyboardInterrupt:
        if threading.current_thread() is threading.main_thread():   # a 2nd Ctrl-C: no half cleanup
            interrupted = signal.signal(signal.SIGINT, signal.SIG_IGN)
        _quiet()
        raise
    finally:
        gb.close()
        nbgrader_tuning.forget_engines()
        _close(client, cluster, sandbox is not None and interrupted is None)
        if interrupted is not None:
            signal.signal(signal.SIGINT, interrupted)
        timeline["closed"] = time.monotonic() - t_start
    rows.sort(key=lambda r: (r.assignment, r.student))
    if skipped:
        print(f"({skipped} submission(s) " + ("graded again before the interruption were skipped)"
              if since is not None else "already graded were skipped; --force grades them again)"),
              file=out)
    return rows


def _start(course: Course, assignments: set[str], workers, scheduler):
    """The cluster, and each assignment's task inputs (exported while the cluster starts)."""
    def inputs():
        sources = {a: course.source_files(a) for a in assignments}
        plans = zygote.preload_plan(sources)    # what each assignment's kernels pre-import
        return {a: AssignmentInputs.of(course, a, plans[a]) for a in sorted(assignments)}
    with ThreadPoolExecutor(1) as pool:
        fut = pool.submit(inputs)
        try:
            client, cluster = start_client(workers, scheduler)
        finally:
            shared = fut.result()
    return client, cluster, shared


def _solutions(client, course: Course, inputs: dict, sandbox, priority: int):
    """Per assignment, the solution's records (kept, or a future recording them now; none without
    the sandbox), and the futures of those recorded now."""
    solutions, fresh = {}, {}
    if sandbox is None:
        return solutions, fresh
    for a, inp in inputs.items():
        kept = solution_records.load(course, a, inp)
        if kept is not None:
            solutions[a] = client.scatter([kept])[0]
        else:
            solutions[a] = fresh[a] = client.submit(
                grade_submission, GradingTask.for_solution(course, a, inp, sandbox),
                key=f"solution-{a}-{uuid.uuid4().hex[:8]}", priority=priority, pure=False)
    return solutions, fresh


def _submit(client, course: Course, jobs: list[Job], inputs: dict, solutions: dict, sandbox):
    """``{future: (job, digest of the files sent)}``, longest (or suspect) submissions first."""
    futures = {}
    for i, job in enumerate(jobs):
        task = GradingTask.for_student(course, job.assignment, job.student, inputs[job.assignment],
                                       sandbox)
        fut = client.submit(grade_submission, task, solutions.get(job.assignment),
                            key=f"grade-{job.assignment}-{job.student}-{uuid.uuid4().hex[:8]}",
                            priority=len(jobs) - i, pure=False)
        futures[fut] = (job, tree_digest(task.submission))
    return futures


def _merge_as_completed(course: Course, futures: dict, gb, progress: bool, mark) -> list[Row]:
    state = load_state(course)
    rows = []
    bar = tqdm(total=len(futures), desc="autograde", unit="submission", disable=not progress,
               file=sys.stderr)
    for fut in as_completed(list(futures)):
        job, digest = futures[fut]
        try:
            result = fut.result()
        except Exception as e:   # the worker process died, the scheduler lost it, ...
            result = GradingResult(job.student, job.assignment,
                                   infrastructure_error=f"{type(e).__name__}: {str(e)[:200]}")
        rows.append(merge_result(course, result, digest, state, gb))
        mark("last_result")
        if len(rows) == 1:
            mark("first_result")
        bar.set_postfix_str(f"{job.student}/{job.assignment}", refresh=False)
        bar.update(1)
        fut.release()
    bar.close()
    return rows


def _close(client, cluster, finish_workers: bool) -> None:
    """The workers' zygotes end with the run (not after Ctrl-C: no half cleanup), then Dask."""
    if finish_workers:
        try:
            client.run(finish, cluster is not None)
        except Exception:
            pass
    client.close()
    if cluster is not None:
        cluster.close()
