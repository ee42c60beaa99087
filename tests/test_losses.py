"""nnkit.losses: loss values and gradients against torch.autograd and finite differences,
stability, label validation."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnkit import losses
from nnkit.activations import softmax
from nnkit.gradcheck import numerical_gradient, rel_error


def _case(name, n, k, seed):
    """(input, target, torch loss of the input tensor) for each loss."""
    rng = np.random.default_rng(seed)
    if name == "mse":
        s, t = rng.standard_normal((n, k)), rng.standard_normal((n, k))
        return s, t, lambda st: ((st - torch.tensor(t)) ** 2).sum() / n
    if name == "logistic_loss":
        s, y = 2 * rng.standard_normal(n), rng.choice([-1, 1], n)
        return s, y, lambda st: F.softplus(-torch.tensor(y, dtype=st.dtype) * st).mean()
    if name == "binary_cross_entropy_with_logits":
        s, y = 2 * rng.standard_normal(n), rng.integers(0, 2, n)
        return s, y, lambda st: F.binary_cross_entropy_with_logits(st, torch.tensor(y, dtype=st.dtype))
    if name == "softmax_cross_entropy":
        s, y = 2 * rng.standard_normal((n, k)), rng.integers(0, k, n)
        return s, y, lambda st: F.cross_entropy(st, torch.tensor(y))
    if name == "softmax_cross_entropy_onehot":
        s, y = 2 * rng.standard_normal((n, k)), np.eye(k)[rng.integers(0, k, n)]
        return s, y, lambda st: F.cross_entropy(st, torch.tensor(y))
    raise KeyError(name)


NAMES = ["mse", "logistic_loss", "binary_cross_entropy_with_logits", "softmax_cross_entropy",
         "softmax_cross_entropy_onehot"]


@pytest.mark.parametrize("n,k,seed", [(1, 2, 0), (5, 3, 1), (16, 10, 2), (7, 1, 3)])
@pytest.mark.parametrize("name", NAMES)
def test_loss_and_gradient_match_torch_and_finite_differences(name, n, k, seed):
    s, y, torch_loss = _case(name, n, k, seed)
    fn = getattr(losses, name.replace("_onehot", ""))
    loss, grad = fn(s, y)
    assert isinstance(loss, float)
    assert grad.shape == s.shape and grad.dtype == np.float64
    st = torch.tensor(s, requires_grad=True)
    expected = torch_loss(st)
    expected.backward()
    assert rel_error(loss, expected.item()) < 1e-12
    assert rel_error(grad, st.grad.numpy()).max() < 1e-9
    numeric = numerical_gradient(lambda: fn(s, y)[0], s)
    assert rel_error(grad, numeric).max() < 1e-6


def test_softmax_cross_entropy_gradient_formula():
    s = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    loss, grad = losses.softmax_cross_entropy(s, np.array([0, 2]))
    onehot = np.array([[1, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(grad, (softmax(s) - onehot) / 2)
    np.testing.assert_allclose(loss, -(np.log(softmax(s)[0, 0]) + np.log(1 / 3)) / 2)


def test_logistic_loss_is_bce_with_mapped_labels():
    rng = np.random.default_rng(5)
    s, y01 = rng.standard_normal(9), rng.integers(0, 2, 9)
    l1, g1 = losses.logistic_loss(s, 2 * y01 - 1)
    l2, g2 = losses.binary_cross_entropy_with_logits(s, y01)
    np.testing.assert_allclose([l1, *g1], [l2, *g2], rtol=1e-12)


def test_mse_column_targets_and_value():
    pred = np.array([[1.0], [2.0], [4.0]])
    loss, grad = losses.mse(pred, np.array([1.0, 1.0, 1.0]))       # (N,) target for (N, 1) output
    assert loss == pytest.approx((0 + 1 + 9) / 3)
    np.testing.assert_allclose(grad, 2 * (pred - 1) / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_extreme_logits(dtype):
    s2 = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], dtype=dtype)
    s1 = np.array([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        ce, g_ce = losses.softmax_cross_entropy(s2, np.array([1, 1]))
        ll, g_ll = losses.logistic_loss(s1, np.array([1, 1, -1, -1]))
        bce, g_bce = losses.binary_cross_entropy_with_logits(s1, np.array([1, 1, 0, 0]))
    for g in (g_ce, g_ll, g_bce):
        assert g.dtype == dtype and np.all(np.isfinite(g))
    assert ce == pytest.approx(2000 / 2)            # sample 0: -log softmax = 2000, sample 1: 0
    assert ll == pytest.approx((0 + 1000 + 1000 + 0) / 4)     # ln(1 + e^{1000}) = 1000
    assert bce == pytest.approx((0 + 1000 + 1000 + 0) / 4)
    np.testing.assert_allclose(g_ll, [0, -0.25, 0.25, 0])
    np.testing.assert_allclose(g_ce, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


def test_float32_is_preserved():
    s = np.ones((4, 3), np.float32)
    assert losses.softmax_cross_entropy(s, np.array([0, 1, 2, 0]))[1].dtype == np.float32
    assert losses.mse(s, np.zeros((4, 3)))[1].dtype == np.float32
    assert losses.logistic_loss(s[:, 0], np.ones(4))[1].dtype == np.float32


def test_bad_labels_and_shapes_raise_clear_errors():
    s = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"labels y in 0\.\.2.*between 0 and 3"):
        losses.softmax_cross_entropy(s, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"shape \(4,\).*\(4, 3\).*got \(3,\)"):
        losses.softmax_cross_entropy(s, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"integer labels"):
        losses.softmax_cross_entropy(s, np.array([0.5, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"\(N, K\).*got \(4,\)"):
        losses.softmax_cross_entropy(np.zeros(4), np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"\{-1, \+1\}.*\[0\]"):
        losses.logistic_loss(np.zeros(4), np.array([0, 1, 1, 0]))
    with pytest.raises(ValueError, match=r"\{0, 1\}.*-1"):
        losses.binary_cross_entropy_with_logits(np.zeros(4), np.array([-1, 1, 1, -1]))
    with pytest.raises(ValueError, match=r"shape \(4, 3\).*got \(3, 4\)"):
        losses.mse(s, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"shape \(4,\).*got \(5,\)"):
        losses.logistic_loss(np.zeros(4), np.ones(5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_minus_log_softmax_at_the_label(dtype):
    """At +-1000 too, without a warning: the loss is built on activations.log_softmax."""
    from nnkit.activations import log_softmax

    rng = np.random.default_rng(7)
    s = (1000 * rng.standard_normal((6, 4))).astype(dtype)
    s[0] = [1000, -1000, 0, 999]
    y = rng.integers(0, 4, 6)
    y[0] = 1                                                          # ln x = -2000 for sample 0
    onehot = np.eye(4)[y]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss, grad = losses.softmax_cross_entropy(s, y)
        loss_o, grad_o = losses.softmax_cross_entropy(s, onehot)
        expected = -np.mean(log_softmax(s)[np.arange(6), y].astype(np.float64))
        expected_grad = (softmax(s) - onehot) / 6
    assert np.isfinite(loss) and loss > 2000 / 6
    np.testing.assert_allclose([loss, loss_o], expected, rtol=1e-6 if dtype == np.float32 else 1e-12)
    for g in (grad, grad_o):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, expected_grad, atol=1e-7 if dtype == np.float32 else 1e-15)


def test_a_perfect_fit_has_loss_plus_zero():
    s = np.array([[100.0, 0.0], [0.0, 100.0]])
    for y in (np.array([0, 1]), np.eye(2)):
        loss, _ = losses.softmax_cross_entropy(s, y)
        assert loss == 0.0 and str(loss) == "0.0"                     # not -0.0
