# Two commands for a fresh machine: `make demo` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := data
export DAGSTER_HOME ?= $(CURDIR)/$(DATA)/dagster_home

.PHONY: demo test test-fast chromium ui lint generate run pull clean-data servicenow bpic bench

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@touch $(STAMP)

## Chromium and fonts for PDFs and the browser tests: apt-get install when missing (as root, or
## through sudo without a password); otherwise it prints what to run and the reports stay HTML.
chromium:
	@bash scripts/ensure-chromium.sh

## Fresh demo: generate the demo MSP, run the whole pipeline, publish, print where to look.
$(DAGSTER_HOME)/dagster.yaml: pipelines/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp pipelines/dagster.yaml $@

## `make demo DIRTY=0.02` damages about 2% of rows (see docs/bad-inputs.md).
demo: $(STAMP) chromium $(DAGSTER_HOME)/dagster.yaml
	@rm -rf $(DATA)/landing $(DATA)/demo_truth $(DATA)/published
	@rm -f $(DATA)/warehouse.duckdb $(DATA)/warehouse.duckdb.wal
	$(BIN)/python -m demo.generate $(if $(DIRTY),--dirty $(DIRTY))
	$(BIN)/python -m pipelines.run
	@echo "Open the month index above in a browser; 'make ui' shows the runs in Dagster."

## Run the pipeline again on whatever is in the landing folder (no regeneration).
run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.run

## Pull once from an API source (VENDOR=zendesk|connectwise; see docs/api-sources.md), then run.
VENDOR ?= zendesk
pull: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.run --pull $(VENDOR)
## Real exports (docs/adapters.md): adapt, run the pipeline in data/<source>/, publish, reconcile.
servicenow: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.run --source servicenow

bpic: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m pipelines.run --source bpic2013

## Every test, on two pytest-xdist workers (WORKERS=0: one process). Providers shared by several
## modules are built once per session whichever worker asks first (a file lock, tests/conftest.py);
## `--dist loadgroup` keeps a module's tests that read its module-scoped build on one worker.
## Timings: docs/operations.md. The 25 slowest tests are listed at the end, so every CI log shows
## where the suite's time goes (issue 22's suite target).
WORKERS ?= 2
test: $(STAMP) chromium
	$(BIN)/python -m pytest --durations=25 $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadgroup)

## The tests not marked slow (no pipeline run, browser or long property test), on two workers.
test-fast: $(STAMP)
	@echo "make test-fast leaves out the tests marked slow (tests/scheduling.py): pipeline runs and built" \
	  "providers, the browser, subprocesses, real exports, minute-walk property tests and classifications" \
	  "under policies of their own; make test runs every test."
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## Dagster UI on the demo warehouse (runs from `make demo` are listed there).
ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

## Scale benchmark (not a test): synthetic MSPs, stage timings, peak memory; see docs/benchmark.md.
SIZES ?= 10k,100k,1M
bench: $(STAMP)
	$(BIN)/python -m scripts.bench_pipeline --sizes $(SIZES)

clean-data:
	rm -rf $(DATA)

## Any mapping end to end into data/<mapping name>/ (docs/adapters.md):
##   make mapping MAPPING=config/mappings/halopsa.yaml INPUT=adapters/examples/halopsa
.PHONY: mapping
mapping: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@test -n "$(MAPPING)" -a -n "$(INPUT)" || { echo "usage: make mapping MAPPING=path/to/my-psa.yaml INPUT=path/to/exports/" >&2; exit 2; }
	$(BIN)/python -m pipelines.run --mapping $(MAPPING) --input $(INPUT)
