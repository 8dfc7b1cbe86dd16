# Shulian: `make run` starts a demo library, `make test` runs the whole suite (SQLite + PostgreSQL).
# Everything installs from the project's own files: pyproject.toml (PyPI), package.json (npm),
# and Debian packages (chromium, postgresql) when they are missing and we may install them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
VENDOR := src/shulian/web/static/vendor

.PHONY: run test check lint assets install browser demo serve clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the front-end assets (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR)/.installed: node_modules/.installed scripts/copy-assets.sh
	bash scripts/copy-assets.sh
	@touch $@

assets: $(VENDOR)/.installed

browser:
	@bash scripts/ensure-chromium.sh

run: install assets
	$(BIN)/shulian demo
	$(BIN)/shulian serve

test: install assets browser
	bash scripts/test.sh

lint: install
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
