"""``nnkit-course report`` (issue 19): item analysis, common failures, similar submissions.

A synthetic class (tests/synthetic_class.py, no kernel run): 60 rostered students x perceptron,
logistic_regression and backprop, written from the solutions; planted mistakes from
tests/assignment_mutations.py in known numbers; two copied pairs (renamed, reordered, commented);
hand-graded written answers with full, half and no credit; three students without a submission;
one submitter not on the roster.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

from nnkit.course import class_report as cr
from nnkit.course import similarity as sim
from nnkit.course.coursedir import Course

try:
    from synthetic_class import make_class
except ImportError:  # tests/ imported as a package
    from tests.synthetic_class import make_class


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("report") / "course"
    plan = make_class(root)
    course = Course(root)
    reports = {r.name: r for r in cr.build(course, top_pairs=None, workers=1)}
    return plan, course, reports


# ---------------------------------------------------------------------------- item analysis
def test_item_analysis_shares_are_exact_over_the_roster(klass):
    plan, _, reports = klass
    n = len(plan.rostered)
    for a in plan.assignments:
        r = reports[a]
        assert r.students == plan.rostered, f"{a}: the rostered students, in roster order"
        assert r.submitted == len(plan.submitted[a] & set(plan.rostered))
        for p, got in zip(r.parts, r.analysis):
            col = np.array([plan.part_scores[a].get(s, {}).get(p.key, 0.0)
                            for s in plan.rostered])
            m = plan.part_max[a][p.key]
            full, none = int((col == m).sum()), int((col == 0).sum())
            want = {"full": full / n, "partial": (n - full - none) / n, "none": none / n}
            assert {k: got[k] for k in want} == want, f"{a}/{p.grade_id}: shares"
            assert got["mean"] == pytest.approx(col.mean())
    # the written answers were graded full / half / zero: partial credit shows
    why = reports["perceptron"].analysis[-1]
    assert reports["perceptron"].parts[-1].grade_id == "why_not_xor"
    assert why["n_partial"] == 10 and why["n_none"] == 10, why
    # non-submitters have no credit anywhere
    backprop = reports["backprop"]
    absent = [i for i, s in enumerate(backprop.students) if s not in plan.submitted["backprop"]]
    assert len(absent) == 3 and not backprop.scores[absent].any()


def test_discrimination_index_is_the_correlation_with_the_rest():
    scores = np.array([[1, 2, 0], [1, 2, 2], [0, 0, 0], [1, 0, 2], [0, 2, 1]], dtype=float)
    got = cr.item_analysis(scores, np.array([1.0, 2.0, 2.0]))
    for j in range(3):
        rest = scores.sum(axis=1) - scores[:, j]
        assert got[j]["discrimination"] == pytest.approx(np.corrcoef(scores[:, j], rest)[0, 1])
    flat = cr.item_analysis(np.ones((4, 2)), np.array([1.0, 1.0]))
    assert np.isnan(flat[0]["discrimination"]), "a part everyone passes discriminates nothing"
    assert flat[0]["full"] == 1.0 and flat[0]["none"] == 0.0


# ---------------------------------------------------------------------------- failures
def test_each_planted_mistake_is_its_own_cluster_with_its_count(klass):
    """The class's failure messages are the real checks' (tests/synthetic_class.py runs them):
    each planted mistake must come out as one cluster holding exactly its students."""
    plan, _, reports = klass
    for a in plan.assignments:
        r = reports[a]
        planted: dict = {}
        for mname, (part, _) in plan.messages[a].items():
            planted.setdefault(part, set()).add(frozenset(plan.mistakes[a][mname]))
        found: dict = {}
        for (part, kind), students in r.failing.items():
            found.setdefault(part, set()).add(frozenset(students))
        assert found == planted, f"{a}: clusters do not match the planted mistakes"
        for part, rows in r.failures.items():
            counts = [c for _, c, _ in rows]
            assert counts == sorted(counts, reverse=True), f"{a}/{part}: most common first"
            for kind, count, _ in rows:
                assert count == len(r.failing[(part, kind)])
    kinds = {k for r in reports.values() for _, k in r.failing}
    for want in ("dw: relative error, yours ≈ 6× numerical gradient (case seed=0)",  # the sum
                 "delta: relative error, yours ≈ 4× numerical gradient (case seed=0)",  # 1/N
                 "dw: relative error, yours ≈ -1× numerical gradient (case seed=0)",   # sign
                 "dW: shape (2, 3) where (3, 2) is expected",
                 "update: changes its input w in place",
                 "dense_backward uses nnkit.layers.Dense (nnkit's own implementation)",
                 "sigmoid: numpy warned 'overflow encountered in exp'"):
        assert want in kinds, f"no cluster {want!r} among {sorted(kinds)}"


def test_failure_kinds_read_the_graders_own_messages():
    from nnkit.grading.checks import _compare
    want = np.array([[0.5, -1.25], [2.0, 0.75], [1.5, -0.3]])
    msg, _ = _compare("dW", 4 * want, want, 1e-6, "numerical", "x: normal (3, 2)", floor=1e-4)
    assert cr.failure_kind(msg) == "dW: relative error, yours ≈ 4× numerical gradient", msg
    msg, _ = _compare("delta", -want, want, 1e-7, "expected", "x: normal (3, 2)")
    assert cr.failure_kind(msg) == "delta: relative error, yours ≈ -1× expected", msg
    msg, _ = _compare("dW", want.T, want, 1e-6, "numerical", "x: normal (3, 2)")
    assert cr.failure_kind(msg) == "dW: shape (2, 3) where (3, 2) is expected", msg
    bad = want.copy()
    bad[1, 1] = np.nan
    msg, _ = _compare("loss", bad, want, 1e-6, "expected", "x: normal (3, 2)")
    assert cr.failure_kind(msg) == "loss: NaN where a finite value is expected", msg
    msg, _ = _compare("p", want * (1 + 3e-8), want, 1e-9, "expected", "seed=0")
    assert cr.failure_kind(msg) == "p: relative error ~1e-8, yours ≈ expected (a precision " \
                                   "problem) (case seed=0)", msg
    # the same mistake on other values (another student's code): the same kind
    other = np.array([[3.0, 0.1], [-0.2, 7.0], [1.0, 1.0]])
    one, _ = _compare("dW", 4 * want, want, 1e-6, "numerical", "seed=3", floor=1e-4)
    two, _ = _compare("dW", 4 * other, other, 1e-6, "numerical", "seed=3", floor=1e-4)
    assert one != two and cr.failure_kind(one) == cr.failure_kind(two)
    assert cr.failure_kind("AssertionError: x went wrong at step 3 of 10") == \
        "AssertionError: x went wrong at step N of N"


def test_failure_examples_are_anonymised(klass):
    plan, course, reports = klass
    anon = cr.anonymiser([{"id": "s003", "first_name": "Jane", "last_name": "Smith",
                           "email": "jsmith@uni.example"}])
    text = anon("Smith: file /autograded/s003/perceptron.ipynb by jsmith@uni.example (jsmith)")
    assert not re.search(r"s003|Smith|jsmith", text), text
    for r in reports.values():
        for rows in r.failures.values():
            for _, _, example in rows:
                assert not re.search(r"\bs\d{3}\b|First|Last", example), example


# ---------------------------------------------------------------------------- similarity
SOLUTION = '''def dense_backward(delta, x, W):
    """(dL/dx, dL/dW, dL/db) from delta = dL/ds."""
    dx = delta @ W.T
    dW = x.T @ delta
    db = delta.sum(axis=0)
    return dx, dW, db
'''


def test_fingerprints_ignore_renaming_reformatting_comments_and_order():
    keep = frozenset(sim.BUILTINS | {"np", "dense_backward"})
    original = SOLUTION.replace("    dx =", "    scale = np.sqrt(417.0) * x.shape[0]\n    dx =")
    disguised = '''def dense_backward(d, inp, weights):
    # my own code!
    g_w = inp.T@d        # weight gradient
    s_17 = np.sqrt( 417.0 )*inp.shape[ 0 ]
    g_b = d.sum(axis = 0)
    g_x = (d @ weights.T)
    return g_x, g_w, g_b
'''
    a = sim.code_fingerprints(original, keep, "cell")
    b = sim.code_fingerprints(disguised, keep, "cell")
    assert set(a) == set(b)
    other = sim.code_fingerprints(original.replace("417.0", "7.0"), keep, "cell")
    assert set(other) != set(a), "a different constant is a different statement"
    assert not set(sim.code_fingerprints(original, keep, "other cell")) & set(a), \
        "code only matches code of the same question"


def test_cells_that_do_not_parse_are_compared_line_by_line():
    keep = frozenset(sim.BUILTINS)
    broken = "def f(x):\n    y = x +* 2\n    return y\n%timeit f(3)\n"
    a = sim.code_fingerprints(broken, keep, "c")
    b = sim.code_fingerprints(broken.replace("    ", "\t"), keep, "c")
    assert len(a) == 3 and set(a) == set(b)
    spans = sim.code_fingerprints("%matplotlib inline\nx = 1\n", keep, "c").values()
    assert spans and set(spans) == {(2, 2)}, "the magic is dropped, the code kept"


def test_short_correct_answers_are_not_flagged():
    keep = frozenset(sim.BUILTINS | {"np"})
    template = SOLUTION.split('"""\n')[0] + '"""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n'
    discount = sim.common_fingerprints({"c": [("code", template), ("code", SOLUTION)]}, keep)
    subs = [sim.fingerprint(sim.Submission(f"st{i}", {"c": ("code", SOLUTION.replace(
        "delta", name).replace("  ", "    " if i % 2 else "  "))}), keep)
        for i, name in enumerate(["delta", "d", "grad", "upstream"])]
    assert sim.similar_pairs(subs, discount, common=1.0, min_shared=1) == []
    assert sim.similar_pairs(subs, set(), common=1.0, min_shared=1), \
        "without the discount the same answers would be flagged"


def test_copied_pairs_rank_above_every_independent_pair(klass):
    plan, _, reports = klass
    copies = {frozenset(p) for p in plan.copies["backprop"]}
    assert len(copies) == 2
    ranked = [frozenset((p.a, p.b)) for p in reports["backprop"].pairs]
    top = ranked[:2]
    assert set(top) == copies, f"top pairs {top}, copies {copies}"
    worst_copy = min(p.score for p in reports["backprop"].pairs if frozenset((p.a, p.b)) in copies)
    best_other = max(p.score for r in reports.values() for p in r.pairs
                     if frozenset((p.a, p.b)) not in copies)
    assert worst_copy > 2 * best_other, (worst_copy, best_other)
    pair = reports["backprop"].pairs[0]
    code_cells = [g for g in pair.regions if not g.endswith("why_backprop")]
    assert len(code_cells) == 4 and all(la and lb for la, lb in pair.regions.values())


# ---------------------------------------------------------------------------- command and page
def _run_cli(course: Course, *args) -> str:
    from nnkit.course.cli import main
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["--course-dir", str(course.root), "report", *args]) == 0
    return buf.getvalue()


@pytest.fixture(scope="module")
def page(klass, tmp_path_factory):
    plan, course, _ = klass
    db = course.root / "gradebook.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    out_dir = tmp_path_factory.mktemp("html")
    text = _run_cli(course, "--html", str(out_dir), "--pairs", "5")
    after = hashlib.sha256(db.read_bytes()).hexdigest()
    return text, out_dir, before == after


def test_command_prints_the_tables_and_changes_no_grade(klass, page):
    plan, _, _ = klass
    text, out_dir, unchanged = page
    assert unchanged, "nnkit-course report wrote to the gradebook"
    for a in plan.assignments:
        assert f"== {a}: 60 rostered student(s)" in text
    assert "delta: relative error, yours ≈ 4× numerical gradient" in text
    first_pair = text.split("== backprop")[1].split("most similar submissions")[1].splitlines()[3]
    assert frozenset(first_pair.split()[:2]) in {frozenset(p) for p in plan.copies["backprop"]}
    assert f"wrote {out_dir / 'report.html'}" in text


def test_report_page_is_self_contained_and_holds_its_figures(klass, page):
    plan, _, _ = klass
    _, out_dir, _ = page
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.html"], "a temporary file is left"
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not external, f"links outside the page: {external}"
    assert "<script" not in html.lower() and "<link" not in html.lower(), \
        "a student's markup must be shown as text"
    assert "&lt;script&gt;alert(&#x27;copied&#x27;)" in html
    images = re.findall(r'<img[^>]*src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2 * len(plan.assignments), "a stacked bar and a histogram each"
    for b64 in images:
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    assert html.count("<mark>") > 20, "the matching lines of similar pairs are highlighted"


@pytest.mark.browser
def test_report_page_opens_offline_in_chromium(page):
    """The page in headless chromium (tests/test_browser.py's Browser and Page): every figure
    decodes, no console error, no request leaves the local server."""
    import functools
    import http.server
    import threading
    try:
        from test_browser import Browser, Page, _QuietHandler, sync_playwright
    except ImportError:
        from tests.test_browser import Browser, Page, _QuietHandler, sync_playwright
    _, out_dir, _ = page
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    def look():
        with sync_playwright() as playwright:
            browser = Browser(playwright, f"http://127.0.0.1:{server.server_address[1]}/")
            try:
                tab = Page(browser, {"width": 1280, "height": 900})
                tab.open("report.html")
                sizes = tab.page.evaluate(
                    "() => [...document.images].map(i => i.complete ? i.naturalWidth : 0)")
                assert len(sizes) == 6 and all(w > 100 for w in sizes), sizes
                assert tab.all_problems() == []
                tab.close()
            finally:
                browser.close()

    from concurrent.futures import ThreadPoolExecutor
    try:
        # a thread of its own: earlier tests (nbclient, Dask) may leave an asyncio loop on this one,
        # where Playwright's sync API refuses to run
        with ThreadPoolExecutor(1) as pool:
            pool.submit(look).result()
    finally:
        server.shutdown()
        server.server_close()


def test_unknown_assignment_is_an_error_naming_the_released_ones(klass, capsys):
    from nnkit.course.cli import main
    _, course, _ = klass
    assert main(["--course-dir", str(course.root), "report", "nosuch"]) == 1
    err = capsys.readouterr().err
    assert "no such assignment: nosuch" in err and "perceptron" in err


def test_without_a_roster_every_student_of_the_gradebook_counts(tmp_path):
    plan = make_class(tmp_path / "course", ("perceptron",), n_students=4, plan={}, copies={},
                      no_submission=1)
    (tmp_path / "course" / ".nnkit-course" / "roster.json").unlink()
    (r,) = cr.build(Course(tmp_path / "course"))
    assert r.students == sorted(plan.rostered + plan.not_rostered)
    assert r.submitted == 4 and r.analysis[0]["n_none"] == 1, "s003 submitted nothing"
