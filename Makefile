# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all

.PHONY: run test lint clean-results demo

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Resumes an interrupted run by itself: stale lock (no Snakemake running here) ->
# unlock; incomplete outputs -> made again (concord/recover.py).
run: $(STAMP)
	$(BIN)/python -m concord.recover --cores $(CORES)

test: $(STAMP)
	XDG_CACHE_HOME=$(CURDIR)/.cache $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/snakemake --lint

demo: $(STAMP)
	$(BIN)/concord simulate --out resources/demo

clean-results:
	rm -rf results logs .snakemake
