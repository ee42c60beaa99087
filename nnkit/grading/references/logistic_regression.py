"""Trusted references for the ``logistic_regression`` assignment: the logistic loss, its gradient,
full-batch gradient descent and mini-batch SGD.

Instructor-only, like the whole :mod:`nnkit.grading.references` package.
"""
import numpy as np

from ... import losses


def logistic_loss(w, X, y):
    """L(w) = 1/N sum_n ln(1 + e^{-y_n w^T x_n}), X already holds the x_0 = 1 column."""
    return losses.logistic_loss(X @ w, y)[0]


def logistic_gradient(w, X, y):
    """dL/dw = -1/N sum_n y_n x_n sigma(-y_n w^T x_n)."""
    return X.T @ losses.logistic_loss(X @ w, y)[1]


def gradient_descent(X, y, lr, epochs):
    """Full-batch GD from w = 0: returns (w, loss after each epoch)."""
    w = np.zeros(X.shape[1])
    history = []
    for _ in range(int(epochs)):
        w = w - lr * logistic_gradient(w, X, y)
        history.append(logistic_loss(w, X, y))
    return w, np.array(history)


def sgd(X, y, lr, epochs, batch_size, seed):
    """Mini-batch SGD from w = 0; each epoch visits rng.permutation(N) in batches of
    batch_size (rng = default_rng(seed), one permutation per epoch)."""
    rng = np.random.default_rng(int(seed))
    w = np.zeros(X.shape[1])
    history = []
    for _ in range(int(epochs)):
        order = rng.permutation(len(X))
        for start in range(0, len(X), int(batch_size)):
            batch = order[start:start + int(batch_size)]
            w = w - lr * logistic_gradient(w, X[batch], y[batch])
        history.append(logistic_loss(w, X, y))
    return w, np.array(history)
