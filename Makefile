# Two commands do all the set-up on a machine with Python 3.11+ and make:
#   make demo   - a local server on SQLite with demo data
#   make test   - linters, type checks, architecture contracts and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck contracts pytest install clean bench browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/openissuer demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

contracts: $(DEV_STAMP)
	$(BIN)/lint-imports

# The portal's browser tests drive Debian's Chromium (never a browser build downloaded by Playwright) and inject
# axe-core from npm into each page. Each step runs only when its file is missing, so it is idempotent. The apt step
# runs as root (CI and the development machines do); a failed install means stale or missing package lists, so it
# updates them once and tries again.
CHROMIUM ?= /usr/bin/chromium
AXE := node_modules/axe-core/axe.min.js

$(CHROMIUM):
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	  || { DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	test -x $@

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	test -f $@ && touch $@

browser: $(CHROMIUM) $(AXE)

# One test process per core (pytest-xdist); each process makes its own databases. `PYTEST_ARGS=` to change.
PYTEST_ARGS ?= -n auto
pytest: $(DEV_STAMP) browser
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck contracts pytest

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
