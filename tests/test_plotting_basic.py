"""nnkit.plotting.basic: each function draws the expected artists and returns what it drew on."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from nnkit import activations as A  # noqa: E402
from nnkit.plotting import (  # noqa: E402
    plot_activations,
    plot_curves,
    plot_data,
    plot_decision_boundary,
    plot_gradient_norms,
    plot_history,
    plot_linear_boundary,
    plot_loss_contours,
    plot_network,
    plot_truth_table,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def test_plot_data_one_scatter_per_class():
    X, y = _points()
    ax = plot_data(X, 2 * y - 1)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2
    assert sorted(len(c.get_offsets()) for c in scatters) == sorted(np.bincount(y).tolist())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = -1", "y = 1"]
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot_data(np.zeros((4, 3)), np.zeros(4))


def test_plot_decision_boundary_shades_classes_and_draws_boundary():
    X, y = _points()
    fig, ax = plt.subplots()
    out = plot_decision_boundary(lambda Z: (Z[:, 0] + Z[:, 1] > 0).astype(int), X, y, ax=ax)
    assert out is ax
    contour_sets = [c for c in ax.collections if not isinstance(c, PathCollection)]
    assert len(contour_sets) == 2  # filled regions + the boundary line
    boundary = contour_sets[1].allsegs[0][0]  # the line x1 + x2 = 0 (up to the grid's resolution)
    assert np.abs(boundary.sum(axis=1)).max() < 0.1
    ax2 = plot_decision_boundary(lambda Z: 1 / (1 + np.exp(-(Z[:, 0] + Z[:, 1]))), X, y, proba=True)
    level = [c for c in ax2.collections if not isinstance(c, PathCollection)][1]
    assert list(level.levels) == [0.5]
    with pytest.raises(ValueError, match="returned"):
        plot_decision_boundary(lambda Z: Z[:3, 0], X, y)


def test_plot_linear_boundary_line_and_normal_vector():
    fig, ax = plt.subplots()
    ax.set_xlim(-1, 2)
    ax.set_ylim(-1, 2)
    plot_linear_boundary([-30, 20, 20], ax=ax)  # the lecture's AND unit: x1 + x2 = 1.5
    (line,) = ax.get_lines()
    x1, x2 = line.get_data()
    np.testing.assert_allclose(np.asarray(x1) + np.asarray(x2), 1.5)
    arrow = ax.texts[0]  # annotate: arrow from the line along (w1, w2)
    start, end = np.array(arrow.xyann), np.array(arrow.xy)
    assert start.sum() == pytest.approx(1.5)  # starts on the line
    d = end - start
    assert d[0] == pytest.approx(d[1]) and d[0] > 0  # parallel to (20, 20): normal to the line
    with pytest.raises(ValueError, match=r"\(w0, w1, w2\)"):
        plot_linear_boundary([1, 2])


def test_plot_history_one_panel_per_metric():
    history = {"loss": [1.0, 0.5, 0.3], "accuracy": [0.5, 0.7, 0.9], "val_loss": [1.1, 0.7, 0.6],
               "val_accuracy": [0.4, 0.6, 0.8]}
    axes = plot_history(history)
    assert len(axes) == 2
    assert [len(a.get_lines()) for a in axes] == [2, 2]
    np.testing.assert_array_equal(axes[0].get_lines()[1].get_ydata(), history["val_loss"])
    assert axes[1].get_ylabel() == "accuracy"
    single = plot_history({"mistakes": [3, 1, 0]})
    assert len(single) == 1 and single[0].get_ylabel() == "mistakes"
    with pytest.raises(TypeError, match="dict"):
        plot_history([1, 2, 3])


def test_plot_activations_functions_and_derivatives():
    axes = plot_activations(["sigmoid", "relu", "tanh", "softmax"])
    assert len(axes) == 4
    s, x = axes[0].get_lines()[0].get_data()
    np.testing.assert_allclose(x, A.sigmoid(s))
    _, dx = axes[0].get_lines()[1].get_data()
    np.testing.assert_allclose(dx, A.sigmoid_prime(s))
    _, dr = axes[1].get_lines()[1].get_data()
    np.testing.assert_array_equal(dr, A.relu_prime(s))
    _, soft = axes[3].get_lines()[0].get_data()
    np.testing.assert_allclose(soft, A.sigmoid(s))  # softmax of (s, 0), first output
    fig, ax = plt.subplots()
    one = plot_activations(["tanh", "relu"], ax=ax, derivative=False)
    assert one[0] is ax and len(ax.get_lines()) == 2 + 2  # two functions + the two axis lines
    with pytest.raises(ValueError, match="unknown activation"):
        plot_activations("swish")


def test_plot_loss_contours_levels_and_paths():
    def bowl(W):
        return (W[:, 0] - 1) ** 2 + 4 * W[:, 1] ** 2

    path = np.array([[3.0, 1.0], [2.0, 0.5], [1.0, 0.0]])
    ax = plot_loss_contours(bowl, w0_range=(-2, 4), w1_range=(-2, 2), paths={"GD": path}, minimum=(1, 0))
    assert len(ax.collections) == 2  # filled contours + contour lines
    lines = ax.get_lines()
    np.testing.assert_array_equal(lines[0].get_xydata(), path)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["GD", "minimum"]
    with pytest.raises(ValueError, match=r"\(t, 2\)"):
        plot_loss_contours(bowl, paths={"bad": np.zeros((3, 3))})


def test_plot_truth_table_cells_and_highlight():
    ax = plot_truth_table({"x1": [0, 0, 1, 1], "x2": [0, 1, 0, 1], "y": [0, 1, 1, 0]}, wrong=[0, 0, 0, 1])
    table = ax.tables[0]
    cells = table.get_celld()
    assert cells[(0, 2)].get_text().get_text() == "y"
    assert [cells[(r, 2)].get_text().get_text() for r in range(1, 5)] == ["0", "1", "1", "0"]
    assert cells[(4, 0)].get_facecolor() != cells[(1, 0)].get_facecolor()  # the wrong row stands out
    with pytest.raises(ValueError, match="same length"):
        plot_truth_table({"a": [1, 2], "b": [1]})


def test_plot_gradient_norms_log_scale():
    ax = plot_gradient_norms({"sigmoid": 0.25 ** np.arange(1, 6), "relu": np.ones(5)},
                             bound={"bound": 0.25 ** np.arange(1, 6)})
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 3
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), np.arange(1, 6))


def test_plot_curves_one_line_per_entry_and_reference():
    ax = plot_curves({"eta = 0.1": [0.7, 0.5, 0.4], "eta = 1": [0.7, 0.3, 0.2]}, start=0,
                     reference=("minimum", 0.18))
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[1].get_xdata(), [0, 1, 2])
    assert lines[2].get_ydata()[0] == 0.18
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["eta = 0.1", "eta = 1", "minimum"]


def test_plot_network_nodes_and_weight_labels():
    from matplotlib.patches import Circle

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


def test_plot_curves_as_functions_of_x():
    m = np.linspace(-2, 2, 41)
    ax = plot_curves({"logistic": np.logaddexp(0, -m), "perceptron": np.maximum(0, -m)}, x=m,
                     xlabel="margin")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), m)
    assert ax.get_xlabel() == "margin"
    with pytest.raises(ValueError, match="x has shape"):
        plot_curves({"bad": [1, 2, 3]}, x=m)
