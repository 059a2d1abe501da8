# balance_sparse — every command a user needs. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PYTHONUNBUFFERED := 1

.DEFAULT_GOAL := help
.PHONY: help install test test-slow lint format doc-check hooks export check-sync demo vis bench cifar10 cifar100 eval status

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_.%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort | awk -F'\t' '{printf "  make %-22s %s\n", $$1, $$2}'

install: ## create .venv and install balance_sparse editable with its dev extras
	python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@echo "installed: $$($(PY) -c 'import torch, torchvision, balance_sparse as b; print("balance_sparse", b.__version__, "torch", torch.__version__, "torchvision", torchvision.__version__)')"

test: lint doc-check ## lint, nbdev's doc processing, the notebooks' tests (nbdev_test) and tests/ (pytest)
	$(BIN)/nbdev_test --n_workers 2 --do_print --timing
	$(BIN)/pytest -q tests -n auto --dist loadfile

lint: ## ruff over nbs/, tests/ and benchmarks/ (style and lint; balance_sparse/ is generated from nbs/)
	$(BIN)/ruff check nbs tests benchmarks
	$(BIN)/ruff format --check nbs tests benchmarks

format: ## let ruff format nbs/, tests/ and benchmarks/, then regenerate balance_sparse/
	$(BIN)/ruff format nbs tests benchmarks
	$(BIN)/ruff check --fix nbs tests benchmarks
	$(BIN)/nbdev_export

doc-check: ## nbdev's documentation processing (export cells, show_doc) over every notebook, as nbdev_docs runs it; no Quarto needed
	$(PY) -c "from nbdev.serve import proc_nbs; proc_nbs(n_workers=2, force=True)"

hooks: ## install the pre-commit hooks (ruff, nbdev_clean, the export check) into this clone
	$(BIN)/pre-commit install

test-slow: ## the same, including cells flagged #| slow and tests marked slow (torch.compile on the CPU)
	$(BIN)/nbdev_test --n_workers 2 --flags slow --do_print --timing
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
# EPOCHS=n overrides the paper's 250; DATA_DIR (default data) is where CIFAR lives; `make -n ...` prints the commands.
# Any of these sweeps (and demo) runs its runs at once with GPUS=0,1,... or SLURM=1, or lists their state with STATUS=1
# (make status SWEEP=...): see "many runs at once" below.
DENSITY ?= 0.2
SEED ?= 0
RECIPE ?= authors
CORRECTION ?= 1
METHOD ?= RigL
MATRIX ?=
# the reference's CIFAR-10 list (make cifar10 in the RigL reproducibility code), in its order; Pruning before Lottery
MATRIX_TARGETS := ERK.RigL ERK.SNFS ERK.SET Random.RigL Random.SNFS Random.SET 2x.ERK.RigL 2x.ERK.SNFS 2x.ERK.SET \
                  2x.Random.RigL 2x.Random.SNFS 2x.Random.SET 3x.Random.RigL Pruning Lottery Small-Dense Static.ERK Static.Random
INIT ?= ERK
EPOCHS ?=
DATA_DIR ?= data
# the correction's cost (README, "A cheaper correction"): CORRECTION_MODE=faithful (default) | same_batches | replay;
# STATS_FRACTION=0.25 computes ū and τ from a quarter of the batches (approximate). Corrected runs only; folders get
# -replay / -same_batches / -sf0.25 after "agc"
CORRECTION_MODE ?=
STATS_FRACTION ?=
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
run_dir = runs/$1/$(if $(filter-out 1,$(MULT)),$(MULT)x-)$2-$3-$(if $(filter True,$4),agc$(mode_suffix),base)$(if $(filter clean,$(recipe)),-clean)/density$5/seed$6
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
# every value of a sweep is checked before its first run starts (balance_sparse.settings.check_cli)
check_values = $(PY) -c 'import balance_sparse.settings as s; s.main()' density=$(DENSITY) seed=$(SEED)$(if $(EPOCHS), epochs=$(EPOCHS))$(if $(STATS_FRACTION), stats_fraction=$(STATS_FRACTION))
# $(call train,dataset,method,init,correction,density,seed[,extra papermill args]); a complete run is skipped, never
# re-executed (its executed notebook and logs stay as they are)
train_cmd = $(BIN)/papermill --cwd . nbs/train.ipynb $(call run_dir,$1,$2,$3,$4,$5,$6)/train.ipynb -p dataset $1 -p model $(call model_for,$1) -p recipe $(recipe) -p method $2 -p init $3 -p correction $4 -p density $5 -p seed $6 -p data_dir $(DATA_DIR) -p run_dir $(call run_dir,$1,$2,$3,$4,$5,$6)$(if $(EPOCHS), -p epochs $(EPOCHS))$(if $(filter True,$4),$(mode_args))$(if $7, $7)$(if $(call lottery_arg,$1,$2,$3,$4,$5,$6), $(call lottery_arg,$1,$2,$3,$4,$5,$6))
define train
	@if grep -qs '"status": "complete"' $(call run_dir,$1,$2,$3,$4,$5,$6)/final.json; then \
	  echo "skip $(call run_dir,$1,$2,$3,$4,$5,$6): complete (delete the folder to train it again)"; \
	else mkdir -p $(call run_dir,$1,$2,$3,$4,$5,$6) && echo "$(call train_cmd,$1,$2,$3,$4,$5,$6,$7)" && $(call train_cmd,$1,$2,$3,$4,$5,$6,$7); fi

endef
define newline


endef
sweep = $(quiet)$(check_values)$(newline)$(if $(sweep_top),$(sweep_start))$(foreach d,$(densities),$(foreach s,$(seeds),$(foreach c,$3,$(call $(if $(sweep_mode),queue,train),$1,$(call method_of,$(METHOD)),$(call init_of,$(INIT)),$c,$d,$s,$2))))$(if $(sweep_top),$(sweep_end))

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
GPUS ?=
SLURM ?=
STATUS ?=
WAIT ?= 0
PARTITION ?=
GPUS_PER_JOB ?= 1
CPUS_PER_JOB ?=
SLURM_ARGS ?=
RUNS ?= runs
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

cifar10: ## paper sweep on CIFAR-10: baseline + corrected for DENSITY=0.05,0.1,0.2,0.5 SEED=0,1,2 (lists); MATRIX=full: the reference's whole list
	$(matrix_start)
	$(if $(matrix),$(call run_matrix,cifar10),$(call sweep,cifar10,,False True))
	$(matrix_end)

cifar100: ## paper sweep on CIFAR-100 (ResNet-50): baseline + corrected for each DENSITY × SEED; MATRIX=full: the whole list
	$(matrix_start)
	$(if $(matrix),$(call run_matrix,cifar100),$(call sweep,cifar100,,False True))
	$(matrix_end)

demo: ## offline quick demo on real digits: baseline vs corrected RigL (about a minute or two each on a CPU)
	$(call sweep,digits,-p preset demo,False True)
	$(if $(filter status slurm,$(sweep_mode)),,@echo; echo "demo notebooks:"; ls -1 runs/digits/*/density*/seed*/train.ipynb)

# SWEEP: any run target with its variables, e.g. make status SWEEP=cifar10 MATRIX=full DENSITY=0.1,0.2 SEED=0,1
sweep_target = $(if $(filter demo cifar10 cifar100 cifar10.% cifar100.%,$(word 1,$(SWEEP))),$(SWEEP),$(error SWEEP must be a run target (demo, cifar10, cifar100, cifar10.ERK.RigL, cifar100.Pruning, ...), got '$(SWEEP)'))
status: ## state of every run (complete/running/failed/stopped/not started, epochs, accuracy): all under RUNS=runs, or one sweep's: SWEEP=cifar10 DENSITY=...
	@$(if $(SWEEP),+$(MAKE) --no-print-directory $(this_makefile)$(sweep_target) STATUS=1,$(PY) -m balance_sparse.sweep status $(call shquote,$(RUNS)))

eval: ## test accuracy, loss, layer densities and inference FLOPs of a run's checkpoint, without training: make eval RUN=runs/... [DATA_DIR=data]
	@test -n "$(RUN)" || { echo "make eval needs RUN=<run folder>, e.g. make eval RUN=runs/digits/rigl-erk-agc/density0.2/seed0"; exit 1; }
	$(PY) -c 'import balance_sparse.evaluate as e; e.main()' $(RUN) --data-dir $(DATA_DIR)$(if $(CHECKPOINT), --checkpoint $(CHECKPOINT))$(if $(DEVICE), --device $(DEVICE))

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
LR_GRID ?= 0.1,0.05,0.01,0.005
GRID_PAIRS ?= 0.3:100,0.4:200,0.4:500,0.5:750
GRID_INITS ?= ERK,Random
N_TRIALS ?= 50
TUNE_SEEDS ?= 0,1,2
STORAGE ?=
PRUNER ?= none
LR ?=
WORKER ?=
tune_corrections = $(if $(filter file,$(origin CORRECTION)),False True,$(corrections))
grid_pairs = $(foreach p,$(subst $(comma), ,$(GRID_PAIRS)),$(if $(filter 2,$(words $(subst :, ,$p))),$p,$(error GRID_PAIRS must be alpha:interval pairs separated by commas, e.g. 0.3:100$(comma)0.4:200, got '$(GRID_PAIRS)')))
pair_alpha = $(word 1,$(subst :, ,$1))
pair_dt = $(word 2,$(subst :, ,$1))
check_grid = $(PY) -c 'import balance_sparse.settings as s; s.main()' density=$(DENSITY) seed=$(SEED) lr=$(LR_GRID) prune_rate=$(subst $(space),$(comma),$(foreach p,$(grid_pairs),$(call pair_alpha,$p))) interval=$(subst $(space),$(comma),$(foreach p,$(grid_pairs),$(call pair_dt,$p)))$(if $(EPOCHS), epochs=$(EPOCHS))
empty :=
space := $(empty) $(empty)
# $(call grid_dir|grid_cmd,dataset,method,init,correction,density,seed,lr,alpha,interval)
grid_dir = runs/$1/lrgrid/$2-$3-$(if $(filter True,$4),agc,base)$(if $(filter clean,$(recipe)),-clean)/density$5/lr$7-a$8-dt$9/seed$6
grid_cmd = $(BIN)/papermill --cwd . nbs/train.ipynb $(call grid_dir,$1,$2,$3,$4,$5,$6,$7,$8,$9)/train.ipynb -p dataset $1 -p model $(call model_for,$1) -p recipe $(recipe) -p method $2 -p init $3 -p correction $4 -p density $5 -p seed $6 -p data_dir $(DATA_DIR) -p run_dir $(call grid_dir,$1,$2,$3,$4,$5,$6,$7,$8,$9) -p lr $7 -p prune_rate $8 -p interval $9$(if $(EPOCHS), -p epochs $(EPOCHS))
# $(call run_or_queue,run folder,command): run it here (a complete run is skipped) or, with GPUS/SLURM/STATUS, add it to the job list
define run_or_queue
	$(if $(sweep_mode),@echo '$2' >> $(SWEEP_JOBS),@if grep -qs '"status": "complete"' $1/final.json; then echo "skip $1: complete (delete the folder to train it again)"; else mkdir -p $1 && echo "$2" && $2; fi)

endef
lr_grid = $(quiet)$(check_grid)$(newline)$(if $(sweep_top),$(sweep_start))$(foreach i,$(subst $(comma), ,$(GRID_INITS)),$(foreach d,$(densities),$(foreach s,$(seeds),$(foreach c,$(tune_corrections),$(foreach l,$(subst $(comma), ,$(LR_GRID)),$(foreach p,$(grid_pairs),$(call run_or_queue,$(call grid_dir,$1,$(call method_of,$(METHOD)),$(call init_of,$i),$c,$d,$s,$l,$(call pair_alpha,$p),$(call pair_dt,$p)),$(call grid_cmd,$1,$(call method_of,$(METHOD)),$(call init_of,$i),$c,$d,$s,$l,$(call pair_alpha,$p),$(call pair_dt,$p)))))))))$(if $(sweep_top),$(sweep_end))
# $(call tune_dir|tune_cmd,dataset,method,init,correction,density): one worker of one study (its executed notebook in the study's folder)
tune_dir = runs/$1/tune/$2-$3-$(if $(filter True,$4),agc,base)$(if $(filter clean,$(recipe)),-clean)/density$5
tune_cmd = $(BIN)/papermill --cwd . nbs/tune.ipynb $(call tune_dir,$1,$2,$3,$4,$5)/tune$(if $(WORKER),-$(WORKER)).ipynb -p dataset $1 -p model $(call model_for,$1) -p recipe $(recipe) -p method $2 -p init $3 -p correction $4 -p density $5 -p seeds $(TUNE_SEEDS) -p n_trials $(N_TRIALS) -p pruner $(PRUNER) -p data_dir $(DATA_DIR)$(if $(STORAGE), -p storage $(call shquote,$(STORAGE)))$(if $(LR), -p lr $(LR))$(if $(EPOCHS), -p epochs $(EPOCHS))
check_tune = $(PY) -c 'import sys, balance_sparse.tune as t; t.check_cli(sys.argv[1:])' density=$(DENSITY) seeds=$(TUNE_SEEDS) n_trials=$(N_TRIALS) pruner=$(PRUNER)$(if $(STORAGE), storage=$(call shquote,$(STORAGE)))$(if $(LR), lr=$(LR))$(if $(EPOCHS), epochs=$(EPOCHS))
tune_studies = $(check_tune)$(newline)$(foreach d,$(densities),$(foreach c,$(tune_corrections),	mkdir -p $(call tune_dir,$1,$(call method_of,$(METHOD)),$(call init_of,$(INIT)),$c,$d) && $(call tune_cmd,$1,$(call method_of,$(METHOD)),$(call init_of,$(INIT)),$c,$d)$(newline)))

cifar10_lr_grid: ## lr grid on CIFAR-10: LR_GRID × GRID_PAIRS (α:ΔT) × GRID_INITS, baseline and corrected, per DENSITY × SEED (ordinary runs)
	$(call lr_grid,cifar10)

cifar100_lr_grid: ## the same lr grid on CIFAR-100 (ResNet-50)
	$(call lr_grid,cifar100)

cifar10_tune: ## Optuna (α, ΔT) search on CIFAR-10 per DENSITY, baseline and corrected: N_TRIALS, TUNE_SEEDS, STORAGE, PRUNER, LR
	$(call tune_studies,cifar10)

cifar100_tune: ## the same search on CIFAR-100 (ResNet-50)
	$(call tune_studies,cifar100)
