"""nnkit.widgets.perceptron: Rosenblatt's rule and the perceptron playground (live UI driven through
its controls and buttons, static figure, animation).
"""
import numpy as np
import pytest
from matplotlib.figure import Figure

from nnkit.data import and_data, blobs
from nnkit.widgets import perceptron_playground
from nnkit.widgets.perceptron import GATE_WEIGHTS, rosenblatt_step


def test_rosenblatt_step_applies_the_rule():
    X, y = and_data()
    n, w = rosenblatt_step(np.zeros(3), X, y)
    # at w = 0 every point gets s = 0 -> predicted 1; the first wrong one is row 0 (0, 0) with y = -1
    assert n == 0
    np.testing.assert_array_equal(w, [-1.0, 0.0, 0.0])
    n, w_same = rosenblatt_step(np.array(GATE_WEIGHTS["AND"]), X, y)
    assert n is None and np.array_equal(w_same, GATE_WEIGHTS["AND"])


def test_perceptron_playground_live_ui_updates_boundary_and_table(widget_png):
    p = perceptron_playground(gate="AND")
    p.build_ui()
    np.testing.assert_array_equal(p.state["s"], [-30, -10, -10, 10])  # the lecture's AND table
    assert p.state["mistakes"] == 0
    first = widget_png(p)
    p.controls["b"].value = -10.0  # AND's weights with OR's bias compute OR: rows 01 and 10 go wrong
    np.testing.assert_array_equal(p.state["y_hat"], [0, 1, 1, 1])
    assert p.state["mistakes"] == 2
    assert widget_png(p) != first
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
