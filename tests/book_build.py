"""One cold build of the book per test session, shared by test_book.py and test_browser.py.

The book is built from ``book/`` with ``jupyter-book build --path-output <tmp>`` so the build
folder, the jupyter-cache and the executed notebooks all start empty (a cold build), with
``NNKIT_STATIC=1`` (widgets render as static figures and animations) and
``--warningiserror --keep-going`` as ``make book`` does.

The build goes to ``book/_build/test/`` (git-ignored, wiped at the start of each session, kept
afterwards so a maintainer can open ``_build/html`` and the browser test's ``screenshots/``);
set ``NNKIT_BOOK_OUTPUT=/some/dir`` to build elsewhere (e.g. two test sessions at once).
``NNKIT_BOOK_REUSE=1`` reuses the build already in that folder instead of building again (to
iterate on the browser checks; it is then not a cold build, and the build time is the old one).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
# A cold build must take well under 5 minutes on 2 cores; this only guards against a hang.
BUILD_TIMEOUT_S = 15 * 60
# pytest-timeout's limit for a test that may be the one to trigger the session's build (the default
# in pyproject.toml, 600 s, is shorter than the build's own guard).
TEST_TIMEOUT_S = BUILD_TIMEOUT_S + 5 * 60
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WARNING = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE):")


@dataclass(frozen=True)
class BookBuild:
    output: Path        # the --path-output folder
    html: Path          # <output>/_build/html
    returncode: int
    log: str            # stdout + stderr of jupyter-book, ANSI colours removed
    seconds: float      # wall-clock time of the cold build

    @property
    def build_dir(self) -> Path:
        return self.html.parent

    def warnings(self) -> list[str]:
        """Sphinx warnings and errors in the log (kernel log lines excluded: ipykernel's own, and
        tornado's about a kernel's sockets as it shuts down, e.g. "Socket operation on non-socket")."""
        return [line for line in self.log.splitlines()
                if _WARNING.search(line) and not line.startswith(("[IPKernelApp]", "ERROR:tornado.general:"))]

    def page(self, docname: str) -> Path:
        return self.html / f"{docname}.html"


def toc_docnames(toc_file: Path = BOOK / "_toc.yml") -> list[str]:
    """Docnames of every page in the table of contents, in reading order (root first)."""
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or ():
            if "file" in entry:
                names.append(re.sub(r"\.(md|ipynb)$", "", entry["file"]))
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    walk(toc.get("sections"))
    return names


def is_notebook_page(docname: str) -> bool:
    """True when the page's source is a notebook (an .ipynb or a MyST text notebook)."""
    if (BOOK / f"{docname}.ipynb").exists():
        return True
    md = BOOK / f"{docname}.md"
    if not md.exists():
        return False
    text = md.read_text(encoding="utf-8")
    front_matter = text.split("\n---", 1)[0] if text.startswith("---") else ""
    return "kernelspec" in front_matter


def build_book(output: Path) -> BookBuild:
    """Build the whole book cold into ``output`` and return what happened."""
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    exe = Path(sys.executable).parent / "jupyter-book"
    if not exe.exists():
        pytest.fail(f"jupyter-book is not installed next to {sys.executable}: "
                    "run `make venv` (it installs nnkit[dev])")
    env = dict(os.environ, NNKIT_STATIC="1")
    env.pop("MPLBACKEND", None)  # the kernels must use the inline backend (conftest sets Agg)
    env["PATH"] = str(exe.parent) + os.pathsep + env.get("PATH", "")
    cmd = [str(exe), "build", str(BOOK), "--path-output", str(output),
           "--warningiserror", "--keep-going"]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the book build did not finish within {BUILD_TIMEOUT_S} s: {exc}")
    seconds = time.perf_counter() - start
    log = _ANSI.sub("", proc.stdout + "\n" + proc.stderr)
    (output / "build.log").write_text(log, encoding="utf-8")
    (output / "build_time.txt").write_text(f"{seconds:.1f} s cold build (jupyter-book, "
                                           f"{os.cpu_count()} CPUs)\n", encoding="utf-8")
    return BookBuild(output=output, html=output / "_build" / "html", returncode=proc.returncode,
                     log=log, seconds=seconds)


DEFAULT_OUTPUT = BOOK / "_build" / "test"


@functools.cache
def session_build() -> BookBuild:
    """The session's single cold build (the ``book_build`` fixture of tests/conftest.py)."""
    target = os.environ.get("NNKIT_BOOK_OUTPUT")
    output = Path(target).resolve() if target else DEFAULT_OUTPUT
    if os.environ.get("NNKIT_BOOK_REUSE") == "1" and (output / "build.log").is_file():
        log = (output / "build.log").read_text(encoding="utf-8")
        seconds = float((output / "build_time.txt").read_text().split()[0])
        ok = "build succeeded" in log and "finished with problems" not in log
        return BookBuild(output=output, html=output / "_build" / "html",
                         returncode=0 if ok else 1, log=log, seconds=seconds)
    build = build_book(output)
    print(f"\n[book] cold build: {build.seconds:.1f} s, return code {build.returncode}, "
          f"output {build.html}", file=sys.stderr)
    return build
