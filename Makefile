# The README's two commands:
#   make book   set up .venv, execute every chapter in full mode, build the HTML into _build/html
#   make test   set up .venv, check the style (ruff), build the book in quick mode with warnings
#               as errors (executing every chapter, each in an empty folder as Colab would),
#               then the tests: unit tests, nbval on the first chapter's Colab copy with only
#               the package installed, chapters on JAX, two simulated devices, and the browser
#               test (with axe-core from package-lock.json, installed by `npm ci` where npm
#               exists); both steps in $(JOBS) processes
# And for readers and authors:
#   make lab        a reader's environment (requirements.txt) and JupyterLab on the chapters
#   make notebooks  after editing a chapter: normalise it and regenerate its Colab copy
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUICK_OUT := _build/quick
QUICK_HTML := $(QUICK_OUT)/_build/html

READER := $(VENV)/.reader

# Processes for make test: Sphinx reads (and executes) that many chapters side by side
# (tools/build_book.py) and pytest-xdist runs that many tests at once. On two cores, two
# chapters side by side each took 1.1-1.5 times as long as alone: two suit two cores.
JOBS ?= 2

.PHONY: venv reader lab notebooks lint book test unit clean npm

venv: $(STAMP)
reader: $(READER)

# axe-core, which tests/test_browser.py injects into Chromium, at the version that
# package-lock.json pins. Only where npm exists: without it (or if the registry cannot
# be reached) the axe-core test skips on a developer's machine and fails under CI.
NPM := $(shell command -v npm 2>/dev/null)
AXE := node_modules/axe-core/axe.min.js

npm: $(if $(NPM),$(AXE))

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund || echo "npm ci failed: the axe-core check will skip (or fail under CI)"
	@test ! -f $@ || touch $@

# The reader's environment: what running the chapters needs (Binder installs the same file).
$(READER): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11, 5) else "$(PYTHON) is Python " + sys.version.split()[0] + ": the pinned packages need Python 3.11.5 or newer; run make with PYTHON=/path/to/python3.11 (or newer)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

# The author's environment: the reader's plus the book and test tools.
$(STAMP): $(READER) requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	@touch $@

lab: reader
	$(BIN)/jupyter lab chapters/

notebooks: venv
	$(BIN)/python tools/notebooks.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Sphinx re-reads (and so re-executes, inline) only pages whose source changed.
# So when anything else that changes
# the outputs changes (utils/, the pins, the book config, the mode, the data
# set), throw the whole build of that output folder away.
define fresh_cache
	@mkdir -p $(1)
	@key="$$(cat chapters/*.ipynb chapters/*.md utils/*.py tools/*.py requirements*.txt _config.yml | sha256sum | cut -c1-32)-quick=$(2)-data=$${AE_DATASET:-mnist}"; \
	if [ "$$(cat $(1)/.cache-key 2>/dev/null)" != "$$key" ]; then \
	  echo "Build in $(1)/_build is stale (utils, pins, config, mode or data changed): rebuilding from scratch."; \
	  rm -rf $(1)/_build/.jupyter_cache $(1)/_build/jupyter_execute $(1)/_build/.doctrees $(1)/_build/html; \
	fi; echo "$$key" > $(1)/.cache-key
endef

book: venv
	$(call fresh_cache,.,0)
	AE_QUICK=0 $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Book built: open _build/html/index.html"

test: venv npm lint
	$(call fresh_cache,$(QUICK_OUT),1)
	@# tools/book_source.py: the repository, or (outside CI) a copy without the chapters
	@# whose data cannot be loaded on this machine, each replaced by a page saying why.
	src="$$($(BIN)/python tools/book_source.py $(QUICK_OUT))" && \
	AE_QUICK=1 $(BIN)/python tools/build_book.py --jobs $(JOBS) "$$src" --path-output $(QUICK_OUT) -W -n --keep-going
	@# The book has just executed every chapter, each in an empty folder. The tests add nbval
	@# on the first chapter's Colab copy with a kernel that sees only the package
	@# (tests/test_readers.py); the other copies differ from their chapters by the same
	@# first cell, which tests/test_launch.py checks.
	AE_QUICK=1 AE_BOOK_HTML=$(QUICK_HTML) $(BIN)/python -m pytest -n $(JOBS) --dist worksteal tests --durations=15

unit: venv
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal tests

clean:
	rm -rf _build .pytest_cache
