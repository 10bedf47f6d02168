# The front door: every command a user or CI needs. `make test` on a fresh
# clone creates the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test check lint format sandbox demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -q

check: $(STAMP)
	$(BIN)/ruff format --check orchestrator tests
	$(BIN)/ruff check orchestrator tests
	$(BIN)/mypy --strict
	$(BIN)/pytest -q

format: $(STAMP)
	$(BIN)/ruff format orchestrator tests
	$(BIN)/ruff check --fix orchestrator tests

sandbox: $(STAMP)
	$(BIN)/orchestrator sandbox --port 8787

demo: $(STAMP)
	$(BIN)/orchestrator demo

bench: $(STAMP)
	$(BIN)/python -m orchestrator.bench

clean:
	rm -rf $(VENV) .orchestrator build *.egg-info .mypy_cache .ruff_cache
