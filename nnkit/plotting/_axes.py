"""What the plotting modules share: the colours and markers of the classes, the names of the
activation functions as drawn, new axes when the caller gives none, arrays from tensors."""

from __future__ import annotations

import numpy as np

#: colours of the classes (colour-blind safe blue and red, then matplotlib's cycle)
CLASS_COLORS = ("#2f6db5", "#d1495b", "#3a9e5f", "#e69f00", "#7b52ab", "#8c564b", "#17becf", "#7f7f7f")
#: markers of the classes, in the order of CLASS_COLORS
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

#: the activation functions' names in legends and titles
PRETTY = {"step": "step", "sigmoid": "sigmoid $\\sigma$", "tanh": "tanh", "relu": "ReLU",
          "leaky_relu": "leaky ReLU", "linear": "linear", "softmax": "softmax"}


def new_axes(ax, nrows=1, ncols=1, figsize=None):
    """Return ``ax`` if given, else the axes of a new pyplot figure (array if several panels)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    if figsize is None:
        figsize = (4.2 * ncols, 3.6 * nrows)
    _, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", squeeze=False)
    return axes[0, 0] if nrows * ncols == 1 else axes.ravel()


def as_numpy(a) -> np.ndarray:
    """An array from a numpy array, a list or a torch tensor (without importing torch)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)
