# One command to run erepwatch, one to test it; both bootstrap the virtual environment from uv.lock.
PYTHON ?= python3
VENV := .venv
UV := .uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test test-fast lint bench setup clean

# uv lives in its own small environment so that `uv sync` never removes itself from .venv.
$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"

# Bytecode is compiled at install time: with PYTHONDONTWRITEBYTECODE set (as on some hosts) every
# command would otherwise recompile ~1,400 modules, seconds of start-up for each CLI call.
# `make run` installs what erepwatch needs to run, nothing more; `make test` (and lint, bench) add the test extra.
$(VENV)/.runtime: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m compileall -q src
	rm -f $(VENV)/.synced
	touch $@

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra test --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m compileall -q src
	touch $(VENV)/.runtime $@

setup: $(VENV)/.synced

## run: the daemon on the embedded defaults (SQLite in the data directory, .eml files in its outbox)
run: $(VENV)/.runtime
	$(VENV)/bin/erepwatch init
	$(VENV)/bin/erepwatch run

## test: the whole test suite (SQLite and the PostgreSQL server at 127.0.0.1:5432)
test: setup
	$(VENV)/bin/python -m pytest

## test-fast: the same without the tests marked slow (the whole-corpus ones); CI runs `make test`
test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow"

## lint: style, formatting, types and the layers contract (docs/architecture.md)
lint: setup
	$(VENV)/bin/ruff check src tests benchmarks migrations
	$(VENV)/bin/ruff format --check src tests benchmarks migrations
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: setup
	for b in benchmarks/*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .uv .pytest_cache .ruff_cache
