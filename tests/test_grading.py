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
    assert "numerical" in message and "(the numerical gradient is printed above)" in message
    assert "numerical dW" in capsys.readouterr().out


def test_transposed_output_gets_a_hint(default_mode):
    def transposed(delta, x, W, b):
        dx, dW, db = R.dense_backward(delta, x, W)
        return dx, dW.T, db

    with pytest.raises(AssertionError, match=r"dW: expected shape \(3, 2\), got \(2, 3\)\n  a missing transpose\?"):
        grading.check_gradient("dense_backward", transposed, **DENSE)


def test_unstable_formula_fails_even_when_the_values_are_right(default_mode):
    with pytest.raises(AssertionError, match="overflow(.|\n)*your values are right here, but use a formula that "
                                             "cannot overflow"):
        grading.check_function("sigmoid", naive_sigmoid, reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=2, shape=(6,), scale=1000)])


def test_a_hidden_case_catches_what_the_visible_one_misses(default_mode):
    def only_for_five(s):  # hard-codes the visible case's length
        return sigmoid(s) if s.shape == (5,) else np.zeros_like(s)

    grading.check_function("sigmoid", only_for_five, reference="nnkit.activations.sigmoid",
                           cases=[Case(seed=0, shape=(5,))])
    with pytest.raises(AssertionError, match=r"sigmoid: relative error (.|\n)* on the case \(seed=1, s: normal \(3, 4\)\)"):
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

    with pytest.raises(AssertionError, match=r"sigmoid: your code raised NotImplementedError:\n  on the case \(seed=0"):
        grading.check_function("sigmoid", unfinished, reference="nnkit.activations.sigmoid",
                               cases=[Case(seed=0, shape=(5,))])
    with pytest.raises(AssertionError, match=r"raised ValueError: shapes not aligned\n  on the case \(seed=1, s: "):
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
    # where no reference is importable the check falls back to shipped expected values, and says so
    with pytest.raises((ValueError, AssertionError), match=r"reference\s+'?nnkit.activations.nope"):
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
    assert "cannot overflow" in verdicts["sigmoid"][1]


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


# --- side effects, special values, messages a student can act on -------------------------------

def in_place_update(w, x, y):
    xa = np.concatenate([[1.0], x])
    if (1.0 if w @ xa >= 0 else -1.0) != y:
        w += y * xa                   # right value, but the caller's w changes too
    return w


UPDATE = dict(reference="nnkit.grading.references.perceptron_update",
              cases=[Case(seed=1, args={"w": const([0.0, 0.0, 0.0]), "x": normal(2), "y": const(-1.0)})])


def test_a_function_that_changes_its_input_fails_naming_the_argument(default_mode):
    with pytest.raises(AssertionError) as err:
        grading.check_function("update", in_place_update, **UPDATE)
    first, second, *rest = str(err.value).splitlines()
    assert first == "update: changed its input w in place:"
    assert second.strip() == "w[0] was 0, is now -1"
    assert "w = [0, 0, 0]" in str(err.value) and "not w -= ..." in str(err.value)


def test_modifies_declares_an_argument_that_may_change(default_mode, capsys):
    grading.check_function("update", lambda w, x, y: in_place_update(w, x, y).copy(), modifies=("w",), **UPDATE)
    assert "update: passed" in capsys.readouterr().out


def test_side_effects_are_judged_outside_the_kernel_too(monkeypatch, tmp_path):
    expected, student = tmp_path / "expected", tmp_path / "student"
    for folder, fn in ((expected, R.perceptron_update), (student, in_place_update)):
        monkeypatch.setenv(grading.RECORD_ENV, str(folder))
        grading.check_function("update", fn, **UPDATE)
    monkeypatch.delenv(grading.RECORD_ENV)
    assert grading.compare_records(expected, expected=expected)["update"][0]
    ok, message = grading.compare_records(student, expected=expected)["update"]
    assert not ok and "changed its input w in place" in message


def test_constant_and_small_inputs_are_shown_by_value():
    case = Case(seed=0, args={"w": const([0.0, 0.0, 0.0]), "X": normal(6, 2), "y": const(-1.0), "s": normal(2, 3, scale=1000),
                              "e": normal(0, 3)})
    text = case.describe()
    assert "w = [0, 0, 0]" in text and "X: normal (6, 2)" in text and "y = -1" in text
    assert "s: normal (2, 3) x1000" in text and "e = an empty array of shape (0, 3)" in text
    assert Case.from_json(json.loads(json.dumps(case.to_json()))).inputs()[4].shape == (0, 3)


def test_every_line_of_a_failure_fits_what_validate_shows(default_mode):
    with pytest.raises(AssertionError) as err:
        grading.check_gradient("dense_backward", wrong_dW, **DENSE)
    lines = str(err.value).splitlines()
    assert len("AssertionError: " + lines[0]) <= 80 and all(len(line) <= 82 for line in lines[1:])
    assert "yours 1.27489, numerical 0.84993" in lines[1]


def test_values_are_judged_before_warnings(default_mode):
    """A wrong formula is told its values are wrong (on the ordinary case), not to be stable."""
    def wrong_axis(s):
        e = np.exp(s - s.max(axis=0, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    with pytest.raises(AssertionError) as err:
        grading.check_function("softmax", wrong_axis, reference="nnkit.activations.softmax",
                               diagnose="nnkit.grading.verifiers.softmax_axis",
                               cases=[Case(seed=1, shape=(5, 7), scale=1000), Case(seed=2, shape=(3, 3))])
    message = str(err.value)
    assert message.startswith("softmax: relative error") and "axis=-1" in message
    assert "overflow" not in message and "stable" not in message


def test_derivative_at_the_kink_is_graded_directly(default_mode):
    """Central differences see 0.5 at ReLU's kink; the direct check grades the chapter's ReLU'(0) = 0."""
    kink = [Case(seed=0, args={"s": const([-1.0, 0.0, 2.0])})]
    grading.check_function("relu_prime", lambda s: (s > 0).astype(float), reference="nnkit.activations.relu_prime",
                           cases=kink)
    with pytest.raises(AssertionError, match=r"yours 1, expected 0(.|\n)*s = \[-1, 0, 2\]"):
        grading.check_function("relu_prime", lambda s: (s >= 0).astype(float),
                               reference="nnkit.activations.relu_prime", cases=kink)


def test_accuracy_failures_say_what_the_run_did():
    from nnkit.grading.diagnostics import run_values
    from nnkit.grading.verifiers import run_diagnosis

    w = [np.ones((2, 2))]
    assert "no weight changed" in run_diagnosis(run_values(np.array([1, 2]), before=w, after=w))
    assert "NaN" in run_diagnosis(run_values(np.array([1, 2]), before=w, after=[np.full((2, 2), np.nan)]))
    assert "from 2.300 to 2.500" in run_diagnosis(run_values(np.array([1, 2]), loss_before=2.3, loss_after=2.5))
    assert "predicts class 3 for every test image" in run_diagnosis({}, np.array([3, 3, 3]))
    assert run_diagnosis(run_values(np.array([1, 2]), before=w, after=[np.zeros((2, 2))],
                                    loss_before=2.3, loss_after=0.5)) == ""


# --- composition: the student's own parts together ---------------------------------------------

def _train_with(update_fn):
    def train(X, y, max_epochs):
        w, history = np.zeros(X.shape[1] + 1), []
        for _ in range(int(max_epochs)):
            mistakes = 0
            for xn, yn in zip(X, y):
                new = update_fn(w, xn, yn)
                mistakes += int(np.any(new != w))
                w = new
            history.append(mistakes)
            if mistakes == 0:
                break
        return w, np.array(history)
    return train


AND = Case(seed=0, args={"X": const([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), "y": const([-1.0, -1.0, -1.0, 1.0]),
                         "max_epochs": const(20)})
UPDATE_CASES = [Case(seed=s, args={"w": normal(3), "x": normal(2), "y": const(y)}) for s in (1, 2) for y in (1.0, -1.0)]


def _composed_check(train, update_fn):
    grading.check_function("train_with_your_update", train, reference="nnkit.grading.references.train_perceptron",
                           outputs=("w", "mistakes"), cases=[AND],
                           requires=[grading.required_part("update", update_fn, cases=UPDATE_CASES, pays="part 1",
                                                           reference="nnkit.grading.references.perceptron_update")])


def test_a_composition_bug_costs_the_composed_part(default_mode, capsys):
    _composed_check(_train_with(R.perceptron_update), R.perceptron_update)
    assert "train_with_your_update: passed" in capsys.readouterr().out

    def scaled_update(w, x, y):  # right on its own cases (the update of a misclassified sample) ...
        return R.perceptron_update(w, x, y) * (2.0 if np.all(w == 0) else 1.0)

    with pytest.raises(AssertionError, match="relative error"):  # ... but not from w = 0, where training starts
        _composed_check(_train_with(scaled_update), scaled_update)


def test_a_bug_in_a_required_part_costs_that_part_only(default_mode, monkeypatch, tmp_path, capsys):
    def wrong_update(w, x, y):
        return w - y * np.concatenate([[1.0], x])

    _composed_check(_train_with(wrong_update), wrong_update)
    out = capsys.readouterr().out
    assert "train_with_your_update: not counted here:\n  your update fails its own check (part 1 pays for it)" in out
    expected, student = tmp_path / "expected", tmp_path / "student"
    for folder, fn in ((expected, R.perceptron_update), (student, wrong_update)):
        monkeypatch.setenv(grading.RECORD_ENV, str(folder))
        _composed_check(_train_with(fn), fn)
    monkeypatch.delenv(grading.RECORD_ENV)
    assert grading.compare_records(student, expected=expected)["train_with_your_update"][0]
    monkeypatch.setenv(grading.RECORD_ENV, str(tmp_path / "composition-bug"))
    _composed_check(_train_with(lambda w, x, y: R.perceptron_update(w, x, y) * 2.0), R.perceptron_update)
    monkeypatch.delenv(grading.RECORD_ENV)
    ok, message = grading.compare_records(tmp_path / "composition-bug", expected=expected)["train_with_your_update"]
    assert not ok and message.startswith("w: relative error")


def test_the_baseline_to_beat_is_computed_by_trusted_code(monkeypatch):
    """A student's own (weak) scratch run cannot lower the bar: the verifier trains the baseline."""
    from nnkit.grading import verifiers

    calls = []
    monkeypatch.setattr(verifiers, "scratch_accuracy", lambda **kw: calls.append(kw) or 0.85)
    monkeypatch.setattr(verifiers, "mnist_test_labels", lambda kind, n: np.arange(n) % 10)
    y = np.arange(100) % 10
    transfer = np.where(np.arange(100) < 82, y, (y + 1) % 10)        # 0.82: above 0.80, below the baseline
    ok, message = verifiers.beats_scratch({"transfer": transfer, "scratch": np.zeros(100)}, threshold=0.8,
                                          baseline={"per_class": 10, "epochs": 30})
    assert not ok and "0.820 after transfer vs 0.850 from scratch" in message
    assert calls == [{"kind": "digits", "per_class": 10, "epochs": 30}]


# --- one relative error: the grader's is nnkit.gradcheck.rel_error -------------------------------

def test_the_grader_compares_with_rel_error_and_counts_nan_as_infinitely_wrong():
    from nnkit.gradcheck import rel_error
    from nnkit.grading import checks

    rng = np.random.default_rng(0)
    a = rng.standard_normal(50) * 10.0 ** rng.integers(-10, 3, 50)
    b = a * (1 + 1e-7 * rng.standard_normal(50))
    for floor in (1e-8, 1e-4):                                      # the two floors the checks use
        np.testing.assert_array_equal(checks._relative(a, b, floor), rel_error(a, b, floor))
    err = checks._relative(np.array([np.nan, np.inf, 1.0]), np.array([1.0, 1.0, 1.0]), 1e-8)
    np.testing.assert_array_equal(err, [np.inf, np.inf, 0.0])


def test_gradients_compare_with_the_numerical_one_above_a_floor_of_1e_4():
    from nnkit.grading import checks

    # 1e-11 off where the gradient is 0: noise for a central difference (floor 1e-4: 1e-7), but
    # an error of 1e-3 against an exact reference (floor 1e-8)
    assert checks._compare("dx", [1e-11, 1.0], [0.0, 1.0], 1e-6, "numerical", "here", floor=1e-4) is None
    message, _ = checks._compare("dx", [1e-11, 1.0], [0.0, 1.0], 1e-6, "expected", "here")
    assert message.startswith("dx: relative error 1.0e-03 at [0], tolerance 1e-06")


def test_accuracy_verifiers_want_one_prediction_per_test_image(monkeypatch):
    from nnkit.grading import verifiers

    monkeypatch.setattr(verifiers, "mnist_test_labels", lambda kind, n: np.arange(100) % 10)
    monkeypatch.setattr(verifiers, "scratch_accuracy", lambda **kw: 0.5)
    y = np.arange(100) % 10
    assert verifiers.accuracy_at_least({"predictions": y[:99]}, 0.9) == (
        False, "expected 100 predictions (one per test image), got shape (99,)")
    assert verifiers.beats_scratch({"transfer": y[:99]}, 0.9) == (
        False, "expected 100 transfer predictions (one per test image), got shape (99,)")
    assert verifiers.accuracy_at_least({"predictions": y}, 0.9) == (
        True, "test accuracy 1.000 reaches the required 0.90")
    ok, message = verifiers.beats_scratch({"transfer": y}, 0.9)
    assert ok and message.startswith("test accuracy 1.000 after transfer vs 0.500 from scratch")
