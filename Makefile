# eventlog: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv run test lint typecheck check bench dist clean

EXTRA_STAMP := $(VENV)/.extra-pip

.PHONY: FORCE
FORCE:

# EXTRA_PIP (CI's `EXTRA_PIP='Django>=5.2,<5.3'`) is part of what the venv must
# hold: this file records the last one given and changes when it does, so an
# existing venv is reinstalled with the new one instead of tested as it was.
$(EXTRA_STAMP): FORCE
	@mkdir -p $(VENV)
	@printf '%s\n' "$(EXTRA_PIP)" | cmp -s - $@ || printf '%s\n' "$(EXTRA_PIP)" > $@

$(STAMP): setup.cfg pyproject.toml $(EXTRA_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,demo,speed,postgres]' $(EXTRA_PIP)
	touch $(STAMP)

venv: $(STAMP)

$(BENCH_STAMP): $(STAMP) setup.cfg
	$(BIN)/python -m pip install --quiet -e '.[dev,demo,speed,postgres,bench]' $(EXTRA_PIP)
	touch $(BENCH_STAMP)

# The benchmark suite (bench/): under 10 minutes on 2 cores; writes
# bench/results.json and the README's Performance table. wrk comes from
# Debian when missing and installable, else a Python load generator is used.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		{ apt-get install -y -qq wrk >/dev/null 2>&1 || \
		  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }; }; } || \
		echo "wrk not installable: the HTTP comparison uses bench/loadgen.py"
	$(BIN)/python -m bench --readme $(BENCH_ARGS)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy eventlog speedy config bench

check: test lint typecheck

# Wheel and sdist into dist/, built by `build` in a venv thrown away afterwards
# (the project's .venv must not be what makes the build work), then checked
# by twine as the index would render them.
dist:
	rm -rf dist
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		$(PYTHON) -m venv "$$tmp/venv"; \
		"$$tmp/venv/bin/python" -m pip install --quiet build twine; \
		"$$tmp/venv/bin/python" -m build --outdir dist . >"$$tmp/build.log" 2>&1 || \
			{ cat "$$tmp/build.log"; exit 1; }; \
		"$$tmp/venv/bin/python" -m twine check --strict dist/*
	rm -rf build *.egg-info

clean:
	rm -rf $(VENV) build dist *.egg-info
