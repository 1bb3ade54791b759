# `make check` and `make test` create .venv from pyproject.toml when it is
# missing or older than pyproject.toml; otherwise they download nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PKGS   := spec impl model_check vdynamo

.PHONY: check test lint typecheck imports pytest bench venv clean compiled

venv: $(STAMP)

# The install goes through uv (PyPI) when it can: on a clean clone here `pip install -e
# '.[test]'` took 38 s of wall (34 CPU-s, one core), `pip install uv` then `uv pip install
# --compile-bytecode` 20 s (session 46); uv compiles the bytecode on both cores (this
# environment sets PYTHONDONTWRITEBYTECODE=1, so a package left uncompiled would be
# compiled again by every process that imports it). If uv cannot be installed or fails,
# pip installs as before.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if $(BIN)/python -m pip install --quiet uv && \
	    $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e '.[test]'; then \
	    echo "installed with uv"; \
	else \
	    echo "uv unavailable or failed: installing with pip"; \
	    $(BIN)/python -m pip install --quiet --upgrade pip && \
	    $(BIN)/python -m pip install --quiet -e '.[test]'; \
	fi
	@touch $(STAMP)

# The main job: model-check the embedded default suite.
check: $(STAMP)
	$(BIN)/vdynamo check --jobs 0

test: lint typecheck imports pytest

# The opt-in compiled spec (mypyc; needs gcc and python3-dev): built into build/compiled/,
# never into spec/; used only with VDYNAMO_COMPILED=1 or `vdynamo check --compiled`, and
# only while spec/*.py are the sources it was built from (spec/compiled.py).
compiled: $(STAMP)
	$(BIN)/vdynamo compile

lint: $(STAMP)
	$(BIN)/ruff check $(PKGS) tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict $(PKGS)

# The import contract (.importlinter): layers point down; impl uses spec's value types only.
imports: $(STAMP)
	$(BIN)/lint-imports

# --dist worksteal: a worker that runs out of tests takes queued ones from the other
# (with the default --dist load, session 13 measured one worker idle for the last 281 s:
# 888 vs 637 CPU-s queued; tests/cpu_profile.py, docs/model-checking.md).
# --durations=30: CI's log names the 30 slowest tests of every run (session 41).
# -n 3 on CI's 2 cores (session 45): the tests of real processes spend about 280 s of
# a run's summed wall waiting (timers, sockets; tests/cpu_profile.py's wall minus CPU),
# a core idle meanwhile; a third worker fills it. Clean clone of 7751f665: pytest
# 901 s with -n 2, 795 s with -n 3 (user CPU 1,550 and 1,580 s).
# compileall first (session 45): PYTHONDONTWRITEBYTECODE=1 (set here, likely on CI too)
# keeps every process from caching the bytecode it compiles, so each pytest worker,
# node (`vdynamo serve`) and CLI process compiled the project from source again:
# importing vdynamo.cli and impl.serve took 0.65 CPU-s from a clean clone, 0.36 with
# the .pyc present; collecting tests/ about 1-2 CPU-s less per worker; the compileall
# about 0.9 CPU-s once. py_compile writes the .pyc whatever that variable says, imports
# read them (and recompile a source changed since: its mtime and size are checked).
pytest: $(STAMP)
	$(BIN)/python -m compileall -q $(PKGS)
	$(BIN)/python -m pytest -n 3 --dist worksteal --durations=30

bench: $(STAMP)
	$(BIN)/python bench/model_check.py
	$(BIN)/python bench/sim.py

# A real 3-node cluster against a 3-member etcd, driven by wrk (about 3 minutes;
# installs wrk and etcd from Debian as root, else names the apt-get line).
# ARGS='--profile' measures where vdynamo's time goes instead; see docs/benchmarks.md.
.PHONY: bench-cluster
bench-cluster: $(STAMP)
	$(BIN)/python bench/cluster.py $(ARGS)

# Mutation score (issue 12; not in CI, hours for the whole core): mutmut 3 over the files
# of [tool.mutmut] in pyproject.toml, then a table per file and the survivors.
.PHONY: mutation
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run $(MUTATE) || true
	$(BIN)/python -m tests.refinement.mutation_table

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
