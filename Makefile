# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $(STAMP)

# torch is pinned to the CPU build first, so the diffusers extra's range does not pull a CUDA build.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,remote,diffusers]'
	touch $(VENV)/.installed-test $(STAMP)

install: $(STAMP)

install-test: $(VENV)/.installed-test
	cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error

serve: $(STAMP)
	$(BIN)/stamen serve

test: install-test
	$(BIN)/python -m pytest -q

lint: install-test
	$(BIN)/ruff check src tests bench

# MoviePy (comparison only) pins pillow<12; install it without its pins so the project's Pillow stays.
bench: install-test
	$(BIN)/pip install -q -e '.[bench]' decorator proglog python-dotenv imageio
	$(BIN)/pip install -q --no-deps 'moviepy>=2'
	$(BIN)/python bench/api.py
	$(BIN)/python bench/actions.py

clean:
	rm -rf $(VENV) .stamen
