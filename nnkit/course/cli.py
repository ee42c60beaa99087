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

import argparse
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
from .release import release
from .report import autograde_table, grades_file, grades_summary, status
from .roster import import_roster

LMS = ["canvas", "moodle", "blackboard", "folder"]


def _sub(sub, name: str, help: str, example: str):
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog="example:\n  " + example.replace("\n", "\n  "),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnkit-course", description=__doc__.split("\n\n")[0],
                                epilog="example:\n  nnkit-course collect perceptron "
                                       "submissions.zip --lms canvas\n"
                                       "`nnkit-course COMMAND --help` shows each command's options",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--course-dir", default=None, metavar="DIR",
                   help="the course folder (holding nbgrader_config.py); default: here")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = _sub(sub, "release", "generate exercises/ from solutions/, record in gradebook",
             "nnkit-course release perceptron --duedate '2026-11-20 23:59:00 UTC'")
    r.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    r.add_argument("--duedate", default=None, metavar="WHEN",
                   help="the due date of these assignments (nbgrader's duedate: submissions "
                        "after it are late, penalised by c.LateSubmissionPlugin)")

    ro = _sub(sub, "roster", "import the class list (nbgrader's db student import)",
              "nnkit-course roster import canvas-gradebook-export.csv")
    ro.add_argument("action", choices=["import"], help="import: read the CSV into the gradebook")
    ro.add_argument("file", metavar="ROSTER_CSV",
                    help="id, first_name, last_name, email; or the LMS's own export")

    c = _sub(sub, "collect", "import submissions from an LMS zip or a folder",
             "nnkit-course collect perceptron submissions.zip --lms canvas\n"
             "nnkit-course collect perceptron moodle-download.zip --lms moodle --dry-run")
    c.add_argument("assignment", metavar="ASSIGNMENT")
    c.add_argument("source", metavar="ZIP_OR_FOLDER")
    c.add_argument("--lms", choices=LMS, default="folder",
                   help="how the download names files (default: folder, "
                        "<student>_<notebook>.ipynb)")
    c.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    c.add_argument("--allow-unmatched", action="store_true",
                   help="collect the rest when some files match no student or notebook")
    c.add_argument("--max-entry-mb", type=float, default=None, metavar="MB",
                   help="largest file extracted from a zip (default: c.Collect.max_entry_mb, 64)")
    c.add_argument("--max-total-mb", type=float, default=None, metavar="MB",
                   help="largest download, uncompressed (default: c.Collect.max_total_mb, 2048)")

    a = _sub(sub, "autograde", "grade every submission not graded yet, in parallel",
             "nnkit-course autograde perceptron --workers 2")
    a.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    a.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: the number of cores)")
    a.add_argument("--student", action="append", default=None, metavar="ID",
                   help="grade only this student (repeatable)")
    a.add_argument("--force", action="store_true",
                   help="grade again what is already graded (an interrupted --force run "
                        "continues where it stopped)")
    a.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="use a running Dask cluster instead of a local one")
    a.add_argument("--unsafe", action="store_true",
                   help="run students' code WITHOUT the sandbox where it is unavailable")
    a.add_argument("--no-progress", action="store_true", help="no progress bar")

    g = _sub(sub, "grades", "one row per student: assignments, late penalties, course total",
             "nnkit-course grades --format canvas --output grades-canvas.csv")
    g.add_argument("--format", choices=["csv", "canvas", "moodle"], default=None,
                   help="csv: every part and status; canvas / moodle: the LMS's grade import")
    g.add_argument("--output", "-o", default=None, metavar="FILE", help="write the file here")
    g.add_argument("--csv", default=None, metavar="FILE", help="same as --format csv --output FILE")

    f = _sub(sub, "feedback", "nbgrader's HTML feedback per student (maths works offline)",
             "nnkit-course feedback perceptron --zip --lms canvas")
    f.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help="default: every assignment with grades")
    f.add_argument("--show-hidden-tests", action="store_true",
                   help="include the hidden tests' code (left out by default)")
    f.add_argument("--hide-hidden-tests", action="store_true", help=argparse.SUPPRESS)
    f.add_argument("--allow-ungraded", action="store_true",
                   help="send feedback even while written answers wait for hand grading")
    f.add_argument("--zip", action="store_true",
                   help="also write feedback/<assignment>-<lms>.zip, one file per student, named for "
                        "the LMS's bulk upload")
    f.add_argument("--lms", choices=LMS, default=None,
                   help="layout of the zip (default: the LMS the submissions were collected from)")

    d = _sub(sub, "dist", "write the student course (no solutions, hidden tests or references)",
             "nnkit-course dist ../nnkit-student --repository-url https://github.com/ORG/nnkit-student")
    d.add_argument("out", metavar="OUT", help="an empty folder outside the course: the public repository")
    d.add_argument("--force", action="store_true", help="replace the contents of a non-empty OUT")
    d.add_argument("--repository-url", default=None, metavar="URL",
                   help="where OUT will be published (the book's launch buttons and the install line "
                        "point there; default: repository.url of book/_config.yml)")
    d.add_argument("--no-progress", action="store_true", help="no progress bar")

    rp = _sub(sub, "report", "item analysis, common failures and similar submissions per assignment",
              "nnkit-course report perceptron backprop --html class-report")
    rp.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                    help="default: every released assignment")
    rp.add_argument("--html", default=None, metavar="DIR",
                    help="also write DIR/report.html: figures and the matching code side by side, "
                         "one self-contained page that works offline")
    rp.add_argument("--pairs", type=int, default=10, metavar="N",
                    help="similar pairs listed per assignment (default 10)")

    s = _sub(sub, "status", "what is released, collected, graded, fed back",
             "nnkit-course status --details perceptron")
    s.add_argument("--details", nargs="?", const="", default=None, metavar="ASSIGNMENT",
                   help="also each student with a problem and why")
    return p


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
    args = _parser().parse_args(argv)
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
