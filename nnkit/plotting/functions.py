"""Functions drawn: activation functions with their derivatives, and tables of values such as the
truth tables of logic gates.

Every function takes an optional ``ax`` (a matplotlib Axes, or a sequence of them where the plot has
several panels). Without one it creates a new figure with ``pyplot``. Every function returns what it
drew on, keeps no state between calls and changes no global setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nnkit.activations import ACTIVATIONS, softmax

from ._axes import CLASS_COLORS, PRETTY, new_axes

__all__ = ["plot_activations", "plot_truth_table"]


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
    axes = np.atleast_1d(new_axes(ax, nrows, ncols, figsize=(3.4 * ncols, 2.9 * nrows)))
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
        label = PRETTY.get(name, name)
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
    ax = new_axes(ax, figsize=(0.9 * len(headers) + 0.5, 0.35 * n + 0.8))
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
