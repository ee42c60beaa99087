"""Transfer learning (chapter 7): test accuracy against the number of labelled images per class,
one curve per method (this module does not import torch)."""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["plot_transfer_curve"]

#: colours and markers of the transfer-learning methods (nnkit.pytorch.transfer.METHODS)
_METHOD_STYLE = {
    "frozen": ("tab:blue", "o", "frozen features + new head"),
    "finetune": ("tab:green", "s", "fine-tune all layers"),
    "scratch": ("tab:red", "^", "train from scratch"),
    "logreg": ("tab:purple", "D", "features + logistic regression"),
}


def plot_transfer_curve(result, ax=None, *, chance=None, title=None):
    """Test accuracy against the number of labels per class, one line per method.

    ``result`` is a :class:`nnkit.pytorch.transfer.TransferResult` (or any object with
    ``labels_per_class`` and ``accuracy = {method: [acc, ...]}``). The x axis is
    logarithmic; ``chance`` (e.g. 0.1 for ten classes) draws the accuracy of guessing.
    Returns the Axes.
    """
    ks = list(result.labels_per_class)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    for method, accs in result.accuracy.items():
        if len(accs) != len(ks):
            raise ValueError(f"method {method!r} has {len(accs)} accuracies for {len(ks)} label counts")
        colour, marker, label = _METHOD_STYLE.get(method, (None, "o", method))
        ax.plot(ks, accs, marker=marker, color=colour, label=label)
    if chance is not None:
        ax.axhline(chance, color="0.5", linestyle=":", lw=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("labelled training images per class")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    if title:
        ax.set_title(title)
    return ax
