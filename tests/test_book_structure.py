"""Every chapter has the same shape: learning outcomes, sections, summary, exercises, assignment;
in chapters 1-5 every section ends with at least one self-check (an exercise with a dropdown answer).
"""
import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "book" / "chapters").glob("0*.md"))
TAIL = ["Summary", "Exercises"]


def _sections(text):
    """[(title, body)] of the ## sections, code cells included."""
    parts = re.split(r"^## ", text, flags=re.M)
    return [(p.split("\n", 1)[0].strip(), p) for p in parts[1:]]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_order(path):
    text = path.read_text()
    first_section = re.search(r"^## ", text, re.M).start()
    assert "Learning outcomes" in text[:first_section], "learning outcomes come before the first section"
    titles = [t for t, _ in _sections(text)]
    assert "Summary" in titles and "Exercises" in titles, titles
    k = titles.index("Summary")
    assert titles[k:k + 2] == TAIL, f"summary, then exercises: {titles[k:]}"
    rest = titles[k + 2:]
    assert all(t.startswith("Graded assignment") for t in rest), f"only the assignment follows: {rest}"
    body = dict(_sections(text))
    assert "{exercise}" not in body["Summary"]


@pytest.mark.parametrize("path", [p for p in CHAPTERS if p.stem[:2] in {"01", "02", "03", "04", "05"}],
                         ids=lambda p: p.stem)
def test_every_section_has_a_self_check(path):
    sections = _sections(path.read_text())
    content = [(t, b) for t, b in sections if t not in TAIL and not t.startswith("Graded assignment")]
    missing = []
    for title, body in content:
        labels = re.findall(r"^```\{exercise\}[^\n]*\n:label: (\S+)", body, re.M)
        if not labels or not all(re.search(rf"^`{{3,4}}\{{solution\}} {re.escape(l)}\n:class: dropdown", body, re.M)
                                 for l in labels):
            missing.append(title)
    assert not missing, f"sections without a self-check with a dropdown answer: {missing}"
