"""Files written whole or not at all, and folder trees held as ``{relative path: bytes}``.

Every writer in nnkit goes through here, so a reader (a notebook, the grader, the next run after a
Ctrl-C) sees the old file or the new one, never half of one:

- :func:`atomic_open` / :func:`atomic_write` / :func:`write_json`: a temporary file beside the
  target, renamed over it when complete (removed if anything fails);
- :func:`new_folder`: a folder built beside its destination and swapped in when complete;
- :func:`read_tree` / :func:`write_tree` / :func:`tree_digest`: a folder as a dict, written back
  only inside its base folder (a relative path that climbs out is refused).

Standard library only: the numpy core (``nnkit.data``) and the instructor tools share it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

__all__ = ["atomic_open", "atomic_write", "write_json", "new_folder", "replace_folder",
           "empty_folder", "inside", "read_tree", "write_tree", "tree_digest"]


def _beside(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb", encoding: str | None = None):
    """Open a new temporary file beside ``path`` for writing; when the block ends without error it
    replaces ``path``, otherwise it is removed. Permissions follow the umask, like ``open``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _beside(path, "tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, mode, encoding=encoding) as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text is encoded) to ``path`` whole or not at all; returns the path."""
    if isinstance(data, str):
        data = data.encode(encoding)
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_json(path, obj) -> Path:
    """``obj`` as indented JSON with sorted keys, written atomically."""
    return atomic_write(path, json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False))


def replace_folder(dest, stage, *, keep=None) -> None:
    """Move the finished folder ``stage`` to ``dest``. An existing ``dest`` is renamed away first,
    to ``keep`` if given (kept), else beside it (then deleted once ``stage`` is in place)."""
    dest, stage = Path(dest), Path(stage)
    if not (dest.exists() or dest.is_symlink()):
        os.rename(stage, dest)
        return
    old = Path(keep) if keep is not None else _beside(dest, "old")
    old.parent.mkdir(parents=True, exist_ok=True)
    os.rename(dest, old)
    os.rename(stage, dest)
    if keep is None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def new_folder(dest, *, keep=None):
    """Yield an empty folder beside ``dest`` to fill; when the block ends without error it replaces
    ``dest`` (see :func:`replace_folder`), otherwise it is deleted and ``dest`` is untouched."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = _beside(dest, "partial")
    stage.mkdir()
    try:
        yield stage
        replace_folder(dest, stage, keep=keep)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def empty_folder(folder) -> Path:
    """Empty ``folder`` (created if missing) without following symlinks: a link is removed, never
    what it points to."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for entry in list(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            try:
                entry.unlink()
            except OSError:
                pass
    return folder


def inside(base, rel: str) -> Path:
    """``base / rel``, refused (ValueError naming both) if it would land outside ``base``."""
    base = Path(base).resolve()
    path = (base / rel).resolve()
    if base not in path.parents:
        raise ValueError(f"refusing a path outside {base}: {rel!r}")
    return path


def read_tree(base, *, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """The regular files under ``base`` (symlinks are not followed, folders named in ``skip`` are
    left out), by relative path, in sorted order; ``{}`` if ``base`` is not a folder."""
    base = Path(base)
    out = {}
    if base.is_dir():
        for p in sorted(base.rglob("*")):
            if p.is_file() and not p.is_symlink() and not any(s in p.parts for s in skip):
                out[str(p.relative_to(base))] = p.read_bytes()
    return out


def write_tree(base, files: dict[str, bytes], *, mode: int | None = None) -> None:
    """Write ``{relative path: bytes}`` under ``base`` (folders created; each path must stay inside
    ``base``); ``mode``: permissions given to each file written."""
    for rel, data in files.items():
        path = inside(base, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if mode is not None:
            os.chmod(path, mode)


def tree_digest(files: dict[str, bytes]) -> str:
    """SHA-256 (hex) of a tree: its relative paths and the digest of each file, in sorted order."""
    h = hashlib.sha256()
    for rel, data in sorted(files.items()):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()
