"""Test cases described by a seed and argument specs, never by data.

A :class:`Case` says how to *make* the arguments of the function under test:
``Case(seed=0, args={"x": normal(4, 3), "y": labels(4, k=3)})`` draws ``x`` and
``y`` from ``numpy.random.default_rng(0)``, in the order given.  Because a
case is only a seed and a few shapes, it can be written to JSON and rebuilt
anywhere: the grader outside a sandbox recomputes exactly the inputs the
student's code saw.

Argument specs (plain JSON-able dicts):

==================================  =============================================
``normal(*shape, scale=1.0)``       float64 N(0, scale^2) entries
``uniform(*shape, low, high)``      float64 uniform in [low, high)
``labels(n, k)``                    int64 class labels in {0, ..., k-1}
``signs(*shape)``                   float64 labels in {-1, +1}
``ones(*shape)``                    float64 ones (an upstream gradient dL/dx = 1)
``const(value)``                    a fixed number, list or array (e.g. a stride)
==================================  =============================================
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Case", "normal", "uniform", "labels", "signs", "ones", "const"]


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return [int(n) for n in shape]


def normal(*shape, scale=1.0):
    """Standard normal entries times ``scale`` (use scale=1000 to test stability)."""
    return {"kind": "normal", "shape": _shape(shape), "scale": float(scale)}


def uniform(*shape, low=-1.0, high=1.0):
    """Uniform entries in [low, high)."""
    return {"kind": "uniform", "shape": _shape(shape), "low": float(low), "high": float(high)}


def labels(n, k):
    """n integer class labels in {0, ..., k-1}."""
    return {"kind": "labels", "n": int(n), "k": int(k)}


def signs(*shape):
    """Labels in {-1, +1} (float64), as the perceptron and logistic regression use."""
    return {"kind": "signs", "shape": _shape(shape)}


def ones(*shape):
    """All ones: as the upstream gradient, a backward check then grades the derivative itself."""
    return {"kind": "ones", "shape": _shape(shape)}


def const(value):
    """A fixed argument: a Python number stays a number, a list becomes a float/int array."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return {"kind": "const", "value": value}
    arr = np.asarray(value)
    if arr.dtype.kind == "i" and arr.size == 0:
        arr = arr.astype(np.float64)  # np.asarray([]) is float; an empty list means floats
    return {"kind": "const", "value": arr.tolist(), "dtype": arr.dtype.str, "shape": list(arr.shape)}


def _draw(spec, rng):
    kind = spec["kind"]
    if kind == "normal":
        return rng.standard_normal(spec["shape"]) * spec["scale"]
    if kind == "uniform":
        return rng.uniform(spec["low"], spec["high"], size=spec["shape"])
    if kind == "labels":
        return rng.integers(0, spec["k"], size=spec["n"]).astype(np.int64)
    if kind == "signs":
        return np.where(rng.random(spec["shape"]) < 0.5, -1.0, 1.0)
    if kind == "ones":
        return np.ones(spec["shape"])
    if kind == "const":
        if "dtype" in spec:
            arr = np.asarray(spec["value"], dtype=np.dtype(spec["dtype"]))
            return arr.reshape(spec["shape"]) if "shape" in spec else arr
        return spec["value"]
    raise ValueError(f"unknown argument spec kind {kind!r}; expected normal, uniform, labels, signs or const")


#: inputs with at most this many entries are shown by value in messages
SHOWN = 6


def show_value(value):
    """``0``, ``-1.5``, ``[0, 0, 0]``, ``[[0, 1], [1, 0]]``: as a student would type it."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        v = arr.item()
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    if arr.size == 0:
        return f"an empty array of shape {arr.shape}"
    with np.printoptions(threshold=12, edgeitems=3, formatter={"float_kind": lambda v: f"{v:.4g}"}):
        return " ".join(np.array2string(arr, separator=", ").split())


@dataclass(frozen=True)
class Case:
    """One test case: a seed and named argument specs, e.g.
    ``Case(seed=1, args={"s": normal(3, 4)})``.

    Shorthand for a function of one array: ``Case(seed=0, shape=(5,))`` is
    ``Case(seed=0, args={"s": normal(5)})`` (``scale=`` passes through).
    """

    seed: int
    args: dict = field(default_factory=dict)
    shape: tuple | None = None
    scale: float = 1.0

    def __post_init__(self):
        if self.shape is not None:
            if self.args:
                raise ValueError("Case: give either shape= (one normal array) or args=, not both")
            object.__setattr__(self, "args", {"s": normal(*self.shape, scale=self.scale)})
            object.__setattr__(self, "shape", None)
        if not self.args:
            raise ValueError("Case needs args= (a dict of argument specs) or shape=")

    def inputs(self) -> list:
        """The arguments, freshly drawn (same seed, same values, every call)."""
        rng = np.random.default_rng(self.seed)
        return [_draw(spec, rng) for spec in self.args.values()]

    def names(self) -> list[str]:
        return list(self.args)

    def describe(self) -> str:
        """Short text for messages: small and constant inputs by value, larger ones by how they
        were drawn, e.g. ``seed=2, w = [0, 0, 0], X: normal (6, 2), s: normal (8,) x1000``."""
        parts = []
        for (name, spec), value in zip(self.args.items(), self.inputs()):
            arr = np.asarray(value)
            if spec["kind"] == "const" or (arr.size <= SHOWN and spec.get("scale", 1.0) == 1.0):
                parts.append(f"{name} = {show_value(value)}" if arr.size <= 2 * SHOWN
                             else f"{name}: given {arr.shape}")
            elif spec["kind"] in ("normal", "uniform", "signs", "ones"):
                text = f"{name}: {spec['kind']} {tuple(spec['shape'])}"
                if spec.get("scale", 1.0) != 1.0:
                    text += f" x{spec['scale']:g}"
                parts.append(text)
            else:
                parts.append(f"{name}: {spec['n']} labels < {spec['k']}")
        return f"seed={self.seed}, " + ", ".join(parts)

    def to_json(self) -> dict:
        return {"seed": self.seed, "args": self.args}

    @classmethod
    def from_json(cls, data: dict) -> "Case":
        return cls(seed=int(data["seed"]), args=dict(data["args"]))
