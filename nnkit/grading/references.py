"""Trusted reference implementations of the graded parts: instructor-only.

They answer the assignments, so they never ship to students (`nnkit-course dist` leaves this
module out and the grading sandbox hides it); property checks live in :mod:`.verifiers`.

The test cells name these (``reference="nnkit.grading.references.dense_backward"``);
the grader calls them with the same arguments as the student's function.
Where nnkit's numpy core already has the function, the reference is a thin
wrapper around it; convolution, pooling and the RNN are checked against
PyTorch (imported lazily, so importing this module stays light).
Notation as in the lectures: ``s`` input signal, ``x`` output, ``delta = dL/ds``.
"""
import numpy as np

from .. import activations as act
from .. import losses


# --- perceptron -------------------------------------------------------------

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


# --- logistic regression ------------------------------------------------------

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


# --- activations: vector-Jacobian products (dL/ds = dL/dx * sigma'(s)) --------

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


# --- backpropagation ------------------------------------------------------------

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


# --- MLP on MNIST -----------------------------------------------------------------

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


# --- CNN and RNN: checked against PyTorch --------------------------------------

def _t(a):
    import torch

    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def conv2d(x, w, b, stride, padding):
    """x (N, C, H, W), w (F, C, kh, kw), b (F,) -> (N, F, H', W') (cross-correlation, like torch)."""
    import torch.nn.functional as F

    return F.conv2d(_t(x), _t(w), _t(b), stride=int(stride), padding=int(padding)).numpy()


def max_pool2d(x, size, stride):
    import torch.nn.functional as F

    return F.max_pool2d(_t(x), int(size), int(stride)).numpy()


def _torch_rnn(W_ih, W_hh, b_ih, b_hh):
    import torch

    rnn = torch.nn.RNN(W_ih.shape[1], W_ih.shape[0], nonlinearity="tanh").double()
    with torch.no_grad():
        for name, value in zip(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"],
                               [W_ih, W_hh, b_ih, b_hh]):
            getattr(rnn, name).copy_(_t(value))
    return rnn


def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); x (N, D), h (N, H)."""
    import torch

    with torch.no_grad():
        _, h_new = _torch_rnn(W_ih, W_hh, b_ih, b_hh)(_t(x)[None], _t(h)[None])
    return h_new[0].numpy()


def rnn_forward(xs, h0, W_ih, W_hh, b_ih, b_hh):
    """xs (T, N, D), h0 (N, H) -> (all hidden states (T, N, H), last state (N, H))."""
    import torch

    with torch.no_grad():
        out, h_last = _torch_rnn(W_ih, W_hh, b_ih, b_hh)(_t(xs), _t(h0)[None])
    return out.numpy(), h_last[0].numpy()


# --- transfer learning ---------------------------------------------------------------

def prepare_for_transfer(model, n_classes):
    """Freeze model.features and put a fresh nn.Linear(model.n_features, n_classes) head on it."""
    import torch

    for p in model.features.parameters():
        p.requires_grad_(False)
    model.head = torch.nn.Linear(model.n_features, int(n_classes))
    return model
