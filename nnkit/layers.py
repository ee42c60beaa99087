"""Layers: the building blocks of a network, each with a forward and a backward pass.

Notation (as in the lectures): layer l receives x^{l-1}, the outputs of the
previous layer (x^0 = the input), computes the signals s^l = x^{l-1} W^l + b^l
(a ``Dense`` layer) and the outputs x^l = sigma(s^l) (an activation layer).
delta^l = dL/ds^l.  Rows are samples: x has shape (batch, n_in).

Every layer follows one contract:

* ``forward(x) -> y``   computes the output and caches what backward needs;
* ``backward(dy) -> dx`` takes dL/dy (same shape as y) and returns dL/dx (same
  shape as x), and stores the gradients of its parameters in ``grads``;
* ``params`` and ``grads`` are dicts with the same keys ("W", "b" for Dense);
  the optimiser updates ``params`` in place from ``grads``;
* ``train()`` / ``eval()`` switch ``training`` (only Dropout cares).

Wrong shapes raise ``ValueError`` naming the expected and the actual shape.
"""
import numpy as np

from . import activations as A

__all__ = ["Layer", "Dense", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "Identity",
           "Dropout", "Sequential"]


class Layer:
    """Base class: no parameters, identity forward and backward."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        """Training mode (Dropout drops units). Returns the layer."""
        self.training = True
        return self

    def eval(self):
        """Evaluation mode (Dropout is the identity). Returns the layer."""
        self.training = False
        return self

    def __repr__(self):
        return f"{type(self).__name__}()"

    def _cached(self, name, dy=None):
        """The array forward kept in ``self.<name>`` for backward (RuntimeError before forward).

        Given dy = dL/dy, also check that dy has the shape of that array: for the activation
        layers it has the shape of the forward output, as dL/dy must.
        """
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{self!r}.backward called before forward")
        if dy is not None and dy.shape != value.shape:
            raise ValueError(f"{self!r}.backward expected dy of shape {value.shape} (the forward output), "
                             f"got {dy.shape}")
        return value


class Dense(Layer):
    """Fully connected layer: s^l = x^{l-1} W^l + b^l.

    Shapes: x (batch, n_in), W (n_in, n_out), b (n_out,), s (batch, n_out).
    Weight w_ij connects input i to neuron j, as in the lectures.

    Backward, given delta = dL/ds^l of shape (batch, n_out)::

        dL/dW       = (x^{l-1})^T delta       (n_in, n_out)  sum over the batch of x_i delta_j
        dL/db       = sum over the batch of delta   (n_out,)
        dL/dx^{l-1} = delta W^T               (batch, n_in)

    With ``input_grad=False`` the last product is skipped and backward returns
    None: nobody needs dL/dx for the first layer (x is the data), and it is
    the most expensive of the three products there.

    init: "he" (std sqrt(2 / n_in), for ReLU), "xavier" (std sqrt(2 / (n_in + n_out)),
    for sigmoid/tanh) or "normal" (std 0.01).  Inputs are converted to the
    layer's dtype, so a float32 layer computes in float32.
    """

    def __init__(self, n_in, n_out, *, init="he", seed=None, dtype=np.float64, input_grad=True):
        super().__init__()
        stds = {"he": np.sqrt(2 / n_in), "xavier": np.sqrt(2 / (n_in + n_out)), "normal": 0.01}
        if init not in stds:
            raise ValueError(f"Dense init must be one of {sorted(stds)}, got {init!r}")
        rng = np.random.default_rng(seed)
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.input_grad = input_grad
        W = (rng.standard_normal((self.n_in, self.n_out)) * stds[init]).astype(dtype)
        self.params = {"W": W, "b": np.zeros(self.n_out, dtype=dtype)}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros(self.n_out, dtype=dtype)}
        self.x = None

    def __repr__(self):
        return f"Dense({self.n_in} -> {self.n_out})"

    def forward(self, x):
        W, b = self.params["W"], self.params["b"]
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"{self!r} expected x of shape (batch, {self.n_in}), got {x.shape}")
        if x.dtype != W.dtype:
            x = x.astype(W.dtype)
        self.x = x                       # x^{l-1}, needed for dL/dW
        s = np.dot(x, W)                 # s = x W
        s += b                           # ... + b, in place: no temporary
        return s

    def backward(self, delta):
        x = self._cached("x")
        W = self.params["W"]
        delta = np.asarray(delta)
        if delta.shape != (x.shape[0], self.n_out):
            raise ValueError(f"{self!r}.backward expected delta of shape ({x.shape[0]}, {self.n_out}), "
                             f"got {delta.shape}")
        if delta.dtype != W.dtype:
            delta = delta.astype(W.dtype)
        np.dot(x.T, delta, out=self.grads["W"])          # dL/dW = x^T delta, written in place
        delta.sum(axis=0, out=self.grads["b"])           # dL/db
        if not self.input_grad:
            return None
        return np.dot(delta, W.T)                        # dL/dx^{l-1} = delta W^T


# --- activation layers: x = sigma(s); backward turns dx = dL/dx into delta = dL/ds = dx * sigma'(s).
# Each caches what its sigma'(s) is computed from: the output x (sigmoid: sigma'(s) = x (1 - x))
# or, for the leaky ReLU, the input s.

class Sigmoid(Layer):
    """x = sigma(s) = 1 / (1 + e^{-s});  backward: delta = dx * x (1 - x)."""

    def forward(self, s):
        self.x = A.sigmoid(s)
        return self.x

    def backward(self, dx):
        x = self._cached("x", dx)
        return dx * x * (1 - x)


class Tanh(Layer):
    """x = tanh(s);  backward: delta = dx * (1 - x^2)."""

    def forward(self, s):
        self.x = A.tanh(s)
        return self.x

    def backward(self, dx):
        x = self._cached("x", dx)
        return dx * (1 - x * x)


class ReLU(Layer):
    """x = max(0, s);  backward: delta = dx * 1[x > 0]  (x > 0 exactly when s > 0).

    ``inplace=True`` (as in PyTorch's nn.ReLU) overwrites the input s with x in
    forward and dx with delta in backward, saving two arrays per step.  Use it
    only when nothing else needs s or dx afterwards (as inside an MLP).
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def __repr__(self):
        return "ReLU(inplace=True)" if self.inplace else "ReLU()"

    def forward(self, s):
        s = A.as_float(s)
        self.x = np.maximum(s, 0, out=s if self.inplace else None)
        return self.x

    def backward(self, dx):
        x = self._cached("x", dx)
        return np.multiply(dx, x > 0, out=dx if self.inplace else None)


class LeakyReLU(Layer):
    """x = s if s > 0 else alpha s;  backward: delta = dx * (1 if s > 0 else alpha)."""

    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = alpha

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"

    def forward(self, s):
        self.s = A.as_float(s)
        return A.leaky_relu(self.s, self.alpha)

    def backward(self, dx):
        s = self._cached("s", dx)
        return dx * A.leaky_relu_prime(s, self.alpha)


class Softmax(Layer):
    """x = softmax(s) along the last axis (rows sum to 1).

    backward: delta_i = x_i (dx_i - sum_j dx_j x_j) (see activations.softmax_backward).
    For classification prefer losses.softmax_cross_entropy on the logits: it
    fuses softmax and cross-entropy and is more stable.
    """

    def forward(self, s):
        self.x = A.softmax(s)
        return self.x

    def backward(self, dx):
        x = self._cached("x", dx)
        return A.softmax_backward(x, dx)


class Identity(Layer):
    """x = s (a linear output);  backward: delta = dx."""

    def forward(self, s):
        self.x = A.as_float(s)
        return self.x

    def backward(self, dx):
        self._cached("x", dx)            # only checks that forward ran and dx has x's shape
        return dx


class Dropout(Layer):
    """Inverted dropout with drop probability p.

    Training: each unit is kept with probability 1 - p and scaled by 1/(1 - p),
    y = x * m with m_ij = 1[u_ij >= p] / (1 - p), u uniform in [0, 1); so the
    expected output equals x and nothing needs rescaling at test time.
    Evaluation (``eval()``, or p = 0): m = 1, so y = x.
    backward: dx = dy * m, with the mask m that forward cached (like Dense keeps x).

    ``rng`` is the random generator drawing the masks; ``mask`` is the last one
    (all ones in evaluation mode).
    """

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout expected a drop probability p in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)
        self.mask = None

    def __repr__(self):
        return f"Dropout(p={self.p})"

    def forward(self, x):
        x = A.as_float(x)
        if not self.training or self.p == 0:
            self.mask = np.ones_like(x)              # m = 1: nothing is dropped
            return x
        u = self.rng.random(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32)
        self.mask = (u >= self.p).astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self.mask

    def backward(self, dy):
        mask = self._cached("mask")
        if dy.shape != mask.shape:
            raise ValueError(f"{self!r}.backward expected dy of shape {mask.shape}, got {dy.shape}")
        return dy * mask


class Sequential(Layer):
    """A chain of layers: forward runs them in order, backward in reverse.

    ``params``/``grads`` hold every layer's arrays under "W1", "b1", "W2", ...,
    where the number is l, counting the layers that have parameters (the Dense
    layers) from 1.  They are the very same arrays as the layers' own, so an
    in-place update through either name changes both.
    """

    def __init__(self, *layers):
        super().__init__()
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential expected Layer objects, got {type(layer).__name__}")
        self.layers = list(layers)
        self._collect_params()

    def _collect_params(self):
        self.params, self.grads = {}, {}
        l = 0
        for layer in self.layers:
            if layer.params:
                l += 1
                for key in layer.params:
                    self.params[f"{key}{l}"] = layer.params[key]
                    self.grads[f"{key}{l}"] = layer.grads[key]

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
            if dy is None:       # a first Dense layer with input_grad=False
                return None
        return dy

    def train(self):
        super().train()
        for layer in self.layers:
            layer.train()
        return self

    def eval(self):
        super().eval()
        for layer in self.layers:
            layer.eval()
        return self
