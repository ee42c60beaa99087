"""`nnkit-course` without the "course" extra (nbgrader, dask, distributed) says which extra to install."""
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run nnkit-course's entry point in a fresh interpreter where nbgrader, dask and distributed
# cannot be imported, as after a plain `pip install nnkit`.
WITHOUT_COURSE_EXTRA = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"nbgrader", "dask", "distributed"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from nnkit.course.entry import main
sys.exit(main(sys.argv[1:]))
"""


def _run(*args):
    return subprocess.run([sys.executable, "-c", WITHOUT_COURSE_EXTRA, *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_console_script_is_the_guarded_entry_point():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["nnkit-course"].split("#")[0].strip() == "nnkit.course.entry:main"


def test_without_the_course_extra_the_command_names_the_extra(tmp_path):
    # a course folder of its own (only the config), so nothing in the repository can change
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    for command in (["release"], ["autograde", "--unsafe"], ["feedback"]):
        proc = _run("--course-dir", str(tmp_path), *command)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert "pip install 'nnkit[course]'" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert _run("--help").returncode == 0  # what needs no extra still works
