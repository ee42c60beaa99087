"""Shared test set-up: a headless matplotlib backend and the venv's bin first on PATH."""
import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

# nbgrader shells out to `alembic` and Jupyter looks kernels up on PATH: the interpreter's bin first.
_bin = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _bin:
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


import pytest


@pytest.fixture
def torch_one_thread():
    """Tiny torch models run faster on one thread (no OpenMP overhead, no stalls on a busy machine)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
