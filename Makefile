# Developer entry points. A fresh clone needs only python3 (3.11) and make: when uv is not on
# PATH it is installed into .tools/ on first use.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help sync up test lint typecheck format all bench mutate clean

help: ## Show the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

sync: $(UV) ## Install the locked dependencies into .venv
	$(UV) sync --frozen

up: sync ## Run the service: migrations, API, worker and demo data (embedded engines by default)
	$(UV) run --frozen hashtag-analysis up

test: sync ## Run the whole test suite (PYTEST_ARGS="-k import -x" to narrow it)
	$(UV) run --frozen pytest $(PYTEST_ARGS)

lint: sync ## ruff lint and format check
	$(UV) run --frozen ruff check
	$(UV) run --frozen ruff format --check

typecheck: sync ## mypy --strict
	$(UV) run --frozen mypy

format: sync ## Apply ruff's fixes and formatting
	$(UV) run --frozen ruff check --fix
	$(UV) run --frozen ruff format

all: lint typecheck test ## Everything CI runs

bench: sync ## Run the benchmarks in bench/ (when there are any)
	@if [ -f bench/__main__.py ]; then $(UV) run --frozen python -m bench; \
	else echo "no benchmark to run: bench/__main__.py does not exist yet" >&2; exit 1; fi

mutate: sync ## Mutation testing, on demand (MODULES="collect/http.py ..." for some; hours for all)
	$(UV) run --frozen python scripts/mutate.py $(MODULES)

clean: ## Remove the test suite's embedded servers' data (.data/test); never your data
	rm -rf .data/test
