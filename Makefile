# Aftersales: the two commands of the quick start are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
TEST_WORKERS ?= auto
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint install install-test browser clean bench-generate bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml aftersales/analytics/vendor/package-lock.json | $(BIN)/python
	$(PIP) install -q -e .
	AFTERSALES_PYTHON=$(BIN)/python bash scripts/vendor-static.sh
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Install, migrate the embedded database, load the demo data once, start the web app and the worker.
run: install
	$(BIN)/aftersales run

## Install what the tests need (incl. Debian's chromium for the browser tests) and run the whole suite.
test: install-test browser
	$(BIN)/aftersales compile_translations
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

browser:
	@bash scripts/ensure-chromium.sh

lint: install-test
	$(BIN)/ruff check aftersales tests bench
	$(BIN)/mypy aftersales/*/services.py aftersales/*/selectors.py

bench-generate: install-test
	$(BIN)/python bench/generate.py --reset

bench: install-test
	$(BIN)/python bench/bench_search_360.py

clean:
	rm -rf $(VENV) *.egg-info
