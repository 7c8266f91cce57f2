# Statekeeper: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export STATEKEEPER_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test lint bench bench-quick clean-venv

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

# Every benchmark on SQLite and on PostgreSQL (BENCHMARKS.md): bulk runs both by itself,
# processes is PostgreSQL + Redis only, sweep's --postgres adds PostgreSQL, and the page
# benchmarks' --postgres runs them on PostgreSQL instead (seeding 1,000,000 takes ~16 min).
bench: $(VENV)/.dev-installed
	bash scripts/ensure-services.sh
	bash scripts/ensure-bench-tools.sh
	$(BIN)/python -m bench bulk peer counts processes keys_rotate
	$(BIN)/python -m bench sweep --postgres
	$(BIN)/python -m bench timers --postgres
	$(BIN)/python -m bench publish sla_bulk
	$(BIN)/python -m bench sla_bulk --postgres
	$(BIN)/python -m bench list_page list_load search history finding reports
	$(BIN)/python -m bench list_page list_load search history finding reports --postgres

# Every benchmark with a target at 100,000 entities on SQLite, one line per target (< 10 min).
bench-quick: $(VENV)/.dev-installed
	bash scripts/ensure-bench-tools.sh
	$(BIN)/python -m bench.quick

clean-venv:
	rm -rf $(VENV)
