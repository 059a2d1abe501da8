# balance_sparse — every command a user needs. `make help` lists them.
SHELL := /bin/bash
##@ every target
## VENV: the virtual environment make install creates and every target uses
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PYTHONUNBUFFERED := 1

.DEFAULT_GOAL := help
.PHONY: help install test test-slow lint format doc-check docs docs.github hooks export check-sync demo vis bench cifar10 cifar100 eval status

# `make help` lists every target (its `## ` comment) and every variable a user can set: each `NAME ?= default` line,
# with the `## NAME: ...` line above it (what it accepts), in the order of this file, under its `##@ ` heading
help: ## list the targets, every variable they read (default, what it accepts) and what a bare make cifar10 runs
	@echo "targets:"
	@grep -hE '^[a-zA-Z0-9_.%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort | awk -F'\t' '{printf "  make %-22s %s\n", $$1, $$2}'
	@echo
	@echo "variables: make <target> NAME=value (the default after =)"
	@awk '/^##@ /{sub(/^##@ /, ""); print "  " $$0 ":"} /^## [A-Z_]+: /{n = $$2; sub(/:$$/, "", n); d = $$0; sub(/^## [A-Z_]+: /, "", d); if (n in doc) d = doc[n] "\n" sprintf("%31s", "") d; doc[n] = d} /^[A-Z_]+ \?=/{n = $$1; v = $$0; sub(/^[A-Z_]+ \?= ?/, "", v); printf "    %-26s %s\n", n "=" v, doc[n]}' $(MAKEFILE_LIST)
	@echo
	@echo "make cifar10 alone: $(words $(foreach d,$(densities),$(foreach s,$(seeds),base agc))) runs on CIFAR-10, the $(METHOD) baseline and $(METHOD) + correction, $(INIT), DENSITY=$(DENSITY), SEED=$(SEED),"
	@echo "  WRN-22-2, $(FULL_EPOCHS) epochs, RECIPE=$(RECIPE), one after the other on this machine (make -n cifar10 prints them)"

install: ## create .venv and install balance_sparse editable with its dev extras
	python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@echo "installed: $$($(PY) -c 'import torch, torchvision, balance_sparse as b; print("balance_sparse", b.__version__, "torch", torch.__version__, "torchvision", torchvision.__version__)')"

test: lint doc-check docs ## lint, nbdev's doc processing, the docs site, the notebooks' tests (nbdev_test) and tests/ (pytest)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/nbdev_test --n_workers 2 --do_print --timing
	$(BIN)/pytest -q tests -n auto --dist loadfile --durations=15

lint: ## ruff over nbs/, tests/, benchmarks/ and docs/conf.py (style and lint; balance_sparse/ is generated from nbs/)
	$(BIN)/ruff check nbs tests benchmarks docs/conf.py
	$(BIN)/ruff format --check nbs tests benchmarks docs/conf.py

format: ## let ruff format nbs/, tests/ and benchmarks/, then regenerate balance_sparse/
	$(BIN)/ruff format nbs tests benchmarks docs/conf.py
	$(BIN)/ruff check --fix nbs tests benchmarks docs/conf.py
	$(BIN)/nbdev_export

doc-check: ## nbdev's documentation processing (export cells, show_doc) over every notebook, as nbdev_docs runs it; no Quarto needed
	$(PY) -c "from nbdev.serve import proc_nbs; proc_nbs(n_workers=2, force=True)"

# make docs: the HTML site, Sphinx + MyST-NB + furo (pip only; nbdev_docs needs Quarto): README.md as the home page,
# every notebook of nbs/ a page, the API reference, docs/*.md and BENCHMARKS.md (docs/conf.py says how). Warnings are
# errors and -n checks every internal reference: a broken link, cross-reference or doc link fails the build. External
# links are not checked (Sphinx's linkcheck needs the internet). DOCS_EXECUTE=1 executes the notebooks through
# MyST-NB's cache (jupyter-cache in docs/_build/.jupyter_cache; ~7 min on 2 cores the first time, then the changed);
# the papermill drivers (train, tune, figures) are never executed. DOCS_EXECUTE takes true/false, yes/no, on/off, 1/0.
## DOCS_EXECUTE: make docs: 1/0 (true/false, yes/no, on/off): execute the notebooks (cached); 0: as stored
DOCS_EXECUTE ?= 0
docs_exec = $(if $(filter True,$(call bool_of,DOCS_EXECUTE,$(DOCS_EXECUTE))), -D nb_execution_mode=cache)
docs: ## the docs site into docs/_build/html (README, notebooks, API); DOCS_EXECUTE=1 runs the notebooks (cached)
	@echo "DOCS_EXECUTE=$(DOCS_EXECUTE): notebooks $(if $(docs_exec),executed (cached),shown as stored, not executed)"
	$(BIN)/sphinx-build -W --keep-going -n -b html docs docs/_build/html -d docs/_build/doctrees$(docs_exec)
	@echo "docs: docs/_build/html/index.html"

# the reference code's README: "See docs/index.html ... Run make docs.github to refresh". Here docs/ holds the site's
# sources, so docs/index.html is a page that opens the site make docs built (docs/_build/html/index.html)
docs.github: docs ## make docs, then docs/index.html (the reference code's place for the site) opens the site
	@printf '%s\n' '<!DOCTYPE html>' '<meta charset="utf-8">' '<title>balance_sparse docs</title>' \
	  '<meta http-equiv="refresh" content="0; url=_build/html/index.html">' \
	  '<p>The docs site (make docs.github): <a href="_build/html/index.html">_build/html/index.html</a></p>' > docs/index.html
	@echo "docs: docs/index.html (opens docs/_build/html/index.html)"

hooks: ## install the pre-commit hooks (ruff, nbdev_clean, the export check) into this clone
	$(BIN)/pre-commit install

test-slow: ## the same, including cells flagged #| slow and tests marked slow (torch.compile on the CPU, the GPU-slot sweep's real runs)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/nbdev_test --n_workers 2 --flags slow --do_print --timing
	RUN_SLOW=1 $(BIN)/pytest -q tests -n auto --dist loadfile

export: ## regenerate balance_sparse/ from nbs/ and strip notebook noise
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean

check-sync: ## fail if balance_sparse/ is out of sync with nbs/ (nbdev_export would change it)
	@before=$$(find balance_sparse -name '*.py' -exec sha1sum {} + | sort); $(BIN)/nbdev_export; \
	after=$$(find balance_sparse -name '*.py' -exec sha1sum {} + | sort); \
	if [ "$$before" != "$$after" ]; then echo "balance_sparse/ was out of sync with nbs/: nbdev_export rewrote it (review and commit both)"; exit 1; fi; \
	echo "balance_sparse/ is in sync with nbs/"

# ---- training runs (papermill executes nbs/train.ipynb once per run) ----------------------------------------
# make cifar10.ERK.RigL DENSITY=0.2 SEED=0     one run: WRN-22-2, RigL, ERK, with the gradient correction
# make cifar10.ERK.RigL CORRECTION=0           the same without it (the RigL baseline); also false/no/off; CORRECTION=both
# INIT: ERK | ER | Random (uniform layer densities);  METHOD: RigL | SET | SNFS | Static | Dense
# make cifar10.2x.ERK.RigL / cifar10.3x.Random.SET   2× / 3× training (epochs, lr decay steps, end of mask updates)
# make cifar10.Static.ERK                            the reference's name for a static ERK mask
# make cifar10.Pruning / cifar10.Lottery / cifar10.Small-Dense   gradual magnitude pruning; its lottery ticket (needs the
#                                                    Pruning run of the same DENSITY, SEED and CORRECTION); a narrow dense WRN
# make cifar10 DENSITY=0.05,0.1,0.2,0.5 SEED=0,1,2   the paper sweep: baseline and corrected RigL-ERK for every density × seed
# make cifar10 MATRIX=full ...                       the reference's whole list (MATRIX_TARGETS), baseline and corrected
# make cifar100 ...                                  the same on CIFAR-100 with the CIFAR ResNet-50
# RECIPE=authors (default: replay the authors' code) | clean (our choices; folders get a -clean suffix)
# EPOCHS=n overrides the paper's 250 (the runs' folders get -e{n}); DATA_DIR (default data) is where CIFAR lives;
# DEVICE=cpu|cuda|cuda:N; WANDB=1 logs to W&B (key: wandb_api.key or WANDB_API_KEY, or WANDB_MODE=offline);
# `make -n ...` prints the commands; `make help` lists every variable with its default and what it accepts.
# Any of these sweeps (and demo) runs its runs at once with GPUS=0,1,... or SLURM=1, or lists their state with STATUS=1
# (make status SWEEP=...): see "many runs at once" below.
##@ one run, or a sweep of runs (cifar10, cifar100, cifar10.*, cifar100.*, demo; the tuning targets too)
## DENSITY: density of the masked weights, in (0, 1]; a comma list for a sweep (0.05,0.1,0.2,0.5)
DENSITY ?= 0.2
## SEED: a whole number >= 0; a comma list for a sweep (0,1,2)
SEED ?= 0
## RECIPE: authors (replay the authors' code) or clean (our choices; folders get -clean)
RECIPE ?= authors
## CORRECTION: 1/0, true/false, yes/no, on/off (any case) or both; make cifar10, cifar100 and demo run both
CORRECTION ?= 1
## METHOD: RigL, SET, SNFS, Static, Dense, Pruning, Lottery or Small-Dense (cifar10.ERK.SET: the target's wins)
METHOD ?= RigL
## MATRIX: full (make cifar10/cifar100: the reference's 18 targets, MATRIX_TARGETS) or empty (the paper sweep)
MATRIX ?=
# the reference's CIFAR-10 list (make cifar10 in the RigL reproducibility code), in its order; Pruning before Lottery
MATRIX_TARGETS := ERK.RigL ERK.SNFS ERK.SET Random.RigL Random.SNFS Random.SET 2x.ERK.RigL 2x.ERK.SNFS 2x.ERK.SET \
                  2x.Random.RigL 2x.Random.SNFS 2x.Random.SET 3x.Random.RigL Pruning Lottery Small-Dense Static.ERK Static.Random
## INIT: ERK, ER or Random (uniform layer densities)
INIT ?= ERK
## EPOCHS: a whole number >= 1; empty: 250 (demo: 10); another number: the runs' folders get -e{n}
EPOCHS ?=
## DATA_DIR: the folder CIFAR is in (downloaded there when missing and the network allows); make eval too
DATA_DIR ?= data
# the correction's cost (docs/settings.md, "The correction's cost"): CORRECTION_MODE=faithful (default) | same_batches | replay;
# STATS_FRACTION=0.25 computes ū and τ from a quarter of the batches (approximate). Corrected runs only; folders get
# -replay / -same_batches / -sf0.25 after "agc"
## CORRECTION_MODE: faithful, same_batches or replay; empty: faithful (corrected runs only)
CORRECTION_MODE ?=
## STATS_FRACTION: a number in (0, 1]; empty: 1 (the statistics pass's share of batches; corrected runs only)
STATS_FRACTION ?=
## DEVICE: cpu, cuda or cuda:N (one this machine has; SLURM=1: the jobs'); empty: CUDA if available; make eval too
DEVICE ?=
## WANDB: 1/0, true/false, yes/no, on/off: also log each run to Weights & Biases; the API key from the file
## WANDB: wandb_api.key here or WANDB_API_KEY (handed to the runs in their environment only), or WANDB_MODE=offline
WANDB ?= 0
## USE_WANDB: the reference code's name for WANDB (its README: USE_WANDB=False); empty: WANDB's value
USE_WANDB ?=
INIT_GIVEN := $(INIT)
comma := ,
lower = $(shell echo '$1' | tr A-Z a-z)
densities = $(subst $(comma), ,$(DENSITY))
seeds = $(subst $(comma), ,$(SEED))
# CORRECTION: true/false, yes/no, on/off, 1/0 in any case, or both; anything else stops make with one line
bool_of = $(if $(filter true yes on 1,$(call lower,$2)),True,$(if $(filter false no off 0,$(call lower,$2)),False,$(error $1 must be true/false, yes/no, on/off or 1/0 (any case), got '$2')))
corrections = $(if $(filter both,$(call lower,$(CORRECTION))),False True,$(call bool_of,CORRECTION,$(CORRECTION)))
model_for = $(if $(filter cifar100,$1),resnet50,$(if $(filter digits,$1),wrn-10-1,wrn-22-2))
method_of = $(or $(filter rigl set snfs static dense pruning lottery,$(call lower,$1)),$(if $(filter small-dense small_dense,$(call lower,$1)),small_dense),$(error METHOD must be RigL, SET, SNFS, Static, Dense, Pruning, Lottery or Small-Dense, got '$1'))
init_of = $(or $(if $(filter random uniform,$(call lower,$1)),uniform),$(filter erk er,$(call lower,$1)),$(error INIT must be ERK, ER or Random, got '$1'))
recipe = $(or $(filter authors clean,$(call lower,$(RECIPE))),$(error RECIPE must be authors or clean, got '$(RECIPE)'))
correction_mode = $(if $(CORRECTION_MODE),$(or $(filter faithful same_batches replay,$(call lower,$(CORRECTION_MODE))),$(error CORRECTION_MODE must be faithful, same_batches or replay, got '$(CORRECTION_MODE)')))
mode_suffix = $(if $(filter-out faithful,$(correction_mode)),-$(correction_mode))$(if $(filter-out 1 1.0,$(STATS_FRACTION)),-sf$(STATS_FRACTION))
mode_args = $(if $(CORRECTION_MODE), -p correction_mode $(correction_mode))$(if $(STATS_FRACTION), -p stats_fraction $(STATS_FRACTION))
MULT := 1
# the epochs a run trains without EPOCHS: RunSettings().epochs, and the demo preset's (balance_sparse.driver.PRESETS);
# a run of any other EPOCHS gets -e$(EPOCHS) in its folder's name, as nbs/train.ipynb names it without run_dir (so a
# short try never lands in the full run's folder; tests/test_makefile.py checks both namings agree)
FULL_EPOCHS := 250
DEMO_EPOCHS := 10
epochs_tag = $(if $(and $(EPOCHS),$(filter-out $(if $(filter digits,$1),$(DEMO_EPOCHS),$(FULL_EPOCHS)),$(EPOCHS))),-e$(EPOCHS))
run_dir = runs/$1/$(if $(filter-out 1,$(MULT)),$(MULT)x-)$2-$3-$(if $(filter True,$4),agc$(mode_suffix),base)$(if $(filter clean,$(recipe)),-clean)$(call epochs_tag,$1)/density$5/seed$6
# a run target's stem: [2x.|3x.]INIT.METHOD, Static.INIT, or one method name (Pruning, Lottery, Small-Dense; INIT as given)
define parse_stem
$(eval _w := $(subst ., ,$1))
$(eval MULT := $(if $(filter %x,$(firstword $(_w))),$(patsubst %x,%,$(firstword $(_w))),1))
$(eval _w := $(if $(filter %x,$(firstword $(_w))),$(wordlist 2,9,$(_w)),$(_w)))
$(if $(filter 1,$(words $(_w))),$(eval override METHOD := $(_w))$(eval override INIT := $(INIT_GIVEN)),$(eval override INIT := $(if $(filter static,$(call lower,$(word 1,$(_w)))),$(word 2,$(_w)),$(word 1,$(_w))))$(eval override METHOD := $(if $(filter static,$(call lower,$(word 1,$(_w)))),Static,$(word 2,$(_w)))))
$(if $(filter 1 2 3,$(MULT)),,$(error the training-length multiplier must be 2x or 3x, got '$(MULT)x'))
endef
mult_arg = $(if $(filter-out 1,$(MULT)),-p multiplier $(MULT))
# a lottery ticket takes its mask from the Pruning run with the same settings (its folder, as this Makefile names it)
lottery_arg = $(if $(filter lottery,$2),-p mask_from $(call run_dir,$1,pruning,$3,$4,$5,$6))
# every value of a sweep is checked before its first run starts (balance_sparse.driver.check_cli: the settings as
# balance_sparse.settings.check_cli checks them, and DEVICE: one this machine has, unless the runs are Slurm jobs)
device_check = $(if $(DEVICE), DEVICE=$(call shquote,$(DEVICE))$(if $(or $(filter slurm,$(call slurm_of,$(SLURM))),$(filter status,$(sweep_mode))), --elsewhere))
# $(call check_now,command): the check runs while make expands the recipe, before any of its lines runs; its error
# lines but the last go to stderr, and the last becomes make's own error: the last line the user sees (a failing
# recipe line would be followed by make's "Error 1"). make -n prints the check as the recipe's first line instead.
dry_run = $(findstring n,$(filter-out --%,$(firstword $(MAKEFLAGS))))
check_failed = $(if $(filter-out 0,$(.SHELLSTATUS)),$(error $(or $1,the check of the values failed: $2)))
check_now = $(if $(dry_run),$(quiet)$1,$(call check_failed,$(shell set -o pipefail; { $1; } 2>&1 >/dev/null | awk 'NR > 1 {print p > "/dev/stderr"} {p = $$0} END {if (NR) print p}'),$1))
check_values = $(PY) -c 'import balance_sparse.driver as d; d.main()' density=$(DENSITY) seed=$(SEED)$(if $(EPOCHS), epochs=$(EPOCHS))$(if $(STATS_FRACTION), stats_fraction=$(STATS_FRACTION))$(device_check)
# WANDB: parsed here (a bad value stops make); its API key goes to the runs through their environment, never a command
# line (papermill and W&B record those; make -n and make's echo print them): the file wandb_api.key in this folder,
# unless WANDB_API_KEY is set already
# USE_WANDB, the reference code's spelling (`USE_WANDB=False` on its make commands), is WANDB: given alone, its value
# is WANDB's; given with a WANDB of another value (true/false however spelled), make stops with one line naming both
wandb_name := $(if $(strip $(USE_WANDB)),USE_WANDB,WANDB)
wandb_value := $(if $(strip $(USE_WANDB)),$(USE_WANDB),$(WANDB))
$(if $(and $(strip $(USE_WANDB)),$(filter-out file undefined,$(origin WANDB))),$(if $(filter-out $(call bool_of,USE_WANDB,$(USE_WANDB)),$(call bool_of,WANDB,$(WANDB))),$(error WANDB=$(WANDB) and USE_WANDB=$(USE_WANDB) disagree: USE_WANDB is the reference code's name for WANDB, give one of them)))
wandb_on := $(filter True,$(call bool_of,$(wandb_name),$(wandb_value)))
WANDB_KEY_FILE := wandb_api.key
ifneq ($(wandb_on),)
ifeq ($(strip $(WANDB_API_KEY)),)
ifneq ($(wildcard $(WANDB_KEY_FILE)),)
export WANDB_API_KEY := $(shell tr -d ' \t\r\n' < $(WANDB_KEY_FILE))
endif
endif
endif
wandb_key_elsewhere = $(filter offline disabled dryrun,$(call lower,$(WANDB_MODE)))$(shell grep -qs api.wandb.ai $(or $(NETRC),$(HOME)/.netrc) && echo netrc)
# stop before the first run: WANDB=1 without a key (nor WANDB_MODE=offline); a DEVICE that GPUS=... cannot give
run_checks = $(if $(filter status,$(sweep_mode)),,$(if $(wandb_on),$(if $(or $(strip $(WANDB_API_KEY)),$(wandb_key_elsewhere)),,$(error $(wandb_name)=$(wandb_value) needs a W&B API key: put it in the file $(WANDB_KEY_FILE) here (or in WANDB_API_KEY$(comma) or run wandb login)$(comma) or log to disk with WANDB_MODE=offline)))$(if $(and $(strip $(GPUS)),$(filter-out cuda cuda:0,$(DEVICE))),$(error DEVICE must be cuda$(comma) cuda:0 or empty with GPUS (each run sees its one GPU as cuda:0)$(comma) got '$(DEVICE)')))
run_opts = $(if $(wandb_on), -p wandb True)$(if $(DEVICE), -p device $(DEVICE))
# $(call train,dataset,method,init,correction,density,seed[,extra papermill args]); a complete run is skipped, never
# re-executed (its executed notebook and logs stay as they are)
train_cmd = $(BIN)/papermill --cwd . nbs/train.ipynb $(call run_dir,$1,$2,$3,$4,$5,$6)/train.ipynb -p dataset $1 -p model $(call model_for,$1) -p recipe $(recipe) -p method $2 -p init $3 -p correction $4 -p density $5 -p seed $6 -p data_dir $(DATA_DIR) -p run_dir $(call run_dir,$1,$2,$3,$4,$5,$6)$(if $(EPOCHS), -p epochs $(EPOCHS))$(run_opts)$(if $(filter True,$4),$(mode_args))$(if $7, $7)$(if $(call lottery_arg,$1,$2,$3,$4,$5,$6), $(call lottery_arg,$1,$2,$3,$4,$5,$6))
define train
	@if grep -qs '"status": "complete"' $(call run_dir,$1,$2,$3,$4,$5,$6)/final.json; then \
	  echo "skip $(call run_dir,$1,$2,$3,$4,$5,$6): complete (delete the folder to train it again)"; \
	else mkdir -p $(call run_dir,$1,$2,$3,$4,$5,$6) && echo "$(call train_cmd,$1,$2,$3,$4,$5,$6,$7)" && $(call train_cmd,$1,$2,$3,$4,$5,$6,$7); fi

endef
define newline


endef
sweep = $(run_checks)$(call check_now,$(check_values))$(newline)$(if $(sweep_top),$(sweep_start))$(foreach d,$(densities),$(foreach s,$(seeds),$(foreach c,$3,$(call $(if $(sweep_mode),queue,train),$1,$(call method_of,$(METHOD)),$(call init_of,$(INIT)),$c,$d,$s,$2))))$(if $(sweep_top),$(sweep_end))

# ---- many runs at once ----------------------------------------------------------------------------------------------
# GPUS=0,1,2,3    the sweep's runs run concurrently on this machine, one per listed GPU (CUDA_VISIBLE_DEVICES), never two
#                 on one GPU; the same runs and notebooks as the sequential sweep, complete ones skipped, each run's output
#                 in <run folder>/train.log; a Lottery run starts once its Pruning run is complete
# SLURM=1         one Slurm job per run through submitit: PARTITION=..., TIME=24:00:00 (sbatch --time), GPUS_PER_JOB=1,
#                 CPUS_PER_JOB=..., SLURM_ARGS="qos=high,mem=32G" (more sbatch options), WAIT=1 (wait for the jobs);
#                 submitting again resumes unfinished runs and skips complete, running and still-queued ones.
#                 SLURM=local: the same jobs through submitit's local executor on this machine (no cluster needed)
# STATUS=1        print the state of each of the sweep's runs instead (what make status SWEEP=... does)
# Every run's command becomes one line of a job list (runs/.sweeps/<time>-<pid>/jobs.txt, shared by MATRIX=full's
# sub-makes) that balance_sparse.sweep runs or lists (balance_sparse.slurm submits) at the end; `make -n` prints each
# run's line. balance_sparse.slurm checks the options above before any run.
##@ many runs at once (any sweep target, and demo)
## GPUS: GPU indices (0,1,2,3): the runs at once on this machine, one per GPU; empty: one after the other
GPUS ?=
## SLURM: 1/0 (true/false, yes/no, on/off) or local: one Slurm job per run (submitit; local: on this machine)
SLURM ?=
## STATUS: 1/0 (true/false, ...): list the state of each run of the sweep instead of running it
STATUS ?=
## WAIT: 1/0 (true/false, ...): with SLURM, wait for the jobs to end
WAIT ?= 0
## PARTITION: a Slurm partition; empty: the cluster's default (SLURM only)
PARTITION ?=
## GPUS_PER_JOB: a whole number >= 0 (SLURM only)
GPUS_PER_JOB ?= 1
## CPUS_PER_JOB: a whole number >= 1; empty: Slurm's default (SLURM only)
CPUS_PER_JOB ?=
## SLURM_ARGS: more sbatch options, name=value comma list, e.g. qos=high,mem=32G (SLURM only)
SLURM_ARGS ?=
## TIME: each job's Slurm time limit: minutes, H:M:S, D-H or D-H:M:S (SLURM only; from make's command line only)
TIME ?= 24:00:00
##@ other targets
## RUNS: the folder make status lists (every run below it)
RUNS ?= runs
## SWEEP: make status SWEEP=<run target>: that sweep's runs only (with the sweep's own variables)
SWEEP ?=
## RUN: make eval RUN=<run folder>: the run to evaluate (required)
RUN ?=
## CHECKPOINT: make eval: a .pt file to evaluate instead of the run's newest checkpoint
CHECKPOINT ?=
## BN_STATS: make eval: clean (recompute BatchNorm's statistics at the weights first, as bn_stats=clean runs do) or empty
BN_STATS ?=
## BENCH_ARGS: make bench: options of benchmarks/bench.py, e.g. --quick on a CPU
BENCH_ARGS ?=
# TIME is also GNU time's format variable: only a TIME given to make on its command line is the Slurm time limit
ifneq ($(origin TIME),command line)
TIME := 24:00:00
endif
flag_of = $(if $(strip $2),$(filter True,$(call bool_of,$1,$2)))
slurm_of = $(if $(filter local,$(call lower,$1)),local,$(if $(filter true yes on 1,$(call lower,$1)),slurm,$(if $(filter-out false no off 0,$(call lower,$1)),$(error SLURM must be true/false, yes/no, on/off, 1/0 (any case) or local, got '$1'))))
sweep_mode := $(if $(call flag_of,STATUS,$(STATUS)),status,$(if $(call slurm_of,$(SLURM)),slurm,$(if $(strip $(GPUS)),gpus)))
$(foreach v,PARTITION TIME GPUS_PER_JOB CPUS_PER_JOB SLURM_ARGS WAIT,$(if $(and $(filter command line,$(origin $v)),$(if $(call slurm_of,$(SLURM)),,x)),$(error $v is an option of SLURM=1 (or SLURM=local), given without it: $v=$($v))))
ifneq ($(sweep_mode),)
ifeq ($(origin SWEEP_JOBS),undefined)
# the top-level make owns the job list; MATRIX=full's sub-makes get it on their command line and only append to it
SWEEP_JOBS := runs/.sweeps/$(shell date +%Y%m%d-%H%M%S)-$(shell echo $$PPID)/jobs.txt
sweep_top := 1
endif
endif
shquote = '$(subst ','\'',$1)'
quiet = $(if $(filter status,$(sweep_mode)),@)
define sweep_start
	$(quiet)$(PY) -m balance_sparse.slurm check gpus=$(call shquote,$(GPUS)) slurm=$(call shquote,$(SLURM)) partition=$(call shquote,$(PARTITION)) time=$(call shquote,$(TIME)) gpus_per_job=$(call shquote,$(GPUS_PER_JOB)) cpus_per_job=$(call shquote,$(CPUS_PER_JOB)) slurm_args=$(call shquote,$(SLURM_ARGS)) wait=$(call shquote,$(WAIT))
	@mkdir -p $(dir $(SWEEP_JOBS)) && : > $(SWEEP_JOBS)

endef
# $(call queue,...) as $(call train,...): the run's command goes to the job list instead of running here
define queue
	@echo '$(call train_cmd,$1,$2,$3,$4,$5,$6,$7)' >> $(SWEEP_JOBS)

endef
sweep_cmd = $(if $(filter gpus,$(sweep_mode)),$(PY) -m balance_sparse.sweep run $(SWEEP_JOBS) --gpus $(call shquote,$(GPUS)),$(if $(filter slurm,$(sweep_mode)),$(PY) -m balance_sparse.slurm submit $(SWEEP_JOBS) --cluster $(call slurm_of,$(SLURM)) --time $(call shquote,$(TIME)) --gpus-per-job $(call shquote,$(GPUS_PER_JOB))$(if $(PARTITION), --partition $(call shquote,$(PARTITION)))$(if $(CPUS_PER_JOB), --cpus-per-job $(call shquote,$(CPUS_PER_JOB)))$(if $(SLURM_ARGS), --slurm-args $(call shquote,$(SLURM_ARGS))) --wait $(call shquote,$(WAIT)),$(PY) -m balance_sparse.sweep status --jobs $(SWEEP_JOBS); s=$$?; rm -rf $(dir $(SWEEP_JOBS)); exit $$s))
define sweep_end
	$(quiet)$(sweep_cmd)

endef

cifar10.%: ## one CIFAR-10 run per DENSITY × SEED: cifar10.ERK.RigL, cifar10.2x.Random.SET, cifar10.Static.ERK, ... [CORRECTION=0|1|both]
	$(call parse_stem,$*)
	$(call sweep,cifar10,$(mult_arg),$(corrections))

cifar100.%: ## the same on CIFAR-100 with the CIFAR ResNet-50
	$(call parse_stem,$*)
	$(call sweep,cifar100,$(mult_arg),$(corrections))

# MATRIX=full: every target of MATRIX_TARGETS in turn (make -n prints all their commands); CORRECTION defaults to both
matrix = $(or $(if $(MATRIX),$(filter full,$(call lower,$(MATRIX)))),$(if $(MATRIX),$(error MATRIX must be full or empty (the paper sweep), got '$(MATRIX)')))
matrix_correction = $(if $(filter file,$(origin CORRECTION)),both,$(CORRECTION))
# sub-makes read this Makefile also when it was given with -f from another folder
this_makefile = $(if $(filter-out Makefile,$(firstword $(MAKEFILE_LIST))),-f $(firstword $(MAKEFILE_LIST)) )
define run_matrix
	$(foreach t,$(MATRIX_TARGETS),$(quiet)+$(MAKE) --no-print-directory $(this_makefile)$1.$t CORRECTION=$(matrix_correction) MATRIX=$(if $(sweep_mode), SWEEP_JOBS=$(SWEEP_JOBS))$(newline))
endef
# with GPUS/SLURM/STATUS, the top-level make starts the job list before the sub-makes and hands it on after them; these
# are recipe lines of their own, apart from the sub-makes' line (which make runs even under -n)
matrix_start = $(if $(and $(matrix),$(sweep_top)),$(sweep_start))
matrix_end = $(if $(and $(matrix),$(sweep_top)),$(quiet)$(sweep_cmd))

cifar10: ## paper sweep on CIFAR-10: baseline + corrected per DENSITY × SEED (lists: DENSITY=0.05,0.1,0.2,0.5 SEED=0,1,2); MATRIX=full: the reference's whole list
	$(matrix_start)
	$(if $(matrix),$(call run_matrix,cifar10),$(call sweep,cifar10,,False True))
	$(matrix_end)

cifar100: ## paper sweep on CIFAR-100 (ResNet-50): baseline + corrected for each DENSITY × SEED; MATRIX=full: the whole list
	$(matrix_start)
	$(if $(matrix),$(call run_matrix,cifar100),$(call sweep,cifar100,,False True))
	$(matrix_end)

demo: ## offline quick demo on real digits: baseline vs corrected RigL-ERK (1 min 19 s for both on 2 idle CPU cores)
	$(call sweep,digits,-p preset demo,False True)
	$(if $(filter status slurm,$(sweep_mode)),,@echo; echo "demo notebooks:"; ls -1 runs/digits/*/density*/seed*/train.ipynb)

# SWEEP: any run target with its variables, e.g. make status SWEEP=cifar10 MATRIX=full DENSITY=0.1,0.2 SEED=0,1
sweep_target = $(if $(filter demo cifar10 cifar100 cifar10.% cifar100.%,$(word 1,$(SWEEP))),$(SWEEP),$(error SWEEP must be a run target (demo, cifar10, cifar100, cifar10.ERK.RigL, cifar100.Pruning, ...), got '$(SWEEP)'))
status: ## state of every run (complete/running/failed/stopped/not started, epochs, accuracy): all under RUNS=runs, or one sweep's: SWEEP=cifar10 DENSITY=...
	@$(if $(SWEEP),+$(MAKE) --no-print-directory $(this_makefile)$(sweep_target) STATUS=1,$(PY) -m balance_sparse.sweep status $(call shquote,$(RUNS)))

# RUN is checked while make reads the recipe, so that its one line is the last one (not followed by make's "Error 1")
eval_check = $(if $(filter-out clean,$(BN_STATS)),$(error BN_STATS must be clean or empty (the checkpoint's own BatchNorm statistics), got '$(BN_STATS)'))$(if $(strip $(RUN)),$(if $(wildcard $(RUN)/config.json),,$(error RUN must be a run folder (one with the config.json that training writes), got '$(RUN)')),$(error make eval needs RUN=<run folder>, e.g. make eval RUN=runs/digits/rigl-erk-agc/density0.2/seed0))
eval: ## test accuracy, loss, layer densities and inference FLOPs of a run's checkpoint, without training: make eval RUN=runs/... [DATA_DIR=data] [BN_STATS=clean]
	$(eval_check)
	$(PY) -c 'import balance_sparse.evaluation as e; e.main()' $(RUN) --data-dir $(DATA_DIR)$(if $(CHECKPOINT), --checkpoint $(CHECKPOINT))$(if $(BN_STATS), --bn-stats $(BN_STATS))$(if $(DEVICE), --device $(DEVICE)) --option-names make

vis: ## draw the paper's figures and results table from runs/ into runs/figures/
	mkdir -p runs/figures
	$(BIN)/papermill --cwd . nbs/figures.ipynb runs/figures/figures.ipynb -p runs_dir runs
	@echo "figures: runs/figures/"

bench: ## time epochs of dense / RigL / RigL+correction for both loaders (JSON lines); BENCH_ARGS=--quick on a CPU
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# ---- tuning (nbs/16_tune.ipynb): an lr grid of ordinary runs, and an Optuna search of (α, ΔT) ---------------------
# make cifar10_lr_grid DENSITY=0.2 SEED=0     lr ∈ LR_GRID × (α:ΔT) ∈ GRID_PAIRS × INIT ∈ GRID_INITS, baseline and corrected
#                                             (CORRECTION=both unless given): ordinary runs of nbs/train.ipynb in
#                                             runs/cifar10/lrgrid/{variant}/density{d}/lr{lr}-a{α}-dt{ΔT}/seed{s};
#                                             complete runs skipped; GPUS=, SLURM=, STATUS=1 as for any sweep
# make cifar10_tune DENSITY=0.05,0.1,0.2,0.5  one Optuna study per DENSITY × correction (both unless CORRECTION is given),
#                                             INIT (ERK): α ∈ [0.1, 0.6], ΔT ∈ range(50, 1000, 50), objective = mean best
#                                             validation accuracy over TUNE_SEEDS (0,1,2); N_TRIALS (50) per study in total;
#                                             resumes; STORAGE=postgresql://… shares the studies between workers on many
#                                             machines (WORKER=name keeps each worker's executed notebook apart);
#                                             PRUNER=none|median; LR=… the lr every trial uses (default: the dataset's)
.PHONY: cifar10_lr_grid cifar100_lr_grid cifar10_tune cifar100_tune
##@ tuning (cifar10_lr_grid, cifar100_lr_grid, cifar10_tune, cifar100_tune)
## LR_GRID: the lr grid, a comma list of numbers > 0
LR_GRID ?= 0.1,0.05,0.01,0.005
## GRID_PAIRS: the (alpha, interval) pairs of the grid, alpha:interval comma list
GRID_PAIRS ?= 0.3:100,0.4:200,0.4:500,0.5:750
## GRID_INITS: the grid's INITs, a comma list of ERK, ER, Random
GRID_INITS ?= ERK,Random
## N_TRIALS: a whole number >= 1: the trials of each Optuna study in total
N_TRIALS ?= 50
## TUNE_SEEDS: the seeds of one trial (a comma list); its value: their mean best validation accuracy
TUNE_SEEDS ?= 0,1,2
## STORAGE: an Optuna storage URL (postgresql://...) for many workers; empty: sqlite in runs/{dataset}/tune
STORAGE ?=
## PRUNER: none or median
PRUNER ?= none
## LR: the lr every trial uses (a number > 0); empty: the dataset's
LR ?=
## WORKER: a name that keeps this worker's executed notebook apart (tune-WORKER.ipynb)
WORKER ?=
tune_corrections = $(if $(filter file,$(origin CORRECTION)),False True,$(corrections))
grid_pairs = $(foreach p,$(subst $(comma), ,$(GRID_PAIRS)),$(if $(filter 2,$(words $(subst :, ,$p))),$p,$(error GRID_PAIRS must be alpha:interval pairs separated by commas, e.g. 0.3:100$(comma)0.4:200, got '$(GRID_PAIRS)')))
pair_alpha = $(word 1,$(subst :, ,$1))
pair_dt = $(word 2,$(subst :, ,$1))
check_grid = $(PY) -c 'import balance_sparse.driver as d; d.main()' density=$(DENSITY) seed=$(SEED) lr=$(LR_GRID) prune_rate=$(subst $(space),$(comma),$(foreach p,$(grid_pairs),$(call pair_alpha,$p))) interval=$(subst $(space),$(comma),$(foreach p,$(grid_pairs),$(call pair_dt,$p)))$(if $(EPOCHS), epochs=$(EPOCHS))$(device_check)
empty :=
space := $(empty) $(empty)
# $(call grid_dir|grid_cmd,dataset,method,init,correction,density,seed,lr,alpha,interval)
grid_dir = runs/$1/lrgrid/$2-$3-$(if $(filter True,$4),agc,base)$(if $(filter clean,$(recipe)),-clean)$(call epochs_tag,$1)/density$5/lr$7-a$8-dt$9/seed$6
grid_cmd = $(BIN)/papermill --cwd . nbs/train.ipynb $(call grid_dir,$1,$2,$3,$4,$5,$6,$7,$8,$9)/train.ipynb -p dataset $1 -p model $(call model_for,$1) -p recipe $(recipe) -p method $2 -p init $3 -p correction $4 -p density $5 -p seed $6 -p data_dir $(DATA_DIR) -p run_dir $(call grid_dir,$1,$2,$3,$4,$5,$6,$7,$8,$9) -p lr $7 -p prune_rate $8 -p interval $9$(if $(EPOCHS), -p epochs $(EPOCHS))$(run_opts)
# $(call run_or_queue,run folder,command): run it here (a complete run is skipped) or, with GPUS/SLURM/STATUS, add it to the job list
define run_or_queue
	$(if $(sweep_mode),@echo '$2' >> $(SWEEP_JOBS),@if grep -qs '"status": "complete"' $1/final.json; then echo "skip $1: complete (delete the folder to train it again)"; else mkdir -p $1 && echo "$2" && $2; fi)

endef
lr_grid = $(run_checks)$(call check_now,$(check_grid))$(newline)$(if $(sweep_top),$(sweep_start))$(foreach i,$(subst $(comma), ,$(GRID_INITS)),$(foreach d,$(densities),$(foreach s,$(seeds),$(foreach c,$(tune_corrections),$(foreach l,$(subst $(comma), ,$(LR_GRID)),$(foreach p,$(grid_pairs),$(call run_or_queue,$(call grid_dir,$1,$(call method_of,$(METHOD)),$(call init_of,$i),$c,$d,$s,$l,$(call pair_alpha,$p),$(call pair_dt,$p)),$(call grid_cmd,$1,$(call method_of,$(METHOD)),$(call init_of,$i),$c,$d,$s,$l,$(call pair_alpha,$p),$(call pair_dt,$p)))))))))$(if $(sweep_top),$(sweep_end))
# $(call tune_dir|tune_cmd,dataset,method,init,correction,density): one worker of one study (its executed notebook in the study's folder)
tune_dir = runs/$1/tune/$2-$3-$(if $(filter True,$4),agc,base)$(if $(filter clean,$(recipe)),-clean)$(call epochs_tag,$1)/density$5
tune_cmd = $(BIN)/papermill --cwd . nbs/tune.ipynb $(call tune_dir,$1,$2,$3,$4,$5)/tune$(if $(WORKER),-$(WORKER)).ipynb -p dataset $1 -p model $(call model_for,$1) -p recipe $(recipe) -p method $2 -p init $3 -p correction $4 -p density $5 -p seeds $(TUNE_SEEDS) -p n_trials $(N_TRIALS) -p pruner $(PRUNER) -p data_dir $(DATA_DIR)$(if $(STORAGE), -p storage $(call shquote,$(STORAGE)))$(if $(LR), -p lr $(LR))$(if $(EPOCHS), -p epochs $(EPOCHS))$(run_opts)
check_tune = $(PY) -c 'import sys, balance_sparse.tune as t; t.check_cli(sys.argv[1:])' density=$(DENSITY) seeds=$(TUNE_SEEDS) n_trials=$(N_TRIALS) pruner=$(PRUNER)$(if $(STORAGE), storage=$(call shquote,$(STORAGE)))$(if $(LR), lr=$(LR))$(if $(EPOCHS), epochs=$(EPOCHS))$(if $(DEVICE), device=$(call shquote,$(DEVICE)))
tune_studies = $(run_checks)$(call check_now,$(check_tune))$(newline)$(foreach d,$(densities),$(foreach c,$(tune_corrections),	mkdir -p $(call tune_dir,$1,$(call method_of,$(METHOD)),$(call init_of,$(INIT)),$c,$d) && $(call tune_cmd,$1,$(call method_of,$(METHOD)),$(call init_of,$(INIT)),$c,$d)$(newline)))

cifar10_lr_grid: ## lr grid on CIFAR-10: LR_GRID × GRID_PAIRS (α:ΔT) × GRID_INITS, baseline and corrected, per DENSITY × SEED (ordinary runs)
	$(call lr_grid,cifar10)

cifar100_lr_grid: ## the same lr grid on CIFAR-100 (ResNet-50)
	$(call lr_grid,cifar100)

cifar10_tune: ## Optuna (α, ΔT) search on CIFAR-10 per DENSITY, baseline and corrected: N_TRIALS, TUNE_SEEDS, STORAGE, PRUNER, LR
	$(call tune_studies,cifar10)

cifar100_tune: ## the same search on CIFAR-100 (ResNet-50)
	$(call tune_studies,cifar100)
