"""nnkit.plotting.functions: activation functions with their derivatives, truth tables."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnkit import activations as A
from nnkit.plotting import plot_activations, plot_truth_table


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


def test_plot_truth_table_cells_and_highlight():
    ax = plot_truth_table({"x1": [0, 0, 1, 1], "x2": [0, 1, 0, 1], "y": [0, 1, 1, 0]}, wrong=[0, 0, 0, 1])
    table = ax.tables[0]
    cells = table.get_celld()
    assert cells[(0, 2)].get_text().get_text() == "y"
    assert [cells[(r, 2)].get_text().get_text() for r in range(1, 5)] == ["0", "1", "1", "0"]
    assert cells[(4, 0)].get_facecolor() != cells[(1, 0)].get_facecolor()  # the wrong row stands out
    with pytest.raises(ValueError, match="same length"):
        plot_truth_table({"a": [1, 2], "b": [1]})
