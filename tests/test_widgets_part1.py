"""Widgets of chapters 1-3 and the shared mechanism (nnkit.widgets._base).

Each widget's live UI is built without a display and driven through its controls and buttons; the
static fallback gives a figure, and the animation (where there is one) is HTML with frames.
"""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nnkit import losses  # noqa: E402
from nnkit.data import and_data, blobs  # noqa: E402
from nnkit.widgets import Widget, activation_explorer, gd_explorer, perceptron_playground, static_mode  # noqa: E402
from nnkit.widgets.activations import chain_gradients  # noqa: E402
from nnkit.data import toy_1d  # noqa: E402
from nnkit.widgets.gradient_descent import logistic_loss_surface, minimiser  # noqa: E402
from nnkit.widgets.perceptron import GATE_WEIGHTS, rosenblatt_step  # noqa: E402


def _png(widget):
    """The PNG currently shown in the widget's output area (base64), or None."""
    outs = widget.output.outputs
    return outs[0]["data"]["image/png"] if len(outs) == 1 else None


# ------------------------------------------------------------------------------- the mechanism
def test_static_mode_reads_environment(monkeypatch):
    monkeypatch.setenv("NNKIT_STATIC", "1")
    assert static_mode()
    monkeypatch.setenv("NNKIT_STATIC", "0")
    assert not static_mode()
    monkeypatch.delenv("NNKIT_STATIC")
    assert not static_mode()


def test_importing_widgets_is_lazy():
    code = ("import sys, nnkit.widgets; "
            "print(any(m in sys.modules for m in ('ipywidgets', 'torch', 'nnkit.widgets.perceptron')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class _Sine(Widget):
    figsize = (3, 2)

    def defaults(self):
        return {"freq": 1.0}

    def make_controls(self):
        import ipywidgets as W
        return {"freq": W.FloatSlider(min=0.5, max=3)}

    def draw(self, fig, freq):
        ax = fig.add_subplot()
        ax.plot(np.sin(freq * np.linspace(0, 6, 50)))
        self.state["freq"] = freq


def test_display_static_shows_figure_and_no_widget(monkeypatch):
    import ipywidgets
    from IPython.display import Image

    monkeypatch.setenv("NNKIT_STATIC", "1")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    w = _Sine()
    w._ipython_display_()
    assert len(shown) == 1 and isinstance(shown[0], Image) and shown[0].data[:4] == b"\x89PNG"
    assert w.ui is None and not any(isinstance(o, ipywidgets.Widget) for o in shown)


def test_display_live_shows_the_ui(monkeypatch):
    import ipywidgets

    monkeypatch.delenv("NNKIT_STATIC", raising=False)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    w = _Sine()
    w._ipython_display_()
    assert shown == [w.ui] and isinstance(w.ui, ipywidgets.VBox)
    w.controls["freq"].value = 2.5  # the slider drives the redraw
    assert w.state["freq"] == 2.5 and _png(w)


def test_build_ui_refuses_values_outside_the_controls_range(monkeypatch):
    w = _Sine()
    w.values["freq"] = 10.0  # the slider stops at 3
    with pytest.raises(ValueError, match="freq = 10.0 is outside"):
        w.build_ui()
    g = gd_explorer(lr=50.0, batch_size=5, epochs=2)  # starting values widen the explorer's ranges
    g.build_ui()
    assert g.controls["lr"].value == pytest.approx(50.0) and g.controls["batch_size"].value == 5


def test_update_rejects_unknown_parameter():
    w = _Sine()
    with pytest.raises(TypeError, match="freq"):
        w.update(frequency=2.0)


# ------------------------------------------------------------------------------- perceptron
def test_rosenblatt_step_applies_the_rule():
    X, y = and_data()
    n, w = rosenblatt_step(np.zeros(3), X, y)
    # at w = 0 every point gets s = 0 -> predicted 1; the first wrong one is row 0 (0, 0) with y = -1
    assert n == 0
    np.testing.assert_array_equal(w, [-1.0, 0.0, 0.0])
    n, w_same = rosenblatt_step(np.array(GATE_WEIGHTS["AND"]), X, y)
    assert n is None and np.array_equal(w_same, GATE_WEIGHTS["AND"])


def test_perceptron_playground_live_ui_updates_boundary_and_table():
    p = perceptron_playground(gate="AND")
    p.build_ui()
    np.testing.assert_array_equal(p.state["s"], [-30, -10, -10, 10])  # the lecture's AND table
    assert p.state["mistakes"] == 0
    first = _png(p)
    p.controls["b"].value = -10.0  # AND's weights with OR's bias compute OR: rows 01 and 10 go wrong
    np.testing.assert_array_equal(p.state["y_hat"], [0, 1, 1, 1])
    assert p.state["mistakes"] == 2
    assert _png(p) != first
    p.controls["gate"].value = "OR"  # choosing a gate loads its weights (-10, 20, 20): all right
    assert (p.values["b"], p.values["w1"], p.values["w2"]) == GATE_WEIGHTS["OR"]
    assert p.controls["b"].value == -10.0 and p.state["mistakes"] == 0
    p.controls["gate"].value = "XOR"  # no line computes XOR
    assert p.state["mistakes"] >= 1


def test_perceptron_playground_buttons_step_to_convergence():
    p = perceptron_playground(gate="OR")
    p.build_ui()
    p.buttons["reset"].click()
    assert p.values["w1"] == p.values["w2"] == p.values["b"] == 0.0
    for _ in range(50):
        before = np.array([p.values["b"], p.values["w1"], p.values["w2"]])
        n = p.step()
        if n is None:
            break
        after = np.array([p.values["b"], p.values["w1"], p.values["w2"]])
        X, y = p.dataset()
        np.testing.assert_array_equal(after - before, (2 * y[n] - 1) * np.r_[1.0, X[n]])  # w += y_n x_n
        assert p.controls["w1"].value == after[1]  # the sliders follow
    assert n is None and p.state["mistakes"] == 0


def test_perceptron_playground_static_and_animation():
    p = perceptron_playground(gate="AND", max_frames=5)
    fig = p.static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].tables  # the truth table
    html = p.animation_html()
    assert html.count("data:image/png;base64") >= 2 and "<script" in html


def test_perceptron_playground_custom_data_and_bad_input():
    X, y = blobs(30, seed=1)
    p = perceptron_playground(X + np.array([3.0, 1.0]), y, max_frames=3)
    assert p.static_figure().axes[1].get_lines()  # mistakes per update instead of a table
    assert p.state["mistakes"] == 0  # default weights: where Rosenblatt's rule stopped
    with pytest.raises(ValueError, match="X and y"):
        perceptron_playground(X)
    with pytest.raises(ValueError, match="gate"):
        perceptron_playground(gate="XNOR")
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        perceptron_playground(np.zeros((5, 3)), np.zeros(5))


# ------------------------------------------------------------------------------- gradient descent
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


def test_gd_explorer_live_ui_follows_learning_rate_and_batch_size():
    g = gd_explorer(epochs=10)
    g.build_ui()
    assert g.state["n_updates"] == 10  # full batch: one update per epoch
    slow = g.state["losses"][-1]
    first = _png(g)
    g.controls["lr"].value = 3.0
    assert g.state["losses"][-1] < slow  # a larger step gets further downhill in 10 epochs
    assert _png(g) != first
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


# ------------------------------------------------------------------------------- activations
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
