# The front door. Every target bootstraps its own virtual environment from pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format build deploy bench token clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (Python 3.11+)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

# The whole service on loopback until Ctrl-C (docs/local.md). Honours PORT, AWS_PORT, DEMO_DATA,
# RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET, EINVOICING (sandbox: the local IRP
# stand-in; off), AATO_ABOVE_10_CRORE (true).
run: $(STAMP)
	$(BIN)/python -m infra.local

# A bearer token for the local stack (decoded, never verified, locally): make token [ACCOUNT=acc_x] [ADMIN=1]
ACCOUNT ?= acc_demo
token: $(STAMP)
	@$(BIN)/python -m infra.local.tokens --account "$(ACCOUNT)" $(if $(filter 1 true yes,$(ADMIN)),--admin)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# SAM CLI lives in its own tool environment: its pins must not touch the project's.
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_CLI_VERSION)

# sam build needs Python 3.13 on PATH (see README): PYENV_VERSION=3.13.0 make build
build: $(STAMP) $(SAM)
	$(BIN)/python -m infra.requirements --check
	@python3.13 --version >/dev/null 2>&1 || { echo "sam build needs python3.13 on PATH, e.g. PYENV_VERSION=3.13.0 make build (see README)"; exit 1; }
	SAM_CLI_TELEMETRY=0 $(SAM) build --template-file template.yaml

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache
