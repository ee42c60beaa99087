"""nnkit.optim: SGD's step (plain, momentum, weight decay) against numbers worked out by hand, Adam
against torch.optim.Adam, and LogisticRegression's momentum and Adam options."""
import numpy as np
import pytest
import torch

from nnkit.data import toy_1d
from nnkit.models import LogisticRegression
from nnkit.optim import SGD, Adam


# --- SGD: v <- mu v + g + lambda w (lambda on "W" keys only), w <- w - lr v; no dampening ------

def test_sgd_with_momentum_and_weight_decay_two_steps_by_hand():
    # lr = 0.1, mu = 0.9, lambda = 0.01; W = [1, -2] is decayed, b = [0.5] is not (a bias).
    # step 1, g_W = [0.5, 1.0], g_b = [0.2], v = 0:
    #   v_W = 0.9*0 + [0.5, 1.0] + 0.01*[1, -2] = [0.51, 0.98]
    #   W   = [1, -2] - 0.1*[0.51, 0.98]        = [0.949, -2.098]
    #   v_b = [0.2],  b = 0.5 - 0.1*0.2 = 0.48
    # step 2, g_W = [-0.3, 0.4], g_b = [0.1]:
    #   v_W = 0.9*[0.51, 0.98] + [-0.3, 0.4] + 0.01*[0.949, -2.098]
    #       = [0.459, 0.882] + [-0.3, 0.4] + [0.00949, -0.02098] = [0.16849, 1.26102]
    #   W   = [0.949, -2.098] - 0.1*[0.16849, 1.26102]          = [0.932151, -2.224102]
    #   v_b = 0.9*0.2 + 0.1 = 0.28,  b = 0.48 - 0.1*0.28 = 0.452
    params = {"W": np.array([1.0, -2.0]), "b": np.array([0.5])}
    grads = {"W": np.array([0.5, 1.0]), "b": np.array([0.2])}
    W, b = params["W"], params["b"]
    opt = SGD(params, grads, lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step()
    np.testing.assert_allclose(params["W"], [0.949, -2.098], rtol=1e-14)
    np.testing.assert_allclose(params["b"], [0.48], rtol=1e-14)
    np.testing.assert_allclose(opt.buffers["W"], [0.51, 0.98], rtol=1e-14)  # the velocity
    grads["W"][...], grads["b"][...] = [-0.3, 0.4], [0.1]
    opt.step()
    np.testing.assert_allclose(params["W"], [0.932151, -2.224102], rtol=1e-14)
    np.testing.assert_allclose(params["b"], [0.452], rtol=1e-14)
    np.testing.assert_allclose(opt.buffers["W"], [0.16849, 1.26102], rtol=1e-13)
    assert params["W"] is W and params["b"] is b  # in place: the layers holding them see the step
    np.testing.assert_array_equal(grads["W"], [-0.3, 0.4])  # the gradients are left as they were


def test_plain_sgd_step_is_lr_times_the_gradient_plus_decay():
    # no momentum: w <- w - lr (g + lambda w), lambda on "W" keys only
    #   W = [1, -2] - 0.1*([0.5, 1.0] + 0.01*[1, -2]) = [1 - 0.051, -2 - 0.098] = [0.949, -2.098]
    #   b = 0.5 - 0.1*0.2 = 0.48
    params = {"W": np.array([1.0, -2.0]), "b": np.array([0.5])}
    grads = {"W": np.array([0.5, 1.0]), "b": np.array([0.2])}
    SGD(params, grads, lr=0.1, weight_decay=0.01).step()
    np.testing.assert_allclose(params["W"], [0.949, -2.098], rtol=1e-14)
    np.testing.assert_allclose(params["b"], [0.48], rtol=1e-14)
    # no decay either: w <- w - lr g, twice with the same gradient
    params = {"W": np.array([1.0, -2.0])}
    opt = SGD(params, {"W": np.array([0.5, 1.0])}, lr=0.1)
    opt.step()
    np.testing.assert_allclose(params["W"], [0.95, -2.1], rtol=1e-14)
    opt.step()  # without momentum nothing carries over from the first step
    np.testing.assert_allclose(params["W"], [0.9, -2.2], rtol=1e-14)
    for bad in ({"lr": 0.0}, {"momentum": 1.0}, {"weight_decay": -0.1}):
        with pytest.raises(ValueError, match="SGD expected"):
            SGD(params, {"W": np.zeros(2)}, **bad)
    with pytest.raises(ValueError, match="same keys"):
        SGD(params, {"b": np.zeros(2)})


# --- Adam ----------------------------------------------------------------------------------------

def test_adam_matches_torch_over_several_steps():
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4)}
    grads = {k: np.zeros_like(p) for k, p in params.items()}
    tparams = {k: torch.tensor(p.copy(), requires_grad=True) for k, p in params.items()}
    opt = Adam(params, grads, lr=0.01, betas=(0.8, 0.99), eps=1e-8)
    topt = torch.optim.Adam(tparams.values(), lr=0.01, betas=(0.8, 0.99), eps=1e-8)
    for _ in range(5):
        for k in params:
            g = rng.normal(size=params[k].shape)
            grads[k][...] = g
            tparams[k].grad = torch.tensor(g)
        opt.step()
        topt.step()
    for k in params:
        np.testing.assert_allclose(params[k], tparams[k].detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adam_first_step_is_lr_times_sign_thanks_to_bias_correction():
    w = {"w": np.array([1.0, 1.0, 1.0])}
    g = {"w": np.array([1e-2, -3.0, 200.0])}  # very different gradient sizes (eps = 1e-8 aside)
    Adam(w, g, lr=0.1).step()
    np.testing.assert_allclose(w["w"], 1.0 - 0.1 * np.sign(g["w"]), rtol=1e-6)
    with pytest.raises(ValueError, match="betas"):
        Adam(w, g, betas=(1.0, 0.9))


def test_logistic_regression_momentum_is_sgd_momentum():
    X, y = toy_1d(n=40, seed=1)
    m = LogisticRegression(lr=0.5, epochs=3, momentum=0.9, record_path=True).fit(X, y)
    Xa = np.column_stack([np.ones(len(X)), X])
    w, v = np.zeros(2), np.zeros(2)
    for k in range(3):
        g = -(y / (1 + np.exp(y * (Xa @ w)))) @ Xa / len(X)
        v = 0.9 * v + g  # v <- beta v + dL/dw
        w = w - 0.5 * v
        np.testing.assert_allclose(m.path_[k + 1], w, rtol=1e-12, atol=1e-15)
    a = LogisticRegression(lr=0.1, epochs=50, optimizer="adam").fit(X, y)
    assert a.history_["loss"][-1] < a.history_["loss"][0]
    with pytest.raises(ValueError, match="optimizer"):
        LogisticRegression(optimizer="rmsprop")
    assert SGD  # the same velocity convention as optim.SGD (used inside)
