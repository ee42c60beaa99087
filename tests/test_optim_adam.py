"""nnkit.optim.Adam against torch.optim.Adam, and LogisticRegression's momentum and Adam options."""
import numpy as np
import pytest
import torch

from nnkit.data import toy_1d
from nnkit.models import LogisticRegression
from nnkit.optim import SGD, Adam


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
