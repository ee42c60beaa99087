"""nnkit.plotting.networks: each function draws the expected artists, checks its input, and returns
what it drew on; the diagrams of chapters 3-5 stay phone-sized (at most 6.5 inches wide)."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Circle, FancyBboxPatch

from nnkit.plotting import (plot_backprop_layers, plot_computational_graph, plot_layer_histograms,
                            plot_network)


def _graph():
    nodes = {"x": dict(pos=(0, 1), label="x", value=3.0, grad=-1.0),
             "y": dict(pos=(0, 0), label="y", value=-2.0, grad=3.0),
             "q": dict(pos=(2, 0.5), label="×", value=-6.0, grad=1.0)}
    return nodes, [("x", "q", -2.0), ("y", "q", 3.0)]


def test_plot_computational_graph_labels_values_and_gradients_on_edges():
    nodes, edges = _graph()
    ax = plot_computational_graph(nodes, edges, title="x y")
    texts = [t.get_text() for t in ax.texts]
    assert sum(isinstance(p, Circle) for p in ax.patches) == 3
    for label in ("x", "y", "×", "3", "-2", "-6"):  # node labels, forward values, gradients
        assert label in texts
    assert texts.count("-2") == 2 and texts.count("3") >= 3  # y's value and x's edge gradient, etc.
    assert ax.figure.get_size_inches()[0] <= 6.5
    with pytest.raises(ValueError, match="lacks"):
        plot_computational_graph({"x": {"pos": (0, 0)}}, [])
    with pytest.raises(ValueError, match="edges"):
        plot_computational_graph(nodes, [("x", "nowhere", 1.0)])


def test_plot_backprop_layers_draws_s_x_delta_per_layer():
    fig, ax = plt.subplots()
    out = plot_backprop_layers(3, ax=ax, values={"x": [1, 2, 3, 4], "s": [5, 6, 7], "delta": [0.1, 0.2, 0.3]})
    assert out is ax
    texts = [t.get_text() for t in ax.texts]
    for l in (1, 2, 3):
        for sym in (f"$s^{{({l})}}$", f"$x^{{({l})}}$", f"$\\delta^{{({l})}}$"):  # bracketed: not powers
            assert sym in texts
    assert "$x^{(0)}$" in texts and "0.3" in texts and "7" in texts
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 1 + 3 * 3 + 1  # x^0, (s, x, delta) per layer, the loss
    assert plot_backprop_layers(2).figure.get_size_inches()[0] <= 6.5
    with pytest.raises(ValueError, match="needs 4 entries"):
        plot_backprop_layers(3, values={"x": [1, 2, 3]})
    with pytest.raises(ValueError, match="at least one layer"):
        plot_backprop_layers(0)


def test_plot_layer_histograms_one_row_per_setting():
    rng = np.random.default_rng(0)
    data = {"small": [rng.normal(0, 0.1, 100) for _ in range(4)], "He": [rng.normal(0, 1, 100) for _ in range(4)]}
    axes = plot_layer_histograms(data, xlabel="x")
    assert axes.shape == (2, 4)
    assert axes[1, 0].get_ylabel() == "He" and axes[1, 3].get_xlabel() == "x"
    assert "sd 0.1" in axes[0, 0].get_title() or "sd 0.09" in axes[0, 0].get_title()
    assert axes[0, 0].figure.get_size_inches()[0] <= 6.5
    with pytest.raises(ValueError, match="same number of layers"):
        plot_layer_histograms({"a": [np.zeros(3)], "b": [np.zeros(3), np.zeros(3)]})


def test_plot_layer_histograms_names_the_layers_shown():
    data = {"He": [np.arange(10.0), np.arange(5.0)]}
    axes = plot_layer_histograms(data, layers=[1, 10])
    assert axes[0, 1].get_title().startswith("layer 10")
    with pytest.raises(ValueError, match="layers has 1 entries"):
        plot_layer_histograms(data, layers=[1])


def test_plot_network_nodes_and_weight_labels():
    W1, b1 = [[20, -20], [20, -20]], [-10, 30]  # the XOR network: OR and NAND ...
    W2, b2 = [[20], [20]], [-30]                # ... feeding AND
    ax = plot_network([W1, W2], [b1, b2], node_labels=[["x1", "x2"], ["OR", "NAND"], ["AND"]])
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 2 + 2 + 1 + 2  # neurons + one bias node per layer
    labels = [t.get_text() for t in ax.texts]
    assert sorted(w for w in labels if w[:1] in ("+", "-")) == sorted(["+20", "-20", "+20", "-20", "-10", "+30",
                                                               "+20", "+20", "-30"])
    assert {"OR", "NAND", "AND"} <= set(labels)
    with pytest.raises(ValueError, match="rows"):
        plot_network([np.ones((2, 3)), np.ones((2, 1))])
