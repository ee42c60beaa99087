"""The arguments of ``nnkit-course`` (argparse only: ``--help`` works without the course extra)."""
from __future__ import annotations

import argparse

#: what ``nnkit-course`` is, shown by ``--help``
DESCRIPTION = "``nnkit-course``: from the LMS download to grades and feedback, on top of nbgrader."

LMS = ["canvas", "moodle", "blackboard", "folder"]


def _sub(sub, name: str, help: str, example: str):
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog="example:\n  " + example.replace("\n", "\n  "),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nnkit-course", description=DESCRIPTION,
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
