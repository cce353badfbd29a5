# KoSI platform. `make run` starts everything with demo data; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install services run test bench clean migrate

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3 setuptools==80.9.0
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

services:
	deploy/ensure-services.sh rabbitmq postgresql

run: $(STAMP)
	deploy/ensure-services.sh rabbitmq
	$(BIN)/kosi run

test: $(STAMP) services
	$(BIN)/lint-imports --no-cache
	$(BIN)/nameko test tests -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP) services
	$(BIN)/python -m bench.catalog
	$(BIN)/python -m bench.search

clean:
	rm -rf $(VENV) var
