# Social Care Warehouse: two commands.
#   make run   set up, load the landing folder, build every mart, print a KPI summary
#   make test  set up, lint, run the whole test suite
# and one for a customer's erasure request:
#   make forget AUTHOR=<author id> CHANNEL=<channel>
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# dbt and dagster-dbt find `dbt` on PATH: the venv's bin comes first.
export PATH := $(BIN):$(PATH)
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export SOCIAL_CARE_LANDING_DIR ?= data/landing
export SOCIAL_CARE_WAREHOUSE ?= warehouse/social_care.duckdb

.PHONY: run test forget setup sample manifest lint format dev docs bench lock clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

setup: $(VENV)/.installed
	@mkdir -p $(DAGSTER_HOME) && cp -n orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true

# Sample exports are generated (deterministically) only into the default landing folder, never into yours.
sample: setup
	@if [ "$(SOCIAL_CARE_LANDING_DIR)" = "data/landing" ] && [ -z "$$(ls -A data/landing 2>/dev/null)" ]; then \
		$(BIN)/python -m orchestration.generate --out data/landing; fi

# dagster-dbt reads dbt's manifest: parse so that it always matches the models.
manifest: setup
	$(BIN)/dbt parse --quiet

run: sample manifest
	$(BIN)/python -m orchestration.run

# Erase one customer (README, "Personal data"): their messages leave the raw tables, every model is rebuilt and
# the serving copy and report are published again. AUTHOR and CHANNEL reach the command through the environment
# (make exports command-line variables), so any author id is passed as it is.
forget:
	@if [ -z "$$AUTHOR" ] || [ -z "$$CHANNEL" ]; then \
		echo "usage: make forget AUTHOR=<author id> CHANNEL=<channel, e.g. twitter>" >&2; exit 2; fi
	@$(MAKE) --no-print-directory manifest
	$(BIN)/python -m orchestration.forget --author "$$AUTHOR" --channel "$$CHANNEL"

lint: setup
	$(BIN)/ruff check orchestration tests bench
	$(BIN)/ruff format --check orchestration tests bench
	SOCIAL_CARE_WAREHOUSE=:memory: $(BIN)/sqlfluff lint models macros tests/dbt

format: setup
	$(BIN)/ruff format orchestration tests bench
	$(BIN)/ruff check --fix orchestration tests bench

test: setup lint manifest
	$(BIN)/python -m pytest

dev: sample manifest
	$(BIN)/dagster dev

docs: setup
	$(BIN)/dbt docs generate

bench: setup
	$(BIN)/python -m bench.ingest --messages 1000000
	$(BIN)/python -m bench.sentiment --messages 200000
	$(BIN)/python -m bench.pipeline --messages 1000000 10000000

lock:
	{ head -2 requirements.lock; $(BIN)/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) target logs warehouse .dagster data/landing
