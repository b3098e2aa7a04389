# Medical Inc. booking platform. Needs only Python 3.11+, Node 20 and make: everything else
# (uv, the Python packages, the embedded PostgreSQL server) is installed on first use.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
RUN := $(UV) run --frozen
# Never download a Python interpreter: use the machine's.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON ?= $(PYTHON)
export UV_LINK_MODE ?= copy

PG_SERVICE_URL ?= postgresql://postgres@127.0.0.1:5432/test
WEB := src/frontend

.PHONY: help run dev test lint typecheck audit pytest test-pg bench bench-realtime bench-web openapi api migrate seed clean peers web web-check

help:
	@echo "make run      install what is missing, migrate, seed demo data, serve on http://localhost:8000"
	@echo "make dev      the same, with the web app from Vite (hot reload) on http://localhost:5173"
	@echo "make test     the whole suite: lint, types, tests (embedded PostgreSQL)"
	@echo "make test-pg  the tests against the PostgreSQL service at $(PG_SERVICE_URL)"
	@echo "make bench    benchmarks (results go to docs/performance.md by hand)"
	@echo "make bench-realtime  only the real-time fan-out benchmark"
	@echo "make bench-web       only the web app: bundle size, booking page on a phone profile"
	@echo "make openapi  export docs/api/openapi.json"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

# Every module compiled once, here: where PYTHONDONTWRITEBYTECODE is set (this machine's
# environment sets it), each process would compile its imports again, about 2 s of CPU for each
# server and CLI run the tests start (a third of the suite's CPU time).
.venv/.compiled: .venv/.synced
	$(UV) sync --frozen --compile-bytecode
	@touch $@

run: .venv/.synced peers web
	$(RUN) medbook migrate
	$(RUN) medbook seed-demo
	$(RUN) medbook keys generate --if-missing
	UV=$(UV) scripts/run-dev.sh

# The local peers (MockPass, oidc-provider) from npm, exactly as locked.
peers: tests/peers/node_modules/.installed

tests/peers/node_modules/.installed: tests/peers/package.json tests/peers/package-lock.json
	npm ci --prefix tests/peers --no-audit --no-fund
	@touch $@

dev: .venv/.synced peers $(WEB)/node_modules/.installed
	$(RUN) medbook migrate
	$(RUN) medbook seed-demo
	$(RUN) medbook keys generate --if-missing
	UV=$(UV) scripts/dev.sh

# The web app (src/frontend): installed from its lock file, built when its sources change.
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund
	@touch $@

$(WEB)/dist/index.html: $(WEB)/node_modules/.installed $(WEB_SOURCES)
	npm run --prefix $(WEB) build

web: $(WEB)/dist/index.html

# The client must match the API document, types, lint and formatting, and the component tests.
web-check: $(WEB)/node_modules/.installed
	npm run --prefix $(WEB) api:check
	npm run --prefix $(WEB) typecheck
	npm run --prefix $(WEB) lint
	npm run --prefix $(WEB) test

migrate: .venv/.synced
	$(RUN) medbook migrate

seed: .venv/.synced
	$(RUN) medbook seed-demo

# The static checks side by side (each prints whole when done), then the tests.
test: .venv/.synced peers $(WEB)/node_modules/.installed
	$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck audit web-check
	$(MAKE) --no-print-directory pytest

# The house's rules as import contracts (.importlinter, ADR 0012): fix the design, not the contract.
lint: .venv/.synced
	$(RUN) ruff check src/backend tests
	$(RUN) ruff format --check src/backend tests
	$(RUN) lint-imports

typecheck: .venv/.synced
	$(RUN) mypy

# Known vulnerabilities in our Python and npm dependencies (ruff's S rules cover bandit's).
audit: .venv/.synced peers $(WEB)/node_modules/.installed
	scripts/audit.sh

# Two workers on two cores: much of the suite waits on servers, browsers and peers. Each worker
# has its own embedded PostgreSQL; a test file runs whole on one worker.
PYTEST_WORKERS ?= 2
pytest: .venv/.compiled peers web
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile

test-pg: .venv/.compiled peers web
	TEST_DATABASE_URL=$(PG_SERVICE_URL) $(RUN) pytest

bench: .venv/.synced web
	$(RUN) python -m tests.bench

bench-realtime: .venv/.synced
	$(RUN) python -m tests.bench realtime

bench-web: .venv/.synced web
	$(RUN) python -m tests.bench web

openapi: .venv/.synced $(WEB)/node_modules/.installed
	$(RUN) medbook export-openapi
	npm run --prefix $(WEB) api

api: openapi

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache $(WEB)/node_modules $(WEB)/dist
