"""Trusted references for the ``mlp_mnist`` assignment: the logits of the MLPs and the L2 penalty.

Instructor-only, like the whole :mod:`nnkit.grading.references` package.
"""
import numpy as np

from ... import activations as act


def mlp_logits(x, W1, b1, W2, b2):
    """784-100-10 ReLU MLP, W of shape (n_in, n_out): logits (N, 10)."""
    return act.relu(x @ W1 + b1) @ W2 + b2


def deep_mlp_logits(x, W1, b1, W2, b2, W3, b3):
    """784-128-64-10 ReLU MLP, W of shape (n_in, n_out): logits (N, 10)."""
    return act.relu(act.relu(x @ W1 + b1) @ W2 + b2) @ W3 + b3


def l2_value(W, lam, n):
    """The lectures' L2 term lambda / (2N) ||W||^2."""
    return lam / (2 * n) * float(np.sum(W * W))


def l2_gradient(W, lam, n):
    """Its gradient lambda / N * W."""
    return lam / n * W
