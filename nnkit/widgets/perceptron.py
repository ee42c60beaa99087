"""Perceptron playground: set w1, w2 and the bias b by hand, or step through Rosenblatt's rule.

The perceptron computes the input signal s = b + w1 x1 + w2 x2 and outputs 1 if s >= 0, else 0
(in the {-1, +1} convention: sign(s)). Rosenblatt's rule picks a misclassified point n and moves
the weight vector w = (b, w1, w2) by y_n x_n (with x_n = (1, x1, x2) and y_n in {-1, +1}).

Live: sliders for w1, w2, b, a drop-down for the gate (AND, OR, NAND, XOR) and the buttons
"Rosenblatt step" and "w = 0". Static (the book): the figure at the given weights and an animation
of Rosenblatt's rule from w = 0.
"""

from __future__ import annotations

import warnings

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.ticker import MaxNLocator

from nnkit import activations as act
from nnkit import data
from nnkit.models import augment
from nnkit.plotting import plot_data, plot_linear_boundary, plot_truth_table

from ._base import Widget, frame_indices, freeze_layout

__all__ = ["perceptron_playground", "PerceptronPlayground", "GATES", "GATE_WEIGHTS"]

#: the two-input Boolean functions of the playground and their data
GATES = {"AND": data.and_data, "OR": data.or_data, "NAND": data.nand_data, "XOR": data.xor_data}

#: hand-set weights (b, w1, w2) that compute each gate (the lecture's values for AND and OR).
#: XOR has none: its entry (OR's weights) is the best a single line can do, 3 rows out of 4.
GATE_WEIGHTS = {"AND": (-30.0, 20.0, 20.0), "OR": (-10.0, 20.0, 20.0), "NAND": (30.0, -20.0, -20.0),
                "XOR": (-10.0, 20.0, 20.0)}


def _signal(w, X):
    """Input signal s = b + w1 x1 + w2 x2 = w^T (1, x1, x2) for each row of X (n, 2); w = (b, w1, w2)."""
    return augment(X) @ np.asarray(w, dtype=float)


def rosenblatt_step(w, X, y01, start=0):
    """One step of Rosenblatt's rule. Returns (n, new w), or (None, w) if no point is misclassified.

    Looks for the first misclassified point at index >= ``start`` (cycling round), i.e. a point with
    sign(s_n) != y_n, and applies w <- w + y_n x_n with x_n = (1, x_n1, x_n2), y_n = +-1.
    """
    w = np.asarray(w, dtype=float)
    y = 2 * np.asarray(y01) - 1
    Xa = augment(X)
    wrong = act.sign(Xa @ w) != y
    order = np.roll(np.arange(len(X)), -start)
    for n in order:
        if wrong[n]:
            return int(n), w + y[n] * Xa[n]
    return None, w


class PerceptronPlayground(Widget):
    """The perceptron playground; make one with :func:`perceptron_playground`."""

    figsize = (9.0, 3.9)

    def __init__(self, X=None, y=None, gate="AND", w=None, max_frames=40):
        if (X is None) != (y is None):
            raise ValueError("give both X and y (custom data) or neither (a gate's truth table)")
        if X is None and gate not in GATES:
            raise ValueError(f"unknown gate {gate!r}; expected one of {list(GATES)}")
        self.custom = X is not None
        if self.custom:
            X = np.asarray(X, dtype=float)
            y = np.asarray(y)
            if X.ndim != 2 or X.shape[1] != 2 or y.shape != (len(X),):
                raise ValueError(f"expected X (n, 2) and y (n,), got X {X.shape} and y {y.shape}")
            labels = set(np.unique(y).tolist())
            if not labels <= {0, 1} and not labels <= {-1, 1}:
                raise ValueError(f"expected labels in {{0, 1}} or {{-1, +1}}, got {sorted(labels)}")
            self.X, self.y = X, (y > 0).astype(int)  # {0, 1} internally
            gate = "custom"
        self.max_frames = max_frames
        self._gate0 = gate
        if w is None:
            w = GATE_WEIGHTS[gate] if not self.custom else self._trained_weights()
        w = np.asarray(w, dtype=float)
        if w.shape != (3,):
            raise ValueError(f"expected w = (b, w1, w2), got shape {w.shape}")
        self._w0 = w
        self._next = 0  # where the next Rosenblatt step starts looking for a mistake
        self._last = None  # (n, w_before) of the last Rosenblatt step, drawn in the figure
        super().__init__()

    # -- data ---------------------------------------------------------------------------------
    def dataset(self, gate=None):
        """(X, y) with y in {0, 1}: the custom data or the truth table of ``gate``."""
        if self.custom:
            return self.X, self.y
        return GATES[gate or self.values["gate"]]()

    def _limits(self, X):
        if not self.custom:
            return (-0.6, 1.6), (-0.6, 1.6)
        lo, hi = X.min(axis=0) - 0.6, X.max(axis=0) + 0.6
        return (lo[0], hi[0]), (lo[1], hi[1])

    def _trained_weights(self):
        steps = self._rosenblatt_run(self.X, self.y)
        return steps[-1][2] if steps else np.zeros(3)

    @staticmethod
    def _rosenblatt_run(X, y, max_epochs=20):
        """Rosenblatt's rule from w = 0 with nnkit's Perceptron: list of (n, w_before, w_after)."""
        from nnkit.models import ConvergenceWarning, Perceptron

        with warnings.catch_warnings():  # XOR never converges: that is the lesson, not a problem
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = Perceptron(max_epochs=max_epochs, record=True).fit(X, y)
        return [(int(n), np.asarray(wb, dtype=float), np.asarray(wa, dtype=float)) for n, wb, wa in model.steps_]

    # -- the Widget hooks -----------------------------------------------------------------------
    def defaults(self):
        b, w1, w2 = self._w0
        return {"gate": self._gate0, "w1": float(w1), "w2": float(w2), "b": float(b)}

    def make_controls(self):
        import ipywidgets as W

        if self.custom:
            scale = max(40.0, 3 * float(np.abs(self._w0).max()))
            step = 0.01
        else:
            scale, step = 40.0, 1.0
        style = {"description_width": "initial"}
        controls = {}
        if not self.custom:
            controls["gate"] = W.Dropdown(options=list(GATES), description="gate", style=style)
        for name, label in (("w1", "w₁"), ("w2", "w₂"), ("b", "bias b")):
            controls[name] = W.FloatSlider(min=-scale, max=scale, step=step, description=label,
                                           continuous_update=True, style=style)
        return controls

    def extra_buttons(self):
        import ipywidgets as W

        step = W.Button(description="Rosenblatt step", icon="forward",
                        tooltip="w ← w + yₙ xₙ for the next misclassified point")
        zero = W.Button(description="w = 0", icon="undo", tooltip="start again from w = 0")
        step.on_click(lambda _: self.step())
        zero.on_click(lambda _: self.reset())
        self.buttons = {"step": step, "reset": zero}
        return [step, zero]

    def update(self, **changes):
        gate = changes.get("gate")
        if gate is not None and gate != self.values.get("gate") and not {"w1", "w2", "b"} & set(changes):
            b, w1, w2 = GATE_WEIGHTS[gate]  # a new gate starts from the weights that compute it
            changes.update(b=b, w1=w1, w2=w2)
            self.move_controls(b=b, w1=w1, w2=w2)
            self._last, self._next = None, 0
        super().update(**changes)

    def step(self):
        """Apply one Rosenblatt update to the current weights (the "Rosenblatt step" button)."""
        X, y = self.dataset()
        w = np.array([self.values["b"], self.values["w1"], self.values["w2"]])
        n, w_new = rosenblatt_step(w, X, y, start=self._next)
        if n is None:
            self._last = None
            self.update()
            return None
        self._last, self._next = (n, w), (n + 1) % len(X)
        self.set_values(b=float(w_new[0]), w1=float(w_new[1]), w2=float(w_new[2]))
        return n

    def reset(self):
        """Set w = 0 (the "w = 0" button)."""
        self._last, self._next = None, 0
        self.set_values(b=0.0, w1=0.0, w2=0.0)

    def draw(self, fig, gate, w1, w2, b):
        X, y = self.dataset(gate)
        w = np.array([b, w1, w2], dtype=float)
        last = self._last if self.figure is fig else None
        self._draw(self._axes(fig), X, y, w, last=last)

    @staticmethod
    def _axes(fig):
        return fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})

    def _mistake_counts(self, X, y):
        """Misclassified points at w = 0 and after each update of Rosenblatt's rule from w = 0."""
        if getattr(self, "_counts", None) is None:
            ws = [np.zeros(3)] + [w_after for _, _, w_after in self._rosenblatt_run(X, y)]
            self._counts = np.array([int(np.sum(act.step(_signal(w, X)) != y)) for w in ws])
        return self._counts

    def _draw(self, axes, X, y, w, last=None, title=None, upto=None):
        """Draw data + boundary (left) and the truth table or the mistakes (right); record the state."""
        ax, ax_table = axes
        xlim, ylim = self._limits(X)
        s = _signal(w, X)
        y_hat = act.step(s).astype(int)
        wrong = y_hat != y
        plot_data(X, 2 * y - 1, ax=ax, size=70 if len(X) <= 8 else 30)
        if last is not None:  # the previous boundary, dashed, and the point that moved it
            n, w_before = last
            if np.any(w_before[1:] != 0):
                plot_linear_boundary(w_before, ax=ax, xlim=xlim, ylim=ylim, show_normal=False, shade=False,
                                     color="0.45")
                ax.lines[-1].set_linestyle("--")
            ax.scatter(*X[n], s=260, facecolors="none", edgecolors="k", linewidths=1.8, zorder=4)
        plot_linear_boundary(w, ax=ax, xlim=xlim, ylim=ylim)
        if wrong.any():
            ax.scatter(X[wrong, 0], X[wrong, 1], s=140, marker="x", c="k", linewidths=1.5, zorder=5,
                       label="misclassified")
        ax.legend(fontsize="x-small", loc="upper left", framealpha=0.85)
        ax.set_aspect("equal", adjustable="box")
        ax.set_title(title or f"$w_1$ = {w[1]:.3g}, $w_2$ = {w[2]:.3g}, $b$ = {w[0]:.3g}", fontsize=10)
        if len(X) <= 8:
            plot_truth_table({"x₁": X[:, 0], "x₂": X[:, 1], "s": np.round(s, 3),
                              "ŷ": y_hat, "y": y}, ax=ax_table, wrong=wrong)
            ax_table.set_title(f"{'all rows correct' if not wrong.any() else f'{wrong.sum()} wrong row(s)'}",
                               fontsize=10)
        else:  # too many points for a table: how many are wrong after each of Rosenblatt's updates
            counts = self._mistake_counts(X, y)
            k = len(counts) if upto is None else upto
            ax_table.plot(np.arange(len(counts)), counts, color="0.75", linewidth=1)
            ax_table.plot(np.arange(k + 1)[:len(counts)], counts[:k + 1], color="k", marker=".", linewidth=1.5)
            ax_table.set_xlabel("Rosenblatt update")
            ax_table.set_ylabel("misclassified points")
            ax_table.set_ylim(bottom=0)
            ax_table.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax_table.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax_table.grid(alpha=0.3)
            ax_table.set_title(f"now: {wrong.sum()} of {len(X)} points misclassified", fontsize=10)
        self.state.update(w=w, s=s, y_hat=y_hat, wrong=wrong, mistakes=int(wrong.sum()))

    def animate(self, fig):
        X, y = self.dataset(self.defaults()["gate"])
        steps = self._rosenblatt_run(X, y)
        if not steps:
            return None
        frames = frame_indices(len(steps), self.max_frames)
        converged = not np.any(act.step(_signal(steps[-1][2], X)) != y)
        total = f"{len(steps)}" if converged else f"{len(steps)}+ (never converges)"
        axes = self._axes(fig)

        def show(k):
            for a in axes:
                a.clear()
            n, w_before, w_after = steps[frames[k]]
            title = f"update {frames[k] + 1} of {total}: point {n} was wrong"
            self._draw(axes, X, y, w_after, last=(n, w_before), title=title, upto=frames[k] + 1)
            return []

        show(0)
        freeze_layout(fig)
        return FuncAnimation(fig, show, frames=len(frames), blit=False, repeat=False)


def perceptron_playground(X=None, y=None, *, gate="AND", w=None, max_frames=40):
    """A perceptron you can steer: sliders for w1, w2, b; Rosenblatt's rule one step at a time.

    Parameters
    ----------
    X, y : optional
        2-D data (n, 2) with labels in {0, 1} or {-1, +1}. Without them the data is the truth table
        of ``gate``, and a drop-down switches between AND, OR, NAND and XOR.
    gate : {"AND", "OR", "NAND", "XOR"}
        The Boolean function shown first.
    w : (b, w1, w2), optional
        The starting weights. Default: the lecture's weights for the gate (AND: -30, 20, 20;
        OR: -10, 20, 20), or, for custom data, where Rosenblatt's rule ends.
    max_frames : int
        At most this many frames in the animation (Rosenblatt's updates from w = 0).

    In Jupyter the result shows the live UI; in the book (``NNKIT_STATIC=1``) a static figure at
    these settings and an animation of Rosenblatt's rule. ``.build_ui()`` returns the UI,
    ``.step()`` applies one update, ``.state`` holds the current signals, predictions and mistakes.
    """
    return PerceptronPlayground(X, y, gate=gate, w=w, max_frames=max_frames)
