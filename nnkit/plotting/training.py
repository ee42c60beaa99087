"""How training goes: curves per epoch (training next to validation), several runs on one plot,
the contours of a loss of two parameters with the optimisers' paths, gradient magnitudes per layer.

Every function takes an optional ``ax`` (a matplotlib Axes, or a sequence of them where the plot has
several panels). Without one it creates a new figure with ``pyplot``. Every function returns what it
drew on (an Axes or an array of Axes), keeps no state between calls and changes no global setting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from ._axes import CLASS_COLORS, PRETTY, new_axes

__all__ = ["plot_history", "plot_curves", "plot_loss_contours", "plot_gradient_norms"]


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
    axes = np.atleast_1d(new_axes(ax, 1, len(groups), figsize=(4.2 * len(groups), 3.2)))
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
    ax = new_axes(ax, figsize=(4.6, 3.4))
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


def plot_loss_contours(loss_fn: Callable, ax=None, *, w0_range=(-4.0, 4.0), w1_range=(-4.0, 4.0), paths=None,
                       levels=20, resolution=120, labels=("$w_0$", "$w_1$"), minimum=None):
    """Contours of a loss L(w) of two parameters, optionally with optimisation paths on top.

    ``loss_fn`` maps an array of parameter vectors W (m, 2) to their losses (m,). ``paths`` maps a
    legend label to an array (t, 2) of successive parameter vectors (e.g. ``LogisticRegression.path_``);
    each path is drawn as a line from a circle (start) to a cross (end). ``minimum`` marks a point
    with a star. Levels are spaced geometrically above the lowest loss, so the valley shows.
    """
    ax = new_axes(ax)
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


def plot_gradient_norms(norms: Mapping[str, Sequence[float]], ax=None, *, xlabel="layer $l$",
                        ylabel="gradient magnitude", bound=None):
    """Plot, on a log scale, how large the gradient is at each layer, one line per entry of ``norms``.

    ``norms`` maps a label (e.g. an activation name) to values per layer (layer 1 first). ``bound``
    optionally maps a label to a reference curve drawn dotted (e.g. 0.25**l for the sigmoid).
    """
    ax = new_axes(ax)
    for k, (name, values) in enumerate(norms.items()):
        values = np.asarray(values, dtype=float)
        layers = np.arange(1, len(values) + 1)
        ax.semilogy(layers, values, marker="o", markersize=3, color=CLASS_COLORS[k % len(CLASS_COLORS)],
                    label=PRETTY.get(name, name))
    for name, values in (bound or {}).items():
        values = np.asarray(values, dtype=float)
        ax.semilogy(np.arange(1, len(values) + 1), values, ":", color="0.3", label=name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return ax
