# Hopline: `make demo` runs a local day (no AWS account needed); `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLIENT ?= example-cin7-scend
# The jsii runtime under aws-cdk-lib supports Node 22 and 24 (README). On another Node it prints a
# banner on every synth and test; say it once here instead.
SUPPORTED_NODE := 22 24
NODE_MAJOR := $(shell node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')
ifneq ($(NODE_MAJOR),)
ifeq ($(filter $(NODE_MAJOR),$(SUPPORTED_NODE)),)
$(warning Node $(NODE_MAJOR) is not one the jsii runtime supports ($(SUPPORTED_NODE)); install Node 22 or 24 before deploying)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(NODE_MAJOR)
endif
endif

.PHONY: install demo test test-fast lint synth alarms bundle bench clean

install: $(STAMP)  ## create .venv and install everything (quick when nothing changed)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bundle: install  ## build the Lambda code asset and dependency layer into .build/ (pip wheels for the Lambda platform, no Docker; skipped when its inputs are unchanged)
	$(BIN)/python -m infra.bundling

demo: install  ## a local day for the example client: simulators + moto, no credentials
	$(BIN)/hopline sandbox run --client $(CLIENT) --orders 300 --fault-rate 0.1 --duplicate-rate 0.05 --seed 7

test: export HOPLINE_REQUIRE_NODE_MOCKS := 1
test: install node_modules/.installed  ## lint, then the whole suite (unit, connectors, functions, infra, e2e; Node mocks required)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile -q

lint: install  ## ruff and mypy (strict enough to catch wrong types at the boundaries)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict shared

synth: install node_modules/.installed  ## cdk synth for CLIENT (default example-cin7-scend)
	npx cdk synth -c client=$(CLIENT) --quiet

alarms: install  ## how many CloudWatch alarms CLIENT's stack has, counted in its synthesized template
	@$(BIN)/python -c "import sys, app; from aws_cdk.assertions import Template; \
	stack = app.build_app(sys.argv[1], context={'aws:cdk:bundling-stacks': []}).node.find_child('hopline-' + sys.argv[1]); \
	print(len(Template.from_stack(stack).find_resources('AWS::CloudWatch::Alarm')))" $(CLIENT)

bench: install  ## benchmarks whose figures are quoted in the docs
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf cdk.out .build .pytest_cache .ruff_cache .mypy_cache
