"""No credit for calling nnkit's own implementation of a graded part.

Students install nnkit, and nnkit implements most of what the assignments ask for
(``nnkit.activations.softmax``, ``nnkit.layers.Dense`` ...).  An answer that hands the job
to nnkit must earn nothing for that part.  This module decides it from the submitted
*source*, outside the student's kernel (the kernel's own say-so is never trusted):

- :func:`policy_for` reads the instructor's notebook (trusted) and finds, for each graded
  test cell, the names it grades (the names the cell uses that the solution's answer cells
  define), the nnkit names the assignment itself provides (those its given cells use, such
  as ``sigmoid`` in the backprop assignment: allowed everywhere), and the ``allow=`` and
  ``forbid=`` lists declared in the cell's checks (``forbid=["numpy.tanh"]``).
- :func:`violations` follows each graded name through the student's own definitions and
  returns ``{test cell id: message}`` for every cell whose graded names reach a name from
  ``nnkit`` that is not allowed, or a name the cell forbids.

Aliases are followed: ``import nnkit as n``, ``from nnkit.activations import *``,
``from ... import x as y``, assignments of such names, attribute chains, ``getattr`` with a
constant string, imports inside functions and in ``try``/``except`` blocks.  Dynamic
imports (``importlib``, ``__import__``, ``exec``) are caught by the sandbox's tampering
guard, which zeroes every check after the cell that uses them.
"""
from __future__ import annotations

import ast
import fnmatch
import functools
import os
import importlib
import importlib.util
import re
from dataclasses import dataclass, field

__all__ = ["Policy", "policy_for", "violations"]

_CHECKS = {"check_function", "check_gradient", "check_values"}


# --- reading notebooks ------------------------------------------------------------

def _meta(cell):
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _code(nb):
    cells = nb["cells"] if isinstance(nb, dict) else nb.cells
    return [c for c in cells if c.get("cell_type") == "code"]


def _is_test(cell):
    m = _meta(cell)
    return bool(m.get("grade")) and not m.get("solution")


def _is_answer(cell):
    return bool(_meta(cell).get("solution"))


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _parse(source):
    """The cell's AST (IPython magics and shell lines blanked), or None if it does not parse."""
    lines = ["" if re.match(r"\s*[%!]", ln) else ln for ln in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None


# --- names: what a dotted name is, canonically ----------------------------------------

# Names are resolved from nnkit's *source* (its imports and definitions), never by importing the
# modules: the grader stays light (no torch import to judge a torch assignment's answers).

@functools.lru_cache(maxsize=1)
def _nnkit_root():
    spec = importlib.util.find_spec("nnkit")
    return os.path.dirname(spec.origin) if spec and spec.origin else None


@functools.lru_cache(maxsize=1024)
def _module_file(dotted):
    """The source file of a module or package of nnkit (looked up on disk, nothing imported)."""
    root = _nnkit_root()
    if root is None or (dotted != "nnkit" and not dotted.startswith("nnkit.")):
        return None
    base = os.path.join(root, *dotted.split(".")[1:])
    for path in (os.path.join(base, "__init__.py"), base + ".py"):
        if os.path.isfile(path):
            return path
    return None


def _is_module(dotted):
    """True for a module or package of nnkit."""
    return _module_file(dotted) is not None


@functools.lru_cache(maxsize=256)
def _exports(module):
    """What a module of nnkit binds at its top level: {name: dotted name where it comes from}, and
    its ``__all__`` (or None), read from its source."""
    path = _module_file(module)
    try:
        tree = ast.parse(open(path).read()) if path else None
    except (OSError, SyntaxError):
        tree = None
    names, public = {}, None
    if tree is None:
        return names, public
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    lazy = [n for st in tree.body if isinstance(st, ast.FunctionDef) and st.name == "__getattr__"
            for n in ast.walk(st) if isinstance(n, ast.ImportFrom)]   # PEP 562 lazy names
    for st in lazy + tree.body:
        if isinstance(st, ast.ImportFrom):
            base = st.module or ""
            if st.level:
                parent = package.split(".")
                parent = parent[:len(parent) - (st.level - 1)]
                base = ".".join(parent + ([st.module] if st.module else []))
            for a in st.names:
                if a.name != "*":
                    names[a.asname or a.name] = f"{base}.{a.name}"
        elif isinstance(st, ast.Import):
            for a in st.names:
                names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[st.name] = f"{module}.{st.name}"
        elif isinstance(st, ast.Assign):
            for t in st.targets:
                if isinstance(t, ast.Name):
                    if t.id == "__all__" and isinstance(st.value, (ast.List, ast.Tuple)):
                        public = [e.value for e in st.value.elts if isinstance(e, ast.Constant)]
                    else:
                        names[t.id] = f"{module}.{t.id}"
    return names, public


@functools.lru_cache(maxsize=4096)
def _canonical(dotted, depth=0):
    """``nnkit.load_mnist`` -> ``nnkit.data.mnist.load_mnist`` (where the name is defined)."""
    if depth > 8 or not dotted.startswith("nnkit"):
        return dotted
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        module = ".".join(parts[:i])
        if _is_module(module):
            break
    else:
        return dotted
    if i == len(parts):
        return module
    target = _exports(module)[0].get(parts[i])
    if target is None or target == f"{module}.{parts[i]}":
        return dotted
    return _canonical(".".join([target, *parts[i + 1:]]), depth + 1)


def _star_names(module):
    names, public = _exports(module) if _is_module(module) else ({}, None)
    if public is not None:
        return set(public)
    if names:
        return {n for n in names if not n.startswith("_")}
    try:  # not nnkit: what the module itself says
        mod = importlib.import_module(module)
    except Exception:
        return set()
    names = getattr(mod, "__all__", None)
    return set(names) if names is not None else {n for n in vars(mod) if not n.startswith("_")}


# --- the module-level bindings of a notebook ---------------------------------------------

@dataclass
class _Scope:
    """What each top-level name of a notebook is bound to: ``("alias", "nnkit.x")`` (an import),
    ``("node", ast_node)`` (a def, class or assigned expression); several where a block binds it."""

    bindings: dict = field(default_factory=dict)
    stars: list = field(default_factory=list)

    def bind(self, name, value, replace):
        if replace:
            self.bindings[name] = [value]
        else:
            self.bindings.setdefault(name, []).append(value)

    def add(self, stmts, replace=True):
        for st in stmts:
            if isinstance(st, (ast.Import, ast.ImportFrom)):
                for name, dotted in _imports(st):
                    if name == "*":  # binds every public name of the module, over what was there
                        self.stars.append(dotted)
                        for star in sorted(_star_names(dotted)):
                            self.bind(star, ("alias", f"{dotted}.{star}"), replace)
                    else:
                        self.bind(name, ("alias", dotted), replace)
            elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.bind(st.name, ("node", st), replace)
            elif isinstance(st, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and st.value is not None:
                            # an augmented assignment keeps what was there and adds the value
                            self.bind(n.id, ("node", st.value), replace and not isinstance(st, ast.AugAssign))
            elif isinstance(st, (ast.If, ast.Try, ast.With, ast.For, ast.While, ast.AsyncWith, ast.AsyncFor)):
                # a block may or may not run: its bindings add to what was there
                for body in ("body", "orelse", "finalbody"):
                    self.add(getattr(st, body, []) or [], replace=False)
                for handler in getattr(st, "handlers", []) or []:
                    self.add(handler.body, replace=False)
                if isinstance(st, (ast.For, ast.AsyncFor)):
                    for n in ast.walk(st.target):
                        if isinstance(n, ast.Name):
                            self.bind(n.id, ("node", st.iter), False)
                if isinstance(st, (ast.With, ast.AsyncWith)):
                    for item in st.items:
                        if item.optional_vars is not None:
                            for n in ast.walk(item.optional_vars):
                                if isinstance(n, ast.Name):
                                    self.bind(n.id, ("node", item.context_expr), False)


def _imports(st):
    """(bound name, dotted name) of an import statement; ``("*", module)`` for a star import."""
    if isinstance(st, ast.Import):
        for a in st.names:
            if a.asname:
                yield a.asname, a.name
            else:  # `import nnkit.activations` binds `nnkit`
                yield a.name.split(".")[0], a.name.split(".")[0]
    elif st.level == 0 and st.module:
        for a in st.names:
            yield (a.asname or a.name), (st.module if a.name == "*" else f"{st.module}.{a.name}")


def _scope(cells):
    scope = _Scope()
    for cell in cells:
        tree = _parse(_source(cell))
        if tree is not None:
            scope.add(tree.body)
    return scope


# --- what a definition reaches ---------------------------------------------------------------

def _chain(node):
    """``a.b.c`` -> ("a", ["b", "c"]); ``getattr(a, "b")`` counts as ``a.b``; else None."""
    attrs = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str)):
            attrs.append(node.args[1].value)
            node = node.args[0]
        elif isinstance(node, ast.Name):
            return node.id, attrs[::-1]
        else:
            return None


def _locals(fn):
    """Names a function binds itself (arguments, assignments): they shadow module-level names."""
    names = set()
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = fn.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
            if arg is not None:
                names.add(arg.arg)
        body = fn.body if isinstance(fn.body, list) else [fn.body]
        for st in body:
            for n in ast.walk(st):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    names.add(n.id)
    return names


class _Reach:
    """The dotted names (outside the notebook) that a top-level name denotes or reaches."""

    def __init__(self, scope, exclude=()):
        self.scope = scope
        self.exclude = set(exclude)   # names the test cell replaces by trusted versions
        self.memo_is, self.memo_reach = {}, {}
        self.stars = {m: _star_names(m) for m in scope.stars}

    def denotes(self, name):
        """What the name *is*: ``n`` after ``import nnkit as n`` is ``nnkit``; ``sm`` after
        ``sm = n.activations.softmax`` is ``nnkit.activations.softmax``."""
        if name in self.memo_is:
            return self.memo_is[name]
        self.memo_is[name] = set()
        found = set()
        for kind, value in [] if name in self.exclude else self.scope.bindings.get(name, []):
            if kind == "alias":
                found.add(value)
            else:
                chain = _chain(value)
                if chain is not None:
                    base, attrs = chain
                    found |= {".".join([d, *attrs]) for d in self.denotes(base)}
        if name not in self.scope.bindings and name not in self.exclude:
            found |= {f"{m}.{name}" for m, names in self.stars.items() if name in names}
        self.memo_is[name] = found
        return found

    def reaches(self, name):
        """What the name's definitions use (a function's body, an assigned expression)."""
        if name in self.memo_reach:
            return self.memo_reach[name]
        self.memo_reach[name] = set()  # cycles: a recursive function reaches what it reaches
        found = set()
        for kind, value in [] if name in self.exclude else self.scope.bindings.get(name, []):
            if kind == "node":
                found |= self.of_node(value)
        self.memo_reach[name] = found
        return found

    def of_name(self, name):
        return self.denotes(name) | self.reaches(name)

    def of_node(self, root):
        found, local_alias = set(), {}
        shadow = _locals(root)
        for n in ast.walk(root):
            if isinstance(n, (ast.Import, ast.ImportFrom)) and n is not root:
                for name, dotted in _imports(n):
                    found.add(dotted)  # an import inside a graded function counts by itself
                    if name != "*":
                        local_alias[name] = dotted
            elif (isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute))
                  and getattr(n.func, "id", getattr(n.func, "attr", "")) in ("import_module", "__import__")
                  and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)):
                found.add(n.args[0].value)
        in_chain = set()
        for n in ast.walk(root):
            chain = _chain(n) if isinstance(n, (ast.Attribute, ast.Call)) else None
            if chain is None or id(n) in in_chain:
                continue
            # the inner nodes of a chain are not chains of their own
            inner = n.value if isinstance(n, ast.Attribute) else (n.args[0] if isinstance(n, ast.Call) else None)
            while inner is not None and _chain(inner) is not None and not isinstance(inner, ast.Name):
                in_chain.add(id(inner))
                inner = inner.value if isinstance(inner, ast.Attribute) else inner.args[0]
            base, attrs = chain
            if inner is not None:
                in_chain.add(id(inner))
            if base in local_alias:
                found.add(".".join([local_alias[base], *attrs]))
            elif base not in shadow:
                found |= {".".join([d, *attrs]) for d in self.denotes(base)}
                found |= self.reaches(base)
        for n in ast.walk(root):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in in_chain:
                if n.id in local_alias:
                    found.add(local_alias[n.id])
                elif n.id not in shadow:
                    found |= self.of_name(n.id)
        return found


# --- the policy of an assignment, from the instructor's notebook --------------------------------

@dataclass
class Policy:
    """What each graded test cell grades and what its answers may use."""

    graded: dict          # test cell id -> the names it grades
    substituted: dict     # test cell id -> names it replaces by trusted versions (not the student's)
    allowed: set          # names from nnkit the assignment provides (raw and canonical)
    forbid: dict          # test cell id -> patterns of names that cell forbids
    allow_extra: dict     # test cell id -> patterns that cell allows besides

    def is_allowed(self, cell_id, dotted):
        names = {dotted, _canonical(dotted)}
        for pattern in self.forbid.get(cell_id, ()):
            if any(fnmatch.fnmatchcase(n, pattern) for n in names):
                return False, "forbidden"
        if not any(n == "nnkit" or n.startswith("nnkit.") for n in names):
            return True, ""
        if names & self.allowed:
            return True, ""
        if any(fnmatch.fnmatchcase(n, p) for p in self.allow_extra.get(cell_id, ()) for n in names):
            return True, ""
        return False, "nnkit"


def _declared(tree, keyword):
    """Constant strings given as ``keyword=`` to the checks of a test cell."""
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", None)) in _CHECKS:
            for kw in n.keywords:
                if kw.arg == keyword:
                    for c in ast.walk(kw.value):
                        if isinstance(c, ast.Constant) and isinstance(c.value, str):
                            out.add(c.value)
    return out


def _substituted(tree):
    """The names a test cell hands to ``grading.substitute`` (keywords, or a dict passed as ``**``)."""
    dicts = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            v = n.value
            if isinstance(v, ast.Dict):
                dicts[n.targets[0].id] = {k.value for k in v.keys if isinstance(k, ast.Constant)}
            elif isinstance(v, ast.Call) and getattr(v.func, "id", None) == "dict":
                dicts[n.targets[0].id] = {kw.arg for kw in v.keywords if kw.arg}
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", None)) == "substitute":
            for kw in n.keywords:
                if kw.arg:
                    out.add(kw.arg)
                elif isinstance(kw.value, ast.Name):
                    out |= dicts.get(kw.value.id, set())
    return out


def policy_for(solution_nb) -> Policy:
    """The policy of an assignment, read from the instructor's (trusted) notebook."""
    cells = _code(solution_nb)
    answers = _scope([c for c in cells if _is_answer(c)])
    given = _scope([c for c in cells if not _is_answer(c) and not _is_test(c)])
    reach = _Reach(given)
    used = set()
    for name in given.bindings:
        used |= reach.of_name(name)
    for cell in cells:  # names the given cells use as attributes (`nnkit.load_mnist(...)`)
        if not _is_answer(cell) and not _is_test(cell):
            tree = _parse(_source(cell))
            if tree is not None:
                used |= reach.of_node(tree)
    # the functions and classes the assignment hands out; never a whole module (`import nnkit`
    # in a given cell allows `nnkit.load_mnist`, not everything under `nnkit`)
    allowed = {n for d in used for n in (d, _canonical(d)) if not _is_module(n)}
    graded, substituted, forbid, extra = {}, {}, {}, {}
    for cell in cells:
        if not _is_test(cell):
            continue
        tree = _parse(_source(cell))
        if tree is None:
            continue
        cid = _meta(cell).get("grade_id")
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        substituted[cid] = _substituted(tree)
        graded[cid] = sorted(used & set(answers.bindings))
        forbid[cid] = _declared(tree, "forbid")
        extra[cid] = _declared(tree, "allow")
    return Policy(graded, substituted, allowed, forbid, extra)


def violations(submission_nb, policy: Policy) -> dict:
    """``{test cell id: message}`` for each graded cell whose answer uses what it may not."""
    cells = [c for c in _code(submission_nb) if not _is_test(c)]
    scope = _scope(cells)
    owner = {}  # each graded name belongs to the first test cell that grades it: one part pays
    for cid, names in policy.graded.items():
        for name in names:
            owner.setdefault(name, cid)
    out = {}
    for cid, names in policy.graded.items():
        mine = [n for n in names if owner[n] == cid]
        # other parts' names (and the earlier parts this cell swaps for trusted versions) are not
        # reached through: a shortcut in `predict` costs the predict part, not the training loop
        others = {n for n, c in owner.items() if c != cid} | policy.substituted.get(cid, set())
        reach = _Reach(scope, others - set(mine))
        bad = []
        for name in mine:
            for dotted in sorted(reach.of_name(name), key=lambda d: (-d.count("."), d)):
                ok, why = policy.is_allowed(cid, dotted)
                if not ok and (name, dotted, why) not in bad:
                    bad.append((name, dotted, why))
        if bad:
            name, dotted, why = bad[0]
            if why == "nnkit":
                message = (f"{name} uses {dotted}, nnkit's own implementation: an answer that calls "
                           "nnkit instead of doing the work scores 0 for this part. Write it yourself")
                short = sorted({n.rsplit(".", 1)[-1] for n in policy.allowed
                                if n.startswith("nnkit.") and not n.startswith("nnkit.grading")})
                message += (f" (from nnkit this assignment provides only: {', '.join(short)})." if short
                            else " (this assignment provides nothing from nnkit).")
            else:
                message = f"{name} uses {dotted}, which this part does not allow: it scores 0. Write it yourself."
            others = [f"{n} uses {d}" for n, d, _ in bad[1:4]]
            if others:
                message += " Also: " + "; ".join(others) + "."
            out[cid] = message
    return out
