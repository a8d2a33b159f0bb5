# sensebutler — the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench debs venv clean web-assets

demo: $(STAMP)
	$(BIN)/sensebutler demo

test: $(STAMP) debs
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP) debs
	@for b in bench/*.py; do echo "== $$b" >&2; $(BIN)/python $$b || exit 1; done

venv: $(STAMP)

# the compiled hot path is rebuilt when its sources change (until then the pure sources run)
HOT_SOURCES := $(shell $(PYTHON) scripts/build_hotpath.py --sources)
$(STAMP): pyproject.toml hatch_build.py scripts/build_hotpath.py src/sensebutler/hotpath/manifest.py $(HOT_SOURCES)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required ($(PYTHON))" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(MAKE) web-assets
	touch $(STAMP)

# browser assets from the npm registry (never copied into the repository): the dashboard's chart
# library and the API documentation's Swagger UI
UPLOT_VERSION := 1.6.32
SWAGGER_UI_VERSION := 5.35.0
DASH_VENDOR := src/sensebutler/web/dashboard/vendor
API_VENDOR := src/sensebutler/api/vendor
web-assets: $(DASH_VENDOR)/uPlot.iife.min.js $(API_VENDOR)/swagger-ui-bundle.js

$(DASH_VENDOR)/uPlot.iife.min.js:
	@command -v npm >/dev/null || { echo "npm is needed for the dashboard's charts (apt-get install npm)" >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix build/npm uplot@$(UPLOT_VERSION)
	mkdir -p $(DASH_VENDOR)
	cp build/npm/node_modules/uplot/dist/uPlot.iife.min.js build/npm/node_modules/uplot/dist/uPlot.min.css $(DASH_VENDOR)/

$(API_VENDOR)/swagger-ui-bundle.js:
	@command -v npm >/dev/null || { echo "npm is needed for the API documentation page (apt-get install npm)" >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix build/npm swagger-ui-dist@$(SWAGGER_UI_VERSION)
	mkdir -p $(API_VENDOR)
	cd build/npm/node_modules/swagger-ui-dist && cp swagger-ui-bundle.js swagger-ui.css favicon-32x32.png $(CURDIR)/$(API_VENDOR)/

debs:
	@scripts/ensure-debian-packages.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
