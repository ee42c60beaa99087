"""Plots of images: first-layer weights, a confusion matrix, a grid of (misclassified) digits.

All functions return the matplotlib object they drew on (an ``Axes`` for single plots, a
``Figure`` for grids) so that a chapter can add a title or save it. They accept images either
flat, shape ``(n, 784)``, or square, shape ``(n, 28, 28)``; ``image_shape`` says how to fold a
flat vector back into a picture.

Convention of the course: a Dense layer's weights ``W`` have shape ``(n_in, n_out)``, so
``W[:, j]`` holds the weights ``w^1_ij`` entering hidden neuron ``j`` from every pixel ``i``.
Shown as a 28 x 28 picture, that column is the pattern neuron ``j`` responds to most strongly.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "confusion_matrix",
    "plot_confusion_matrix",
    "plot_image_grid",
    "plot_misclassified",
    "plot_weight_images",
]


def _as_images(X, image_shape):
    """Return X as an array of shape (n, h, w); X is (n, h*w) or (n, h, w)."""
    X = np.asarray(X)
    if X.ndim == 3:
        return X
    if X.ndim != 2:
        raise ValueError(f"expected images of shape (n, h*w) or (n, h, w), got {X.shape}")
    h, w = image_shape
    if X.shape[1] != h * w:
        raise ValueError(
            f"expected flat images of length {h}*{w}={h * w} (image_shape={image_shape}), "
            f"got shape {X.shape}"
        )
    return X.reshape(len(X), h, w)


def _grid(n, ncols, size, fig=None):
    """A figure with a grid of at least n axes (axis decorations off), and the axes as a list."""
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    if fig is None:
        # fixed spacing instead of a layout engine: much faster with dozens of small axes
        fig = plt.figure(figsize=(size * ncols, (size + 0.25) * nrows + 0.2))
        gridspec_kw = dict(left=0.01, right=0.99, bottom=0.01, top=1 - 0.3 / ((size + 0.25) * nrows + 0.2),
                           wspace=0.08, hspace=0.3)
    else:
        gridspec_kw = None
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=gridspec_kw).ravel()
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def plot_image_grid(images, titles=None, *, ncols=10, image_shape=(28, 28), cmap="gray_r",
                    vmin=None, vmax=None, size=1.0, fig=None, suptitle=None):
    """Show ``images`` (n, 784) or (n, 28, 28) in a grid, each with an optional title.

    Returns the Figure; its visible axes hold one ``AxesImage`` each, in the order given.
    """
    imgs = _as_images(images, image_shape)
    n = len(imgs)
    if n == 0:
        raise ValueError("plot_image_grid needs at least one image, got 0")
    if titles is not None and len(titles) != n:
        raise ValueError(f"expected {n} titles (one per image), got {len(titles)}")
    fig, axes = _grid(n, ncols, size, fig)
    for k, (ax, img) in enumerate(zip(axes, imgs)):
        ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_weight_images(W, *, n=None, ncols=10, image_shape=(28, 28), cmap="RdBu_r",
                       size=1.0, fig=None, suptitle=None):
    """Show the incoming weights of the first ``n`` hidden neurons as pictures.

    ``W`` has shape (n_in, n_out) = (784, n_hidden): column j, the weights w^1_ij from every
    pixel i to neuron j, becomes one 28 x 28 image. Colours are symmetric around 0 for each
    neuron (red: the pixel excites the neuron, blue: it inhibits it). Returns the Figure.
    """
    W = np.asarray(W)
    h, w = image_shape
    if W.ndim != 2 or W.shape[0] != h * w:
        raise ValueError(
            f"expected weights of shape ({h * w}, n_hidden) (n_in, n_out), got {W.shape}"
        )
    n = W.shape[1] if n is None else min(int(n), W.shape[1])
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    fig, axes = _grid(n, ncols, size, fig)
    for j, ax in enumerate(axes):
        col = W[:, j].reshape(h, w)
        lim = float(np.abs(col).max()) or 1.0
        ax.imshow(col, cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def confusion_matrix(y_true, y_pred, n_classes=None):
    """Counts C[i, j] = number of examples of true class i predicted as class j (int array)."""
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {y_true.shape} and {y_pred.shape}"
        )
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("class labels must be non-negative integers 0..K-1")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    C = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(C, (y_true, y_pred), 1)
    return C


def plot_confusion_matrix(y_true, y_pred, *, class_names=None, normalize=False, ax=None,
                          cmap="Blues", annotate=True, title=None):
    """Draw the confusion matrix of ``y_pred`` against ``y_true`` (rows: true, columns: predicted).

    With ``normalize=True`` each row is divided by its total (the per-class recall is then on
    the diagonal). Every cell is annotated with its count (or fraction). Returns the Axes.
    """
    n_classes = None if class_names is None else len(class_names)
    C = confusion_matrix(y_true, y_pred, n_classes)
    K = C.shape[0]
    if class_names is None:
        class_names = [str(k) for k in range(K)]
    values = C.astype(float)
    if normalize:
        values = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * K + 2.0, 0.5 * K + 1.5), layout="constrained")
    ax.imshow(values, cmap=cmap, vmin=0, interpolation="nearest")
    ax.set_xticks(range(K), labels=class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    ax.set_yticks(range(K), labels=class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if annotate:
        top = values.max() if values.size else 1.0
        for i in range(K):
            for j in range(K):
                v = values[i, j]
                text = f"{v:.2f}" if normalize else str(C[i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if v > 0.6 * top else "black")
    acc = np.trace(C) / max(C.sum(), 1)
    ax.set_title(title if title is not None else f"confusion matrix (accuracy {acc:.1%})")
    return ax


def plot_misclassified(X, y_true, y_pred, *, n=20, ncols=10, class_names=None, proba=None,
                       image_shape=(28, 28), size=1.0, fig=None, suptitle=None):
    """Show the first ``n`` examples with ``y_pred != y_true``, titled ``true→predicted``.

    If ``proba`` (N, K) is given, the title also shows the probability the model gave to its
    (wrong) prediction, and the most confident mistakes are shown first. Returns the Figure,
    or raises ValueError if nothing is misclassified.
    """
    imgs = _as_images(X, image_shape)
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if not (len(imgs) == len(y_true) == len(y_pred)):
        raise ValueError(
            f"X, y_true and y_pred must have the same length, got {len(imgs)}, "
            f"{len(y_true)}, {len(y_pred)}"
        )
    wrong = np.flatnonzero(y_true != y_pred)
    if wrong.size == 0:
        raise ValueError("no misclassified examples to show: y_pred equals y_true everywhere")
    if proba is not None:
        proba = np.asarray(proba)
        conf = proba[wrong, y_pred[wrong].astype(int)]
        wrong = wrong[np.argsort(-conf, kind="stable")]
    wrong = wrong[:n]
    name = (lambda k: str(k)) if class_names is None else (lambda k: str(class_names[int(k)]))
    titles = []
    for i in wrong:
        t = f"{name(y_true[i])}→{name(y_pred[i])}"
        if proba is not None:
            t += f" ({proba[i, int(y_pred[i])]:.0%})"
        titles.append(t)
    return plot_image_grid(imgs[wrong], titles, ncols=ncols, image_shape=image_shape,
                           size=size, fig=fig, suptitle=suptitle)
