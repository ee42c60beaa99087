"""The ``nnkit-course`` console script: :func:`nnkit.course.cli.main`, with one guard around it.

The instructor's tools need the ``course`` extra (nbgrader, Dask, distributed); a plain
``pip install nnkit`` (the student's install) does not bring them. Run without them, the command
says which extra to install instead of printing a traceback (``--help`` still works: the
arguments are declared in :mod:`nnkit.course.parser`, which needs nothing more than argparse).
"""
from __future__ import annotations

import sys

EXTRA_HINT = "pip install 'nnkit[course]'"


def missing_extra_message(error: ModuleNotFoundError) -> str:
    missing = error.name or str(error)
    return (f"nnkit-course: error: the instructor's tools need the 'course' extra "
            f"(nbgrader, dask, distributed), which is not installed (no module named {missing!r}).\n"
            f"Install it with: {EXTRA_HINT}   (from a clone of the course: pip install -e '.[course]')")


def main(argv: list[str] | None = None) -> int:
    try:
        from .cli import main as cli_main

        return cli_main(argv)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] == "nnkit":  # our own bug, not a missing extra
            raise
        args = sys.argv[1:] if argv is None else list(argv)
        if "-h" in args or "--help" in args:
            from .parser import build_parser
            build_parser().parse_args(args)      # prints the help and exits
        print(missing_extra_message(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
