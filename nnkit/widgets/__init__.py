"""Interactive widgets of the course: live ipywidgets UIs in Jupyter, static figures in the book.

Every name below is imported lazily (on first use), so ``import nnkit.widgets`` stays light and
pulls in neither ipywidgets nor torch. The mechanism is explained in :mod:`nnkit.widgets._base`.
Each helper adds its widgets as one line ``"name": "submodule"`` to ``_EXPORTS``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    # the mechanism
    "static_mode": "_base",
    "Widget": "_base",
    # chapters 1-3
    "perceptron_playground": "perceptron",
    "gd_explorer": "gradient_descent",
    "activation_explorer": "activations",
    # chapters 4-5
    "backprop_stepper": "backprop",
    "approximation_explorer": "approximation",
    "plot_bumps": "approximation",
    "playground": "playground",
    # chapter 6
    "convolution_explorer": "convolution",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value  # cache: the next access is a plain attribute lookup
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
