"""The built book, read in a real browser with no network (issue 9).

Debian's chromium (/usr/bin/chromium), driven by Playwright's sync API, reads the HTML of the
session's cold build (tests/book_build.py) served by http.server on 127.0.0.1. Any request to
another host is aborted and counted as a failure. For every page of the table of contents:
math typeset, images loaded, no console error, no failed request, no widget placeholder,
animations that move, the notebook offered by the download button, a layout that holds on a
phone; plus navigation (next/previous, sidebar) and search. Screenshots of every page (desktop and phone) are written to
<build>/screenshots/{desktop,phone}/ (the path is printed; NNKIT_BOOK_OUTPUT=dir keeps them).

Skipped, saying which and why, when the playwright package or chromium is missing.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

CHROMIUM = Path(os.environ.get("NNKIT_CHROMIUM", "/usr/bin/chromium"))
try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"browser test of the book skipped: the Python package 'playwright' is not "
                f"installed ({exc}); it is part of nnkit[dev] (`make venv`)",
                allow_module_level=True)
if not CHROMIUM.is_file():  # pragma: no cover - depends on the machine
    pytest.skip(f"browser test of the book skipped: chromium is not installed at {CHROMIUM} "
                "(Debian: `apt-get install chromium`, as .ci/run does; or set NNKIT_CHROMIUM)",
                allow_module_level=True)

try:  # tests/ on sys.path (pytest's default "prepend" import mode)
    from book_build import TEST_TIMEOUT_S, is_notebook_page, toc_docnames
except ImportError:  # tests/ imported as a package
    from tests.book_build import TEST_TIMEOUT_S, is_notebook_page, toc_docnames

# every test reads the session's build (the `book_build` fixture, tests/conftest.py): the first builds it
pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.timeout(TEST_TIMEOUT_S)]

DOCNAMES = toc_docnames()
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000
# Raw TeX that MathJax should have replaced: $$, \[ \], \( \), and $...$ pairs.
RAW_TEX = re.compile(r"\$\$|\\\[|\\\]|\\\(|\\\)|\\begin\{|(?<![\\\w])\$[^\s$][^$\n]{0,120}?[^\s$\\]\$")


# --------------------------------------------------------------------------- fixtures

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep the test output clean
        pass


@pytest.fixture(scope="session")
def site(book_build):
    """The built HTML served on 127.0.0.1 (ephemeral port) from a thread: its base URL."""
    # A build with warnings (-W --keep-going: exit 1) still writes every page; test_book.py
    # reports the warnings, the browser checks what was written.
    if not (book_build.html / "index.html").is_file():
        pytest.fail(f"the book did not build (exit {book_build.returncode}); "
                    f"see {book_build.output / 'build.log'}")
    handler = functools.partial(_QuietHandler, directory=str(book_build.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class Browser:
    """One chromium (fresh, empty profile) for the session; requests leaving the site abort."""

    def __init__(self, playwright, base_url: str):
        self.base_url = base_url
        self.netloc = urlsplit(base_url).netloc
        self.profile = tempfile.TemporaryDirectory(prefix="nnkit-chromium-")
        self.context = playwright.chromium.launch_persistent_context(
            self.profile.name, executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport=DESKTOP, service_workers="block")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.external: list[str] = []
        self.context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if urlsplit(url).netloc == self.netloc:
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def close(self):
        self.context.close()
        self.profile.cleanup()


@pytest.fixture(scope="session")
def browser(site):
    with sync_playwright() as playwright:
        try:
            chromium = Browser(playwright, site)
        except PlaywrightError as exc:
            pytest.fail(f"chromium at {CHROMIUM} is installed but did not start: {exc}")
        yield chromium
        chromium.close()


class Page:
    """A browser tab that records console errors, page errors and failed requests."""

    def __init__(self, browser: Browser, viewport: dict):
        self.browser = browser
        self.page = browser.context.new_page()
        self.page.set_viewport_size(viewport)
        self.problems: list[str] = []
        self.external_before = len(browser.external)
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console error: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(
            f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"HTTP {r.status}: {r.url}"))

    def open(self, docname_or_path: str, *, full: bool = True) -> str:
        """Load a page; ``full``: wait for every resource and for MathJax to finish."""
        path = docname_or_path if "." in docname_or_path.rsplit("/", 1)[-1] \
            else f"{docname_or_path}.html"
        url = urljoin(self.browser.base_url, path)
        self.page.goto(url, wait_until="load" if full else "domcontentloaded")
        if full:
            self.wait_for_math()
        return url

    def follow(self, selector: str) -> str:
        """Click the first link matching ``selector``; the docname of the page it opens."""
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            self.page.locator(selector).first.click()
        return _docname_of(self.page.url, self.browser.base_url)

    def wait_for_math(self) -> None:
        if self.page.evaluate("() => !!document.querySelector('.math')"):
            self.page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("() => MathJax.startup.promise.then(() => true)")

    def all_problems(self) -> list[str]:
        outside = self.browser.external[self.external_before:]
        return self.problems + [f"request to another host (aborted): {u}" for u in outside]

    def close(self):
        self.page.close()


@pytest.fixture
def desktop(browser):
    tab = Page(browser, DESKTOP)
    yield tab
    tab.close()


@pytest.fixture
def phone(browser):
    tab = Page(browser, PHONE)
    yield tab
    tab.close()


def _screenshot(tab: Page, book_build, kind: str, docname: str) -> Path:
    path = book_build.build_dir / "screenshots" / kind / f"{docname}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    # back to the top, so the sticky header and sidebar are drawn where a reader first sees them
    tab.page.evaluate("() => window.scrollTo(0, 0)")
    tab.page.screenshot(path=str(path), full_page=True)
    return path


# --------------------------------------------------------------------------- page checks

JS_MATH = """() => {
  const math = [...document.querySelectorAll('.math')];
  return {count: math.length,
          untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
          errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80))};
}"""

JS_VISIBLE_TEXT = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight').forEach(e => e.remove());
  return copy.textContent;
}"""

JS_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 10000); })));
  return {count: imgs.length,
          broken: imgs.filter(i => !(i.naturalWidth > 0)).map(i => (i.getAttribute('src') || '(no src) #' + i.id).slice(0, 120))};
}"""

JS_WIDGETS = """() => {
  const text = document.body.innerText;
  const outputs = [...document.querySelectorAll('.cell_output > .output, .cell_output > div')];
  const empty = outputs.filter(o => !o.innerText.trim() &&
      !o.querySelector('img, svg, canvas, video, iframe, table, mjx-container'));
  return {
    loading: /Loading widget/i.test(text),
    widgetScripts: document.querySelectorAll('script[type^="application/vnd.jupyter.widget"]').length,
    widgetJson: /application\\/vnd\\.jupyter\\.widget|"model_id"\\s*:/.test(text),
    widgetBoxes: [...document.querySelectorAll('.jupyter-widgets, .widget-area, .jupyter-widgets-view')].length,
    emptyOutputs: empty.map(o => o.className),
  };
}"""

JS_FRAME = """(root) => ({value: Number(root.querySelector('input.anim-slider').value),
                          src: (root.querySelector('img').getAttribute('src') || '').slice(-200)})"""


def _prev_next_problems(tab: Page, docname: str) -> list[str]:
    """'previous' and 'next' lead to the neighbours of the page in the table of contents."""
    index, problems = DOCNAMES.index(docname), []
    for selector, neighbour in (("a.left-prev", DOCNAMES[index - 1] if index else None),
                                ("a.right-next", DOCNAMES[index + 1]
                                 if index + 1 < len(DOCNAMES) else None)):
        link = tab.page.locator(selector)
        target = _docname_of(urljoin(tab.page.url, link.first.get_attribute("href")),
                             tab.browser.base_url) if link.count() else None
        if neighbour is not None and target != neighbour:
            problems.append(f"'{selector}' leads to {target}, expected {neighbour}")
    return problems


def _download_problems(tab: Page, docname: str) -> list[str]:
    """The download menu offers the page's notebook, and the link serves an .ipynb."""
    tab.page.locator("button[aria-label='Download this page']").first.click()
    # a chapter (.md) offers its executed notebook, a notebook page (.ipynb) its source
    link = tab.page.locator("a.btn-download-notebook-button[href$='.ipynb'], "
                            "a.btn-download-source-button[href$='.ipynb']").first
    if not link.count() or not link.is_visible():
        return ["the download menu offers no .ipynb"]
    href = urljoin(tab.page.url, link.get_attribute("href"))
    response = tab.page.request.get(href)
    try:
        nb = json.loads(response.body())
    except ValueError:
        nb = {}
    tab.page.keyboard.press("Escape")
    if response.ok and href.endswith(".ipynb") and nb.get("nbformat") == 4 \
            and isinstance(nb.get("cells"), list):
        return []
    return [f"download .ipynb: {href} -> HTTP {response.status}, not a notebook"]


@pytest.mark.parametrize("docname", DOCNAMES)
def test_page_reads_well_on_a_desktop(book_build, desktop, docname):
    desktop.open(docname)
    page = desktop.page
    failures = []

    math = page.evaluate(JS_MATH)
    if math["untypeset"]:
        failures.append(f"math not typeset by MathJax: {math['untypeset'][:5]}")
    if math["errors"]:
        failures.append(f"MathJax errors (bad TeX): {math['errors'][:5]}")
    raw = sorted({m.group(0)[:60] for m in RAW_TEX.finditer(page.evaluate(JS_VISIBLE_TEXT))})
    failures += _prev_next_problems(desktop, docname)
    if raw:
        failures.append(f"raw TeX left in the text: {raw[:8]}")

    images = page.evaluate(JS_IMAGES)
    if images["broken"]:
        failures.append(f"images that did not load: {images['broken']}")

    widgets = page.evaluate(JS_WIDGETS)
    if widgets["loading"] or widgets["widgetScripts"] or widgets["widgetJson"] or widgets["widgetBoxes"]:
        failures.append(f"live-widget leftovers instead of the static fallback: {widgets}")
    if widgets["emptyOutputs"]:
        failures.append(f"empty output boxes: {widgets['emptyOutputs']}")

    for index, animation in enumerate(page.locator("div.animation").all()):
        handle = animation.element_handle()
        start = page.evaluate(JS_FRAME, handle)
        animation.locator("button[title='Next frame']").click()
        after = page.evaluate(JS_FRAME, handle)
        if after["value"] != start["value"] + 1 or after["src"] == start["src"]:
            failures.append(f"animation {index}: 'Next frame' did not advance ({start['value']} "
                            f"-> {after['value']}, image changed: {after['src'] != start['src']})")
        animation.locator("button[title='Play']").click()
        try:
            page.wait_for_function(
                "([root, v]) => Number(root.querySelector('input.anim-slider').value) !== v",
                arg=[handle, after["value"]], timeout=5000)
        except PlaywrightError:
            failures.append(f"animation {index}: 'Play' did not move to another frame in 5 s")
        animation.locator("button[title='Pause']").click()

    shot = _screenshot(desktop, book_build, "desktop", docname)
    if is_notebook_page(docname):
        failures += _download_problems(desktop, docname)
    failures += desktop.all_problems()
    assert not failures, f"{docname} ({shot}):\n  " + "\n  ".join(failures)


@pytest.mark.parametrize("docname", DOCNAMES)
def test_page_fits_a_phone_screen(book_build, phone, docname):
    phone.open(docname)
    layout = phone.page.evaluate("""() => {
      const article = document.querySelector('article.bd-article') || document.querySelector('main');
      const wide = [...article.querySelectorAll('*')].filter(e => {
        const r = e.getBoundingClientRect();
        if (r.right <= window.innerWidth + 1 || r.width === 0) return false;
        for (let p = e.parentElement; p && p !== article; p = p.parentElement) {
          const s = getComputedStyle(p);
          if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && p.clientWidth < p.scrollWidth + 1
              && p.getBoundingClientRect().right <= window.innerWidth + 1) return false;
        }
        return true;
      }).slice(0, 5).map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.'));
      return {viewport: window.innerWidth,
              page: document.scrollingElement.scrollWidth,
              article: article.scrollWidth, articleVisible: article.clientWidth, wide};
    }""")
    shot = _screenshot(phone, book_build, "phone", docname)
    assert layout["page"] <= layout["viewport"] + 1 and layout["article"] <= layout[
        "articleVisible"] + 1 and not layout["wide"], (
        f"{docname} scrolls sideways on a {PHONE['width']}x{PHONE['height']} phone: {layout} "
        f"(elements sticking out: {layout['wide']}; {shot})")
    assert not phone.all_problems(), f"{docname} on a phone: {phone.all_problems()}"


# --------------------------------------------------------------------------- navigation

def _docname_of(url: str, base_url: str) -> str:
    return re.sub(r"\.html$", "", urlsplit(url).path[len(urlsplit(base_url).path):])


def test_next_and_previous_links_are_clickable(desktop):
    """Clicking 'next' and 'previous' moves along the table of contents (every page's links
    are checked in test_page_reads_well_on_a_desktop)."""
    desktop.open(DOCNAMES[0], full=False)
    visited = [DOCNAMES[0], desktop.follow("a.right-next"), desktop.follow("a.right-next")]
    assert visited == DOCNAMES[:3], f"'next' from the landing page visits {visited}"
    assert desktop.follow("a.left-prev") == DOCNAMES[1]
    assert not desktop.all_problems(), desktop.all_problems()


def test_sidebar_reaches_every_chapter(desktop):
    desktop.open(DOCNAMES[0], full=False)  # (on its own page, a chapter's link is "#")
    nav = desktop.page.locator("nav.bd-docs-nav")
    # sections (e.g. the assignments under their overview page) fold: unfold them, as the
    # toggle next to their parent does
    desktop.page.evaluate(
        "() => document.querySelectorAll('nav.bd-docs-nav details').forEach(d => d.open = true)")
    missing = []
    for docname in DOCNAMES[1:]:
        link = nav.locator(f"a[href$='{docname.rsplit('/', 1)[-1]}.html']")
        if not link.count() or not link.first.is_visible():
            missing.append(docname)
    assert not missing, f"chapters without a visible link in the sidebar: {missing}"
    # Clicking a chapter in the sidebar opens it; the book's title leads back to the landing page.
    target = DOCNAMES[2] if len(DOCNAMES) > 2 else DOCNAMES[-1]
    opened = desktop.follow(f"nav.bd-docs-nav a[href$='{target.rsplit('/', 1)[-1]}.html']")
    assert opened == target, f"the sidebar link to {target} opened {opened}"
    home = desktop.follow("a.navbar-brand")
    assert home in (DOCNAMES[0], "index"), f"the book's title leads to {home}"
    assert not desktop.all_problems(), desktop.all_problems()


def test_search_for_perceptron_finds_the_perceptron_chapter(desktop):
    desktop.open("search.html?q=perceptron")
    results = desktop.page.locator("#search-results ul.search li a")
    results.first.wait_for(state="attached")
    hrefs = [a.get_attribute("href") for a in results.all()]
    assert any(h.split("?")[0].split("#")[0].endswith("chapters/01_perceptron.html")
               for h in hrefs), f"searching 'perceptron' found {hrefs}"
    assert not desktop.all_problems(), desktop.all_problems()
