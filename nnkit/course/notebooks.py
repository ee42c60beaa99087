"""A submitted notebook before it runs: is it a notebook at all, and are its graded cells' ids
unique? Used when grading (the worker) and when explaining a grade (``status --details``)."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat


def check_notebook(data: bytes) -> str | None:
    """``None`` if ``data`` is a readable notebook, else why it is not (in words for the table)."""
    if not data.strip():
        return "empty file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not a notebook (binary file, not UTF-8 JSON)"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        return f"not a notebook (invalid JSON: {e.msg} at line {e.lineno})"
    if not isinstance(obj, dict) or "cells" not in obj:
        return "not a notebook (JSON without a 'cells' list)"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises several kinds
        return f"not a valid notebook ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
    return None


def deduplicate_ids(path: Path) -> list[str]:
    """Keep the nbgrader metadata of the LAST cell of each id, as nbgrader's DeduplicateIds does,
    but drop it from the others entirely (nbgrader leaves ``{}``, which then fails its schema check
    and aborts the notebook)."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    seen, dup = set(), []
    for cell in reversed(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or not meta.get("grade_id"):
            continue
        if meta["grade_id"] in seen:
            dup.append(meta["grade_id"])
            del cell.metadata["nbgrader"]
        else:
            seen.add(meta["grade_id"])
    if dup:
        nbformat.write(nb, path)
    return sorted(set(dup))
