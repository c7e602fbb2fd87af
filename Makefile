# Two commands do all set-up on a fresh machine:
#   make spec   run the living spec on an embedded lab (report: reports/living-doc/index.html)
#   make test   run the project's own tests
# Both create and use .venv; Velociraptor is built once from its Go module and cached
# in ~/.cache/raptorspec (or $RAPTORSPEC_CACHE). Extra pytest arguments: SPEC_ARGS / TEST_ARGS.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: spec test venv sysdeps velociraptor lab-up lab-down bench clean lint-features reliability spec-parallel bench-parallel bench-overhead

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

sysdeps:
	bash scripts/sysdeps.sh

velociraptor: venv
	$(PY) -m support.lab.provision

spec: sysdeps velociraptor
	$(PY) -m pytest features/ $(SPEC_ARGS)

test: sysdeps velociraptor
	$(PY) -m pytest tests/ $(TEST_ARGS)

lab-up: velociraptor
	$(PY) -m support.lab up

lab-down: venv
	$(PY) -m support.lab down

bench: velociraptor
	$(PY) -m bench.lab_boot --docker $(BENCH_ARGS)

# The features in the house style (gherkin-lint from tools/gherkin-lint, installed with npm ci on
# first use, plus aligned tables and what pytest-bdd would lose); also run by `make test`.
lint-features: venv
	$(PY) -m support.gherkin lint features

# N file-order runs and K random orders of the whole spec; each test id's outcome compared
# (bench/results/reliability.json). RELIABILITY_ARGS="--runs 5 --orders 3 -- --sut all …"
reliability: velociraptor
	$(PY) -m bench.reliability $(RELIABILITY_ARGS)

# The spec on pytest-xdist: N workers (default 2) on one shared lab, one report (README: parallel runs).
WORKERS ?= 2
spec-parallel: sysdeps velociraptor
	$(PY) -m pytest features/ -n $(WORKERS) $(SPEC_ARGS)

# Serial against -n 2 and -n 4, full spec, side by side (bench/results/parallel.json), with the
# wait and suite overhead of each run (bench/results/overhead.json).
bench-parallel: velociraptor
	$(PY) -m bench.parallel $(BENCH_ARGS)

# Wait and suite overhead of one serial run (bench/results/overhead.json).
bench-overhead: velociraptor
	$(PY) -m bench.overhead $(BENCH_ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache

# Mutation testing of reference/ with cosmic-ray (not in CI: 48 mutants took 13 min on 2 busy cores).
# MUTANTS mutants sampled with SEED over every tool, resource and prompt, each run against the
# features of the code it mutates on one kept lab; result in bench/results/mutation.json.
# `make mutation MUTANTS=10 SEED=3`; `MUTATION_ARGS=--plan` prints the sample without running it.
MUTANTS ?= 48
SEED    ?= 14
.PHONY: mutation
mutation: velociraptor
	$(PY) -m pip install -q -e '.[mutation]'
	$(PY) -m bench.mutation --mutants $(MUTANTS) --seed $(SEED) $(MUTATION_ARGS)
