"""Trusted references for the ``activations`` assignment: vector-Jacobian products of the
activation functions (dL/ds = dL/dx * sigma'(s)).

Instructor-only, like the whole :mod:`nnkit.grading.references` package.
"""
from ... import activations as act


def sigmoid_vjp(dx, s):
    return dx * act.sigmoid_prime(s)


def tanh_vjp(dx, s):
    return dx * act.tanh_prime(s)


def relu_vjp(dx, s):
    return dx * act.relu_prime(s)


def leaky_relu_vjp(dx, s, alpha):
    return dx * act.leaky_relu_prime(s, alpha)


def softmax_vjp(dx, s):
    """dL/ds for x = softmax(s) (last axis) given dx = dL/dx."""
    return act.softmax_backward(act.softmax(s), dx)
