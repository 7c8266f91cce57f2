# Statekeeper: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export STATEKEEPER_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test lint bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/flask --app wsgi bootstrap
	STATEKEEPER_BACKGROUND=1 PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.dev-installed
	$(BIN)/ruff check webapp tests bench
	bash scripts/ensure-services.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check webapp tests bench

bench: $(VENV)/.dev-installed
	bash scripts/ensure-services.sh
	bash scripts/ensure-bench-tools.sh
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
