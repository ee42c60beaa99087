"""Networks drawn, and looked into layer by layer: a small network's neurons and weights, a
computational graph with its forward values and backward gradients, the s, x, delta of an L-layer
network, and histograms of a quantity per layer.

Every function takes an optional ``ax`` (or a sequence of Axes where it draws several panels),
returns what it drew on and keeps no state. The figures are sized for a phone: at most about
6.5 inches wide, with fonts of 10 points or more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._axes import CLASS_COLORS, new_axes

__all__ = ["plot_network", "plot_computational_graph", "plot_backprop_layers", "plot_layer_histograms"]

FORWARD_COLOR = "#2e7d32"  # forward values (green)
BACKWARD_COLOR = "#c62828"  # backward gradients (red)


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
    ax = new_axes(ax, figsize=(2.4 * len(sizes), 0.9 * max(sizes) + 1.6))
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


def plot_computational_graph(nodes: Mapping[str, Mapping], edges: Sequence[tuple], ax=None, *, fmt="{:g}",
                             title=None):
    """A computational graph with the forward value and the backward gradient on every edge.

    ``nodes`` maps a name to a dict with ``pos`` (x, y), ``label`` (the text in the node, e.g.
    ``"×"`` or ``"x"``), ``value`` (its forward value) and optionally ``grad`` (dL/d(node)), printed
    under the node. ``edges`` is a sequence of ``(source, target, gradient)``: the edge carries the
    source's value forward (green, above the edge) and ``gradient``, the part of dL/d(source) that
    flows back along it (red, below the edge). Where a node has several outgoing edges, its ``grad``
    should be the sum of their gradients; that is the multivariate chain rule. Returns the Axes.
    """
    for name, node in nodes.items():
        missing = {"pos", "label", "value"} - set(node)
        if missing:
            raise ValueError(f"node {name!r} lacks {sorted(missing)}")
    for edge in edges:
        if len(edge) != 3 or edge[0] not in nodes or edge[1] not in nodes:
            raise ValueError(f"edges must be (source, target, gradient) between known nodes, got {edge!r}")
    pts = np.array([node["pos"] for node in nodes.values()], dtype=float)
    span = pts.max(axis=0) - pts.min(axis=0)
    ax = new_axes(ax, figsize=(min(6.4, 1.5 * span[0] + 2.0), 1.3 * span[1] + 1.8))
    radius = 0.32
    for src, dst, grad in edges:
        p0, p1 = np.asarray(nodes[src]["pos"], float), np.asarray(nodes[dst]["pos"], float)
        d = (p1 - p0) / np.linalg.norm(p1 - p0)
        ax.annotate("", xy=p1 - radius * d, xytext=p0 + radius * d,
                    arrowprops=dict(arrowstyle="-|>", color="0.35", linewidth=1.2, shrinkA=0, shrinkB=0))
        mid = p0 + 0.38 * (p1 - p0)  # nearer the source: edges leaving one node fan out
        normal = np.array([-d[1], d[0]]) if d[0] >= 0 else np.array([d[1], -d[0]])  # pointing "up"
        box = dict(boxstyle="round,pad=0.08", facecolor="white", edgecolor="none", alpha=0.9)
        ax.text(*(mid + 0.2 * normal), fmt.format(nodes[src]["value"]), color=FORWARD_COLOR, fontsize=11,
                ha="center", va="center", fontweight="bold", bbox=box, zorder=6)
        ax.text(*(mid - 0.2 * normal), fmt.format(grad), color=BACKWARD_COLOR, fontsize=11, ha="center",
                va="center", fontweight="bold", bbox=box, zorder=6)
    outputs = set(nodes) - {e[0] for e in edges}
    for name, node in nodes.items():
        p = np.asarray(node["pos"], float)
        inputs_only = name not in {e[1] for e in edges}
        colour = "#dfe8f5" if inputs_only else "#fbe3e6" if name in outputs else "#eeeeee"
        from matplotlib.patches import Circle

        ax.add_patch(Circle(p, radius, facecolor=colour, edgecolor="0.25", linewidth=1.2, zorder=5))
        ax.text(*p, node["label"], ha="center", va="center", fontsize=12, zorder=7)
        if name in outputs:
            ax.text(p[0] + radius + 0.12, p[1] + 0.2, fmt.format(node["value"]), color=FORWARD_COLOR, fontsize=11,
                    ha="left", va="center", fontweight="bold")
        if node.get("grad") is not None:
            ax.text(p[0], p[1] - radius - 0.16, fmt.format(node["grad"]), color=BACKWARD_COLOR, fontsize=10,
                    ha="center", va="top", style="italic")
    ax.plot([], [], color=FORWARD_COLOR, linewidth=3, label="forward: value")
    ax.plot([], [], color=BACKWARD_COLOR, linewidth=3, label="backward: gradient")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=10, frameon=False)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    ax.set_xlim(lo[0] - 0.6, hi[0] + 1.0)
    ax.set_ylim(lo[1] - 0.75, hi[1] + 0.55)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def plot_backprop_layers(n_layers=3, ax=None, *, values=None, fmt="{:.3g}", title=None):
    """The s, x and delta of every layer of an L-layer network, and how they are computed.

    Layers are stacked from the input x^0 (bottom) to the output x^L and the loss (top); the left
    column is the forward pass (s^l = x^{l-1} W^l + b^l, x^l = sigma(s^l)), the right column the
    backward pass (delta^L from the loss, delta^{l-1} = (delta^l (W^l)^T) * sigma'(s^{l-1})), and
    the gradient of W^l = (x^{l-1})^T delta^l is drawn between the two. ``values`` optionally maps
    ``"s"``, ``"x"`` and ``"delta"`` to sequences (indexed by l; x from 0, s and delta from 1) of
    numbers printed under the symbols, e.g. each layer's RMS. Returns the Axes.
    """
    L = int(n_layers)
    if L < 1:
        raise ValueError(f"expected at least one layer, got n_layers={n_layers}")
    values = dict(values or {})
    for key, seq in values.items():
        if key not in ("s", "x", "delta"):
            raise ValueError(f"values: unknown key {key!r}; use 's', 'x' and 'delta'")
        need = L + 1 if key == "x" else L
        if len(seq) != need:
            raise ValueError(f"values[{key!r}] needs {need} entries, got {len(seq)}")
    ax = new_axes(ax, figsize=(5.6, 1.05 * L + 2.3))
    row = 1.15  # vertical distance between layers
    xs, xx, xg, xd = 0.0, 1.45, 2.85, 4.2  # columns: s^l, x^l, dL/dW^l, delta^l

    def box(x, y, text, colour, value=None, width=0.9):
        from matplotlib.patches import FancyBboxPatch

        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.24), width, 0.48, boxstyle="round,pad=0.05",
                                    facecolor=colour, edgecolor="0.3", linewidth=1.0, zorder=3))
        ax.text(x, y + (0.07 if value is not None else 0), text, ha="center", va="center", fontsize=12, zorder=4)
        if value is not None:
            ax.text(x, y - 0.14, fmt.format(value), ha="center", va="center", fontsize=9, color="0.25", zorder=4)

    def arrow(p0, p1, colour, text=None, offset=(0.08, 0.0), ha="left"):
        ax.annotate("", xy=p1, xytext=p0, arrowprops=dict(arrowstyle="-|>", color=colour, linewidth=1.3,
                                                          shrinkA=0, shrinkB=0))
        if text:
            mid = (np.asarray(p0, float) + np.asarray(p1, float)) / 2 + np.asarray(offset)
            ax.text(*mid, text, color=colour, fontsize=10, ha=ha, va="center")

    def val(key, l):
        seq = values.get(key)
        return None if seq is None else seq[l if key == "x" else l - 1]

    fwd, bwd = CLASS_COLORS[0], BACKWARD_COLOR
    box(xx, 0.0, "$x^{(0)}$", "#dfe8f5", val("x", 0))
    for l in range(1, L + 1):
        y = l * row
        colour = "#fbe3e6" if l == L else "#e3f1e6"
        box(xs, y, f"$s^{{({l})}}$", colour, val("s", l))
        box(xx, y, f"$x^{{({l})}}$", colour, val("x", l))
        box(xd, y, f"$\\delta^{{({l})}}$", "#f6e0c8", val("delta", l))
        arrow((xx - 0.2, y - row + 0.25), (xs + 0.2, y - 0.25), fwd, f"$W^{{({l})}}$", offset=(-0.12, 0.05), ha="right")
        arrow((xs + 0.46, y), (xx - 0.46, y), fwd, "σ" if l < L else None, offset=(0.0, 0.17), ha="center")
        ax.text(xg, y, f"$\\partial L/\\partial W^{{({l})}}$\n$=(x^{{({l - 1})}})^T\\delta^{{({l})}}$", ha="center",
                va="center", fontsize=9, color=bwd)
        if l > 1:
            arrow((xd, y - 0.25), (xd, y - row + 0.25), bwd, f"$(W^{{({l})}})^T$, $\\sigma'(s^{{({l - 1})}})$",
                  offset=(0.05, 0.0), ha="left")
    y_loss = (L + 1) * row - 0.1
    box(xx, y_loss, "loss", "#eeeeee", width=1.0)
    arrow((xx, L * row + 0.25), (xx, y_loss - 0.25), fwd)
    arrow((xx + 0.5, y_loss), (xd, L * row + 0.25), bwd, "$\\partial L/\\partial s^{(L)}$", offset=(0.1, 0.12))
    ax.text(xs, -0.05, "forward", color=fwd, fontsize=11, ha="center", va="center", fontweight="bold")
    ax.text(xd, 0.0, "backward", color=bwd, fontsize=11, ha="center", va="center", fontweight="bold")
    ax.set_xlim(xs - 0.75, xd + 1.55)
    ax.set_ylim(-0.45, y_loss + 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def plot_layer_histograms(per_layer: Mapping[str, Sequence], axes=None, *, bins=40, xlabel="value",
                          title=None, value_range=None, layers=None):
    """Histograms of a quantity per layer (e.g. activations x^l or gradients), one row per setting.

    ``per_layer`` maps a row label (e.g. an initialisation) to a sequence of arrays, one per layer.
    Every row has as many panels as layers, with a shared x-range per row (or ``value_range``); each panel
    is titled with its layer (``layers``: the layer numbers, default 1, 2, ...) and the standard
    deviation of its values. Returns the array of Axes (rows x layers).
    """
    import matplotlib.pyplot as plt

    rows = list(per_layer.items())
    if not rows:
        raise ValueError("per_layer is empty")
    n_layers = len(rows[0][1])
    if any(len(arrays) != n_layers for _, arrays in rows):
        raise ValueError("every row needs the same number of layers")
    layers = list(layers) if layers is not None else list(np.arange(1, n_layers + 1))
    if len(layers) != n_layers:
        raise ValueError(f"layers has {len(layers)} entries for {n_layers} panels per row")
    if axes is None:
        _, axes = plt.subplots(len(rows), n_layers, figsize=(min(6.4, 1.35 * n_layers + 0.9), 1.35 * len(rows) + 0.5),
                               layout="constrained", squeeze=False)
    axes = np.asarray(axes).reshape(len(rows), n_layers)
    for r, (label, arrays) in enumerate(rows):
        flat = [np.ravel(np.asarray(a, dtype=float)) for a in arrays]
        lim = value_range if value_range is not None else (min(a.min() for a in flat), max(a.max() for a in flat))
        if lim[0] == lim[1]:
            lim = (lim[0] - 1, lim[1] + 1)
        for l, a in enumerate(flat):
            ax = axes[r, l]
            ax.hist(a, bins=bins, range=lim, color=CLASS_COLORS[r % len(CLASS_COLORS)], alpha=0.85)
            ax.set_yticks([])
            ax.tick_params(labelsize=8)
            ax.set_title(f"layer {layers[l]}\nsd {a.std():.2g}", fontsize=9)
            ax.locator_params(axis="x", nbins=3)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))  # small values: "1e-4" at the axis end
            ax.xaxis.get_offset_text().set_fontsize(8)
        axes[r, 0].set_ylabel(label, fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel(xlabel, fontsize=9)
    if title:
        axes[0, 0].figure.suptitle(title, fontsize=11)
    return axes
