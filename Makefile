# trigger-mock: two commands, each setting up what it needs on first use.
#
#   make serve     the fake on http://127.0.0.1:8080   (options: make serve ARGS="--agent echo")
#   make test      lint, types, layers, then the whole test suite   (pytest options: ARGS=...)
#
# Also: make check (lint, types, layers), make pytest, make teeth (the mutation check),
# make image (build the Docker image with podman and test it), make bench (the benchmark),
# make lock (refresh the lock files after changing dependencies in pyproject.toml;
# make lock-upgrade also moves every pin to its newest release), make clean.
#
# Python packages come from requirements-dev.lock (exact versions, with hashes) into .venv;
# the official SDK from tests/sdk/package-lock.json, the chat example's packages from
# examples/chat/package-lock.json. Each is set up again only when its lock file changes. The
# browser tests (tests/browser) also need /usr/bin/chromium (Debian: apt-get install chromium),
# and the reverse-proxy test in tests/sdk needs haproxy (apt-get install haproxy).
# PYTHON picks the interpreter (>= 3.11): make test PYTHON=python3.12

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
DEPS := $(VENV)/.deps
PROJECT := $(VENV)/.project
SDK := tests/sdk/node_modules/.installed
EXAMPLE := examples/chat/node_modules/.installed
COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" pyproject.toml --group build

.PHONY: serve test check pytest teeth image bench lock lock-upgrade clean

serve: $(PROJECT)
	$(BIN)/trigger-mock serve $(ARGS)

test: check pytest

check: $(PROJECT)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(PROJECT) $(SDK) $(EXAMPLE)
	$(BIN)/python -m pytest $(ARGS)

teeth: $(PROJECT)
	$(BIN)/python -W ignore -m tests.teeth check $(ARGS)

image: $(PROJECT)
	bash .ci/image build
	$(BIN)/python -m pytest tests/image $(ARGS)

bench: $(PROJECT)
	@command -v wrk >/dev/null || { echo "the benchmark needs wrk: sudo apt-get install wrk" >&2; exit 1; }
	npm ci --prefix bench --no-audit --no-fund --loglevel=error
	$(BIN)/python bench/run.py --page docs/performance.md $(ARGS)

$(DEPS): $(DEV_LOCK)
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(None if v >= (3, 11) else \
		f"trigger-mock needs Python >= 3.11; $(PYTHON) is {v.major}.{v.minor} (make PYTHON=...)")'
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r $(DEV_LOCK)
	touch $@

$(PROJECT): $(DEPS) pyproject.toml
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

$(SDK): tests/sdk/package-lock.json
	@command -v npm >/dev/null || { echo "the SDK tests need Node.js 20+ and npm" >&2; exit 1; }
	npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error
	touch $@

$(EXAMPLE): examples/chat/package-lock.json
	@command -v npm >/dev/null || { echo "the browser tests need Node.js 20+ and npm" >&2; exit 1; }
	npm ci --prefix examples/chat --no-audit --no-fund --loglevel=error
	touch $@

# The runtime lock (what the Docker image installs) first; the development lock keeps
# every runtime pin and adds the test and lint tools.
lock: $(PROJECT)
	$(COMPILE) -o $(LOCK) $(UPGRADE)
	$(COMPILE) --extra dev -c $(LOCK) -o $(DEV_LOCK) $(UPGRADE)

lock-upgrade:
	$(MAKE) lock UPGRADE=--upgrade

clean:
	rm -rf $(VENV) tests/sdk/node_modules bench/node_modules .mypy_cache .ruff_cache \
		examples/chat/node_modules examples/chat/dist
