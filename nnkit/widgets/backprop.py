"""Backpropagation, one step at a time, on a network small enough to read every number.

The network is 2-3-2: two inputs, three hidden neurons with activation sigma (sigmoid, tanh or
ReLU), two output neurons with softmax, and the cross-entropy loss for one example (x^0, y).
In the lectures' notation (w^l_ij joins neuron i of layer l-1 to neuron j of layer l):

    forward    s^l_j = sum_i w^l_ij x^{l-1}_i + b^l_j,      x^1 = sigma(s^1),  x^2 = softmax(s^2)
    loss       L = -ln x^2_y
    output     delta^2_j = x^2_j - o_j                       (o = one-hot encoding of y)
    recursion  delta^1_i = sigma'(s^1_i) sum_j w^2_ij delta^2_j
    gradient   dL/dw^l_ij = x^{l-1}_i delta^l_j,  dL/db^l_j = delta^l_j
    update     w^l_ij <- w^l_ij - eta dL/dw^l_ij

:func:`backprop_stepper` returns a widget whose slider walks through these stages; the static
version (the book) shows the state after the backward pass and an animation of all stages.
:func:`tiny_network_pass` does the arithmetic and returns every quantity, so the numbers can be
checked against nnkit's layers or torch.autograd.
"""

from __future__ import annotations

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.patches import Circle

from nnkit.activations import ACTIVATIONS, softmax
from nnkit.losses import softmax_cross_entropy

from ._base import Widget

__all__ = ["backprop_stepper", "tiny_network_pass", "tiny_network_weights", "STAGES", "BackpropStepper"]

#: the stages the stepper walks through, in order
STAGES = (
    "input",
    "forward: layer 1",
    "forward: layer 2 and loss",
    "backward: output deltas",
    "backward: gradients of layer 2",
    "backward: deltas of layer 1",
    "backward: gradients of layer 1",
    "update",
)

SIZES = (2, 3, 2)
DEFAULT_X = np.array([0.8, -0.5])
DEFAULT_Y = 1


def tiny_network_weights(seed=0):
    """Random weights of the 2-3-2 network: dict with W1 (2, 3), b1 (3,), W2 (3, 2), b2 (2,)."""
    rng = np.random.default_rng(seed)
    return {
        "W1": np.round(rng.normal(0.0, 1.0, (SIZES[0], SIZES[1])), 2),
        "b1": np.round(rng.normal(0.0, 0.3, SIZES[1]), 2),
        "W2": np.round(rng.normal(0.0, 1.0, (SIZES[1], SIZES[2])), 2),
        "b2": np.round(rng.normal(0.0, 0.3, SIZES[2]), 2),
    }


def tiny_network_pass(params, x0=DEFAULT_X, y=DEFAULT_Y, activation="sigmoid", lr=0.5):
    """One forward pass, one backward pass and one update of the 2-3-2 network, for one example.

    ``params``: dict W1 (2, 3), b1 (3,), W2 (3, 2), b2 (2,) (not modified). ``x0``: input (2,);
    ``y``: its class, 0 or 1. Returns a dict with ``s`` and ``x`` (per layer: ``x[0]`` is the
    input), ``delta`` (layers 1 and 2), ``grads`` (keys like ``params``), ``loss``, ``new_params``
    (after w <- w - lr * grad) and ``new_loss`` (the loss with the new parameters).
    """
    if activation not in ("sigmoid", "tanh", "relu"):
        raise ValueError(f"activation must be 'sigmoid', 'tanh' or 'relu', got {activation!r}")
    sigma, sigma_prime = ACTIVATIONS[activation]
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.shape != (SIZES[0],):
        raise ValueError(f"expected an input x0 of shape ({SIZES[0]},), got {x0.shape}")
    if y not in (0, 1):
        raise ValueError(f"expected a class y in {{0, 1}}, got {y!r}")
    o = np.eye(SIZES[2])[y]  # the one-hot target, for the diagram only: the loss and delta^2 use y

    def forward(p):
        s1 = x0 @ p["W1"] + p["b1"]
        x1 = sigma(s1)
        s2 = x1 @ p["W2"] + p["b2"]
        x2 = softmax(s2)
        loss, delta = softmax_cross_entropy(s2[None], [int(y)])  # a batch of N = 1: L = -ln x^2_y
        return s1, x1, s2, x2, loss, delta[0]

    s1, x1, s2, x2, loss, d2 = forward(params)             # delta^2_j = x^2_j - o_j (times N = 1)
    d1 = sigma_prime(s1) * (params["W2"] @ d2)             # delta^1_i = sigma'(s^1_i) sum_j w^2_ij delta^2_j
    grads = {
        "W1": np.outer(x0, d1), "b1": d1.copy(),           # dL/dw^1_ij = x^0_i delta^1_j
        "W2": np.outer(x1, d2), "b2": d2.copy(),           # dL/dw^2_ij = x^1_i delta^2_j
    }
    new_params = {k: params[k] - lr * grads[k] for k in params}
    new_loss = forward(new_params)[-2]
    return {
        "s": {1: s1, 2: s2}, "x": {0: x0, 1: x1, 2: x2}, "delta": {1: d1, 2: d2},
        "grads": grads, "loss": loss, "new_params": new_params, "new_loss": new_loss,
        "target": o, "y": y, "sigma_prime": sigma_prime(s1),
    }


def _positions():
    """(layer, neuron) -> (x, y) coordinates of the neurons in the diagram."""
    pos = {}
    for l, n in enumerate(SIZES):
        for k in range(n):
            pos[l, k] = (2.0 * l, 1.45 * ((n - 1) / 2 - k))
    return pos


class BackpropStepper(Widget):
    """The 2-3-2 network with s, x and delta written next to every neuron, stage by stage."""

    figsize = (10.0, 5.0)
    fps = 1
    #: the stages shown by the animation, one frame each
    anim_stages = tuple(range(len(STAGES)))

    def __init__(self, seed=0, activation="sigmoid", lr=0.5, step=6):
        self._defaults = {"step": int(step), "activation": activation, "seed": int(seed), "lr": float(lr)}
        super().__init__()

    def defaults(self):
        return dict(self._defaults)

    def make_controls(self):
        import ipywidgets as W

        return {
            "step": W.IntSlider(min=0, max=len(STAGES) - 1, description="stage"),
            "activation": W.Dropdown(options=["sigmoid", "tanh", "relu"], description="σ hidden"),
            "seed": W.IntSlider(min=0, max=30, description="weights seed"),
            "lr": W.FloatSlider(min=0.05, max=2.0, step=0.05, description="η"),
        }

    def extra_buttons(self):
        import ipywidgets as W

        back = W.Button(description="◀ back")
        forward = W.Button(description="next ▶")
        new = W.Button(description="new weights")
        back.on_click(lambda _: self.set_values(step=max(0, self.values["step"] - 1)))
        forward.on_click(lambda _: self.set_values(step=min(len(STAGES) - 1, self.values["step"] + 1)))
        new.on_click(lambda _: self.set_values(seed=(self.values["seed"] + 1) % 31, step=0))
        return [back, forward, new]

    # ------------------------------------------------------------------ drawing
    def draw(self, fig, step, activation, seed, lr):
        if not 0 <= step < len(STAGES):
            raise ValueError(f"step must be in 0..{len(STAGES) - 1}, got {step}")
        params = tiny_network_weights(seed)
        r = tiny_network_pass(params, activation=activation, lr=lr)
        self.state.update(r, params=params, stage=STAGES[step], step=step)
        gs = fig.add_gridspec(1, 2, width_ratios=[1.55, 1.0])
        ax = fig.add_subplot(gs[0])
        info = fig.add_subplot(gs[1])
        self._draw_network(ax, r, params, step)
        self._draw_info(info, r, params, step, activation, lr)

    def _draw_network(self, ax, r, params, step):
        pos = _positions()
        ax.set_xlim(-0.5, 2.0 * (len(SIZES) - 1) + 0.5)
        ax.set_ylim(-2.35, 1.95)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"stage {step}: {STAGES[step]}", fontsize=11, loc="left")
        # edges: weights (forward stages) or their gradients (once computed)
        for l in (1, 2):
            W, G = params[f"W{l}"], r["grads"][f"W{l}"]
            show_grad = (l == 2 and step >= 4) or (l == 1 and step >= 6)
            vals = G if show_grad else W
            vmax = max(float(np.abs(vals).max()), 1e-12)
            for i in range(SIZES[l - 1]):
                for j in range(SIZES[l]):
                    (xa, ya), (xb, yb) = pos[l - 1, i], pos[l, j]
                    v = vals[i, j]
                    color = "#d1495b" if v > 0 else "#2f6db5"
                    ax.plot([xa, xb], [ya, yb], color=color, lw=0.5 + 3.0 * abs(v) / vmax,
                            alpha=0.75, zorder=1, ls="--" if show_grad else "-")
                    t = 0.3 if (i + j) % 2 == 0 else 0.68
                    label = (f"∂L/∂w={v:+.2f}" if show_grad else f"w={v:+.2f}")
                    ax.text(xa + t * (xb - xa), ya + t * (yb - ya), label, fontsize=6.5,
                            ha="center", va="center", zorder=4,
                            bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        # neurons
        layer_names = ("input $x^0$", "hidden (l = 1)", "softmax output (l = 2)")
        for (l, k), (px, py) in pos.items():
            active = (l == 0) or (l == 1 and step >= 1) or (l == 2 and step >= 2)
            ax.add_patch(Circle((px, py), 0.2, fc="#fff6d5" if active else "#eeeeee",
                                ec="black", lw=1.2, zorder=3))
            ax.text(px, py, f"{k + 1}", ha="center", va="center", fontsize=9, zorder=5)
            lines = []
            if l == 0:
                lines.append(f"x={r['x'][0][k]:+.2f}")
            else:
                lines.append(f"b={params[f'b{l}'][k]:+.2f}")
                if active:
                    lines.append(f"s={r['s'][l][k]:+.3f}")
                    lines.append(f"x={r['x'][l][k]:.3f}")
                if (l == 2 and step >= 3) or (l == 1 and step >= 5):
                    lines.append(f"δ={r['delta'][l][k]:+.3f}")
                if l == 2:
                    lines.append(f"o={int(r['target'][k])}")
            ax.text(px, py - 0.26, "\n".join(lines), ha="center", va="top", fontsize=7,
                    family="monospace", zorder=5)
        for l, name in enumerate(layer_names):
            ax.text(2.0 * l, 1.85, name, ha="center", va="center", fontsize=8, color="0.3")

    def _draw_info(self, ax, r, params, step, activation, lr):
        ax.axis("off")
        s1, x1, d1, d2 = r["s"][1], r["x"][1], r["delta"][1], r["delta"][2]
        x2, y = r["x"][2], r["y"]
        W2 = params["W2"]
        act = {"sigmoid": r"\sigma(s)=1/(1+e^{-s})", "tanh": r"\sigma(s)=\tanh(s)",
               "relu": r"\sigma(s)=\max(0,s)"}[activation]
        text = {
            0: [r"One example $x^0$ of class $y=%d$." % y,
                "Weights drawn at random, then rounded.",
                "Next: the forward pass, layer by layer."],
            1: [r"$s^1_j=\sum_i w^1_{ij}x^0_i+b^1_j$",
                r"$x^1_j=\sigma(s^1_j)$",
                r"with $%s$" % act,
                r"e.g. $s^1_1=%.3f$, $x^1_1=%.3f$" % (s1[0], x1[0])],
            2: [r"$s^2_j=\sum_i w^2_{ij}x^1_i+b^2_j$",
                r"$x^2=\mathrm{softmax}(s^2)$",
                r"$L=-\ln x^2_y=-\ln %.3f=%.3f$" % (x2[y], r["loss"]),
                "Forward pass done: all s and x are known."],
            3: [r"Softmax + cross-entropy:  $\delta^2_j=x^2_j-o_j$",
                r"$\delta^2=(%.3f, %.3f)$" % tuple(d2),
                "The deltas of a softmax output sum to 0."],
            4: [r"$\partial L/\partial w^2_{ij}=x^1_i\,\delta^2_j$",
                r"$\partial L/\partial b^2_j=\delta^2_j$",
                r"e.g. $x^1_1\delta^2_1=%.3f\times%.3f=%.3f$" % (x1[0], d2[0], x1[0] * d2[0]),
                "Dashed edges now show gradients."],
            5: [r"$\delta^1_i=\sigma'(s^1_i)\sum_j w^2_{ij}\delta^2_j$",
                r"$\delta^1_1=%.3f\times[(%+.2f)(%+.3f)+(%+.2f)(%+.3f)]$"
                % (r["sigma_prime"][0], W2[0, 0], d2[0], W2[0, 1], d2[1]),
                r"$\quad=%.4f$" % d1[0],
                "The error signal flows backwards along the weights."],
            6: [r"$\partial L/\partial w^1_{ij}=x^0_i\,\delta^1_j$",
                r"$\partial L/\partial b^1_j=\delta^1_j$",
                "Backward pass done: one gradient per weight,",
                "at about twice the cost of the forward pass."],
            7: [r"$w^l_{ij}\leftarrow w^l_{ij}-\eta\,x^{l-1}_i\,\delta^l_j$",
                r"with learning rate $\eta=%.2f$" % lr,
                r"loss before: $%.4f$" % r["loss"],
                r"loss after one step: $%.4f$" % r["new_loss"]],
        }[step]
        ax.text(0.0, 0.95, "\n\n".join(text), ha="left", va="top", fontsize=10, transform=ax.transAxes)
        # a small bar: loss before / after
        if step >= 2:
            ax.text(0.0, 0.08, f"L = {r['loss']:.4f}" + (f"  →  {r['new_loss']:.4f}" if step == 7 else ""),
                    transform=ax.transAxes, fontsize=10, family="monospace",
                    bbox=dict(boxstyle="round", fc="#eef4fb", ec="#2f6db5"))

    def animate(self, fig):
        values = dict(self.defaults())

        stages = tuple(self.anim_stages)

        def frame(k):
            fig.clear()
            self.draw(fig, **{**values, "step": stages[k]})
            return []

        return FuncAnimation(fig, frame, frames=len(stages), interval=1000, blit=False)


def backprop_stepper(seed=0, activation="sigmoid", lr=0.5, step=6):
    """Step through the forward and backward pass of a 2-3-2 network (s, x, delta per neuron).

    In Jupyter: a slider (or the back/next buttons) moves through the stages listed in
    :data:`STAGES`; change the hidden activation, the random weights (seed) and the learning rate
    eta of the final update. In the book: the figure at stage ``step`` and an animation of all
    stages. ``widget.state`` holds the numbers of the last drawing (see :func:`tiny_network_pass`).
    """
    return BackpropStepper(seed=seed, activation=activation, lr=lr, step=step)
