# ppo-bench: every command sets up .venv first (Python 3.11+, CPU torch), then runs.
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
RUNS    ?= outputs/sweeps/*
OUT     ?= outputs/report

.PHONY: setup demo test benchmark benchmark-population random-baseline table1 table1-quick table1-quick-report figure2 report
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0   # the CPU build; an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup            ## four objectives on InvertedPendulum (~2 min), then a comparison
	$(PY) -m experiments.demo

test: setup            ## the whole test suite
	$(PY) -m pytest -q

benchmark: setup       ## env steps/s of ppo-bench against Stable-Baselines3 on HalfCheetah-v5
	$(PY) -m experiments.benchmark_sps

random-baseline: setup ## uniform-random returns of the seven tasks -> results/baselines/random/
	$(PY) -m experiments.random_baseline

report: setup          ## Table 1, figures and report from run folders: make report RUNS='outputs/sweeps/*' OUT=...
	$(PY) -m analysis.report $(RUNS) --out $(OUT)

figure2: setup         ## Figure 2 from a real Hopper-v5 first update -> results/figure2/
	$(PY) -m experiments.figure2

benchmark-population: setup  ## fused K = 33 population vs SB3, one run, and the physics ceiling (HalfCheetah-v5)
	$(PY) -m experiments.benchmark_population

table1: setup          ## full Table 1: 7 tasks × 11 settings × 3 seeds × 1M steps; ARGS='hydra/launcher=slurm ...'
	$(PY) -m experiments.table1 $(ARGS)

table1-quick: setup    ## reduced Table 1 (7 tasks × 6 settings × 2 seeds × 90k steps, ~30 min) -> results/table1_quick/
	$(PY) -m experiments.table1_quick $(ARGS)

table1-quick-report: setup  ## regenerate results/table1_quick/ from its committed run records (runs.tar.xz), ~15 s
	$(PY) -m experiments.table1_quick --regenerate
