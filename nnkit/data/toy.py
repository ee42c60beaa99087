"""Small 2-D and 1-D data sets for the first chapters.

Every 2-D set returns ``(X, y)``: ``X`` (n, 2) float64, ``y`` (n,) int64 with labels in {0, 1}
(use :func:`to_pm1` for the perceptron's {-1, +1}). The same ``seed`` gives the same data.
scikit-learn makes blobs, moons and circles (imported lazily: ``import nnkit.data`` stays fast);
the spirals are made here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "toy_1d",
    "and_data", "or_data", "nand_data", "xor_data", "blobs", "moons", "circles", "spirals",
    "to_pm1", "target_function", "sample_target", "TARGET_DOMAIN",
]

# The four inputs of a two-input Boolean function, rows 00, 01, 10, 11.
_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def _truth_table(outputs) -> tuple[np.ndarray, np.ndarray]:
    return _INPUTS.copy(), np.array(outputs, dtype=np.int64)


def and_data():
    """AND: X (4, 2) float64 rows 00, 01, 10, 11; y (4,) = [0, 0, 0, 1]."""
    return _truth_table([0, 0, 0, 1])


def or_data():
    """OR: X (4, 2) float64 rows 00, 01, 10, 11; y (4,) = [0, 1, 1, 1]."""
    return _truth_table([0, 1, 1, 1])


def nand_data():
    """NAND: X (4, 2) float64 rows 00, 01, 10, 11; y (4,) = [1, 1, 1, 0]."""
    return _truth_table([1, 1, 1, 0])


def xor_data():
    """XOR: X (4, 2) float64 rows 00, 01, 10, 11; y (4,) = [0, 1, 1, 0]. Not linearly separable."""
    return _truth_table([0, 1, 1, 0])


def _check_n(n, minimum=2):
    if int(n) != n or n < minimum:
        raise ValueError(f"n must be an integer >= {minimum}, got {n!r}")
    return int(n)


def blobs(n=200, seed=0, *, margin=0.5):
    """Two Gaussian blobs around (-1.5, -1.5) and (+1.5, +1.5): linearly separable, always.

    Points closer than ``margin`` to the separating line x1 + x2 = 0 are redrawn, so every seed gives
    a separable set (the perceptron converges on it). Returns X (n, 2) float64, y (n,) int64 in {0, 1},
    n // 2 points of class 0.
    """
    from sklearn.datasets import make_blobs

    n = _check_n(n)
    counts = np.array([n // 2, n - n // 2])
    centers = np.array([[-1.5, -1.5], [1.5, 1.5]])
    rng = np.random.default_rng(seed)
    X_parts, y_parts = [], []
    while counts.sum() > 0:
        Xb, yb = make_blobs(n_samples=list(counts + 8), centers=centers, cluster_std=0.7,
                            random_state=int(rng.integers(2**31)))
        sign = 2 * yb - 1  # class 0 lies below the line, class 1 above
        keep = sign * Xb.sum(axis=1) / np.sqrt(2) >= margin
        for k in (0, 1):
            take = np.flatnonzero(keep & (yb == k))[: counts[k]]
            X_parts.append(Xb[take])
            y_parts.append(yb[take])
            counts[k] -= len(take)
    X, y = np.concatenate(X_parts), np.concatenate(y_parts).astype(np.int64)
    order = rng.permutation(n)
    return X[order], y[order]


def moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's make_moons): X (n, 2) float64, y (n,) int64."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=_check_n(n), noise=noise, random_state=seed)
    return X.astype(np.float64), y.astype(np.int64)


def circles(n=200, noise=0.1, factor=0.5, seed=0):
    """A small circle (label 1, radius ``factor``) inside a large one (label 0, radius 1).

    scikit-learn's make_circles. Returns X (n, 2) float64, y (n,) int64.
    """
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=_check_n(n), noise=noise, factor=factor, random_state=seed)
    return X.astype(np.float64), y.astype(np.int64)


def spirals(n=200, noise=0.1, seed=0, *, turns=1.5):
    """Two interleaved spirals, one per class, each turning ``turns`` times around the origin.

    Point at parameter t in [0, 1]: angle theta = 2 pi turns t (+ pi for class 1), radius r = t,
    so (x1, x2) = r (cos theta, sin theta) + Gaussian noise of standard deviation ``noise``.
    X (n, 2) float64 within about [-1, 1]^2, y (n,) int64 in {0, 1}.
    """
    n = _check_n(n)
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n // 2, n - n // 2])
    t = np.sqrt(rng.uniform(0.0, 1.0, size=n))  # sqrt: as many points on the outer turns as inside
    theta = 2 * np.pi * turns * t + np.pi * y
    X = t[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    X += noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def to_pm1(y):
    """Labels {0, 1} -> {-1, +1} (int64); labels already in {-1, +1} are returned as int64 unchanged."""
    y = np.asarray(y)
    values = set(np.unique(y).tolist())
    if values <= {0, 1}:
        return (2 * y - 1).astype(np.int64)
    if values <= {-1, 1}:
        return y.astype(np.int64)
    raise ValueError(f"to_pm1 expects labels in {{0, 1}} (or {{-1, +1}}), got values {sorted(values)}")


TARGET_DOMAIN = (-1.0, 1.0)


def target_function(x):
    """The smooth 1-D target of the universal-approximation demo, on [-1, 1]:

        f(x) = sin(2 pi x) / 2 + exp(-20 (x - 0.4)^2) - x / 4

    A wave, one bump near x = 0.4 and a slight tilt: continuous and bumpy enough that a network needs
    several hidden units to follow it. Works elementwise on any array shape; float64 out.
    """
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * np.sin(2 * np.pi * x) + np.exp(-20.0 * (x - 0.4) ** 2) - 0.25 * x


def sample_target(n=100, seed=0, *, noise=0.0):
    """n sorted points x uniform on [-1, 1] and t = target_function(x) (+ Gaussian noise).

    Returns x (n, 1), t (n, 1), both float64: ready for ``Dense(1, hidden)`` and ``mse(pred, t)``.
    """
    n = _check_n(n, minimum=1)
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(*TARGET_DOMAIN, size=n))
    t = target_function(x) + noise * rng.standard_normal(n)
    return x[:, None], t[:, None]


def toy_1d(n=60, seed=0):
    """1-D data for logistic regression: X (n, 1) float64, y (n,) in {-1, +1}.

    Half the points have y = -1 and x ~ N(-1, 1.2^2), half y = +1 and x ~ N(1.5, 1.2^2): the classes
    overlap, so the loss has a finite minimum (on separable data the weights would grow forever).
    """
    rng = np.random.default_rng(seed)
    y = np.repeat([-1, 1], [n // 2, n - n // 2])
    x = np.where(y > 0, 1.5, -1.0) + 1.2 * rng.normal(size=n)
    return x[:, None], y
