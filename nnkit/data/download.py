"""Download one file, check its SHA-256, and only then put it in place: :func:`pooch.retrieve`.

pooch (the download/cache library of scikit-image, xarray, MNE) streams the bytes to a temporary
file in the destination's directory, checks their SHA-256 against the known hash, and moves the
file onto its real name only when the hash is the expected one (a rename within one directory),
so an interrupted or corrupt download never leaves a half-written file under the real name. This
module adds what the course needs on top: several mirrors tried in order, errors that name every
URL tried (:class:`DownloadError`) or the file and both hashes (:class:`ChecksumError`), and a
progress bar on stderr for large files only. pooch is imported on the first download, so loading
local files never needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import sys
from pathlib import Path

__all__ = ["ChecksumError", "DownloadError", "download", "sha256_of"]

CHUNK = 1 << 16  # bytes read at a time
PROGRESS_MIN_BYTES = 1 << 20  # show a progress bar for files of 1 MiB or more
TIMEOUT = 15  # seconds without an answer before a mirror counts as unreachable


class ChecksumError(OSError):
    """A downloaded file's SHA-256 is not the published one (the file was deleted)."""


class DownloadError(OSError):
    """No mirror could deliver the file (the message lists each URL tried and why it failed)."""


def sha256_of(path, chunk: int = CHUNK) -> str:
    """SHA-256 of a file, as 64 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class _Progress:
    """The progress bar pooch drives (``total``, ``update``, ``reset``, ``close``): a plain tqdm
    on stderr (never tqdm.auto: no widgets), created only for files of PROGRESS_MIN_BYTES or more."""

    def __init__(self, name: str):
        self.name, self.total, self._bar = name, 0, None

    def _ensure(self):
        if self._bar is None and self.total >= PROGRESS_MIN_BYTES:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, unit="B", unit_scale=True, desc=self.name, file=sys.stderr)
        return self._bar

    def update(self, n):
        if (bar := self._ensure()) is not None:
            bar.update(min(n, self.total - bar.n))  # pooch counts whole chunks: never past 100%

    def reset(self):
        if (bar := self._ensure()) is not None:
            bar.reset(total=self.total)

    def close(self):
        if self._bar is not None:
            self._bar.close()


@contextlib.contextmanager
def _quiet_pooch(pooch):
    """pooch logs each download on stderr at INFO level; the course reports downloads itself."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _checksum_error(dest: Path, url: str, sha256: str, error: ValueError) -> ChecksumError:
    got = re.search(r"\bgot ([0-9a-fA-F]{64})\b", str(error))
    actual = got.group(1) if got else f"something else ({error})"
    return ChecksumError(
        f"checksum mismatch for {dest.name} downloaded from {url}: expected SHA-256 "
        f"{sha256}, got {actual}. The file was deleted; the mirror may be damaged or "
        "the download altered on the way."
    )


def download(urls, dest, sha256: str, *, progress: bool = True) -> str:
    """Fetch a file from the first of ``urls`` that answers into ``dest``, checked against ``sha256``.

    Returns the URL the file came from.

    Mirrors that cannot be reached (no network, HTTP error, time-out) are skipped; if none works,
    :class:`DownloadError` lists each URL and its error. A file whose SHA-256 differs from
    ``sha256`` raises :class:`ChecksumError` at once (naming the file, the expected and the actual
    hash) and is not kept. Files of 1 MiB or more show a tqdm progress bar on stderr.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    urls = list(urls)
    if not urls:
        raise DownloadError(f"could not download {dest.name}:\n  no mirror given")
    import pooch
    import requests

    failures = []
    with _quiet_pooch(pooch):
        for url in urls:
            bar = _Progress(dest.name) if progress else False
            downloader = pooch.HTTPDownloader(progressbar=bar, timeout=TIMEOUT, chunk_size=CHUNK)
            try:
                pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=dest.name, path=dest.parent,
                               downloader=downloader)
                return url
            except ValueError as e:
                if "does not match the known hash" in str(e):
                    raise _checksum_error(dest, url, sha256, e) from e
                failures.append(f"{url}: {e}")  # e.g. requests' MissingSchema: not a URL
            except (OSError, requests.RequestException) as e:  # no network, HTTP error, time-out
                failures.append(f"{url}: {e}")
            finally:
                if bar:
                    bar.close()
    raise DownloadError(f"could not download {dest.name}:\n  " + "\n  ".join(failures))
