# OpenCRF developer tasks. Every target works from a fresh clone (Debian 12, Python 3.11).
#
#   make install        .venv with a pinned pip, then OpenCRF editable with its test and dev extras
#   make serve          install, load the demo study, serve plain HTTP on $(HOST):$(PORT)
#   make upgrade        after `git pull`: install, then `opencrf upgrade` (backup, migrate, verify)
#   make chromium       Debian's Chromium at /usr/bin/chromium, for the browser tests (root)
#   make test           the whole suite (unit + browser) on DATABASE_URL, SQLite when unset
#   make test-postgres  the whole suite on the local PostgreSQL
#   make check          format, lint, types, import layers, migrations, suite with coverage floor
#   make messages       refresh and compile the translation catalogues (Debian's gettext)
#   make bench          run every bench/bench_*.py
#   make clean          remove the venv and generated files (keeps ./var, the local data)
#
# Variables: PYTHON (python3), HOST (127.0.0.1), PORT (8000), OPENCRF_DATA_DIR (./var),
# PYTEST_ARGS (extra pytest arguments, e.g. PYTEST_ARGS="-n 2" or PYTEST_ARGS="-m 'not browser'").

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_VERSION := 26.3
BUILD_CONSTRAINTS := constraints/build.txt
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000
OPENCRF_DATA_DIR ?= $(CURDIR)/var
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/opencrf
CHROMIUM := /usr/bin/chromium
PYTEST_ARGS ?=
# For tools that load the settings but serve nothing (mypy's Django plugin, makemigrations,
# makemessages): a throwaway key and data folder, never ./var.
TOOL_DATA := $(VENV)/tool-data
TOOL_ENV := OPENCRF_SECRET_KEY=make-tool-key-not-for-serving OPENCRF_HTTPS=false \
	OPENCRF_DEBUG=false OPENCRF_DATA_DIR=$(CURDIR)/$(TOOL_DATA) DATABASE_URL=

.PHONY: help install serve upgrade chromium gettext test test-postgres check check-format check-lint \
	check-types check-imports check-migrations check-tests messages bench clean clean-data

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

# --- Installation: reinstalls only when pyproject.toml or the build constraints change. ---

install: $(STAMP)

$(STAMP): pyproject.toml $(BUILD_CONSTRAINTS)
	@test -x $(BIN)/python || { \
		echo "Creating $(VENV) with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
			echo "Could not create $(VENV): on Debian, 'apt-get install python3-venv'."; exit 1; }; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'pip==$(PIP_VERSION)'
	PIP_BUILD_CONSTRAINT=$(CURDIR)/$(BUILD_CONSTRAINTS) \
		$(BIN)/python -m pip install --disable-pip-version-check -e '.[test,dev]'
	@touch $@
	@echo "Installed OpenCRF in $(VENV)"

# --- A trial server on plain HTTP: never for real data. ---

serve: install
	OPENCRF_DATA_DIR=$(OPENCRF_DATA_DIR) OPENCRF_HTTPS=false $(BIN)/opencrf demo
	OPENCRF_DATA_DIR=$(OPENCRF_DATA_DIR) OPENCRF_HTTPS=false \
		$(BIN)/opencrf serve --host $(HOST) --port $(PORT)

# --- Upgrading this installation after `git pull`: backup, migrate, verify (docs/operations/upgrade.md).

upgrade: install
	OPENCRF_DATA_DIR=$(OPENCRF_DATA_DIR) $(BIN)/opencrf upgrade

# --- System packages (Debian). apt-get needs root; the targets say so rather than fail oddly. ---

# Chromium for the browser tests, and a Japanese font so that screenshots show Japanese text.
chromium:
	@if [ -x $(CHROMIUM) ] && fc-list :lang=ja 2>/dev/null | grep -q .; then \
		echo "Chromium is installed: $$($(CHROMIUM) --version 2>/dev/null || echo $(CHROMIUM))"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium and fonts-ipafont-gothic"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic; \
		test -x $(CHROMIUM); \
	elif [ -x $(CHROMIUM) ]; then \
		echo "Chromium is installed; no Japanese font (sudo apt-get install fonts-ipafont-gothic)."; \
	else \
		echo "Chromium is missing: run 'sudo apt-get install chromium' (or 'sudo make chromium')."; \
		echo "The browser tests need $(CHROMIUM); they are skipped without it, except in CI."; \
		exit 1; \
	fi

gettext:
	@if command -v msgfmt >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	else \
		echo "GNU gettext is missing: run 'sudo apt-get install gettext' (or 'sudo make gettext')."; \
		exit 1; \
	fi

# --- Tests. `test` is the one command of the README; `check` adds the coverage floor. ---

test: install chromium
	$(BIN)/pytest $(PYTEST_ARGS)
	@# The JavaScript twin of the logic engine runs the same corpus (GRAMMAR.md).
	node --test tests/js/

# The README's test command, on PostgreSQL.
test-postgres:
	DATABASE_URL=$(POSTGRES_URL) $(MAKE) --no-print-directory test

# `make -k check` runs every check and reports every failure (CI does so).
check: check-format check-lint check-types check-imports check-migrations check-tests

check-format: install
	$(BIN)/ruff format --check .

check-lint: install
	$(BIN)/ruff check .

check-types: install
	$(TOOL_ENV) $(BIN)/mypy opencrf

check-imports: install
	$(BIN)/lint-imports

check-migrations: install
	@mkdir -p $(TOOL_DATA)
	$(TOOL_ENV) $(BIN)/opencrf manage makemigrations --check --dry-run

# The floor is [tool.coverage.report] fail_under in pyproject.toml.
# The README's test command, with the coverage floor of pyproject.toml.
check-tests:
	$(MAKE) --no-print-directory test PYTEST_ARGS="--cov=opencrf --cov-report=term $(PYTEST_ARGS)"

# --- Translations. ---

MESSAGE_IGNORES := --ignore=.venv --ignore=var --ignore=build --ignore=dist --ignore=tests \
	--ignore=bench --ignore=node_modules --ignore=conftest.py

messages: install gettext
	@mkdir -p $(TOOL_DATA)
	$(TOOL_ENV) $(BIN)/opencrf manage makemessages -l ja -l en --add-location=file --no-obsolete \
		$(MESSAGE_IGNORES)
	@# English is the source language: each message is its own translation, never a guess.
	msgattrib --add-location=file --clear-fuzzy --empty --clear-previous \
		-o opencrf/locale/en/LC_MESSAGES/django.po opencrf/locale/en/LC_MESSAGES/django.po
	msgen --add-location=file -o opencrf/locale/en/LC_MESSAGES/django.po \
		opencrf/locale/en/LC_MESSAGES/django.po
	@echo "Translate every empty or fuzzy entry of opencrf/locale/ja/LC_MESSAGES/django.po, then"
	@echo "run 'make messages' again to compile; pytest opencrf/core/tests/test_catalogues.py checks."
	$(TOOL_ENV) $(BIN)/opencrf manage compilemessages $(MESSAGE_IGNORES)

# --- Benchmarks: print figures; results are recorded by hand in bench/RESULTS.md. ---

bench: install
	@shopt -s nullglob; files=(bench/bench_*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "No benchmarks in bench/"; exit 0; fi; \
	for file in "$${files[@]}"; do \
		echo "=== $$file"; \
		$(BIN)/python "$$file"; \
	done

# --- Cleaning. `clean` keeps ./var (the local database and uploads); `clean-data` removes it. ---

clean:
	rm -rf $(VENV) build dist *.egg-info .coverage .coverage.* coverage.xml htmlcov \
		.pytest_cache .mypy_cache .ruff_cache .import_linter_cache bench/out
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

clean-data:
	rm -rf var
