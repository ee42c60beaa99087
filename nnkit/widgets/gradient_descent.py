"""Gradient-descent explorer: logistic regression on 1-D data, where the loss is a function of just
two weights w = (w0, w1) (bias and slope), so the whole loss surface fits on the screen.

Model and loss (lectures): P(y | x) = sigma(y w^T x) with x = (1, x), y in {-1, +1};
L(w) = 1/N sum_n ln(1 + e^{-y_n w^T x_n}). Training is nnkit's ``LogisticRegression``, which
records the weights after every update (``record_path=True``).

Live: sliders for the learning rate eta, the batch size (1 = "very stochastic", N = full batch),
the number of epochs and the shuffling seed; the figure shows the path of w over the loss contours
and the loss after each epoch. Static (the book): the figure at the defaults and an animation of
full-batch GD, mini-batch SGD and one-example SGD racing over the same contours.
"""

from __future__ import annotations

import numpy as np
from matplotlib.animation import FuncAnimation

from nnkit.plotting import CLASS_COLORS, plot_loss_contours

from ..data.toy import toy_1d
from ._base import Widget, freeze_layout

__all__ = ["gd_explorer", "GDExplorer", "logistic_loss_surface", "minimiser"]


def logistic_loss_surface(W, X, y):
    """The logistic loss for many weight vectors at once.

    W (m, d+1) rows w = (w0, w1, ..., wd); X (N, d); y (N,) in {-1, +1}.
    Returns (m,): L(w) = 1/N sum_n ln(1 + e^{-y_n w^T x_n}) with x_n = (1, x_n).
    """
    W = np.atleast_2d(np.asarray(W, dtype=float))
    Xa = np.column_stack([np.ones(len(X)), X])
    if W.shape[1] != Xa.shape[1]:
        raise ValueError(f"expected W of shape (m, {Xa.shape[1]}) for X with {X.shape[1]} feature(s), got {W.shape}")
    S = W @ Xa.T  # (m, N): signals s_n = w^T x_n
    return np.logaddexp(0.0, -y * S).mean(axis=1)  # ln(1 + e^{-y s}) without overflow


def minimiser(X, y, iterations=25):
    """The weights that minimise the logistic loss (Newton's method; the data must overlap)."""
    Xa = np.column_stack([np.ones(len(X)), X])
    w = np.zeros(Xa.shape[1])
    for _ in range(iterations):
        m = y * (Xa @ w)
        p = 1 / (1 + np.exp(m))  # = sigma(-y w^T x)
        grad = -(Xa * (y * p)[:, None]).mean(axis=0)
        hess = (Xa * (p * (1 - p))[:, None]).T @ Xa / len(Xa)
        w -= np.linalg.solve(hess, grad)
    return w


class GDExplorer(Widget):
    """The gradient-descent explorer; make one with :func:`gd_explorer`."""

    figsize = (9.5, 3.9)
    fps = 6

    def __init__(self, X=None, y=None, lr=1.0, batch_size=None, epochs=30, seed=0, compare=(None, 8, 1),
                 animation_epochs=20):
        if (X is None) != (y is None):
            raise ValueError("give both X and y or neither")
        if X is None:
            X, y = toy_1d()
        X = np.asarray(X, dtype=float)
        X = X[:, None] if X.ndim == 1 else X
        y = np.asarray(y)
        if X.ndim != 2 or X.shape[1] != 1 or y.shape != (len(X),):
            raise ValueError(f"expected 1-D data X (N, 1) and y (N,), got X {X.shape} and y {y.shape}")
        if not set(np.unique(y).tolist()) <= {-1, 1}:
            y = 2 * (y > 0) - 1  # {0, 1} -> {-1, +1}
        self.X, self.y, self.N = X, y, len(X)
        self.w_star = minimiser(X, y)
        self.L_star = float(logistic_loss_surface(self.w_star, X, y)[0])
        self._init = {"lr": float(lr), "batch_size": self.N if batch_size is None else int(batch_size),
                      "epochs": int(epochs), "seed": int(seed)}
        self.compare = compare
        self.animation_epochs = animation_epochs
        super().__init__()

    def defaults(self):
        return dict(self._init)

    def loss(self, W):
        """L(w) for rows w = (w0, w1) of W (m, 2)."""
        return logistic_loss_surface(W, self.X, self.y)

    def run(self, lr, batch_size, epochs, seed=0):
        """Train nnkit's LogisticRegression from w = 0; returns the fitted model (with ``path_``)."""
        from nnkit.models import LogisticRegression

        batch = None if batch_size is None or batch_size >= self.N else int(batch_size)
        return LogisticRegression(lr=lr, epochs=epochs, batch_size=batch, seed=seed, record_path=True).fit(self.X, self.y)

    def _box(self, paths):
        """Contour limits: around the minimum and the start, grown to hold the paths (up to +-40)."""
        pts = np.vstack([np.zeros((1, 2)), self.w_star[None, :]] + [np.clip(p, -40, 40) for p in paths])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum(0.25 * (hi - lo), 1.5)
        return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])

    def make_controls(self):
        import ipywidgets as W

        style = {"description_width": "initial"}
        sizes = sorted({1, 4, 8, 16, self.N, self._init["batch_size"]})
        options = [(f"{b} (very stochastic)" if b == 1 else f"{b} = N (full batch)" if b == self.N else f"{b}", b)
                   for b in sizes]
        return {
            "lr": W.FloatLogSlider(base=10, min=min(-2, np.log10(self._init["lr"])),
                                   max=max(1.5, np.log10(self._init["lr"])), step=0.05, description="learning rate η",
                                   continuous_update=False, readout_format=".3g", style=style),
            "batch_size": W.Dropdown(options=options, description="batch size", style=style),
            "epochs": W.IntSlider(min=1, max=max(100, self._init["epochs"]), description="epochs",
                                  continuous_update=False, style=style),
            "seed": W.IntSlider(min=0, max=max(9, self._init["seed"]), description="shuffle seed",
                                continuous_update=False, style=style),
        }

    def draw(self, fig, lr, batch_size, epochs, seed):
        model = self.run(lr, batch_size, epochs, seed)
        ax, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        label = "GD (full batch)" if batch_size >= self.N else f"SGD, batch {batch_size}"
        w0r, w1r = self._box([model.path_])
        plot_loss_contours(self.loss, ax=ax, w0_range=w0r, w1_range=w1r, paths={label: model.path_},
                           minimum=self.w_star)
        ax.set_title(f"η = {lr:.3g}: {len(model.path_) - 1} updates in {epochs} epoch(s)", fontsize=10)
        losses = [float(self.loss(np.zeros((1, 2)))[0])] + list(model.history_["loss"])
        ax_loss.plot(np.arange(epochs + 1), losses, marker="." if epochs <= 40 else None, color=CLASS_COLORS[0],
                     label=label)
        ax_loss.axhline(self.L_star, color="0.3", linestyle=":", label="minimum loss")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("loss $L(\\mathbf{w})$ on all data")
        ax_loss.set_ylim(bottom=0)
        ax_loss.grid(alpha=0.3)
        ax_loss.legend(fontsize="small")
        ax_loss.set_title(f"final loss {losses[-1]:.4f} (minimum {self.L_star:.4f})", fontsize=10)
        self.state.update(model=model, path=model.path_, w=model.w.copy(), losses=np.array(losses),
                          n_updates=len(model.path_) - 1)

    def animate(self, fig):
        v = self.defaults()
        E = self.animation_epochs
        runs = {}
        for b in self.compare:
            size = self.N if b is None else b
            name = "GD (full batch)" if size >= self.N else ("SGD, 1 example" if size == 1 else f"SGD, batch {size}")
            runs[name] = self.run(v["lr"], size, E, v["seed"])
        ax, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        w0r, w1r = self._box([m.path_ for m in runs.values()])
        plot_loss_contours(self.loss, ax=ax, w0_range=w0r, w1_range=w1r, minimum=self.w_star, resolution=80,
                           levels=12)
        L0 = float(self.loss(np.zeros((1, 2)))[0])
        lines, curves = [], []
        for k, (name, m) in enumerate(runs.items()):
            c = CLASS_COLORS[k]
            lines.append(ax.plot([], [], color=c, linewidth=1.2, label=name, zorder=5 + len(runs) - k)[0])
            curves.append(ax_loss.plot([], [], color=c, marker=".", label=name)[0])
        ax.legend(fontsize="x-small", loc="upper right")
        ax_loss.axhline(self.L_star, color="0.3", linestyle=":", label="minimum")
        ax_loss.set_xlim(0, E)
        all_losses = np.concatenate([[L0]] + [m.history_["loss"] for m in runs.values()])
        ax_loss.set_ylim(0, all_losses.max() * 1.05)
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("loss on all data")
        ax_loss.grid(alpha=0.3)
        ax_loss.legend(fontsize="x-small")
        title = ax.set_title("", fontsize=10)

        def show(epoch):
            for line, curve, m in zip(lines, curves, runs.values()):
                per_epoch = (len(m.path_) - 1) // E  # updates per epoch
                path = m.path_[: epoch * per_epoch + 1]
                line.set_data(path[:, 0], path[:, 1])
                losses = [L0] + list(m.history_["loss"][:epoch])
                curve.set_data(np.arange(epoch + 1), losses)
            title.set_text(f"η = {v['lr']:.3g}, after {epoch} epoch(s)")
            return []

        show(0)
        freeze_layout(fig)
        return FuncAnimation(fig, show, frames=E + 1, blit=False, repeat=False)


def gd_explorer(X=None, y=None, *, lr=1.0, batch_size=None, epochs=30, seed=0, compare=(None, 8, 1),
                animation_epochs=20):
    """Explore gradient descent on the logistic loss of 1-D data: learning rate and batch size.

    Parameters
    ----------
    X, y : optional
        1-D data (N,) or (N, 1) with labels in {-1, +1} or {0, 1}; default :func:`toy_1d`.
    lr, batch_size, epochs, seed :
        The starting settings (batch_size None = full batch), drawn in the static figure.
    compare : tuple
        Batch sizes raced in the animation (None = full batch), at the learning rate ``lr``.
    animation_epochs : int
        Length of the animation, one frame per epoch.

    ``.build_ui()`` returns the live UI; ``.state`` holds the last run's ``path`` (updates + 1, 2),
    ``losses`` per epoch and ``w``; ``.loss(W)`` evaluates L on rows of W; ``.w_star`` is the minimum.
    """
    return GDExplorer(X, y, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, compare=compare,
                      animation_epochs=animation_epochs)
