# nn-course: the named jobs. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader runs `alembic` (and nbval runs `jupyter`) by name: find the venv's first.
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# One BLAS thread: the course's matrices are small, and on a busy 2-core machine
# OpenBLAS's spinning threads make notebooks many times slower.
export OPENBLAS_NUM_THREADS ?= 1
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: lab test lint system-deps release grade-demo hub hub-remove bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

## lab: JupyterLab on this repo, with widgets and the nbgrader extension
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(ALLOW_ROOT)

## system-deps: Debian's chromium (browser tests) and bubblewrap (grading sandbox)
system-deps:
	@bash scripts/install-system-deps

lint: $(STAMP)
	$(BIN)/ruff check .

## test: lint, library tests, every notebook under nbval, the nbgrader cycle, the browser
test: system-deps $(STAMP) lint
	$(BIN)/python -m pytest $(NBVAL) tests lectures solutions

## release: regenerate assignments/ps4_mlp from solutions/ps4_mlp
release: $(STAMP)
	$(BIN)/nbgrader generate_assignment ps4_mlp --force

## grade-demo: the instructor's whole cycle on the sample submissions in examples/
grade-demo: system-deps $(STAMP)
	$(BIN)/course demo

## hub: a JupyterHub for the course on this machine, with demo accounts (as root)
HUB_FOLDER ?= /srv/nn-course-hub
HUB_PORT ?= 8000
hub: system-deps $(STAMP)
	$(BIN)/python -m course_lib.hub up --repo . --folder $(HUB_FOLDER) --port $(HUB_PORT)

## hub-remove: delete the hub's demo accounts (and their homes) and $(HUB_FOLDER)
hub-remove: $(STAMP)
	$(BIN)/python -m course_lib.hub remove --folder $(HUB_FOLDER)

## bench: performance comparisons (ratios against baselines measured in the same run)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) submitted autograded feedback gradebook.db artifacts
