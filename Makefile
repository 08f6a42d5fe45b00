# One command to set up, one to test (see README.md). CI runs `.ci/run`, which runs `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?=

.PHONY: setup install frontend openapi bundle test lint pytest vitest bench clean

setup:  ## create .venv and install kalshi-rl with its dev tools (CPU torch via constraints.txt)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
	$(MAKE) frontend

install:  ## kalshi-rl without dev tools (the Docker image); EXTRAS=[train] adds training (CPU torch via constraints.txt)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt '.$(EXTRAS)'

frontend: openapi bundle  ## the ML tab: types from the API's OpenAPI document, then the bundle into kalshi_rl/api/static

openapi:  ## the API's OpenAPI document, which the ML tab's types are generated from
	$(BIN)/python -m kalshi_rl.api.openapi frontend/openapi.json

bundle:  ## the ML tab's bundle (needs frontend/openapi.json)
	cd frontend && npm ci --no-audit --no-fund && npm run build

lint:  ## ruff, mypy, the import-layer contracts and hadolint on the Dockerfile
	$(BIN)/ruff check kalshi_rl tests bench
	$(BIN)/ruff format --check kalshi_rl tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

pytest:
	$(BIN)/pytest

vitest:  ## the ML tab's component tests
	cd frontend && npm test

test: lint vitest pytest  ## everything CI checks

bench:  ## the benchmarks (print ratios measured in one run)
	$(BIN)/python bench/book.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ml_tab.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
