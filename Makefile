# Two commands on a fresh machine: `make book` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# NNKIT_STATIC=1 makes widgets render as figures and animations (no kernel behind the HTML).
# nbgrader shells out to `alembic`, Jupyter finds kernels on PATH: the venv's bin comes first.
export PATH := $(abspath $(BIN)):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv book test test-fast clean help

help:
	@echo "make book        create .venv, install nnkit[dev], build the book into book/_build/html"
	@echo "make test        create .venv, install nnkit[dev], run the whole test suite"
	@echo "make test-fast   the same set-up, then the tests not marked slow (no kernel, sandbox, browser or book build)"

# constraints.txt pins torch to its CPU wheel's version (the package itself only says torch>=2.2).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-warn-script-location -c constraints.txt -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither" || true
	@$(BIN)/python -c "import nnkit, torch" || (echo "installation failed: see the pip output above" && exit 1)
	@touch $(STAMP)

venv: $(STAMP)

book: venv
	NNKIT_STATIC=1 $(BIN)/jupyter-book build book --warningiserror --keep-going
	@echo
	@echo "The book is built. Open: file://$(abspath book/_build/html/index.html)"

test: venv
	$(BIN)/python -m pytest

# The maintainer's loop: every test not marked slow (pyproject.toml lists the markers).
test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf book/_build
