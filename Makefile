# durable-agent: every target installs what it needs first (uv sync), so each
# works from a fresh clone on a machine with only Python 3.11+, pip and make.
#
#   make run     the whole stack locally (Temporal dev server, Redis, workers, gateway)
#   make demo    a travel conversation against the running stack
#   make chat    talk to the agent in the terminal (durable-agent chat)
#   make test    the test suite
#   make test-fast  only the tests that need no server (pytest -m fast), in seconds
#
# Pass options through ARGS, e.g.  make run ARGS="--headless"   make demo ARGS="--url http://127.0.0.1:8001"
# and pytest options through PYTEST_ARGS, e.g.  make test PYTEST_ARGS="-x tests/stack"

.DEFAULT_GOAL := help
SHELL := /bin/sh

PYTHON ?= $(shell command -v python3 2>/dev/null || command -v python 2>/dev/null || echo python3)
# uv itself when on PATH, else scripts/uvw.py, which installs it with pip when missing
UV ?= $(shell command -v uv 2>/dev/null || echo "$(PYTHON) scripts/uvw.py")
# after `setup` has synced the environment, the other targets must not sync again
RUN := $(UV) run --no-sync

ARGS ?=
PYTEST_ARGS ?=

.PHONY: help setup run demo chat test test-fast lint format check-deploy

help:
	@echo "make setup         install everything (uv sync)"
	@echo "make run           run the whole stack locally; Ctrl-C stops it"
	@echo "make demo          drive a travel conversation through the running stack"
	@echo "make chat          talk to the agent in the terminal (ARGS=\"--goal hr_time_off\")"
	@echo "make test          run the tests"
	@echo "make test-fast     run the tests that need no server, in seconds"
	@echo "make lint          ruff check + ruff format --check"
	@echo "make format        ruff format + ruff check --fix"
	@echo "make check-deploy  the deployment checks (compose, Helm, Dockerfile)"

setup:
	$(UV) sync

run: setup
	$(RUN) python -m durable_agent.stack $(ARGS)

demo: setup
	$(RUN) python -m durable_agent.demo $(ARGS)

# the console script runs through uv, which may not be on PATH (scripts/uvw.py installs it)
chat: setup
	$(RUN) durable-agent chat $(ARGS)

test: setup
	$(RUN) pytest $(PYTEST_ARGS)

# -p no:cacheprovider: a quick check writes nothing into the tree
test-fast: setup
	$(RUN) pytest -m fast -q -p no:cacheprovider $(PYTEST_ARGS)

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: setup
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

check-deploy: setup
	$(RUN) pytest tests/deploy -q $(PYTEST_ARGS)
