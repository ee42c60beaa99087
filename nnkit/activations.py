"""Activation functions and their derivatives.

Notation (as in the lectures): a neuron receives the input signal ``s`` and
outputs ``x = sigma(s)``.  Every function here works elementwise on an array
``s`` of any shape and returns an array of the same shape and float dtype
(float32 in -> float32 out; integer input is promoted to float64: ``as_float``,
which the layers and losses use too).

Each ``*_prime`` function is the derivative ``dx/ds`` evaluated at ``s``; in
backpropagation it turns ``dL/dx`` into ``delta = dL/ds = dL/dx * sigma'(s)``.

Softmax couples the entries of a row, so instead of a derivative it has a
``*_backward`` function that multiplies by its Jacobian (a vector-Jacobian
product), which is what backpropagation needs.

All functions are stable at extreme inputs such as ``s = +-1000``: they never
overflow and raise no numpy warnings.
"""
import numpy as np

__all__ = [
    "as_float", "step", "step_prime", "sign", "linear", "linear_prime",
    "sigmoid", "sigmoid_prime", "tanh", "tanh_prime",
    "relu", "relu_prime", "leaky_relu", "leaky_relu_prime",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "ACTIVATIONS",
]


def as_float(s):
    """Return ``s`` as a floating-point numpy array: the dtype rule of every function here.

    A float array (float16, float32, float64 ...) is returned as is, without a copy, so
    float32 in gives float32 out; anything else (a Python number or list, an integer or
    boolean array) becomes float64.  Shape: unchanged.

    >>> as_float([1, 2]).dtype
    dtype('float64')
    >>> as_float(np.ones(3, np.float32)).dtype
    dtype('float32')
    """
    s = np.asarray(s)
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    return s


# --- step / sign: the perceptron's hard threshold --------------------------

def step(s):
    """Heaviside step: x = 1 if s >= 0 else 0."""
    s = as_float(s)
    return (s >= 0).astype(s.dtype)


def step_prime(s):
    """Derivative of the step: 0 everywhere (undefined at 0, we use 0).

    This is why the perceptron cannot be trained by gradient descent."""
    s = as_float(s)
    return np.zeros_like(s)


def sign(s):
    """Sign with sign(0) = +1: x = +1 if s >= 0 else -1 (Rosenblatt's perceptron)."""
    s = as_float(s)
    return np.where(s >= 0, 1, -1).astype(s.dtype)


# --- linear (identity) ------------------------------------------------------

def linear(s):
    """Identity: x = s (the output neuron of a regression network)."""
    return as_float(s)


def linear_prime(s):
    """Derivative of the identity: 1."""
    s = as_float(s)
    return np.ones_like(s)


# --- sigmoid ----------------------------------------------------------------

def sigmoid(s):
    """Logistic function: x = sigma(s) = 1 / (1 + e^{-s}).

    Stable form: with ``e = exp(-abs(s))`` (which is never larger than 1),
    sigma(s) = 1 / (1 + e) for s >= 0 and e / (1 + e) for s < 0.
    """
    s = as_float(s)
    with np.errstate(under="ignore"):  # e^{-1000} = 0 is exactly what we want
        e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1 / (1 + e), e / (1 + e)).astype(s.dtype, copy=False)


def sigmoid_prime(s):
    """dx/ds = sigma(s) (1 - sigma(s))."""
    x = sigmoid(s)
    return x * (1 - x)


# --- tanh -------------------------------------------------------------------

def tanh(s):
    """Hyperbolic tangent: x = (e^s - e^{-s}) / (e^s + e^{-s}) = 2 sigma(2s) - 1."""
    return np.tanh(as_float(s))


def tanh_prime(s):
    """dx/ds = 1 - tanh(s)^2."""
    x = tanh(s)
    return 1 - x * x


# --- ReLU and leaky ReLU ----------------------------------------------------

def relu(s):
    """Rectified linear unit: x = max(0, s)."""
    s = as_float(s)
    return np.maximum(s, 0)


def relu_prime(s):
    """dx/ds = 1 if s > 0 else 0 (we take 0 at the kink s = 0, like PyTorch)."""
    s = as_float(s)
    return (s > 0).astype(s.dtype)


def leaky_relu(s, alpha=0.01):
    """Leaky ReLU: x = s if s > 0 else alpha * s."""
    s = as_float(s)
    return np.where(s > 0, s, alpha * s).astype(s.dtype, copy=False)


def leaky_relu_prime(s, alpha=0.01):
    """dx/ds = 1 if s > 0 else alpha."""
    s = as_float(s)
    return np.where(s > 0, 1, alpha).astype(s.dtype)


# --- softmax ----------------------------------------------------------------

def softmax(s, axis=-1):
    """Softmax along ``axis``: x_j = e^{s_j} / sum_i e^{s_i}.

    Shapes: s is e.g. (N, K) logits for N samples and K classes; x has the
    same shape and each row sums to 1.  Subtracting the row maximum first
    (which does not change the result) keeps every exponent <= 0, so nothing
    overflows.
    """
    s = as_float(s)
    z = s - s.max(axis=axis, keepdims=True)
    with np.errstate(under="ignore"):  # e^{-2000} = 0 is fine
        e = np.exp(z, out=z)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_backward(x, dx, axis=-1):
    """Backpropagate through softmax: return delta = dL/ds given x and dx = dL/dx.

    x = softmax(s) (the forward output), dx has the same shape.  The Jacobian
    is dx_j/ds_i = x_j (1[i = j] - x_i), so
    delta_i = sum_j dx_j x_j (1[i = j] - x_i) = x_i (dx_i - sum_j dx_j x_j).
    """
    x, dx = as_float(x), as_float(dx)
    if x.shape != dx.shape:
        raise ValueError(f"softmax_backward expected dx of shape {x.shape} (like x), got {dx.shape}")
    return x * (dx - np.sum(dx * x, axis=axis, keepdims=True))


def log_softmax(s, axis=-1):
    """Log of the softmax, computed stably: log x_j = s_j - m - log sum_i e^{s_i - m},
    with m the maximum of s along ``axis``.  Same shape as s."""
    s = as_float(s)
    z = s - s.max(axis=axis, keepdims=True)
    with np.errstate(under="ignore"):
        lse = np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    z -= lse
    return z


def log_softmax_backward(x_log, dx, axis=-1):
    """Backpropagate through log-softmax: delta_i = dx_i - e^{x_log_i} sum_j dx_j.

    x_log = log_softmax(s) (the forward output) and dx = dL/d(x_log), same shape.
    """
    x_log, dx = as_float(x_log), as_float(dx)
    if x_log.shape != dx.shape:
        raise ValueError(f"log_softmax_backward expected dx of shape {x_log.shape} (like x_log), "
                         f"got {dx.shape}")
    with np.errstate(under="ignore"):
        return dx - np.exp(x_log) * np.sum(dx, axis=axis, keepdims=True)


#: name -> (function, derivative), for models and plots that pick an activation by name.
ACTIVATIONS = {
    "step": (step, step_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "linear": (linear, linear_prime),
}
