"""nnkit.plotting.training: training curves, loss contours, gradient magnitudes per layer; each function
draws the expected artists and returns what it drew on."""
import numpy as np
import pytest

from nnkit.plotting import plot_curves, plot_gradient_norms, plot_history, plot_loss_contours


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


def test_plot_curves_as_functions_of_x():
    m = np.linspace(-2, 2, 41)
    ax = plot_curves({"logistic": np.logaddexp(0, -m), "perceptron": np.maximum(0, -m)}, x=m,
                     xlabel="margin")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), m)
    assert ax.get_xlabel() == "margin"
    with pytest.raises(ValueError, match="x has shape"):
        plot_curves({"bad": [1, 2, 3]}, x=m)
