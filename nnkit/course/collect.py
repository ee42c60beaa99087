"""Import an LMS download (a zip, or a folder) into ``submitted/<student>/<assignment>/``.

File names follow nbgrader's ``zip_collect`` conventions: nbgrader's ``FileNameCollectorPlugin``
matches each file's path with a named regular expression giving ``student_id``, ``file_id`` and
optionally ``timestamp``. The course may set ``c.FileNameCollectorPlugin.named_regexp`` in
``nbgrader_config.py``; by default a file is named ``<student>_<notebook>.ipynb`` or
``<student>_<YYYY-MM-DD-HH-MM-SS>_<notebook>.ipynb`` (student ids without ``_``), anywhere in the zip.

Unlike ``nbgrader zip_collect`` we do not stop at the first surprise: misnamed files are listed with
the name they should have, duplicates keep the newest (by the timestamp in the name, else the file's
date in the zip) and say so, and missing notebooks are reported per student.
"""
from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .course import Course, CourseError

DEFAULT_NAMED_REGEXP = (r"^(?:.*/)?(?P<student_id>[A-Za-z0-9][A-Za-z0-9.@-]*)_"
                        r"(?:(?P<timestamp>\d{4}-\d{2}-\d{2}[ T_-]\d{2}[:.-]\d{2}[:.-]\d{2})_)?"
                        r"(?P<file_id>[^/]+)$")


@dataclass
class CollectReport:
    assignment: str
    collected: dict = field(default_factory=dict)    # student -> [notebook file names]
    unchanged: list = field(default_factory=list)    # students whose submission was already there
    unmatched: list = field(default_factory=list)    # (file, why and fix)
    duplicates: list = field(default_factory=list)   # (student, kept file, dropped file)
    missing: dict = field(default_factory=dict)      # student -> [missing notebook files]

    def lines(self) -> list[str]:
        out = [f"{self.assignment}: collected {len(self.collected)} student(s)"
               + (f" ({len(self.unchanged)} unchanged)" if self.unchanged else "")]
        for f, why in self.unmatched:
            out.append(f"  could not match {f}: {why}")
        for s, kept, dropped in self.duplicates:
            out.append(f"  duplicate for {s}: kept the newest {kept}, ignored {dropped}")
        for s, nbs in sorted(self.missing.items()):
            out.append(f"  missing for {s}: {', '.join(nbs)} (scores 0 unless collected later)")
        return out


def _safe_extract(zpath: Path, dest: Path) -> None:
    """Extract a zip without letting entries escape ``dest``; keep each entry's date as mtime."""
    try:
        zf = zipfile.ZipFile(zpath)
    except zipfile.BadZipFile:
        raise CourseError(f"{zpath} is not a zip file: pass the zip downloaded from the LMS or a "
                          "folder of notebooks") from None
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            target = (dest / info.filename).resolve()
            if dest.resolve() not in target.parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            t = time.mktime(info.date_time + (0, 0, -1))
            os.utime(target, (t, t))
            if target.suffix == ".zip":      # an LMS zip of per-student zips
                sub = target.with_suffix("")
                sub.mkdir(exist_ok=True)
                _safe_extract(target, sub)
                target.unlink()


def _parse_timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    d, t = text[:10], re.sub(r"[.-]", ":", text[11:])
    try:
        return datetime.fromisoformat(f"{d} {t}").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def collect(course: Course, assignment: str, source: str | os.PathLike) -> CollectReport:
    """Collect ``source`` (zip or folder) for ``assignment``; see the module docstring."""
    from nbgrader.plugins import FileNameCollectorPlugin
    source = Path(source)
    if not source.exists():
        raise CourseError(f"{source} does not exist: pass the zip downloaded from the LMS or a "
                          "folder of notebooks")
    expected = [f"{n}.ipynb" for n in course.notebooks(assignment)]
    report = CollectReport(assignment)
    plugin = FileNameCollectorPlugin(config=course.config)
    if not plugin.named_regexp:
        plugin.named_regexp = DEFAULT_NAMED_REGEXP
    with tempfile.TemporaryDirectory(prefix="nnkit-collect-") as tmp:
        tmp = Path(tmp)
        if source.is_dir():
            for z in sorted(source.rglob("*.zip")):
                _safe_extract(z, tmp / z.relative_to(source).with_suffix(""))
            roots = [source, tmp]
        else:
            _safe_extract(source, tmp)
            roots = [tmp]
        candidates = []   # (student, file_id, when, path, shown name)
        for base in roots:
            for p in sorted(base.rglob("*")):
                if not p.is_file() or p.suffix == ".zip":
                    continue
                rel = str(p.relative_to(base))
                if any(part.startswith(("__MACOSX", ".")) for part in Path(rel).parts):
                    continue
                if p.suffix != ".ipynb":
                    report.unmatched.append((rel, "not a .ipynb file (ignored)"))
                    continue
                info = plugin.collect(rel)
                if not info or not info.get("student_id") or not info.get("file_id"):
                    report.unmatched.append(
                        (rel, f"the name does not say whose it is; name it "
                              f"<student>_{expected[0] if expected else '<notebook>.ipynb'}"))
                    continue
                file_id = os.path.basename(info["file_id"])
                if not file_id.endswith(".ipynb"):
                    file_id += ".ipynb"
                if file_id not in expected:
                    guess = difflib.get_close_matches(file_id, expected, n=1, cutoff=0.0)
                    report.unmatched.append(
                        (rel, f"{file_id!r} is not a notebook of {assignment} "
                              f"({', '.join(expected)}); rename it "
                              f"{info['student_id']}_{guess[0] if guess else expected[0]} "
                              "and collect again"))
                    continue
                when = _parse_timestamp(info.get("timestamp"))
                candidates.append((info["student_id"], file_id, when, p, rel))

        chosen: dict[tuple[str, str], tuple] = {}
        for cand in candidates:
            key = (cand[0], cand[1])
            if key in chosen:
                old = chosen[key]
                def rank(c):
                    return (c[2].timestamp() if c[2] else 0.0, c[3].stat().st_mtime)
                new, drop = (cand, old) if rank(cand) >= rank(old) else (old, cand)
                chosen[key] = new
                report.duplicates.append((cand[0], new[4], drop[4]))
            else:
                chosen[key] = cand

        by_student: dict[str, list] = {}
        for (student, _), cand in chosen.items():
            by_student.setdefault(student, []).append(cand)
        for student, cands in sorted(by_student.items()):
            _install(course, assignment, student, cands, report)
            missing = [e for e in expected if e not in {c[1] for c in cands}]
            if missing:
                report.missing[student] = missing
    return report


def _install(course: Course, assignment: str, student: str, cands: list, report) -> None:
    """Write one student's files into ``submitted/<student>/<assignment>/`` atomically."""
    dest = course.submitted_path(student, assignment)
    files = {c[1]: c[3].read_bytes() for c in cands}
    stamps = [c[2] for c in cands if c[2]]
    if dest.is_dir():
        old = {p.name: p.read_bytes() for p in dest.iterdir() if p.suffix == ".ipynb"}
        if old == files:
            report.unchanged.append(student)
            report.collected[student] = sorted(files)
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{assignment}.collect-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    if stamps:
        (tmp / "timestamp.txt").write_text(max(stamps).strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    if dest.exists():
        shutil.rmtree(dest)
    os.rename(tmp, dest)
    report.collected[student] = sorted(files)
