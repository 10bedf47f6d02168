# The front door: every command a user or CI needs. `make test` on a fresh
# clone creates the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock

.PHONY: install lock test check lint format sandbox demo bench clean

install: $(STAMP)

# Exact versions with hashes from the lock (pip-tools); then the package itself
# with no dependencies of its own to resolve. pyproject.toml keeps the loose
# ranges for library users.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-pin after changing dependencies in pyproject.toml (needs pip-tools).
lock:
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --extra dev -o $(LOCK) pyproject.toml

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

# Options go through ARGS: `make bench ARGS="--only scale --sizes 5000 --profile"`
# (`make bench --profile` would be a flag to make itself).
bench: $(STAMP)
	$(BIN)/python -m orchestrator.bench $(ARGS)

clean:
	rm -rf $(VENV) .orchestrator build *.egg-info .mypy_cache .ruff_cache
