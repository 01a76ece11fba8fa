# The front door. Every target installs what it needs from the lock files (README, "Dependencies"):
# .venv from uv.lock, the tools (SAM CLI, Checkov) each in its own environment from tools/*.txt.
SHELL := /bin/bash

# ---------------------------------------------------------------------------------------------
# Python: Lambda runs 3.13, and so does everything here. PYTHON defaults to the first of
#   1. `python3.13` on PATH, if it runs (a bare pyenv shim does not),
#   2. pyenv's newest installed 3.13.x (`pyenv latest 3.13`), without changing pyenv's version.
# `make PYTHON=python3.11 …` (or a path) uses another interpreter, 3.11 or newer.
# ---------------------------------------------------------------------------------------------
LAMBDA_PYTHON := 3.13
PYTHON_LAMBDA := $(shell \
	python$(LAMBDA_PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null \
	|| { command -v pyenv >/dev/null \
	     && PYENV_VERSION=$$(pyenv latest $(LAMBDA_PYTHON) 2>/dev/null) pyenv which python$(LAMBDA_PYTHON) 2>/dev/null; })
PYTHON ?= $(PYTHON_LAMBDA)

define PYTHON_MISSING
Python $(LAMBDA_PYTHON) (what Lambda runs) was not found: no working python$(LAMBDA_PYTHON) on PATH, no pyenv $(LAMBDA_PYTHON).x.
Install it (e.g. `pyenv install $(LAMBDA_PYTHON)`), or run on another Python 3.11+ for now:
    make PYTHON=python3.11 <target>
endef
export PYTHON_MISSING

VENV := .venv
BIN := $(VENV)/bin
# One stamp per interpreter version, so that `make PYTHON=…` with another Python redoes .venv.
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)
UV := $(BIN)/uv
# uv never downloads a Python of its own here, and copies from its cache (often another filesystem).
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
# Installing compiles every package to bytecode once, so that no process (a test worker, each local
# stack an e2e test starts, Checkov) compiles boto3, moto or pydantic from source again: ~1.5 s a
# process. And this project's own modules are cached too, even where the environment asks Python
# not to write bytecode (PYTHONDONTWRITEBYTECODE; __pycache__ is ignored by git).
export UV_COMPILE_BYTECODE := 1
unexport PYTHONDONTWRITEBYTECODE
PYVERSION := import sys; print(sys.version)

TOOLS := checkov sam
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam

.PHONY: venv run test unit lint typecheck style checkov-scan format lock build validate deploy bench docs token clean

# .venv holds exactly uv.lock's packages (runtime + dev) and this project, editable. uv itself comes
# from the lock too (pip, hash-checked) before it installs everything else.
define bootstrap_uv
	@test -n "$(PYTHON)" || { echo "$$PYTHON_MISSING" >&2; exit 1; }
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c '$(PYVERSION)')" != "$$($(PYTHON) -c '$(PYVERSION)')" ]; then \
		echo "$(VENV) runs another Python than $(PYTHON): making it anew"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || { echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@test -x $(UV) || $(BIN)/python -m infra.requirements --uv \
		| $(BIN)/python -m pip install -qq --disable-pip-version-check --require-hashes --no-deps -r /dev/stdin
endef

$(STAMP): pyproject.toml uv.lock
	$(bootstrap_uv)
	$(UV) sync --locked --extra dev --python $(BIN)/python
	@$(BIN)/python -c 'import sys; print("Python", sys.version.split()[0], "at", sys.executable)'
	@touch $(STAMP)

# Just the environment (CI makes it first, to check its Python).
venv: $(STAMP)

# The whole service on loopback until Ctrl-C (docs/local.md). Honours PORT, AWS_PORT, DEMO_DATA,
# RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET, EINVOICING (sandbox: the local IRP
# stand-in; off), AATO_ABOVE_10_CRORE (true).
run: $(STAMP)
	$(BIN)/python -m infra.local

# A bearer token for the local stack (decoded, never verified, locally): make token [ACCOUNT=acc_x] [ADMIN=1]
ACCOUNT ?= acc_demo
token: $(STAMP)
	@$(BIN)/python -m infra.local.tokens --account "$(ACCOUNT)" $(if $(filter 1 true yes,$(ADMIN)),--admin)

# mypy (typecheck), ruff (style) and Checkov on template.yaml (0 failed checks; every skip in the
# template carries a reason). The three are independent and single-threaded, so they run side by
# side, each one's output printed whole when it ends; lint fails if any of them does.
CHECKOV_FLAGS := --file template.yaml --framework cloudformation --compact --quiet --skip-download
lint: $(STAMP) $(CHECKOV)
	@$(MAKE) --no-print-directory -j3 --output-sync=target typecheck style checkov-scan

style: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

checkov-scan: $(CHECKOV)
	$(CHECKOV) $(CHECKOV_FLAGS)

# mypy, strict on shared/invoicing; its settings are pyproject.toml's [tool.mypy].
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Everything CI runs: lint and every test on both cores, side by side. The linters are
# single-threaded and the test run leaves the cores idle for part of its time (workers starting,
# tests waiting on a local stack), so running both at once ends sooner than one after the other.
# The tests report as they go; lint's output follows them. make test fails if either fails.
test: $(STAMP) $(CHECKOV)
	@lint_log=$$(mktemp); trap 'rm -f "$$lint_log"' EXIT; \
	$(MAKE) --no-print-directory lint >"$$lint_log" 2>&1 & linting=$$!; \
	$(BIN)/python -m pytest -n auto -q; tested=$$?; \
	wait $$linting; linted=$$?; cat "$$lint_log"; \
	if [ $$linted -ne 0 ]; then echo "make test: lint failed (above)" >&2; fi; \
	[ $$tested -eq 0 ] && [ $$linted -eq 0 ]

# The fast loop: unit tests only (no AWS emulation, no servers), no lint.
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -n auto -q

# docs/api.md from the API's own OpenAPI document (a test checks it is current).
docs: $(STAMP)
	$(BIN)/python -m infra.apidocs

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Re-resolve after editing pyproject.toml (or tools/*.in): uv.lock, shared/requirements.txt, tools/*.txt.
# Versions already locked are kept unless pyproject asks otherwise; `make lock UPGRADE=1` moves
# every unpinned transitive dependency to its newest release.
lock:
	$(bootstrap_uv)
	$(UV) lock --python $(BIN)/python $(if $(filter 1 true yes,$(UPGRADE)),--upgrade)
	$(BIN)/python -m infra.requirements --write
	@for tool in $(TOOLS); do \
		echo "$(UV) pip compile tools/$$tool.in -o tools/$$tool.txt"; \
		$(UV) pip compile --quiet --universal --generate-hashes --python-version 3.11 \
			--custom-compile-command "make lock" $(if $(filter 1 true yes,$(UPGRADE)),--upgrade) \
			tools/$$tool.in -o tools/$$tool.txt || exit 1; \
	done

# ---------------------------------------------------------------------------------------------
# Tools, each in its own environment from its own lock (tools/<tool>.txt): their pins (Checkov's
# exact boto3, SAM CLI's) must not touch the project's.
# ---------------------------------------------------------------------------------------------

$(CHECKOV): tools/checkov.txt | $(STAMP)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip sync --quiet --require-hashes --python $(CHECKOV_VENV)/bin/python tools/checkov.txt
	@touch $(CHECKOV)

$(SAM): tools/sam.txt | $(STAMP)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(SAM_VENV)
	$(UV) pip sync --quiet --require-hashes --python $(SAM_VENV)/bin/python tools/sam.txt
	@touch $(SAM)

# samconfig.toml holds each environment's stack, region, capabilities and parameters; CONFIG_ENV
# picks one (default, prod).
CONFIG_ENV ?= default
SAM_RUN := SAM_CLI_TELEMETRY=0 $(SAM)

# The layer: sam build installs shared/requirements.txt (exported from uv.lock, hash-checked) with
# the pip of python3.13, which it looks up on PATH, so the Python found above goes first.
build: $(STAMP) $(SAM)
	$(BIN)/python -m infra.requirements --check
	@test -n "$(PYTHON_LAMBDA)" || { echo "sam build needs Python $(LAMBDA_PYTHON) (the layer's BuildMethod)."; echo "$$PYTHON_MISSING" | head -2; exit 1; }
	PATH="$(dir $(PYTHON_LAMBDA)):$$PATH" $(SAM_RUN) build --config-env $(CONFIG_ENV)

# sam validate --lint (settings in samconfig.toml). It needs no AWS account: the region comes from
# samconfig.toml, and fake credentials keep boto3 from looking for real ones (profiles, the
# instance metadata endpoint).
validate: $(SAM)
	env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=validate AWS_SECRET_ACCESS_KEY=validate \
		AWS_EC2_METADATA_DISABLED=true $(SAM_RUN) validate --lint --config-env $(CONFIG_ENV)

# sam deploy with samconfig.toml's settings. Guided when asked (GUIDED=1) or while the environment
# has no JwtIssuer/JwtAudience yet (the first deploy): the answers are saved to samconfig.toml.
HAS_JWT_SETTINGS := import sys, tomllib; \
	env = tomllib.load(open("samconfig.toml", "rb")).get("$(CONFIG_ENV)", {}); \
	overrides = env.get("deploy", {}).get("parameters", {}).get("parameter_overrides", ""); \
	overrides = " ".join(overrides) if isinstance(overrides, list) else overrides; \
	sys.exit(0 if "JwtIssuer=" in overrides and "JwtAudience=" in overrides else 1)
deploy: build
	@if [ -n "$(filter 1 true yes,$(GUIDED))" ] || ! $(BIN)/python -c '$(HAS_JWT_SETTINGS)'; then \
		echo "$(SAM_RUN) deploy --guided --config-env $(CONFIG_ENV)"; \
		$(SAM_RUN) deploy --guided --config-env $(CONFIG_ENV); \
	else \
		echo "$(SAM_RUN) deploy --config-env $(CONFIG_ENV)"; \
		$(SAM_RUN) deploy --config-env $(CONFIG_ENV); \
	fi

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache
