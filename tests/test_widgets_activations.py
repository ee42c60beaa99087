"""nnkit.widgets.activations: gradients through a chain of activations (vanishing with sigmoid, not
with ReLU) and the activation explorer.
"""
import numpy as np
import pytest
from matplotlib.figure import Figure

from nnkit.widgets import activation_explorer
from nnkit.widgets.activations import chain_gradients


def test_chain_gradients_is_the_product_of_derivatives():
    s, grad = chain_gradients("sigmoid", 12, w=1.0, x0=0.5)
    sig = 1 / (1 + np.exp(-s))
    np.testing.assert_allclose(grad, np.cumprod(sig * (1 - sig)))
    assert grad[-1] < 0.25**12  # sigma' <= 1/4 at every layer
    _, relu = chain_gradients("relu", 12, w=1.0, x0=0.5)
    np.testing.assert_array_equal(relu, np.ones(12))
    with pytest.raises(ValueError, match="activation"):
        chain_gradients("swish", 3)


def test_activation_explorer_live_ui_and_static():
    a = activation_explorer("sigmoid", n_layers=8)
    a.build_ui()
    assert a.state["final"] < 1e-4
    a.controls["name"].value = "relu"
    assert a.state["final"] == 1.0
    a.controls["x0"].value = -1.0  # negative input: ReLU is off, the gradient is zero
    assert a.state["final"] == 0.0
    a.controls["n_layers"].value = 3
    assert len(a.state["grad"]) == 3
    fig = a.static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert a.animation_html() is None  # nothing moves in this lesson: a figure only
