"""nnkit.widgets.backprop: the backprop stepper's numbers against nnkit's layers, its live UI stepped
through every stage, its static figure and animation.
"""
import numpy as np
import pytest
from matplotlib.figure import Figure

import nnkit
from nnkit import layers as L
from nnkit.widgets import backprop_stepper
from nnkit.widgets.backprop import STAGES, tiny_network_pass, tiny_network_weights


@pytest.mark.parametrize("activation, layer", [("sigmoid", L.Sigmoid), ("tanh", L.Tanh), ("relu", L.ReLU)])
def test_stepper_numbers_match_nnkit_layers(activation, layer):
    params = tiny_network_weights(seed=3)
    x0, y = np.array([0.8, -0.5]), 1
    r = tiny_network_pass(params, x0, y, activation=activation, lr=0.1)
    d1, d2 = L.Dense(2, 3), L.Dense(3, 2)
    d1.params["W"][...], d1.params["b"][...] = params["W1"], params["b1"]
    d2.params["W"][...], d2.params["b"][...] = params["W2"], params["b2"]
    net = L.Sequential(d1, layer(), d2)
    s2 = net.forward(x0[None])
    loss, delta = nnkit.softmax_cross_entropy(s2, np.array([y]))
    net.backward(delta)
    assert r["loss"] == pytest.approx(loss)
    np.testing.assert_allclose(r["s"][2], s2[0])
    np.testing.assert_allclose(r["delta"][2], delta[0])
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(r["grads"][key], net.grads[key], atol=1e-12)
    assert r["new_loss"] < r["loss"]  # a small step downhill lowers the loss


def test_stepper_live_ui_steps_through_all_stages(widget_png):
    w = backprop_stepper()
    ui = w.build_ui()
    assert set(w.controls) == {"step", "activation", "seed", "lr"}
    assert widget_png(w)
    back, forward, new = ui.children[0].children
    w.controls["step"].value = 2
    assert w.state["stage"] == STAGES[2]
    forward.click()
    assert w.values["step"] == 3 and w.controls["step"].value == 3
    assert w.state["stage"] == STAGES[3]
    w.controls["step"].value = len(STAGES) - 1
    forward.click()  # stays at the last stage
    assert w.values["step"] == len(STAGES) - 1
    back.click()
    assert w.values["step"] == len(STAGES) - 2 and w.state["stage"] == STAGES[-2]
    old = w.state["params"]["W1"].copy()
    new.click()
    assert w.values["step"] == 0 and w.values["seed"] == 1
    assert not np.allclose(w.state["params"]["W1"], old)
    w.controls["activation"].value = "relu"
    np.testing.assert_allclose(w.state["x"][1], np.maximum(w.state["s"][1], 0))


def test_stepper_static_figure_and_animation():
    w = backprop_stepper()
    fig = w.static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "backward" in fig.axes[0].get_title(loc="left")
    assert len(w.anim_stages) == len(STAGES)  # the book animates every stage; two are enough here
    w.anim_stages = (0, 5)
    html = w.animation_html()
    assert "<script" in html and html.count("data:image/png") == 2
    with pytest.raises(ValueError, match="step"):
        w.update(step=len(STAGES))
