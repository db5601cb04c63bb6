# layerwalk: `make run` serves the app, `make test` runs every check. Both set up what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
MODELS := sqrt-mlp-2x2 sqrt-mlp-16x16 textnet-2d-sgd textnet-4d-adam tiny-gpt tiny-translator
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint bench train clean docker-smoke

AXE    := node_modules/axe-core/axe.min.js

setup: $(STAMP)
	@scripts/ensure-chromium $(BIN)

# axe-core, pinned in package-lock.json, for the accessibility audit in the browser tests.
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

# Reinstall only when the dependency list changes; the project itself is installed editable.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

test: lint $(AXE)
	$(BIN)/pytest

bench: setup
	$(BIN)/python scripts/bench.py

# Builds and runs the Dockerfile with buildah and podman (no Docker engine needed); not part of `make test`.
docker-smoke:
	scripts/docker-smoke

train: setup
	@for id in $(MODELS); do $(BIN)/python -m models.train $$id || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts *.egg-info
