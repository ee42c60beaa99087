"""Import an LMS download (a zip, or a folder) into ``submitted/<student>/<assignment>/``.

Each file's path is matched by nbgrader's ``FileNameCollectorPlugin`` with the named regular
expression of the LMS the download comes from (``--lms``):

- ``canvas``: ``smithjane_12345_67890_perceptron.ipynb`` (name, Canvas user id, submission id,
  file), ``smithjane_late_12345_67890_perceptron-1.ipynb`` (late, re-uploaded);
- ``moodle``: ``Jane Smith_12345_assignsubmission_file_/perceptron.ipynb`` (one folder per student);
- ``blackboard``: ``Perceptron_jsmith_attempt_2026-11-20-12-00-00_perceptron.ipynb``;
- ``folder`` (default): ``<student>_<notebook>.ipynb`` or ``<student>_<YYYY-MM-DD-HH-MM-SS>_<notebook>``
  (or the course's own ``c.FileNameCollectorPlugin.named_regexp``).

Students are found in the roster (``nnkit-course roster import``) by LMS id, id, email or name
(accents and spaces ignored); a name not on the roster is reported with the closest roster name.
Without a roster the id is taken from the download (Canvas/Moodle: the name, folded to ASCII).

Nothing is lost: the submission time comes from the name (Blackboard, folder) or else from the zip
entry's date, and the newest submission wins, within a download and across collects, never by the
order of collecting. A submission that is replaced is moved to ``.nnkit-course/replaced/`` and named
in the output. Downloads are extracted with limits (per entry and in total, uncompressed; see
:class:`Collect`), and every entry that is dropped or refused is listed with the reason. When any
file cannot be collected, nothing is written and the command fails, unless ``allow_unmatched``.
"""
from __future__ import annotations

import difflib
import logging
import json
import os
import re
import stat
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from traitlets import Float, Integer, Unicode
from traitlets.config import Configurable

from ..files import new_folder, write_json
from .coursedir import Course, CourseError
from .roster import Matcher, fold, load_roster, slug

DEFAULT_NAMED_REGEXP = (r"^(?:.*/)?(?P<student_id>[A-Za-z0-9][A-Za-z0-9.@-]*)_"
                        r"(?:(?P<timestamp>\d{4}-\d{2}-\d{2}[ T_-]\d{2}[:.-]\d{2}[:.-]\d{2})_)?"
                        r"(?P<file_id>[^/]+)$")

#: LMS -> (named regexp for nbgrader's FileNameCollectorPlugin, an example file name)
PRESETS = {
    "canvas": (r"^(?:.*/)?(?P<name>[^/_]+?)(?:_(?P<late>[Ll][Aa][Tt][Ee]))?_(?P<lms_id>\d+)"
               r"(?:_(?P<submission_id>\d+))?_(?P<file_id>[^/]+)$",
               "smithjane_12345_67890_perceptron.ipynb"),
    "moodle": (r"^(?:.*/)?(?P<name>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_file_"
               r"(?:/(?:.*/)?|_?)(?P<file_id>[^/]+)$",
               "Jane Smith_12345_assignsubmission_file_/perceptron.ipynb"),
    "blackboard": (r"^(?:.*/)?(?P<assignment>[^/]*?)_(?P<login>[^_/]+)_attempt_"
                   r"(?P<timestamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file_id>[^/]+)|\.txt)$",
                   "Perceptron_jsmith_attempt_2026-11-20-12-00-00_perceptron.ipynb"),
    "folder": (DEFAULT_NAMED_REGEXP, "jsmith_perceptron.ipynb"),
}
LMS_NAMES = sorted(PRESETS)


class Collect(Configurable):
    """Limits on what ``nnkit-course collect`` extracts from a download (``c.Collect.*``)."""
    max_entry_mb = Float(64.0, help="largest uncompressed size of one zip entry, in MB "
                         "(a notebook with plots is a few MB)").tag(config=True)
    max_total_mb = Float(2048.0, help="largest uncompressed size of a whole download, in MB"
                         ).tag(config=True)
    max_nesting = Integer(2, help="zips inside zips are opened this deep").tag(config=True)
    zip_timezone = Unicode("UTC", help="the time zone of the dates in the LMS's zip entries (the "
                           "submission time when the name carries none), e.g. 'Europe/Paris'"
                           ).tag(config=True)


@dataclass
class Candidate:
    student: str
    notebook: str          # file name in the submission, e.g. perceptron.ipynb
    when: datetime | None
    when_from: str         # "name", "zip", "file"
    path: Path
    shown: str             # the path in the download
    order: int = 0         # resubmission suffix (-1, -2 ...)
    late: bool = False
    meta: dict = field(default_factory=dict)


@dataclass
class CollectReport:
    assignment: str
    dry_run: bool = False
    collected: dict = field(default_factory=dict)    # student -> [notebook file names]
    unchanged: list = field(default_factory=list)    # students whose submission was already there
    unmatched: list = field(default_factory=list)    # (file, why and fix): not collected
    refused: list = field(default_factory=list)      # (zip entry, why): not extracted
    ignored: list = field(default_factory=list)      # (file, why): expected extras, not an error
    duplicates: list = field(default_factory=list)   # (student, kept file, dropped file)
    replaced: list = field(default_factory=list)     # (student, old time, new time, kept at)
    kept_newer: list = field(default_factory=list)   # (student, existing time, download time)
    notes: list = field(default_factory=list)        # (student, text)
    missing: dict = field(default_factory=dict)      # student -> [missing notebook files]
    not_submitted: list = field(default_factory=list)  # rostered students without a file
    written: bool = False
    blocked: bool = False      # files could not be collected and allow_unmatched was not given

    @property
    def problems(self) -> int:
        return len(self.unmatched) + len(self.refused)

    def lines(self) -> list[str]:
        if self.blocked:
            out = [f"{self.assignment}: nothing collected: {self.problems} file(s) below could not "
                   f"be; {len(self.collected)} student(s) ready to collect"]
            for s, kept, dropped in self.duplicates:
                out.append(f"  duplicate for {s}: kept the newest {kept}, ignored {dropped}")
            for s, text in self.notes:
                out.append(f"  {s}: {text}")
            return out + self._dropped()
        verb = "would collect" if self.dry_run else "collected"
        n_new = len(self.collected) - len(self.unchanged)
        out = [f"{self.assignment}: {verb} {len(self.collected)} student(s)"
               + (f" ({len(self.unchanged)} unchanged, {n_new} new or changed)"
                  if self.unchanged else "")]
        for s, old, new, where in self.replaced:
            out.append(f"  {'would replace' if self.dry_run else 'replaced'} {s}'s submission "
                       f"of {old} by the newer one of {new}"
                       + (f"; the old one is kept in {where}" if where else ""))
        for s, old, new in self.kept_newer:
            out.append(f"  kept {s}'s newer submission of {old} already collected; this "
                       f"download's is older ({new}) and was not taken")
        for s, kept, dropped in self.duplicates:
            out.append(f"  duplicate for {s}: kept the newest {kept}, ignored {dropped}")
        for s, text in self.notes:
            out.append(f"  {s}: {text}")
        for s, nbs in sorted(self.missing.items()):
            out.append(f"  missing for {s}: {', '.join(nbs)} (scores 0 unless collected later)")
        if self.not_submitted:
            out.append(f"  no submission from {len(self.not_submitted)} rostered student(s): "
                       f"{', '.join(self.not_submitted)} (they score 0)")
        return out + self._dropped()

    def _dropped(self) -> list[str]:
        """A line per file not collected: refused, unmatched or ignored, with the reason."""
        return ([f"  refused {f}: {why}" for f, why in self.refused]
                + [f"  could not match {f}: {why}" for f, why in self.unmatched]
                + [f"  ignored {f}: {why}" for f, why in self.ignored])


# ---------------------------------------------------------------------------- safe extraction
class _Budget:
    def __init__(self, limits: Collect):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            self.tz = ZoneInfo(limits.zip_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CourseError(f"c.Collect.zip_timezone = {limits.zip_timezone!r} is not a time "
                              "zone; expected a name such as 'UTC' or 'Europe/Paris'") from None
        self.entry = int(limits.max_entry_mb * 2**20)
        self.total = int(limits.max_total_mb * 2**20)
        self.used = 0
        self.nesting = limits.max_nesting


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def _entry_time(info: zipfile.ZipInfo, tz) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=tz).astimezone(timezone.utc)
    except ValueError:
        return None


def _extract(zpath: Path, dest: Path, shown: str, budget: _Budget, report: CollectReport,
             times: dict, others: list, depth: int = 0) -> None:
    """Extract ``zpath`` under ``dest`` within ``budget``; record each file's zip date in
    ``times``; list every entry refused in ``report``. Only notebooks and zips are extracted
    (other files are listed in ``others``)."""
    zf = _open_zip(zpath, shown, report, depth)
    if zf is None:
        return
    with zf:
        for info in zf.infolist():
            _extract_entry(zf, info, dest, shown, budget, report, times, others, depth)


def _open_zip(zpath: Path, shown: str, report: CollectReport, depth: int) -> zipfile.ZipFile | None:
    """The zip file at ``zpath``; if it is unreadable, a CourseError for the download itself
    (``depth`` 0), else None with the nested zip listed as refused."""
    try:
        return zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as e:
        if depth == 0:
            raise CourseError(f"{zpath} is not a readable zip file ({e}): pass the zip downloaded "
                              "from the LMS or a folder of notebooks") from None
        report.refused.append((shown, f"not a readable zip ({e})"))
        return None


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's file name; a UTF-8 name stored without the UTF-8 flag (which zipfile reads as
    cp437) is decoded as UTF-8."""
    name = info.filename
    if not info.flag_bits & 0x800 and not name.isascii():
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _extract_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, shown: str,
                   budget: _Budget, report: CollectReport, times: dict, others: list,
                   depth: int) -> None:
    """Extract one entry of ``zf`` under ``dest`` if :func:`_admit_entry` lets it through and it
    stays within ``budget`` once uncompressed; a zip is opened in turn and then deleted."""
    name = _entry_name(info)
    where = f"{shown}!{name}" if depth or shown else name
    if info.is_dir():
        return
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not _admit_entry(info, name, parts, where, budget, report, others):
        return
    target = dest.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    written, why = _copy_within_budget(zf, info, target, budget)
    if why:
        target.unlink(missing_ok=True)
        report.refused.append((where, why + "; not extracted"))
        return
    budget.used += written
    if name.lower().endswith(".zip"):          # an LMS zip of per-student zips
        sub = target.with_suffix("")
        if depth + 1 > budget.nesting:
            report.refused.append((where, f"a zip nested more than {budget.nesting} deep"))
        else:
            sub.mkdir(exist_ok=True)
            _extract(target, sub, where, budget, report, times, others, depth + 1)
        target.unlink()
    else:
        times[target] = _entry_time(info, budget.tz)


def _admit_entry(info: zipfile.ZipInfo, name: str, parts: tuple, where: str, budget: _Budget,
                 report: CollectReport, others: list) -> bool:
    """Whether to extract an entry, judged from its header: a notebook or a zip, inside the
    download folder, not a link, not encrypted, within the limits. Every other entry is listed
    (refused, ignored, or in ``others`` when it is not a notebook) and False returned."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        report.refused.append((where, "its path leaves the download folder (path "
                                      "traversal); not extracted"))
    elif stat.S_ISLNK(info.external_attr >> 16):
        report.refused.append((where, "a symbolic link; not extracted"))
    elif any(p.startswith(("__MACOSX", ".")) for p in parts):
        report.ignored.append((where, "macOS metadata or a hidden file"))
    elif not name.lower().endswith((".ipynb", ".zip")):
        others.append((where, name))
    elif info.flag_bits & 0x1:
        report.refused.append((where, "encrypted; not extracted"))
    elif info.file_size > budget.entry:
        report.refused.append((where, f"{_mb(info.file_size)} uncompressed, more than the "
                                      f"{_mb(budget.entry)} allowed per file "
                                      "(--max-entry-mb / c.Collect.max_entry_mb)"))
    elif budget.used + info.file_size > budget.total:
        report.refused.append((where, f"the download would exceed "
                                      f"{_mb(budget.total)} uncompressed in total "
                                      "(--max-total-mb / c.Collect.max_total_mb)"))
    else:
        return True
    return False


def _copy_within_budget(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                        budget: _Budget) -> tuple[int, str | None]:
    """Copy the entry to ``target`` a MB at a time: (bytes written, None), or (bytes written so
    far, why it was stopped) when it grows past the limits (its header lied) or is corrupt."""
    written, why = 0, None
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                written += len(chunk)
                if written > budget.entry:       # the header lied about the size
                    why = (f"more than the {_mb(budget.entry)} allowed per file once "
                           "uncompressed (its header says less)")
                    break
                if budget.used + written > budget.total:
                    why = f"the download would exceed {_mb(budget.total)} in total"
                    break
                dst.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError,
            RuntimeError) as e:
        why = f"corrupt or unsupported entry ({e})"
    return written, why


# ---------------------------------------------------------------------------- identification
def _parse_timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    d, t = text[:10], re.sub(r"[.-]", ":", text[11:19])
    try:
        return datetime.fromisoformat(f"{d} {t}").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _grade_ids(data: bytes) -> set[str]:
    try:
        nb = json.loads(data)
        return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                for c in nb.get("cells", []) if isinstance(c, dict)} - {None}
    except (ValueError, AttributeError, TypeError):
        return set()


def course_notebooks(course: Course) -> dict[tuple[str, str], set[str]]:
    """(assignment, notebook file) -> the nbgrader cell ids of its source notebook."""
    out = {}
    for a in course.source_assignments():
        for nb in course.notebooks(a):
            ids = _grade_ids((course.source_dir / a / f"{nb}.ipynb").read_bytes())
            out[(a, f"{nb}.ipynb")] = ids
    return out


def identify(data: bytes, known: dict) -> tuple[str, str] | None:
    """The (assignment, notebook) whose cell ids a notebook shares most (at least half)."""
    ids = _grade_ids(data)
    best, score = None, 0.0
    for key, ref in known.items():
        if ref and ids:
            s = len(ids & ref) / len(ref)
            if s > score:
                best, score = key, s
    return best if score >= 0.5 else None


def _strip_suffix(file_id: str, expected: list[str]) -> tuple[str, int]:
    """'perceptron-1.ipynb' -> ('perceptron.ipynb', 1) when that is a notebook of the assignment
    (Canvas appends -1, -2 to re-uploaded files; browsers append ' (1)')."""
    if file_id in expected:
        return file_id, 0
    m = re.match(r"^(.*?)(?:-(\d+)| ?\((\d+)\))\.ipynb$", file_id)
    if m and f"{m.group(1)}.ipynb" in expected:
        return f"{m.group(1)}.ipynb", int(m.group(2) or m.group(3))
    return file_id, 0


def _when(c) -> float:
    return c.when.timestamp() if c.when else float("-inf")


@dataclass
class _Job:
    """What one collect works with: the assignment and its notebooks, how the LMS names files
    and who is on the roster, and the report being filled in."""
    course: Course
    assignment: str
    lms: str
    plugin: object                 # nbgrader's FileNameCollectorPlugin, set for the LMS
    expected: list[str]            # the assignment's notebook files, e.g. perceptron.ipynb
    known: dict                    # see course_notebooks
    roster: list[dict] | None
    matcher: Matcher | None
    report: CollectReport


def collect(course: Course, assignment: str, source: str | os.PathLike, *, lms: str = "folder",
            dry_run: bool = False, allow_unmatched: bool = False,
            max_entry_mb: float | None = None, max_total_mb: float | None = None) -> CollectReport:
    """Collect ``source`` (zip or folder) for ``assignment``; see the module docstring."""
    source = Path(source)
    _check_source(source, lms)
    limits = _limits(course, max_entry_mb, max_total_mb)
    job = _new_job(course, assignment, lms, dry_run)
    report = job.report
    with tempfile.TemporaryDirectory(prefix="nnkit-collect-") as tmp:
        times: dict[Path, datetime | None] = {}
        others: list[tuple[str, str]] = []     # (shown, path) of files that are not notebooks
        roots = _extract_download(source, Path(tmp), _Budget(limits), report, times, others)
        candidates, lms_names = _find_candidates(job, roots, source, times, others)
        _list_other_files(job, others)
        if job.matcher is None:
            _tell_namesakes_apart(candidates, lms_names)
        by_student = _by_student(_newest_per_notebook(candidates, report))
        if job.roster:
            report.not_submitted = sorted(r["id"] for r in job.roster
                                          if r["id"] not in by_student
                                          and not course.submitted_path(r["id"], assignment).is_dir())
        if report.problems and not allow_unmatched:   # nothing written: say what is ready
            report.blocked = True
            report.collected = {s: sorted(c.notebook for c in cs) for s, cs in by_student.items()}
            return report
        _install_all(job, by_student, dry_run)
    return report


def _check_source(source: Path, lms: str) -> None:
    """CourseError unless ``lms`` is one of :data:`PRESETS` and ``source`` exists."""
    if lms not in PRESETS:
        raise CourseError(f"unknown LMS {lms!r}: one of {', '.join(LMS_NAMES)}")
    if not source.exists():
        raise CourseError(f"{source} does not exist: pass the zip downloaded from the LMS or a "
                          "folder of notebooks")


def _limits(course: Course, max_entry_mb: float | None, max_total_mb: float | None) -> Collect:
    """The course's ``c.Collect`` limits, with the sizes given on the command line instead."""
    limits = Collect(config=course.config)
    if max_entry_mb is not None:
        limits.max_entry_mb = max_entry_mb
    if max_total_mb is not None:
        limits.max_total_mb = max_total_mb
    return limits


def _new_job(course: Course, assignment: str, lms: str, dry_run: bool) -> _Job:
    """Everything a collect of ``assignment`` from ``lms`` needs before it opens the download."""
    expected = [f"{n}.ipynb" for n in course.notebooks(assignment)]
    known = course_notebooks(course)
    roster = load_roster(course)
    matcher = Matcher(roster) if roster else None
    report = CollectReport(assignment, dry_run=dry_run)
    return _Job(course, assignment, lms, _file_name_plugin(course, lms), expected, known, roster,
                matcher, report)


def _file_name_plugin(course: Course, lms: str):
    """nbgrader's FileNameCollectorPlugin with the named regexp of ``lms`` (for ``folder``, the
    course's own if it sets one), for notebooks only, its warnings silenced."""
    from nbgrader.plugins import FileNameCollectorPlugin
    plugin = FileNameCollectorPlugin(config=course.config)
    if lms != "folder" or not plugin.named_regexp:
        plugin.named_regexp = PRESETS[lms][0]
    plugin.valid_ext = [".ipynb"]
    plugin.log = logging.getLogger("nnkit.course.collect")     # its "did not match" warnings:
    plugin.log.propagate = False                                # we list those ourselves
    if not plugin.log.handlers:
        plugin.log.addHandler(logging.NullHandler())
    return plugin


def _extract_download(source: Path, tmp: Path, budget: _Budget, report: CollectReport,
                      times: dict, others: list) -> list[Path]:
    """Extract the download (a zip, or the zips in a folder) under ``tmp``; the folders to look
    for notebooks in."""
    if source.is_dir():
        for z in sorted(source.rglob("*.zip")):
            rel = z.relative_to(source)
            _extract(z, tmp / rel.with_suffix(""), str(rel), budget, report, times, others,
                     depth=1)
        return [source, tmp]
    _extract(source, tmp, "", budget, report, times, others)
    return [tmp]


def _find_candidates(job: _Job, roots: list[Path], source: Path, times: dict,
                     others: list) -> tuple[list[Candidate], dict[str, set]]:
    """The notebooks under ``roots`` that are someone's (others are listed as unmatched), and
    the LMS ids seen for each student id; files in ``source`` that are not notebooks go to
    ``others`` (hidden files and macOS metadata are skipped)."""
    candidates: list[Candidate] = []
    lms_names: dict[str, set] = {}      # student id -> LMS ids seen (no roster: collisions)
    for base in roots:
        for p in sorted(base.rglob("*")):
            if not p.is_file() or p.suffix == ".zip" or p.is_symlink():
                continue
            rel = p.relative_to(base).as_posix()
            if any(part.startswith(("__MACOSX", ".")) for part in Path(rel).parts):
                continue
            if p.suffix != ".ipynb":
                if base == source:
                    others.append((rel, rel))
                continue
            c = _candidate(job.course, job.assignment, rel, p, job.plugin, job.lms, job.expected,
                           job.known, job.matcher, job.report, times.get(p))
            if c is not None:
                candidates.append(c)
                lms_names.setdefault(c.student, set()).add(c.meta.get("lms_id"))
    return candidates, lms_names


def _list_other_files(job: _Job, others: list[tuple[str, str]]) -> None:
    """Report the files that are not notebooks: Blackboard's attempt receipts as ignored, the
    rest as unmatched."""
    for shown, path in others:
        if job.lms == "blackboard" and path.endswith(".txt") and job.plugin._match(path):
            job.report.ignored.append((shown, "Blackboard's attempt receipt"))
        else:
            ext = PurePosixPath(path).suffix or "no extension"
            job.report.unmatched.append((shown, f"not a notebook ({ext}); only .ipynb files are "
                                                "graded"))


def _tell_namesakes_apart(candidates: list[Candidate], lms_names: dict[str, set]) -> None:
    """Without a roster, two students with the same name: tell them apart by LMS id."""
    for c in candidates:
        if len(lms_names.get(c.student, ())) > 1 and c.meta.get("lms_id"):
            c.student = f"{c.student}-{c.meta['lms_id']}"


def _newest_per_notebook(candidates: list[Candidate],
                         report: CollectReport) -> dict[tuple[str, str], Candidate]:
    """(student, notebook) -> the newest of the candidates for it (by submission time, then
    resubmission suffix, then file time); each one dropped is listed as a duplicate."""
    chosen: dict[tuple[str, str], Candidate] = {}
    for cand in candidates:
        key = (cand.student, cand.notebook)
        if key in chosen:
            old = chosen[key]
            rank = (lambda c: (_when(c), c.order, c.path.stat().st_mtime))
            new, drop = (cand, old) if rank(cand) >= rank(old) else (old, cand)
            chosen[key] = new
            report.duplicates.append((cand.student, new.shown, drop.shown))
        else:
            chosen[key] = cand
    return chosen


def _by_student(chosen: dict[tuple[str, str], Candidate]) -> dict[str, list[Candidate]]:
    """student -> their chosen candidates, one per notebook."""
    by_student: dict[str, list[Candidate]] = {}
    for (student, _), cand in chosen.items():
        by_student.setdefault(student, []).append(cand)
    return by_student


def _install_all(job: _Job, by_student: dict[str, list[Candidate]], dry_run: bool) -> None:
    """Install each student's submission (see :func:`_install`), note the notebooks missing,
    and, unless a dry run, save how the LMS named each submission."""
    meta = _load_meta(job.course)
    for student, cands in sorted(by_student.items()):
        _install(job.course, job.assignment, student, cands, job.report, meta, dry_run)
        missing = [e for e in job.expected if e not in {c.notebook for c in cands}]
        if missing:
            job.report.missing[student] = missing
    if not dry_run:
        write_json(_meta_file(job.course), meta)
        job.report.written = True


def _candidate(course, assignment, rel, p, plugin, lms, expected, known, matcher, report,
               zip_time) -> Candidate | None:
    """What this file is: whose notebook, which one, when; or None (listed as unmatched)."""
    example = PRESETS[lms][1]
    info = plugin.collect(rel)
    if not info or not info.get("file_id"):
        report.unmatched.append((rel, f"the name is not of the {lms} form ({example}); "
                                      "check --lms"))
        return None
    # the student
    name, lms_id = info.get("name") or "", info.get("lms_id") or ""
    login = info.get("login") or info.get("student_id") or ""
    shown_name = name or login
    if matcher is not None:
        student = matcher.match(lms_id=lms_id, name=name, login=login)
        same = matcher.ambiguous(login, name) if student is None else []
        if same:
            report.unmatched.append(
                (rel, f"{shown_name!r} matches several roster students ({', '.join(same)}); "
                      "give the roster their LMS ids (the LMS's own export has them) and import "
                      "it again"))
            return None
        if student is None:
            near = matcher.closest(shown_name)
            report.unmatched.append(
                (rel, f"{shown_name!r}" + (f" (LMS id {lms_id})" if lms_id else "")
                 + " is not on the roster" + (f"; closest: {near}" if near else "")
                 + "; add them to the roster file and `nnkit-course roster import` it again"))
            return None
    else:
        student = login or slug(name)
        if not student:
            report.unmatched.append((rel, "the name does not say whose it is"))
            return None
        if lms == "canvas":
            student = fold(name) or student
    # the notebook
    file_id = os.path.basename(info["file_id"])
    if not file_id.endswith(".ipynb"):
        file_id += ".ipynb"
    file_id, order = _strip_suffix(file_id, expected)
    data = p.read_bytes()
    found = identify(data, known)
    if file_id not in expected:
        other = [a for (a, nb) in known if nb == file_id and a != assignment]
        if found and found[0] == assignment:
            report.notes.append((student, f"{rel} is named {file_id!r} but is this assignment's "
                                          f"{found[1]}: taken as {found[1]}"))
            file_id = found[1]
        elif found or other:
            a = found[0] if found else other[0]
            report.unmatched.append(
                (rel, f"a notebook of assignment {a}, not {assignment}: collect it with "
                      f"`nnkit-course collect {a} ...`"))
            return None
        else:
            guess = difflib.get_close_matches(file_id, expected, n=1, cutoff=0.0)
            report.unmatched.append(
                (rel, f"{file_id!r} is not a notebook of {assignment} ({', '.join(expected)}); "
                      f"rename it {guess[0] if guess else expected[0]} in its place and collect "
                      "again"))
            return None
    elif found and found[0] != assignment:
        report.notes.append((student, f"{rel} looks like a notebook of assignment {found[0]}, "
                                      f"not {assignment} (collected; it will score 0)"))
    when, when_from = _parse_timestamp(info.get("timestamp")), "name"
    if when is None and zip_time is not None:
        when, when_from = zip_time, "zip"
    if when is None:
        when, when_from = datetime.fromtimestamp(p.stat().st_mtime, timezone.utc), "file"
    late = bool(info.get("late"))
    meta = {"lms": lms, "lms_id": lms_id, "name": shown_name, "file": rel,
            "submission_id": info.get("submission_id") or "", "late_in_lms": late}
    return Candidate(student, file_id, when, when_from, p, rel, order, late, meta)


# ---------------------------------------------------------------------------- installing
def _meta_file(course: Course) -> Path:
    return course.state_dir / "submissions.json"


def _load_meta(course: Course) -> dict:
    try:
        return json.loads(_meta_file(course).read_text())
    except (OSError, ValueError):
        return {}


def submission_meta(course: Course) -> dict:
    """``"<assignment>/<student>"`` -> how the LMS named that submission (for feedback --zip)."""
    return _load_meta(course)


def _fmt_time(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC") if t else "unknown time"


def _install(course: Course, assignment: str, student: str, cands: list[Candidate],
             report: CollectReport, meta: dict, dry_run: bool) -> None:
    """Write one student's files into ``submitted/<student>/<assignment>/`` atomically, unless
    what is there is newer; what it replaces goes to ``.nnkit-course/replaced/``."""
    dest = course.submitted_path(student, assignment)
    files = {c.notebook: c.path.read_bytes() for c in cands}
    stamps = [c.when for c in cands if c.when]
    new_time = max(stamps) if stamps else None
    key = f"{assignment}/{student}"
    report.collected[student] = sorted(files)
    keep = None
    if any(c.late for c in cands):
        report.notes.append((student, "marked late by the LMS"))
    if dest.is_dir():
        old = {p.name: p.read_bytes() for p in dest.iterdir() if p.suffix == ".ipynb"}
        if old == files:
            report.unchanged.append(student)
            return
        old_time = course.coursedir.get_existing_timestamp(str(dest))
        if old_time is not None and old_time.tzinfo is None:
            old_time = old_time.replace(tzinfo=timezone.utc)
        if old_time is not None and new_time is not None and new_time < old_time:
            report.kept_newer.append((student, _fmt_time(old_time), _fmt_time(new_time)))
            report.collected.pop(student)
            return
        stamp = (old_time.strftime("%Y%m%dT%H%M%S") if old_time else "undated")
        keep = (course.state_dir / "replaced" / assignment / student
                / f"{stamp}-{uuid.uuid4().hex[:6]}")
        report.replaced.append((student, _fmt_time(old_time), _fmt_time(new_time),
                                None if dry_run else str(keep.relative_to(course.root))))
    if dry_run:
        return
    keep = keep or (course.state_dir / "replaced" / assignment / student
                    / f"undated-{uuid.uuid4().hex[:6]}")   # (used only if dest exists)
    with new_folder(dest, keep=keep) as stage:
        for name, data in files.items():
            (stage / name).write_bytes(data)
        if new_time:
            (stage / "timestamp.txt").write_text(new_time.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    meta[key] = dict(cands[0].meta, time=new_time.isoformat() if new_time else None,
                     files={c.notebook: c.shown for c in cands},
                     late_in_lms=any(c.late for c in cands))
