"""The graded assignments: solutions/, exercises/ and their autograding with nbgrader.

A temporary copy of the course (nbgrader_config.py + solutions/) is built once per
test session.  For each assignment, one in-process nbgrader autograde run grades
several "students" together: the solution, the untouched released exercise,
one copy of the solution per mutation of tests/assignment_mutations.py, and
"again-" twins (the solution again, and for the torch assignments two wrong
variants again) whose grades and messages must be identical to the first run's.
"""
import copy
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from assignment_mutations import MUTATIONS
from cheat_mutations import CHEATS

# answers that call nnkit's own implementation are graded like the planted mistakes
MUTATIONS = {a: MUTATIONS.get(a, []) + CHEATS.get(a, []) for a in {*MUTATIONS, *CHEATS}}

REPO = Path(__file__).resolve().parents[1]
CONFIG = runpy.run_path(str(REPO / "nbgrader_config.py"), init_globals={"get_config": Config})
ASSIGNMENTS = CONFIG["ASSIGNMENTS"]
# nbgrader's gradebook triggers SQLAlchemy warnings about its own session handling
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
BUILT = [a for a in ASSIGNMENTS if (REPO / "solutions" / a / f"{a}.ipynb").exists()]


def _nb_path(folder, a):
    return folder / a / f"{a}.ipynb"


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _grade_cells(nb):
    return [c for c in nb.cells if _nbgrader(c).get("grade")]


def _test_cells(nb):
    return [c for c in nb.cells if _nbgrader(c).get("grade") and c.cell_type == "code"]


# --- the temporary course and its gradebook --------------------------------------

# The tests that use it (nbgrader generate_assignment, then autograde runs the notebooks) are `slow`;
# the checks of the committed notebooks alone are not.
@pytest.fixture(scope="session")
def course(tmp_path_factory):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions", root / "solutions")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    assert config.CourseDirectory.root == str(root)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    for a in BUILT:
        result = api.generate_assignment(a, force=True)
        assert result["success"], result.get("error") or result.get("log")
    return api, root


def _mutate(nb, mutations):
    nb = copy.deepcopy(nb)
    for mutation in mutations:
        cells = [c for c in nb.cells if _nbgrader(c).get("grade_id") == mutation.cell]
        assert len(cells) == 1, f"{mutation.name}: no solution cell {mutation.cell!r}"
        assert cells[0].source.count(mutation.old) == 1, f"{mutation.name}: {mutation.old!r} not found once"
        cells[0].source = cells[0].source.replace(mutation.old, mutation.new)
    return nb


_SCORES = {}
_MESSAGES = {}
#: assignments that train or check against torch: two wrong variants of each are graded twice too
TORCH = ("mlp_mnist", "cnn_rnn", "transfer_learning")


def _twins(a):
    """The students graded a second time: the solution and, for torch assignments, two wrong variants."""
    wrong = sorted({m.student for m in MUTATIONS.get(a, []) if m.breaks})
    return ["solution"] + (wrong[:2] if a in TORCH else [])


def _messages(path):
    """{grade_id: what the graded cell printed and raised} of an autograded notebook."""
    out = {}
    for cell in _read(path).cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("grade"):
            text = []
            for o in cell.get("outputs", []):
                if o.get("output_type") == "stream":
                    text.append(o.get("text", ""))
                elif o.get("output_type") == "error":
                    text.append(f"{o.get('ename')}: {o.get('evalue')}")
            out[_nbgrader(cell)["grade_id"]] = "".join(text)
    return out


def messages(course, a):
    """{student: {grade_id: output text}} of the autograding run of ``scores``."""
    scores(course, a)
    return _MESSAGES[a]


def scores(course, a):
    """{student: {grade_id: (auto_score, max_score)}} of the autograded code cells, graded once."""
    if a in _SCORES:
        return _SCORES[a]
    api, root = course
    submissions = {"solution": _read(_nb_path(root / "solutions", a)),
                   "exercise": _read(_nb_path(root / "exercises", a))}
    for student in {m.student for m in MUTATIONS.get(a, [])}:
        submissions[student] = _mutate(submissions["solution"], [m for m in MUTATIONS[a] if m.student == student])
    for student in _twins(a):
        submissions[f"again-{student}"] = submissions[student]
    for student, nb in submissions.items():
        path = root / "submitted" / student / a / f"{a}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
    result = api.autograde(a, "*")
    assert result["success"], result.get("error") or result.get("log")
    gradebook = api.gradebook
    try:
        _SCORES[a] = {
            student: {g.name: (g.auto_score, g.max_score)
                      for g in gradebook.find_submission_notebook(a, a, student).grades
                      if g.cell_type == "code"}
            for student in submissions}
    finally:
        gradebook.close()
    _MESSAGES[a] = {student: _messages(_nb_path(root / "autograded" / student, a)) for student in submissions}
    return _SCORES[a]


# --- structure of the notebooks ----------------------------------------------------

def test_every_assignment_is_built():
    assert BUILT == ASSIGNMENTS, f"missing solutions for {sorted(set(ASSIGNMENTS) - set(BUILT))}"


@pytest.mark.parametrize("a", BUILT)
def test_notebook_structure(a):
    nb = _read(_nb_path(REPO / "solutions", a))
    graded = _grade_cells(nb)
    assert 2 <= len(graded) <= 6, f"{a}: {len(graded)} graded parts, expected 2 to 6"
    written = [c for c in graded if c.cell_type == "markdown"]
    assert written, f"{a}: no manually graded written answer"
    assert all(_nbgrader(c).get("points", 0) > 0 for c in graded)
    for cell in _test_cells(nb):
        grade_id = _nbgrader(cell)["grade_id"]
        # every graded check is declarative: it goes through nnkit.grading, never a bare assert
        assert "grading.check_" in cell.source, f"{a}/{grade_id} does not call nnkit.grading"
        assert not re.search(r"^\s*assert\b", cell.source, re.M), f"{a}/{grade_id} has a bare assert"
        assert "### BEGIN HIDDEN TESTS" in cell.source or "check_values" in cell.source, \
            f"{a}/{grade_id}: no hidden cases"
    ids = [c.get("id") for c in nb.cells]
    assert len(set(ids)) == len(ids), f"{a}: duplicated cell ids"


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
@pytest.mark.parametrize("a", BUILT)
def test_committed_without_outputs(a, folder):
    nb = _read(_nb_path(REPO / folder, a))
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{folder}/{a} has outputs"


@pytest.mark.slow
@pytest.mark.parametrize("a", BUILT)
def test_exercises_are_what_generate_assignment_makes(course, a):
    _, root = course
    committed, generated = _read(_nb_path(REPO / "exercises", a)), _read(_nb_path(root / "exercises", a))
    assert [(c.cell_type, c.get("id"), c.source, c.metadata) for c in committed.cells] == \
           [(c.cell_type, c.get("id"), c.source, c.metadata) for c in generated.cells], \
        f"exercises/{a} is stale: run `nbgrader generate_assignment {a} --force` and commit the result"
    assert committed.metadata == generated.metadata
    committed_files = sorted(p.relative_to(REPO / "exercises" / a) for p in (REPO / "exercises" / a).rglob("*"))
    generated_files = sorted(p.relative_to(root / "exercises" / a) for p in (root / "exercises" / a).rglob("*"))
    assert committed_files == generated_files


def _regions(source, begin, end):
    return re.findall(rf"{re.escape(begin)}\n(.*?){re.escape(end)}", source, re.S)


@pytest.mark.parametrize("a", BUILT)
def test_no_solution_or_hidden_test_reaches_exercises(a):
    solution = _read(_nb_path(REPO / "solutions", a))
    text = "\n".join(c.source for c in _read(_nb_path(REPO / "exercises", a)).cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    secret = []
    for cell in solution.cells:
        secret += _regions(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
        secret += _regions(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        if _nbgrader(cell).get("solution") and cell.cell_type == "markdown":
            secret.append(cell.source)
    public = "\n".join(re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", "", c.source, flags=re.S)
                       for c in solution.cells if not (_nbgrader(c).get("solution") and c.cell_type == "markdown"))
    leaked = [line.strip() for region in secret for line in region.splitlines()
              if len(line.strip()) > 12 and line.strip() not in public and line.strip() in text]
    assert not leaked, f"exercises/{a} contains solution or hidden-test lines: {leaked[:3]}"


# --- autograding ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("a", BUILT)
def test_solution_gets_full_marks(course, a):
    got = scores(course, a)["solution"]
    nb = _read(_nb_path(REPO / "solutions", a))
    assert set(got) == {_nbgrader(c)["grade_id"] for c in _test_cells(nb)}
    lost = {cell: s for cell, s in got.items() if s[0] != s[1]}
    assert not lost, f"the solution of {a} loses points: {lost}"


@pytest.mark.slow
@pytest.mark.parametrize("a", BUILT)
def test_untouched_exercise_gets_zero(course, a):
    got = scores(course, a)["exercise"]
    assert got and all(auto == 0 for auto, _ in got.values()), got


MUTATION_CASES = [(a, mutation) for a in BUILT for mutation in MUTATIONS.get(a, [])]


@pytest.mark.parametrize("a", BUILT)
def test_at_least_five_mutations(a):
    planted = [m for m in MUTATIONS.get(a, []) if m.breaks]
    assert len(planted) >= 5, f"{a}: {len(planted)} planted mistakes"
    assert all(m.says for m in planted), f"{a}: mutations without the words their message must contain"


@pytest.mark.slow
@pytest.mark.parametrize("a,mutation", MUTATION_CASES, ids=[f"{a}-{m.name}" for a, m in MUTATION_CASES])
def test_mutation_loses_exactly_its_part(course, a, mutation):
    """Each planted mistake loses its part, with a message that names it in the first lines
    (``nbgrader validate`` cuts lines at about 85 characters, the first after "AssertionError: ");
    a mutation with no ``breaks`` follows a hint of the notebook literally and keeps full marks."""
    got = scores(course, a)[mutation.student]
    assert mutation.breaks <= set(got), f"unknown test cells {mutation.breaks - set(got)}"
    together = frozenset().union(*(m.breaks for m in MUTATIONS[a] if m.student == mutation.student))
    wrong = {cell: s for cell, s in got.items()
             if (cell in mutation.breaks and s[0] != 0) or (cell not in together and s[0] != s[1])}
    assert not wrong, f"{a}/{mutation.name}: expected to lose exactly {sorted(together)}, got {got}"
    said = messages(course, a)[mutation.student]
    for cell in mutation.breaks:
        error = said[cell][said[cell].find("AssertionError: "):] if "AssertionError: " in said[cell] else said[cell]
        flat = " ".join(error.split())  # the message is read across its (wrapped) lines
        for words in mutation.says:
            assert " ".join(words.split()) in flat, \
                f"{a}/{mutation.name}: {words!r} not in the message of {cell}:\n{said[cell]}"
        if error.startswith("AssertionError: "):
            lines = error.splitlines()
            assert len(lines[0]) <= 84 and all(len(line) <= 84 for line in lines[1:]), \
                f"{a}/{mutation.name}: a line of the message is longer than validate shows:\n{error}"


@pytest.mark.slow
@pytest.mark.parametrize("a", BUILT)
def test_grades_are_reproducible(course, a):
    """The same notebook graded twice gets the same scores and the same messages."""
    got, said = scores(course, a), messages(course, a)
    for student in _twins(a):
        assert got[f"again-{student}"] == got[student], f"{a}/{student}: different scores when graded again"
        assert said[f"again-{student}"] == said[student], f"{a}/{student}: different messages when graded again"
    if a in TORCH:
        assert any(s[0] != s[1] for s in got[_twins(a)[1]].values()), "the wrong variants must lose points"


@pytest.mark.slow
def test_nbgrader_validate(tmp_path):
    """`nbgrader validate` passes on a correct notebook and fails, naming the part, on the exercise."""
    a = BUILT[0]
    for folder in ("solutions", "exercises"):
        shutil.copy(_nb_path(REPO / folder, a), tmp_path / f"{folder}.ipynb")
    ok = subprocess.run(["nbgrader", "validate", "solutions.ipynb"], cwd=tmp_path, capture_output=True,
                        text=True, timeout=300)
    assert "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout + ok.stderr
    bad = subprocess.run(["nbgrader", "validate", "exercises.ipynb"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert "VALIDATION FAILED" in bad.stdout and "NotImplementedError" in bad.stdout, bad.stdout
