"""The two ways to install the course (pip via pyproject.toml, conda via environment.yml) agree."""
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> tuple[str, str]:
    req = Requirement(spec)
    name = req.name.lower().replace("_", "-")
    return name, str(req.specifier)


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return dict(_normalise(s) for s in specs)


def conda_requirements() -> tuple[str, dict[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    specs = [s for s in pip_block if not s.startswith("-e")]
    return python, dict(_normalise(s) for s in specs)


def test_environment_yml_matches_pyproject():
    python, conda = conda_requirements()
    pip = pyproject_requirements()
    missing = sorted(set(pip) - set(conda))
    extra = sorted(set(conda) - set(pip))
    differ = sorted(n for n in set(pip) & set(conda) if pip[n] != conda[n])
    assert not (missing or extra or differ), (
        f"environment.yml and pyproject.toml disagree: missing in environment.yml {missing}, "
        f"not in pyproject.toml {extra}, different versions {[(n, pip[n], conda[n]) for n in differ]}"
    )
    assert python == "python=3.11"


def test_torch_is_pinned_to_the_cpu_wheel_version():
    assert pyproject_requirements()["torch"] == "==2.13.0"


def test_python_version_is_311():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "3.11" in project["requires-python"]


def test_installed_environment_has_no_cuda_packages():
    from importlib.metadata import distributions

    cuda = sorted(d.metadata["Name"] for d in distributions() if d.metadata["Name"].lower().startswith("nvidia-"))
    assert not cuda, f"CUDA packages were installed (torch must come from its CPU build): {cuda}"
