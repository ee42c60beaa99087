"""Download one file, check its SHA-256, and only then put it in place.

The bytes go to a temporary file in the destination's directory while their SHA-256 is computed;
the temporary file is renamed onto the destination (``os.replace``, atomic) only when the hash is
the expected one. An interrupted or corrupt download therefore never leaves a half-written file
under the real name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
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


def _fetch(url: str, dest: Path, sha256: str, progress: bool) -> None:
    """Download ``url`` to ``dest``; raise ChecksumError (nothing written) on a hash mismatch."""
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        total = int(response.headers.get("Content-Length") or 0)
        bar = None
        if progress and total >= PROGRESS_MIN_BYTES:
            from tqdm import tqdm  # plain tqdm on stderr (never tqdm.auto: no widgets)

            bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, file=sys.stderr)
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                while block := response.read(CHUNK):
                    out.write(block)
                    h.update(block)
                    if bar is not None:
                        bar.update(len(block))
            actual = h.hexdigest()
            if actual != sha256:
                raise ChecksumError(
                    f"checksum mismatch for {dest.name} downloaded from {url}: expected SHA-256 "
                    f"{sha256}, got {actual}. The file was deleted; the mirror may be damaged or "
                    "the download altered on the way."
                )
            os.replace(tmp, dest)
        finally:
            if bar is not None:
                bar.close()
            if os.path.exists(tmp):  # failed or mismatched: leave nothing behind
                os.remove(tmp)


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
    failures = []
    for url in urls:
        try:
            _fetch(url, dest, sha256, progress)
            return url
        except ChecksumError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as e:  # URLError is an OSError; ValueError: bad URL
            reason = getattr(e, "reason", None) or e
            failures.append(f"{url}: {reason}")
    raise DownloadError(f"could not download {dest.name}:\n  " + "\n  ".join(failures or ["no mirror given"]))
