"""Two-dimensional data and the decision boundaries of classifiers (chapters 1-2 and the
playground): the points coloured by class, the regions a classifier assigns to each class, the
line of a linear classifier with its weight vector.

Every function takes an optional ``ax`` (a matplotlib Axes). Without one it creates a new figure
with ``pyplot``, so in a notebook the figure appears below the cell. Every function returns what it
drew on, keeps no state between calls and changes no global setting.

Labels may be {0, 1}, {-1, +1} or any integers; the smaller label of a binary problem is drawn in
blue circles, the larger in red squares.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._axes import CLASS_COLORS, MARKERS, new_axes

__all__ = ["plot_data", "plot_decision_boundary", "plot_linear_boundary"]


def _check_2d(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"expected X of shape (n, 2) (two features to plot), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"expected y of shape ({X.shape[0]},) to match X, got {y.shape}")
    return X, y


def plot_data(X, y, ax=None, *, class_names=None, size=36, legend=True):
    """Scatter 2-D points ``X`` (n, 2) coloured and shaped by their label ``y`` (n,).

    ``class_names`` maps each label to the legend text (default: the label itself).
    """
    X, y = _check_2d(X, y)
    ax = new_axes(ax)
    for k, label in enumerate(np.unique(y)):
        name = class_names[label] if class_names is not None else f"y = {label:+d}" if label < 0 else f"y = {label}"
        sel = y == label
        ax.scatter(X[sel, 0], X[sel, 1], s=size, c=CLASS_COLORS[k % len(CLASS_COLORS)],
                   marker=MARKERS[k % len(MARKERS)], edgecolors="white", linewidths=0.6, label=name, zorder=3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax


def plot_decision_boundary(predict_fn: Callable, X, y, ax=None, *, proba=False, resolution=200,
                           padding=0.5, title=None, legend=True):
    """Shade the regions a classifier assigns to each class and draw the data on top.

    ``predict_fn`` maps an array of points (m, 2) to labels (m,) — e.g. ``model.predict`` — or,
    with ``proba=True``, to the probability P(y = larger label | x) (m,), drawn as a shade from
    blue (0) to red (1) with the boundary P = 0.5 as a black line.
    """
    X, y = _check_2d(X, y)
    ax = new_axes(ax)
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    Z = np.asarray(predict_fn(grid))
    if Z.shape[0] != grid.shape[0]:
        raise ValueError(f"predict_fn returned {Z.shape[0]} values for {grid.shape[0]} points")
    from matplotlib.colors import LinearSegmentedColormap

    if proba:
        Z = Z.reshape(g1.shape)
        cmap = LinearSegmentedColormap.from_list("nnkit_proba", ["#c6d9f0", "#ffffff", "#f4c7cd"])
        ax.contourf(g1, g2, Z, levels=np.linspace(0, 1, 11), cmap=cmap, vmin=0, vmax=1)
        ax.contour(g1, g2, Z, levels=[0.5], colors="k", linewidths=1.5)
    else:
        classes = np.unique(np.concatenate([np.unique(y), np.unique(Z)]))
        index = np.searchsorted(classes, Z.ravel()).reshape(g1.shape)
        colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(len(classes))]
        ax.contourf(g1, g2, index, levels=np.arange(len(classes) + 1) - 0.5, colors=colors, alpha=0.22)
        if len(classes) > 1:
            ax.contour(g1, g2, index, levels=np.arange(len(classes) - 1) + 0.5, colors="k", linewidths=1.2)
    plot_data(X, y, ax=ax, legend=legend)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    if title:
        ax.set_title(title)
    return ax


def plot_linear_boundary(w, ax=None, *, xlim=None, ylim=None, show_normal=True, shade=True,
                         color="k", label=None):
    """Draw the line w0 + w1 x1 + w2 x2 = 0 of a linear classifier with ``w = (w0, w1, w2)``.

    ``w[0]`` is the bias (the weight of the constant input x0 = 1), as in ``Perceptron.w``.
    With ``show_normal`` an arrow shows the direction of (w1, w2), which is perpendicular to the line
    and points to the side where w0 + w1 x1 + w2 x2 > 0 (shaded red with ``shade``; the other side
    blue). The limits default to the current ones of ``ax``.
    """
    w = np.asarray(w, dtype=float)
    if w.shape != (3,):
        raise ValueError(f"expected w = (w0, w1, w2) of shape (3,), got {w.shape}")
    ax = new_axes(ax)
    xlim = ax.get_xlim() if xlim is None else xlim
    ylim = ax.get_ylim() if ylim is None else ylim
    b, w1, w2 = w
    if shade:
        g1, g2 = np.meshgrid(np.linspace(*xlim, 60), np.linspace(*ylim, 60))
        side = np.sign(b + w1 * g1 + w2 * g2)
        ax.contourf(g1, g2, side, levels=[-1.5, 0, 1.5], colors=[CLASS_COLORS[0], CLASS_COLORS[1]], alpha=0.12)
    if w1 == 0 and w2 == 0:
        # no boundary: the whole plane is on one side
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        return ax
    if abs(w2) >= abs(w1):  # solve for x2
        x1 = np.array(xlim, dtype=float)
        x2 = -(b + w1 * x1) / w2
    else:  # nearly vertical line: solve for x1
        x2 = np.array(ylim, dtype=float)
        x1 = -(b + w2 * x2) / w1
    ax.plot(x1, x2, color=color, linewidth=1.8, label=label, zorder=2)
    if show_normal:
        # foot of the perpendicular from the centre of the view onto the line, arrow along (w1, w2)
        c = np.array([np.mean(xlim), np.mean(ylim)])
        n = np.array([w1, w2])
        foot = c - (b + n @ c) / (n @ n) * n
        length = 0.18 * min(xlim[1] - xlim[0], ylim[1] - ylim[0])
        d = n / np.linalg.norm(n) * length
        ax.annotate("", xy=foot + d, xytext=foot,
                    arrowprops=dict(arrowstyle="-|>", color=color, linewidth=1.5), zorder=4)
        ax.text(*(foot + 1.15 * d), "$\\mathbf{w}$", color=color, ha="center", va="center")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return ax
