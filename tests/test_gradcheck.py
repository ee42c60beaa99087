"""nnkit.gradcheck: the numerical gradient, the relative error, and reports that find bugs."""
import numpy as np
import pytest

from nnkit import layers as L
from nnkit.gradcheck import check_layer, check_model, numerical_gradient, rel_error
from nnkit.models import MLP


def test_numerical_gradient_is_accurate_and_restores_x():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x0 = x.copy()
    calls = []

    def f():
        calls.append(1)
        return float(np.sum(np.sin(x) * x ** 2))

    g = numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x0)                              # perturbed in place, restored
    assert len(calls) == 2 * x.size                                   # central differences
    exact = np.cos(x) * x ** 2 + 2 * x * np.sin(x)
    assert rel_error(g, exact).max() < 1e-8
    # central differences are O(h^2): h = 1e-3 still gives ~1e-6 error, one-sided would give ~1e-3
    assert np.abs(numerical_gradient(f, x, h=1e-3) - exact).max() < 1e-5


def test_rel_error_formula():
    np.testing.assert_allclose(rel_error([1.0, 0.0, 1e-9, -2.0], [1.0, 0.0, 0.0, 2.0]),
                               [0.0, 0.0, 1e-9 / 1e-8, 1.0])
    assert rel_error(3.0, 1.0) == pytest.approx(0.5)


def test_rel_error_floor():
    # below the floor the error is absolute, in units of floor; above it the floor plays no part
    assert rel_error(1e-9, 0.0) == pytest.approx(1e-9 / 1e-8)               # default floor 1e-8
    assert rel_error(1e-6, 0.0, floor=1e-4) == pytest.approx(1e-2)
    assert rel_error(1e-6, 0.0, 1e-4) == rel_error(1e-6, 0.0, floor=1e-4)
    assert rel_error(3.0, 1.0, floor=1e-4) == rel_error(3.0, 1.0) == 0.5
    assert rel_error(0.0, 0.0, floor=1e-4) == 0.0
    # the formula, to the bit, for both floors the callers use (gradcheck 1e-8, grading 1e-4)
    rng = np.random.default_rng(3)
    a = rng.standard_normal(200) * 10.0 ** rng.integers(-12, 3, 200)
    n = a + rng.standard_normal(200) * 10.0 ** rng.integers(-14, 0, 200)
    for floor in (1e-8, 1e-4):
        np.testing.assert_array_equal(rel_error(a, n, floor),
                                      np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor))
    assert rel_error([1, 2], np.array([1, 3], np.float32)).dtype == np.float64
    with np.errstate(invalid="ignore"):
        assert np.isnan(rel_error([np.nan, np.inf], [1.0, 1.0])).all()


class _WrongWeightGrad(L.Dense):
    """A Dense layer whose backward corrupts one entry of dL/dW."""

    def backward(self, delta):
        dx = super().backward(delta)
        self.grads["W"][2, 1] += 0.5
        return dx


class _TransposedInputGrad(L.Dense):
    """A Dense layer that forgets the bias gradient's sum over the batch (takes the first row)."""

    def backward(self, delta):
        dx = super().backward(delta)
        self.grads["b"][:] = delta[0]
        return dx


def test_check_layer_finds_the_wrong_entry():
    x = np.random.default_rng(1).standard_normal((5, 4))
    good = check_layer(L.Dense(4, 3, seed=0), x)
    assert good.ok() and good.worst.max_rel_error < 1e-8
    report = check_layer(_WrongWeightGrad(4, 3, seed=0), x)
    assert not report.ok()
    assert report.worst.name == "W" and report.worst.index == (2, 1)
    assert report["W"].analytic == pytest.approx(report["W"].numeric + 0.5)
    assert report["b"].max_rel_error < 1e-8 and report["x"].max_rel_error < 1e-8
    text = str(report)
    assert "W" in text and "(2, 1)" in text and "MISMATCH" in text
    bias = check_layer(_TransposedInputGrad(4, 3, seed=0), x)
    assert bias.worst.name == "b" and not bias.ok()


def test_check_model_names_the_layer_and_entry():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    net = L.Sequential(L.Dense(4, 5, seed=0), L.Tanh(), _WrongWeightGrad(5, 3, seed=1))
    report = check_model(net, X, y)
    assert report.worst.name == "W2" and report.worst.index == (2, 1)
    assert report["W1"].max_rel_error < 1e-6 and report["X"].max_rel_error < 1e-6
    assert not report.ok()


def test_check_model_on_a_float32_mlp_runs_in_float64_on_a_copy():
    rng = np.random.default_rng(3)
    X, y = rng.random((8, 6)), rng.integers(0, 4, 8)
    model = MLP(sizes=(6, 7, 5, 4), dropout=0.3, seed=0)
    before = {k: v.copy() for k, v in model.params.items()}
    report = check_model(model, X, y)
    assert report.ok(1e-6), str(report)
    assert [e.name for e in report.entries] == ["W1", "b1", "W2", "b2", "W3", "b3"]  # no dX: input_grad=False
    for k, v in model.params.items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, before[k])


def test_check_layer_refuses_a_random_layer():
    with pytest.raises(ValueError, match="not deterministic.*eval"):
        check_layer(L.Dropout(0.5, seed=0), np.ones((4, 4)))
    assert check_layer(L.Dropout(0.5, seed=0).eval(), np.ones((4, 4))).ok()


def test_check_layer_with_an_inplace_relu_first():
    x = np.random.default_rng(4).standard_normal((4, 5))
    x0 = x.copy()
    assert check_layer(L.ReLU(inplace=True), x).ok()
    np.testing.assert_array_equal(x, x0)
