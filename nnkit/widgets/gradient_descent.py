"""Gradient-descent explorer: logistic regression on 1-D data, where the loss is a function of just
two weights w = (w0, w1) (bias and slope), so the whole loss surface fits on the screen.

Model and loss (lectures): P(y | x) = sigma(y w^T x) with x = (1, x), y in {-1, +1};
L(w) = 1/N sum_n ln(1 + e^{-y_n w^T x_n}). Training is nnkit's ``LogisticRegression``, which
records the weights after every update (``record_path=True``).

Live: sliders for the learning rate eta, the momentum beta, the batch size (1 = "very stochastic",
N = full batch), the number of epochs and the shuffling seed, and a choice of optimiser (SGD or
Adam); the figure shows the path of w over the loss contours and the loss after each epoch, with
plain gradient descent (beta = 0, same eta and batch size) drawn next to it whenever momentum or
Adam is on. Static (the book): the figure at the defaults and an animation of several settings
racing over the same contours (by default full-batch GD, mini-batch SGD and one-example SGD).

Momentum (lectures' notation for the update): v <- beta v + dL/dw, w <- w - eta v.
"""

from __future__ import annotations

import numpy as np
from matplotlib.animation import FuncAnimation

from nnkit.activations import log_softmax, sigmoid
from nnkit.losses import logistic_loss
from nnkit.models import augment
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
    Xa = _augment_1d(X)
    if W.shape[1] != Xa.shape[1]:
        raise ValueError(f"expected W of shape (m, {Xa.shape[1]}) for X with {Xa.shape[1] - 1} feature(s), "
                         f"got {W.shape}")
    Z = y * (W @ Xa.T)  # (m, N): y_n s_n with the signals s_n = w^T x_n
    # ln(1 + e^{-z}) = -ln sigma(z) = -ln softmax((0, z))_1: the two-class softmax of the logits (0, z)
    # is (1 - sigma(z), sigma(z)), and log_softmax computes its log without overflow for any z.
    # (losses.logistic_loss gives the same number for one w at a time; this does all m rows at once.)
    terms = -log_softmax(np.stack([np.zeros_like(Z), Z]), axis=0)[1]  # (m, N): ln(1 + e^{-y_n s_n})
    return terms.mean(axis=1) + 0.0  # + 0.0: a perfect fit gives 0.0, not -0.0


def minimiser(X, y, iterations=25):
    """The weights that minimise the logistic loss (Newton's method; the data must overlap)."""
    Xa = _augment_1d(X)
    w = np.zeros(Xa.shape[1])
    for _ in range(iterations):
        s = Xa @ w
        grad = Xa.T @ logistic_loss(s, y)[1]  # dL/dw = sum_n x_n dL/ds_n, dL/ds_n = -y_n sigma(-y_n s_n) / N
        p = sigmoid(-y * s)  # sigma(-y_n w^T x_n); sigma(-y s)(1 - sigma(-y s)) = sigma'(s)
        hess = (Xa * (p * (1 - p))[:, None]).T @ Xa / len(Xa)
        w -= np.linalg.solve(hess, grad)
    return w


def _augment_1d(X):
    """``models.augment`` that also takes 1-D data X (N,) as N samples of one feature."""
    X = np.asarray(X, dtype=float)
    return augment(X[:, None] if X.ndim == 1 else X)


class GDExplorer(Widget):
    """The gradient-descent explorer; make one with :func:`gd_explorer`."""

    figsize = (9.5, 3.9)
    fps = 6

    def __init__(self, X=None, y=None, lr=1.0, batch_size=None, epochs=30, seed=0, compare=(None, 8, 1),
                 animation_epochs=20, momentum=0.0, optimizer="sgd"):
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
        if not 0 <= momentum < 1:
            raise ValueError(f"expected 0 <= momentum < 1, got {momentum}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"expected optimizer 'sgd' or 'adam', got {optimizer!r}")
        self._init = {"lr": float(lr), "batch_size": self.N if batch_size is None else int(batch_size),
                      "epochs": int(epochs), "seed": int(seed), "momentum": float(momentum),
                      "optimizer": optimizer}
        self.compare = self._races(compare)
        self.animation_epochs = animation_epochs
        super().__init__()

    def defaults(self):
        return dict(self._init)

    def loss(self, W):
        """L(w) for rows w = (w0, w1) of W (m, 2)."""
        return logistic_loss_surface(W, self.X, self.y)

    def _races(self, compare):
        """The animation's runs: {label: settings}, from batch sizes or from a dict of settings."""
        if isinstance(compare, dict):
            allowed = {"lr", "batch_size", "momentum", "optimizer"}
            for name, settings in compare.items():
                if not set(settings) <= allowed:
                    raise ValueError(f"compare[{name!r}]: unknown settings {sorted(set(settings) - allowed)}; "
                                     f"use {sorted(allowed)}")
            return {name: dict(settings) for name, settings in compare.items()}
        races = {}
        for b in compare:
            size = self.N if b is None else int(b)
            name = "GD (full batch)" if size >= self.N else ("SGD, 1 example" if size == 1 else f"SGD, batch {size}")
            races[name] = {"batch_size": size}
        return races

    def run(self, lr, batch_size, epochs, seed=0, momentum=0.0, optimizer="sgd"):
        """Train nnkit's LogisticRegression from w = 0; returns the fitted model (with ``path_``)."""
        from nnkit.models import LogisticRegression

        batch = None if batch_size is None or batch_size >= self.N else int(batch_size)
        return LogisticRegression(lr=lr, epochs=epochs, batch_size=batch, seed=seed, record_path=True,
                                  momentum=momentum, optimizer=optimizer).fit(self.X, self.y)

    def _label(self, batch_size, momentum, optimizer):
        kind = "GD" if batch_size >= self.N else f"SGD, batch {batch_size}"
        if optimizer == "adam":
            return "Adam" if batch_size >= self.N else f"Adam, batch {batch_size}"
        return f"{kind} + momentum β = {momentum:g}" if momentum else kind

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
            "momentum": W.FloatSlider(min=0.0, max=0.95, step=0.05, description="momentum β",
                                      continuous_update=False, readout_format=".2f", style=style),
            "optimizer": W.Dropdown(options=[("SGD (with momentum β)", "sgd"), ("Adam", "adam")],
                                    description="optimiser", style=style),
        }

    def draw(self, fig, lr, batch_size, epochs, seed, momentum=0.0, optimizer="sgd"):
        model = self.run(lr, batch_size, epochs, seed, momentum, optimizer)
        ax, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        label = self._label(batch_size, momentum, optimizer)
        paths, runs = {}, {}
        plain = None
        if momentum or optimizer == "adam":  # plain gradient descent alongside, same eta and batch size
            plain = self.run(lr, batch_size, epochs, seed)
            paths[self._label(batch_size, 0.0, "sgd")] = plain.path_
            runs[self._label(batch_size, 0.0, "sgd")] = plain
        paths[label] = model.path_
        runs[label] = model
        w0r, w1r = self._box(list(paths.values()))
        plot_loss_contours(self.loss, ax=ax, w0_range=w0r, w1_range=w1r, paths=paths, minimum=self.w_star)
        ax.set_title(f"η = {lr:.3g}: {len(model.path_) - 1} updates in {epochs} epoch(s)", fontsize=10)
        L0 = float(self.loss(np.zeros((1, 2)))[0])
        losses = [L0] + list(model.history_["loss"])
        for k, (name, m) in enumerate(runs.items()):
            ax_loss.plot(np.arange(epochs + 1), [L0] + list(m.history_["loss"]), marker="." if epochs <= 40 else None,
                         color=CLASS_COLORS[k], label=name)
        ax_loss.axhline(self.L_star, color="0.3", linestyle=":", label="minimum loss")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("loss $L(\\mathbf{w})$ on all data")
        ax_loss.set_ylim(bottom=0)
        ax_loss.grid(alpha=0.3)
        ax_loss.legend(fontsize="small")
        ax_loss.set_title(f"final loss {losses[-1]:.4f} (minimum {self.L_star:.4f})", fontsize=10)
        self.state.update(model=model, path=model.path_, w=model.w.copy(), losses=np.array(losses),
                          n_updates=len(model.path_) - 1,
                          plain_path=None if plain is None else plain.path_,
                          plain_losses=None if plain is None else np.array([L0] + list(plain.history_["loss"])))

    def animate(self, fig):
        v = self.defaults()
        E = self.animation_epochs
        runs = {}
        for name, settings in self.compare.items():
            s = {"lr": v["lr"], "batch_size": v["batch_size"], "momentum": 0.0, "optimizer": "sgd", **settings}
            size = self.N if s["batch_size"] is None else s["batch_size"]
            runs[name] = self.run(s["lr"], size, E, v["seed"], s["momentum"], s["optimizer"])
        same_lr = len({settings.get("lr", v["lr"]) for settings in self.compare.values()}) == 1
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
            title.set_text(f"η = {v['lr']:.3g}, after {epoch} epoch(s)" if same_lr else f"after {epoch} epoch(s)")
            return []

        show(0)
        freeze_layout(fig)
        return FuncAnimation(fig, show, frames=E + 1, blit=False, repeat=False)


def gd_explorer(X=None, y=None, *, lr=1.0, batch_size=None, epochs=30, seed=0, compare=(None, 8, 1),
                animation_epochs=20, momentum=0.0, optimizer="sgd"):
    """Explore gradient descent on the logistic loss of 1-D data: learning rate and batch size.

    Parameters
    ----------
    X, y : optional
        1-D data (N,) or (N, 1) with labels in {-1, +1} or {0, 1}; default :func:`toy_1d`.
    lr, batch_size, epochs, seed :
        The starting settings (batch_size None = full batch), drawn in the static figure.
    momentum : float
        The starting momentum beta in [0, 1): v <- beta v + dL/dw, w <- w - lr v. When it is
        positive (or with Adam) the figure also shows plain gradient descent, same lr and batches.
    optimizer : "sgd" or "adam"
        The starting optimiser (``nnkit.optim.SGD`` with momentum, or ``nnkit.optim.Adam``).
    compare : tuple or dict
        What the animation races: a tuple of batch sizes (None = full batch) at ``lr``, or a dict
        {label: settings} whose settings may set "lr", "batch_size", "momentum" and "optimizer"
        (the rest from the starting settings), e.g. ``{"GD": {}, "momentum": {"momentum": 0.8}}``.
    animation_epochs : int
        Length of the animation, one frame per epoch.

    ``.build_ui()`` returns the live UI; ``.state`` holds the last run's ``path`` (updates + 1, 2),
    ``losses`` per epoch and ``w``; ``.loss(W)`` evaluates L on rows of W; ``.w_star`` is the minimum.
    """
    return GDExplorer(X, y, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, compare=compare,
                      animation_epochs=animation_epochs, momentum=momentum, optimizer=optimizer)
