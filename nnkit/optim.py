"""Optimisation: stochastic gradient descent and a mini-batch iterator.

Gradient descent (lectures):  w(t+1) = w(t) - eta dL/dw.
With momentum mu (a velocity v per parameter):  v <- mu v + dL/dw,  w <- w - eta v.
L2 weight decay lambda adds lambda w to the gradient of every weight matrix
(keys starting with "W"; biases are not decayed), i.e. the loss gets
+ lambda/2 ||W||^2.
Adam (Kingma & Ba, 2015): running averages of the gradient and of its square give every weight
its own step size:  m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
w <- w - eta m_hat / (sqrt(v_hat) + eps) with the bias corrections m_hat = m / (1 - b1^t),
v_hat = v / (1 - b2^t) after t steps.
"""
import numpy as np

__all__ = ["SGD", "Adam", "minibatches"]


def _check_same_keys(name, params, grads):
    """An optimiser updates params[key] from grads[key]: both dicts need the same keys."""
    differ = set(params) ^ set(grads)
    if differ:
        raise ValueError(f"{name} expected params and grads with the same keys, they differ in {sorted(differ)}")


class SGD:
    """SGD with optional momentum and L2 weight decay, updating ``params`` in place.

    params, grads: dicts of arrays with the same keys (e.g. a Sequential's
    ``params`` and ``grads``).  ``step()`` reads the current ``grads`` and
    changes the arrays in ``params`` in place, so every holder of those arrays
    (the layers) sees the new weights.  ``grads`` are left unchanged.
    """

    def __init__(self, params, grads, lr=0.1, momentum=0.0, weight_decay=0.0):
        _check_same_keys("SGD", params, grads)
        if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0:
            raise ValueError(f"SGD expected lr > 0, 0 <= momentum < 1, weight_decay >= 0; "
                             f"got lr={lr}, momentum={momentum}, weight_decay={weight_decay}")
        self.params, self.grads = params, grads
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        # One scratch array per parameter: the step lr * g is written there
        # instead of into a fresh temporary (and it is the velocity v with momentum).
        self.buffers = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self):
        """One update of every parameter: w <- w - lr * (velocity or gradient)."""
        for key, w in self.params.items():
            g = self.grads[key]
            buf = self.buffers[key]
            decay = self.weight_decay and key.startswith("W")
            if self.momentum:
                buf *= self.momentum                        # v <- mu v + g (+ lambda w)
                buf += g
                if decay:
                    buf += self.weight_decay * w
                w -= self.lr * buf
            else:
                np.multiply(g, self.lr, out=buf)            # lr * g, without a temporary
                if decay:
                    buf += (self.lr * self.weight_decay) * w
                w -= buf


class Adam:
    """Adam, updating ``params`` in place from ``grads`` (the same dicts as :class:`SGD`).

    Per parameter it keeps ``m`` (running mean of the gradient) and ``v`` (running mean of its
    square), both starting at 0; ``t`` counts the steps.  The step of one weight is about
    ``lr * sign(g)`` when its gradient is steady, whatever the gradient's size.  Matches
    ``torch.optim.Adam`` (no weight decay).
    """

    def __init__(self, params, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        _check_same_keys("Adam", params, grads)
        b1, b2 = betas
        if lr <= 0 or not (0 <= b1 < 1 and 0 <= b2 < 1) or eps < 0:
            raise ValueError(f"Adam expected lr > 0, 0 <= betas < 1, eps >= 0; got lr={lr}, betas={betas}, eps={eps}")
        self.params, self.grads = params, grads
        self.lr, self.betas, self.eps = lr, (b1, b2), eps
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t = 0

    def step(self):
        """One update of every parameter: w <- w - lr m_hat / (sqrt(v_hat) + eps)."""
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t        # bias corrections (m and v start at 0)
        for key, w in self.params.items():
            g = self.grads[key]
            m, v = self.m[key], self.v[key]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            w -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def minibatches(X, y, batch_size, shuffle=True, seed=None):
    """Yield (Xb, yb) mini-batches covering X, y once (one epoch).

    X: (N, ...), y: (N, ...).  With shuffle=True the order is a random
    permutation drawn from ``seed`` (an int, None or a numpy Generator -- pass
    the same Generator every epoch to get a new order each epoch).  The last
    batch is smaller when batch_size does not divide N.  Without shuffling the
    batches are views of X and y (no copies).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"minibatches expected X and y with the same number of rows, got {len(X)} and {len(y)}")
    if int(batch_size) < 1:
        raise ValueError(f"minibatches expected batch_size >= 1, got {batch_size}")
    n, batch_size = len(X), int(batch_size)
    if not shuffle:
        for i in range(0, n, batch_size):
            yield X[i:i + batch_size], y[i:i + batch_size]
        return
    rng = np.random.default_rng(seed)          # a Generator is returned as it is: its state goes on
    order = rng.permutation(n)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        yield X[idx], y[idx]
