"""Universal approximation in one dimension, built by hand from step, sigmoid and ReLU units.

A network with one input, one hidden layer of n neurons and a linear output neuron computes

    x^2(x) = sum_k w^2_k sigma(w^1_k x + b^1_k) + b^2.

:func:`bump_network` chooses those weights by hand so that x^2 follows a continuous f on [a, b]:

* ``step``:    unit k switches on at c_k = a + k (b - a) / n; its output weight is the jump of f
  between neighbouring pieces, so the sum is a staircase through f at the midpoints of the pieces.
  Two steps make a box ("bump"): step(x - c) - step(x - c').
* ``sigmoid``: the same staircase with each step smoothed, sigma(kappa (x - c_k)); the larger the
  steepness kappa, the closer to the step version.
* ``relu``:    unit k bends the line at c_k = a + k (b - a) / n; its output weight is the change of
  slope there, so the sum is the piecewise-linear interpolation of f at the knots. Three ReLUs make a
  hat: relu(x - c + h) - 2 relu(x - c) + relu(x - c - h).

The error goes to 0 as n grows, which is the content of the universal approximation theorem for
these activations; the widget :func:`approximation_explorer` lets you watch it happen.
"""

from __future__ import annotations

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from nnkit.activations import relu, sigmoid, step
from nnkit.data import TARGET_DOMAIN, target_function

from ._base import Widget

__all__ = ["bump_network", "network_output", "approximation_explorer", "plot_bumps",
           "ApproximationExplorer", "ACTIVATION_NAMES"]

ACTIVATION_NAMES = ("step", "sigmoid", "relu")
_FUNCS = {"step": step, "sigmoid": sigmoid, "relu": relu}
_COLORS = {"step": "#2f6db5", "sigmoid": "#3a9e5f", "relu": "#d1495b"}


def bump_network(n_hidden, activation="relu", f=target_function, domain=TARGET_DOMAIN, steepness=6.0):
    """Hand-made weights of a 1-n-1 network approximating ``f`` on ``domain`` = (a, b).

    Returns a dict with ``W1`` (1, n), ``b1`` (n,), ``W2`` (n, 1), ``b2`` (1,) and ``activation``,
    so that ``network_output(params, x)`` = sum_k W2[k] sigma(W1[0, k] x + b1[k]) + b2.
    ``steepness`` (sigmoid only) is kappa in units of 1/width of a piece: the sigmoid rises from
    12% to 88% within 2 / steepness of a piece.
    """
    n = int(n_hidden)
    if n < 1:
        raise ValueError(f"n_hidden must be at least 1, got {n_hidden}")
    if activation not in _FUNCS:
        raise ValueError(f"activation must be one of {ACTIVATION_NAMES}, got {activation!r}")
    a, b = map(float, domain)
    if not b > a:
        raise ValueError(f"domain must be (a, b) with a < b, got {domain}")
    width = (b - a) / n
    c = a + width * np.arange(n)                      # where each unit switches on / bends
    if activation == "relu":
        knots = a + width * np.arange(n + 1)
        values = f(knots)
        slopes = np.diff(values) / width              # slope of each linear piece
        W2 = np.diff(slopes, prepend=0.0)             # change of slope at each knot
        W1 = np.ones(n)
        b1 = -c
        b2 = values[0]
    else:
        mids = a + width * (np.arange(n) + 0.5)
        values = f(mids)
        W2 = np.diff(values, prepend=0.0)             # jump between neighbouring pieces
        c = c.copy()
        c[0] = a - width                              # the first unit is on over the whole domain
        kappa = 1.0 if activation == "step" else steepness / width
        W1 = np.full(n, kappa)
        b1 = -kappa * c
        b2 = 0.0
    return {"W1": W1.reshape(1, n), "b1": b1, "W2": W2.reshape(n, 1), "b2": np.array([b2]),
            "activation": activation}


def network_output(params, x, *, hidden=False):
    """x^2 for inputs x (any shape): sum_k W2[k] sigma(W1[0,k] x + b1[k]) + b2.

    With ``hidden=True`` also returns the hidden outputs x^1, shape x.shape + (n,).
    """
    x = np.asarray(x, dtype=np.float64)
    s1 = x[..., None] * params["W1"][0] + params["b1"]
    x1 = _FUNCS[params["activation"]](s1)
    out = x1 @ params["W2"][:, 0] + params["b2"][0]
    return (out, x1) if hidden else out


def _grid(domain, n=600):
    return np.linspace(domain[0], domain[1], n)


class ApproximationExplorer(Widget):
    """Target function against a hand-made 1-n-1 network; hidden units shown one by one."""

    figsize = (10.0, 3.8)
    fps = 2
    #: numbers of hidden units shown by the animation, one frame each
    anim_widths = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40)

    def __init__(self, n_hidden=8, activation="relu", steepness=6.0, f=target_function, domain=TARGET_DOMAIN):
        self._defaults = {"n_hidden": int(n_hidden), "activation": activation, "steepness": float(steepness)}
        self.f, self.domain = f, tuple(domain)
        super().__init__()

    def defaults(self):
        return dict(self._defaults)

    def make_controls(self):
        import ipywidgets as W

        return {
            "n_hidden": W.IntSlider(min=1, max=60, description="hidden units"),
            "activation": W.Dropdown(options=list(ACTIVATION_NAMES), description="activation"),
            "steepness": W.FloatSlider(min=0.5, max=30.0, step=0.5, description="steepness (sigmoid)"),
        }

    def _approx(self, n_hidden, activation, steepness):
        params = bump_network(n_hidden, activation, self.f, self.domain, steepness)
        x = _grid(self.domain)
        out, x1 = network_output(params, x, hidden=True)
        err = float(np.max(np.abs(out - self.f(x))))
        return params, x, out, x1, err

    def draw(self, fig, n_hidden, activation, steepness):
        params, x, out, x1, err = self._approx(n_hidden, activation, steepness)
        self.state.update(params=params, max_error=err, x=x, output=out)
        ax1, ax2 = fig.subplots(1, 2)
        ax1.plot(x, self.f(x), "k--", lw=1.5, label="target f(x)")
        ax1.plot(x, out, color=_COLORS[activation], lw=2, label=f"network, {n_hidden} {activation} units")
        ax1.set_title(f"max |error| = {err:.3f}")
        ax1.set_xlabel("x")
        ax1.legend(fontsize="small", loc="lower left")
        # each hidden unit's contribution w^2_k x^1_k(x), the pieces the output adds up
        contrib = x1 * params["W2"][:, 0]
        shown = contrib[:, :: max(1, n_hidden // 15)]
        ax2.plot(x, shown, lw=1, alpha=0.8)
        ax2.axhline(0, color="0.6", lw=0.5)
        ax2.set_title(r"contributions $w^2_k\,x^1_k(x)$" + (" (some)" if shown.shape[1] < n_hidden else ""))
        ax2.set_xlabel("x")

    def static_figure(self):
        """Rows: step, sigmoid, relu; columns: 3, 8 and 25 hidden units."""
        fig = Figure(figsize=(10.0, 7.0), dpi=self.dpi, layout="constrained")
        widths = (3, 8, 25)
        axes = fig.subplots(len(ACTIVATION_NAMES), len(widths), sharex=True, sharey=True)
        x = _grid(self.domain)
        for r, act in enumerate(ACTIVATION_NAMES):
            for c, n in enumerate(widths):
                _, _, out, _, err = self._approx(n, act, self.values["steepness"])
                ax = axes[r, c]
                ax.plot(x, self.f(x), "k--", lw=1.2)
                ax.plot(x, out, color=_COLORS[act], lw=1.8)
                ax.set_title(f"{n} {act} units: max error {err:.2f}", fontsize=9)
        return fig

    def animate(self, fig):
        fig.set_layout_engine("none")            # fixed axes positions: much faster frames
        fig.set_size_inches(9.0, 2.8)
        axes = [fig.add_axes((0.045 + 0.32 * k, 0.1, 0.3, 0.78)) for k in range(len(ACTIVATION_NAMES))]
        for ax in axes[1:]:
            ax.sharey(axes[0])
            ax.tick_params(labelleft=False)
        x = _grid(self.domain)
        lines = {}
        for ax, act in zip(axes, ACTIVATION_NAMES):
            ax.plot(x, self.f(x), "k--", lw=1.2)
            (lines[act],) = ax.plot(x, x * 0, color=_COLORS[act], lw=1.8)
        steepness = self.values["steepness"]

        widths = tuple(self.anim_widths)

        def frame(k):
            n = widths[k]
            for ax, act in zip(axes, ACTIVATION_NAMES):
                _, _, out, _, err = self._approx(n, act, steepness)
                lines[act].set_ydata(out)
                ax.set_title(f"{n} {act} units: error {err:.2f}", fontsize=9)
            return list(lines.values())

        return FuncAnimation(fig, frame, frames=len(widths), interval=400, blit=False)


def approximation_explorer(n_hidden=8, activation="relu", steepness=6.0):
    """Approximate the course's 1-D target function with n hand-made step, sigmoid or ReLU units.

    In Jupyter: sliders for the number of hidden units, the activation and the sigmoid's steepness.
    In the book: a grid (activation x number of units) and an animation as the units grow.
    ``widget.state["max_error"]`` is the largest |network - target| on the domain.
    """
    return ApproximationExplorer(n_hidden=n_hidden, activation=activation, steepness=steepness)


def plot_bumps(ax=None, *, center=0.0, width=0.5):
    """Three panels: a box from two steps, a smooth bump from two sigmoids, a hat from three ReLUs.

    Each is the output of a 1-2-1 (or 1-3-1) network with the weights written in the legend.
    Returns the array of three Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(1, 3, figsize=(10, 2.8), layout="constrained", sharey=True)
    x = np.linspace(center - 2 * width, center + 2 * width, 500)
    lo, hi = center - width / 2, center + width / 2
    k = 20 / width
    box = step(x - lo) - step(x - hi)
    smooth = sigmoid(k * (x - lo)) - sigmoid(k * (x - hi))
    h = width / 2
    hat = (relu(x - center + h) - 2 * relu(x - center) + relu(x - center - h)) / h
    panels = [
        (box, "step", rf"step$(x{-lo:+.2f})$ − step$(x{-hi:+.2f})$"),
        (smooth, "sigmoid", rf"σ$({k:.0f}(x{-lo:+.2f}))$ − σ$({k:.0f}(x{-hi:+.2f}))$"),
        (hat, "relu", rf"[relu$(x{-center + h:+.2f})$ − 2 relu$(x{-center:+.2f})$ + relu$(x{-center - h:+.2f})$] / {h:g}"),
    ]
    for a, (y, act, label) in zip(ax, panels):
        a.plot(x, y, color=_COLORS[act], lw=2)
        a.set_title(f"a bump from {act} units", fontsize=10)
        a.set_xlabel(label, fontsize=8)
    return ax
