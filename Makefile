# Fieldproof — two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint typecheck imports pytest fuzz bench bench-smoke clean

# pytest-xdist workers: one per CPU (each gets its own PostgreSQL database, tests/databases.py).
PYTEST_WORKERS ?= auto

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/fieldproof migrate
	$(BIN)/fieldproof demo
	$(BIN)/fieldproof serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy backend certificates evidence mobile_api tests bench

imports: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=10

# The edit-test loop: unit and integration tests without the slow ones (real server
# processes, objects of hundreds of MB); `make test` runs everything.
test-fast: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not slow" tests/unit tests/integration

test: lint typecheck imports pytest bench-smoke
	$(BIN)/python -m tests.traceability

# The API contract and hostile-input walk (tests/e2e/test_api_contract.py) at ten times the
# examples, with schemathesis's coverage phase and a fresh seed; needs PostgreSQL
# (FIELDPROOF_TEST_DATABASE_URL), like the run inside `make test`.
fuzz: install
	FIELDPROOF_TEST_FUZZ_SCALE=10 $(BIN)/pytest -p no:xdist -rs tests/e2e/test_api_contract.py

bench: install
	$(BIN)/python -m bench

bench-smoke: install
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .import_linter_cache
