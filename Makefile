# Two commands do all set-up: `make run` (the local system) and `make test` (every check).
# Everything else here is a helper they call, or an extra described in the README.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
SAM_VENV    := .venv-sam
LINT_VENV   := .venv-lint
CHECKOV_VENV := .venv-checkov
PY          := $(VENV)/bin/python
SAM         := $(SAM_VENV)/bin/sam
# Host architecture for builds whose artifacts we import here; deployments default to arm64.
HOST_ARCH   := $(shell uname -m | sed -e 's/aarch64/arm64/')
TEST_BUILD  := .aws-sam/test-build
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --- environments -----------------------------------------------------------------------
# Each environment is rebuilt when a file it is made from changes (the stamp is older).
$(VENV)/.stamp: requirements-dev.txt functions/requirements.txt scripts/find-python313
	@python=$$(scripts/find-python313) && \
	  if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
	    rm -rf $(VENV) && echo "creating $(VENV) with $$python" && "$$python" -m venv $(VENV); fi
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(SAM_VENV)/.stamp: requirements-sam.txt scripts/find-python313
	@python=$$(scripts/find-python313) && \
	  if [ ! -x $(SAM_VENV)/bin/python ]; then echo "creating $(SAM_VENV) with $$python" && "$$python" -m venv $(SAM_VENV); fi
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	@touch $@

# The template linters, each in its own environment: their pins fight the product's and SAM's.
$(LINT_VENV)/.stamp: requirements-lint.txt scripts/find-python313
	@python=$$(scripts/find-python313) && \
	  if [ ! -x $(LINT_VENV)/bin/python ]; then echo "creating $(LINT_VENV) with $$python" && "$$python" -m venv $(LINT_VENV); fi
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-lint.txt
	@touch $@

$(CHECKOV_VENV)/.stamp: requirements-checkov.txt scripts/find-python313
	@python=$$(scripts/find-python313) && \
	  if [ ! -x $(CHECKOV_VENV)/bin/python ]; then echo "creating $(CHECKOV_VENV) with $$python" && "$$python" -m venv $(CHECKOV_VENV); fi
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

.PHONY: venv
venv: $(VENV)/.stamp ## create or refresh the product's virtual environment

# --- the two commands ---------------------------------------------------------------------
.PHONY: run
run: $(VENV)/.stamp ## run the whole system locally (API, workflow, emulator, event sink)
	@PYTHONPATH=functions:. $(PY) -m local.stack

.PHONY: test
test: $(VENV)/.stamp $(SAM_VENV)/.stamp $(LINT_VENV)/.stamp $(CHECKOV_VENV)/.stamp ## run every check (lint, tests, SAM validate/build, built artifacts)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n auto
	$(MAKE) --no-print-directory validate
	$(MAKE) --no-print-directory cfn-lint
	$(MAKE) --no-print-directory checkov
	$(MAKE) --no-print-directory build-check

.PHONY: demo
demo: $(VENV)/.stamp ## one request end to end on a private local stack; prints the Ready event
	@PYTHONPATH=functions:. $(PY) -m local.demo

.PHONY: chaos
chaos: $(VENV)/.stamp ## N concurrent requests under injected faults (CHAOS_REQUESTS, default 200)
	@PYTHONPATH=functions:. $(PY) -m local.chaos

.PHONY: bench
bench: $(VENV)/.stamp $(SAM_VENV)/.stamp ## benchmarks side by side; writes benchmarks/results.json
	@PYTHONPATH=functions:. $(PY) -m benchmarks

.PHONY: deploy
deploy: $(SAM_VENV)/.stamp $(VENV)/.stamp ## sam build && sam deploy (CONFIG_ENV=default|dev|prod)
	@# sam build ships the bytecode itself (functions/Makefile): nothing to add between the two.
	PATH="$(abspath $(VENV))/bin:$$PATH" $(SAM) build
	$(SAM) deploy --config-env $(or $(CONFIG_ENV),default)

.PHONY: openapi
openapi: $(VENV)/.stamp ## regenerate openapi.json from the API's routes
	PYTHONPATH=functions:. $(PY) scripts/export_openapi.py

.PHONY: schemas
schemas: $(VENV)/.stamp ## regenerate schemas/ and the template's schema Content from models/events.py
	PYTHONPATH=functions:. $(PY) scripts/generate_event_schemas.py

.PHONY: diagram
diagram: $(VENV)/.stamp ## regenerate the README's workflow diagram from the ASL
	$(PY) scripts/asl_diagram.py

# --- pieces ---------------------------------------------------------------------------------
.PHONY: emulator
emulator: $(VENV)/.stamp ## run the Nimble Studio emulator alone (NIMBLE_PORT, default 8081)
	@PYTHONPATH=functions:. $(PY) -m local.emulator

.PHONY: validate
validate: $(SAM_VENV)/.stamp ## sam validate --lint
	$(SAM) validate --lint --region us-east-1

.PHONY: cfn-lint
cfn-lint: $(LINT_VENV)/.stamp ## cfn-lint with the serverless rules on template.yaml (zero findings)
	$(LINT_VENV)/bin/cfn-lint --config-file .cfnlintrc.yaml template.yaml --append-rules cfn_lint_serverless.rules

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.stamp ## checkov on template.yaml, offline (zero failed checks; skips in .checkov.yaml)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml --framework cloudformation \
	  --skip-download --quiet --compact

.PHONY: build-check
build-check: $(VENV)/.stamp $(SAM_VENV)/.stamp ## sam build for this host, then invoke each events/ sample on the artifacts
	PATH="$(abspath $(VENV))/bin:$$PATH" $(SAM) build --no-cached --build-dir $(TEST_BUILD) \
	  --parameter-overrides Architecture=$(HOST_ARCH) --region us-east-1 >/dev/null
	PYTHONPATH=functions:. $(PY) scripts/invoke_built_artifacts.py --build-dir $(TEST_BUILD)

.PHONY: clean
clean: ## remove environments, builds and local state
	rm -rf $(VENV) $(SAM_VENV) $(LINT_VENV) $(CHECKOV_VENV) .aws-sam .local .pytest_cache .ruff_cache
