# aigupiao: `make run` starts everything, `make test` proves it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint format setup web clean bench

run: setup
	$(BIN)/aigupiao up

test: setup lint
	$(BIN)/pytest

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
