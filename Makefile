# Two commands: `make build` runs the main job, `make test` runs the tests.
# Both set up the Python environment first, from pinned versions, only when
# requirements/lock.txt or pyproject.toml changed since the last install.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Where the local Spark keeps raw Parquet, warehouse tables and its metastore.
export RETAIL_LAKE_DIR ?= $(CURDIR)/.lake
# The dataset: a path you give wins; next to this repository, the shared copy
# is used; with neither, the loader downloads the UCI original into a cache.
ONLINE_RETAIL_PATH ?= $(wildcard $(CURDIR)/../shared/data/online_retail/online_retail.csv.gz)
export ONLINE_RETAIL_PATH

.PHONY: help build test bench lint setup clean thrift-start thrift-stop thrift-status

help:
	@echo "make build   set up, load the data and dbt build on the local Spark"
	@echo "make test    set up and run the whole test suite (pytest)"
	@echo "make bench   the main job, printing where its time goes"
	@echo "make lint    ruff on python/"
	@echo "make clean   remove the local lake and dbt's target/ (keeps .venv)"
	@echo "make thrift-start / thrift-stop / thrift-status"
	@echo "             the local Spark Thrift server (dbt --target thrift),"
	@echo "             see docs/thrift.md"

setup: $(STAMP)

$(STAMP): requirements/lock.txt pyproject.toml
	@bash scripts/ensure-java.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements/lock.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $@

build: $(STAMP)
	$(BIN)/retail-rfm run

test: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/retail-rfm run --timings

lint: $(STAMP)
	$(BIN)/ruff check python
	$(BIN)/ruff format --check python

# The local Spark Thrift server on $(RETAIL_LAKE_DIR); ports from
# RETAIL_THRIFT_PORT (10000) and RETAIL_CONNECT_PORT (15002).
thrift-start: $(STAMP)
	$(BIN)/retail-rfm thrift start

thrift-stop: $(STAMP)
	$(BIN)/retail-rfm thrift stop

# Says whether it runs; not running is an answer, not a failure of make.
thrift-status: $(STAMP)
	@$(BIN)/retail-rfm thrift status || true

clean:
	@test ! -x $(BIN)/retail-rfm || $(BIN)/retail-rfm thrift stop
	rm -rf .lake target logs
