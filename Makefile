# Developer entry points. A fresh clone needs only python3 (3.11) and make: when uv is not on
# PATH it is installed into .tools/ on first use.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?=
# The embedded PostgreSQL and Redis (the `embedded` extra) are for laptops and the test suite;
# the production image (Dockerfile) leaves them out.
SYNC := $(UV) sync --frozen --extra embedded
RUN := $(UV) run --frozen --extra embedded

.DEFAULT_GOAL := help
.PHONY: help sync up test lint typecheck format all bench mutate clean

help: ## Show the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

sync: $(UV) ## Install the locked dependencies, dev tools and embedded engines into .venv
	$(SYNC)

up: sync ## Run the service: migrations, API, worker and demo data (embedded engines by default)
	$(RUN) hashtag-analysis up

test: sync ## Run the whole test suite (PYTEST_ARGS="-k import -x" to narrow it)
	$(RUN) pytest $(PYTEST_ARGS)

lint: sync ## ruff lint and format check
	$(RUN) ruff check
	$(RUN) ruff format --check

typecheck: sync ## mypy --strict
	$(RUN) mypy

format: sync ## Apply ruff's fixes and formatting
	$(RUN) ruff check --fix
	$(RUN) ruff format

all: lint typecheck test ## Everything CI runs

bench: sync ## Run the benchmarks in bench/ (when there are any)
	@if [ -f bench/__main__.py ]; then $(UV) run --frozen python -m bench; \
	else echo "no benchmark to run: bench/__main__.py does not exist yet" >&2; exit 1; fi

mutate: sync ## Mutation testing, on demand (MODULES="collect/http.py ..." for some, SAMPLE=N mutants each; hours for all)
	$(UV) run --frozen python scripts/mutate.py $(if $(SAMPLE),--sample $(SAMPLE)) $(MODULES)

clean: ## Remove the test suite's embedded servers' data (.data/test); never your data
	rm -rf .data/test
