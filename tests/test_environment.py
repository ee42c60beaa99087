"""How the course installs: the package's metadata, its extras per audience, and the project's own
set-up (Makefile + constraints.txt, environment.yml, the Binder files) agree with each other.
"""
import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]
HEAVY = ("nbgrader", "dask", "distributed", "jupyter-book", "playwright", "pytest")


def _normalise(spec: str) -> tuple[str, str]:
    req = Requirement(spec)
    return canonicalize_name(req.name), str(req.specifier)


def _expand(specs) -> list[str]:
    """The specs, with the self-references ``nnkit[a,b]`` replaced by those extras' specs."""
    out = []
    for s in specs:
        req = Requirement(s)
        if canonicalize_name(req.name) == "nnkit":
            for extra in sorted(req.extras):
                out += _expand(EXTRAS[extra])
        else:
            out.append(s)
    return out


def pyproject_requirements(*extras: str) -> dict[str, str]:
    """Name -> version specifier of the package's dependencies plus the given extras (expanded)."""
    specs = list(PROJECT["dependencies"])
    for extra in extras:
        specs += _expand(EXTRAS[extra])
    return dict(_normalise(s) for s in specs)


def constraints() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    specs = [line.split("#")[0].strip() for line in lines]
    return dict(_normalise(s) for s in specs if s)


def conda_environment() -> tuple[str, list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return python, pip_block


# ---------------------------------------------------------------- the package's metadata


def test_python_311_and_later_no_upper_cap():
    assert PROJECT["requires-python"] == ">=3.11"


def test_torch_is_a_range_in_the_metadata_and_pinned_only_in_constraints():
    assert pyproject_requirements()["torch"] == ">=2.2", "the package must not pin torch (it would "
    "replace the torch of Colab or a JupyterHub image)"
    for extra in EXTRAS:
        assert "==" not in pyproject_requirements(extra)["torch"]
    assert constraints()["torch"] == "==2.13.0"


def test_extras_by_audience():
    student = set(pyproject_requirements())
    assert {"numpy", "matplotlib", "ipywidgets", "torch", "tqdm", "scikit-learn", "mlxtend",
            "pooch"} <= student
    assert not student & set(HEAVY), f"the plain package pulls {sorted(student & set(HEAVY))}"
    book = set(pyproject_requirements("book")) - student
    course = set(pyproject_requirements("course")) - student
    assert {"jupyter-book", "myst-nb"} <= book and not book & {"nbgrader", "dask", "distributed"}
    assert {"nbgrader", "dask", "distributed"} <= course and "jupyter-book" not in course
    dev = set(pyproject_requirements("dev"))
    assert (book | course | {"pytest", "pytest-timeout", "playwright"}) <= dev
    assert set(pyproject_requirements("book", "course")) | {"pytest", "pytest-timeout", "playwright"} == dev


def _closure(name: str, extras=frozenset()) -> set[str]:
    """Distributions that installing ``name[extras]`` pulls in, read from the installed metadata
    (markers evaluated for this interpreter); names not installed here are kept, not followed."""
    seen, todo = set(), [(canonicalize_name(name), frozenset(extras))]
    while todo:
        n, ex = todo.pop()
        if (n, ex) in seen:
            continue
        seen.add((n, ex))
        try:
            requires = distribution(n).requires or []
        except PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            envs = [dict(default_environment(), extra=e) for e in (ex or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return {n for n, _ in seen}


def test_plain_install_pulls_no_instructor_book_or_test_tools():
    """`pip install nnkit` (no extra): nothing of nbgrader, dask, jupyter-book, playwright, pytest,
    directly or through a dependency (the installed metadata's dependency graph)."""
    try:
        distribution("nnkit")
    except PackageNotFoundError:
        pytest.skip("nnkit is not installed in this interpreter (run from a checkout)")
    extras = set(distribution("nnkit").metadata.get_all("Provides-Extra") or [])
    assert extras == set(EXTRAS), (f"the installed nnkit's metadata (extras {sorted(extras)}) is not "
                                   "pyproject.toml's: run `make venv` to install it again")
    pulled = _closure("nnkit")
    assert not pulled & set(HEAVY), f"`pip install nnkit` pulls {sorted(pulled & set(HEAVY))}"
    assert {"numpy", "matplotlib", "pooch"} <= pulled
    assert "nbgrader" in _closure("nnkit", {"course"}) and "jupyter-book" in _closure("nnkit", {"book"})


# ---------------------------------------------------------------- the project's own set-up


def test_makefile_installs_dev_with_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    install = [line for line in makefile.splitlines() if "pip install" in line]
    assert install and all("-c constraints.txt" in line and "'.[dev]'" in line for line in install)
    assert re.search(r"^\$\(STAMP\):.*constraints\.txt", makefile, re.M), (
        "the venv must be refreshed when constraints.txt changes")


def test_environment_yml_matches_pyproject_and_constraints():
    python, pip_block = conda_environment()
    assert python == "python=3.11"
    assert "-c constraints.txt" in pip_block and "-e ." in pip_block
    conda = dict(_normalise(s) for s in pip_block if not s.startswith("-"))
    pip = pyproject_requirements("dev")
    missing = sorted(set(pip) - set(conda))
    extra = sorted(set(conda) - set(pip))
    differ = sorted(n for n in set(pip) & set(conda) if pip[n] != conda[n])
    assert not (missing or extra or differ), (
        f"environment.yml and pyproject.toml disagree: missing in environment.yml {missing}, "
        f"not in pyproject.toml {extra}, different versions {[(n, pip[n], conda[n]) for n in differ]}"
    )


def test_binder_installs_the_plain_package_with_a_cpu_torch():
    """Binder (repo2docker) reads binder/; its torch must come from PyTorch's CPU index."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    torch = [line for line in lines if re.match(r"torch\b", line)]
    assert torch == ["torch==2.13.0+cpu"], torch
    assert "." in lines  # the package itself, without extras
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "binder/" not in (ROOT / "Makefile").read_text()  # never installed by the project's set-up


def test_installed_environment_has_no_cuda_packages():
    from importlib.metadata import distributions

    cuda = sorted(d.metadata["Name"] for d in distributions() if d.metadata["Name"].lower().startswith("nvidia-"))
    assert not cuda, f"CUDA packages were installed (torch must come from its CPU build): {cuda}"
