"""The checks nbgrader test cells call.

Every check is declarative: a part id, the student's callable (or values), the
*name* of a trusted reference and the cases (seeds + shapes).  It runs in one of
two modes.

Default mode (``nbgrader validate`` / ``autograde``, a student's own kernel):
the check computes the references in the kernel and raises ``AssertionError``
with a message the student can act on, or prints that the part passed.

Record mode (environment variable ``NNKIT_GRADING_RECORD=<dir>``): the check
only runs the student's code on the cases and writes what it returned into
``<dir>/<part>/`` (``.npy`` files, saved with ``allow_pickle=False``, and a JSON
file with the spec: part id, reference name, case specs, tolerance).  A trusted
grader outside the sandbox then calls :func:`compare_records`, which rebuilds
the inputs from the case specs, recomputes the references and compares, using
the same code as the default mode.  Give it ``expected=`` (the records of the
instructor's solution) so that the specs come from the instructor, not from
files the student's kernel wrote.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..gradcheck import numerical_gradient, rel_error
from .cases import Case

__all__ = ["RECORD_ENV", "check_function", "check_gradient", "check_values", "compare_records",
           "required_part", "required_values", "resolve", "substitute"]

RECORD_ENV = "NNKIT_GRADING_RECORD"
#: folder of trusted helpers the sandboxed grader stages for the test cell that substitutes them
TRUSTED_ENV = "NNKIT_GRADING_TRUSTED"
#: file where the checks write the expected values of their cases (``nnkit-course dist``)
COLLECT_ENV = "NNKIT_GRADING_COLLECT"
#: the expected values of the visible cases, shipped with the student distribution (no references)
SHIPPED = Path(__file__).with_name("visible_expected.json")


# --- helpers ----------------------------------------------------------------

def resolve(name):
    """The object a dotted name points to: ``"nnkit.activations.sigmoid"``
    (or ``"package.module:attribute"``).  A callable is returned as is.

    In the grading sandbox the instructor-only references are not importable; the grader
    stages just the trusted helpers a test cell substitutes (see :func:`substitute`) in the
    folder named by ``NNKIT_GRADING_TRUSTED`` while that cell runs."""
    if callable(name):
        return name
    module, sep, attr = name.partition(":")
    if not sep:
        module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        staged = _staged(name)
        if staged is not None:
            return staged
        raise ValueError(f"cannot find the reference {name!r}: {exc}") from None


REFERENCES = "nnkit.grading.references"


def _references_absent():
    import importlib.util
    try:
        return importlib.util.find_spec(REFERENCES) is None
    except (ImportError, ValueError):
        return True


def _staged(name):
    folder = os.environ.get(TRUSTED_ENV)
    path = Path(folder) / f"{name}.pkl" if folder else None
    if path is None or not path.is_file():
        return None
    import pickle  # written by the trusted grader outside the sandbox, read-only in here

    return pickle.loads(path.read_bytes())


@contextlib.contextmanager
def substitute(namespace, **references):
    """Temporarily replace the student's helpers by trusted references, so that a
    function that calls them is graded on its own: ``with substitute(globals(),
    update="nnkit.grading.references.perceptron_update"): check_function(...)``.

    Where the instructor-only references are absent (the student course), the student's own
    helpers stay in place: the visible test then checks them together, and says so."""
    missing = object()
    saved = {name: namespace.get(name, missing) for name in references}
    trusted, own = {}, []
    for name, ref in references.items():
        try:
            trusted[name] = resolve(ref)
        except ValueError:
            if not (isinstance(ref, str) and ref.startswith(REFERENCES + ".") and _references_absent()):
                raise
            own.append(name)
    if own:
        print(f"(this visible test uses your own {', '.join(own)}; grading uses a correct one, so a "
              "mistake there costs only its own part)")
    namespace.update(trusted)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = old


def _to_array(value, name):
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numbers (a float or an array of floats), got {type(value).__name__}"
                        f" (dtype {arr.dtype})")
    return arr


def _outputs(result, names):
    """The result of a call as a list of arrays, one per output name."""
    if len(names) == 1:
        return [_to_array(result, names[0])]
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else type(result).__name__
        raise TypeError(f"expected a tuple of {len(names)} values ({', '.join(names)}), got {got}")
    return [_to_array(r, n) for r, n in zip(result, names)]


def _evaluate(fn, case, names, modifies=()):
    """Run fn on a case: {"outputs", "error", "warnings", "changed"} (catches the student's
    exceptions).  "changed" describes the input arrays fn modified in place (except those named
    in ``modifies``, which the part asks fn to change)."""
    result = {"outputs": None, "error": None, "warnings": [], "exception": None, "changed": []}
    args = case.inputs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            result["outputs"] = _outputs(fn(*args), names)
        except Exception as exc:  # the student's bug, reported below
            result["error"] = f"{type(exc).__name__}: {exc}"
            result["exception"] = exc
    result["warnings"] = sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})
    result["changed"] = _changed(case, args, modifies)
    return result


def _short(value):
    """A number or a small array as a student would write it: ``0``, ``-1.5``, ``[0, 0, 0]``."""
    from .cases import show_value

    return show_value(value)


def _changed(case, args, modifies=()):
    """What fn changed in its input arrays: e.g. ``["w: w[1] was 0.5, is now 1.5"]``."""
    changed = []
    for name, before, after in zip(case.names(), case.inputs(), args):
        if name in modifies or not isinstance(before, np.ndarray):
            continue
        after = np.asarray(after)
        if after.shape != before.shape:
            changed.append(f"{name}: its shape went from {before.shape} to {after.shape}")
            continue
        with np.errstate(all="ignore"):
            differ = ~((after == before) | (np.isnan(after) & np.isnan(before))) if after.dtype.kind == "f" \
                else after != before
        if np.any(differ):
            idx = np.unravel_index(int(np.argmax(differ)), differ.shape)
            at = f"{name}{_fmt_index(idx)}" if before.ndim else name
            changed.append(f"{name}: {at} was {_short(before[idx])}, is now {_short(after[idx])}")
    return changed


def _lines(*parts, width=80):
    """A message as short lines (``nbgrader validate`` cuts lines at about 85 characters):
    the first part on the first line, each further part on its own indented line(s)."""
    import textwrap

    out = []
    for i, part in enumerate(p for p in parts if p):
        if "\n" in part:  # already made of lines
            out += part.split("\n")
            continue
        if i == 0:  # validate prints it after "AssertionError: ": the first line stays shorter
            head = textwrap.wrap(part, width - 16, break_on_hyphens=False, break_long_words=False) or [""]
            out += head[:1] + textwrap.wrap(" ".join(head[1:]), width, initial_indent="    ",
                                            subsequent_indent="    ", break_on_hyphens=False,
                                            break_long_words=False)
            continue
        out += textwrap.wrap(part, width, initial_indent="  ", subsequent_indent="    ",
                             break_on_hyphens=False, break_long_words=False)
    return "\n".join(out)


def _fmt_index(idx):
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _relative(a, b, floor):
    """nnkit.gradcheck.rel_error, with NaN (a NaN or inf answer) counted as infinitely wrong."""
    with np.errstate(all="ignore"):
        err = rel_error(a, b, floor)
    return np.where(np.isnan(err), np.inf, err)


def _compare(name, got, want, tol, label, where, floor=1e-8):
    """None if got matches want, else (message, detail for printing).  The message alone (its
    first lines) says what is wrong, where and on which case: ``validate`` drops the detail."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        hint = "a missing transpose?" if sorted(got.shape) == sorted(want.shape) and got.ndim > 1 else ""
        return _lines(f"{name}: expected shape {want.shape}, got {got.shape}", hint, f"on the case ({where})"), ""
    err = _relative(got, want, floor)
    if not err.size or err.max() <= tol:
        return None
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    small = f"{label} {_short(want)}, yours {_short(got)}" if want.size <= 8 else ""
    if not np.isfinite(got[idx]) and np.isfinite(want[idx]):
        return _lines(f"{name}: yours is {got[idx]} at {_fmt_index(idx)} where {label} is {want[idx]:.6g}",
                      f"on the case ({where})", small), ""
    digits = int(min(17, max(6, 2 - np.floor(np.log10(err[idx])))))  # enough to see the difference
    message = _lines(f"{name}: relative error {err[idx]:.1e} at {_fmt_index(idx)}, tolerance {tol:.0e}",
                     f"yours {got[idx]:.{digits}g}, {label} {want[idx]:.{digits}g}, on the case ({where})", small)
    detail = ""
    if want.size <= 60:
        with np.printoptions(precision=6, suppress=True):
            detail = f"{label} {name}:\n{want}\nyour {name}:\n{got}\n"
    return message, detail


def _numerical_gradients(spec, case):
    """Central differences (float64) of the trusted forward, w.r.t. each name in spec["wrt"]."""
    forward = resolve(spec["forward"])
    names = case.names()
    args = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in case.inputs()]
    upstream = spec.get("upstream")
    fwd_args = [a for n, a in zip(names, args) if n != upstream]

    def loss():
        out = forward(*fwd_args)
        if upstream is None:
            return float(out)
        return float(np.sum(np.asarray(out, dtype=np.float64) * args[names.index(upstream)]))

    return [numerical_gradient(loss, args[names.index(w)]) for w in spec["wrt"]]


# --- expected values: from the trusted reference, or shipped for the visible cases ---

def _case_key(spec, case):
    """A stable key of one case of a check: what is computed, and from which inputs."""
    keyed = {k: spec.get(k) for k in ("kind", "reference", "forward", "wrt", "upstream", "outputs")}
    keyed["case"] = case.to_json()
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:24]


def _expected(spec, case):
    """(expected outputs, numerical gradients or Nones) of one case: computed by the trusted
    reference where it is importable (the instructor's side), else read from the values shipped
    with the student distribution for the visible cases (where the references are absent)."""
    try:
        reference = resolve(spec["reference"])
    except ValueError:
        return _shipped(spec, case)
    key = _case_key(spec, case)       # the same cases come back with every submission graded
    if key not in _EXPECTED_CACHE:
        want = _outputs(reference(*case.inputs()), spec["outputs"])
        numeric = (_numerical_gradients(spec, case) if spec["kind"] == "gradient"
                   else [None] * len(want))
        if len(_EXPECTED_CACHE) >= 4096:
            _EXPECTED_CACHE.clear()
        _EXPECTED_CACHE[key] = (want, numeric)
    return copy.deepcopy(_EXPECTED_CACHE[key])     # callers may not change the cached values


#: expected values by case key (the references are deterministic functions of a case's inputs)
_EXPECTED_CACHE: dict = {}


def _encode(arr):
    arr = np.asarray(arr)
    return {"shape": list(arr.shape), "dtype": arr.dtype.str, "data": arr.ravel().tolist()}


def _decode(obj):
    return np.asarray(obj["data"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])


_SHIPPED_CACHE = {}


def _shipped(spec, case):
    if SHIPPED not in _SHIPPED_CACHE:
        _SHIPPED_CACHE[SHIPPED] = json.loads(SHIPPED.read_text()) if SHIPPED.is_file() else {}
    entry = _SHIPPED_CACHE[SHIPPED].get(_case_key(spec, case))
    if entry is None:
        raise LookupError("no expected values are available here (neither the reference "
                          f"{spec['reference']!r} nor values shipped with the course); this case is "
                          "checked when your notebook is graded")
    want = [_decode(o) for o in entry["expected"]]
    numeric = [None if o is None else _decode(o) for o in entry["numerical"]]
    return want, numeric


def _collect(path, spec):
    """Write the expected values of every case of a check to the JSON file ``path`` (merged)."""
    path = Path(path)
    table = json.loads(path.read_text()) if path.is_file() else {}
    for c in spec["cases"]:
        case = Case.from_json(c)
        want, numeric = _expected(spec, case)
        table[_case_key(spec, case)] = {
            "part": spec["part"], "expected": [_encode(w) for w in want],
            "numerical": [None if n is None else _encode(n) for n in numeric]}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(table, sort_keys=True))
    tmp.replace(path)


# --- judging: the one place where outputs are compared with references --------

def _judge(spec, results, show=True):
    """(passed, message, detail) for the student's results of one check."""
    # nbgrader gives 0 points to a test cell that writes to stderr: trusted code stays silent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _judge_quietly(spec, results, show)


def _n_main(spec):
    """How many results the check itself has (one per case; one for values)."""
    return max(len(spec.get("cases") or []), 1)


def _n_results(spec):
    """How many results a check records: its own, then those of the parts it requires."""
    return _n_main(spec) + sum(_n_main(sub) for sub in spec.get("requires") or [])


def _judge_quietly(spec, results, show):
    if spec.get("requires"):  # a composed check: the student's parts together
        offset = _n_main(spec)
        for sub in spec["requires"]:
            n = _n_main(sub)
            ok, message, _ = _judge_quietly(sub, results[offset:offset + n], False)
            offset += n
            if not ok:
                return True, _lines(f"{spec['part']}: not counted here:",
                                    f"your {sub['part']} fails its own check "
                                    f"({sub.get('pays') or 'its own part'} pays for it):",
                                    message.splitlines()[0]), ""
        results = results[:_n_main(spec)]
    part = spec["part"]
    names = spec["outputs"]
    for res in results:  # records read back from disk must have every output
        if res["outputs"] is not None and len(res["outputs"]) != len(names):
            return False, f"{part}: expected {len(names)} outputs ({', '.join(names)}), got {len(res['outputs'])}", ""
    if spec["kind"] == "values":
        res = results[0] if results else None
        if res is None or res["outputs"] is None:
            why = res["error"] if res else "no values were recorded (the check did not run)"
            return False, _lines(f"{part}: {why}"), ""
        ok, message = resolve(spec["verifier"])(dict(zip(spec["outputs"], res["outputs"])),
                                                **spec.get("params", {}))
        first, *rest = str(message).split("\n")
        return bool(ok), _lines(f"{part}: {first}", *[r.strip() for r in rest]), ""
    cases = [Case.from_json(c) for c in spec["cases"]]
    # first what a student can act on at once (errors, changed inputs), then the values on the
    # cases where numpy did not warn, and only then the warnings: a wrong formula is told that
    # its values are wrong, not to make a (right) formula stable
    for i, case in enumerate(cases):
        res = results[i] if i < len(results) else None
        if res is None:
            return False, _lines(f"{part}: no output recorded for the case ({case.describe()})",
                                 "the check did not run"), ""
        if res["error"]:
            return False, _lines(f"{part}: your code raised {res['error']}", f"on the case ({case.describe()})"), ""
        if res.get("changed"):
            name, _, what = res["changed"][0].partition(": ")
            return False, _lines(f"{part}: changed its input {name} in place:", what,
                                 f"on the case ({case.describe()});",
                                 f"leave {name} as it is and compute a new array "
                                 f"(e.g. new = {name} - ..., not {name} -= ...)"), ""
    warned = [bool(spec.get("no_warnings") and results[i]["warnings"]) for i in range(len(cases))]
    for i in [i for i in range(len(cases)) if not warned[i]] + [i for i in range(len(cases)) if warned[i]]:
        case, res = cases[i], results[i]
        where = case.describe()
        try:
            want, numeric = _expected(spec, case)
        except LookupError as exc:
            return False, _lines(f"{part}: {exc}", f"on the case ({where})"), ""
        for name, got, ref, num in zip(spec["outputs"], res["outputs"], want, numeric):
            if num is not None:  # central differences carry ~1e-10 of noise: tiny entries compare absolutely
                failure = _compare(name, got, num, spec["tol"], "numerical", where, floor=1e-4)
                hint = "(the numerical gradient is printed above)"
            else:
                failure = None
            if failure is None:
                failure = _compare(name, got, ref, spec["tol"], "expected", where)
                hint = "(the expected values are printed above)"
            if failure:
                message, detail = failure
                diagnosis = _diagnose(spec, case, res["outputs"], want)
                return False, _lines(message, diagnosis, hint if show and detail else ""), detail
        if warned[i]:
            return False, _lines(f"{part}: numpy warned '{res['warnings'][0]}'", f"on the case ({where});",
                                 "your values are right here, but use a formula that cannot overflow"), ""
    return True, f"{part}: passed ({len(cases)} case{'s' if len(cases) > 1 else ''})", ""


def _diagnose(spec, case, got, want):
    """The check's own diagnosis of a wrong answer (``diagnose=`` names a trusted function of
    (inputs dict, your outputs, expected outputs) that returns a sentence or None)."""
    if not spec.get("diagnose"):
        return ""
    try:
        return resolve(spec["diagnose"])(dict(zip(case.names(), case.inputs())), got, want) or ""
    except Exception:  # a diagnosis is a bonus: never let it hide the verdict
        return ""


# --- running a check: default mode or record mode ------------------------------

def _safe(part):
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", part) or part.startswith("."):
        raise ValueError(f"part id {part!r}: use letters, digits, '_', '-' and '.' only")
    return part


def _record(directory, spec, results):
    folder = Path(directory) / _safe(spec["part"])
    folder.mkdir(parents=True, exist_ok=True)
    call = len(list(folder.glob("call*.json")))
    summary = []
    for j, res in enumerate(results):
        for k, arr in enumerate(res["outputs"] or []):
            np.save(folder / f"call{call}_case{j}_out{k}.npy", arr, allow_pickle=False)
        summary.append({"error": res["error"], "warnings": res["warnings"],
                        "n_outputs": len(res["outputs"] or []), "changed": res.get("changed", [])})
    tmp = folder / f".call{call}.json.tmp"
    tmp.write_text(json.dumps({**spec, "call": call, "results": summary}, indent=1))
    tmp.replace(folder / f"call{call}.json")


def _run(spec, results):
    record_dir = os.environ.get(RECORD_ENV)
    if os.environ.get(COLLECT_ENV):  # `nnkit-course dist` on the untouched exercises: no judging
        if spec["kind"] in ("function", "gradient"):
            _collect(os.environ[COLLECT_ENV], spec)
        print(f"{spec['part']}: expected values collected")
        return
    if record_dir:
        _record(record_dir, spec, results)
    failed = next((i for i, r in enumerate(results) if r["exception"] is not None), None)
    if failed is not None and not spec.get("requires"):  # composed checks: the judge says who pays
        cases = spec.get("cases")
        where = Case.from_json(cases[failed]).describe() if cases else "your values"
        error = results[failed]["error"]
        error = error if error.startswith("your code raised") else f"your code raised {error}"
        raise AssertionError(_lines(f"{spec['part']}: {error}", f"on the case ({where})")) \
            from results[failed]["exception"]
    if record_dir:
        print(f"{spec['part']}: outputs recorded for grading")
        return
    passed, message, detail = _judge(spec, results)
    if not passed:
        if detail:
            print(detail)
        raise AssertionError(message)
    print(message)


def _cases(cases):
    if isinstance(cases, Case):
        cases = [cases]
    cases = list(cases)
    if not cases or not all(isinstance(c, Case) for c in cases):
        raise TypeError("cases must be a non-empty list of grading.Case")
    return cases


def check_function(part, fn, *, reference, cases, tol=1e-7, outputs=None, no_warnings=True, allow=(),
                   forbid=(), modifies=(), diagnose=None, requires=()):
    """Check fn against the trusted ``reference`` (a dotted name) on each case.

    fn and the reference are called with the case's arguments, in order; they
    return one array (``outputs=None``: named after the part) or a tuple whose
    entries are named by ``outputs``.  With ``no_warnings`` a numpy
    RuntimeWarning (overflow ...) raised while fn runs fails the part.

    ``allow`` and ``forbid`` declare what the graded answer may call (see
    :mod:`nnkit.grading.policy`; the grader reads them from this cell's trusted source).

    fn must leave its input arrays unchanged, except those named in ``modifies`` (to grade what
    such an argument becomes, have fn and the reference return it).  ``diagnose`` names a
    trusted function ``(inputs, yours, expected) -> sentence or None`` whose sentence is added
    to a failure message (e.g. "you normalised along the wrong axis").

    ``requires`` lists the earlier parts fn calls, as :func:`required_part` /
    :func:`required_values` build them: fn then runs with the student's own parts (no
    substitution) and the check is not counted when one of those parts fails its own check,
    so that a bug that only shows when the parts work together costs this part, and a bug in
    an earlier part costs that part only.
    """
    spec, results = _function_part(part, fn, reference, cases, tol, outputs, no_warnings, modifies)
    if diagnose:
        spec["diagnose"] = diagnose
    _run(*_composed(spec, results, requires))


def _function_part(part, fn, reference, cases, tol, outputs, no_warnings, modifies=()):
    """(spec, results) of a part graded against a reference: fn run on each case."""
    cases = _cases(cases)
    names = list(outputs) if outputs else [part]
    spec = {"kind": "function", "part": part, "reference": reference, "outputs": names, "tol": tol,
            "no_warnings": no_warnings, "cases": [c.to_json() for c in cases]}
    return spec, [_evaluate(fn, c, names, modifies) for c in cases]


def check_gradient(part, fn, *, reference, forward, wrt, cases, upstream=None, tol=1e-6, outputs=None,
                   no_warnings=True, allow=(), forbid=(), modifies=(), diagnose=None, requires=()):
    """Check a backward function numerically and against the trusted reference.

    fn(*case args) returns the gradients w.r.t. the arguments named in ``wrt``
    (named ``"d" + name`` unless ``outputs`` is given).  The numerical gradient
    is taken by central differences (float64) of the scalar
    ``sum(upstream * forward(other args))`` when ``upstream`` names the
    argument holding dL/d(output), else of ``forward(args)`` itself (a loss).
    Each gradient must match both the numerical gradient and the reference.  ``modifies``,
    ``diagnose`` and ``requires`` as for :func:`check_function`.
    """
    cases = _cases(cases)
    names = list(outputs) if outputs else [f"d{w}" for w in wrt]
    spec = {"kind": "gradient", "part": part, "reference": reference, "forward": forward,
            "wrt": list(wrt), "upstream": upstream, "outputs": names, "tol": tol,
            "no_warnings": no_warnings, "cases": [c.to_json() for c in cases]}
    if diagnose:
        spec["diagnose"] = diagnose
    _run(*_composed(spec, [_evaluate(fn, c, names, modifies) for c in cases], requires))


def check_values(part, values, *, verifier, params=None, allow=(), forbid=(), requires=()):
    """Check values the student computed (weights, predictions ...) with a trusted verifier.

    ``values`` is a dict name -> array; ``verifier`` names a function
    ``verifier(values, **params) -> (ok, message)``.  Use it where many answers
    are right (hand-set weights) or a property is graded (test accuracy).
    ``requires`` as for :func:`check_function`.
    """
    spec, result = _values_spec(part, values, verifier, params)
    _run(*_composed(spec, [result], requires))


def _values_spec(part, values, verifier, params):
    """``values`` (or one of its values) may be a function without arguments that computes it (a
    training run): its exceptions are then the student's, reported by the check."""
    result = {"outputs": None, "error": None, "warnings": [], "exception": None}
    if callable(values):
        try:
            values = values()
        except Exception as exc:
            result["error"], result["exception"] = f"your code raised {type(exc).__name__}: {exc}", exc
            values = {}
    names = list(values)
    try:
        if result["error"]:
            raise _StudentError(result["error"])
        result["outputs"] = [_to_array(v, n) for n, v in values.items() if not callable(v)]
        if any(callable(v) for v in values.values()):
            try:
                computed = {n: v() if callable(v) else v for n, v in values.items()}
            except Exception as exc:
                raise _StudentError(f"your code raised {type(exc).__name__}: {exc}") from exc
            result["outputs"] = [_to_array(v, n) for n, v in computed.items()]
    except _StudentError as exc:
        result["outputs"], result["error"], result["exception"] = None, str(exc), exc
    except Exception as exc:
        result["outputs"], result["error"], result["exception"] = None, f"{type(exc).__name__}: {exc}", exc
    spec = {"kind": "values", "part": part, "verifier": verifier, "params": dict(params or {}),
            "outputs": names, "cases": []}
    return spec, result


# --- composition: the student's own parts, run together -------------------------------

class _StudentError(Exception):
    """An exception raised by the student's code while a check computed its values."""


def required_part(part, fn, *, reference, cases, pays, tol=1e-7, outputs=None, no_warnings=True):
    """An earlier part that a composed check runs (``requires=[...]``): fn is checked against
    the reference on the cases like :func:`check_function`, but only to decide who pays.  When
    it fails, the composed check is not counted (``pays`` names the part that pays, e.g.
    ``"part 1"``); when it passes, a wrong composed result is the composition's own bug."""
    spec, results = _function_part(part, fn, reference, cases, tol, outputs, no_warnings)
    spec["pays"] = pays
    return spec, results


def required_values(part, values, *, verifier, pays, params=None):
    """Like :func:`required_part` for a part graded by a verifier (see :func:`check_values`)."""
    spec, result = _values_spec(part, values, verifier, params)
    spec["pays"] = pays
    return spec, [result]


def _composed(spec, results, requires):
    """The spec and results of a check, with those of the parts it requires appended."""
    if not requires:
        return spec, results
    spec = {**spec, "requires": [sub for sub, _ in requires]}
    return spec, results + [r for _, sub_results in requires for r in sub_results]


# --- the trusted side of record mode ---------------------------------------------

def _load_calls(folder):
    calls = []
    for path in sorted(folder.glob("call*.json"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0)):
        calls.append(json.loads(path.read_text()))
    return calls


def _load_results(folder, call, n_cases):
    """The student's results of one call, read from .npy files (never unpickled)."""
    try:
        summary = json.loads((folder / f"call{call}.json").read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    results = []
    for j in range(max(n_cases, 1)):
        if j >= len(summary) or not isinstance(summary[j], dict):
            break
        info = summary[j]
        outputs = []
        try:
            for k in range(int(info.get("n_outputs", 0))):
                outputs.append(np.load(folder / f"call{call}_case{j}_out{k}.npy", allow_pickle=False))
        except (OSError, ValueError) as exc:
            results.append({"outputs": None, "error": f"unreadable output: {exc}", "warnings": []})
            continue
        error = info.get("error")
        results.append({"outputs": None if error else outputs,
                        "error": str(error) if error else None,
                        "warnings": [str(w) for w in info.get("warnings") or []],
                        "changed": [str(c) for c in info.get("changed") or []]})
    return results


def compare_records(record_dir, expected=None):
    """Judge the outputs recorded in ``record_dir``: ``{part_id: (passed, message)}``.

    ``expected`` is a directory of records made by running the instructor's
    solution in record mode: the parts, references, case specs and tolerances
    are read from there (a part the student's run did not record fails).
    Without it, the specs are read from ``record_dir`` itself (trusted runs only).
    """
    record_dir = Path(record_dir)
    spec_dir = Path(expected) if expected is not None else record_dir
    verdicts = {}
    for folder in sorted(p for p in spec_dir.iterdir() if p.is_dir()):
        part = folder.name
        messages, passed = [], True
        for call, spec in enumerate(_load_calls(folder)):
            results = _load_results(record_dir / part, call, _n_results(spec))
            try:
                ok, message, _ = _judge(spec, results, show=False)
            except Exception as exc:  # a malformed record must not stop the batch
                ok, message = False, f"{part}: could not compare the recorded outputs ({type(exc).__name__}: {exc})"
            passed = passed and ok
            if not ok:
                messages.append(message)
        verdicts[part] = (passed, "; ".join(messages) if messages else f"{part}: passed")
    return verdicts
