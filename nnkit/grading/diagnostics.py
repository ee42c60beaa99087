"""What a test cell measures on a student's training run, so that an accuracy check can say why.

An accuracy below the bar says *that* something is wrong; these values say *what* the run did:
``run_values(predictions, before, after, loss_before, loss_after)`` returns the values for
``check_values(..., verifier="nnkit.grading.verifiers.accuracy_at_least")``, whose message then
adds, from the student's own run, "the weights contain NaN", "no weight changed during
training", "the training loss went from 2.301 to 2.415 instead of decreasing" or "the network
predicts class 3 for every test image" (see :func:`nnkit.grading.verifiers.run_diagnosis`).

Everything here is trusted code run by the locked test cell; it holds no answer.
"""
from __future__ import annotations

import numpy as np

__all__ = ["snapshot", "mean_loss", "run_values"]


def snapshot(model):
    """Copies of a model's parameters as float64 arrays: a torch module, an nnkit model (with a
    ``params`` dict) or a list of arrays."""
    if hasattr(model, "parameters") and callable(model.parameters):
        return [p.detach().cpu().double().numpy().copy() for p in model.parameters()]
    if isinstance(getattr(model, "params", None), dict):
        return [np.array(v, dtype=np.float64) for _, v in sorted(model.params.items())]
    return [np.array(v, dtype=np.float64) for v in model]


def mean_loss(model, X, y):
    """Mean softmax cross-entropy of ``model`` on (X, y), in evaluation mode and without
    gradients; nan when the model cannot be evaluated."""
    import warnings

    from ..losses import softmax_cross_entropy

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _mean_loss(model, X, y, softmax_cross_entropy)


def _mean_loss(model, X, y, softmax_cross_entropy):
    try:
        if hasattr(model, "parameters") and callable(model.parameters):
            import torch

            was_training = model.training
            model.eval()
            with torch.no_grad():
                logits = model(torch.from_numpy(np.asarray(X))).double().numpy()
            model.train(was_training)
        else:
            logits = np.asarray(model.forward(X), dtype=np.float64)
        with np.errstate(all="ignore"):
            return float(softmax_cross_entropy(logits, np.asarray(y))[0])
    except Exception:  # the student's model is broken: the accuracy check says so
        return float("nan")


def run_values(predictions, before=None, after=None, loss_before=None, loss_after=None):
    """The values an accuracy verifier judges: the test predictions and, when given, whether
    the parameters are finite, the fraction of them that changed, and the training loss
    before and after training."""
    values = {"predictions": np.asarray(predictions)}
    if after is not None:
        values["finite"] = np.array(all(np.isfinite(a).all() for a in after))
        if before is not None:
            same_shapes = len(before) == len(after) and all(b.shape == a.shape for b, a in zip(before, after))
            moved = sum(int(np.sum(b != a)) for b, a in zip(before, after)) if same_shapes else 1
            total = sum(b.size for b in before) or 1
            values["changed"] = np.array(moved / total)
    if loss_before is not None and loss_after is not None:
        values["loss_before"] = np.array(float(loss_before))
        values["loss_after"] = np.array(float(loss_after))
    return values
