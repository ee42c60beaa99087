"""nnkit: small, readable numpy implementations for the neural-networks course.

The numpy core is imported here: ``activations``, ``losses``, ``layers``,
``models``, ``optim``, ``gradcheck`` and their main classes.  ``load_mnist`` and
the other subpackages (``data``, ``plotting``, ``widgets``, ``pytorch``,
``pretrained``, ``grading``, ...) are imported on first use, so ``import nnkit``
stays fast and never imports torch, matplotlib or ipywidgets.
"""
import importlib

from . import activations, gradcheck, layers, losses, models, optim
from .gradcheck import check_layer, check_model, numerical_gradient, rel_error
from .layers import (Dense, Dropout, Identity, Layer, LeakyReLU, ReLU, Sequential, Sigmoid,
                     Softmax, Tanh)
from .losses import binary_cross_entropy_with_logits, logistic_loss, mse, softmax_cross_entropy
from .models import MLP, ConvergenceWarning, LogisticRegression, Perceptron
from .optim import SGD, Adam, minibatches

__version__ = "0.1.0"

_LAZY_SUBMODULES = {"data", "plotting", "widgets", "pytorch", "pretrained", "grading", "course"}


def __getattr__(name):
    """Import ``load_mnist`` and the heavier subpackages only when first used."""
    if name == "load_mnist":
        from .data import load_mnist
        return load_mnist
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nnkit' has no attribute {name!r}")


__all__ = [
    "activations", "losses", "layers", "models", "optim", "gradcheck",
    "Layer", "Dense", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "Identity", "Dropout",
    "Sequential", "mse", "logistic_loss", "binary_cross_entropy_with_logits",
    "softmax_cross_entropy", "Perceptron", "LogisticRegression", "MLP", "ConvergenceWarning",
    "SGD", "Adam", "minibatches", "numerical_gradient", "rel_error", "check_layer", "check_model",
    "load_mnist",
]
