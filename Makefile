# Two commands do everything on a fresh machine with only Python:
#   make run    set up .venv, then run the nightly job on the newest drop in SSC_INBOX (default: the demo drop)
#   make test   the test suite
# As a service: `make daemon` runs the Dagster daemon (the 02:00 schedule) on the same state (docs/operating.md).
# SSC_INBOX (where drops come from) and SSC_HOME (all state) may be set; both are made absolute here.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SSC_HOME ?= $(CURDIR)/.ssc_home
SSC_INBOX ?= $(CURDIR)/demo/inbox
override SSC_HOME := $(abspath $(SSC_HOME))
override SSC_INBOX := $(abspath $(SSC_INBOX))
export SSC_HOME SSC_INBOX
export DAGSTER_HOME := $(SSC_HOME)/dagster
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project
export DBT_LOG_PATH := $(SSC_HOME)/logs/dbt
# dbt from .venv: under `dagster dev` (make ui) dagster-dbt re-parses the project with the `dbt` it finds on PATH
export PATH := $(CURDIR)/$(BIN):$(PATH)
# No telemetry from anything make starts (the Dagster instance's dagster.yaml and dbt_project.yml say so too)
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := False
# Plain text in the per-night log (SSC_HOME/logs/nightly-<run id>.log): dbt writes no colour codes
export DBT_USE_COLORS := False

DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)
MANIFEST := dbt_project/target/manifest.json

.PHONY: run test test-registry test-long ui daemon webserver setup manifest home instance demo bench ack data-docs-assets clean help

help:
	@echo "make run    - set up .venv and run the nightly job on the newest drop in SSC_INBOX ($(SSC_INBOX))"
	@echo "make test   - run the test suite"
	@echo "make ui     - the Dagster UI on the same state (SSC_HOME=$(SSC_HOME))"
	@echo "make daemon - the Dagster daemon alone (the nightly schedule), for a service (docs/operating.md)"
	@echo "make webserver - the Dagster UI alone, on 127.0.0.1:3000, for a service (docs/operating.md)"
	@echo "make run FORCE=1 - run even when the newest drop was already published unchanged (same files, code, settings)"
	@echo "make run DROP=<id> - run an archived drop again into SSC_HOME/replays/<id> (published outputs untouched)"
	@echo "make test-registry, make test-long - the 2,000-patient pins; kills at every stage, a real daemon (CI runs both)"
	@echo "make demo   - regenerate the bundled demo drop"
	@echo "make data-docs-assets - fetch Data Docs' CSS, fonts and scripts again from the npm registry (pinned)"
	@echo "make bench  - time the nightly job on generated drops of $(PATIENTS) patients (PATIENTS=, RUNS=, NIGHTS=2)"
	@echo "make ack ID=<worklist id> DECISION=verified_correct|cannot_be_fixed REASON=\"...\" BY=<who>"
	@echo "             - acknowledge a warning of the steward worklist (SSC_HOME/acknowledgements.csv; README)"

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# The dbt manifest must exist before the Dagster definitions load (in runs, the UI and tests alike).
manifest: $(MANIFEST)

$(MANIFEST): $(VENV)/.installed $(DBT_FILES)
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir . --log-path "$(DBT_LOG_PATH)"
	touch $@

# SSC_HOME holds pseudonymised data and the run history: owner-only (folders 0700, files 0600), the state made
# before included; everything the pipeline writes there is created under umask 077. dbt copies files of
# dbt_project/target (its partial parse) into each run's target under SSC_HOME, modes kept: owner-only too.
OWNER_ONLY := umask 077 &&

home:
	@$(OWNER_ONLY) mkdir -p "$(DAGSTER_HOME)" "$(SSC_HOME)/logs"
	@chmod -R go-rwx "$(SSC_HOME)" $(wildcard dbt_project/target)
	@$(OWNER_ONLY) cp orchestration/dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

# DROP=<id>: replay that archived drop into SSC_HOME/replays/<id>/ (its own reports; the published ones untouched)
run: setup manifest home
	@$(OWNER_ONLY) $(BIN)/python -m orchestration.nightly $(if $(DROP),--drop "$(DROP)") $(if $(FORCE),--force)

# The stewards' register of acknowledged warnings (README, "Acknowledging a warning"); the values are read from
# the environment (make puts its command-line variables there), so a reason may hold quotes
ack: setup
	@$(OWNER_ONLY) $(BIN)/python -m quality.acknowledgements add "$$ID" --decision "$$DECISION" --reason "$$REASON" --by "$$BY"

# The instance's SQLite storage, made by one process before the services open it (orchestration/instance.py): two
# processes creating it at once (the daemon and the webserver started together) can break its schedule storage
instance: setup home
	@$(OWNER_ONLY) $(BIN)/python -m orchestration.instance

ui: setup manifest home instance
	$(OWNER_ONLY) $(BIN)/dagster dev -w workspace.yaml

# For services (docs/operating.md): the schedule without the UI, and the UI without a daemon. `make ui` runs
# both in one process: run it, or these, not both.
daemon: setup manifest home instance
	$(OWNER_ONLY) $(BIN)/dagster-daemon run -w workspace.yaml

webserver: setup manifest home instance
	$(OWNER_ONLY) $(BIN)/dagster-webserver -w workspace.yaml -h 127.0.0.1 -p 3000

test: setup manifest
	$(BIN)/python -m pytest -q

# the outcomes of a generated 2,000-patient drop against the pinned ones (about 2 minutes; CI runs it)
test-registry: setup manifest
	$(BIN)/python -m pytest -q -m registry

# the long tests (CI runs them after make test): a real run killed (SIGKILL) at raw load, dbt staging,
# plausibility, the gate, the outcomes and the report, each rerun to the clean figures (tests/pipeline/test_crash.py;
# `make test` kills at conformance and the marts); a real Dagster daemon (inbox sensor, one writer); a second
# night; a replay
test-long: setup manifest
	$(BIN)/python -m pytest -q -m "crash or long" --dist load

demo: setup
	$(BIN)/python -m study.demo --out demo/inbox

# The nightly job timed on generated drops (tests/benchmark.py): `make bench PATIENTS=20000 RUNS=3` for one size, each
# figure the median of 3 runs; NIGHTS=2 times a later night too (make run FORCE=1 on the same home). Drops are kept in
# SSC_HOME/bench/drops, the table written to SSC_HOME/bench/.
PATIENTS ?= 2000 20000 100000
RUNS ?= 1
NIGHTS ?= 1
bench: setup manifest home
	@$(OWNER_ONLY) $(BIN)/python tests/benchmark.py $(foreach n,$(PATIENTS),--patients $(n)) --runs $(RUNS) --nights $(NIGHTS)

# Great Expectations Data Docs' CSS, fonts and scripts, fetched again from the npm registry at the pinned versions
# (quality/data_docs_assets/manifest.json; the files are checked in, so no run or test needs this)
data-docs-assets: setup
	$(BIN)/python -m quality.data_docs fetch

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache .hypothesis
