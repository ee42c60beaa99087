"""Shared test set-up: a headless matplotlib backend and the venv's bin first on PATH, the markers
that imply ``slow``, and the fixtures several test files use (figures closed after each test, the
session's book build, torch on one thread, a widget's picture)."""
import os
import sys
from pathlib import Path

import matplotlib

os.environ.setdefault("MPLBACKEND", "Agg")  # for the subprocesses too (the book build drops it)
matplotlib.use("Agg")                       # headless, whatever MPLBACKEND said

# nbgrader shells out to `alembic` and Jupyter looks kernels up on PATH: the interpreter's bin first.
_bin = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _bin:
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


import pytest

#: markers whose tests are slow by nature: they get ``slow`` too, so ``-m "not slow"`` leaves them out
IMPLY_SLOW = ("sandbox", "browser", "book")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if not item.get_closest_marker("slow") and any(item.get_closest_marker(m) for m in IMPLY_SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test leaves no figure open (pyplot keeps them all otherwise)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def book_build():
    """The session's single cold build of the book (tests/book_build.py), shared by test_book.py,
    test_book_launch.py and test_browser.py: built by the first test that asks for it."""
    try:
        from book_build import session_build
    except ImportError:  # tests/ imported as a package
        from tests.book_build import session_build
    return session_build()


@pytest.fixture
def widget_png():
    """``widget_png(w)``: the PNG (base64) a widget's output area shows, or None."""
    def png(widget):
        outs = widget.output.outputs
        return outs[0]["data"]["image/png"] if len(outs) == 1 else None
    return png


@pytest.fixture
def torch_one_thread():
    """Tiny torch models run faster on one thread (no OpenMP overhead, no stalls on a busy machine)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
