"""PyTorch helpers for the course: device, seeding, data loaders, a training loop.

The numpy core of nnkit shows every step by hand. From chapter 5 on we let PyTorch do
the bookkeeping, and this module keeps that bookkeeping short and visible:

- :func:`get_device` picks ``cuda``, then ``mps`` (Apple silicon), then ``cpu``;
- :func:`seed_everything` makes a run repeatable;
- :func:`make_loader` wraps numpy arrays (or tensors) in a ``DataLoader``;
- :func:`fit` is the classic loop: for each epoch, for each batch, forward, loss,
  backward, optimizer step; it returns the per-epoch history;
- :func:`evaluate` and :func:`predict` run a trained model without gradients.

Shapes follow PyTorch: a batch of images is ``(batch, channel, height, width)``, a batch
of sequences ``(batch, time, features)``, a batch of flat vectors ``(batch, n_in)``.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset
from tqdm import tqdm

__all__ = [
    "get_device",
    "seed_everything",
    "as_tensor",
    "make_loader",
    "fit",
    "evaluate",
    "predict",
    "count_parameters",
]


def get_device() -> torch.device:
    """Return the best available device: ``cuda`` if a GPU is there, else ``mps``, else ``cpu``.

    Models and batches must live on the same device; ``model.to(device)`` and
    ``x.to(device)`` move them.
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> int:
    """Seed Python's ``random``, numpy and torch (CPU and GPU) so a run can be repeated.

    Weight initialisation, shuffling and dropout all draw random numbers; with the same
    seed (and the same hardware and thread count) they draw the same ones.
    Returns the seed.
    """
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def as_tensor(a, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert a numpy array (or tensor) to a tensor without copying when possible.

    Floating-point arrays become ``float32`` (the training precision), integer arrays
    ``int64`` (the label type ``nn.CrossEntropyLoss`` expects), unless ``dtype`` is given.
    """
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if dtype is None:
        dtype = torch.float32 if t.is_floating_point() else torch.int64
    return t.to(dtype)


def make_loader(X, y=None, batch_size: int = 64, shuffle: bool = True, seed: int | None = 0) -> DataLoader:
    """Wrap arrays in a ``DataLoader`` that yields ``(xb, yb)`` batches (or ``(xb,)`` without ``y``).

    Parameters
    ----------
    X : array of shape (N, ...)
        Inputs, e.g. ``(N, 784)`` flat images or ``(N, 1, 28, 28)`` image tensors.
    y : array of shape (N,) or (N, ...), optional
        Integer class labels (become int64) or real-valued targets (become float32).
    batch_size : int
        Examples per batch; the last batch may be smaller.
    shuffle : bool
        Visit the examples in a new random order every epoch.
    seed : int or None
        Seeds the shuffling, so two loaders with the same seed give the same batches
        (``None``: a different order on every run).

    The loader indexes the tensors one whole batch at a time (a ``BatchSampler``), which
    is much faster than gathering examples one by one.
    """
    X = as_tensor(X)
    tensors = [X]
    if y is not None:
        y = as_tensor(y)
        if len(y) != len(X):
            raise ValueError(f"X and y must have the same length, got {len(X)} inputs and {len(y)} targets")
        tensors.append(y)
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    dataset = TensorDataset(*tensors)
    if shuffle:
        generator = torch.Generator()
        if seed is None:
            generator.seed()  # a fresh, non-repeatable order
        else:
            generator.manual_seed(int(seed))
        order = RandomSampler(dataset, generator=generator)
    else:
        order = SequentialSampler(dataset)
    # batch_size=None: the sampler already yields whole lists of indices.
    return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)


def _is_classification(out: torch.Tensor, yb: torch.Tensor) -> bool:
    """Targets are class indices (int) and outputs are one score per class."""
    return out.dim() == 2 and not yb.is_floating_point() and yb.dim() == 1


def _run_epoch(model, loader, loss_fn, device, optimizer=None, bar=None):
    """One pass over ``loader``; trains when ``optimizer`` is given. Returns (mean loss, accuracy)."""
    total_loss, correct, seen, classification = 0.0, 0, 0, True
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        out = model(xb)
        loss = loss_fn(out, yb)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        n = len(xb)
        total_loss += loss.item() * n
        seen += n
        if _is_classification(out, yb):
            correct += (out.argmax(dim=1) == yb).sum().item()
        else:
            classification = False
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
    if seen == 0:
        raise ValueError("the data loader is empty")
    accuracy = correct / seen if classification else float("nan")
    return total_loss / seen, accuracy


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    loss_fn=None,
    val_loader: DataLoader | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict:
    """Train ``model`` for ``epochs`` passes over ``train_loader`` and return its history.

    Each step is the gradient-descent update of the lectures, ``w <- w - lr * dL/dw``
    (or Adam's refinement of it), computed on one mini-batch:
    forward (``out = model(xb)``), loss, ``loss.backward()`` (backpropagation fills
    ``p.grad`` for every parameter), ``optimizer.step()``.

    Parameters
    ----------
    model : nn.Module
        Maps a batch ``xb`` to outputs; it is moved to ``device``.
    train_loader : DataLoader
        Yields ``(xb, yb)``; see :func:`make_loader`.
    epochs : int
        Number of passes over the training data.
    optimizer : torch.optim.Optimizer, optional
        Default: Adam with learning rate ``lr`` over the parameters that require
        gradients (frozen parameters, ``requires_grad=False``, stay as they are).
    loss_fn : callable, optional
        ``loss_fn(out, yb) -> scalar``. Default: ``nn.CrossEntropyLoss()`` (softmax and
        cross-entropy on the logits ``out`` of shape (batch, K), integer labels).
    val_loader : DataLoader, optional
        Evaluated after every epoch.
    device : torch.device or str, optional
        Default: :func:`get_device`.
    progress : bool
        Show tqdm bars for epochs and for the batches of the current epoch;
        ``False`` prints nothing.

    Returns
    -------
    dict
        Lists with one entry per epoch under ``"loss"``, ``"accuracy"`` (on the training
        batches, as seen during the epoch), ``"val_loss"`` and ``"val_accuracy"`` (empty
        without ``val_loader``). Accuracies are ``nan`` for regression targets.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs}")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    if optimizer is None:
        trainable = [p for p in model.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
        optimizer = torch.optim.Adam(trainable, lr=lr)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    epoch_bar = tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress)
    for _ in epoch_bar:
        model.train()
        batch_bar = tqdm(total=len(train_loader), desc="batches", unit="batch", leave=False, disable=not progress)
        loss, acc = _run_epoch(model, train_loader, loss_fn, device, optimizer=optimizer, bar=batch_bar)
        batch_bar.close()
        history["loss"].append(loss)
        history["accuracy"].append(acc)
        postfix = {"loss": f"{loss:.4f}"}
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, device, loss_fn=loss_fn)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
            postfix["val_loss"] = f"{val_loss:.4f}"
        epoch_bar.set_postfix(postfix)
    epoch_bar.close()
    model.eval()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None, *, loss_fn=None):
    """Return ``(mean loss, accuracy)`` of ``model`` over ``loader``, without gradients.

    The model is put in evaluation mode (dropout off). The loss defaults to cross-entropy;
    accuracy is ``nan`` for regression targets.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    model.eval()
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    return _run_epoch(model, loader, loss_fn, device)


@torch.no_grad()
def predict(model: nn.Module, X, *, output: str = "labels", batch_size: int = 1024, device=None) -> np.ndarray:
    """Run ``model`` on inputs ``X`` (numpy array or tensor, shape (N, ...)) and return numpy.

    ``output="labels"`` gives the predicted classes (N,) (the argmax of the scores),
    ``"proba"`` the softmax probabilities (N, K), ``"raw"`` the model's outputs as they are
    (logits, or the values of a regression model).
    """
    if output not in ("labels", "proba", "raw"):
        raise ValueError(f"output must be 'labels', 'proba' or 'raw', got {output!r}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    model.eval()
    X = as_tensor(X, torch.float32)
    outs = [model(X[i : i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)]
    out = torch.cat(outs) if outs else torch.empty(0)
    if output == "labels":
        return out.argmax(dim=1).numpy()
    if output == "proba":
        return torch.softmax(out, dim=1).numpy()
    return out.numpy()


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (weights and biases) in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
