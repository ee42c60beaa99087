"""The book's launch buttons: the JupyterHub button only when a hub is configured, no placeholder.

Checks the session's single cold build (tests/book_build.py), shared with test_book.py.
"""
from __future__ import annotations

import pytest
import yaml

try:  # tests/ on sys.path (pytest's default "prepend" import mode)
    from book_build import BOOK, TEST_TIMEOUT_S, is_notebook_page, toc_docnames
except ImportError:  # tests/ imported as a package
    from tests.book_build import BOOK, TEST_TIMEOUT_S, is_notebook_page, toc_docnames

PLACEHOLDER = "hub.example.org"
TEXT_SUFFIXES = {".html", ".js", ".json", ".txt", ".ipynb", ".md", ".css"}


def _hub_url() -> str:
    config = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))
    return ((config.get("launch_buttons") or {}).get("jupyterhub_url") or "").strip().rstrip("/")


def test_config_has_no_placeholder_hub():
    assert PLACEHOLDER not in _hub_url(), (
        "book/_config.yml: launch_buttons.jupyterhub_url is the placeholder; set your hub's URL or leave it empty")


# the session's build (the `book_build` fixture, tests/conftest.py): the first test to ask builds it
@pytest.mark.book
@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_built_book_has_no_placeholder_hub_url(book_build):
    offenders = [str(p.relative_to(book_build.html)) for p in book_build.html.rglob("*")
                 if p.is_file() and p.suffix in TEXT_SUFFIXES
                 and PLACEHOLDER in p.read_text(encoding="utf-8", errors="replace")]
    assert not offenders, f"{PLACEHOLDER} appears in the built book: {offenders[:10]}"


@pytest.mark.book
@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_jupyterhub_button_only_when_a_hub_is_configured(book_build):
    hub = _hub_url()
    pages = [d for d in toc_docnames() if is_notebook_page(d)]
    assert pages
    for docname in pages:
        html = book_build.page(docname).read_text(encoding="utf-8")
        has_button = "hub/user-redirect/git-pull" in html
        if hub:
            assert has_button and f"{hub}/hub/user-redirect/git-pull" in html, f"{docname}: no JupyterHub button"
        else:
            assert not has_button, f"{docname}: a JupyterHub button although no hub is configured"
