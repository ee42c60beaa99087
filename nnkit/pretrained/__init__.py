"""A small CNN pretrained on Fashion-MNIST, shipped with nnkit (no download, ever).

The package data are two files in this directory:

``fashion_cnn.npz``
    the weights of a :class:`nnkit.pytorch.models.SmallCNN` (its ``state_dict``, stored as
    float16 numpy arrays: about 0.2 MB);
``fashion_cnn.json``
    how they were made and what they achieve: the file's SHA-256, the architecture, the
    seed, the number of epochs, the test accuracy on the 10,000 Fashion-MNIST test images.

:func:`load_pretrained` recomputes the SHA-256 of the weights file and refuses a file that
is missing or differs from the recorded hash. ``python -m nnkit.pretrained`` trains the
network again from its seed and rewrites both files (see :mod:`nnkit.pretrained.__main__`).

Only this subpackage and :mod:`nnkit.pytorch` import torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..files import atomic_open, atomic_write

__all__ = [
    "WEIGHTS_FILE",
    "INFO_FILE",
    "CheckpointError",
    "CheckpointNotFoundError",
    "ChecksumMismatchError",
    "checkpoint_dir",
    "sha256_file",
    "pretrained_info",
    "load_pretrained",
    "save_checkpoint",
    "update_info",
]

WEIGHTS_FILE = "fashion_cnn.npz"
INFO_FILE = "fashion_cnn.json"
REGENERATE = "python -m nnkit.pretrained"


class CheckpointError(RuntimeError):
    """The pretrained checkpoint cannot be used (missing, altered or inconsistent)."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The weights file or its JSON description is missing."""


class ChecksumMismatchError(CheckpointError):
    """The weights file's SHA-256 differs from the one recorded in the JSON file."""


def checkpoint_dir() -> Path:
    """The directory of the shipped checkpoint (inside the installed package)."""
    return Path(__file__).resolve().parent


def sha256_file(path) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _paths(directory) -> tuple[Path, Path]:
    d = Path(directory) if directory is not None else checkpoint_dir()
    return d / WEIGHTS_FILE, d / INFO_FILE


def pretrained_info(directory=None) -> dict:
    """The JSON description of the checkpoint in ``directory`` (default: the shipped one)."""
    weights, info = _paths(directory)
    if not info.is_file():
        raise CheckpointNotFoundError(
            f"The pretrained model's description {info} is missing "
            f"(it records the SHA-256 of {weights.name}). Regenerate both files with `{REGENERATE}`."
        )
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"The pretrained model's description {info} is not valid JSON ({err}). "
            f"Regenerate it with `{REGENERATE}`."
        ) from None
    missing = [k for k in ("sha256", "architecture") if k not in data]
    if missing:
        raise CheckpointError(f"{info} lacks the field(s) {missing}. Regenerate it with `{REGENERATE}`.")
    return data


def _verified_weights(directory=None) -> tuple[Path, dict]:
    """Return (weights path, info) after checking the file exists and matches its SHA-256."""
    weights, _ = _paths(directory)
    info = pretrained_info(directory)
    if not weights.is_file():
        raise CheckpointNotFoundError(
            f"The pretrained weights {weights} are missing. nnkit never downloads them: "
            f"regenerate them with `{REGENERATE}` (it trains the network again on Fashion-MNIST "
            f"and writes {WEIGHTS_FILE} and {INFO_FILE})."
        )
    expected = info.get("sha256", "")
    actual = sha256_file(weights)
    if actual != expected:
        raise ChecksumMismatchError(
            f"The pretrained weights {weights} do not match their recorded SHA-256:\n"
            f"  expected {expected}\n  actual   {actual}\n"
            f"The file was altered or is corrupt. Reinstall nnkit, or regenerate the weights with "
            f"`{REGENERATE}` (which rewrites {WEIGHTS_FILE} and {INFO_FILE})."
        )
    return weights, info


def load_pretrained(directory=None, *, device=None):
    """Load the pretrained :class:`~nnkit.pytorch.models.SmallCNN`, in evaluation mode.

    Checks the weights file against the SHA-256 recorded in ``fashion_cnn.json`` first.
    The network maps images ``(batch, 1, 28, 28)`` (or flat ``(batch, 784)``), float32 in
    [0, 1], to 10 logits, one per Fashion-MNIST class (``model.class_names``). Its
    ``features`` turn an image into a vector of ``model.n_features`` numbers; its ``head``
    classifies that vector.

    Parameters
    ----------
    directory : path, optional
        Where ``fashion_cnn.npz`` and ``fashion_cnn.json`` are (default: the shipped copy).
    device : torch.device or str, optional
        Where to put the model (default: CPU).

    Raises
    ------
    CheckpointNotFoundError
        The weights file or its JSON description is missing.
    ChecksumMismatchError
        The weights file does not match its recorded SHA-256 (altered or corrupt).
    """
    import torch

    from ..pytorch.models import SmallCNN

    weights, info = _verified_weights(directory)
    model = SmallCNN(**info["architecture"])
    with np.load(weights, allow_pickle=False) as npz:
        state = {k: torch.from_numpy(npz[k].astype(np.float32)) for k in npz.files}
    expected_keys = set(model.state_dict())
    if set(state) != expected_keys:
        raise CheckpointError(
            f"{weights} holds parameters {sorted(state)}, but SmallCNN({info['architecture']}) expects "
            f"{sorted(expected_keys)}. Regenerate the checkpoint with `{REGENERATE}`."
        )
    model.load_state_dict(state)
    model.class_names = list(info.get("class_names", []))
    model.info = info
    model.eval()
    return model.to(device if device is not None else "cpu")


def _write_npz(fh, arrays: dict) -> None:
    """Write ``arrays`` to the open file ``fh`` as an uncompressed .npz whose bytes depend on the
    arrays only.

    ``np.savez`` stamps the current time into the zip, so the same weights saved twice
    would get different SHA-256s; here every entry gets the fixed date 1980-01-01.
    """
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())


def save_checkpoint(model, directory, info: dict, dtype=np.float16) -> dict:
    """Save ``model``'s weights (as ``dtype``) and ``info`` plus the SHA-256 to ``directory``.

    Both files are written atomically (a temporary file renamed into place), the weights
    first, so an interrupted run never leaves a half-written file. Returns the info written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights, info_path = _paths(directory)
    arrays = {k: v.detach().cpu().numpy().astype(dtype) for k, v in model.state_dict().items()}
    with atomic_open(weights, "wb") as fh:
        _write_npz(fh, arrays)
    info = dict(info, file=WEIGHTS_FILE, sha256=sha256_file(weights), size_bytes=weights.stat().st_size,
                dtype=np.dtype(dtype).name)
    _write_info(info_path, info)
    return info


def _write_info(info_path: Path, info: dict) -> None:
    atomic_write(info_path, json.dumps(info, indent=2) + "\n")


def update_info(directory, **fields) -> dict:
    """Add or change ``fields`` in the JSON description in ``directory`` (written atomically)."""
    info = pretrained_info(directory)
    info.update(fields)
    _write_info(_paths(directory)[1], info)
    return info
