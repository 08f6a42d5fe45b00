# One command to set up, one to test (see README.md). CI runs `.ci/run`, which runs `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?=
# The torch-free suite runs on the newest Python we support, in its own venv without the train extra.
# (The first that runs: pyenv's python3.13 shim exists but fails unless 3.13 is selected.)
PYTHON_BASE ?= $(shell for p in python3.13 $(HOME)/.pyenv/versions/3.13.0/bin/python3.13; do \
	$$p -c '' 2>/dev/null && { command -v $$p; break; }; done)
VENV_BASE ?= .venv-base
# The fast tests and the base-install test (about 3.5 min on 2 cores; the 3.11 run has them all);
# PYTEST_BASE_ARGS= (empty) runs every test there too (5.5-6.5 min).
PYTEST_BASE_ARGS ?= -m "not slow or base_install"
BASE_BIN := $(VENV_BASE)/bin

.PHONY: setup install frontend openapi bundle test lint pytest pytest-base vitest bench clean

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

pytest-base:  ## the suite on the base install (no train extra) under Python 3.13; tests/train_only.py lists what it skips
	test -x $(BASE_BIN)/python || { test -n "$(PYTHON_BASE)" || { echo "no python3.13 found: set PYTHON_BASE" >&2; exit 1; }; \
		$(PYTHON_BASE) -m venv $(VENV_BASE); }
	$(BASE_BIN)/python -m pip install --quiet --upgrade pip
	$(BASE_BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	$(BASE_BIN)/python -c "import importlib.util as u, sys; from kalshi_rl.core.extras import TRAIN_EXTRA_MODULES as m; \
		found = sorted(x for x in m if u.find_spec(x)); sys.exit(f'$(VENV_BASE) has the train extra: {found}' if found else 0)"
	KALSHI_RL_WITHOUT_TRAIN=1 $(BASE_BIN)/pytest $(PYTEST_BASE_ARGS)

vitest:  ## the ML tab's component tests
	cd frontend && npm test

test: lint vitest pytest pytest-base  ## everything CI checks

bench:  ## the benchmarks (print ratios measured in one run)
	$(BIN)/python bench/book.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ml_tab.py

clean:
	rm -rf $(VENV) $(VENV_BASE) .pytest_cache .mypy_cache .ruff_cache
