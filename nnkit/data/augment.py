"""Data augmentation for images: small random shifts and rotations.

A digit moved by a pixel or turned by a few degrees is still the same digit, so such copies are
free extra training examples that teach the network to ignore position and slant. Used in
chapter 5 (regularisation). scipy (installed with scikit-learn) does the resampling; it is
imported only when a function runs, so ``import nnkit`` stays light.
"""

from __future__ import annotations

import numpy as np

__all__ = ["shift_rotate", "random_shift_rotate", "augment"]


def _as_images(X, image_shape):
    X = np.asarray(X)
    if X.ndim == 3:
        return X, False
    h, w = image_shape
    if X.ndim != 2 or X.shape[1] != h * w:
        raise ValueError(f"expected images of shape (n, {h * w}) or (n, {h}, {w}), got {X.shape}")
    return X.reshape(len(X), h, w), True


def shift_rotate(image, dx=0.0, dy=0.0, angle=0.0):
    """One image (h, w) shifted by (dx, dy) pixels (right, down) and rotated by ``angle`` degrees
    (counter-clockwise) about its centre; bilinear interpolation, zeros come in at the borders."""
    from scipy import ndimage

    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected one image of shape (h, w), got {image.shape}")
    out = image.astype(np.float64)
    if angle:
        out = ndimage.rotate(out, angle, reshape=False, order=1, mode="constant", cval=0.0)
    if dx or dy:
        out = ndimage.shift(out, (dy, dx), order=1, mode="constant", cval=0.0)
    return out


def random_shift_rotate(X, max_shift=2.0, max_angle=12.0, seed=None, image_shape=(28, 28)):
    """A randomly moved copy of every image of ``X``: shifts uniform in [-max_shift, max_shift]
    pixels along each axis, rotations uniform in [-max_angle, max_angle] degrees.

    X: (n, 784) flat or (n, 28, 28) images; the result has the same shape and dtype, values
    clipped to the input's range. ``seed``: int, None or a numpy Generator.
    """
    imgs, flat = _as_images(X, image_shape)
    if max_shift < 0 or max_angle < 0:
        raise ValueError(f"max_shift and max_angle must be >= 0, got {max_shift} and {max_angle}")
    rng = np.random.default_rng(seed)  # a Generator is returned as is
    n = len(imgs)
    shifts = rng.uniform(-max_shift, max_shift, size=(n, 2))
    angles = rng.uniform(-max_angle, max_angle, size=n)
    lo, hi = (float(imgs.min()), float(imgs.max())) if n else (0.0, 1.0)
    out = np.empty(imgs.shape, dtype=imgs.dtype)
    for k in range(n):
        moved = shift_rotate(imgs[k], shifts[k, 0], shifts[k, 1], angles[k])
        out[k] = np.clip(moved, lo, hi)
    return out.reshape(n, -1) if flat else out


def augment(X, y, copies=1, max_shift=2.0, max_angle=12.0, seed=None, image_shape=(28, 28)):
    """The training set (X, y) followed by ``copies`` randomly moved copies of it.

    Returns (X_aug, y_aug) with (copies + 1) * n rows; the originals come first.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if int(copies) < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    rng = np.random.default_rng(seed)  # a Generator is returned as is
    parts = [X] + [random_shift_rotate(X, max_shift, max_angle, rng, image_shape) for _ in range(int(copies))]
    return np.concatenate(parts), np.tile(y, int(copies) + 1)
