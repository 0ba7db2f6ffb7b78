# Partnerhub: `make dev` runs the API locally, `make test` runs everything CI runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: dev test unit install token renew clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

## Start the API on http://127.0.0.1:8000/graphql over an embedded DynamoDB with demo data.
dev: install
	$(PY) -m infra.devserver

## Run the whole suite (unit, integration, end to end, deployment checks).
test: install
	$(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit

## Mint a dev token: make token USER=usr_... (or an e-mail address of a demo user)
token: install
	$(PY) -m infra.devtokens $(USER)

clean:
	rm -rf $(VENV) node_modules .serverless .dev
