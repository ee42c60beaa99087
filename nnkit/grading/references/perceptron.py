"""Trusted references for the ``perceptron`` assignment: predictions with the bias as w[0],
Rosenblatt's update, training until an epoch without mistakes.

Instructor-only, like the whole :mod:`nnkit.grading.references` package.
"""
import numpy as np

from ... import activations as act


def _augment(X):
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    return np.hstack([np.ones((X.shape[0], 1)), X])


def perceptron_predict(w, X):
    """sign(w^T x) with x_0 = 1 (w[0] is the bias), sign(0) = +1: shape (N,)."""
    return act.sign(_augment(X) @ w)


def perceptron_update(w, x, y):
    """Rosenblatt's rule for one sample: w + y x if sign(w^T x) != y, else w."""
    xa = np.concatenate([[1.0], np.asarray(x, dtype=np.float64)])
    return w + y * xa if act.sign(xa @ w) != y else np.array(w, dtype=np.float64)


def train_perceptron(X, y, max_epochs):
    """From w = 0, sweep the samples in order, update on each mistake; stop after an
    epoch without mistakes.  Returns (w, mistakes per epoch)."""
    w = np.zeros(np.shape(X)[1] + 1)
    history = []
    for _ in range(int(max_epochs)):
        mistakes = 0
        for xn, yn in zip(X, y):
            new = perceptron_update(w, xn, yn)
            mistakes += int(np.any(new != w))
            w = new
        history.append(mistakes)
        if mistakes == 0:
            break
    return w, np.array(history)
