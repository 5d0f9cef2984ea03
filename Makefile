# All set-up lives here. `make demo` serves the demo map; `make test` runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Browser assets (Leaflet, Folium's plugins, Swagger UI) from npm, exact versions from the lock file.
VENDOR_STAMP := web/static/vendor/.stamp
MAP ?= data/demo.gpkg
PORT ?= 8000

.PHONY: setup demo serve test lint bench clean-venv

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# --ignore-scripts: no dependency's install script runs; we copy the assets ourselves.
$(VENDOR_STAMP): package.json package-lock.json web/vendor.mjs
	npm ci --ignore-scripts --no-audit --no-fund
	node web/vendor.mjs

setup: $(STAMP) $(VENDOR_STAMP)

# Serve a working copy (its store of pushed projects and filings lies beside it in var/), so the
# shipped data/demo.gpkg stays as generated. `make demo PORT=8100` picks another port.
demo: setup
	mkdir -p var && cp -n data/demo.gpkg var/demo.gpkg
	$(BIN)/onemap info var/demo.gpkg
	$(BIN)/onemap serve var/demo.gpkg --port $(PORT)

test: setup lint
	$(BIN)/pytest -q -n 2

# Style, and the layers contract: dependencies point inward (pyproject [tool.importlinter]).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

serve: setup
	$(BIN)/onemap serve $(MAP) --port $(PORT)

bench: setup
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
