"""nnkit.plotting.sequences: a series and the predictions of sequence models."""
import numpy as np

from nnkit.plotting import plot_sequence_prediction


def test_sequence_prediction_draws_the_series_and_each_prediction():
    ax = plot_sequence_prediction(np.arange(10), np.sin(np.arange(10)), np.arange(5, 10), {"GRU": np.zeros(5)})
    assert len(ax.lines) == 2
