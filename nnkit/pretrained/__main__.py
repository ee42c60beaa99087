"""Reproduce the shipped checkpoint: ``python -m nnkit.pretrained``.

Trains :class:`nnkit.pytorch.models.SmallCNN` on the full Fashion-MNIST training set (60,000
images) from a fixed seed, saves the weights (float16) with their SHA-256, then reloads
them and records the accuracy on the 10,000 test images. With the same seed, torch
version and thread count the weights come out bit for bit the same, and so does the hash.

Options::

    --epochs N    passes over the training data (default 6)
    --limit N     train on the first N training images and test on the first N test images
                  (a quick check of the whole pipeline; the test suite uses it)
    --out DIR     where to write fashion_cnn.npz and fashion_cnn.json
                  (default: the installed package, replacing the shipped checkpoint)
    --seed S      random seed (default 0)
    --data DIR    directory holding the Fashion-MNIST IDX files (default: nnkit's search order)
    --threads N   CPU threads for torch (default 1: the order of floating-point sums, hence
                  the exact weights, then does not depend on the number of cores)

Fashion-MNIST is found by :func:`nnkit.data.load_mnist` (Debian's package
``dataset-fashion-mnist``, the user cache, or a download).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from ..data import load_mnist
from ..pytorch.models import SmallCNN
from ..pytorch.training import count_parameters, evaluate, fit, get_device, make_loader, seed_everything
from . import WEIGHTS_FILE, checkpoint_dir, load_pretrained, save_checkpoint, update_info

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
ARCHITECTURE = {"n_classes": 10, "channels": [16, 32], "hidden": 64, "dropout": 0.25}
BATCH_SIZE = 64
LR = 1e-3


def _images(X: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return (X.astype(np.float32) / 255.0)[:, None]


def train(epochs: int = 6, limit: int | None = None, out=None, seed: int = 0, data_root=None,
          progress: bool = True, threads: int = 1) -> dict:
    """Train, save and evaluate the checkpoint; return the recorded info (see the module docstring)."""
    if epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {epochs}")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    out = checkpoint_dir() if out is None else out
    data = load_mnist("fashion", root=data_root, flatten=False, progress=progress)
    X_train, y_train = _images(data.X_train[:limit]), data.y_train[:limit]
    X_test, y_test = _images(data.X_test[:limit]), data.y_test[:limit]

    torch.set_num_threads(threads)
    seed_everything(seed)
    device = get_device()
    model = SmallCNN(**ARCHITECTURE)
    start = time.perf_counter()
    history = fit(model, make_loader(X_train, y_train, BATCH_SIZE, shuffle=True, seed=seed),
                  epochs=epochs, lr=LR, device=device, progress=progress)
    seconds = time.perf_counter() - start

    info = {
        "model": "nnkit.pytorch.models.SmallCNN",
        "architecture": ARCHITECTURE,
        "dataset": "Fashion-MNIST",
        "data_source": data.source,
        "class_names": FASHION_CLASSES,
        "input": "float32 images (batch, 1, 28, 28) with pixel values in [0, 1]",
        "n_train": int(len(X_train)),
        "n_test": int(len(X_test)),
        "seed": seed,
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "optimizer": f"Adam(lr={LR})",
        "train_loss": [round(v, 6) for v in history["loss"]],
        "train_accuracy": [round(v, 6) for v in history["accuracy"]],
        "n_parameters": count_parameters(model),
        "torch_version": torch.__version__.split("+")[0],
        "device": str(device),
        "threads": threads,
        "training_seconds": round(seconds, 1),
    }
    save_checkpoint(model, out, info)
    # Evaluate what was saved (float16 weights read back), not the float32 model in memory.
    reloaded = load_pretrained(out)
    test_loss, test_acc = evaluate(reloaded, make_loader(X_test, y_test, 1000, shuffle=False), "cpu")
    return update_info(out, test_accuracy=round(test_acc, 6), test_loss=round(test_loss, 6))


def main(argv=None) -> int:
    description = __doc__.split("\n\n")[1].replace(":class:", "")
    parser = argparse.ArgumentParser(prog="python -m nnkit.pretrained", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6, help="passes over the training data (default 6)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training and N test images (quick check)")
    parser.add_argument("--out", default=None, help="output directory (default: the installed package)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--data", default=None, help="directory with the Fashion-MNIST IDX files")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    shipped = None
    if args.out is None:
        try:
            from . import pretrained_info
            shipped = pretrained_info().get("sha256")
        except Exception:  # no shipped checkpoint yet: nothing to compare with
            shipped = None
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    info = train(args.epochs, args.limit, args.out, args.seed, args.data, progress=not args.quiet,
                 threads=args.threads)
    where = checkpoint_dir() if args.out is None else args.out
    print(f"wrote {where}/{WEIGHTS_FILE} ({info['size_bytes']} bytes) and its JSON description")
    print(f"  SHA-256        {info['sha256']}")
    print(f"  test accuracy  {info['test_accuracy']:.4f} on {info['n_test']} Fashion-MNIST test images")
    print(f"  trained        {info['epochs']} epochs on {info['n_train']} images, seed {info['seed']}, "
          f"{info['training_seconds']} s on {info['device']}")
    if shipped is not None:
        same = "identical to" if shipped == info["sha256"] else "different from"
        print(f"  the weights are {same} the checkpoint shipped before this run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
