"""Widgets of chapters 4-5: backprop stepper, universal approximation, playground.

Each widget's live UI is built without a display and updated through its controls and buttons;
the static fallback produces a figure (and the animation plays in static HTML).
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import nnkit  # noqa: E402
from nnkit import layers as L  # noqa: E402
from nnkit.widgets import approximation_explorer, backprop_stepper, playground  # noqa: E402
from nnkit.widgets.approximation import bump_network, network_output  # noqa: E402
from nnkit.widgets.backprop import STAGES, tiny_network_pass, tiny_network_weights  # noqa: E402
from nnkit.widgets.playground import make_dataset  # noqa: E402


def _png_in(widget):
    outs = widget.output.outputs
    return len(outs) == 1 and outs[0]["data"]["image/png"]


# ---------------------------------------------------------------------------- backprop stepper
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


def test_stepper_live_ui_steps_through_all_stages():
    w = backprop_stepper()
    ui = w.build_ui()
    assert set(w.controls) == {"step", "activation", "seed", "lr"}
    assert _png_in(w)
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


# ---------------------------------------------------------------------------- approximation
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


def test_approximation_live_ui_and_static_fallback():
    w = approximation_explorer(n_hidden=4)
    w.build_ui()
    assert _png_in(w)
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


# ---------------------------------------------------------------------------- playground
def test_playground_trains_and_redraws_on_button_clicks():
    w = playground(dataset="moons", hidden=8, layers=1, lr=0.3)
    ui = w.build_ui()
    assert w.state["epoch"] == 0
    loss0 = w.state["loss"]
    b100, b1000, reset = ui.children[0].children
    b100.click()
    b100.click()
    assert w.state["epoch"] == 200
    assert w.state["loss"] < loss0 / 2 and w.state["accuracy"] > 0.9
    w.controls["lr"].value = 0.1          # a new learning rate keeps the trained network
    assert w.state["epoch"] == 200 and w.opt.lr == pytest.approx(0.1, rel=0.05)
    w.controls["dataset"].value = "circles"  # a new data set starts afresh
    assert w.state["epoch"] == 0 and w.state["dataset"] == "circles"
    b100.click()
    reset.click()
    assert w.state["epoch"] == 0


def test_playground_static_grid_and_animation_are_cheap_to_configure():
    w = playground()
    w.grid_datasets = ("moons", "spirals")
    w.grid_columns = ((2, 1), (8, 2))
    w.grid_epochs = 40
    fig = w.static_figure()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert set(w.state["grid_accuracy"]) == {("moons", 2, 1), ("moons", 8, 2), ("spirals", 2, 1), ("spirals", 8, 2)}
    w.anim_frames = 3
    html = w.animation_html()
    assert "<script" in html and html.count("data:image/png") == 3


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "xor"])
def test_playground_datasets(name):
    X, y = make_dataset(name, n=120, seed=1)
    assert X.shape == (120, 2) and set(np.unique(y)) == {0, 1}
    with pytest.raises(ValueError, match="dataset"):
        make_dataset("blobz")
