"""nnkit.plotting.transfer: the transfer-learning curve (accuracy against labels per class)."""
from types import SimpleNamespace

import pytest

from nnkit.plotting import plot_transfer_curve


def test_transfer_curve_draws_one_line_per_method_and_checks_lengths():
    result = SimpleNamespace(labels_per_class=[1, 5, 10], accuracy={"frozen": [0.3, 0.6, 0.7], "scratch": [0.2, 0.5, 0.8]})
    ax = plot_transfer_curve(result, chance=0.1)
    assert [list(line.get_ydata()) for line in ax.lines[:2]] == [[0.3, 0.6, 0.7], [0.2, 0.5, 0.8]]
    with pytest.raises(ValueError, match="has 2 accuracies for 3 label counts"):
        plot_transfer_curve(SimpleNamespace(labels_per_class=[1, 5, 10], accuracy={"frozen": [0.1, 0.2]}))
