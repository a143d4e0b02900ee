# customer360 — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
MANIFEST := dbt/target/manifest.json
# Every command below runs against the embedded local stack (local/stack.py).
LOCAL_ENV = eval "$$($(PY) -m local.stack env)"
# var/ unless C360_VAR_DIR points elsewhere (benchmarks run private stacks).
VAR := $(or $(C360_VAR_DIR),var)
STACK_PID := $(VAR)/local_stack.pid
INPUT ?=
VERBOSE ?=
# make test's workers (pytest-xdist). Three on the 2-core machines it is sized for: the end-to-end
# modules wait on servers, subprocesses and the scheduler much of the time, and a third worker keeps
# both cores busy (a clean clone: 18.7 min with three, 28.6 with two).
TEST_WORKERS ?= 3
XDIST := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
RUN_ARGS := $(if $(INPUT),--input $(abspath $(INPUT)),) $(if $(VERBOSE),--verbose,)

.PHONY: help install run test test-fast lint airflow clean stack-start stack-stop lock dbt-manifest bench bench-sync bench-loop athena-smoke

help:
	@echo "make run [INPUT=dir] [VERBOSE=1]  run the whole pipeline locally (sample data, or your files)"
	@echo "make test             lint + the test suite (what CI runs)"
	@echo "make test-fast        lint, unit tests, DAG integrity, dbt unit tests: the edit loop"
	@echo "make airflow          the Airflow UI on http://localhost:8080 against the local stack"
	@echo "make bench            the canonicalisation benchmark (1M and 10M events; ~20 min)"
	@echo "make bench-loop       make run's stages against the work alone (orchestration overhead; ~4 min)"
	@echo "make athena-smoke CONFIRM=1  one hour of sample data through every DAG on your AWS account, checked and removed (docs/aws.md)"
	@echo "make clean            remove var/ (warehouse, Airflow state, local AWS state)"
	@echo "make train-identity-model [VERSION=default] [SAMPLE=n]  retrain the Splink identity model on the local warehouse"

# The runtime lock plus the tests, linters and local stack (the team image installs requirements.txt only).
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	@# -qq: errors only (a machine-wide pip config may name absent indexes, each a warning)
	$(BIN)/pip install -qq --disable-pip-version-check uv
	@# Bytecode compiled once here: Python started with PYTHONDONTWRITEBYTECODE (set on some machines) never caches it,
	@# and every Airflow, dbt and GX process would compile its imports from source (~6 s each).
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(PY) requirements-dev.txt
	$(PY) -m include.warehouse.connection install-extensions
	touch $@

install: $(STAMP)

# Each lock keeps its current pins unless its .in file asks otherwise; the dev lock is held to the runtime's.
lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements-dev.in -o requirements-dev.txt

$(MANIFEST): $(STAMP) $(shell find dbt/models dbt/macros dbt/tests -type f 2>/dev/null) dbt/dbt_project.yml
	@$(LOCAL_ENV) && cd dbt && ../$(BIN)/dbt parse --quiet --profiles-dir . --target local

dbt-manifest: $(MANIFEST)

stack-start: $(STAMP)
	@mkdir -p $(VAR)
	@if [ -f $(STACK_PID) ] && kill -0 $$(cat $(STACK_PID)) 2>/dev/null; then echo "local stack already up"; else \
	  $(PY) -m local.stack serve > $(VAR)/local_stack.log 2>&1 & echo $$! > $(STACK_PID); fi
	@$(PY) -m local.stack ready

# SIGTERM: the stack stops its S3 server (weed) and flushes; wait for that (up to 30 s) so a
# stack-start right after finds the ports free and the data on disk.
stack-stop:
	@if [ -f $(STACK_PID) ]; then pid=$$(cat $(STACK_PID)); kill $$pid 2>/dev/null || true; \
	  for _ in $$(seq 300); do kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; rm -f $(STACK_PID); fi

run: $(STAMP) $(MANIFEST)
	@$(MAKE) --no-print-directory stack-start
	@$(LOCAL_ENV) && $(PY) -m local.run $(RUN_ARGS); status=$$?; \
	  $(MAKE) --no-print-directory stack-stop; exit $$status

airflow: $(STAMP) $(MANIFEST)
	@$(MAKE) --no-print-directory stack-start
	@# standalone starts its components as `airflow …` subprocesses: the venv must be on PATH.
	@# The UI listens on this machine only unless AIRFLOW__API__HOST says otherwise.
	@# The DAGs' pools (include/orchestration/pools.py; the sync's is include/sync/config.py SYNC_POOL): create them first.
	@$(LOCAL_ENV) && PATH="$(abspath $(BIN)):$$PATH" && airflow db migrate > /dev/null \
	  && $(PY) -m include.orchestration.pools > /dev/null \
	  && AIRFLOW__API__HOST="$${AIRFLOW__API__HOST:-127.0.0.1}" airflow standalone; $(MAKE) --no-print-directory stack-stop

lint: $(STAMP) $(MANIFEST)
	$(BIN)/ruff check dags plugins include local tests bench
	$(BIN)/ruff format --check dags plugins include local tests bench
	@# The dbt templater only compiles: an in-memory DuckDB keeps it off the warehouse file.
	$(LOCAL_ENV) && cd dbt && C360_WAREHOUSE_PATH=:memory: ../$(BIN)/sqlfluff lint models

test: lint
	@# Debian's headless Chromium (dashboard, data docs) and docker-compose (checks the team stack's file).
	bash scripts/install-test-tools.sh
	@# A worker per core, each module whole on one worker; tests/conftest.py gives every worker its
	@# own environment (private var/, local stack, Airflow database, free ports).
	$(BIN)/pytest $(XDIST)

# Everything but the end-to-end runs and the benchmarks' smoke runs.
test-fast: lint
	bash scripts/install-test-tools.sh
	$(BIN)/pytest $(XDIST) -m "not e2e and not bench"

# BENCH_ARGS: options for the benchmark, e.g. BENCH_ARGS="--events 20000 --out /tmp/b" (bench/README.md).
BENCH_ARGS ?=
bench: $(STAMP) $(MANIFEST)
	$(PY) -m bench.canonicalisation $(BENCH_ARGS)

bench-sync: $(STAMP)
	$(PY) -m bench.customer_profiles_sync $(BENCH_ARGS)

# make run's DAGs read the dbt manifest: it is compiled first.
bench-loop: $(STAMP) $(MANIFEST)
	$(PY) -m bench.local_loop $(BENCH_ARGS)

# Trains on int_identity_records_normalised of the warehouse `make run` built; writes
# include/identity/models/$(VERSION).json and that version's rows of the weights seed.
.PHONY: train-identity-model
VERSION ?= default
SAMPLE ?=
train-identity-model: $(STAMP)
	$(PY) -m include.identity.model train --version $(VERSION) $(if $(SAMPLE),--sample $(SAMPLE),)

# Real AWS, not the local stack: the environment and connections of docs/aws.md (it refuses
# without them, or without CONFIRM=1: it writes to the account, then removes what it wrote).
CONFIRM ?=
athena-smoke: $(STAMP)
	AIRFLOW_HOME="$${AIRFLOW_HOME:-$(abspath $(VAR))/airflow}" $(PY) -m local.athena_smoke $(if $(CONFIRM),--confirm,)

clean: stack-stop
	rm -rf var dbt/target dbt/logs
