"""nnkit.grading: declarative checks, actionable messages, record mode and compare_records."""
import json

import numpy as np
import pytest

from nnkit import grading
from nnkit.activations import sigmoid
from nnkit.grading import Case, const, labels, normal, signs
from nnkit.grading import references as R

DENSE = dict(reference="nnkit.grading.references.dense_backward", forward="nnkit.grading.references.dense_forward",
             upstream="delta", wrt=("x", "W", "b"),
             cases=[Case(seed=0, args={"delta": normal(4, 2), "x": normal(4, 3), "W": normal(3, 2), "b": normal(2)})])


def naive_sigmoid(s):
    return 1 / (1 + np.exp(-s))


def wrong_dW(delta, x, W, b):
    dx, dW, db = R.dense_backward(delta, x, W)
    dW = dW.copy()
    dW[2, 1] *= 1.5
    return dx, dW, db


@pytest.fixture
def default_mode(monkeypatch):
    monkeypatch.delenv(grading.RECORD_ENV, raising=False)


def test_case_is_rebuilt_from_its_json():
    case = Case(seed=3, args={"x": normal(2, 3, scale=5), "y": labels(2, k=4), "t": signs(2), "k": const(2)})
    again = Case.from_json(json.loads(json.dumps(case.to_json())))
    for a, b in zip(case.inputs(), again.inputs()):
        np.testing.assert_array_equal(a, b)
    x, y, t, k = again.inputs()
    assert x.shape == (2, 3) and y.dtype == np.int64 and set(np.unique(t)) <= {-1.0, 1.0} and k == 2
    assert Case(seed=0, shape=(5,)).names() == ["s"]


def test_correct_function_passes_and_prints(default_mode, capsys):
    grading.check_function("sigmoid", sigmoid,
                           reference="nnkit.activations.sigmoid", cases=[Case(seed=0, shape=(5,))], tol=1e-12)
    assert "sigmoid: passed" in capsys.readouterr().out


def test_wrong_gradient_names_output_entry_error_and_tolerance(default_mode, capsys):
    with pytest.raises(AssertionError) as err:
        grading.check_gradient("dense_backward", wrong_dW, **DENSE)
    message = str(err.value)
    assert message.startswith("dW: relative error 2.0e-01 at [2, 1], tolerance 1e-06")
    assert "numerical" in message and "compare with the numerical gradient printed above" in message
    assert "numerical dW" in capsys.readouterr().out


def test_transposed_output_gets_a_hint(default_mode):
    def transposed(delta, x, W, b):
        dx, dW, db = R.dense_backward(delta, x, W)
        return dx, dW.T, db

    with pytest.raises(AssertionError, match=r"dW: expected shape \(3, 2\), got \(2, 3\).*transpose"):
        grading.check_gradient("dense_backward", transposed, **DENSE)


def test_unstable_formula_fails_even_when_the_values_are_right(default_mode):
    with pytest.raises(AssertionError, match="overflow.*numerically stable"):
        grading.check_function("sigmoid", naive_sigmoid, reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=2, shape=(6,), scale=1000)])


def test_a_hidden_case_catches_what_the_visible_one_misses(default_mode):
    def only_for_five(s):  # hard-codes the visible case's length
        return sigmoid(s) if s.shape == (5,) else np.zeros_like(s)

    grading.check_function("sigmoid", only_for_five, reference="nnkit.activations.sigmoid",
                           cases=[Case(seed=0, shape=(5,))])
    with pytest.raises(AssertionError, match=r"sigmoid: relative error .* on the case \(seed=1, s: normal \(3, 4\)\)"):
        grading.check_function("sigmoid", only_for_five, reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=1, shape=(3, 4))])


class EqualsAnything:
    def __eq__(self, other):
        return True

    __array_priority__ = 1000


@pytest.mark.parametrize("output", [EqualsAnything(), "0.5", None])
def test_outputs_that_are_not_numbers_fail(default_mode, output):
    with pytest.raises(AssertionError, match="raised TypeError"):
        grading.check_function("sigmoid", lambda s: output, reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=0, shape=(5,))])


def test_student_exception_is_reported_with_the_case(default_mode):
    def unfinished(s):
        raise NotImplementedError()

    def fails_on_matrices(s):
        if s.ndim > 1:
            raise ValueError("shapes not aligned")
        return sigmoid(s)

    with pytest.raises(AssertionError, match=r"sigmoid: your code raised NotImplementedError.*seed=0"):
        grading.check_function("sigmoid", unfinished, reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=0, shape=(5,))])
    with pytest.raises(AssertionError, match=r"raised ValueError: shapes not aligned on the case \(seed=1, s: "):
        grading.check_function("sigmoid", fails_on_matrices, reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=0, shape=(5,)), Case(seed=1, shape=(3, 4))])


def test_values_verifier(default_mode):
    grading.check_values("and", {"w": np.array([-30.0, 20.0, 20.0])},
                         verifier="nnkit.grading.verifiers.implements_gate", params={"gate": "and"})
    with pytest.raises(AssertionError, match="AND is wrong for 01 -> 1"):
        grading.check_values("and", {"w": [-10.0, 20.0, 20.0]},
                             verifier="nnkit.grading.verifiers.implements_gate", params={"gate": "and"})


def test_substitute_swaps_and_restores():
    namespace = {"update": "mine"}
    with grading.substitute(namespace, update="nnkit.grading.references.perceptron_update", extra="math.sqrt"):
        assert namespace["update"] is R.perceptron_update and namespace["extra"](4) == 2
    assert namespace == {"update": "mine"}


def test_unknown_reference_is_a_clear_error(default_mode):
    with pytest.raises(ValueError, match="cannot find the reference 'nnkit.activations.nope'"):
        grading.check_function("x", np.tanh, reference="nnkit.activations.nope", cases=[Case(seed=0, shape=(2,))])


# --- record mode: outputs written in the kernel, judged outside -----------------------

def _run_checks(monkeypatch, directory, sigmoid, backward, w_and):
    monkeypatch.setenv(grading.RECORD_ENV, str(directory))
    grading.check_function("sigmoid", sigmoid, reference="nnkit.activations.sigmoid",
                           cases=[Case(seed=0, shape=(5,)), Case(seed=2, shape=(6,), scale=1000)])
    grading.check_gradient("dense_backward", backward, **DENSE)
    grading.check_values("w_and", {"w": w_and}, verifier="nnkit.grading.verifiers.implements_gate",
                         params={"gate": "and"})
    monkeypatch.delenv(grading.RECORD_ENV)


def test_record_mode_writes_outputs_only_and_compare_judges_them(monkeypatch, tmp_path):
    expected, student = tmp_path / "expected", tmp_path / "student"
    _run_checks(monkeypatch, expected, sigmoid, R.dense_backward, np.array([-30.0, 20.0, 20.0]))
    _run_checks(monkeypatch, student, naive_sigmoid, wrong_dW, np.array([-10.0, 20.0, 20.0]))
    files = sorted(p.name for p in (student / "dense_backward").iterdir())
    assert files == ["call0.json"] + [f"call0_case0_out{k}.npy" for k in range(3)]
    spec = json.loads((student / "dense_backward" / "call0.json").read_text())
    assert spec["part"] == "dense_backward" and spec["reference"] == DENSE["reference"]
    assert spec["cases"] == [c.to_json() for c in DENSE["cases"]]

    assert all(ok for ok, _ in grading.compare_records(expected, expected=expected).values())
    verdicts = grading.compare_records(student, expected=expected)
    assert set(verdicts) == {"sigmoid", "dense_backward", "w_and"}
    assert not any(ok for ok, _ in verdicts.values())
    assert verdicts["dense_backward"][1].startswith("dW: relative error 2.0e-01 at [2, 1], tolerance 1e-06")
    assert "printed above" not in verdicts["dense_backward"][1]
    assert "numerically stable" in verdicts["sigmoid"][1]


def test_compare_uses_the_instructors_specs_not_the_students(monkeypatch, tmp_path):
    expected, student = tmp_path / "expected", tmp_path / "student"
    _run_checks(monkeypatch, expected, sigmoid, R.dense_backward, np.array([-30.0, 20.0, 20.0]))
    _run_checks(monkeypatch, student, sigmoid, wrong_dW, np.array([-30.0, 20.0, 20.0]))
    forged = student / "dense_backward" / "call0.json"
    spec = json.loads(forged.read_text())
    spec["tol"] = 1.0  # a lax check
    forged.write_text(json.dumps(spec))
    assert grading.compare_records(student)["dense_backward"][0]          # trusting it would pass ...
    assert not grading.compare_records(student, expected=expected)["dense_backward"][0]  # ... the grader does not


def test_a_record_with_outputs_left_out_fails(monkeypatch, tmp_path):
    expected, student = tmp_path / "expected", tmp_path / "student"
    _run_checks(monkeypatch, expected, sigmoid, R.dense_backward, np.array([-30.0, 20.0, 20.0]))
    _run_checks(monkeypatch, student, sigmoid, wrong_dW, np.array([-30.0, 20.0, 20.0]))
    forged = student / "dense_backward" / "call0.json"
    spec = json.loads(forged.read_text())
    spec["results"][0]["n_outputs"] = 1  # only dx, which is right
    forged.write_text(json.dumps(spec))
    passed, message = grading.compare_records(student, expected=expected)["dense_backward"]
    assert not passed and "expected 3 outputs (dx, dW, db), got 1" in message


def test_missing_or_broken_records_fail_without_stopping(monkeypatch, tmp_path):
    expected, student = tmp_path / "expected", tmp_path / "student"
    _run_checks(monkeypatch, expected, sigmoid, R.dense_backward, np.array([-30.0, 20.0, 20.0]))
    _run_checks(monkeypatch, student, sigmoid, R.dense_backward, np.array([-30.0, 20.0, 20.0]))
    for path in (student / "sigmoid").glob("*.npy"):
        path.unlink()
    np.save(student / "dense_backward" / "call0_case0_out1.npy", np.array([object()]), allow_pickle=True)
    verdicts = grading.compare_records(student, expected=expected)
    assert not verdicts["sigmoid"][0] and "unreadable output" in verdicts["sigmoid"][1]
    assert not verdicts["dense_backward"][0]
    assert verdicts["w_and"][0]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert all("the check did not run" in m for ok, m in grading.compare_records(empty, expected=expected).values())


def test_record_mode_refuses_non_numeric_outputs(monkeypatch, tmp_path):
    monkeypatch.setenv(grading.RECORD_ENV, str(tmp_path))
    with pytest.raises(AssertionError, match="raised TypeError"):
        grading.check_function("sigmoid", lambda s: EqualsAnything(), reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=0, shape=(5,))])
    assert not list((tmp_path / "sigmoid").glob("*.npy"))
    monkeypatch.delenv(grading.RECORD_ENV)
    assert not grading.compare_records(tmp_path)["sigmoid"][0]
