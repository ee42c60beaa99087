"""Grading helpers for the nbgrader test cells of the course's assignments.

A test cell declares what it checks; it never compares numbers itself::

    from nnkit import grading
    from nnkit.grading import Case, normal, labels

    grading.check_function("sigmoid", sigmoid, reference="nnkit.activations.sigmoid",
                           cases=[Case(seed=0, shape=(5,))], tol=1e-9)
    grading.check_gradient("dense_backward", lambda delta, x, W, b: dense_backward(delta, x, W),
                           reference="nnkit.grading.references.dense_backward",
                           forward="nnkit.grading.references.dense_forward",
                           upstream="delta", wrt=("x", "W", "b"),
                           cases=[Case(seed=0, args={"delta": normal(4, 2), "x": normal(4, 3),
                                                     "W": normal(3, 2), "b": normal(2)})])

A failing check raises ``AssertionError`` naming the output, the entry, the
relative error and the tolerance, e.g. ``dW: relative error 3.1e-01 at [2, 1],
tolerance 1e-06 (yours 0.53, numerical 0.12) ...``.  With the environment
variable ``NNKIT_GRADING_RECORD=<dir>`` the checks only record the student's
outputs and :func:`compare_records` judges them outside the student's kernel
(see :mod:`nnkit.grading.checks`).
"""
from .cases import Case, const, labels, normal, ones, signs, uniform
from .checks import (RECORD_ENV, check_function, check_gradient, check_values, compare_records, required_part,
                     required_values, resolve, substitute)

__all__ = ["Case", "normal", "uniform", "labels", "signs", "ones", "const", "check_function", "check_gradient",
           "check_values", "compare_records", "required_part", "required_values", "resolve", "substitute", "RECORD_ENV"]
