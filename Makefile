# KoSI platform. `make run` starts everything with demo data; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install services tools web run test faults soak bench clean migrate

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3 setuptools==80.9.0
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

services:
	deploy/ensure-services.sh rabbitmq postgresql redis

# LibreOffice Calc (headless): a test opens the survey export in it; promtool (from Debian's
# prometheus package, unpacked, no daemon) checks deploy/prometheus
PROMTOOL := $(BIN)/promtool
# kubectl renders deploy/kubernetes with its built-in kustomize (tests/deploy); no registry here
# serves kustomize, so it comes from the machine's apt sources (Google Cloud SDK's kubectl)
tools: $(PROMTOOL)
	@command -v soffice >/dev/null || { echo "installing LibreOffice Calc (headless)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null; }
	@command -v kubectl >/dev/null || { echo "installing kubectl (kustomize)"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null || { echo "kubectl could not be installed: tests/deploy need it to render deploy/kubernetes" >&2; exit 1; }; }
	@kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v5' || { echo "kubectl with kustomize v5 is needed (kubectl >= 1.27)" >&2; exit 1; }
	@command -v chromium >/dev/null || { echo "installing Chromium (the browser tests)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

$(PROMTOOL): $(STAMP)
	rm -rf $(VENV)/promtool.tmp && mkdir -p $(VENV)/promtool.tmp
	cd $(VENV)/promtool.tmp && { apt-get download -qq prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq prometheus; }; }
	dpkg-deb -x $(VENV)/promtool.tmp/prometheus_*.deb $(VENV)/promtool.tmp/unpacked
	cp $(VENV)/promtool.tmp/unpacked/usr/bin/promtool $@
	rm -rf $(VENV)/promtool.tmp
	$@ --version | head -1

# the web client (web/): npm packages from the pinned lockfile, built into web/dist, which the
# gateway serves at /; Vite needs Node.js 20.19 or newer (the machine's, from NodeSource)
WEB_BUILD := web/dist/index.html
WEB_SOURCES := web/package.json web/package-lock.json web/index.html web/vite.config.js \
	$(shell find web/src web/scripts -type f 2>/dev/null)
web: $(WEB_BUILD)

$(WEB_BUILD): $(WEB_SOURCES)
	@command -v npm >/dev/null || { echo "npm (Node.js 20.19 or newer) is needed to build web/" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

run: $(STAMP) web
	deploy/ensure-services.sh rabbitmq
	$(BIN)/kosi run

# TEST_ORDER=random shuffles the tests (pytest-randomly); the seed is printed, and
# `make test TEST_ORDER=random SEED=N` repeats that order
TEST_ORDER ?= declared
ifndef SEED
SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
ORDER_ARGS := $(if $(filter random,$(TEST_ORDER)),-p randomly --randomly-seed=$(SEED),-p no:randomly)

test: $(STAMP) services tools web
	$(BIN)/ruff check --quiet .
	$(BIN)/lint-imports --no-cache
	@$(if $(filter random,$(TEST_ORDER)),echo "tests in a random order: SEED=$(SEED)",echo "tests in their declared order")
	$(BIN)/nameko test tests -q -p no:cacheprovider -p no:schemathesis -p no:hypothesispytest $(ORDER_ARGS) $(PYTEST_ARGS)

# every fault of tests/faults (make test runs its smoke: a killed catalog, a restarted broker);
# KOSI_FAULTS="catalog killed,broker disk alarm" picks some
faults: $(STAMP) services tools
	KOSI_FAULTS=$${KOSI_FAULTS:-all} $(BIN)/nameko test tests/faults/test_faults.py -q -s -p no:cacheprovider -p no:schemathesis -p no:hypothesispytest -p no:randomly

# the mixed workload for SOAK_MINUTES (10) at a steady rate: errors, latency, memory, fds, queues
soak: $(STAMP) services tools
	SOAK_MINUTES=$${SOAK_MINUTES:-10} $(BIN)/nameko test tests/faults/test_soak.py -q -s -p no:cacheprovider -p no:schemathesis -p no:hypothesispytest -p no:randomly

bench: $(STAMP) services
	$(BIN)/python -m bench.catalog
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.survey
	$(BIN)/python -m bench.notify
	$(BIN)/python -m bench.newsletter
	$(BIN)/python -m bench.freshness

clean:
	rm -rf $(VENV) var web/node_modules web/dist
