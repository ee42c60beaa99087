"""Autograding throughput: ``nnkit-course autograde`` (Dask, sandboxed) vs sequential ``nbgrader
autograde``, on the same submissions, in the same run.

Every assignment found in ``solutions/`` gets N submissions (default 20) made from its own
notebooks, mixed: the instructor's solution (right), the solution with one solution cell put back to
the released stub (partly wrong), and the untouched released exercise (wrong). Two copies of a
temporary course are graded, one per tool; the scores must be identical, part by part.

The numpy assignments and the torch assignments are measured apart (goals: >= 3x and >= 2x
sequential nbgrader). For each: wall times, the speed-up, the per-submission overhead of
nnkit-course beyond the time its kernels spend running cells (worker median of task time minus cell
time; and all-in: wall x workers minus cell time, over the submissions), the peak memory of a
worker (and of its zygote), the scores compared part by part, and a table of where the time goes
per submission, for each variant of nnkit-course: kernels started per notebook (``process``,
``c.Sandbox.zygote = 0``) and forked from a pre-imported sandboxed zygote (``zygote``, the default).

    python benchmarks/autograde_throughput.py [--submissions 20] [--workers N] [--assignments a b]
                                              [--modes process zygote]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _env() -> dict:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def make_course(dest: Path, assignments: list[str]) -> None:
    dest.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    for a in assignments:
        shutil.copytree(REPO / "solutions" / a, dest / "solutions" / a,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    sys.path.insert(0, str(REPO))
    from nnkit.course.cli import main
    if main(["--course-dir", str(dest), "release", *assignments]) != 0:
        raise SystemExit("release failed")


def _partly_wrong(solution: nbformat.NotebookNode, exercise: nbformat.NotebookNode, k: int):
    """The solution with its k-th solution code cell put back to the released stub."""
    nb = nbformat.from_dict(json.loads(json.dumps(solution)))
    stubs = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in exercise.cells}
    sol = [c for c in nb.cells if c.cell_type == "code"
           and c.metadata.get("nbgrader", {}).get("solution")]
    if sol:
        cell = sol[k % len(sol)]
        cell.source = stubs.get(cell.metadata.nbgrader["grade_id"], cell.source)
    return nb


def make_submissions(course: Path, assignments: list[str], n: int) -> list[tuple[str, str]]:
    made = []
    for a in assignments:
        for path in sorted((course / "solutions" / a).glob("*.ipynb")):
            solution = nbformat.read(path, as_version=4)
            exercise = nbformat.read(course / "exercises" / a / path.name, as_version=4)
            for i in range(n):
                student = f"s{i:03d}"
                kind = ("right", "partly", "wrong")[i % 3]
                nb = {"right": solution, "wrong": exercise}.get(kind) or \
                    _partly_wrong(solution, exercise, i)
                d = course / "submitted" / student / a
                d.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, d / path.name)
                made.append((student, a))
    return sorted(set(made))


def scores(course: Path, course_id: str, assignments: list[str]) -> dict:
    sys.path.insert(0, str(REPO))
    from nnkit.course.gradebook import all_scores
    return {(r["student"], r["assignment"]): r["parts"]
            for r in all_scores(f"sqlite:///{course}/gradebook.db", course_id)
            if r["assignment"] in assignments}


#: rows of the table of where the time goes (per submission, seconds, mean over the run)
PHASES = [("setup", "task folder, notebook checks, config"),
          ("kernel_start", "kernel start until it answers (new process, or fork)"),
          ("cells", "running the notebook's cells"),
          ("kernel_stop", "kernel shutdown"),
          ("verdicts", "trusted verdicts and policy (outside the sandbox)"),
          ("nbgrader", "rest of nbgrader's Autograde (sanitize, gradebook, save grades)"),
          ("collect", "reading results, scores, clean-up"),
          ("merge", "merge in the command (gradebook writer)"),
          ("dask", "the rest: Dask, cluster start, idle cores (wall x workers / n - above)")]


def _own_cpu() -> float:
    """CPU seconds of this process and its waited-for descendants (Dask's processes, the zygotes
    and the kernels they fork, nbgrader's): what grading costs whatever else runs here."""
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    except OSError:
        return 0, 1
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def kind_of(course: Path, a: str) -> str:
    from nnkit.course import zygote
    src = {p.name: p.read_bytes() for p in (course / "solutions" / a).glob("*.ipynb")}
    return zygote.kind_of(zygote.notebook_imports(src))


def where_time_goes(rows, wall: float, workers: int) -> dict[str, float]:
    n = max(len(rows), 1)
    mean = lambda f: sum(f(r) for r in rows) / n          # noqa: E731
    ph = lambda r, k: r.phases.get(k, 0.0)                  # noqa: E731
    out = {k: mean(lambda r, k=k: ph(r, k)) for k in ("setup", "kernel_start", "cells",
                                                      "kernel_stop", "verdicts")}
    out["nbgrader"] = mean(lambda r: ph(r, "autograde") - sum(ph(r, k) for k in (
        "kernel_start", "cells", "kernel_stop", "verdicts")))
    out["collect"] = mean(lambda r: r.duration - ph(r, "setup") - ph(r, "autograde"))
    out["merge"] = mean(lambda r: r.merge_seconds)
    out["dask"] = wall * workers / n - mean(lambda r: r.duration)
    return out


def run_group(base: Path, tmp: Path, name: str, assignments: list[str], workers: int,
              modes: list[str], course_id: str) -> dict:
    """Grade the group's submissions with each tool on its own copy of the course."""
    from nnkit.course import kernel
    from nnkit.course.coursedir import Course
    from nnkit.course.autograde import run_autograde
    res = {}
    seq = tmp / f"{name}-seq"
    shutil.copytree(base, seq)
    t0, own0 = time.perf_counter(), _own_cpu()
    for a in assignments:      # plain nbgrader, one submission after another
        r = subprocess.run([str(BIN / "nbgrader"), "autograde", a], cwd=seq, env=_env(),
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"nbgrader autograde {a} reported errors (exit {r.returncode})")
    res["seq"] = {"wall": time.perf_counter() - t0, "scores": scores(seq, course_id, assignments),
                  "own": _own_cpu() - own0}
    for mode in modes:
        ours = tmp / f"{name}-{mode}"
        shutil.copytree(base, ours)
        course = Course(ours)
        settings = kernel.sandbox_settings(course.config, unsafe=True, out=sys.stderr)
        settings = settings.with_limits(zygote=int(mode == "zygote"))
        t0, cpu0, own0 = time.perf_counter(), _cpu(), _own_cpu()
        timeline = {}
        rows = run_autograde(course, assignments, workers=workers, sandbox=settings,
                             progress=False, out=sys.stderr, timeline=timeline)
        wall, cpu1 = time.perf_counter() - t0, _cpu()
        time.sleep(1.0)            # the cluster's processes are reaped: their CPU is counted
        res[mode] = {"wall": wall, "rows": rows, "scores": scores(ours, course_id, assignments),
                     "table": where_time_goes(rows, wall, workers), "timeline": timeline,
                     "busy": (cpu1[0] - cpu0[0]) / max(cpu1[1] - cpu0[1], 1),
                     "own": _own_cpu() - own0}
    return res


def report(name: str, assignments: list[str], res: dict, n: int, workers: int,
           modes: list[str], goal: float) -> bool:
    print(f"\n== {name} assignments: {', '.join(assignments)} ({n} submissions)")
    t_seq = res["seq"]["wall"]
    print(f"sequential nbgrader autograde:      {t_seq:8.1f} s  ({t_seq / n:.2f} s/submission; "
          f"CPU reaped {res['seq']['own'] / n:.2f} s/submission)")
    ok = True
    label = {"process": "nnkit-course, kernel per process", "zygote": "nnkit-course, zygote kernels"}
    for mode in modes:
        r = res[mode]
        diff = [k for k in sorted(set(res["seq"]["scores"]) | set(r["scores"]))
                if res["seq"]["scores"].get(k) != r["scores"].get(k)]
        ok = ok and not diff
        rows = r["rows"]
        per_task = [x.duration - x.cell_seconds for x in rows]
        exec_total = sum(x.cell_seconds for x in rows)
        allin = (r["wall"] * workers - exec_total) / max(n, 1)
        print(f"{label[mode] + ':':35} {r['wall']:8.1f} s  ({r['wall'] / n:.2f} s/submission)  "
              f"speed-up {t_seq / r['wall']:.2f}x on {workers} workers (goal >= {goal:g}x)")
        if per_task:
            print(f"    overhead beyond running cells: worker median "
                  f"{statistics.median(per_task):.2f} s, mean {statistics.mean(per_task):.2f} s "
                  f"(goal <= 0.3 s); all-in (wall x workers - cell time) / n = {allin:.2f} s")
            wk = max((x.memory_kb.get("worker_rss_kb", 0) for x in rows), default=0)
            zk = max((x.memory_kb.get("zygote_rss_kb", 0) for x in rows), default=0)
            print(f"    machine CPU busy during the run: {100 * r['busy']:.0f}% (other users' "
                  f"included); CPU reaped from its processes {r['own'] / n:.2f} s/submission "
                  "(a lower bound: processes killed before reaping theirs are not counted)")
            print(f"    memory per worker: peak RSS of the worker process {wk / 1024:.0f} MiB"
                  + (f", its zygote(s) {zk / 1024:.0f} MiB" if zk else ""))
        print(f"    scores identical to sequential nbgrader, part by part: "
              f"{'yes' if not diff else 'NO'}"
              + (f" ({len(diff)} differ, e.g. {diff[:3]})" if diff else ""))
        bad = [x for x in rows if x.status != "ok"]
        print(f"    rows with problems (expected for wrong submissions): {len(bad)}")
        tl = r.get("timeline", {})
        if tl:
            print("    timeline of the run (s since the command started): cluster ready "
                  f"{tl.get('cluster_ready', 0):.2f}, first result {tl.get('first_result', 0):.2f}"
                  f", last result {tl.get('last_result', 0):.2f}, cluster closed "
                  f"{tl.get('closed', 0):.2f}")
    print("  where the time goes, seconds per submission (mean; worker time, then the command):")
    print("    " + f"{'':64}" + "".join(f"{m:>10}" for m in modes))
    for key, what in PHASES:
        print("    " + f"{key + ': ' + what:64.64}" + "".join(f"{res[m]['table'][key]:10.3f}"
                                                            for m in modes))
    print("    " + f"{'total (= wall x workers / n)':64}" + "".join(
        f"{res[m]['wall'] * workers / n:10.3f}" for m in modes))
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=20)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--assignments", nargs="*", default=None)
    ap.add_argument("--modes", nargs="*", default=["process", "zygote"],
                    choices=["process", "zygote"],
                    help="nnkit-course variants to measure: kernels started per notebook "
                         "(c.Sandbox.zygote = 0) and forked from a zygote (the default)")
    args = ap.parse_args()
    available = sorted(p.name for p in (REPO / "solutions").iterdir()
                       if p.is_dir() and any(p.glob("*.ipynb")))
    assignments = args.assignments or available
    if not assignments:
        raise SystemExit("no assignment in solutions/: nothing to benchmark")
    workers = args.workers or os.cpu_count() or 1
    sys.path.insert(0, str(REPO))
    print(f"assignments: {', '.join(assignments)}; {args.submissions} submissions each; "
          f"{workers} workers; {os.cpu_count()} cores; load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="nnkit-bench-") as tmp:
        tmp = Path(tmp)
        base = tmp / "base"
        make_course(base, assignments)
        course_id = "nnkit-intro-nn"
        for line in (base / "nbgrader_config.py").read_text().splitlines():
            if "course_id" in line and "=" in line:
                course_id = line.split("=", 1)[1].strip().strip("\"'")
        groups: dict[str, list[str]] = {}
        for a in assignments:
            groups.setdefault(kind_of(base, a), []).append(a)
        make_submissions(base, assignments, args.submissions)
        for name in ("numpy", "torch"):
            if name not in groups:
                continue
            group = groups[name]
            n = len(group) * args.submissions
            res = run_group(base, tmp, name, group, workers, args.modes, course_id)
            ok = report(name, group, res, n, workers, args.modes,
                        3.0 if name == "numpy" else 2.0) and ok
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
