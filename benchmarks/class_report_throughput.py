"""``nnkit-course report`` on a large synthetic class: wall time of the whole command.

The class (tests/synthetic_class.py) is written first, without running a kernel: N students
(default 500) x every assignment (7), each answer cell written in the student's own way, 2% of the
class per planted mistake, two copied pairs per assignment. Then ``nnkit-course report --html`` runs
as the instructor would (a new process, so interpreter and imports count), and the time is printed
along with where the copied pairs ranked.

    python benchmarks/class_report_throughput.py [--students 500] [--assignments a b ...]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from synthetic_class import benchmark_plan, make_class  # noqa: E402

ALL = ["perceptron", "logistic_regression", "activations", "backprop", "mlp_mnist", "cnn_rnn",
       "transfer_learning"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=500)
    ap.add_argument("--assignments", nargs="*", default=ALL)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nnkit-report-bench-") as d:
        t = time.perf_counter()
        plan = make_class(Path(d) / "course", args.assignments, n_students=args.students,
                          plan=benchmark_plan(args.assignments, args.students),
                          copies={a: 2 for a in args.assignments})
        print(f"synthetic class: {args.students} students x {len(args.assignments)} assignments "
              f"written in {time.perf_counter() - t:.1f} s")
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
                                    f"{os.environ.get('PATH', '')}")
        cmd = [str(Path(sys.executable).parent / "nnkit-course"), "--course-dir",
               str(plan.root), "report", "--html", str(Path(d) / "html")]
        t = time.perf_counter()
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if res.returncode:
            print(res.stdout[-2000:], res.stderr[-4000:])
            return 1
        html = Path(d) / "html" / "report.html"
        print(f"nnkit-course report --html: {wall:.1f} s wall on {os.cpu_count()} core(s) "
              f"({html.stat().st_size / 1e6:.1f} MB page)")
        on_top = 0
        for section in res.stdout.split("\n== "):
            a = section.lstrip("= ").split(":", 1)[0]
            rows = section.split("most similar submissions", 1)[-1].splitlines()[3:]
            pairs = [frozenset(r.split()[:2]) for r in rows if len(r.split()) == 6]
            want = {frozenset(p) for p in plan.copies.get(a, [])}
            on_top += len(set(pairs[:len(want)]) & want)
        n = sum(len(p) for p in plan.copies.values())
        print(f"copied pairs ranked above every independent pair of their assignment: "
              f"{on_top} of {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
