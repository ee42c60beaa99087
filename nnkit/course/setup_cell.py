"""The set-up cell: the first code cell of every notebook handed to students.

Opened where nnkit is not installed (Colab, Binder without the course's environment, a JupyterHub
image), a chapter or an exercise installs nnkit in its first cell, pinned to the course's version
(``nnkit @ git+<repository>@v<version>``: the course's repository must carry that tag); where
``import nnkit`` works (the course's venv, Binder built from ``binder/``, a hub with nnkit) the cell
does nothing. The cell is tagged ``remove-cell``, so the book's HTML leaves it out.

- :func:`setup_cell_source` -- the cell's code;
- :func:`add_setup_cell` -- insert it into an nbformat notebook (a dict or ``NotebookNode``);
- :func:`add_setup_cell_to_myst` -- insert it into a MyST Markdown notebook's text.

Both insertions are idempotent: a notebook that already has a set-up cell gets exactly one, the
current one, first. Pure standard library (instructor-side tooling, used by ``nnkit-course dist``).

Where torch is missing, the cell adds PyTorch's CPU index, so pip takes a CPU wheel rather than a
multi-GB CUDA build. The environment variable ``NNKIT_SETUP_PIP_ARGS``, when set in the kernel,
replaces what ``%pip install`` installs (the tests install the local checkout with it).
"""
from __future__ import annotations

import re
import uuid

__all__ = ["MARKER", "PIP_ARGS_ENV", "TAG", "add_setup_cell", "add_setup_cell_to_myst",
           "is_setup_cell", "setup_cell_source"]

MARKER = "# nnkit set-up cell"  # the cell's first line: how the insertions recognise it
TAG = "remove-cell"  # Jupyter Book leaves cells with this tag out of the HTML
PIP_ARGS_ENV = "NNKIT_SETUP_PIP_ARGS"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

_TEMPLATE = '''\
{marker}: installs nnkit {version} where it is missing (Colab, Binder, a JupyterHub);
# does nothing where `import nnkit` works. Run it first; it is hidden in the book.
try:
    import nnkit
except ImportError:
    import importlib, importlib.util, os, shlex, site, sys
    _nnkit_pip = os.environ.get("{env}") or shlex.quote("{requirement}")
    if importlib.util.find_spec("torch") is None and not os.environ.get("{env}"):
        _nnkit_pip += " --extra-index-url {cpu_index}"  # a CPU torch, not a CUDA build
    %pip install --quiet {{_nnkit_pip}}
    importlib.invalidate_caches()
    if site.ENABLE_USER_SITE and site.getusersitepackages() not in sys.path:  # pip's --user fallback
        site.addsitedir(site.getusersitepackages())
    import nnkit
    print(f"installed nnkit {{nnkit.__version__}} from {{_nnkit_pip}}")'''


def _check(version: str, repository_url: str) -> None:
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z.+!-]*", str(version)):
        raise ValueError(f"not a version number: {version!r}")
    if not re.fullmatch(r"(https?|ssh|git|file)://[^\s\"'{}$\\]+", str(repository_url)):
        raise ValueError(f"not a repository URL pip can clone (https://..., ssh://..., file://...): "
                         f"{repository_url!r}")


def setup_cell_source(version: str, repository_url: str) -> str:
    """The set-up cell's code for nnkit ``version`` from the git repository ``repository_url``.

    It pip-installs ``nnkit @ git+<repository_url>@v<version>`` into the kernel's environment
    where ``import nnkit`` fails, and does nothing where it works.
    """
    _check(version, repository_url)
    requirement = f"nnkit @ git+{repository_url.rstrip('/')}@v{version}"
    return _TEMPLATE.format(marker=MARKER, version=version, env=PIP_ARGS_ENV,
                            requirement=requirement, cpu_index=TORCH_CPU_INDEX)


def _source_text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_setup_cell(cell) -> bool:
    """True for a set-up cell (of any version) in an nbformat notebook."""
    return cell.get("cell_type") == "code" and _source_text(cell).lstrip().startswith(MARKER)


def add_setup_cell(nb, version: str = None, repository_url: str = None, *, source: str = None):
    """Make the set-up cell the first cell of the nbformat notebook ``nb`` (changed in place, returned).

    Give ``version`` and ``repository_url`` (see :func:`setup_cell_source`), or the cell's
    ``source``. An older set-up cell anywhere in the notebook is replaced: running this twice
    leaves one set-up cell.
    """
    if source is None:
        if version is None or repository_url is None:
            raise TypeError("add_setup_cell needs version and repository_url, or source")
        source = setup_cell_source(version, repository_url)
    cells = nb["cells"]
    old = [c for c in cells if is_setup_cell(c)]
    if len(old) == 1 and cells[0] is old[0] and _source_text(old[0]) == source \
            and TAG in old[0].get("metadata", {}).get("tags", []):
        return nb  # already there, as is
    cell = {"cell_type": "code", "execution_count": None,
            "metadata": {"tags": [TAG]}, "outputs": [], "source": source}
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = old[0]["id"] if old and "id" in old[0] else "nnkit-setup-" + uuid.uuid4().hex[:8]
    if type(nb).__module__.startswith("nbformat"):  # a NotebookNode: cells must be NotebookNodes too
        from nbformat import from_dict

        cell = from_dict(cell)
    cells[:] = [cell] + [c for c in cells if not is_setup_cell(c)]
    return nb


# A MyST code cell holding a set-up cell: ```{code-cell} <lang>, its options, the marker line, ...```
_MYST_CELL = re.compile(
    r"^(?P<fence>`{3,})\{code-cell\}[^\n]*\n"  # opening fence
    r"(?:(?::[^\n]*|---\n(?:.*?\n)??---)\n)*"  # :option: lines or a --- YAML block ---
    r"\s*" + re.escape(MARKER) + r".*?\n(?P=fence)[ \t]*(?:\n|$)",
    re.M | re.S,
)


def _split_front_matter(text: str) -> tuple[str, str]:
    """(front matter with its closing ``---`` line and newline, the rest)."""
    m = re.match(r"---[ \t]*\n.*?\n---[ \t]*(?:\n|$)", text, re.S)
    return (text[: m.end()], text[m.end():]) if m else ("", text)


def add_setup_cell_to_myst(text: str, version: str = None, repository_url: str = None, *,
                           source: str = None) -> str:
    """The MyST Markdown notebook ``text`` with the set-up cell as its first cell (after the front
    matter), tagged ``remove-cell``; an existing set-up cell is replaced (idempotent)."""
    if source is None:
        if version is None or repository_url is None:
            raise TypeError("add_setup_cell_to_myst needs version and repository_url, or source")
        source = setup_cell_source(version, repository_url)
    front, body = _split_front_matter(text)
    body = _MYST_CELL.sub("", body).lstrip("\n")
    found = re.search(r"^`{3,}\{code-cell\}[ \t]*(\S+)", body, re.M)  # the notebook's own spelling
    language = found.group(1) if found else "ipython3"
    cell = f"```{{code-cell}} {language}\n:tags: [{TAG}]\n\n{source}\n```\n"
    return front + "\n" + cell + ("\n" + body if body else "")
