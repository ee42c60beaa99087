"""Transfer learning with few labels: the experiment of chapter 7.

A network pretrained on one task (Fashion-MNIST clothes) is reused for another (MNIST
digits) for which we have only ``k`` labelled images per class. Four ways to get a digit
classifier are compared, for several ``k``:

``"frozen"``
    keep the pretrained ``features`` fixed, train a new ``head`` on top of them (what the
    lectures call "only retrain the classifier at the end");
``"finetune"``
    start from the pretrained network with a new head and train every weight;
``"scratch"``
    the same architecture, randomly initialised, trained on the k labels per class only;
``"logreg"``
    scikit-learn's logistic regression on the frozen features (a linear classifier, no
    network training at all).

Everything is drawn from one seed: which images are labelled (the labelled sets are
nested: the 5 per class include the 1 per class), the initial weights of every new
layer, the order of the batches. The experiment runs on one CPU thread (torch and the
BLAS library), so the order of every floating-point sum, and hence every number, is the
same on any machine with the same library versions; the same call gives the same numbers.
These networks are so small that a second thread would hardly speed them up.

This module imports torch (through :mod:`nnkit.pytorch.training`), like the rest of :mod:`nnkit.pytorch`.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .models import SmallCNN
from .training import fit, make_loader, predict, seed_everything

__all__ = ["METHODS", "TransferResult", "few_label_indices", "extract_features", "transfer_experiment"]

METHODS = ("frozen", "finetune", "scratch", "logreg")
DESCRIPTIONS = {
    "frozen": "frozen features + new head",
    "finetune": "fine-tune all layers",
    "scratch": "train from scratch",
    "logreg": "features + logistic regression",
}


@dataclass
class TransferResult:
    """Test accuracies of each method for each number of labels per class.

    ``accuracy[method][i]`` is the accuracy with ``labels_per_class[i]`` labels per class.
    """

    labels_per_class: list
    accuracy: dict = field(default_factory=dict)
    n_test: int = 0
    seed: int = 0
    steps: int = 0

    def table(self) -> str:
        """The accuracies as a small text table (methods as rows, labels per class as columns)."""
        width = max(len(DESCRIPTIONS.get(m, m)) for m in self.accuracy)
        head = "labels per class".ljust(width) + "".join(f"{k:>8}" for k in self.labels_per_class)
        rows = [head, "-" * len(head)]
        for m, accs in self.accuracy.items():
            rows.append(DESCRIPTIONS.get(m, m).ljust(width) + "".join(f"{a:8.3f}" for a in accs))
        return "\n".join(rows)


def few_label_indices(y, k: int, seed: int = 0) -> np.ndarray:
    """Indices of ``k`` examples of every class in ``y``, chosen at random from ``seed``.

    The choice is nested: for the same seed, the indices for ``k`` contain those for any
    smaller ``k``. Raises ValueError when a class has fewer than ``k`` examples.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < k:
            raise ValueError(f"class {c} has only {len(members)} examples, {k} labels per class requested")
        chosen.append(rng.permutation(members)[:k])
    # order by rank inside the class, so the first 10*k of a larger draw are a smaller draw
    return np.stack(chosen, axis=1).ravel()


@torch.no_grad()
def extract_features(model: nn.Module, X, batch_size: int = 1000) -> np.ndarray:
    """``model.features`` applied to images ``X`` (N, 1, 28, 28) or (N, 784): array (N, n_features)."""
    model.eval()
    X = torch.as_tensor(np.asarray(X, dtype=np.float32)).reshape(-1, 1, 28, 28)
    device = next(model.parameters()).device
    return torch.cat([model.features(X[i:i + batch_size].to(device)).cpu()
                      for i in range(0, len(X), batch_size)]).numpy()


def _train(model, X, y, steps, batch_size, lr, seed, device):
    """Train ``model`` for about ``steps`` mini-batch updates on (X, y)."""
    batch = min(batch_size, len(X))
    per_epoch = -(-len(X) // batch)
    epochs = max(1, round(steps / per_epoch))
    fit(model, make_loader(X, y, batch, shuffle=True, seed=seed), epochs=epochs, lr=lr,
        device=device, progress=False)
    return model


@contextlib.contextmanager
def one_thread():
    """Run torch and the BLAS/OpenMP libraries on a single thread; restore the settings afterwards."""
    from threadpoolctl import threadpool_limits

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(n)


def transfer_experiment(pretrained: nn.Module, X_train, y_train, X_test, y_test, *,
                        labels_per_class=(1, 5, 10, 50, 100), methods=METHODS, seed: int = 0,
                        steps: int = 150, batch_size: int = 64, lr: float = 1e-3,
                        device=None) -> TransferResult:
    """Run the few-label transfer experiment (see the module docstring).

    Parameters
    ----------
    pretrained : SmallCNN
        The pretrained network (e.g. :func:`nnkit.pretrained.load_pretrained`); not modified.
    X_train, y_train : arrays (N, 784) or (N, 1, 28, 28), (N,)
        The pool the labelled examples are drawn from.
    X_test, y_test : arrays
        Every classifier is scored on all of them.
    labels_per_class : sequence of int
        The values of ``k`` to try.
    methods : sequence of str
        Some of :data:`METHODS`.
    seed : int
        Seeds the choice of labelled examples, every initialisation and every shuffle.
    steps : int
        Approximate number of mini-batch updates for each network trained (the same budget
        for every ``k``, so small labelled sets are seen many times).
    """
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; expected some of {METHODS}")
    with one_thread():
        return _run(pretrained, X_train, y_train, X_test, y_test, list(labels_per_class), list(methods),
                    seed, steps, batch_size, lr, device)


def _run(pretrained, X_train, y_train, X_test, y_test, labels_per_class, methods, seed, steps, batch_size,
         lr, device):
    """The body of :func:`transfer_experiment` (arguments checked, one thread)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    X_train = np.asarray(X_train, dtype=np.float32).reshape(-1, 1, 28, 28)
    X_test = np.asarray(X_test, dtype=np.float32).reshape(-1, 1, 28, 28)
    y_train, y_test = np.asarray(y_train, dtype=np.int64), np.asarray(y_test, dtype=np.int64)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    base = copy.deepcopy(pretrained).to(device).eval()
    arch = {"channels": base.channels, "hidden": base.hidden, "dropout": base.dropout}

    order = few_label_indices(y_train, max(labels_per_class), seed)
    need_features = {"frozen", "logreg"} & set(methods)
    F_pool = extract_features(base, X_train[order]) if need_features else None
    F_test = extract_features(base, X_test) if need_features else None

    result = TransferResult(list(labels_per_class), {m: [] for m in methods}, len(y_test), seed, steps)
    for k in labels_per_class:
        idx = order[: n_classes * k]
        Xk, yk = X_train[idx], y_train[idx]
        for m in methods:
            seed_everything(seed + k)
            if m == "frozen":
                head = base.make_head(n_classes)
                _train(head, F_pool[: len(idx)], yk, steps, batch_size, lr, seed + k, device)
                acc = np.mean(predict(head, F_test) == y_test)
            elif m == "logreg":
                acc = _logreg_accuracy(F_pool[: len(idx)], yk, F_test, y_test)
            else:
                if m == "finetune":
                    model = copy.deepcopy(base)
                    model.head = model.make_head(n_classes)
                else:
                    model = SmallCNN(n_classes=n_classes, **arch)
                _train(model, Xk, yk, steps, batch_size, lr, seed + k, device)
                acc = np.mean(predict(model, X_test) == y_test)
            result.accuracy[m].append(float(acc))
    return result


def _logreg_accuracy(F, y, F_test, y_test) -> float:
    """Multinomial logistic regression (L2 penalty, C=1) on the raw features; its test accuracy.

    The features are not standardised: with a handful of examples the per-feature standard
    deviations are mostly noise, and dividing by them hurts.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1.0, max_iter=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few iterations short changes nothing visible
        clf.fit(F, y)
    return float(clf.score(F_test, y_test))
