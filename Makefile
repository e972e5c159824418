# aigupiao: `make run` starts everything, `make test` proves it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint format setup web web-test clean bench screenshots

run: setup
	$(BIN)/aigupiao up

test: setup lint web-test
	$(BIN)/pytest

# The dashboard's unit tests and type check, when web/ exists.
web-test: web
	@if [ -f web/package.json ]; then \
		cd web && npm test && npm run typecheck; \
	fi

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: setup
	$(BIN)/aigupiao bench link --commands 1000 --json
	$(BIN)/aigupiao bench link --commands 1000 --chaos --json
	$(BIN)/aigupiao bench broker --orders 100000 --json
	$(BIN)/aigupiao bench agent --symbols 5500 --json
	$(BIN)/aigupiao bench chagubang --json
	$(BIN)/aigupiao bench pipeline --symbols 5500 --rounds 60 --json
	$(BIN)/aigupiao bench dashboard --json
	$(BIN)/aigupiao bench backtest --json

# The dashboard in headless Chromium (tests/browser), saving each screen under docs/screenshots/.
screenshots: setup
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/browser

format: setup
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

setup: $(STAMP) web

$(STAMP): pyproject.toml constraints.txt hatch_build.py $(wildcard src/aigupiao/*/*/*.c)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "aigupiao needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Builds the dashboard into the package when web/ exists.
web:
	@if [ -f web/package.json ]; then \
		cd web && npm ci --no-audit --no-fund && npm run build; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
