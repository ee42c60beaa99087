"""Activation explorer: an activation function, its derivative, and what happens to the gradient
when the signal passes through many layers that use it.

The depth experiment is a chain of n one-neuron layers: x^0 = input, s^l = w x^{l-1},
x^l = f(s^l). By the chain rule the gradient of the last output with respect to the input is a
product with one factor per layer,

    dx^n / dx^0 = prod_l  w f'(s^l),

so it shrinks geometrically when every |w f'(s^l)| < 1 (the sigmoid's f' is at most 1/4) and stays
1 for ReLU on positive signals with w = 1.

Live: a drop-down for the function, sliders for the depth n, the weight w and the input x^0.
Static (the book): the figure at the defaults (no animation: nothing moves in this lesson).
"""

from __future__ import annotations

import numpy as np

from nnkit.activations import ACTIVATIONS
from nnkit.plotting import plot_activations, plot_gradient_norms

from ._base import Widget

__all__ = ["activation_explorer", "ActivationExplorer", "chain_gradients"]

_DEPTH_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu")


def chain_gradients(name, n_layers, w=1.0, x0=0.5):
    """Signals and gradients in a chain of ``n_layers`` one-neuron layers x^l = f(w x^{l-1}).

    Returns (s, grad): s (n_layers,) the input signals s^l, grad (n_layers,) the magnitudes
    |dx^l / dx^0| = prod_{k <= l} |w f'(s^k)| for l = 1..n_layers.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    if int(n_layers) != n_layers or n_layers < 1:
        raise ValueError(f"n_layers must be a positive integer, got {n_layers!r}")
    f, f_prime = ACTIVATIONS[name]
    x = float(x0)
    s = np.empty(int(n_layers))
    factors = np.empty(int(n_layers))
    for l in range(int(n_layers)):
        s[l] = w * x
        x = float(f(s[l]))
        factors[l] = abs(w * float(f_prime(s[l])))
    return s, np.cumprod(factors)


class ActivationExplorer(Widget):
    """The activation explorer; make one with :func:`activation_explorer`."""

    figsize = (9.5, 3.6)

    def __init__(self, name="sigmoid", n_layers=10, w=1.0, x0=0.5):
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
        self._init = {"name": name, "n_layers": int(n_layers), "w": float(w), "x0": float(x0)}
        super().__init__()

    def defaults(self):
        return dict(self._init)

    def make_controls(self):
        import ipywidgets as W

        style = {"description_width": "initial"}
        v = self._init  # the ranges always contain the starting values
        return {
            "name": W.Dropdown(options=[(n.replace("_", " "), n) for n in ACTIVATIONS], description="activation",
                               style=style),
            "n_layers": W.IntSlider(min=1, max=max(50, v["n_layers"]), description="layers n", style=style),
            "w": W.FloatSlider(min=min(0.1, v["w"]), max=max(4.0, v["w"]), step=0.05, description="weight w",
                               style=style),
            "x0": W.FloatSlider(min=min(-3.0, v["x0"]), max=max(3.0, v["x0"]), step=0.1, description="input x⁰",
                                style=style),
        }

    def draw(self, fig, name, n_layers, w, x0):
        ax_f, ax_g = fig.subplots(1, 2)
        plot_activations(name, ax=ax_f)
        s, grad = chain_gradients(name, n_layers, w, x0)
        f_prime = ACTIVATIONS[name][1]
        ax_f.plot(s, f_prime(s), "o", color="k", markersize=4, label="$f'(s^l)$ met in the chain")
        ax_f.legend(fontsize="x-small", loc="upper left")
        ax_f.set_title(f"{name.replace('_', ' ')} and its derivative", fontsize=10)
        others = {k: chain_gradients(k, n_layers, w, x0)[1] for k in _DEPTH_NAMES if k != name}
        norms = {name: grad, **others}
        bound = {"$(w/4)^l$ (sigmoid bound)": (w / 4.0) ** np.arange(1, n_layers + 1)}
        plot_gradient_norms(norms, ax=ax_g, ylabel="$|\\partial x^l / \\partial x^0|$", bound=bound)
        for line in ax_g.get_lines()[1:len(norms)]:  # the chosen function stands out
            line.set_alpha(0.35)
            line.set_linewidth(1)
        ax_g.get_lines()[0].set_linewidth(2.5)
        ax_g.set_title(f"gradient through {n_layers} layers (w = {w:g}, x⁰ = {x0:g})", fontsize=10)
        self.state.update(s=s, grad=grad, final=float(grad[-1]), others={k: float(v[-1]) for k, v in others.items()})


def activation_explorer(name="sigmoid", *, n_layers=10, w=1.0, x0=0.5):
    """Explore an activation function, its derivative, and the gradient through ``n_layers`` layers.

    The chain x^l = f(w x^{l-1}) starts from ``x0``; the right panel shows |dx^l/dx^0| for
    l = 1..n (log scale) for the chosen function and, faintly, for the others. ``.state["grad"]``
    holds those values, ``.state["final"]`` the last one.
    """
    return ActivationExplorer(name, n_layers=n_layers, w=w, x0=x0)
