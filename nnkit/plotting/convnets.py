"""What a convolutional network learns (chapter 6): its filters as small images, and the feature
maps of one image.

Every function takes numpy arrays (a torch tensor is converted with ``.detach().cpu().numpy()``;
this module does not import torch) and returns the Figure it drew.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ._axes import as_numpy

__all__ = ["plot_filters", "plot_feature_maps"]


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
    W = as_numpy(weights).astype(float)
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
    M = as_numpy(maps).astype(float)
    if M.ndim == 4 and M.shape[0] == 1:
        M = M[0]
    if M.ndim != 3:
        raise ValueError(f"expected feature maps of shape (n_maps, h, w), got {M.shape}")
    panels = []
    if image is not None:
        img = as_numpy(image).astype(float).squeeze()
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
