"""The book builds cold, with no warning, executes every chapter, and works offline.

One cold build per session (tests/book_build.py), shared with tests/test_browser.py.
The measured build time is written to <output>/build_time.txt and printed on stderr.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

try:  # tests/ on sys.path (pytest's default "prepend" import mode)
    from book_build import BOOK, TEST_TIMEOUT_S, is_notebook_page, toc_docnames
except ImportError:  # tests/ imported as a package
    from tests.book_build import BOOK, TEST_TIMEOUT_S, is_notebook_page, toc_docnames

# every test reads the session's build (the `book_build` fixture, tests/conftest.py): the first builds it
pytestmark = [pytest.mark.book, pytest.mark.timeout(TEST_TIMEOUT_S)]

NOTEBOOK_PAGES = [d for d in toc_docnames() if is_notebook_page(d)]


def _executed_at_build(docname: str) -> bool:
    """False for notebooks that opt out of execution (``mystnb: execution_mode: "off"``, e.g.
    the student assignments shown as handed out)."""
    source = BOOK / f"{docname}.ipynb"
    if source.exists():
        nb = nbformat.read(source, as_version=4)
        return nb.metadata.get("mystnb", {}).get("execution_mode", "cache") != "off"
    text = (BOOK / f"{docname}.md").read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("\n---", 1)[0].lstrip("-")) or {}
    return (front.get("mystnb") or {}).get("execution_mode", "cache") != "off"


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _html_pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)


def _is_external(url: str) -> bool:
    return url.startswith("//") or bool(urlsplit(url).scheme)


def _local_target(page: Path, url: str) -> Path:
    return (page.parent / unquote(urlsplit(url).path)).resolve()


def test_book_builds_cold_without_a_warning(book_build):
    problems = book_build.warnings()
    assert book_build.returncode == 0 and not problems, (
        f"`jupyter-book build book -W --keep-going` failed (exit {book_build.returncode}), "
        f"full log in {book_build.output / 'build.log'}:\n"
        + "\n".join(problems or book_build.log.splitlines()[-40:]))


def test_every_page_of_the_toc_is_built_and_in_the_sidebar(book_build):
    docnames = toc_docnames()
    missing = [d for d in docnames if not book_build.page(d).is_file()]
    assert not missing, f"pages of book/_toc.yml with no HTML in {book_build.html}: {missing}"
    # The landing page's sidebar links every other page of the table of contents.
    root = book_build.page(docnames[0])
    nav = _soup(root).select_one("nav.bd-docs-nav, nav#bd-docs-nav")
    assert nav is not None, f"no sidebar navigation in {root}"
    linked = {str(_local_target(root, a["href"]).relative_to(book_build.html.resolve()))
              for a in nav.find_all("a", href=True) if not _is_external(a["href"])}
    unlinked = [d for d in docnames[1:] if f"{d}.html" not in linked]
    assert not unlinked, f"pages missing from the sidebar of {root.name}: {unlinked}"


@pytest.mark.parametrize("docname", [d for d in NOTEBOOK_PAGES if _executed_at_build(d)])
def test_notebook_page_executed_without_error_or_stderr(book_build, docname):
    executed = book_build.build_dir / "jupyter_execute" / f"{docname}.ipynb"
    assert executed.is_file(), f"{docname}: no executed notebook at {executed}"
    nb = nbformat.read(executed, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        source = cell.source.strip().splitlines()[:1]
        assert cell.get("execution_count") is not None or not cell.source.strip(), (
            f"{docname}: code cell {index} ({source}) was not executed")
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (
                f"{docname}: code cell {index} ({source}) raised "
                f"{out.get('ename')}: {out.get('evalue')}")
            assert not (out.output_type == "stream" and out.get("name") == "stderr"), (
                f"{docname}: code cell {index} ({source}) wrote to stderr: {out.get('text')!r}")
    reports = book_build.html / "reports" / f"{docname}.err.log"
    assert not reports.exists(), f"{docname}: execution failed, see {reports}"


def test_pages_fetch_nothing_from_outside_the_build(book_build):
    """Scripts, styles, fonts, images, frames: all from the build folder, all present."""
    offenders, missing = [], []
    for page in _html_pages(book_build.html):
        soup = _soup(page)
        refs = [t.get("src") for t in soup.find_all(["script", "img", "iframe", "source",
                                                     "video", "audio", "embed"])]
        refs += [t.get("href") for t in soup.find_all("link")
                 if set(t.get("rel") or ()) & {"stylesheet", "preload", "icon", "modulepreload"}]
        for url in filter(None, refs):
            if url.startswith("data:"):
                continue
            if _is_external(url):
                offenders.append(f"{page.relative_to(book_build.html)}: {url}")
            elif not _local_target(page, url).is_file():
                missing.append(f"{page.relative_to(book_build.html)}: {url}")
    css_external = [f"{css.relative_to(book_build.html)}: {m.group(1)}"
                    for css in book_build.html.glob("_static/**/*.css")
                    for m in re.finditer(r"""url\(\s*['"]?((?:https?:)?//[^'")\s]+)""",
                                         css.read_text(encoding="utf-8", errors="replace"))
                    if "www.w3.org/2000/svg" not in m.group(1)]
    assert not offenders, "pages load resources from outside the build:\n" + "\n".join(offenders)
    assert not css_external, "stylesheets load resources from outside:\n" + "\n".join(css_external)
    assert not missing, "pages reference files absent from the build:\n" + "\n".join(missing)


def test_math_is_typeset_by_a_mathjax_served_from_the_build(book_build):
    pages_with_math = [p for p in _html_pages(book_build.html)
                       if _soup(p).select_one(".math, span.math, div.math")]
    assert pages_with_math, "no page of the book has math (the landing page at least should)"
    for page in pages_with_math:
        scripts = [s["src"] for s in _soup(page).find_all("script", src=True)
                   if "mathjax" in s["src"].lower()]
        assert scripts, f"{page.name} has math but loads no MathJax"
        for src in scripts:
            assert not _is_external(src), f"{page.name} loads MathJax from outside: {src}"
            assert _local_target(page, src).is_file(), f"{page.name}: {src} is not in the build"
    mathjax = book_build.html / "_static" / "mathjax"
    fonts = list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (mathjax / "tex-chtml.js").is_file() and len(fonts) >= 10, (
        f"MathJax (tex-chtml.js and its woff fonts) not copied into {mathjax}")


@pytest.mark.parametrize("docname", NOTEBOOK_PAGES)
def test_download_button_offers_the_notebook(book_build, docname):
    """A chapter (.md) offers its executed notebook; a notebook page (.ipynb) offers itself."""
    page = book_build.page(docname)
    soup = _soup(page)
    links = [a for a in soup.select("a.btn-download-notebook-button, a.btn-download-source-button")
             if a["href"].endswith(".ipynb")]
    assert links, f"{docname}: the download menu offers no .ipynb"
    target = _local_target(page, links[0]["href"])
    assert target.is_file(), f"{docname}: the .ipynb download link {links[0]['href']} is broken"
    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("language") == "python"
    source = BOOK / f"{docname}.md"
    if source.exists():
        n_code = len(re.findall(r"^```\{code-cell\}", source.read_text(encoding="utf-8"),
                                flags=re.M))
        assert sum(c.cell_type == "code" for c in nb.cells) == n_code, (
            f"{docname}: the downloadable notebook lacks some of the chapter's {n_code} code cells")
        if n_code and _executed_at_build(docname):
            assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
                f"{docname}: the downloadable notebook has no outputs (not the executed one)")


def test_launch_buttons_follow_the_single_repository_setting(book_build):
    config = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]
    org_repo = urlsplit(repo["url"]).path.strip("/")
    branch, book_path = repo.get("branch", "main"), repo.get("path_to_book", "").strip("/")
    for docname in NOTEBOOK_PAGES:
        soup = _soup(book_build.page(docname))
        hrefs = [a["href"] for a in soup.find_all("a", href=True)]
        binder = [h for h in hrefs if "/v2/gh/" in h]
        colab = [h for h in hrefs if "colab.research.google.com" in h]
        assert binder and all(f"/v2/gh/{org_repo}/{branch}?" in h for h in binder), (
            f"{docname}: Binder link {binder} does not follow repository.url {repo['url']}")
        assert colab and all(f"/github/{org_repo}/blob/{branch}/{book_path}/{docname}."
                             in h for h in colab), f"{docname}: Colab link {colab}"
        assert soup.select_one(".btn-launch-thebe"), f"{docname}: no live-code (Thebe) button"
