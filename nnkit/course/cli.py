"""``nnkit-course``: from the LMS download to grades and feedback, on top of nbgrader.

Run it in the course folder (the one with ``nbgrader_config.py``)::

    nnkit-course release [ASSIGNMENT...]
    nnkit-course collect ASSIGNMENT ZIP_OR_FOLDER
    nnkit-course autograde [ASSIGNMENT...] [--workers N] [--student ID] [--force]
                           [--scheduler tcp://HOST:PORT] [--unsafe]
    nnkit-course grades [--csv FILE]
    nnkit-course feedback [ASSIGNMENT...] [--hide-hidden-tests]
    nnkit-course status
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import Course, CourseError, ensure_path_env


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnkit-course", description=__doc__.split("\n\n")[0])
    p.add_argument("--course-dir", default=None, metavar="DIR",
                   help="the course folder (holding nbgrader_config.py); default: here")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("release", help="generate exercises/ from solutions/, record in gradebook")
    r.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")

    c = sub.add_parser("collect", help="import submissions from an LMS zip or a folder")
    c.add_argument("assignment", metavar="ASSIGNMENT")
    c.add_argument("source", metavar="ZIP_OR_FOLDER")

    a = sub.add_parser("autograde", help="grade every submission not graded yet, in parallel")
    a.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    a.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: the number of cores)")
    a.add_argument("--student", action="append", default=None, metavar="ID",
                   help="grade only this student (repeatable)")
    a.add_argument("--force", action="store_true", help="grade again what is already graded")
    a.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="use a running Dask cluster instead of a local one")
    a.add_argument("--unsafe", action="store_true",
                   help="run students' code WITHOUT the sandbox where it is unavailable")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")

    g = sub.add_parser("grades", help="scores per student, assignment and part")
    g.add_argument("--csv", default=None, metavar="FILE", help="write them to FILE as CSV")

    f = sub.add_parser("feedback", help="nbgrader's HTML feedback per student")
    f.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    f.add_argument("--hide-hidden-tests", action="store_true",
                   help="leave the hidden tests' code out of the feedback")

    sub.add_parser("status", help="what is released, collected, graded, fed back")
    return p


def _autograde(course: Course, args) -> int:
    from . import sandbox as sb
    from .engine import run_autograde
    from .report import autograde_table
    names = course.check_assignments(args.assignments)
    if args.workers is not None and args.workers < 1:
        raise CourseError("--workers must be at least 1")
    sandbox = sb.sandbox_settings(course, unsafe=args.unsafe, out=sys.stderr)
    rows = run_autograde(course, names, workers=args.workers, students=args.student,
                         force=args.force, scheduler=args.scheduler, sandbox=sandbox,
                         progress=not args.no_progress)
    if rows:
        print(autograde_table(rows))
        bad = sum(r.status != "ok" for r in rows)
        print(f"\n{len(rows)} submission(s) graded, {bad} with problems (see status); "
              f"grades: `nnkit-course grades`, manual grading: `nbgrader formgrader`")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ensure_path_env()
    try:
        course = Course(args.course_dir)
        if args.command == "release":
            from .steps import release
            names = course.check_assignments(args.assignments, released=False)
            for a in release(course, names, out=sys.stderr):
                print(f"released {a} -> {course.release_dir / a}")
        elif args.command == "collect":
            from .collect import collect
            course.check_assignments([args.assignment])
            report = collect(course, args.assignment, args.source)
            print("\n".join(report.lines()))
        elif args.command == "autograde":
            return _autograde(course, args)
        elif args.command == "grades":
            from .report import grades_csv, grades_summary
            if not course.gradebook_exists():
                raise CourseError(f"no gradebook ({course.db_url}): run `nnkit-course release` first")
            if args.csv:
                path = Path(args.csv)
                tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
                tmp.write_text(grades_csv(course))
                os.replace(tmp, path)
                print(f"wrote {path}")
            print(grades_summary(course))
        elif args.command == "feedback":
            from .steps import feedback
            names = course.check_assignments(args.assignments)
            for a, n in feedback(course, names, hide_hidden_tests=args.hide_hidden_tests).items():
                print(f"feedback for {a}: {n} student(s) -> {course.feedback_dir}/<student>/{a}/")
        elif args.command == "status":
            from .report import status
            print(status(course))
    except CourseError as e:
        print(f"nnkit-course: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nnkit-course: interrupted; what was graded is saved, run the same command again to "
              "resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
