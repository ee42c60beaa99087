"""nnkit.widgets.gradient_descent: the logistic loss surface and the gradient-descent explorer
(learning rate, batch size, momentum, Adam; live UI, static figure, animation).
"""
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from nnkit import losses
from nnkit.data import toy_1d
from nnkit.widgets import gd_explorer
from nnkit.widgets.gradient_descent import logistic_loss_surface, minimiser


def test_loss_surface_matches_nnkit_loss():
    X, y = toy_1d(40, seed=2)
    W = np.array([[0.0, 0.0], [0.5, -1.0], [-0.7, 3.0]])
    Xa = np.column_stack([np.ones(len(X)), X])
    expected = [losses.logistic_loss(Xa @ w, y)[0] for w in W]
    np.testing.assert_allclose(logistic_loss_surface(W, X, y), expected, rtol=1e-12)
    assert logistic_loss_surface(np.zeros((1, 2)), X, y)[0] == pytest.approx(np.log(2))
    w_star = minimiser(X, y)
    around = w_star + 0.05 * np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])
    assert np.all(logistic_loss_surface(around, X, y) > logistic_loss_surface(w_star, X, y)[0])


def test_loss_surface_and_minimiser_do_not_warn_at_extreme_weights():
    # separable data: Newton's method pushes the slope up by about 1 per iteration, so after 400 the
    # signals y w^T x reach about 800 and e^{800} would overflow; nnkit's sigmoid never does
    X, y = np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([-1, -1, 1, 1])
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        w = minimiser(X, y, iterations=400)
        L = logistic_loss_surface(np.array([[0.0, 1e6], [0.0, -1e6], [1e300, -1e300], w]), X, y)
    assert np.all(np.isfinite(w)) and w[1] > 300
    np.testing.assert_allclose(L, [0.0, 1.5e6, 1.5e300, 0.0], rtol=1e-12, atol=1e-300)
    assert not np.signbit(L[0])  # 0.0, not -0.0: the widget prints L = 0.0000


def test_gd_explorer_live_ui_follows_learning_rate_and_batch_size(widget_png):
    g = gd_explorer(epochs=10)
    g.build_ui()
    assert g.state["n_updates"] == 10  # full batch: one update per epoch
    slow = g.state["losses"][-1]
    first = widget_png(g)
    g.controls["lr"].value = 3.0
    assert g.state["losses"][-1] < slow  # a larger step gets further downhill in 10 epochs
    assert widget_png(g) != first
    g.controls["batch_size"].value = 1  # very stochastic: N updates per epoch
    assert g.state["n_updates"] == 10 * g.N
    assert g.state["path"].shape == (10 * g.N + 1, 2)
    np.testing.assert_array_equal(g.state["path"][0], [0.0, 0.0])


def test_gd_explorer_static_and_animation():
    g = gd_explorer(animation_epochs=3)
    fig = g.static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    html = g.animation_html()
    assert html.count("data:image/png;base64") == 4  # epochs 0..3


def test_gd_explorer_momentum_slider_draws_plain_gd_alongside():
    X, y = toy_1d(n=60, seed=0)
    g = gd_explorer(X + 2, y, lr=1.0, epochs=40)  # shifted inputs: a long, narrow valley
    g.build_ui()
    assert g.state["plain_path"] is None  # plain GD: one path
    plain = g.state["losses"][-1]
    g.controls["momentum"].value = 0.8
    assert g.state["plain_path"].shape == g.state["path"].shape == (41, 2)
    assert g.state["plain_losses"][-1] == pytest.approx(plain)  # the comparison is the run without momentum
    assert g.state["losses"][-1] < plain  # momentum gets further down the valley in 40 epochs
    g.controls["optimizer"].value = "adam"
    assert g.state["plain_path"] is not None and g.state["model"].optimizer == "adam"


def test_gd_explorer_races_settings_in_static_mode():
    X, y = toy_1d(n=60, seed=0)
    g = gd_explorer(X + 2, y, lr=1.0, momentum=0.8, animation_epochs=3,
                    compare={"GD": {}, "momentum": {"momentum": 0.8}, "Adam": {"optimizer": "adam", "lr": 0.3}})
    fig = g.static_figure()
    assert len(fig.axes) == 2 and len(fig.axes[0].get_legend().get_texts()) >= 2  # both paths drawn
    assert g.animation_html().count("data:image/png;base64") == 4
    with pytest.raises(ValueError, match="unknown settings"):
        gd_explorer(compare={"x": {"beta": 0.9}})
    with pytest.raises(ValueError, match="momentum"):
        gd_explorer(momentum=1.0)
