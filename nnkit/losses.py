"""Loss functions.

Every loss takes the network's output for a batch of N samples and the targets,
and returns ``(loss, grad)``:

* ``loss`` -- a Python float, the MEAN over the N samples of the batch;
* ``grad`` -- dL/d(input), an array with the same shape and dtype as the input.
  When the input is the last layer's signal s^L, grad is delta^L = dL/ds^L,
  where backpropagation starts.

Targets with the wrong shape or impossible label values raise ``ValueError``
saying what was expected.
"""
import numpy as np

from .activations import as_float, log_softmax, sigmoid, softmax

__all__ = ["mse", "logistic_loss", "binary_cross_entropy_with_logits", "softmax_cross_entropy"]


def _match_targets(name, s, y):
    """Return (s, y) with y shaped like s; accept y of shape (N,) for s of shape (N, 1)."""
    s = as_float(s)
    y = np.asarray(y)
    if s.ndim == 0:
        raise ValueError(f"{name} expected a batch of outputs of shape (N,) or (N, 1), got a scalar")
    if y.shape != s.shape and not (s.ndim == 2 and s.shape[1] == 1 and y.shape == s.shape[:1]):
        raise ValueError(f"{name} expected targets of shape {s.shape} (like the input), got {y.shape}")
    return s, y.reshape(s.shape)


def mse(pred, target):
    """Mean squared error: L = 1/N sum_n ||pred_n - t_n||^2.

    pred: (N,) or (N, K); target: the same shape (for pred of shape (N, 1) a
    target of shape (N,) is accepted).  N is the batch size: we average over
    samples and sum over the K outputs of a sample.
    grad = dL/dpred = 2 (pred - t) / N.
    """
    pred, target = _match_targets("mse", pred, target)
    n = pred.shape[0]
    diff = pred - target.astype(pred.dtype, copy=False)
    loss = float(np.sum(diff * diff)) / n
    diff *= 2 / n
    return loss, diff


def logistic_loss(s, y):
    """Logistic loss for labels y in {-1, +1}, as in the lectures:

        L = 1/N sum_n ln(1 + e^{-y_n s_n}),   s_n = w^T x_n.

    s: (N,) or (N, 1) signals; y: (N,) labels in {-1, +1}.
    ln(1 + e^{-ys}) is computed as logaddexp(0, -ys), which never overflows.
    grad = dL/ds_n = -y_n sigma(-y_n s_n) / N  (same shape as s).
    """
    s, y = _match_targets("logistic_loss", s, y)
    bad = np.setdiff1d(np.unique(y), [-1, 1])
    if bad.size:
        raise ValueError(f"logistic_loss expected labels y in {{-1, +1}}, got values {bad.tolist()}; "
                         "for labels in {0, 1} use binary_cross_entropy_with_logits")
    y = y.astype(s.dtype)
    n = s.shape[0]
    ys = y * s
    with np.errstate(under="ignore"):  # ln(1 + e^{-1000}) = 0 is fine
        loss = float(np.mean(np.logaddexp(0, -ys)))
    grad = -y * sigmoid(-ys) / n
    return loss, grad.astype(s.dtype, copy=False)


def binary_cross_entropy_with_logits(s, y):
    """Binary cross-entropy on the logit s for targets y in {0, 1}:

        L = -1/N sum_n [y_n ln sigma(s_n) + (1 - y_n) ln(1 - sigma(s_n))]
          =  1/N sum_n [ln(1 + e^{s_n}) - y_n s_n].

    It equals logistic_loss with the labels mapped by y -> 2y - 1.
    s: (N,) or (N, 1); y: (N,) with values in [0, 1] (usually 0 or 1).
    grad = dL/ds_n = (sigma(s_n) - y_n) / N.
    """
    s, y = _match_targets("binary_cross_entropy_with_logits", s, y)
    if y.size and (np.min(y) < 0 or np.max(y) > 1):
        raise ValueError("binary_cross_entropy_with_logits expected targets y in {0, 1} (or in [0, 1]), "
                         f"got values between {np.min(y)} and {np.max(y)}; for labels in {{-1, +1}} "
                         "use logistic_loss")
    y = y.astype(s.dtype)
    n = s.shape[0]
    with np.errstate(under="ignore"):
        loss = float(np.mean(np.logaddexp(0, s) - y * s))
    grad = (sigmoid(s) - y) / n
    return loss, grad.astype(s.dtype, copy=False)


def softmax_cross_entropy(s, y):
    """Softmax followed by cross-entropy, computed from the logits s:

        x^L = softmax(s^L),   L = -1/N sum_n sum_k o_nk ln x^L_nk,

    where o_n is the one-hot encoding of the label y_n.  ln x^L comes from
    activations.log_softmax, which is stable for any logits (no exp of a large
    number), so the loss is finite even at s = +-1000.

    s: (N, K) logits.  y: (N,) integer labels in 0..K-1, or (N, K) one-hot (or
    probability) rows.
    grad = delta^L = dL/ds = (softmax(s) - onehot(y)) / N, shape (N, K).
    """
    s = as_float(s)
    if s.ndim != 2:
        raise ValueError(f"softmax_cross_entropy expected logits s of shape (N, K), got {s.shape}")
    n, k = s.shape
    y = np.asarray(y)
    if y.shape == (n,):
        if not np.issubdtype(y.dtype, np.integer):
            if not (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
                raise ValueError(f"softmax_cross_entropy expected integer labels y in 0..{k - 1}, "
                                 f"got dtype {y.dtype}")
            y = y.astype(np.intp)
        if n and (y.min() < 0 or y.max() >= k):
            raise ValueError(f"softmax_cross_entropy expected labels y in 0..{k - 1} (K = {k} logits), "
                             f"got values between {y.min()} and {y.max()}")
    elif y.shape != (n, k):
        raise ValueError(f"softmax_cross_entropy expected labels y of shape ({n},) (integers) or "
                         f"({n}, {k}) (one-hot), got {y.shape}")
    log_x = log_softmax(s, axis=1)                   # ln x^L_nk, (N, K)
    grad = softmax(s, axis=1)                        # x^L, (N, K)
    if y.ndim == 1:
        rows = np.arange(n)
        loss = float(-log_x[rows, y].sum()) / n      # only the label's term: o_nk = 1[k = y_n]
        grad[rows, y] -= 1                           # x^L - onehot(y), in place
    else:
        o = y.astype(s.dtype, copy=False)
        loss = float(-np.sum(o * log_x)) / n
        grad *= o.sum(axis=1, keepdims=True)         # rows of o that do not sum to 1
        grad -= o
    grad /= n                                        # delta^L = (x^L - o) / N
    return loss + 0.0, grad                          # + 0.0: a perfect fit gives 0.0, not -0.0
