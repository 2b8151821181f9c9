# Postwise: every verb a developer needs. `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo up down test bench lint format clean

setup: $(STAMP)  ## create .venv and install the pinned dependencies (quick no-op when current)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: setup  ## start embedded services, migrate, simulate a history, print a summary
	$(BIN)/postwise demo

up: setup  ## start every service and print their URLs
	$(BIN)/postwise up

down: setup  ## stop the embedded services
	$(BIN)/postwise services stop

test: setup  ## the whole test suite on real PostgreSQL and Redis
	$(BIN)/python -m pytest

bench: setup  ## run every benchmark and write benchmarks/results/summary.md
	$(BIN)/python -m benchmarks

lint: setup  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:  ## remove the virtualenv and local state (stops embedded services first)
	-$(BIN)/postwise services stop
	rm -rf $(VENV) .postwise
