"""Plots of the first chapters: data and decision boundaries, training curves, activation
functions, loss surfaces, truth tables and gradients through depth.

Every function takes an optional ``ax`` (a matplotlib Axes, or a sequence of them where the plot has
several panels). Without one it creates a new figure with ``pyplot``, so in a notebook the figure
appears below the cell. Every function returns what it drew on (an Axes or an array of Axes), keeps
no state between calls and changes no global setting.

Labels may be {0, 1}, {-1, +1} or any integers; the smaller label of a binary problem is drawn in
blue circles, the larger in red squares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from nnkit.activations import ACTIVATIONS, softmax

__all__ = [
    "CLASS_COLORS",
    "plot_data",
    "plot_decision_boundary",
    "plot_linear_boundary",
    "plot_history",
    "plot_curves",
    "plot_activations",
    "plot_loss_contours",
    "plot_truth_table",
    "plot_gradient_norms",
    "plot_network",
]

#: colours of the classes (colour-blind safe blue and red, then matplotlib's cycle)
CLASS_COLORS = ("#2f6db5", "#d1495b", "#3a9e5f", "#e69f00", "#7b52ab", "#8c564b", "#17becf", "#7f7f7f")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _new_axes(ax, nrows=1, ncols=1, figsize=None):
    """Return ``ax`` if given, else the axes of a new pyplot figure (array if several panels)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    if figsize is None:
        figsize = (4.2 * ncols, 3.6 * nrows)
    _, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", squeeze=False)
    return axes[0, 0] if nrows * ncols == 1 else axes.ravel()


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
    ax = _new_axes(ax)
    for k, label in enumerate(np.unique(y)):
        name = class_names[label] if class_names is not None else f"y = {label:+d}" if label < 0 else f"y = {label}"
        sel = y == label
        ax.scatter(X[sel, 0], X[sel, 1], s=size, c=CLASS_COLORS[k % len(CLASS_COLORS)],
                   marker=_MARKERS[k % len(_MARKERS)], edgecolors="white", linewidths=0.6, label=name, zorder=3)
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
    ax = _new_axes(ax)
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
    ax = _new_axes(ax)
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


def _history_groups(history):
    """Group the keys of a history: "loss" with "val_loss", "accuracy" with "val_accuracy", ..."""
    groups: dict[str, list[str]] = {}
    for key in history:
        base = key[4:] if key.startswith("val_") else key
        groups.setdefault(base, []).append(key)
    return groups


def plot_history(history: Mapping[str, Sequence[float]], ax=None, *, xlabel="epoch", title=None):
    """Plot training curves, one panel per metric, validation next to training.

    ``history`` maps names to per-epoch values, e.g. a model's ``history_`` with keys "loss",
    "accuracy", "val_loss", "val_accuracy" (any other key, e.g. "mistakes", gets its own panel).
    ``ax`` is an Axes (one metric) or a sequence with one Axes per metric. Returns the array of Axes.
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"expected a dict of per-epoch values such as model.history_, got {type(history).__name__}")
    history = {k: v for k, v in history.items() if v is not None and len(v) > 0}
    if not history:
        raise ValueError("history is empty: nothing to plot")
    groups = _history_groups(history)
    axes = np.atleast_1d(_new_axes(ax, 1, len(groups), figsize=(4.2 * len(groups), 3.2)))
    if axes.size != len(groups):
        raise ValueError(f"history has {len(groups)} metrics {list(groups)}; got {axes.size} Axes")
    for a, (base, keys) in zip(axes, groups.items()):
        for key in keys:
            values = np.asarray(history[key], dtype=float)
            epochs = np.arange(1, len(values) + 1)
            val = key.startswith("val_")
            a.plot(epochs, values, marker="o" if len(values) <= 30 else None, markersize=3,
                   linestyle="--" if val else "-", color=CLASS_COLORS[1] if val else CLASS_COLORS[0],
                   label="validation" if val else "training")
        a.set_xlabel(xlabel)
        a.set_ylabel(base.replace("_", " "))
        a.grid(alpha=0.3)
        if len(keys) > 1:
            a.legend(fontsize="small")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        if np.issubdtype(np.asarray(history[keys[0]]).dtype, np.integer):
            a.yaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        axes[0].set_title(title)
    return axes


def plot_curves(curves: Mapping[str, Sequence[float]], ax=None, *, x=None, xlabel="epoch", ylabel="loss",
                start=1, logy=False, title=None, reference=None):
    """Several curves on one Axes, e.g. the loss per epoch for different learning rates.

    ``curves`` maps a legend label to its values. Without ``x`` the x-axis counts steps from ``start``
    (0 when the first value is before any training); with ``x`` (shared by all curves) the curves
    are functions of it, e.g. losses as functions of the margin. ``reference`` optionally draws a
    dotted horizontal line, given as ``(label, value)``, e.g. the minimum loss.
    """
    ax = _new_axes(ax, figsize=(4.6, 3.4))
    for k, (name, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=float)
        steps = np.arange(start, start + len(values)) if x is None else np.asarray(x, dtype=float)
        if steps.shape != values.shape:
            raise ValueError(f"curve {name!r} has {values.shape} values but x has shape {steps.shape}")
        ax.plot(steps, values, marker="o" if len(values) <= 30 else None, markersize=3,
                color=CLASS_COLORS[k % len(CLASS_COLORS)], label=name)
    if reference is not None:
        ax.axhline(reference[1], color="0.3", linestyle=":", label=reference[0])
    if logy:
        ax.set_yscale("log")
    if x is None:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


_PRETTY = {"step": "step", "sigmoid": "sigmoid $\\sigma$", "tanh": "tanh", "relu": "ReLU",
           "leaky_relu": "leaky ReLU", "linear": "linear", "softmax": "softmax"}


def plot_activations(names, ax=None, *, s_range=(-5.0, 5.0), derivative=True, alpha=0.1):
    """Plot activation functions x = f(s) (solid) and their derivatives f'(s) (dashed).

    ``names`` is one name or a list of names from ``nnkit.activations.ACTIVATIONS`` ("step",
    "sigmoid", "tanh", "relu", "leaky_relu", "linear") or "softmax" (drawn as the first output of a
    softmax over the two inputs (s, 0), which equals sigmoid(s)). ``alpha`` is the slope of the leaky
    ReLU for s < 0 (0.1 by default so that it is visible; networks use 0.01). Without ``ax`` there is
    one panel per name; with one Axes everything is drawn on it. Returns the array of Axes.
    """
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in ACTIVATIONS and name != "softmax":
            raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS) + ['softmax']}")
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    axes = np.atleast_1d(_new_axes(ax, nrows, ncols, figsize=(3.4 * ncols, 2.9 * nrows)))
    if ax is None and axes.size > len(names):  # unused panels of the last row
        for extra in axes[len(names):]:
            extra.remove()
        axes = axes[:len(names)]
    if axes.size not in (1, len(names)):
        raise ValueError(f"got {axes.size} Axes for {len(names)} activations: pass one Axes or one per name")
    s = np.linspace(*s_range, 801)
    for i, name in enumerate(names):
        a = axes[i] if axes.size > 1 else axes[0]
        color = CLASS_COLORS[i % len(CLASS_COLORS)] if axes.size == 1 else CLASS_COLORS[0]
        if name == "softmax":
            x = softmax(np.column_stack([s, np.zeros_like(s)]), axis=1)[:, 0]
            dx = x * (1 - x)
        elif name == "leaky_relu":
            f, f_prime = ACTIVATIONS[name]
            x, dx = f(s, alpha=alpha), f_prime(s, alpha=alpha)
        else:
            f, f_prime = ACTIVATIONS[name]
            x, dx = f(s), f_prime(s)
        label = _PRETTY.get(name, name)
        if name == "step":  # draw the jump as a jump, not as a steep line
            x = np.where(np.isclose(s, 0, atol=(s[1] - s[0]) / 2), np.nan, x)
        a.plot(s, x, color=color, linewidth=2, label=f"{label}")
        if derivative:
            a.plot(s, dx, color=color if axes.size == 1 else CLASS_COLORS[1], linestyle="--", linewidth=1.5,
                   label=f"{label}$'$" if axes.size == 1 else "derivative")
        if axes.size > 1 or i == 0:  # the coordinate axes, once per panel
            a.axhline(0, color="0.6", linewidth=0.6)
            a.axvline(0, color="0.6", linewidth=0.6)
        a.set_xlabel("input signal $s$")
        if axes.size > 1:
            a.set_title(label)
        a.grid(alpha=0.3)
    axes[0].legend(fontsize="small", loc="upper left")
    return axes


def plot_loss_contours(loss_fn: Callable, ax=None, *, w0_range=(-4.0, 4.0), w1_range=(-4.0, 4.0), paths=None,
                       levels=20, resolution=120, labels=("$w_0$", "$w_1$"), minimum=None):
    """Contours of a loss L(w) of two parameters, optionally with optimisation paths on top.

    ``loss_fn`` maps an array of parameter vectors W (m, 2) to their losses (m,). ``paths`` maps a
    legend label to an array (t, 2) of successive parameter vectors (e.g. ``LogisticRegression.path_``);
    each path is drawn as a line from a circle (start) to a cross (end). ``minimum`` marks a point
    with a star. Levels are spaced geometrically above the lowest loss, so the valley shows.
    """
    ax = _new_axes(ax)
    g0, g1 = np.meshgrid(np.linspace(*w0_range, resolution), np.linspace(*w1_range, resolution))
    L = np.asarray(loss_fn(np.column_stack([g0.ravel(), g1.ravel()])), dtype=float).reshape(g0.shape)
    lo, hi = L.min(), L.max()
    lv = lo + (hi - lo) * np.geomspace(1e-3, 1, levels) if hi > lo else levels
    cs = ax.contourf(g0, g1, L, levels=np.concatenate([[lo], lv]) if hi > lo else levels, cmap="Greys_r", alpha=0.3)
    ax.contour(g0, g1, L, levels=cs.levels, colors="0.45", linewidths=0.5)
    for k, (name, path) in enumerate((paths or {}).items()):
        path = np.asarray(path, dtype=float)
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"path {name!r}: expected shape (t, 2), got {path.shape}")
        c = CLASS_COLORS[k % len(CLASS_COLORS)]
        z = 3 + len(paths) - k  # the first path on top
        ax.plot(path[:, 0], path[:, 1], color=c, linewidth=1.4, marker="." if len(path) <= 60 else None,
                markersize=4, label=name, zorder=z)
        ax.plot(*path[0], "o", color=c, markersize=6, markeredgecolor="white", zorder=z)
        ax.plot(*path[-1], "X", color=c, markersize=8, markeredgecolor="white", zorder=z)
    if minimum is not None:
        ax.plot(*minimum, "*", color="gold", markersize=14, markeredgecolor="k", label="minimum", zorder=5)
    ax.set_xlim(*w0_range)
    ax.set_ylim(*w1_range)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if paths or minimum is not None:
        ax.legend(fontsize="small", loc="upper right", framealpha=0.85)
    return ax


def plot_truth_table(columns: Mapping[str, Sequence], ax=None, *, wrong=None, title=None, fmt="{:g}"):
    """Draw a table (e.g. a truth table) with one column per entry of ``columns``.

    ``columns`` maps a header to the column's values, all of the same length. Rows where the boolean
    array ``wrong`` is true are highlighted in red (e.g. where the prediction differs from the target).
    Returns the Axes; the table is ``ax.tables[0]``.
    """
    headers = list(columns)
    cols = [list(columns[h]) for h in headers]
    n = len(cols[0]) if cols else 0
    if any(len(c) != n for c in cols):
        raise ValueError(f"all columns must have the same length, got {[len(c) for c in cols]}")
    ax = _new_axes(ax, figsize=(0.9 * len(headers) + 0.5, 0.35 * n + 0.8))
    text = [[fmt.format(c[i]) if isinstance(c[i], (int, float, np.number)) else str(c[i]) for c in cols]
            for i in range(n)]
    wrong = np.zeros(n, dtype=bool) if wrong is None else np.asarray(wrong, dtype=bool)
    colours = [["#f6c6cc" if wrong[i] else "white"] * len(headers) for i in range(n)]
    table = ax.table(cellText=text, colLabels=headers, cellColours=colours, colColours=["#e4e9f2"] * len(headers),
                     cellLoc="center", loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1, 1.4)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def plot_gradient_norms(norms: Mapping[str, Sequence[float]], ax=None, *, xlabel="layer $l$",
                        ylabel="gradient magnitude", bound=None):
    """Plot, on a log scale, how large the gradient is at each layer, one line per entry of ``norms``.

    ``norms`` maps a label (e.g. an activation name) to values per layer (layer 1 first). ``bound``
    optionally maps a label to a reference curve drawn dotted (e.g. 0.25**l for the sigmoid).
    """
    ax = _new_axes(ax)
    for k, (name, values) in enumerate(norms.items()):
        values = np.asarray(values, dtype=float)
        layers = np.arange(1, len(values) + 1)
        ax.semilogy(layers, values, marker="o", markersize=3, color=CLASS_COLORS[k % len(CLASS_COLORS)],
                    label=_PRETTY.get(name, name))
    for name, values in (bound or {}).items():
        values = np.asarray(values, dtype=float)
        ax.semilogy(np.arange(1, len(values) + 1), values, ":", color="0.3", label=name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return ax


def plot_network(weights, biases=None, ax=None, *, node_labels=None, edge_labels=True, fmt="{:+g}"):
    """Draw a small feed-forward network: neurons as circles, weights as labelled arrows.

    ``weights`` is a list of matrices W^l of shape (n_{l-1}, n_l), entry (i, j) connecting neuron i
    of layer l-1 to neuron j of layer l (the course's convention). ``biases`` is an optional list of
    vectors b^l (n_l,), drawn as the weights of a constant input "1" above each layer.
    ``node_labels`` is a list (one per layer, inputs first) of lists of strings. Returns the Axes.
    """
    weights = [np.atleast_2d(np.asarray(W, dtype=float)) for W in weights]
    for l in range(1, len(weights)):
        if weights[l].shape[0] != weights[l - 1].shape[1]:
            raise ValueError(f"W{l + 1} has {weights[l].shape[0]} rows but layer {l} has "
                             f"{weights[l - 1].shape[1]} neurons")
    sizes = [weights[0].shape[0]] + [W.shape[1] for W in weights]
    if biases is not None and [np.size(b) for b in biases] != sizes[1:]:
        raise ValueError(f"expected biases of sizes {sizes[1:]}, got {[np.size(b) for b in biases]}")
    ax = _new_axes(ax, figsize=(2.4 * len(sizes), 0.9 * max(sizes) + 1.6))
    top = (max(sizes) - 1) / 2

    def pos(l, i):  # layer l, neuron i: layers left to right, neurons centred vertically
        return np.array([2.2 * l, (sizes[l] - 1) / 2 - i])

    radius = 0.3
    for l, W in enumerate(weights, start=1):
        sources = [(pos(l - 1, i), W[i]) for i in range(sizes[l - 1])]
        if biases is not None:
            sources.append((np.array([2.2 * (l - 1), top + 1.0]), np.ravel(biases[l - 1])))
        for k, (p0, row) in enumerate(sources):
            for j in range(sizes[l]):
                p1 = pos(l, j)
                d = (p1 - p0) / np.linalg.norm(p1 - p0)
                ax.annotate("", xy=p1 - radius * d, xytext=p0 + radius * d,
                            arrowprops=dict(arrowstyle="-|>", color="0.35", linewidth=1.0, shrinkA=0, shrinkB=0))
                if edge_labels:
                    mid = p0 + (0.3 if k < sizes[l - 1] else 0.72) * (p1 - p0)  # bias labels near the target
                    ax.text(*mid, fmt.format(row[j]), fontsize=9, ha="center", va="center",
                            bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"), zorder=4)
        if biases is not None:
            b_pos = np.array([2.2 * (l - 1), top + 1.0])
            ax.add_patch(_neuron_patch(b_pos, radius * 0.8, "#eeeeee"))
            ax.text(*b_pos, "1", ha="center", va="center", fontsize=10, zorder=6)
    for l, n in enumerate(sizes):
        colour = "#dfe8f5" if l == 0 else "#fbe3e6" if l == len(sizes) - 1 else "#e3f1e6"
        for i in range(n):
            ax.add_patch(_neuron_patch(pos(l, i), radius, colour))
            if node_labels is not None:
                ax.text(*pos(l, i), node_labels[l][i], ha="center", va="center", fontsize=10, zorder=6)
    ax.set_xlim(-0.7, 2.2 * (len(sizes) - 1) + 0.7)
    ax.set_ylim(-top - 0.7, top + (1.6 if biases is not None else 0.7))
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _neuron_patch(center, radius, colour):
    """A neuron: a filled circle with a dark edge (a matplotlib patch)."""
    from matplotlib.patches import Circle

    return Circle(center, radius, facecolor=colour, edgecolor="0.25", linewidth=1.2, zorder=5)
