"""Trusted references for the ``backprop`` assignment: a dense layer forward and backward, softmax
cross-entropy and its delta, a two-layer MLP's loss and gradients.

Instructor-only, like the whole :mod:`nnkit.grading.references` package.
"""
from ... import activations as act
from ... import losses


def dense_forward(x, W, b):
    """s = x W + b; x (N, n_in), W (n_in, n_out), b (n_out,)."""
    return x @ W + b


def dense_backward(delta, x, W, b=None):
    """Given delta = dL/ds (N, n_out): (dL/dx, dL/dW, dL/db) = (delta W^T, x^T delta, sum_n delta).
    (b is not needed; it is accepted so that the call matches dense_forward's arguments.)"""
    return delta @ W.T, x.T @ delta, delta.sum(axis=0)


def softmax_ce_loss(s, y):
    return losses.softmax_cross_entropy(s, y)[0]


def softmax_ce_delta(s, y):
    """delta^L = (softmax(s) - onehot(y)) / N."""
    return losses.softmax_cross_entropy(s, y)[1]


def mlp_loss(X, y, W1, b1, W2, b2):
    """Two-layer MLP: x^1 = sigmoid(X W1 + b1), s^2 = x^1 W2 + b2, softmax cross-entropy."""
    return softmax_ce_loss(act.sigmoid(X @ W1 + b1) @ W2 + b2, y)


def mlp_gradients(X, y, W1, b1, W2, b2):
    """(dW1, db1, dW2, db2) by backpropagation."""
    s1 = X @ W1 + b1
    x1 = act.sigmoid(s1)
    delta2 = softmax_ce_delta(x1 @ W2 + b2, y)
    delta1 = (delta2 @ W2.T) * act.sigmoid_prime(s1)
    return X.T @ delta1, delta1.sum(axis=0), x1.T @ delta2, delta2.sum(axis=0)
