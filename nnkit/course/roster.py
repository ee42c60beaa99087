"""The class roster: who is enrolled, under which id, and how the LMS names them.

``nnkit-course roster import roster.csv`` reads a CSV with the columns ``id, first_name, last_name,
email`` (nbgrader's own ``db student import`` columns, optionally ``lms_user_id``) or an LMS's own
export, recognised by its header:

- Canvas gradebook export: ``Student`` ("Last, First"), ``ID`` (Canvas user id, the number in the
  download's file names), ``SIS User ID``, ``SIS Login ID``, ``Section``;
- Moodle grades export (``First name``, ``Last name``/``Surname``, ``ID number``, ``Email address``,
  ``Username``) or Moodle's grading worksheet (``Identifier`` "Participant 123", ``Full name``,
  ``Email address``): the number is the one in the download's folder names;
- Blackboard Grade Center export: ``Last Name``, ``First Name``, ``Username``, ``Student ID``.

The rows are normalised to nbgrader's columns and handed to nbgrader's ``db student import``
(:class:`nbgrader.apps.DbStudentImportApp`), so the gradebook lists every student (non-submitters
then score 0 everywhere); the full rows are kept in ``.nnkit-course/roster.json`` for matching the
names in a download and for the LMS grade files.
"""
from __future__ import annotations

import csv
import difflib
import json
import os
import re
import unicodedata
from pathlib import Path

from ..files import write_json
from .coursedir import Course, CourseError
from .gradebook import import_students

FIELDS = ["id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id", "sis_login_id",
          "section"]


def fold(text: str | None) -> str:
    """Lower-case ASCII letters and digits only: 'Müller, José' -> 'mullerjose'."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def slug(text: str) -> str:
    """A folder-safe student id from a name: 'José Müller' -> 'jose-muller'."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z]+", "-", text).strip("-")


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.strip().lstrip("\ufeff").casefold())


def _pick(row: dict, *keys: str) -> str:
    for k in keys:
        v = (row.get(k) or "").strip()
        if v:
            return v
    return ""


def _valid_id(sid: str) -> bool:
    return bool(sid) and "/" not in sid and "\\" not in sid and sid not in (".", "..") \
        and not sid.startswith(".")


def parse_roster(path: Path) -> tuple[str, list[dict]]:
    """(the format recognised, normalised rows); CourseError naming the columns expected."""
    fieldnames, raw = _read_csv(path)
    kind = _roster_format(path, fieldnames)
    rows, seen = [], {}
    for n, r in enumerate(raw, start=2):
        row = _normalised_row(r, kind)
        if row is None:
            continue
        _check_student_id(path, n, row["id"], seen)
        seen[row["id"]] = n
        rows.append(row)
    if not rows:
        raise CourseError(f"{path}: no students in it (only a header?)")
    return kind, rows


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    """The header of the CSV at ``path`` and its rows, keyed by :func:`_key` of the header (UTF-8
    or Latin-1; the delimiter, comma, semicolon or tab, sniffed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as e:
        raise CourseError(f"cannot read the roster {path}: {e.strerror}") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    if not reader.fieldnames:
        raise CourseError(f"{path} is empty: expected a CSV with a header row")
    return reader.fieldnames, [{_key(k): (v or "") for k, v in r.items() if k} for r in reader]


def _roster_format(path: Path, fieldnames: list[str]) -> str:
    """``canvas``, ``moodle``, ``blackboard`` or ``nbgrader``, told by the header; CourseError
    naming the columns expected when it is none of them."""
    keys = {_key(h): h for h in fieldnames if h}
    if "sisuserid" in keys or "sisloginid" in keys or ("student" in keys and "id" in keys):
        return "canvas"
    if "identifier" in keys or "idnumber" in keys or "emailaddress" in keys or "surname" in keys:
        return "moodle"
    if "username" in keys and ("lastname" in keys or "firstname" in keys):
        return "blackboard"
    if "id" in keys:
        return "nbgrader"
    raise CourseError(
        f"{path}: cannot tell which column is the student id (columns: "
        f"{', '.join(fieldnames)}); expected nbgrader's `id, first_name, last_name, "
        "email` or an LMS export (Canvas: Student, ID, SIS User ID, SIS Login ID; Moodle: "
        "First name, Last name, ID number, Email address; Blackboard: Last Name, First Name, "
        "Username)")


def _normalised_row(r: dict, kind: str) -> dict | None:
    """A row in the columns of :data:`FIELDS`, or None for a row that is no student (an empty
    one, Canvas's "Points Possible" row and its test student)."""
    name = _pick(r, "student", "name", "fullname")
    if kind == "canvas" and (not name or "pointspossible" in fold(name)
                             or fold(name) == "studenttest"):
        return None
    first, last = _first_and_last_name(r, name)
    email = _pick(r, "email", "emailaddress", "mail")
    sid, lms = _ids(r, kind, email)
    if not sid:
        sid = email.split("@")[0] if email else slug(f"{first} {last}")
    if not any(r.values()):
        return None
    return {"id": sid, "first_name": first, "last_name": last, "email": email,
            "lms_user_id": lms, "sis_user_id": _pick(r, "sisuserid", "studentid"),
            "sis_login_id": _pick(r, "sisloginid", "username"),
            "section": _pick(r, "section")}


def _first_and_last_name(r: dict, name: str) -> tuple[str, str]:
    """(first, last) from their columns, else from the full ``name``: "Last, First" or
    "First Last" (a single word is a first name)."""
    first = _pick(r, "firstname", "first", "givenname")
    last = _pick(r, "lastname", "surname", "last", "familyname")
    if name and not (first or last):
        if "," in name:
            last, first = (s.strip() for s in name.split(",", 1))
        else:
            first, _, last = name.rpartition(" ")
            if not first:
                first, last = last, ""
    return first, last


def _ids(r: dict, kind: str, email: str) -> tuple[str, str]:
    """(student id, LMS user id) from the columns of a roster of this ``kind``; either may be
    empty."""
    lms = ""
    if kind == "canvas":
        sid = _pick(r, "sisloginid", "sisuserid", "id")
        lms = _pick(r, "id")
    elif kind == "moodle":
        sid = _pick(r, "idnumber", "username", "id") or email.split("@")[0]
        m = re.search(r"\d+", _pick(r, "identifier"))
        lms = m.group(0) if m else _pick(r, "lmsuserid", "userid")
    elif kind == "blackboard":
        sid = _pick(r, "username", "studentid")
    else:
        sid = _pick(r, "id")
        lms = _pick(r, "lmsuserid")
    return sid, lms


def _check_student_id(path: Path, n: int, sid: str, seen: dict) -> None:
    """CourseError unless ``sid``, on line ``n``, is a usable id and on no line of ``seen`` yet."""
    if not _valid_id(sid):
        raise CourseError(f"{path}, line {n}: no usable student id ({sid!r}); every row needs "
                          "an id without '/' (or an email)")
    if sid in seen:
        raise CourseError(f"{path}, line {n}: student id {sid!r} already on line {seen[sid]}")


def _roster_file(course: Course) -> Path:
    return course.state_dir / "roster.json"


def load_roster(course: Course) -> list[dict] | None:
    """The imported roster, or None when none was imported."""
    try:
        return json.loads(_roster_file(course).read_text())["students"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as e:
        raise CourseError(f"{_roster_file(course)} is unreadable ({e}); import the roster again "
                          "with `nnkit-course roster import FILE`") from None


def import_roster(course: Course, path: str | os.PathLike) -> list[str]:
    """Import ``path`` into the gradebook (nbgrader's db student import) and roster.json."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path} does not exist: pass the class list exported from the LMS "
                          "(CSV) or a CSV with columns id, first_name, last_name, email")
    if not course.gradebook_exists():
        raise CourseError(f"no gradebook ({course.db_url}): run `nnkit-course release` first")
    kind, rows = parse_roster(path)
    old = {s["id"] for s in (load_roster(course) or [])}
    extra = import_students(course, rows)
    write_json(_roster_file(course), {"source": str(path), "format": kind, "students": rows})
    new = [r["id"] for r in rows if r["id"] not in old]
    out = [f"roster: {len(rows)} student(s) from {path} ({kind} columns), {len(new)} new; "
           f"kept in the gradebook and {_roster_file(course)}"]
    if extra:
        out.append(f"  in the gradebook but not on this roster: {', '.join(extra)} "
                   "(their grades are kept; `grades` lists them apart)")
    return out


class Matcher:
    """Find the roster student an LMS file belongs to (by LMS id, id, email or name)."""

    def __init__(self, roster: list[dict]):
        self.roster = roster
        self.by_lms = {r["lms_user_id"]: r["id"] for r in roster if r.get("lms_user_id")}
        self.by_id = {fold(r["id"]): r["id"] for r in roster}
        self.by_name: dict[str, set] = {}
        for r in roster:
            keys = {fold(r["first_name"] + r["last_name"]), fold(r["last_name"] + r["first_name"]),
                    fold(r.get("email", "").split("@")[0]), fold(r.get("email", "")),
                    fold(r.get("sis_login_id", ""))}
            for k in keys - {""}:
                self.by_name.setdefault(k, set()).add(r["id"])
        self.labels = {r["id"]: f"{r['id']} ({r['first_name']} {r['last_name']})".replace(" ()", "")
                       for r in roster}

    def match(self, *, lms_id: str = "", name: str = "", login: str = "") -> str | None:
        if lms_id and lms_id in self.by_lms:
            return self.by_lms[lms_id]
        for text in (login, name):
            k = fold(text)
            if not k:
                continue
            if k in self.by_id:
                return self.by_id[k]
            hits = self.by_name.get(k, set())
            if len(hits) == 1:
                return next(iter(hits))
        return None

    def ambiguous(self, *texts: str) -> list[str]:
        """Roster students sharing this name (the LMS id tells them apart)."""
        for text in texts:
            hits = self.by_name.get(fold(text), set())
            if len(hits) > 1:
                return sorted(hits)
        return []

    def closest(self, text: str) -> str | None:
        keys = {}
        for k, ids in self.by_name.items():
            if len(ids) == 1:
                keys[k] = next(iter(ids))
        for k, sid in self.by_id.items():
            keys.setdefault(k, sid)
        hit = difflib.get_close_matches(fold(text), list(keys), n=1, cutoff=0.5)
        return self.labels[keys[hit[0]]] if hit else None
