"""A synthetic graded class for ``nnkit-course report`` (issue 19), built without running a kernel.

:func:`make_class` writes a course folder (``nbgrader_config.py``, ``solutions/`` and ``exercises/``
copied from the repository, a roster, a gradebook and autograded notebooks) as ``nnkit-course
autograde`` would leave it:

- every submitting student writes the solution in their own way: random extra statements (with
  their own constants, strings and temporary names) in every answer cell and their own written
  answers -- "independently written correct answers";
- planted mistakes (tests/assignment_mutations.py and tests/cheat_mutations.py, those breaking one
  part) are given to a known number of students each; their broken part scores 0 and carries the
  failure message the real check gives that mistake (the solution notebook's cells run in this
  process with the mistake planted: numpy only, ~50 ms a mistake; nnkit.grading.policy for the
  answers calling nnkit's own implementation);
- copied pairs: the copier takes another student's answers, renames the variables, reorders the
  independent lines, adds comments and spaces;
- written answers get hand-graded scores full / half / zero in known numbers;
- a few rostered students submit nothing, and one student not on the roster does.

It returns the plan (:class:`Plan`): what a correct report must find. The gradebook rows are
inserted with SQL in one transaction (nbgrader's ORM takes ~40 ms a submission).
"""
from __future__ import annotations

import ast
import builtins
import json
import random
import re
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path


try:
    from assignment_mutations import MUTATIONS
except ImportError:  # imported as tests.synthetic_class
    from tests.assignment_mutations import MUTATIONS

REPO = Path(__file__).resolve().parents[1]
COURSE_ID = "synthetic-course"

# ---------------------------------------------------------------------------- failure messages
#: assignments whose checks run in a second in this process (numpy only): their planted mistakes
#: carry the graders' real failure messages
REAL = ("perceptron", "logistic_regression", "backprop", "activations", "cnn_rnn")
_CACHE: dict = {}


def _cells(assignment: str) -> list:
    return json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text())["cells"]


def real_failures(assignment: str, name: str) -> dict:
    """``{test cell: message}``: the real checks of the solution notebook, run in this process on
    the notebook with the planted mistake (the message a student with that mistake gets); for an
    answer calling nnkit's own implementation, :func:`nnkit.grading.policy.violations`."""
    import contextlib
    import io
    import warnings

    import nbformat
    key = (assignment, name)
    if key in _CACHE:
        return _CACHE[key]
    mu = _mutation(assignment, name)
    nb = nbformat.reads(json.dumps({"cells": _cells(assignment), "metadata": {}, "nbformat": 4,
                                    "nbformat_minor": 5}), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == mu.cell:
            assert mu.old in cell.source, f"{assignment}/{name}: {mu.old!r} not in {mu.cell}"
            cell.source = cell.source.replace(mu.old, mu.new, 1)
    out: dict = {}
    if name.startswith("cheat_"):
        from nnkit.grading.policy import policy_for, violations
        sol = nbformat.reads(json.dumps({"cells": _cells(assignment), "metadata": {},
                                         "nbformat": 4, "nbformat_minor": 5}), as_version=4)
        # (the parts the cheat breaks: the policy may also name cells that merely call the
        # cheating function, which the autograder lets through with its trusted version)
        out = {g: m for g, m in violations(nb, policy_for(sol)).items() if g in mu.breaks}
    else:  # (matplotlib's backend is Agg: tests/conftest.py)
        ns = {"__name__": "__main__"}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            md = cell.metadata.get("nbgrader", {})
            src = "\n".join("" if re.match(r"\s*[%!]", ln) else ln for ln in cell.source.split("\n"))
            try:
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exec(compile(src, md.get("grade_id", "cell"), "exec"), ns)
            except Exception as exc:   # noqa: BLE001 - a failing check is what we want
                if md.get("grade") and not md.get("solution"):
                    out[md["grade_id"]] = str(exc) if isinstance(exc, AssertionError) \
                        else f"{type(exc).__name__}: {exc}"
            if md.get("grade_id") in mu.breaks:
                break          # the rest of the notebook cannot change this part's message
    assert set(out) == set(mu.breaks), f"{assignment}/{name}: failed {sorted(out)}, expected " \
                                       f"{sorted(mu.breaks)}"
    _CACHE[key] = out
    return out


def _message(assignment: str, name: str) -> tuple[str, str]:
    """(the broken test cell, its failure message) of a planted mistake: the real message where
    the checks are cheap (:data:`REAL`), else the mistake's ``says`` words (a benchmark's class
    needs counts there, not exact messages)."""
    if assignment in REAL:
        ((part, message),) = real_failures(assignment, name).items()
        return part, message
    mu = _mutation(assignment, name)
    return sorted(mu.breaks)[0], f"{name}: " + "; ".join(mu.says or ("failed",))


def test_plan() -> dict:
    """The test's class: every planted mistake of three assignments that breaks one part, the
    answers calling nnkit's own implementation too, in different numbers of students."""
    counts = [6, 4, 3, 2, 5, 1, 3, 2, 4, 2]
    return {a: {name: counts[i % len(counts)] for i, name in enumerate(single_part(a))}
            for a in ("perceptron", "logistic_regression", "backprop")}


def single_part(assignment: str) -> list[str]:
    """The planted mistakes of an assignment that break exactly one part, on their own."""
    try:
        from cheat_mutations import CHEATS
    except ImportError:  # imported as tests.synthetic_class
        from tests.cheat_mutations import CHEATS
    return [mu.name for mu in MUTATIONS.get(assignment, []) + CHEATS.get(assignment, [])
            if len(mu.breaks) == 1 and not mu.group]


def benchmark_plan(assignments, n_students: int) -> dict:
    """Every planted mistake with a single broken part, each given to 2% of the class."""
    per = max(1, n_students // 50)
    return {a: {name: per for name in single_part(a)} for a in assignments}


def _mutation(assignment: str, name: str):
    if name.startswith("cheat_"):
        try:
            from cheat_mutations import CHEATS
        except ImportError:
            from tests.cheat_mutations import CHEATS
        pool = CHEATS.get(assignment, [])
    else:
        pool = MUTATIONS.get(assignment, [])
    for mu in pool:
        if mu.name == name:
            return mu
    raise KeyError(f"no planted mistake {name!r} for {assignment}")


# ---------------------------------------------------------------------------- writing answers
_WORDS = ("gradient weight bias neuron layer epoch batch loss sample input output error update "
          "learning rate because the network each step signal derivative chain rule linear "
          "separable feature hidden unit converge minimum data noise").split()


def _snippet(rng: random.Random, tag: str) -> list[str]:
    """One idiosyncratic statement a student might write (own constants, names and strings)."""
    c, c2 = rng.randint(2, 999), rng.randint(2, 99)
    t = f"{rng.choice(['tmp', 'aux', 'val', 'check', 'buf', 'scratch', 'my'])}_{tag}{rng.randint(0, 99)}"
    w = " ".join(rng.sample(_WORDS, 3))
    kind = rng.randrange(8)
    if kind == 0:
        return [f"{t} = np.zeros({c}) + {c2}"]
    if kind == 1:
        return [f"assert {c} > {c2 - 100}, '{w}'"]
    if kind == 2:
        return [f"{t} = [{c} * i + {c2} for i in range({c2})]"]
    if kind == 3:
        return [f"{t} = {{'{w}': {c}, 'n': {c2}}}"]
    if kind == 4:
        return [f"{t} = sum(range({c})) - {c2}"]
    if kind == 5:
        return [f"{t} = max({c}, {c2}) % {rng.randint(2, 50)}"]
    if kind == 6:
        return [f"for k_{tag} in range({c2 % 7 + 1}):", f"    {t} = k_{tag} * {c}"]
    return [f"{t} = '{w}'.split()[{c2 % 3}] * {c % 5 + 1}"]


@dataclass
class Answer:
    """A student's version of one answer cell: the solution's code with their own insertions."""
    base: str                          # solution source, mutation applied, markers kept
    blocks: list                       # per BEGIN SOLUTION marker: list of statements (lines)

    def render(self, *, moved: bool = False) -> str:
        out, k = [], 0
        lines = self.base.split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.strip() == "### BEGIN SOLUTION":
                indent = line[:len(line) - len(line.lstrip())]
                block = self.blocks[k] if k < len(self.blocks) else []
                k += 1
                ins = [indent + s for stmt in block for s in stmt]
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                simple = (nxt.startswith(indent) and not nxt[len(indent):].startswith((" ", "#"))
                          and not nxt.rstrip().endswith((":", "(", "[", ",", "\\"))
                          and nxt.count("(") == nxt.count(")") and nxt.count("[") == nxt.count("]")
                          and not nxt.strip().startswith(("return", "###", "raise")))
                if moved and simple:       # the copier puts the block after the first statement
                    out.append(nxt)
                    out += ins
                    i += 2
                    continue
                out += ins
                i += 1
                continue
            if line.strip() != "### END SOLUTION":
                out.append(line)
            i += 1
        return "\n".join(out)


def _answer(rng, source: str, tag: str) -> Answer:
    n = source.count("### BEGIN SOLUTION")
    blocks = [[_snippet(rng, f"{tag}{b}{j}") for j in range(rng.randint(2, 4))] for b in range(n)]
    return Answer(source, blocks)


def _disguise(rng: random.Random, source: str, keep: set) -> str:
    """What a copier does: rename the variables, comments, extra spaces."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    names -= keep
    mapping = {n: f"{n}_{rng.choice(['v', 'my', 'z', 'q'])}{rng.randint(0, 9)}" for n in names}
    if mapping:
        pat = re.compile(r"(?<![\w.'\"])(" + "|".join(map(re.escape, sorted(mapping, key=len,
                                                                             reverse=True)))
                         + r")\b(?!\s*=[^=])")
        # keyword arguments (name=...) are left alone; other uses are renamed
        out = []
        for line in source.split("\n"):
            code, hash_, comment = line.partition("#")
            code = pat.sub(lambda m: mapping[m.group(1)], code)
            code = re.sub(r"^(\s*)(\w+)(\s*=[^=])",
                          lambda m: m.group(1) + mapping.get(m.group(2), m.group(2)) + m.group(3),
                          code)
            out.append(code + hash_ + comment)
        source = "\n".join(out)
    lines = []
    for line in source.split("\n"):
        if line.strip() and rng.random() < 0.3 and not line.rstrip().endswith(("\\", ",", "(")):
            line = line + "   # " + " ".join(rng.sample(_WORDS, 2))
        lines.append(re.sub(r"(\w) = (\S)", r"\1  =  \2", line, count=1))
    return "\n".join(lines)


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(25, 40))).capitalize() + "."


# ---------------------------------------------------------------------------- the class
@dataclass
class Plan:
    root: Path
    assignments: list
    rostered: list
    not_rostered: list
    submitted: dict                    # assignment -> set of students
    part_scores: dict                  # assignment -> {student: {part key: score}}
    part_max: dict                     # assignment -> {part key: max}
    mistakes: dict                     # assignment -> {mutation: [students]}
    messages: dict                     # assignment -> {mutation: (part key, message)}
    copies: dict = field(default_factory=dict)   # assignment -> [(original, copier)]


def _src(cell) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def make_class(root: Path, assignments=("perceptron", "logistic_regression", "backprop"),
               n_students: int = 60, plan: dict | None = None, copies: dict | None = None,
               no_submission: int = 3, seed: int = 0) -> Plan:
    """Write the class under ``root``; ``plan``: assignment -> {mutation: number of students}
    (default :func:`test_plan`); ``copies``: assignment -> number of copied pairs."""
    from nbgrader.api import Gradebook

    from nnkit.course.gradebook import _create_schema
    rng = random.Random(seed)
    plan = test_plan() if plan is None else plan
    copies = {"backprop": 2} if copies is None else copies
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        "c.CourseDirectory.source_directory = 'solutions'\n"
        "c.CourseDirectory.release_directory = 'exercises'\n")
    for a in assignments:
        for d in ("solutions", "exercises"):
            shutil.copytree(REPO / d / a, root / d / a, dirs_exist_ok=True)
    students = [f"s{i:03d}" for i in range(n_students)]
    outsider = "visitor01"
    roster = [{"id": s, "first_name": f"First{s}", "last_name": f"Last{s}",
               "email": f"{s}@uni.example", "lms_user_id": str(1000 + i), "sis_user_id": "",
               "sis_login_id": "", "section": ""} for i, s in enumerate(students)]
    (root / ".nnkit-course").mkdir(exist_ok=True)
    (root / ".nnkit-course" / "roster.json").write_text(json.dumps(
        {"source": "synthetic", "format": "nbgrader", "students": roster}))
    # the gradebook: structure through nbgrader's API, the class's rows by SQL
    db = root / "gradebook.db"
    _create_schema(f"sqlite:///{db}", "e43177bfe90b")
    sols = {a: json.loads((REPO / "solutions" / a / f"{a}.ipynb").read_text()) for a in assignments}
    with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
        for a in assignments:
            gb.update_or_create_assignment(a)
            gb.update_or_create_notebook(a, a)
            for cell in sols[a]["cells"]:
                md = cell["metadata"].get("nbgrader", {})
                if md.get("grade"):
                    gb.update_or_create_grade_cell(md["grade_id"], a, a, max_score=md["points"],
                                                   cell_type=cell["cell_type"])
                if md.get("solution"):
                    gb.update_or_create_solution_cell(md["grade_id"], a, a)
    con = sqlite3.connect(db)
    with con:
        con.executemany("INSERT INTO student (id, first_name, last_name, email, lms_user_id) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [(r["id"], r["first_name"], r["last_name"], r["email"], r["lms_user_id"])
                         for r in roster] + [(outsider, "Vis", "Itor", "", "")])
    keep = set(dir(builtins)) | {"np", "torch", "nn", "F"}
    result = Plan(root, list(assignments), students, [outsider], {}, {}, {}, {}, {}, {})
    for ai, a in enumerate(assignments):
        nb = sols[a]
        cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
                 if c["metadata"].get("nbgrader", {}).get("grade_id")}
        for c in nb["cells"]:
            for node in ast.walk(ast.parse(_src(c))) if c["cell_type"] == "code" and \
                    "%" not in _src(c) else []:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    keep.add(node.name)
        graded = [g for g, c in cells.items() if c["metadata"]["nbgrader"].get("grade")]
        result.part_max[a] = {f"{a}/{g}": float(cells[g]["metadata"]["nbgrader"]["points"])
                              for g in graded}
        # who does what
        absent = set(students[-no_submission:]) if ai == len(assignments) - 1 else set()
        pool = [s for s in students if s not in absent]
        rng.shuffle(pool)
        mistakes, kinds, k = {}, {}, 0
        for mname, count in (plan.get(a) or {}).items():
            mistakes[mname] = sorted(pool[k:k + count])
            k += count
            kinds[mname] = (f"{a}/{_message(a, mname)[0]}", _message(a, mname)[1])
        correct = pool[k:]
        pairs = [(correct[2 * i], correct[2 * i + 1]) for i in range(copies.get(a, 0))]
        result.mistakes[a], result.messages[a], result.copies[a] = mistakes, kinds, pairs
        of = {s: m for m, ss in mistakes.items() for s in ss}
        submitters = [s for s in students if s not in absent] + [outsider]
        result.submitted[a] = set(submitters)
        # each student's answers
        answers: dict = {}
        for s in submitters:
            srng = random.Random(f"{seed}/{a}/{s}")
            mine = {}
            for g, c in cells.items():
                md = c["metadata"]["nbgrader"]
                if not md.get("solution"):
                    continue
                if c["cell_type"] == "markdown":
                    mine[g] = _text(srng)
                    continue
                src = _src(c)
                if s in of and _mutation(a, of[s]).cell == g:
                    mu = _mutation(a, of[s])
                    assert mu.old in src, f"{a}/{of[s]}: {mu.old!r} is not in the solution cell {g}"
                    src = src.replace(mu.old, mu.new, 1)
                mine[g] = _answer(srng, src, s[1:]).render()
            answers[s] = mine
        for orig, _ in pairs:            # markup in an answer must reach the page as text
            for g, c in cells.items():
                if c["metadata"]["nbgrader"].get("solution") and c["cell_type"] == "markdown":
                    answers[orig][g] += ("\n<script>alert('copied')</script> <img src="
                                         "'https://evil.example/x.png'>")
        for orig, copier in pairs:       # the copier: the original's answers, disguised
            crng = random.Random(f"{seed}/{a}/{copier}/copy")
            mine = {}
            for g, c in cells.items():
                md = c["metadata"]["nbgrader"]
                if not md.get("solution"):
                    continue
                if c["cell_type"] == "markdown":
                    words = answers[orig][g].split()
                    words[len(words) // 2] = "indeed"
                    mine[g] = " ".join(words)
                    continue
                srng = random.Random(f"{seed}/{a}/{orig}")   # replay the original's choices
                ans = None
                for g2, c2 in cells.items():
                    if c2["metadata"]["nbgrader"].get("solution") and c2["cell_type"] == "code":
                        x = _answer(srng, _src(c2), orig[1:])
                        if g2 == g:
                            ans = x
                    elif c2["metadata"]["nbgrader"].get("solution"):
                        _text(srng)
                for block in ans.blocks:
                    crng.shuffle(block)
                mine[g] = _disguise(crng, ans.render(moved=True), keep)
            answers[copier] = mine
        # scores, messages, notebooks
        scores = {}
        manual = [g for g in graded if cells[g]["cell_type"] == "markdown"]
        nb_rows = []
        for i, s in enumerate(submitters):
            sc = {f"{a}/{g}": result.part_max[a][f"{a}/{g}"] for g in graded}
            for g in manual:
                full = result.part_max[a][f"{a}/{g}"]
                sc[f"{a}/{g}"] = 0.0 if i % 6 == 0 else (full / 2 if i % 6 == 1 else full)
            failing = {}
            if s in of:
                part, message = _message(a, of[s])
                sc[f"{a}/{part}"] = 0.0
                failing[part] = message
            scores[s] = sc
            out = json.loads(json.dumps(nb))
            for c in out["cells"]:
                md = c["metadata"].get("nbgrader", {})
                g = md.get("grade_id")
                if g in answers[s]:
                    c["source"] = answers[s][g]
                if md.get("grade") and not md.get("solution") and c["cell_type"] == "code":
                    if g in failing:
                        c["metadata"]["nnkit"] = {"verdict": {"passed": False, "reason": failing[g]}}
                        c["outputs"] = [{"output_type": "error", "ename": "GradingError",
                                         "evalue": failing[g], "traceback": []}]
                    else:
                        why = f"{g}: passed (3 cases)"
                        c["metadata"]["nnkit"] = {"verdict": {"passed": True, "reason": why}}
                        c["outputs"] = [{"output_type": "stream", "name": "stdout",
                                         "text": f"[grader] {why}\n"}]
            d = root / "autograded" / s / a
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{a}.ipynb").write_text(json.dumps(out))
            nb_rows.append((s, sc))
        result.part_scores[a] = scores
        _insert_scores(con, a, nb_rows, {g: cells[g]["cell_type"] for g in graded})
    con.close()
    return result


def _insert_scores(con, assignment: str, rows, cell_types: dict) -> None:
    aid = con.execute("SELECT id FROM assignment WHERE name = ?", (assignment,)).fetchone()[0]
    nid = con.execute("SELECT id FROM notebook WHERE name = ? AND assignment_id = ?",
                      (assignment, aid)).fetchone()[0]
    cell_ids = dict(con.execute("SELECT b.name, b.id FROM base_cell b JOIN grade_cells g ON "
                                "g.id = b.id WHERE b.notebook_id = ?", (nid,)))
    subs, snbs, grades = [], [], []
    for student, sc in rows:
        sid, snid = uuid.uuid4().hex, uuid.uuid4().hex
        subs.append((sid, aid, student, "2026-11-19 10:00:00.000000"))
        snbs.append((snid, sid, nid, False, None))
        for key, score in sc.items():
            g = key.split("/", 1)[1]
            manual = cell_types[g] == "markdown"
            grades.append((uuid.uuid4().hex, snid, cell_ids[g], None if manual else score,
                           score if manual else None, None, False))
    with con:
        con.executemany("INSERT INTO submitted_assignment (id, assignment_id, student_id, "
                        "timestamp, extension) VALUES (?, ?, ?, ?, NULL)", subs)
        con.executemany("INSERT INTO submitted_notebook (id, assignment_id, notebook_id, flagged, "
                        "late_submission_penalty) VALUES (?, ?, ?, ?, ?)", snbs)
        con.executemany("INSERT INTO grade (id, notebook_id, cell_id, auto_score, manual_score, "
                        "extra_credit, needs_manual_grade) VALUES (?, ?, ?, ?, ?, ?, ?)", grades)
