"""Plots for chapters 6-7: convolution filters, feature maps, sequence predictions, transfer curves.

Every function takes numpy arrays (a torch tensor is converted with ``.detach().cpu().numpy()``;
this module does not import torch) and returns what it drew on.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_filters", "plot_feature_maps", "plot_sequence_prediction", "plot_transfer_curve"]

#: colours and markers of the transfer-learning methods (nnkit.transfer.METHODS)
_METHOD_STYLE = {
    "frozen": ("tab:blue", "o", "frozen features + new head"),
    "finetune": ("tab:green", "s", "fine-tune all layers"),
    "scratch": ("tab:red", "^", "train from scratch"),
    "logreg": ("tab:purple", "D", "features + logistic regression"),
}


def _numpy(a) -> np.ndarray:
    """An array from a numpy array, a list or a torch tensor (without importing torch)."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _grid_figure(n, ncols, size, extra_height=0.35):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = plt.figure(figsize=(size * ncols, size * nrows + extra_height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def plot_filters(weights, *, ncols=8, size=1.0, annotate=None, suptitle=None):
    """Show convolution filters as small images.

    ``weights`` has shape (n_filters, n_in, kh, kw) (a ``Conv2d``'s ``weight``) or
    (n_filters, kh, kw); for several input channels the first one is shown. Red means a
    positive weight, blue a negative one, on one colour scale for all filters (white is 0).
    ``annotate`` writes the values into the cells (default: when filters are at most 3x3
    and there are at most 8 of them). Returns the Figure.
    """
    W = _numpy(weights).astype(float)
    if W.ndim == 4:
        W = W[:, 0]
    if W.ndim != 3:
        raise ValueError(f"expected filters of shape (n_filters, n_in, kh, kw) or (n_filters, kh, kw), got {W.shape}")
    n = len(W)
    if annotate is None:
        annotate = n <= 8 and W.shape[1] * W.shape[2] <= 9
    lim = float(np.abs(W).max()) or 1.0
    fig, axes = _grid_figure(n, ncols, size)
    for j, (ax, w) in enumerate(zip(axes, W)):
        ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(f"filter {j}", fontsize=8)
        if annotate:
            for (r, c), v in np.ndenumerate(w):
                ax.text(c, r, f"{v:.1f}", ha="center", va="center", fontsize=6)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_feature_maps(maps, image=None, *, ncols=8, size=1.1, titles=None, cmap="magma", suptitle=None):
    """Show the feature maps of one image: ``maps`` (n_maps, h, w), optionally the input first.

    Each map is what one filter "sees" at every position of the image (bright: strong
    response). ``image`` (h0, w0) or (784,) is drawn first, in grey. Returns the Figure.
    """
    M = _numpy(maps).astype(float)
    if M.ndim == 4 and M.shape[0] == 1:
        M = M[0]
    if M.ndim != 3:
        raise ValueError(f"expected feature maps of shape (n_maps, h, w), got {M.shape}")
    panels = []
    if image is not None:
        img = _numpy(image).astype(float).squeeze()
        if img.ndim == 1:
            side = int(round(math.sqrt(img.size)))
            img = img.reshape(side, side)
        panels.append((img, "input", "gray_r"))
    names = titles if titles is not None else [f"map {j}" for j in range(len(M))]
    if len(names) != len(M):
        raise ValueError(f"expected {len(M)} titles (one per map), got {len(names)}")
    panels += [(m, t, cmap) for m, t in zip(M, names)]
    fig, axes = _grid_figure(len(panels), ncols, size)
    for ax, (m, title, cm) in zip(axes, panels):
        ax.imshow(m, cmap=cm, interpolation="nearest")
        ax.set_title(title, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_sequence_prediction(t, series, t_pred, predictions, ax=None, *, target=None, title=None):
    """A time series (dots), a model's predictions (line) and optionally the noise-free target.

    ``t``, ``series``: the observed values; ``t_pred``, ``predictions``: what the model
    predicted at those times (a dict ``{label: values}`` draws several models);
    ``target`` a callable giving the clean signal at any t. Returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3), layout="constrained")
    t, series = _numpy(t).ravel(), _numpy(series).ravel()
    ax.plot(t, series, ".", color="0.6", markersize=3, label="observed (noisy)")
    if target is not None:
        ax.plot(t, target(t), color="0.2", lw=1, linestyle=":", label="noise-free signal")
    if not isinstance(predictions, dict):
        predictions = {"prediction": predictions}
    for label, values in predictions.items():
        ax.plot(_numpy(t_pred).ravel(), _numpy(values).ravel(), lw=1.6, label=label)
    ax.set_xlabel("time step $t$")
    ax.set_ylabel("value")
    ax.legend(fontsize="small", ncols=2)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def plot_transfer_curve(result, ax=None, *, chance=None, title=None):
    """Test accuracy against the number of labels per class, one line per method.

    ``result`` is a :class:`nnkit.transfer.TransferResult` (or any object with
    ``labels_per_class`` and ``accuracy = {method: [acc, ...]}``). The x axis is
    logarithmic; ``chance`` (e.g. 0.1 for ten classes) draws the accuracy of guessing.
    Returns the Axes.
    """
    ks = list(result.labels_per_class)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    for method, accs in result.accuracy.items():
        if len(accs) != len(ks):
            raise ValueError(f"method {method!r} has {len(accs)} accuracies for {len(ks)} label counts")
        colour, marker, label = _METHOD_STYLE.get(method, (None, "o", method))
        ax.plot(ks, accs, marker=marker, color=colour, label=label)
    if chance is not None:
        ax.axhline(chance, color="0.5", linestyle=":", lw=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("labelled training images per class")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    if title:
        ax.set_title(title)
    return ax
