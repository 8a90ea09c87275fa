# The README's two commands:
#   make book   set up .venv, execute every chapter in full mode, build the HTML into _build/html
#   make test   set up .venv, build the book in quick mode with warnings as errors,
#               then unit tests + nbval on every chapter (quick mode) + the browser test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUICK_OUT := _build/quick
QUICK_HTML := $(QUICK_OUT)/_build/html

.PHONY: venv book test unit clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

# jupyter-cache keys executed notebooks on their cell sources only, and Sphinx
# re-reads only pages whose source changed. So when anything else that changes
# the outputs changes (utils/, the pins, the book config, the mode, the data
# set), throw the whole build of that output folder away.
define fresh_cache
	@mkdir -p $(1)
	@key="$$(cat chapters/*.ipynb chapters/*.md utils/*.py requirements.txt _config.yml | sha256sum | cut -c1-32)-quick=$(2)-data=$${AE_DATASET:-mnist}"; \
	if [ "$$(cat $(1)/.cache-key 2>/dev/null)" != "$$key" ]; then \
	  echo "Build in $(1)/_build is stale (utils, pins, config, mode or data changed): rebuilding from scratch."; \
	  rm -rf $(1)/_build/.jupyter_cache $(1)/_build/jupyter_execute $(1)/_build/.doctrees $(1)/_build/html; \
	fi; echo "$$key" > $(1)/.cache-key
endef

book: venv
	$(call fresh_cache,.,0)
	AE_QUICK=0 $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Book built: open _build/html/index.html"

test: venv
	$(call fresh_cache,$(QUICK_OUT),1)
	AE_QUICK=1 $(BIN)/jupyter-book build . --path-output $(QUICK_OUT) -W -n --keep-going
	AE_QUICK=1 AE_BOOK_HTML=$(QUICK_HTML) $(BIN)/python -m pytest tests chapters --nbval-lax --nbval-current-env

unit: venv
	$(BIN)/python -m pytest tests

clean:
	rm -rf _build .pytest_cache
