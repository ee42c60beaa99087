"""Autograding throughput: ``nnkit-course autograde`` (Dask, sandboxed) vs sequential ``nbgrader
autograde``, on the same submissions, in the same run.

Every assignment found in ``solutions/`` gets N submissions (default 20) made from its own
notebooks, mixed: the instructor's solution (right), the solution with one solution cell put back to
the released stub (partly wrong), and the untouched released exercise (wrong). Two copies of a
temporary course are graded, one per tool; the scores must be identical, part by part.

Printed: wall times, the speed-up, and the per-submission overhead of nnkit-course beyond the time
its kernels spend running cells (worker time minus cell time, plus the merge in the command, plus
the cluster start shared out over the submissions).

    python benchmarks/autograde_throughput.py [--submissions 20] [--workers N] [--assignments a b]
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


def scores(course: Path, course_id: str) -> dict:
    sys.path.insert(0, str(REPO))
    from nnkit.course.gradebook import all_scores
    return {(r["student"], r["assignment"]): r["parts"]
            for r in all_scores(f"sqlite:///{course}/gradebook.db", course_id)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=20)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--assignments", nargs="*", default=None)
    args = ap.parse_args()
    available = sorted(p.name for p in (REPO / "solutions").iterdir()
                       if p.is_dir() and any(p.glob("*.ipynb")))
    assignments = args.assignments or available
    if not assignments:
        raise SystemExit("no assignment in solutions/: nothing to benchmark")
    workers = args.workers or os.cpu_count() or 1
    print(f"assignments: {', '.join(assignments)}; {args.submissions} submissions each; "
          f"{workers} workers; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="nnkit-bench-") as tmp:
        tmp = Path(tmp)
        base = tmp / "base"
        make_course(base, assignments)
        subs = make_submissions(base, assignments, args.submissions)
        n = len(subs)
        course_id = "nnkit-intro-nn"
        for line in (base / "nbgrader_config.py").read_text().splitlines():
            if "course_id" in line and "=" in line:
                course_id = line.split("=", 1)[1].strip().strip("\"'")
        ours, seq = tmp / "ours", tmp / "seq"
        shutil.copytree(base, ours)
        shutil.copytree(base, seq)

        # plain nbgrader, one submission after another
        t0 = time.perf_counter()
        for a in assignments:
            r = subprocess.run([str(BIN / "nbgrader"), "autograde", a], cwd=seq, env=_env(),
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"nbgrader autograde {a} reported errors (exit {r.returncode})")
        t_seq = time.perf_counter() - t0

        # nnkit-course: Dask LocalCluster, sandboxed kernels, one gradebook writer
        sys.path.insert(0, str(REPO))
        from nnkit.course import sandbox as sb
        from nnkit.course.course import Course
        from nnkit.course.engine import run_autograde
        course = Course(ours)
        settings = sb.sandbox_settings(course, unsafe=True, out=sys.stderr)
        t0 = time.perf_counter()
        rows = run_autograde(course, assignments, workers=workers, sandbox=settings,
                             progress=False, out=sys.stderr)
        t_ours = time.perf_counter() - t0

        s_seq, s_ours = scores(seq, course_id), scores(ours, course_id)
        diff = [k for k in sorted(set(s_seq) | set(s_ours)) if s_seq.get(k) != s_ours.get(k)]
        per_task = [r.duration - r.exec_seconds for r in rows]
        merge = [r.merge_seconds for r in rows]
        exec_total = sum(r.exec_seconds for r in rows)
        overhead = (t_ours * workers - exec_total) / max(n, 1)
        print(f"submissions graded: {n} ({len(rows)} by nnkit-course)")
        print(f"sequential nbgrader autograde: {t_seq:8.1f} s  ({t_seq / n:.2f} s/submission)")
        print(f"nnkit-course autograde:        {t_ours:8.1f} s  ({t_ours / n:.2f} s/submission)")
        print(f"speed-up: {t_seq / t_ours:.2f}x on {workers} workers (goal >= 1.8x on 2 cores)")
        if per_task:
            print(f"per-submission overhead beyond running cells: worker median "
                  f"{statistics.median(per_task):.2f} s, mean {statistics.mean(per_task):.2f} s; "
                  f"merge median {statistics.median(merge):.3f} s; all-in (wall x workers - cell "
                  f"time) / n = {overhead:.2f} s (goal < 1.5 s)")
        print(f"scores identical: {'yes' if not diff else 'NO'}"
              + (f" ({len(diff)} differ, e.g. {diff[:3]})" if diff else ""))
        bad = [r for r in rows if r.status != "ok"]
        print(f"rows with problems (expected for wrong submissions): {len(bad)}")
        return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
