# gradgroup: every target installs what it needs first (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PRESET ?= quick
# CPU machines get the CPU build of torch (a few hundred MB instead of several GB of CUDA wheels).
# TORCH_INDEX may name a wheel index holding CPU builds, e.g. TORCH_INDEX=--extra-index-url=<url>.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)

.PHONY: help install demo test test-slow table3 table4 table5 ablation reproduce bench-gradual clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo "  PRESET=smoke|quick|paper selects the scale of sweep targets (default quick)"

install: $(STAMP) ## create .venv with gradgroup and its dev extras (CPU torch on CPU machines)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
ifneq ($(HAS_GPU),1)
	$(PY) -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
endif
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: install ## train ERFNet and DG4* at the quick preset on the generated city, print their table
	$(VENV)/bin/gradgroup-train --config-dir sweeps --config-name demo preset=$(PRESET) \
	  hydra.sweep.dir=multirun/demo/$$(date +%Y-%m-%d_%H-%M-%S) && \
	  $(VENV)/bin/gradgroup-table $$(ls -d multirun/demo/*/ | tail -n 1) --no-latency

test: install ## the test suite (under 15 minutes on 2 cores)
	$(PY) -m pytest -q

test-slow: install ## the long end-to-end tests
	$(PY) -m pytest -q -m slow

clean: ## remove generated outputs (keeps .venv and the data cache)
	rm -rf outputs multirun lightning_logs
