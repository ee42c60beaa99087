"""nnkit.widgets.approximation: bump networks (universal approximation) and their explorer (live UI,
static figure, animation).
"""
import numpy as np
import pytest
from matplotlib.figure import Figure

import nnkit
from nnkit import layers as L
from nnkit.widgets import approximation_explorer
from nnkit.widgets.approximation import bump_network, network_output


@pytest.mark.parametrize("activation", ["step", "sigmoid", "relu"])
def test_bump_networks_converge_as_units_grow(activation):
    x = np.linspace(-1, 1, 801)
    f = nnkit.data.target_function
    errs = [np.max(np.abs(network_output(bump_network(n, activation), x) - f(x))) for n in (5, 20, 80)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.1


def test_relu_bump_network_is_a_real_network_interpolating_the_knots():
    n = 10
    p = bump_network(n, "relu")
    knots = np.linspace(-1, 1, n + 1)
    np.testing.assert_allclose(network_output(p, knots), nnkit.data.target_function(knots), atol=1e-12)
    d1, d2 = L.Dense(1, n), L.Dense(n, 1)
    d1.params["W"][...], d1.params["b"][...] = p["W1"], p["b1"]
    d2.params["W"][...], d2.params["b"][...] = p["W2"], p["b2"]
    x = np.linspace(-1, 1, 37)
    out = L.Sequential(d1, L.ReLU(), d2).forward(x[:, None])[:, 0]
    np.testing.assert_allclose(out, network_output(p, x), atol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        bump_network(3, "softplus")


def test_approximation_live_ui_and_static_fallback(widget_png):
    w = approximation_explorer(n_hidden=4)
    w.build_ui()
    assert widget_png(w)
    err4 = w.state["max_error"]
    w.controls["n_hidden"].value = 40
    assert w.state["max_error"] < err4 / 3
    assert w.state["params"]["W1"].shape == (1, 40)
    w.controls["activation"].value = "step"
    assert len(np.unique(np.round(w.state["output"], 12))) <= 40  # a staircase: at most one level per unit
    fig = w.static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 9
    w.anim_widths = (2, 30)
    html = w.animation_html()
    assert "<script" in html and html.count("data:image/png") == 2
