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
import importlib
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..gradcheck import numerical_gradient
from .cases import Case

__all__ = ["RECORD_ENV", "check_function", "check_gradient", "check_values", "compare_records",
           "resolve", "substitute"]

RECORD_ENV = "NNKIT_GRADING_RECORD"


# --- helpers ----------------------------------------------------------------

def resolve(name):
    """The object a dotted name points to: ``"nnkit.activations.sigmoid"``
    (or ``"package.module:attribute"``).  A callable is returned as is."""
    if callable(name):
        return name
    module, sep, attr = name.partition(":")
    if not sep:
        module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot find the reference {name!r}: {exc}") from None


@contextlib.contextmanager
def substitute(namespace, **references):
    """Temporarily replace the student's helpers by trusted references, so that a
    function that calls them is graded on its own: ``with substitute(globals(),
    update="nnkit.grading.references.perceptron_update"): check_function(...)``."""
    missing = object()
    saved = {name: namespace.get(name, missing) for name in references}
    namespace.update({name: resolve(ref) for name, ref in references.items()})
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


def _evaluate(fn, case, names):
    """Run fn on a case: {"outputs", "error", "warnings"} (catches the student's exceptions)."""
    result = {"outputs": None, "error": None, "warnings": [], "exception": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            result["outputs"] = _outputs(fn(*case.inputs()), names)
        except Exception as exc:  # the student's bug, reported below
            result["error"] = f"{type(exc).__name__}: {exc}"
            result["exception"] = exc
    result["warnings"] = sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})
    return result


def _fmt_index(idx):
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _relative(a, b, floor):
    with np.errstate(all="ignore"):
        err = np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)
    return np.where(np.isnan(err), np.inf, err)


def _compare(name, got, want, tol, label, where, floor=1e-8):
    """None if got matches want, else (message, detail for printing)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        hint = " — a missing transpose?" if sorted(got.shape) == sorted(want.shape) else ""
        return f"{name}: expected shape {want.shape}, got {got.shape} on the case ({where}){hint}", ""
    err = _relative(got, want, floor)
    if not err.size or err.max() <= tol:
        return None
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    if not np.isfinite(got[idx]) and np.isfinite(want[idx]):
        return (f"{name}: got {got[idx]} at {_fmt_index(idx)} where {label} is {want[idx]:.6g}, on the case "
                f"({where}) — an unstable formula overflows at extreme inputs"), ""
    message = (f"{name}: relative error {err[idx]:.1e} at {_fmt_index(idx)}, tolerance {tol:.0e} "
               f"(yours {got[idx]:.6g}, {label} {want[idx]:.6g}) on the case ({where})")
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


# --- judging: the one place where outputs are compared with references --------

def _judge(spec, results, show=True):
    """(passed, message, detail) for the student's results of one check."""
    # nbgrader gives 0 points to a test cell that writes to stderr: trusted code stays silent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _judge_quietly(spec, results, show)


def _judge_quietly(spec, results, show):
    part = spec["part"]
    names = spec["outputs"]
    for res in results:  # records read back from disk must have every output
        if res["outputs"] is not None and len(res["outputs"]) != len(names):
            return False, f"{part}: expected {len(names)} outputs ({', '.join(names)}), got {len(res['outputs'])}", ""
    if spec["kind"] == "values":
        res = results[0] if results else None
        if res is None or res["outputs"] is None:
            why = res["error"] if res else "no values were recorded (the check did not run)"
            return False, f"{part}: {why}", ""
        ok, message = resolve(spec["verifier"])(dict(zip(spec["outputs"], res["outputs"])),
                                                **spec.get("params", {}))
        return bool(ok), f"{part}: {message}", ""
    reference = resolve(spec["reference"])
    gradient = spec["kind"] == "gradient"
    cases = [Case.from_json(c) for c in spec["cases"]]
    for i, case in enumerate(cases):
        where = case.describe()
        res = results[i] if i < len(results) else None
        if res is None:
            return False, f"{part}: no output recorded for the case ({where}) — the check did not run", ""
        if res["error"]:
            return False, f"{part}: your code raised {res['error']} on the case ({where})", ""
        if spec.get("no_warnings") and res["warnings"]:
            return False, (f"{part}: numpy warned '{res['warnings'][0]}' on the case ({where}) "
                           "— use a numerically stable formula"), ""
        want = _outputs(reference(*case.inputs()), spec["outputs"])
        numeric = _numerical_gradients(spec, case) if gradient else [None] * len(want)
        for name, got, ref, num in zip(spec["outputs"], res["outputs"], want, numeric):
            if num is not None:  # central differences carry ~1e-10 of noise: tiny entries compare absolutely
                failure = _compare(name, got, num, spec["tol"], "numerical", where, floor=1e-4)
                hint = " — compare with the numerical gradient printed above"
            else:
                failure = None
            if failure is None:
                failure = _compare(name, got, ref, spec["tol"], "expected", where)
                hint = " — compare with the expected values printed above"
            if failure:
                message, detail = failure
                return False, message + (hint if show and detail else ""), detail
    return True, f"{part}: passed ({len(cases)} case{'s' if len(cases) > 1 else ''})", ""


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
                        "n_outputs": len(res["outputs"] or [])})
    tmp = folder / f".call{call}.json.tmp"
    tmp.write_text(json.dumps({**spec, "call": call, "results": summary}, indent=1))
    tmp.replace(folder / f"call{call}.json")


def _run(spec, results):
    record_dir = os.environ.get(RECORD_ENV)
    if record_dir:
        _record(record_dir, spec, results)
    failed = next((i for i, r in enumerate(results) if r["exception"] is not None), None)
    if failed is not None:
        cases = spec.get("cases")
        where = Case.from_json(cases[failed]).describe() if cases else "your values"
        raise AssertionError(f"{spec['part']}: your code raised {results[failed]['error']} on the case "
                             f"({where})") from results[failed]["exception"]
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


def check_function(part, fn, *, reference, cases, tol=1e-7, outputs=None, no_warnings=True):
    """Check fn against the trusted ``reference`` (a dotted name) on each case.

    fn and the reference are called with the case's arguments, in order; they
    return one array (``outputs=None``: named after the part) or a tuple whose
    entries are named by ``outputs``.  With ``no_warnings`` a numpy
    RuntimeWarning (overflow ...) raised while fn runs fails the part.
    """
    cases = _cases(cases)
    names = list(outputs) if outputs else [part]
    spec = {"kind": "function", "part": part, "reference": reference, "outputs": names, "tol": tol,
            "no_warnings": no_warnings, "cases": [c.to_json() for c in cases]}
    _run(spec, [_evaluate(fn, c, names) for c in cases])


def check_gradient(part, fn, *, reference, forward, wrt, cases, upstream=None, tol=1e-6, outputs=None,
                   no_warnings=True):
    """Check a backward function numerically and against the trusted reference.

    fn(*case args) returns the gradients w.r.t. the arguments named in ``wrt``
    (named ``"d" + name`` unless ``outputs`` is given).  The numerical gradient
    is taken by central differences (float64) of the scalar
    ``sum(upstream * forward(other args))`` when ``upstream`` names the
    argument holding dL/d(output), else of ``forward(args)`` itself (a loss).
    Each gradient must match both the numerical gradient and the reference.
    """
    cases = _cases(cases)
    names = list(outputs) if outputs else [f"d{w}" for w in wrt]
    spec = {"kind": "gradient", "part": part, "reference": reference, "forward": forward,
            "wrt": list(wrt), "upstream": upstream, "outputs": names, "tol": tol,
            "no_warnings": no_warnings, "cases": [c.to_json() for c in cases]}
    _run(spec, [_evaluate(fn, c, names) for c in cases])


def check_values(part, values, *, verifier, params=None):
    """Check values the student computed (weights, predictions ...) with a trusted verifier.

    ``values`` is a dict name -> array; ``verifier`` names a function
    ``verifier(values, **params) -> (ok, message)``.  Use it where many answers
    are right (hand-set weights) or a property is graded (test accuracy).
    """
    names = list(values)
    result = {"outputs": None, "error": None, "warnings": [], "exception": None}
    try:
        result["outputs"] = [_to_array(v, n) for n, v in values.items()]
    except Exception as exc:
        result["error"], result["exception"] = f"{type(exc).__name__}: {exc}", exc
    spec = {"kind": "values", "part": part, "verifier": verifier, "params": dict(params or {}),
            "outputs": names, "cases": []}
    _run(spec, [result])


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
                        "warnings": [str(w) for w in info.get("warnings") or []]})
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
            results = _load_results(record_dir / part, call, len(spec.get("cases") or []))
            try:
                ok, message, _ = _judge(spec, results, show=False)
            except Exception as exc:  # a malformed record must not stop the batch
                ok, message = False, f"{part}: could not compare the recorded outputs ({type(exc).__name__}: {exc})"
            passed = passed and ok
            if not ok:
                messages.append(message)
        verdicts[part] = (passed, "; ".join(messages) if messages else f"{part}: passed")
    return verdicts
