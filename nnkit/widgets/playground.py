"""A small neural-network playground (in the spirit of TensorFlow Playground) for 2-D data.

Pick a data set (moons, circles, spirals, XOR cloud), the number of hidden layers and of units per
layer, the activation and the learning rate; press "train" and watch the decision boundary move and
the loss fall. The network is nnkit's own: ``Sequential`` of ``Dense`` + activation layers with a
softmax cross-entropy output, trained by full-batch gradient descent with momentum
(``nnkit.optim.SGD``), so each "epoch" is one gradient step on all 200 points.

In the book (``NNKIT_STATIC=1``) the widget shows a grid of decision boundaries, one row per data
set, as the number of hidden units grows, and an animation of a network learning the spirals.
"""

from __future__ import annotations

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from nnkit import layers as L
from nnkit import losses, optim
from nnkit import data as D
from nnkit.activations import softmax

from ._base import Widget

__all__ = ["playground", "Playground", "make_dataset", "make_network", "train_network", "DATASETS"]

DATASETS = ("moons", "circles", "spirals", "xor")
_ACT = {"tanh": L.Tanh, "relu": L.ReLU, "sigmoid": L.Sigmoid}


def make_dataset(name, n=200, seed=0):
    """(X (n, 2), y (n,)) for ``name`` in DATASETS; "xor" is four noisy clusters labelled by XOR."""
    if name == "moons":
        return D.moons(n, noise=0.15, seed=seed)
    if name == "circles":
        return D.circles(n, noise=0.08, seed=seed)
    if name == "spirals":
        return D.spirals(n, noise=0.06, seed=seed)
    if name == "xor":
        rng = np.random.default_rng(seed)
        X = rng.uniform(-1, 1, size=(n, 2))
        y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
        return X, y
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


def make_network(hidden=8, layers=1, activation="tanh", seed=0):
    """Sequential 2 -> hidden (x layers) -> 2 with the given activation (logits out, no softmax)."""
    if activation not in _ACT:
        raise ValueError(f"activation must be one of {sorted(_ACT)}, got {activation!r}")
    if int(hidden) < 1 or int(layers) < 1:
        raise ValueError(f"need at least one hidden layer of one unit, got layers={layers}, hidden={hidden}")
    init = "he" if activation == "relu" else "xavier"
    parts, n_in = [], 2
    for k in range(int(layers)):
        parts += [L.Dense(n_in, int(hidden), init=init, seed=seed + k), _ACT[activation]()]
        n_in = int(hidden)
    parts.append(L.Dense(n_in, 2, init="xavier", seed=seed + 100))
    return L.Sequential(*parts)


def train_network(net, opt, X, y, epochs, history=None):
    """``epochs`` full-batch steps of ``opt`` on (X, y); appends loss and accuracy to ``history``."""
    history = {"loss": [], "accuracy": []} if history is None else history
    for _ in range(int(epochs)):
        s = net.forward(X)
        loss, delta = losses.softmax_cross_entropy(s, y)
        net.backward(delta)
        opt.step()
        history["loss"].append(loss)
        history["accuracy"].append(_accuracy(s, y))
    return history


def _accuracy(s, y):
    """The fraction of rows of the logits s (N, K) whose largest entry is at the label y (N,)."""
    return float(np.mean(np.asarray(s).argmax(axis=1) == np.asarray(y)))


def _proba(net):
    return lambda P: softmax(net.forward(P))[:, 1]


def _draw_boundary(ax, net, X, y, title, resolution=70):
    from nnkit.plotting.boundaries import plot_decision_boundary

    plot_decision_boundary(_proba(net), X, y, ax=ax, proba=True, resolution=resolution, padding=0.3,
                           legend=False)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title, fontsize=9)


class Playground(Widget):
    """Train a small MLP on 2-D data and watch its decision boundary."""

    figsize = (9.5, 4.0)
    fps = 4
    #: (hidden units, hidden layers) per column of the static grid
    grid_columns = ((1, 1), (2, 1), (4, 1), (16, 1), (16, 2))
    #: data sets per row of the static grid
    grid_datasets = ("moons", "circles", "spirals")
    #: gradient steps for each network of the static grid
    grid_epochs = 600
    #: frames of the animation (30 gradient steps apart)
    anim_frames = 20

    def __init__(self, dataset="spirals", hidden=16, layers=2, activation="tanh", lr=0.3, seed=0):
        self._defaults = {"dataset": dataset, "hidden": int(hidden), "layers": int(layers),
                          "activation": activation, "lr": float(lr), "seed": int(seed)}
        super().__init__()
        self._key = None
        self.net = self.opt = None
        self.history = {"loss": [], "accuracy": []}

    def defaults(self):
        return dict(self._defaults)

    def make_controls(self):
        import ipywidgets as W

        return {
            "dataset": W.Dropdown(options=list(DATASETS), description="data"),
            "hidden": W.IntSlider(min=1, max=64, description="units/layer"),
            "layers": W.IntSlider(min=1, max=3, description="hidden layers"),
            "activation": W.Dropdown(options=list(_ACT), description="activation"),
            "lr": W.FloatLogSlider(min=-3, max=0.5, step=0.1, base=10, description="η"),
            "seed": W.IntSlider(min=0, max=20, description="seed"),
        }

    def extra_buttons(self):
        import ipywidgets as W

        b100 = W.Button(description="train 100 steps")
        b1000 = W.Button(description="▶ train 1000 (watch)")
        reset = W.Button(description="reset")
        b100.on_click(lambda _: self.train(100))
        b1000.on_click(lambda _: self.train(1000, redraw_every=100))
        reset.on_click(lambda _: self.reset())
        return [b100, b1000, reset]

    # ------------------------------------------------------------------ model state
    def _ensure_network(self, dataset, hidden, layers, activation, lr, seed):
        key = (dataset, hidden, layers, activation, seed)
        if key != self._key:
            self._key = key
            self.X, self.y = make_dataset(dataset, seed=seed)
            self.net = make_network(hidden, layers, activation, seed=seed)
            self.opt = optim.SGD(self.net.params, self.net.grads, lr=lr, momentum=0.9)
            self.history = {"loss": [], "accuracy": []}
        self.opt.lr = lr

    def reset(self):
        """Forget the trained weights: a fresh network with the current settings."""
        self._key = None
        self.update()

    def train(self, epochs, redraw_every=None):
        """Train ``epochs`` more gradient steps, redrawing every ``redraw_every`` steps (and at the end)."""
        self._ensure_network(**self.values)
        chunk = int(redraw_every or epochs)
        done = 0
        while done < epochs:
            k = min(chunk, epochs - done)
            train_network(self.net, self.opt, self.X, self.y, k, self.history)
            done += k
            if done < epochs:
                self.update()
        self.update()

    # ------------------------------------------------------------------ drawing
    def draw(self, fig, dataset, hidden, layers, activation, lr, seed):
        self._ensure_network(dataset, hidden, layers, activation, lr, seed)
        epoch = len(self.history["loss"])
        s = self.net.forward(self.X)
        loss = losses.softmax_cross_entropy(s, self.y)[0]
        acc = _accuracy(s, self.y)
        self.state.update(epoch=epoch, loss=loss, accuracy=acc, dataset=dataset)
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.2, 1])
        arch = "-".join(["2"] + [str(hidden)] * layers + ["2"])
        _draw_boundary(ax1, self.net, self.X, self.y,
                       f"{dataset}, {arch} {activation}: step {epoch}, accuracy {acc:.0%}", resolution=80)
        if epoch:
            ax2.plot(np.arange(1, epoch + 1), self.history["loss"], color="#2f6db5", label="loss")
            ax2.set_yscale("log")
            ax3 = ax2.twinx()
            ax3.plot(np.arange(1, epoch + 1), self.history["accuracy"], color="#d1495b", label="accuracy")
            ax3.set_ylim(0, 1.02)
            ax3.set_ylabel("training accuracy", color="#d1495b")
        else:
            ax2.text(0.5, 0.5, "press “train”", ha="center", va="center", transform=ax2.transAxes)
        ax2.set_xlabel("gradient step")
        ax2.set_ylabel("cross-entropy loss", color="#2f6db5")

    def static_figure(self):
        """Decision boundaries after training: rows = data sets, columns = hidden units (and layers)."""
        v = self.values
        rows, cols = self.grid_datasets, self.grid_columns
        fig = Figure(figsize=(2.3 * len(cols), 2.3 * len(rows)), dpi=self.dpi, layout="constrained")
        axes = fig.subplots(len(rows), len(cols), squeeze=False)
        results = {}
        for r, name in enumerate(rows):
            X, y = make_dataset(name, seed=v["seed"])
            for c, (h, nl) in enumerate(cols):
                net = make_network(h, nl, v["activation"], seed=v["seed"])
                opt = optim.SGD(net.params, net.grads, lr=v["lr"], momentum=0.9)
                train_network(net, opt, X, y, self.grid_epochs)
                acc = _accuracy(net.forward(X), y)
                results[name, h, nl] = acc
                arch = "-".join(["2"] + [str(h)] * nl + ["2"])
                _draw_boundary(axes[r, c], net, X, y, f"{name}, {arch}: {acc:.0%}", resolution=50)
        self.state["grid_accuracy"] = results
        fig.suptitle(f"{v['activation']} hidden units, {self.grid_epochs} gradient steps (η = {v['lr']:g}) "
                     "each; training accuracy in the titles")
        return fig

    def animate(self, fig):
        """The default network learning the default data set: ``anim_frames`` frames, 30 steps apart."""
        v = self.values
        X, y = make_dataset(v["dataset"], seed=v["seed"])
        net = make_network(v["hidden"], v["layers"], v["activation"], seed=v["seed"])
        opt = optim.SGD(net.params, net.grads, lr=v["lr"], momentum=0.9)
        hist = {"loss": [], "accuracy": []}
        fig.set_layout_engine("none")
        ax = fig.add_axes((0.05, 0.05, 0.9, 0.85))
        arch = "-".join(["2"] + [str(v["hidden"])] * v["layers"] + ["2"])
        steps_per_frame = 30

        def frame(k):
            if k:
                train_network(net, opt, X, y, steps_per_frame, hist)
            ax.clear()
            acc = _accuracy(net.forward(X), y)
            _draw_boundary(ax, net, X, y, f"{arch} {v['activation']}, step {k * steps_per_frame}: "
                                          f"accuracy {acc:.0%}", resolution=60)
            return []

        fig.set_size_inches(4.5, 4.5)
        return FuncAnimation(fig, frame, frames=self.anim_frames, interval=250, blit=False)


def playground(dataset="spirals", hidden=16, layers=2, activation="tanh", lr=0.3, seed=0):
    """A TensorFlow-Playground-like widget: 2-D data, an MLP, and buttons to train it and watch.

    Parameters are the initial settings; in Jupyter every one has a control, and the buttons
    "train 100 steps", "train 1000 (watch)" and "reset" drive the training (each step is one
    full-batch gradient step with momentum 0.9). In the book: a grid of decision boundaries
    (data sets x widths, one hidden layer and, last, two, :attr:`Playground.grid_epochs` steps each) and an
    animation of the default network training on the default data set.
    """
    return Playground(dataset=dataset, hidden=hidden, layers=layers, activation=activation, lr=lr,
                      seed=seed)
