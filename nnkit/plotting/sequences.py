"""Sequences (chapter 6): a time series with a recurrent network's predictions.

The function takes numpy arrays or torch tensors (this module does not import torch) and returns
the Axes it drew on.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from ._axes import as_numpy

__all__ = ["plot_sequence_prediction"]


def plot_sequence_prediction(t, series, t_pred, predictions, ax=None, *, target=None, title=None):
    """A time series (dots), a model's predictions (line) and optionally the noise-free target.

    ``t``, ``series``: the observed values; ``t_pred``, ``predictions``: what the model
    predicted at those times (a dict ``{label: values}`` draws several models);
    ``target`` a callable giving the clean signal at any t. Returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3), layout="constrained")
    t, series = as_numpy(t).ravel(), as_numpy(series).ravel()
    ax.plot(t, series, ".", color="0.6", markersize=3, label="observed (noisy)")
    if target is not None:
        ax.plot(t, target(t), color="0.2", lw=1, linestyle=":", label="noise-free signal")
    if not isinstance(predictions, dict):
        predictions = {"prediction": predictions}
    for label, values in predictions.items():
        ax.plot(as_numpy(t_pred).ravel(), as_numpy(values).ravel(), lw=1.6, label=label)
    ax.set_xlabel("time step $t$")
    ax.set_ylabel("value")
    ax.legend(fontsize="small", ncols=2)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax
