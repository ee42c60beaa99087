"""Read and write the IDX format of the MNIST files.

An IDX file is a tiny header followed by the raw array, C order, big-endian:

    byte 0-1   0x00 0x00                 (magic, part 1)
    byte 2     type code, e.g. 0x08      (0x08 = unsigned byte, see ``DTYPES``)
    byte 3     number of dimensions d    (1 for labels, 3 for images)
    then d     big-endian uint32 sizes   (e.g. 60000, 28, 28)
    then       prod(sizes) items of the type

So MNIST's ``train-images-idx3-ubyte`` starts ``00 00 08 03 | 60000 | 28 | 28`` (magic 2051) and
``train-labels-idx1-ubyte`` starts ``00 00 08 01 | 60000`` (magic 2049). Files may be gzip-compressed
(name ending in ``.gz``).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ..files import atomic_write

__all__ = ["IDXError", "DTYPES", "read_idx", "write_idx"]

# type code -> big-endian numpy dtype
DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXError(ValueError):
    """A file is not a valid IDX file (bad magic number, wrong size, truncated, corrupt gzip)."""


def _read_bytes(path: Path) -> bytes:
    """The file's content, decompressed if its name ends in ``.gz``."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except EOFError as e:  # the gzip stream stops early: a truncated download
        raise IDXError(f"{path}: truncated gzip file ({e})") from e
    except (gzip.BadGzipFile, zlib.error) as e:  # bad header, bad CRC, garbage
        raise IDXError(f"{path}: corrupt gzip file ({e})") from e


def read_idx(path, *, expect_ndim: int | None = None, expect_shape: tuple | None = None) -> np.ndarray:
    """Read one IDX file (plain or ``.gz``) into a numpy array in native byte order.

    ``expect_ndim`` / ``expect_shape`` (``None`` entries are wildcards, e.g. ``(None, 28, 28)``)
    check the header. Raises :class:`IDXError` naming the file on any mismatch: a bad magic number,
    an unknown type code, a data size that disagrees with the header (a truncated file) or a broken
    gzip stream.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXError(f"{path}: {len(raw)} bytes, too short for an IDX header (4 bytes at least)")
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in DTYPES or ndim == 0:
        magic = int.from_bytes(raw[0:4], "big")
        raise IDXError(
            f"{path}: bad IDX magic number 0x{magic:08x} (expected 0x0000TTDD with a type code TT in "
            f"{{{', '.join(f'0x{c:02x}' for c in DTYPES)}}} and DD dimensions, e.g. 0x00000803 "
            "for MNIST images)"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise IDXError(f"{path}: truncated header ({len(raw)} bytes, {ndim} dimensions need {header_len})")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    if expect_ndim is not None and ndim != expect_ndim:
        raise IDXError(f"{path}: expected {expect_ndim} dimensions, the header says {ndim} {shape}")
    if expect_shape is not None:
        if len(expect_shape) != ndim or any(e is not None and e != s for e, s in zip(expect_shape, shape)):
            want = "(" + ", ".join("N" if e is None else str(e) for e in expect_shape) + ")"
            raise IDXError(f"{path}: expected an array of shape {want}, the header says {shape}")
    dtype = DTYPES[code]
    n_data = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header_len
    if found != n_data:
        what = "truncated" if found < n_data else "trailing bytes"
        raise IDXError(
            f"{path}: {what}: the header {shape} promises {n_data} bytes of data, the file has {found}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=n_data // dtype.itemsize, offset=header_len)
    return data.reshape(shape).astype(dtype.newbyteorder("="))  # astype copies: writable, native order


def write_idx(path, array) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``), atomically.

    The inverse of :func:`read_idx`; used to make small test files. Returns the path.
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): c for c, dt in DTYPES.items()}
    key = array.dtype.newbyteorder("=")
    if key not in codes:
        raise IDXError(f"cannot write dtype {array.dtype} as IDX (supported: {sorted(map(str, codes))})")
    header = bytes([0, 0, codes[key], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=DTYPES[codes[key]]).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    return atomic_write(path, payload)
