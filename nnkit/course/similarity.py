"""Similar submissions: which students' answer cells are suspiciously alike (MOSS-style).

Each answer cell (an nbgrader solution cell) is reduced to fingerprints that survive what a copier
does to hide a copy:

- **code** is parsed (IPython magics and shell lines dropped) and its AST normalised: every
  identifier the student chose (variables, arguments, their own functions) becomes ``V``, strings
  become ``S``, docstrings and comments vanish (they are not in the AST), so renaming, reformatting
  and comments change nothing. Names that are not the student's to choose stay: builtins, imported
  modules (``np``, ``torch``), attributes (``.sum``, ``.T``) and keyword names (``keepdims=``).
  Each statement is fingerprinted on its own -- its whole normalised form plus the winnowed k-grams
  of its token stream (Schleimer, Wilkerson & Aiken, "Winnowing", SIGMOD 2003, what MOSS uses) -- so
  reordering statements changes nothing either;
- **written answers** (markdown) by the winnowed k-grams of their lower-cased words.

Fingerprints are keyed by the cell, so code only matches code of the same question. Code every
correct answer shares is discounted: fingerprints of the released template and of the instructor's
solution, and those found in more than ``common`` of the class (the one-liners everyone writes).
What is left is indexed (fingerprint -> students, a sparse student x fingerprint matrix whose
product with its transpose counts the shared fingerprints of exactly the pairs that share one:
an inverted index, never all pairs of full sets). Pairs are ranked by
``(Jaccard + containment) / 2`` of their remaining fingerprints.

It reads notebooks only and never touches the gradebook.
"""
from __future__ import annotations

import ast
import builtins
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np

K_CODE = 5        # k-gram length, in AST tokens
W_CODE = 4        # winnowing window
K_TEXT = 4        # k-gram length, in words (written answers)
W_TEXT = 3
MIN_SHARED = 4    # a pair must share at least this many (discounted) fingerprints to be listed

BUILTINS = frozenset(dir(builtins))
_MAGIC = re.compile(r"^\s*([%!].*|\w+\s*=\s*!.*)$")
_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_SKIP_FIELDS = frozenset({"ctx", "type_comment", "kind", "lineno", "col_offset", "end_lineno",
                          "end_col_offset"})


def _h(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def strip_magics(source: str) -> str:
    """Source without IPython magics and shell lines (they are not Python)."""
    return "\n".join("" if _MAGIC.match(line) else line for line in source.split("\n"))


def imported_names(sources) -> set[str]:
    """Names bound by import statements in ``sources`` (any that parse)."""
    out = set()
    for src in sources:
        try:
            tree = ast.parse(strip_magics(src))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                out.update(a.asname or a.name for a in node.names)
    return out


def _tokens(node, keep: frozenset, out: list) -> None:
    """Normalised tokens of ``node`` without the statements nested in it."""
    if isinstance(node, ast.Name):
        out.append(node.id if node.id in keep else "V")
        return
    if isinstance(node, ast.arg):
        out.append("V")
        if node.annotation is not None:
            _tokens(node.annotation, keep, out)
        return
    if isinstance(node, ast.Constant):
        v = node.value
        out.append("S" if isinstance(v, (str, bytes)) else repr(v))
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out.append(type(node).__name__)
        for f in ("args", "bases", "keywords", "decorator_list", "returns"):
            v = getattr(node, f, None)
            for c in (v if isinstance(v, list) else [v] if v is not None else []):
                _tokens(c, keep, out)
        return
    out.append(type(node).__name__)
    for name, value in ast.iter_fields(node):
        if name in _SKIP_FIELDS or name in _BODY_FIELDS:
            continue
        if isinstance(value, ast.AST):
            _tokens(value, keep, out)
        elif isinstance(value, list):
            for c in value:
                if isinstance(c, ast.AST):
                    _tokens(c, keep, out)
                elif c is not None:
                    out.append(str(c))
        elif isinstance(value, str):   # attribute names, keyword names, operators
            out.append(value)
        elif value is not None:
            out.append(repr(value))


def _is_docstring(stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
        and isinstance(stmt.value.value, str)


def _statements(tree):
    """Every statement of ``tree``, nested ones included (docstrings left out)."""
    stack = list(reversed(tree.body))
    while stack:
        s = stack.pop()
        if _is_docstring(s):
            continue
        yield s
        nested = []
        for f in _BODY_FIELDS:
            for c in getattr(s, f, None) or []:
                if isinstance(c, ast.excepthandler):
                    nested.append(c)          # the handler's header is a statement of its own
                elif isinstance(c, ast.stmt):
                    nested.append(c)
                elif hasattr(c, "body"):       # match_case
                    nested.extend(c.body)
        if isinstance(s, ast.excepthandler):
            nested.extend(s.body)
        stack.extend(reversed(nested))


def winnow(hashes: list[int], w: int) -> set[int]:
    """The winnowing selection: the minimum of each window of ``w`` consecutive hashes."""
    if len(hashes) <= w:
        return {min(hashes)} if hashes else set()
    return {min(hashes[i:i + w]) for i in range(len(hashes) - w + 1)}


def _kgram_hashes(tokens: list[str], k: int) -> list[int]:
    if len(tokens) < k:
        return [_h(" ".join(tokens))] if tokens else []
    return [_h(" ".join(tokens[i:i + k])) for i in range(len(tokens) - k + 1)]


def code_fingerprints(source: str, keep: frozenset, key: str = "") -> dict[int, tuple[int, int]]:
    """{fingerprint: (first line, last line)} of one code cell; ``key`` (the cell) salts them.
    A cell that does not parse is fingerprinted line by line on its whitespace-free text."""
    out: dict[int, tuple[int, int]] = {}
    salt = _h(f"{key}|K")          # k-grams of different cells never match
    src = strip_magics(source)
    try:
        tree = ast.parse(src)
    except (SyntaxError, ValueError):
        for n, line in enumerate(src.split("\n"), start=1):
            t = re.sub(r"#.*$|\s+", "", line)
            if t:
                out.setdefault(_h(f"{key}|L|{t}"), (n, n))
        return out
    for s in _statements(tree):
        toks: list[str] = []
        _tokens(s, keep, toks)
        first = s.lineno
        body = [c for f in _BODY_FIELDS for c in (getattr(s, f, None) or []) if hasattr(c, "lineno")]
        last = (body[0].lineno - 1) if body else (s.end_lineno or s.lineno)
        span = (first, max(first, last))
        out.setdefault(_h(f"{key}|S|{' '.join(toks)}"), span)
        for fp in winnow(_kgram_hashes(toks, K_CODE), W_CODE):
            out.setdefault(fp ^ salt, span)
    return out


_WORD = re.compile(r"[a-z0-9]+")


def text_fingerprints(text: str, key: str = "") -> dict[int, tuple[int, int]]:
    """{fingerprint: (first line, last line)} of a written answer: winnowed word k-grams."""
    words, lines = [], []
    for n, line in enumerate(text.split("\n"), start=1):
        for w in _WORD.findall(line.lower()):
            words.append(w)
            lines.append(n)
    out: dict[int, tuple[int, int]] = {}
    if not words:
        return out
    hashes = _kgram_hashes(words, K_TEXT)
    chosen = winnow(hashes, W_TEXT)
    salt = _h(f"{key}|T")
    for i, hv in enumerate(hashes):
        if hv in chosen:
            out.setdefault(hv ^ salt, (lines[i], lines[min(i + K_TEXT, len(lines)) - 1]))
    return out


def cell_fingerprints(cell_type: str, source: str, keep: frozenset, key: str):
    if cell_type == "markdown":
        return text_fingerprints(source, key)
    return code_fingerprints(source, keep, key)


# ---------------------------------------------------------------------------- the class
@dataclass
class Submission:
    student: str
    cells: dict          # grade_id -> (cell_type, source)
    fps: dict = field(default_factory=dict)   # fingerprint -> (grade_id, first, last)


@dataclass
class Pair:
    a: str
    b: str
    shared: int
    jaccard: float
    containment: float
    score: float
    regions: dict = field(default_factory=dict)  # grade_id -> ([lines of a], [lines of b])


def fingerprint(sub: Submission, keep: frozenset) -> Submission:
    fps = {}
    for gid, (ctype, src) in sub.cells.items():
        for fp, (lo, hi) in cell_fingerprints(ctype, src, keep, gid).items():
            fps.setdefault(fp, (gid, lo, hi))
    sub.fps = fps
    return sub


def common_fingerprints(cells: dict, keep: frozenset) -> set[int]:
    """Fingerprints of ``{grade_id: [(cell_type, source), ...]}`` (template, solution)."""
    out = set()
    for gid, versions in cells.items():
        for ctype, src in versions:
            out.update(cell_fingerprints(ctype, src, keep, gid))
    return out


def similar_pairs(subs: list[Submission], discount: set[int], *, common: float = 0.2,
                  min_shared: int = MIN_SHARED, top: int | None = 20) -> list[Pair]:
    """The most similar pairs of ``subs`` (already fingerprinted), best first.

    ``discount``: fingerprints every correct answer may share (template, solution); fingerprints
    held by more than ``common`` of the submissions (and more than 3 of them) are discounted too.
    """
    from scipy import sparse
    n = len(subs)
    if n < 2:
        return []
    ids: dict[int, int] = {}
    rows, cols = [], []
    for i, s in enumerate(subs):
        for fp in s.fps:
            if fp in discount:
                continue
            j = ids.setdefault(fp, len(ids))
            rows.append(i)
            cols.append(j)
    if not ids:
        return []
    X = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n, len(ids)))
    df = np.asarray(X.sum(axis=0)).ravel()
    cap = max(3, common * n)
    keep_cols = np.flatnonzero(df <= cap)
    X = X[:, keep_cols].tocsr()
    size = np.asarray(X.sum(axis=1)).ravel().astype(float)
    shared = sparse.triu(X @ X.T, k=1).tocoo()      # only pairs sharing a fingerprint
    mask = shared.data >= min_shared
    a, b, s = shared.row[mask], shared.col[mask], shared.data[mask].astype(float)
    if not len(s):
        return []
    union = size[a] + size[b] - s
    jac = s / union
    con = s / np.minimum(size[a], size[b])
    score = (jac + con) / 2
    order = np.lexsort((-s, -score))
    if top is not None:
        order = order[:top]
    col_of = np.full(len(ids), -1)
    col_of[keep_cols] = np.arange(len(keep_cols))
    valid = {fp for fp, j in ids.items() if col_of[j] >= 0}
    out = []
    for k in order:
        sa, sb = subs[a[k]], subs[b[k]]
        common_fp = (sa.fps.keys() & sb.fps.keys()) & valid
        regions: dict = {}
        for fp in common_fp:
            ga, la, ha = sa.fps[fp]
            gb, lb, hb = sb.fps[fp]
            ra, rb = regions.setdefault(ga, (set(), set()))
            ra.update(range(la, ha + 1))
            rb.update(range(lb, hb + 1))
        out.append(Pair(sa.student, sb.student, int(s[k]), float(jac[k]), float(con[k]),
                        float(score[k]),
                        {g: (sorted(x), sorted(y)) for g, (x, y) in sorted(regions.items())}))
    return out
