"""nnkit.activations: values and derivatives against torch.autograd and finite differences,
stability at +-1000, dtype preservation."""
import warnings

import numpy as np
import pytest
import torch

from nnkit import activations as A
from nnkit.gradcheck import numerical_gradient, rel_error

# name -> (nnkit function, nnkit derivative, torch function)
SMOOTH = {
    "sigmoid": (A.sigmoid, A.sigmoid_prime, torch.sigmoid),
    "tanh": (A.tanh, A.tanh_prime, torch.tanh),
    "relu": (A.relu, A.relu_prime, torch.relu),
    "leaky_relu": (A.leaky_relu, A.leaky_relu_prime, lambda s: torch.nn.functional.leaky_relu(s, 0.01)),
    "linear": (A.linear, A.linear_prime, lambda s: s),
}
CASES = [((7,), 0), ((4, 5), 1), ((3, 2, 6), 2), ((1, 1), 3)]


def _data(shape, seed):
    rng = np.random.default_rng(seed)
    return 2 * rng.standard_normal(shape), rng.standard_normal(shape)


@pytest.mark.parametrize("shape,seed", CASES)
@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_derivative_matches_torch_and_finite_differences(name, shape, seed):
    f, f_prime, torch_f = SMOOTH[name]
    s, r = _data(shape, seed)
    # torch: d/ds sum(f(s) * r) = f'(s) * r
    st = torch.tensor(s, requires_grad=True)
    (torch_f(st) * torch.tensor(r)).sum().backward()
    assert rel_error(f(s), torch_f(torch.tensor(s)).numpy()).max() < 1e-9
    assert rel_error(f_prime(s) * r, st.grad.numpy()).max() < 1e-9
    numeric = numerical_gradient(lambda: float(np.sum(f(s) * r)), s)
    assert rel_error(f_prime(s) * r, numeric).max() < 1e-6


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("shape,seed", [((5, 4), 0), ((3, 7), 1), ((2, 3, 4), 2)])
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_backward_matches_torch_and_finite_differences(which, shape, seed, axis):
    f = {"softmax": A.softmax, "log_softmax": A.log_softmax}[which]
    f_back = {"softmax": A.softmax_backward, "log_softmax": A.log_softmax_backward}[which]
    torch_f = {"softmax": torch.softmax, "log_softmax": torch.log_softmax}[which]
    s, r = _data(shape, seed)
    st = torch.tensor(s, requires_grad=True)
    (torch_f(st, dim=axis) * torch.tensor(r)).sum().backward()
    x = f(s, axis=axis)
    assert rel_error(x, torch_f(torch.tensor(s), dim=axis).numpy()).max() < 1e-9
    delta = f_back(x, r, axis=axis)
    assert rel_error(delta, st.grad.numpy()).max() < 1e-9
    numeric = numerical_gradient(lambda: float(np.sum(f(s, axis=axis) * r)), s)
    assert rel_error(delta, numeric).max() < 1e-6


def test_softmax_rows_sum_to_one_and_backward_checks_shapes():
    x = A.softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(x.sum(axis=1), 1.0)
    np.testing.assert_allclose(x[1], 1 / 3)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        A.softmax_backward(x, np.ones((3, 2)))


def test_step_and_sign():
    s = np.array([-2.0, -1e-12, 0.0, 1e-12, 5.0])
    np.testing.assert_array_equal(A.step(s), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(A.sign(s), [-1, -1, 1, 1, 1])          # sign(0) = +1
    np.testing.assert_array_equal(A.step_prime(s), np.zeros(5))
    assert A.ACTIVATIONS["step"] == (A.step, A.step_prime)


def test_lecture_identities():
    s = np.linspace(-8, 8, 33)
    np.testing.assert_allclose(A.sigmoid(-s), 1 - A.sigmoid(s), atol=1e-15)     # sigma(-s) = 1 - sigma(s)
    np.testing.assert_allclose(A.tanh(s), 2 * A.sigmoid(2 * s) - 1, atol=1e-14)
    np.testing.assert_allclose(A.leaky_relu(s, alpha=0.2), np.where(s > 0, s, 0.2 * s))
    np.testing.assert_array_equal(A.leaky_relu_prime(s, alpha=0.2), np.where(s > 0, 1.0, 0.2))


def test_registry_names():
    assert set(A.ACTIVATIONS) == {"step", "sigmoid", "tanh", "relu", "leaky_relu", "linear"}
    for f, f_prime in A.ACTIVATIONS.values():
        assert callable(f) and callable(f_prime)


EXTREME = np.array([[-1000.0, -100.0, -1.0, 0.0, 1.0, 100.0, 1000.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_plus_minus_1000_without_warnings(dtype):
    s = EXTREME.astype(dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        outputs = [f(s) for f, _ in A.ACTIVATIONS.values()]
        outputs += [fp(s) for _, fp in A.ACTIVATIONS.values()]
        x, x_log = A.softmax(s), A.log_softmax(s)
        outputs += [x, x_log, A.softmax_backward(x, s), A.log_softmax_backward(x_log, s)]
        outputs += [A.softmax(s, axis=0), A.log_softmax(s.T, axis=0)]
    for out in outputs:
        assert np.all(np.isfinite(out))
    sig = A.sigmoid(s)[0]
    assert sig[0] == 0 and sig[-1] == 1 and sig[3] == 0.5
    np.testing.assert_allclose(x[0, -1], 1.0)
    assert x[0, 0] == 0
    np.testing.assert_allclose(x_log[0, 0], -2000.0, rtol=1e-6)
    np.testing.assert_allclose(x_log[0, -1], 0.0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    s = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    funcs = [f for f, _ in A.ACTIVATIONS.values()] + [fp for _, fp in A.ACTIVATIONS.values()]
    funcs += [A.sign, A.softmax, A.log_softmax]
    for f in funcs:
        assert f(s).dtype == dtype, f.__name__
    x = A.softmax(s)
    assert A.softmax_backward(x, s).dtype == dtype
    assert A.log_softmax_backward(A.log_softmax(s), s).dtype == dtype
    assert A.sigmoid(np.array([1, 2])).dtype == np.float64          # integers are promoted


def test_as_float_keeps_float_arrays_and_promotes_the_rest_to_float64():
    assert "as_float" in A.__all__
    for dtype in (np.float16, np.float32, np.float64):
        s = np.arange(6, dtype=dtype).reshape(2, 3)
        assert A.as_float(s) is s                                       # no copy, same dtype
    for value in (np.arange(3), np.array([True, False]), [1, 2, 3], 7, np.uint8(200)):
        out = A.as_float(value)
        assert out.dtype == np.float64 and out.shape == np.shape(value)
        np.testing.assert_array_equal(out, np.asarray(value, dtype=np.float64))
    assert A.sigmoid(np.arange(3, dtype=np.int32)).dtype == np.float64   # the rule every function follows
    assert A.relu(np.ones(3, np.float16)).dtype == np.float16
