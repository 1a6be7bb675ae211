# dibao-monitor: every target bootstraps the locked environment itself.
# On a fresh machine with only Python and pip: `make demo`, then `make test`.

PYTHON ?= python3
SCALE ?= town
MONTHS ?= 12
SEED ?= 0
BENCH_SCALE ?= city
TEST_WORKERS ?= 2
FAST_LANE := not slow and not faults and not postgres and not celery
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --locked

.DEFAULT_GOAL := help
.PHONY: help env demo check test bench screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.9

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --compile-bytecode
	@touch $@

env: .venv/.synced ## install the locked environment into .venv

demo: env ## generate town-scale deliveries and run the nightly job on them (var/)
	$(RUN) dibao generate --scale $(SCALE) --months $(MONTHS) --seed $(SEED) --landing var/landing --truth var/truth
	$(RUN) dibao run --landing var/landing --warehouse var/warehouse.duckdb --out var/out

check: env ## the fast lane: every test but the slow end-to-end, fault, PostgreSQL and Celery ones (docs/testing.md)
	$(RUN) pytest -m "$(FAST_LANE)"

test: env ## the full suite (what .ci/run calls), test files spread over TEST_WORKERS processes (default 2)
	$(RUN) pytest -n $(TEST_WORKERS) --dist loadfile

bench: env ## time the nightly job against its read floor (BENCH_SCALE=city): docs/bench-<scale>.json
	$(RUN) dibao bench --scale $(BENCH_SCALE) --months $(MONTHS) --seed $(SEED)

screenshots: env ## PNGs of the report, a printed list page, Data Docs (and the Airflow grid with AIRFLOW=URL) in docs/img
	$(RUN) python -m pipelines.evaluation.screenshots --out docs/img $(if $(FROM),--from $(FROM)) $(if $(AIRFLOW),--airflow $(AIRFLOW))

clean: ## remove generated data, the warehouse and the embedded Airflow home
	rm -rf var .airflow
