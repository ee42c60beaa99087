"""Gradient checking: compare backpropagation with finite differences.

The numerical derivative uses central differences::

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h),   h ~ 1e-5,

whose error is O(h^2), and is compared with the analytic (backprop) gradient
entry by entry through the relative error::

    rel_error(a, n) = |a - n| / max(|a| + |n|, floor),   floor = 1e-8.

In float64 a correct backward pass gives about 1e-7 or less (much less for
smooth functions); 1e-2 and more means a bug.  Checks therefore always run in
float64, on a copy of the layer or model (the original is not modified).
"""
import copy
import math
from dataclasses import dataclass

import numpy as np

from . import losses as _losses
from .layers import Sequential

__all__ = ["numerical_gradient", "rel_error", "check_layer", "check_model", "GradcheckReport",
           "GradcheckEntry"]


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f() w.r.t. the array x.

    f takes no arguments and returns a float that depends on x; x (any shape,
    float) is perturbed in place, one entry at a time, and restored after.
    Returns an array shaped like x.  Costs 2 x.size calls of f.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f()
        x[i] = old - h
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, n, floor=1e-8):
    """Elementwise relative error ``|a - n| / max(|a| + |n|, floor)``, in float64.

    a, n: arrays of the same shape (or broadcastable; numbers work too); the result has
    their broadcast shape.  It lies in [0, 1] for finite a and n: 0 when they are equal,
    1 when they have opposite signs or just one of them is 0 (and |a| + |n| >= floor).
    The ``floor`` keeps tiny values from looking wrong: where |a| + |n| < floor the error
    is |a - n| / floor, an absolute error in units of floor (gradcheck uses 1e-8; the
    grader uses 1e-4 against the numerical gradient, whose noise is about 1e-10).
    NaN or inf inputs give NaN.
    """
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)


@dataclass
class GradcheckEntry:
    """The check of one array: where analytic and numerical gradient disagree most."""
    name: str            # parameter key ("W", "b1", ...) or "x" for the input
    max_rel_error: float
    index: tuple         # index of the worst entry
    analytic: float      # backprop gradient there
    numeric: float       # finite-difference gradient there

    def __str__(self):
        return (f"{self.name:>6}  max rel error {self.max_rel_error:9.2e} at {self.index}: "
                f"analytic {self.analytic:+.8e}, numeric {self.numeric:+.8e}")


@dataclass
class GradcheckReport:
    """Result of check_layer / check_model: one entry per parameter (and the input)."""
    entries: list

    @property
    def worst(self):
        """The entry with the largest relative error."""
        return max(self.entries, key=lambda e: e.max_rel_error)

    def ok(self, tol=1e-6):
        """True when every entry's relative error is at most tol."""
        return all(e.max_rel_error <= tol for e in self.entries)

    def __getitem__(self, name):
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    def __str__(self):
        lines = ["gradient check (float64, central differences):"]
        lines += ["  " + str(e) for e in self.entries]
        w = self.worst
        lines.append(f"  worst: {w.name}{list(w.index)} rel error {w.max_rel_error:.2e} -> "
                     + ("ok" if self.ok() else "MISMATCH (tolerance 1e-6)"))
        return "\n".join(lines)


def _compare(name, analytic, numeric):
    err = rel_error(analytic, numeric)
    i = np.unravel_index(np.argmax(err), err.shape) if err.size else ()
    i = tuple(int(k) for k in i)
    return GradcheckEntry(name, float(err[i]) if err.size else 0.0, i,
                          float(analytic[i]) if err.size else 0.0,
                          float(numeric[i]) if err.size else 0.0)


def _float64_copy(layer):
    """A deep copy of the layer (or Sequential) with all parameters in float64."""
    layer = copy.deepcopy(layer)
    parts = layer.layers if isinstance(layer, Sequential) else [layer]
    for part in parts:
        if getattr(part, "inplace", False):   # an in-place ReLU would overwrite the checked input
            part.inplace = False
        for key in list(part.params):
            part.params[key] = part.params[key].astype(np.float64)
            part.grads[key] = np.zeros_like(part.params[key])
    if isinstance(layer, Sequential):
        layer._collect_params()
    return layer


def _check(net, x, loss_fn, input_name="x"):
    """Shared part: loss_fn(output) -> (L, dL/doutput); check every param and x."""
    def f():
        return loss_fn(net.forward(x))[0]

    first = net.forward(x).copy()
    if not np.array_equal(first, net.forward(x)):
        raise ValueError(f"{net!r} is not deterministic (Dropout in training mode?); call .eval() "
                         "or fix its random mask before checking gradients")
    _, dout = loss_fn(net.forward(x))
    dx = net.backward(dout)
    analytic = {k: g.copy() for k, g in net.grads.items()}
    entries = [_compare(k, analytic[k], numerical_gradient(f, p)) for k, p in net.params.items()]
    if dx is not None:
        entries.append(_compare(input_name, np.asarray(dx, dtype=np.float64), numerical_gradient(f, x)))
    return GradcheckReport(entries)


def check_layer(layer, x, seed=0):
    """Check the backward pass of ``layer`` (any Layer, also a Sequential) at input x.

    Uses the scalar L = sum(layer(x) * r) with r a fixed random array
    (from ``seed``), so that dL/dy = r.  Returns a GradcheckReport with an
    entry per parameter and one for the input "x" (unless backward returns
    None).  Runs in float64 on a copy of the layer.
    """
    net = _float64_copy(layer)
    x = np.array(x, dtype=np.float64)            # a copy: it gets perturbed
    y0 = net.forward(x)
    r = np.random.default_rng(seed).standard_normal(y0.shape)
    minus_terms0 = np.ravel(-(y0 * r))

    def loss_fn(y):
        # sum(y * r) - sum(y0 * r), added exactly by math.fsum: unchanged entries cancel exactly,
        # so the finite differences see only the change (no round-off from a large sum)
        return math.fsum(np.concatenate([np.ravel(y * r), minus_terms0])), r

    return _check(net, x, loss_fn)


def check_model(model_or_sequential, X, y, loss=None):
    """Check the gradient of a model's loss w.r.t. all its parameters (and X).

    model_or_sequential: an ``MLP`` (its network and softmax cross-entropy
    loss are used) or a ``Sequential`` (loss defaults to softmax_cross_entropy;
    pass e.g. ``loss=nnkit.losses.mse`` for regression).  X: (N, n_in), y: the
    targets.  Dropout is switched off (evaluation mode).  Runs in float64 on
    a copy.  Returns a GradcheckReport (parameters "W1", "b1", ... and "X").
    """
    net = getattr(model_or_sequential, "net", model_or_sequential)
    if loss is None:
        loss = getattr(model_or_sequential, "loss_fn", _losses.softmax_cross_entropy)
    net = _float64_copy(net).eval()
    X = np.array(X, dtype=np.float64)
    y = np.asarray(y)
    return _check(net, X, lambda out: loss(out, y), input_name="X")
