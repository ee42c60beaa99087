"""No credit for nnkit's own implementation of a graded part (nnkit.grading.policy), and the
instructor-only references out of the students' reach inside the grading sandbox."""
from __future__ import annotations

import copy
import runpy
import shutil
from pathlib import Path

import nbformat
import pytest

from nnkit.grading.policy import policy_for, violations

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = runpy.run_path(str(REPO / "nbgrader_config.py"),
                             init_globals={"get_config": __import__("traitlets.config").config.Config})["ASSIGNMENTS"]


def _solution(a):
    return nbformat.read(str(REPO / "solutions" / a / f"{a}.ipynb"), as_version=4)


def _with(nb, grade_id, code, replace=False):
    """A copy of nb whose answer cell grade_id ends with (or is replaced by) code."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = code if replace else cell.source + "\n\n" + code
            return nb
    raise KeyError(grade_id)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_solution_keeps_to_the_policy(assignment):
    nb = _solution(assignment)
    policy = policy_for(nb)
    assert policy.graded and all(policy.graded.values()), "every test cell grades some answer"
    assert violations(nb, policy) == {}


SPELLINGS = {
    "star import": "from nnkit.activations import *",
    "module alias": "import nnkit as n\nsoftmax = n.activations.softmax",
    "name alias": "from nnkit.activations import softmax as sm\n\ndef softmax(s):\n    return sm(s)",
    "getattr": "import nnkit\n\ndef softmax(s):\n    return getattr(nnkit.activations, 'softmax')(s)",
    "getattr chain": "import nnkit\n\ndef softmax(s):\n    return getattr(getattr(nnkit, 'activations'), 'softmax')(s)",
    "import inside": "def softmax(s):\n    import nnkit.activations as A\n    return A.softmax(s)",
    "dotted import": "import nnkit.activations\n\ndef softmax(s):\n    return nnkit.activations.softmax(s)",
    "through a helper": ("from nnkit import activations as acts\n\ndef _helper(s):\n    return acts.softmax(s)\n\n"
                         "def softmax(s):\n    return _helper(s)"),
    "references with a fallback": ("def softmax(s):\n    try:\n        from nnkit.grading.references import "
                                   "softmax_vjp as f\n        return f(s, s)\n    except ImportError:\n"
                                   "        return s\n"),
    "layers": "from nnkit.layers import Softmax\n\ndef softmax(s):\n    return Softmax().forward(s)",
    "in a try block": ("try:\n    from nnkit.activations import softmax\nexcept ImportError:\n"
                       "    def softmax(s):\n        return s\n"),
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_nnkit_implementation_scores_zero_for_that_part_only(spelling):
    nb = _solution("activations")
    policy = policy_for(nb)
    if spelling == "layers":
        pytest.importorskip("nnkit.layers").Softmax  # noqa: B018 (the layer must exist)
    found = violations(_with(nb, "softmax", SPELLINGS[spelling]), policy)
    if spelling == "star import":    # rebinds every name the star brings, the earlier answers too
        assert set(found) == {"test_sigmoid_tanh", "test_relu", "test_softmax"}
    else:
        assert set(found) == {"test_softmax"}, found
    message = found["test_softmax"]
    assert "softmax uses nnkit." in message and "scores 0" in message


def test_an_own_definition_after_an_import_is_the_students_own():
    nb = _solution("activations")
    code = "from nnkit.activations import softmax\n\ndef softmax(s):\n    return s"
    assert violations(_with(nb, "softmax", code), policy_for(nb)) == {}


def test_provided_helpers_stay_allowed_and_others_do_not():
    nb = _solution("backprop")
    policy = policy_for(nb)
    assert "nnkit.activations.sigmoid" in policy.allowed        # given by the assignment
    ok = "def dense_forward(x, W, b):\n    return sigmoid(x @ W + b) * 0 + x @ W + b"
    assert violations(_with(nb, "dense_forward", ok, replace=True), policy) == {}
    bad = ("from nnkit.layers import Dense\n\ndef dense_backward(delta, x, W):\n"
           "    layer = Dense(*W.shape)\n    layer.params['W'][...] = W\n    layer.forward(x)\n"
           "    dx = layer.backward(delta)\n    return dx, layer.grads['W'], layer.grads['b']")
    found = violations(_with(nb, "dense_backward", bad, replace=True), policy)
    assert set(found) == {"test_dense_backward"} and "nnkit.layers.Dense" in found["test_dense_backward"]
    assert "sigmoid" in found["test_dense_backward"]            # names what the assignment provides


def test_a_whole_module_is_never_allowed_by_a_given_import():
    nb = _solution("mlp_mnist")      # its given cell does `import nnkit` for nnkit.load_mnist
    policy = policy_for(nb)
    assert "nnkit" not in policy.allowed and "nnkit.load_mnist" in policy.allowed
    code = ("def train_numpy_mlp(data, epochs=1, lr=0.1, batch_size=64, seed=0):\n"
            "    return nnkit.models.MLP([784, 100, 10])")
    found = violations(_with(nb, "numpy_mlp", code), policy)
    assert set(found) == {"test_numpy_mlp"} and "nnkit.models.MLP" in found["test_numpy_mlp"]


def test_a_cell_can_forbid_other_names():
    nb = _solution("activations")
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_sigmoid_tanh":
            cell.source = cell.source.replace('reference=f"nnkit.activations.{name}",',
                                              'reference=f"nnkit.activations.{name}", forbid=["numpy.tanh"],', 1)
    policy = policy_for(nb)
    assert policy.forbid["test_sigmoid_tanh"] == {"numpy.tanh"}
    code = "def tanh(s):\n    return np.tanh(s)"
    found = violations(_with(nb, "sigmoid_tanh", code), policy)
    assert set(found) == {"test_sigmoid_tanh"} and "numpy.tanh" in found["test_sigmoid_tanh"]


def test_plain_nbgrader_zeroes_the_part(tmp_path):
    """The preprocessor nbgrader_config.py adds after Execute marks exactly the cheating cell."""
    from traitlets.config import Config

    from nnkit.course.policy_check import EnforcePolicy, solution_path
    cfg = Config()
    cfg.CourseDirectory.root = str(REPO)
    cfg.CourseDirectory.source_directory = "solutions"
    assert solution_path(cfg, "activations", "activations") == REPO / "solutions/activations/activations.ipynb"
    nb = _with(_solution("activations"), "softmax", SPELLINGS["module alias"])
    pp = EnforcePolicy(config=cfg)
    assert pp.enabled
    nb, _ = pp.preprocess(nb, {"nbgrader": {"assignment": "activations", "notebook": "activations"}})
    errors = {c.metadata.nbgrader["grade_id"]: o for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"}
    assert set(errors) == {"test_softmax"} and errors["test_softmax"]["ename"] == "GradingError"


# --- inside the sandbox: the references are out of reach, the substitutes still work --------------

PROBE = ("import importlib, os\nimport nnkit\n"
         "visible = False\n"
         "for name in ('references', 'references.perceptron'):   # the package and its module\n"
         "    try:\n        visible |= hasattr(importlib.import_module('nnkit.grading.' + name), 'train_perceptron')\n"
         "    except ImportError:\n        pass\n"
         "folder = os.path.join(os.path.dirname(nnkit.__file__), 'grading', 'references')\n"
         "found = len(os.listdir(folder)) if os.path.isdir(folder) else 0\n"
         "for name in ('__init__.py', 'perceptron.py'):\n"
         "    try:\n        found += len(open(os.path.join(folder, name)).read())\n    except OSError:\n        pass\n"
         "print('REFERENCES-VISIBLE', visible, found)")
FALLBACK = '''def train_perceptron(X, y, max_epochs):
    try:
        from nnkit.grading.references import train_perceptron as f
        return f(X, y, max_epochs)
    except (ImportError, AttributeError):
        return np.zeros(np.shape(X)[1] + 1), [0]
'''


@pytest.mark.sandbox
@pytest.mark.skipif(not shutil.which("bwrap"), reason="bubblewrap is not installed (apt-get install bubblewrap)")
def test_sandbox_hides_the_references_and_stages_only_substitutes(tmp_path):
    from nnkit.course import kernel
    from nnkit.course.cli import main
    from nnkit.course.gradebook import all_scores
    if kernel.probe():
        pytest.skip("the sandbox cannot run here: " + "; ".join(kernel.probe()))
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions" / "perceptron", root / "solutions" / "perceptron")
    assert main(["--course-dir", str(root), "release", "perceptron"]) == 0
    subs = tmp_path / "download"
    subs.mkdir()
    honest = _solution("perceptron")
    honest.cells.append(nbformat.v4.new_code_cell(PROBE))
    nbformat.write(honest, subs / "honest_perceptron.ipynb")
    nbformat.write(_with(_solution("perceptron"), "train", FALLBACK, replace=True), subs / "cheat_perceptron.ipynb")
    assert main(["--course-dir", str(root), "collect", "perceptron", str(subs)]) == 0
    assert main(["--course-dir", str(root), "autograde", "perceptron", "--workers", "1", "--no-progress"]) == 0
    scores = {row["student"]: {k.split("/")[1]: v[0] for k, v in row["parts"].items()}
              for row in all_scores(f"sqlite:///{root}/gradebook.db", "nnkit-intro-nn")}
    full = {k: v for k, v in scores["honest"].items() if k.startswith("test_")}
    assert full and all(v > 0 for v in full.values()), full   # substitutes staged: composition passes
    assert scores["cheat"]["test_train"] == 0                 # by the policy, and the sandbox hides it
    assert scores["cheat"]["test_predict_update"] == full["test_predict_update"]
    out = (root / "autograded" / "honest" / "perceptron" / "perceptron.ipynb").read_text()
    assert "REFERENCES-VISIBLE False 0" in out
