# ppo-bench: every command sets up .venv first (Python 3.11+, CPU torch), then runs.
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
RUNS    ?= outputs/demo/*
OUT     ?= outputs/report
SEEDS   ?= 1,2,3

.PHONY: setup demo test lint benchmark benchmark-population random-baseline table1-chunk table1-next table1-report table1-quick table1-quick-report noclip-ablation noclip-ablation-report value-clip value-clip-report figure2 figure3-chunk figure3-next figure3-report report
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

lint: setup            ## ruff (config in pyproject.toml)
	$(VENV)/bin/ruff check .

benchmark: setup       ## env steps/s of ppo-bench against Stable-Baselines3 on HalfCheetah-v5
	$(PY) -m experiments.benchmark_sps

random-baseline: setup ## uniform-random returns of the seven tasks -> results/baselines/random/
	$(PY) -m experiments.random_baseline

report: setup          ## Table 1, figures and report from run folders: make report RUNS='outputs/sweeps/*' OUT=... (default: every demo)
	$(PY) -m analysis.report $(RUNS) --out $(OUT)

figure2: setup         ## Figure 2 from a real Hopper-v5 first update -> results/figure2/
	$(PY) -m experiments.figure2

benchmark-population: setup  ## fused K = 33 population vs SB3, one run, and the physics ceiling (HalfCheetah-v5)
	$(PY) -m experiments.benchmark_population

table1-chunk: setup    ## one chunk of the full Table 1: make table1-chunk TASK=hopper [SEEDS=1,2,3] -> results/table1/records/
	$(PY) -m experiments.table1 --chunk $(TASK) --seeds $(SEEDS) $(ARGS)

table1-next: setup     ## the first Table 1 chunk not yet committed
	$(PY) -m experiments.table1 --next $(ARGS)

table1-report: setup   ## the full Table 1's report from the committed chunks -> results/table1/
	$(PY) -m experiments.table1 --report

noclip-ablation: setup ## no clipping vs clip 0.2 on HalfCheetah under each 2017 detail (54 runs, ~2 h) -> results/noclip_ablation/
	$(PY) -m experiments.noclip_ablation $(ARGS)

noclip-ablation-report: setup  ## the ablation's table and figure again from its committed records
	$(PY) -m experiments.noclip_ablation --regenerate

value-clip: setup      ## the value clip's share in Table 1: Hopper swap (6 runs) and clip 0.2 unclipped on 6 more tasks (18 runs)
	$(PY) -m experiments.hopper_value_clip --run
	$(PY) -m experiments.value_clip_row --run

value-clip-report: setup  ## both value-clip tables again from their committed records -> results/hopper_value_clip/, results/value_clip_row/
	$(PY) -m experiments.hopper_value_clip
	$(PY) -m experiments.value_clip_row

figure3-chunk: setup   ## one chunk of Figure 3's baselines: make figure3-chunk TASK=hopper [SEEDS=1,2,3] -> results/figure3/records/
	$(PY) -m experiments.figure3 --chunk $(TASK) --seeds $(SEEDS) $(ARGS)

figure3-next: setup    ## the first Figure 3 chunk not yet committed
	$(PY) -m experiments.figure3 --next $(ARGS)

figure3-report: setup  ## Figure 3 and its final-returns table from the committed chunks (PPO from Table 1's) -> results/figure3/
	$(PY) -m experiments.figure3 --report

table1-quick: setup    ## reduced Table 1 (7 tasks × 6 settings × 2 seeds × 90k steps, ~30 min) -> results/table1_quick/
	$(PY) -m experiments.table1_quick $(ARGS)

table1-quick-report: setup  ## regenerate results/table1_quick/ from its committed run records (runs.tar.xz), ~15 s
	$(PY) -m experiments.table1_quick --regenerate
