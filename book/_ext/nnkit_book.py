"""Sphinx extension for the nnkit course book: make the built book work offline.

* MathJax 3 is served from the build itself: the files shipped by the PyPI package
  ``sphinx-mathjax-offline`` are copied into ``<html>/_static/mathjax/`` and
  ``mathjax_path`` points there (no CDN).
* Widgets render statically: the kernels that execute the chapters inherit
  ``NNKIT_STATIC=1`` (see ``nnkit.widgets.static_mode``), whatever the caller exported, and
  no ``MPLBACKEND`` (so matplotlib's inline backend puts the figures in the pages).
* Notebook outputs fetch nothing from outside: matplotlib's ``to_jshtml()`` animations link
  Font Awesome 4 from a CDN for their button icons; the link is dropped (the theme already
  ships Font Awesome, which draws those ``fa fa-*`` icons from the build).
* Each inline script appears once: Sphinx 7.4 adds a script registered during the build both as
  ``filename=None`` and as ``filename=''`` (so sphinx-thebe's ``const THEBE_JS_URL`` was declared
  twice, a JavaScript error on every page).
* The chapters execute two at a time (on a 2-core machine): before Sphinx reads the documents,
  the notebooks missing from the jupyter-cache are executed in parallel threads (one kernel each)
  exactly as myst-nb would, and the successful ones are stored in the cache, where myst-nb then
  finds them. A notebook that fails is reported as myst-nb does (the warning "Executing notebook
  failed", the traceback in the log and in ``<html>/reports/``) and is not executed a second
  time. ``NNKIT_BOOK_JOBS=1`` turns this off.
* The notebook a reader downloads has its outputs: when myst-nb takes a notebook from the cache it
  renders the cached outputs but writes the *unexecuted* notebook to ``jupyter_execute/`` (which
  sphinx-book-theme offers for download); those files are replaced by the cached, executed ones.
* The API page never breaks on a docstring: nnkit's docstrings are written to be read in the
  source and with ``help()`` (formulas such as ``|a - n|``, indented equations). A docstring that
  is valid reStructuredText / numpy style is rendered as such; one that is not is shown verbatim
  (summary line, then the rest as preformatted text) instead of producing warnings.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path, PurePosixPath

from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import directives, roles

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_ENTRY = "tex-chtml.js"
# MathJax components the pages load: the combined TeX->CommonHTML bundle, its fonts, the TeX
# extensions it autoloads, and the menu / accessibility parts it may load on demand.
MATHJAX_PARTS = (MATHJAX_ENTRY, "output/chtml", "output/chtml.js", "input/tex", "input/tex.js",
                 "ui", "a11y", "sre", "adaptors")


def mathjax_source() -> Path:
    """Folder holding the MathJax 3 distribution shipped by ``sphinx-mathjax-offline``."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or spec.origin is None:
        raise ExtensionError(
            f"the book serves MathJax from the build and takes it from the Python package "
            f"'{MATHJAX_PACKAGE}', which is not installed: pip install {MATHJAX_PACKAGE}")
    folder = Path(spec.origin).parent / "static" / "mathjax"
    if not (folder / MATHJAX_ENTRY).is_file():
        raise ExtensionError(f"expected MathJax at {folder / MATHJAX_ENTRY}: not found")
    return folder


def _static_mode(app: Sphinx, config) -> None:
    os.environ["NNKIT_STATIC"] = "1"
    # A MPLBACKEND inherited from the caller (e.g. Agg from a test run) would stop the kernels'
    # inline backend from putting figures in the pages.
    os.environ.pop("MPLBACKEND", None)
    if not config.mathjax_path or "://" in config.mathjax_path:
        config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"


def _notebooks_to_execute(env, docnames, cache) -> list[tuple]:
    """(docname, path, notebook, config, read_fmt) of the notebooks myst-nb would execute."""
    from myst_nb.core.read import create_nb_reader

    base = env.mystnb_config
    todo = []
    for docname in sorted(docnames):
        path = Path(env.doc2path(docname))
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        reader = create_nb_reader(str(path), env.myst_config, base, text)
        if reader is None:
            continue
        notebook = reader.read(text)
        config = base
        overrides = dict(notebook.metadata.get(base.metadata_key, {}))
        overrides.pop("output_folder", None)
        if overrides:
            try:
                config = base.copy(**overrides)
            except Exception:  # myst-nb reports bad metadata itself
                continue
        if config.execution_mode != "cache" or not any(
                c.cell_type == "code" and c.source.strip() for c in notebook.cells):
            continue
        if any(PurePosixPath(path.as_posix()).match(p) for p in config.execution_excludepatterns):
            continue
        with suppress(KeyError):
            cache.match_cache_notebook(notebook)
            continue  # already cached
        todo.append((docname, path, notebook, config, reader.read_fmt))
    return todo


def _execute_in_parallel(app: Sphinx, env, docnames) -> None:
    workers = int(os.environ.get("NNKIT_BOOK_JOBS", "0") or 0) or (os.cpu_count() or 1)
    if workers < 2 or env.mystnb_config.execution_mode != "cache":
        return
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    cache = get_cache(env.mystnb_config.execution_cache_path or ".jupyter_cache")
    todo = _notebooks_to_execute(env, docnames, cache)
    if len(todo) < 2:
        return
    # Longest first (runtime of an earlier version of the same file, if the cache has one).
    previous = {r.uri: (r.data or {}).get("execution_seconds", 0) for r in cache.list_cache_records()}
    todo.sort(key=lambda job: -(previous.get(str(job[1]), 0) or 0))
    LOGGER.info(f"[nnkit] executing {len(todo)} notebooks, {workers} at a time")

    def run(job):
        docname, path, notebook, config, _ = job
        start = time.perf_counter()
        result = single_nb_execution(notebook, cwd=str(path.parent),
                                     timeout=config.execution_timeout,
                                     allow_errors=config.execution_allow_errors,
                                     meta_override=True)
        return result, time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(run, todo))
    failed = []
    for (docname, path, notebook, _, read_fmt), (result, seconds) in zip(todo, results):
        if result.err is not None:
            report = Path(app.outdir).joinpath("reports", *f"{docname}.err.log".split("/"))
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(result.exc_string or repr(result.err), encoding="utf-8")
            LOGGER.warning(f"Executing notebook failed: {result.err.__class__.__name__} "
                           f"(after {seconds:.0f} s; traceback in {report})\n{result.exc_string}",
                           location=docname, type="mystnb", subtype="exec")
            failed.append(path.as_posix())
            continue
        record = (cache.add_nb_to_project(str(path), read_data=read_fmt) if read_fmt
                  else cache.add_nb_to_project(str(path)))
        cache.cache_notebook_bundle(
            CacheBundleIn(notebook, record.uri, data={"execution_seconds": result.time}),
            check_validity=False, overwrite=True)
        LOGGER.info(f"[nnkit] {docname}: executed in {seconds:.1f} s")
    if failed:  # reported above: myst-nb renders them without executing them again
        env.mystnb_config = env.mystnb_config.copy(
            execution_excludepatterns=list(env.mystnb_config.execution_excludepatterns) + failed)


def _write_executed_notebooks(app: Sphinx, env) -> None:
    if env.mystnb_config.execution_mode != "cache":
        return
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(env.mystnb_config.execution_cache_path or ".jupyter_cache")
    folder = Path(app.outdir).parent / "jupyter_execute"
    for path in folder.rglob("*.ipynb") if folder.is_dir() else ():
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
        if not code or any(c.get("execution_count") is not None or c.get("outputs") for c in code):
            continue
        with suppress(KeyError):
            _, merged = cache.merge_match_into_notebook(notebook)
            nbformat.write(merged, path)


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if app.builder.format != "html" or exception is not None:
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


# <link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/...">
_CDN_STYLESHEET = re.compile(
    r"<link\s+rel=[\"']stylesheet[\"']\s+href=[\"'](?:https?:)?//[^\"']*font-awesome[^\"']*[\"']\s*/?>",
    re.IGNORECASE)


def _drop_cdn_stylesheets(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(nodes.raw)):
        if "html" in node.get("format", "").split() and _CDN_STYLESHEET.search(node.astext()):
            text = _CDN_STYLESHEET.sub("", node.astext())
            node[:] = [nodes.Text(text)]
            node.rawsource = text


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", None),
               tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


# docutils' own look-up functions, captured before Sphinx patches them while it reads a document.
_DOCUTILS_LOOKUP = roles.role, directives.directive
# docutils alone does not know Sphinx's roles and directives: those messages are not defects.
_SPHINX_ONLY = ("Unknown interpreted text role", "No role entry", "Unknown directive type",
                "No directive entry")


def rst_problems(text: str) -> list[str]:
    """Messages (warning level and above) that parsing ``text`` as reStructuredText raises."""
    settings = {"report_level": 5, "halt_level": 5, "warning_stream": io.StringIO(),
                "file_insertion_enabled": False, "raw_enabled": False}
    # Parse with plain docutils: hide the directives and roles Sphinx registered (they need a
    # Sphinx environment), restore them afterwards.
    saved = dict(directives._directives), dict(roles._roles), roles.role, directives.directive
    directives._directives.clear()
    roles._roles.clear()
    roles.role, directives.directive = _DOCUTILS_LOOKUP
    try:
        doctree = publish_doctree(text, settings_overrides=settings)
    finally:
        directives._directives.update(saved[0])
        roles._roles.update(saved[1])
        roles.role, directives.directive = saved[2], saved[3]
    messages = list(doctree.findall(nodes.system_message)) + list(doctree.transform_messages)
    return [msg.astext() for msg in messages if msg["level"] >= 2 and not any(k in msg.astext() for k in _SPHINX_ONLY)]


def _verbatim_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    if not name.startswith("nnkit") or not lines or not rst_problems("\n".join(lines)):
        return
    first_blank = lines.index("") if "" in lines else len(lines)
    summary, rest = lines[:first_blank], lines[first_blank:]
    if rst_problems("\n".join(summary)):
        summary, rest = [], lines
    while rest and not rest[0].strip():
        rest = rest[1:]
    body = summary + ([""] if summary else [])
    if rest:
        body += [".. code-block:: text", ""] + [f"   {line}" if line else "" for line in rest]
    lines[:] = body + [""]


def setup(app: Sphinx) -> dict:
    mathjax_source()  # fail early, with the install command, when the package is missing
    app.connect("config-inited", _static_mode)
    app.connect("build-finished", _copy_mathjax)
    app.connect("env-before-read-docs", _execute_in_parallel, priority=900)
    app.connect("env-updated", _write_executed_notebooks)
    app.connect("doctree-resolved", _drop_cdn_stylesheets)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    # After napoleon (priority 500) has turned numpy/Google sections into reStructuredText.
    app.connect("autodoc-process-docstring", _verbatim_docstring, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
