"""``nnkit-course``: from the LMS download to grades and feedback, on top of nbgrader.

Run it in the course folder (the one with ``nbgrader_config.py``); one term::

    nnkit-course release [ASSIGNMENT...] [--duedate "2026-11-20 23:59"]
    nnkit-course roster import roster.csv
    nnkit-course collect ASSIGNMENT ZIP_OR_FOLDER --lms canvas|moodle|blackboard|folder
    nnkit-course autograde [ASSIGNMENT...] [--workers N] [--student ID] [--force]
    nnkit-course status --details [ASSIGNMENT]
    jupyter lab       # Nbgrader -> Formgrader -> Manual Grading: the written answers
    nnkit-course feedback [ASSIGNMENT...] [--zip]
    nnkit-course grades --format canvas|moodle|csv --output grades.csv
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from nbgrader.utils import parse_utc

from ..files import atomic_write
from .autograde import run_autograde
from .class_report import run as class_report
from .collect import collect
from .coursedir import Course, CourseError, ensure_path_env
from .dist import write_dist
from .feedback import feedback, feedback_zip
from .gradebook import set_duedate
from .kernel import sandbox_settings
from .parser import build_parser
from .release import release
from .report import autograde_table, grades_file, grades_summary, status
from .roster import import_roster

def _autograde(course: Course, args) -> int:
    names = course.check_assignments(args.assignments)
    if args.workers is not None and args.workers < 1:
        raise CourseError("--workers must be at least 1")
    sandbox = sandbox_settings(course.config, unsafe=args.unsafe, out=sys.stderr)
    rows = run_autograde(course, names, workers=args.workers, students=args.student,
                         force=args.force, scheduler=args.scheduler, sandbox=sandbox,
                         progress=not args.no_progress)
    if rows:
        print(autograde_table(rows, course))
        bad = sum(r.status != "ok" for r in rows)
        print(f"\n{len(rows)} submission(s) graded, {bad} with problems "
              f"(`nnkit-course status --details` names them); grades: `nnkit-course grades`; "
              "written answers: the formgrader (`jupyter lab`, then Nbgrader -> Formgrader)")
    return 0


def _collect(course: Course, args) -> int:
    course.check_assignments([args.assignment])
    report = collect(course, args.assignment, args.source, lms=args.lms, dry_run=args.dry_run,
                     allow_unmatched=args.allow_unmatched, max_entry_mb=args.max_entry_mb,
                     max_total_mb=args.max_total_mb)
    print("\n".join(report.lines()))
    if report.problems and not args.allow_unmatched:
        print(f"nnkit-course: error: {report.problems} file(s) could not be collected (listed "
              "above); nothing was written. Fix them and collect again, or pass "
              "--allow-unmatched to collect the rest", file=sys.stderr)
        return 1
    if args.dry_run:
        print("(dry run: nothing was written)")
    return 0


def _grades(course: Course, args) -> int:
    if not course.gradebook_exists():
        raise CourseError(f"no gradebook ({course.db_url}): run `nnkit-course release` first")
    fmt, dest = args.format, args.output
    if args.csv:
        fmt, dest = fmt or "csv", args.csv
    if fmt is None and dest is None:
        print(grades_summary(course))
        return 0
    text, warnings = grades_file(course, fmt or "csv")
    if dest:
        path = atomic_write(dest, text)
        print(grades_summary(course))
        print(f"wrote {path} ({fmt or 'csv'} format, {len(text.splitlines()) - 1} row(s))")
    else:
        sys.stdout.write(text)
    for w in warnings:
        print(f"nnkit-course: warning: {w}", file=sys.stderr)
    return 0


def _feedback(course: Course, args) -> int:
    names = course.check_assignments(args.assignments)
    done = feedback(course, names, show_hidden_tests=args.show_hidden_tests,
                    allow_ungraded=args.allow_ungraded, explicit=bool(args.assignments),
                    out=sys.stdout)
    for a, students in done.items():
        print(f"feedback for {a}: {len(students)} student(s) -> "
              f"{course.feedback_dir}/<student>/{a}/")
        if args.zip:
            _, lines = feedback_zip(course, a, args.lms)
            print("\n".join(lines))
    if not done:
        print("no feedback written: nothing is graded yet (`nnkit-course autograde` first)")
    return 0


def _release(course: Course, args) -> int:
    names = course.check_assignments(args.assignments, released=False)
    when = None
    if args.duedate:
        try:
            when = parse_utc(args.duedate)
        except Exception:
            raise CourseError(f"--duedate {args.duedate!r}: expected a date and time such as "
                              "'2026-11-20 23:59:00 UTC'") from None
    for a in release(course, names, out=sys.stderr):
        print(f"released {a} -> {course.release_dir / a}")
        if when is not None:
            set_duedate(course, a, when)
            print(f"  due {when:%Y-%m-%d %H:%M} UTC")
    return 0


def _quiet_interrupt() -> None:
    """After Ctrl-C: no tracebacks from Dask's threads and processes on the way out."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        sys.stderr.flush()
    except Exception:
        pass


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ensure_path_env()
    try:
        course = Course(args.course_dir)
        if args.command == "release":
            return _release(course, args)
        elif args.command == "roster":
            print("\n".join(import_roster(course, args.file)))
        elif args.command == "collect":
            return _collect(course, args)
        elif args.command == "autograde":
            return _autograde(course, args)
        elif args.command == "grades":
            return _grades(course, args)
        elif args.command == "feedback":
            return _feedback(course, args)
        elif args.command == "dist":
            out = write_dist(course, Path(args.out), force=args.force, repository_url=args.repository_url,
                             progress=not args.no_progress)
            print(f"wrote the student course to {out}: push it as the public repository")
        elif args.command == "report":
            return class_report(course, args.assignments, html_dir=args.html, pairs=args.pairs)
        elif args.command == "status":
            if args.details:
                course.check_assignments([args.details], released=False)
            print(status(course, details=args.details is not None,
                         assignment=args.details or None))
    except CourseError as e:
        print(f"nnkit-course: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _quiet_interrupt()
        print("\nnnkit-course: interrupted; what was done is saved, run the same command again "
              "to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
