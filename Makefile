# balance_sparse — every command a user needs. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PYTHONUNBUFFERED := 1

.DEFAULT_GOAL := help
.PHONY: help install test test-slow export clean-nbs check-sync

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_.%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort | awk -F'\t' '{printf "  make %-22s %s\n", $$1, $$2}'

install: ## create .venv and install balance_sparse editable with its dev extras
	python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@echo "installed: $$($(PY) -c 'import torch, torchvision, balance_sparse as b; print("balance_sparse", b.__version__, "torch", torch.__version__, "torchvision", torchvision.__version__)')"

test: ## run the notebooks' tests (nbdev_test) and tests/ (pytest)
	$(BIN)/nbdev_test --n_workers 2 --do_print --timing
	$(BIN)/pytest -q tests

test-slow: ## the same, including cells flagged #| slow
	$(BIN)/nbdev_test --n_workers 2 --flags slow --do_print --timing
	$(BIN)/pytest -q tests

export: ## regenerate balance_sparse/ from nbs/ and strip notebook noise
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean

check-sync: ## fail if balance_sparse/ is out of sync with nbs/
	$(BIN)/nbdev_export
	git diff --exit-code -- balance_sparse
