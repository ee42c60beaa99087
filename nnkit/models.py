"""Models with a scikit-learn-like interface: fit, predict, predict_proba, score.

* ``Perceptron``         -- Rosenblatt's rule on the augmented input (x_0 = 1).
* ``LogisticRegression`` -- gradient descent on the logistic loss (GD, SGD, mini-batch).
* ``MLP``                -- a multilayer perceptron built from ``nnkit.layers``,
                            trained by backpropagation and mini-batch SGD.

Binary models accept labels in {-1, +1} or {0, 1} and predict in the
convention they were fitted with.
"""
import warnings

import numpy as np

from . import activations as A
from .layers import Dense, Dropout, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh
from .losses import logistic_loss, softmax_cross_entropy
from .optim import SGD, Adam, minibatches

__all__ = ["ConvergenceWarning", "Perceptron", "LogisticRegression", "MLP", "augment"]


class ConvergenceWarning(UserWarning):
    """A training algorithm stopped before reaching its goal."""


def _check_X(name, X, d=None):
    X = np.asarray(X)
    if X.ndim != 2 or (d is not None and X.shape[1] != d):
        want = f"(N, {d})" if d is not None else "(N, d)"
        raise ValueError(f"{name} expected X of shape {want}, got {X.shape}")
    return X


def _binary_labels(name, y, n):
    """Map labels to {-1, +1}; return (y_pm1, zero_one) where zero_one tells the convention."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} expected y of shape ({n},), got {y.shape}")
    values = set(np.unique(y).tolist())
    if values <= {-1, 1}:
        return y.astype(np.float64), False
    if values <= {0, 1}:
        return 2.0 * y - 1.0, True
    raise ValueError(f"{name} expected labels in {{-1, +1}} or {{0, 1}}, got values {sorted(values)}")


def augment(X):
    """Prepend the constant input x_0 = 1 to every row: X (N, d) -> (N, d + 1), float64.

    Then w^T x = w_0 + w_1 x_1 + ... + w_d x_d for w of shape (d + 1,), so w[0] is the bias.
    """
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([np.ones((len(X), 1), dtype=np.float64), X])


class _BinaryLinear:
    """Shared parts of the two linear classifiers: w (d + 1,) with w[0] the bias."""

    zero_one = False

    def _start_fit(self, X, y):
        """Check (X, y), remember the label convention and start from w = 0.

        Returns (Xa, y): the augmented inputs (N, d + 1) and the labels in {-1, +1}."""
        name = type(self).__name__
        X = _check_X(name, X)
        y, self.zero_one = _binary_labels(name, y, len(X))
        Xa = augment(X)
        self.w = np.zeros(Xa.shape[1])
        return Xa, y

    def decision_function(self, X):
        """The signal s = w^T x (with x_0 = 1) for each row of X: shape (N,)."""
        if getattr(self, "w", None) is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(X, y) first")
        X = _check_X(type(self).__name__, X, len(self.w) - 1)
        return augment(X) @ self.w

    def predict(self, X):
        """sign(w^T x) as labels, in the convention used for fit ({-1,+1} or {0,1})."""
        pm1 = A.sign(self.decision_function(X)).astype(np.int64)
        return (pm1 + 1) // 2 if self.zero_one else pm1

    def score(self, X, y):
        """Accuracy: the fraction of rows whose predicted label equals y."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


class Perceptron(_BinaryLinear):
    """Rosenblatt's perceptron (1957).

    Prediction: h(x) = sign(w^T x), with x augmented by x_0 = 1 so w[0] is the
    bias; w has shape (d + 1,).  Learning: sweep over the data; whenever
    sign(w^T x_n) != y_n, update w <- w + y_n x_n.  Stop after the first epoch
    without mistakes (converged) or after ``max_epochs`` -- then the data are
    probably not linearly separable: ``converged_`` is False and a
    ``ConvergenceWarning`` says so.

    Attributes after fit: ``w``, ``history_`` (mistakes per epoch),
    ``converged_``, ``n_epochs_``, and with ``record=True`` ``steps_``: one
    (n, w_before, w_after) tuple per update, for animations.
    seed: None visits the samples in order; an int shuffles the order each epoch.
    """

    def __init__(self, max_epochs=100, seed=None, record=False):
        self.max_epochs = max_epochs
        self.seed = seed
        self.record = record
        self.w = None

    @classmethod
    def from_weights(cls, w, zero_one=True):
        """A perceptron with given weights w = [w0 (bias), w1, ..., wd], e.g. the lecture's
        AND gate ``Perceptron.from_weights([-30, 20, 20])``; predicts 0/1 when zero_one."""
        p = cls()
        p.w = np.asarray(w, dtype=np.float64)
        p.zero_one = zero_one
        return p

    def fit(self, X, y):
        Xa, y = self._start_fit(X, y)
        rng = np.random.default_rng(self.seed)
        self.history_, self.steps_ = [], []
        self.converged_ = False
        for epoch in range(self.max_epochs):
            order = np.arange(len(Xa)) if self.seed is None else rng.permutation(len(Xa))
            mistakes = 0
            for n in order:
                if A.sign(Xa[n] @ self.w) != y[n]:       # misclassified
                    w_before = self.w.copy()
                    self.w += y[n] * Xa[n]                # w <- w + y_n x_n
                    mistakes += 1
                    if self.record:
                        self.steps_.append((int(n), w_before, self.w.copy()))
            self.history_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        self.n_epochs_ = len(self.history_)
        if not self.converged_:
            warnings.warn(f"Perceptron did not converge: {self.history_[-1]} of {len(Xa)} samples were "
                          f"still misclassified in epoch {self.max_epochs} (max_epochs); the data are "
                          "probably not linearly separable", ConvergenceWarning, stacklevel=2)
        return self


class LogisticRegression(_BinaryLinear):
    """Logistic regression trained by gradient descent.

    Model: P(y = +1 | x) = sigma(w^T x) with x_0 = 1 (w[0] is the bias);
    loss (lectures): L(w) = 1/N sum_n ln(1 + e^{-y_n w^T x_n}), y_n in {-1, +1};
    gradient: dL/dw = -1/N sum_n y_n x_n / (1 + e^{y_n w^T x_n});
    update: w <- w - lr dL/dw, or with momentum beta > 0 (a velocity v, starting at 0):
    v <- beta v + dL/dw, w <- w - lr v (``optim.SGD``); optimizer="adam" uses ``optim.Adam``.

    batch_size: None = gradient descent on the whole data set (one update per
    epoch); 1 = "very stochastic" gradient descent (one sample per update);
    k = mini-batch SGD (batches of k, reshuffled each epoch, seeded by ``seed``).

    Attributes after fit: ``w`` (d + 1,), ``coef_`` (d,), ``intercept_``,
    ``history_ = {"loss": [...], "accuracy": [...]}`` on the whole training set
    after each epoch, and with ``record_path=True`` ``path_``: an array
    (n_updates + 1, d + 1) of w before the first and after every update.
    """

    def __init__(self, lr=0.1, epochs=100, batch_size=None, seed=None, record_path=False, momentum=0.0,
                 optimizer="sgd"):
        if not 0 <= momentum < 1:
            raise ValueError(f"LogisticRegression expected 0 <= momentum < 1, got {momentum}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"LogisticRegression expected optimizer 'sgd' or 'adam', got {optimizer!r}")
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.seed, self.record_path, self.momentum, self.optimizer = seed, record_path, momentum, optimizer
        self.w = None

    @property
    def coef_(self):
        return self.w[1:]

    @property
    def intercept_(self):
        return float(self.w[0])

    def fit(self, X, y):
        Xa, y = self._start_fit(X, y)
        rng = np.random.default_rng(self.seed)
        path = [self.w.copy()]
        self.history_ = {"loss": [], "accuracy": []}
        batch = len(Xa) if self.batch_size is None else self.batch_size
        params, grads = {"w": self.w}, {"w": np.zeros_like(self.w)}
        opt = (Adam(params, grads, lr=self.lr) if self.optimizer == "adam"
               else SGD(params, grads, lr=self.lr, momentum=self.momentum))
        for epoch in range(self.epochs):
            for Xb, yb in minibatches(Xa, y, batch, shuffle=self.batch_size is not None, seed=rng):
                _, delta = logistic_loss(Xb @ self.w, yb)     # delta_n = dL/ds_n
                grads["w"][...] = Xb.T @ delta                # dL/dw = sum_n delta_n x_n
                opt.step()                                    # w <- w - lr dL/dw (or momentum, Adam)
                if self.record_path:
                    path.append(self.w.copy())
            s = Xa @ self.w
            self.history_["loss"].append(logistic_loss(s, y)[0])
            self.history_["accuracy"].append(float(np.mean(A.sign(s) == y)))
        if self.record_path:
            self.path_ = np.array(path)
        return self

    def predict_proba(self, X):
        """P(y = +1 | x) = sigma(w^T x) for each row: shape (N,)."""
        return A.sigmoid(self.decision_function(X))

    def loss(self, X, y):
        """The mean logistic loss on (X, y)."""
        y, _ = _binary_labels("LogisticRegression", y, len(X))
        return logistic_loss(self.decision_function(X), y)[0]


_ACTIVATION_LAYERS = {"relu": lambda: ReLU(inplace=True), "sigmoid": Sigmoid, "tanh": Tanh,
                      "leaky_relu": LeakyReLU}


class MLP:
    """Multilayer perceptron for classification, trained with backpropagation.

    sizes = (n_0, n_1, ..., n_L): n_0 inputs, hidden layers, n_L classes.  The
    network (``net``, a Sequential) is::

        Dense(n_0 -> n_1), activation, [Dropout], ..., Dense(n_{L-1} -> n_L)

    and the loss is softmax cross-entropy on the last signals s^L (the logits):
    predict_proba = softmax(s^L).  Weights are W1, b1, ..., WL, bL (``params``,
    ``grads``).  Training: mini-batch SGD (``optim.SGD``) with momentum and L2
    weight decay; the first layer skips dL/dx (nobody needs it).

    X: (N, n_0) features (converted to ``dtype``), y: (N,) integer labels in
    0..n_L - 1.  ``fit`` continues from the current weights; ``history_`` gets
    one entry per epoch: "loss" and "accuracy" are averaged over the epoch's
    mini-batches, "val_loss" and "val_accuracy" are computed on (X_val, y_val)
    after the epoch when given.
    shuffle: reshuffle the training set every epoch (seeded by ``seed``).
    lr_decay: multiply the learning rate by this factor after every epoch
    (exponential decay, lr_t = lr * lr_decay^t; 1.0 keeps it constant).
    """

    def __init__(self, sizes=(784, 100, 10), activation="relu", lr=0.1, epochs=10, batch_size=64,
                 momentum=0.9, weight_decay=0.0, dropout=0.0, seed=0, dtype=np.float32,
                 progress=False, shuffle=True, lr_decay=1.0):
        if activation not in _ACTIVATION_LAYERS:
            raise ValueError(f"MLP activation must be one of {sorted(_ACTIVATION_LAYERS)}, got {activation!r}")
        if len(sizes) < 2:
            raise ValueError(f"MLP expected sizes (n_inputs, ..., n_classes), got {sizes}")
        self.sizes, self.activation = tuple(int(n) for n in sizes), activation
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.momentum, self.weight_decay, self.dropout = momentum, weight_decay, dropout
        self.seed, self.dtype, self.progress, self.shuffle = seed, np.dtype(dtype), progress, shuffle
        if not 0 < lr_decay <= 1:
            raise ValueError(f"MLP expected 0 < lr_decay <= 1, got {lr_decay}")
        self.lr_decay = lr_decay
        self._rng = np.random.default_rng(seed)
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
        layers = []
        n_layers = len(self.sizes) - 1
        for l in range(1, n_layers + 1):
            layers.append(Dense(self.sizes[l - 1], self.sizes[l], init=init, seed=self._rng,
                                dtype=self.dtype, input_grad=l > 1))
            if l < n_layers:
                layers.append(_ACTIVATION_LAYERS[activation]())
                if dropout:
                    layers.append(Dropout(dropout, seed=self._rng))
        self.net = Sequential(*layers)
        self.optimizer = SGD(self.net.params, self.net.grads, lr=lr, momentum=momentum,
                             weight_decay=weight_decay)
        self.history_ = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}

    @property
    def params(self):
        return self.net.params

    @property
    def grads(self):
        return self.net.grads

    def _data(self, X, y=None):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            hint = "; flatten images with X.reshape(len(X), -1)" if X.ndim > 2 else ""
            raise ValueError(f"MLP expected X of shape (N, {self.sizes[0]}), got {X.shape}{hint}")
        X = X.astype(self.dtype, copy=False)
        if y is None:
            return X
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"MLP expected integer labels y of shape ({len(X)},), got {y.shape}")
        return X, y

    def fit(self, X, y, X_val=None, y_val=None):
        X, y = self._data(X, y)
        epochs = range(self.epochs)
        if self.progress:
            from tqdm import tqdm            # plain tqdm (text), imported only when asked for
            epochs = tqdm(epochs, desc="epochs", unit="epoch")
        for _ in epochs:
            self.net.train()
            total_loss, correct = 0.0, 0
            for Xb, yb in minibatches(X, y, self.batch_size, shuffle=self.shuffle, seed=self._rng):
                s = self.net.forward(Xb)                      # logits s^L, (batch, n_L)
                loss, delta = softmax_cross_entropy(s, yb)    # delta^L = dL/ds^L
                total_loss += loss * len(yb)
                correct += np.count_nonzero(s.argmax(axis=1) == yb)
                self.net.backward(delta)                      # fills net.grads
                self.optimizer.step()                         # w <- w - lr * ...
            self.history_["loss"].append(total_loss / len(X))
            self.history_["accuracy"].append(int(correct) / len(X))
            if X_val is not None:
                self.history_["val_loss"].append(self.loss(X_val, y_val))
                self.history_["val_accuracy"].append(self.score(X_val, y_val))
            self.optimizer.lr *= self.lr_decay
            if self.progress:
                epochs.set_postfix(loss=f"{self.history_['loss'][-1]:.4f}",
                                   acc=f"{self.history_['accuracy'][-1]:.4f}")
        return self

    def decision_function(self, X):
        """The logits s^L, shape (N, n_L), in evaluation mode (no dropout)."""
        X = self._data(X)
        self.net.eval()
        try:
            return self.net.forward(X)
        finally:
            self.net.train()

    def predict_proba(self, X):
        """Class probabilities softmax(s^L): shape (N, n_L), rows sum to 1."""
        return A.softmax(self.decision_function(X))

    def predict(self, X):
        """The most probable class for each row: shape (N,)."""
        return self.decision_function(X).argmax(axis=1)

    def score(self, X, y):
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def loss(self, X, y):
        """Mean softmax cross-entropy on (X, y) (without weight decay)."""
        return softmax_cross_entropy(self.decision_function(X), y)[0]
