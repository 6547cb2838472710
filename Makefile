# gradgroup: every target installs what it needs first (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PRESET ?= quick
# torch is installed first, as TORCH_SPEC from TORCH_INDEX: by default torch 2.13.0, the version behind the
# published numbers (here a CPU build lies on disk; PyPI's Linux wheel is a CUDA build). A CUDA build from
# PyTorch's index (docs/gpu.md): make install TORCH_INDEX=--index-url=https://download.pytorch.org/whl/cu124
# Then gradgroup with EXTRAS (default dev: tests and every target here, with the CPU extras deploy, search,
# cluster, cityscapes) and the exact versions of CONSTRAINTS (constraints.txt; CONSTRAINTS= for none, e.g.
# with another TORCH_SPEC). A GPU node that deploys with ONNX Runtime's CUDA build:
#   make install EXTRAS=deploy-gpu,search,cluster,cityscapes
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
EXTRAS ?= dev
CONSTRAINTS ?= constraints.txt

.PHONY: help install constraints doctor test-wheel bench-precision bench-loader gpu-check gpu-bundle demo notebook notebook-commit test test-slow test-search-race test-slurm slurm-up slurm-down table3 table4 table5 ablation study search reproduce bench-gradual bench-latency counts clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo "  PRESET=smoke|quick|paper selects the scale of sweep targets (default quick)"
	@echo "  LAUNCHER=local|slurm runs sweep targets here or as a SLURM job array (docs/cluster.md)"

install: $(STAMP) ## create .venv: torch (TORCH_SPEC/TORCH_INDEX), gradgroup[$(EXTRAS)] at the versions of constraints.txt

$(STAMP): pyproject.toml setup.py $(CONSTRAINTS)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(PY) -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[$(EXTRAS)]'
	@touch $(STAMP)

constraints: install ## rewrite constraints.txt from this venv (pip freeze, gradgroup itself left out)
	@{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -vi '^gradgroup' \
	  | sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/'; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	@echo "wrote constraints.txt ($$(grep -vc '^#' constraints.txt) packages)"

doctor: install ## torch/CUDA/cuDNN, devices, extras, config source, data root, and a verdict
	$(VENV)/bin/gradgroup-doctor

test-wheel: ## build the wheel from a clean copy, install it into a fresh venv, train + sweep + table outside the repo
	scripts/wheel_check.sh

bench-precision: install ## training-step time: fp32 vs bf16-mixed (and channels_last) side by side (docs/gpu.md)
	$(PY) -m gradgroup.measure.precision_bench $(BENCH_ARGS)

bench-loader: install ## images/s per loader worker at the paper preset (decode + augment, 2048x1024 generated data)
	$(PY) -m gradgroup.cli.loader_bench $(BENCH_ARGS)

# A GPU node's check (docs/gpu.md), unattended, under 10 minutes on one GPU: a short paper-preset job per block
# family under AMP, the gradual conversion, a 1-GPU DDP run, the GPU bench; writes GPU_REPORT (JSON). It has
# not run on a GPU yet.
GPU_REPORT ?= gpu-check/report.json
gpu-check: install ## on a GPU: short AMP paper-preset jobs, conversion, 1-GPU DDP, GPU bench -> $(GPU_REPORT)
	$(PY) scripts/gpu_check.py --out $(GPU_REPORT) $(ARGS)

# The wheels that let `make gpu-check`'s script run on a machine with its own CUDA torch but no package registry
# (docs/gpu.md, "A lent GPU without a registry"): gradgroup's wheel and scripts/gpu_bundle.txt's packages at the
# versions of constraints.txt, for CPython 3.12, into GPU_BUNDLE (git-ignored). No torch.
GPU_BUNDLE ?= gpu-bundle
gpu-bundle: ## wheels for a GPU machine without a registry: gradgroup + its missing dependencies -> $(GPU_BUNDLE)/
	BUNDLE=$(abspath $(GPU_BUNDLE)) scripts/gpu_bundle.sh

# On CPU (smoke/quick presets) sweeps run 2 jobs at a time with half the cores each: small 64x128 tensors
# leave 2 threads half idle, so 2 one-thread jobs finish a table ~1.3x sooner (hydra-joblib-launcher).
# LAUNCHER=slurm: every sweep target submits its jobs as one SLURM array (hydra/launcher=slurm,
# conf/hydra/launcher/slurm.yaml), each job asking for the preset's `resources`; docs/cluster.md.
LAUNCHER ?= local
ifeq ($(LAUNCHER),slurm)
LAUNCH_ARGS ?= hydra/launcher=slurm
else ifneq ($(LAUNCHER),local)
$(error LAUNCHER=$(LAUNCHER) is not a launcher; use LAUNCHER=local (this machine) or LAUNCHER=slurm)
endif
JOB_THREADS := $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 1 ? n / 2 : 1 )))
# data.num_workers=0: a loky worker cannot start DataLoader processes (it would drop to 0 with a warning per
# job). callbacks.console.min_interval_s: an epoch line per job at most every 45 s (first and last always,
# a mid-epoch line after 60 s without one), so two jobs side by side stay readable and visibly alive.
# hydra/hydra_logging=disabled: the joblib launcher's own INFO lines repeat what the sweep line already says.
LAUNCH_ARGS ?= $(if $(filter quick smoke,$(PRESET)),hydra/launcher=joblib hydra.launcher.n_jobs=2 threads=$(JOB_THREADS) data.num_workers=0 callbacks.console.min_interval_s=45 hydra/hydra_logging=disabled,)
# At the quick preset the demo's 4 jobs get 16 epochs each, so `make demo` fits in 10 minutes on a 2-core AVX2 host;
# its ranking (ERFNet > D* > DG4* gradual > DG4* direct) held on each of seeds 0-2 (docs/reproducibility.md, "The demo across seeds and hosts").
DEMO_ARGS ?= $(if $(filter quick,$(PRESET)),trainer.max_epochs=16,)
# At the quick preset the ablation's 21 jobs get 12 epochs each, so `make ablation` fits in 30 minutes on 2 cores.
ABLATION_ARGS ?= $(if $(filter quick,$(PRESET)),trainer.max_epochs=12,)

# Latency (gradgroup-bench): 2 threads like the README's figures; every fp32 backend and int8 for
# bench-latency, and for a sweep's latency.json the ones a table chooses between (eager as trained, and
# onnxruntime, the fastest fp32 one measured; gradgroup-table --latency-backend picks).
BENCH_THREADS ?= 2
BENCH_BACKENDS ?= --backend eager --backend optimized --backend compile --backend onnxruntime --backend onnxruntime-int8
SWEEP_BENCH_BACKENDS ?= --backend eager --backend onnxruntime
# Run a sweep file of sweeps/ into multirun/<name>/<timestamp>, time its models side by side into the
# sweep dir's latency.json (gradgroup-bench), then build its table there (which reads only files).
# RESUME=<sweep dir> reruns only that sweep's jobs without an ok record (same PRESET/ARGS as before);
# FAIL_FAST=1 stops a sweep at its first failed job; ALLOW_FAILED=1 builds the table (exit 0) despite
# failed jobs, which otherwise stop the target with exit status 1 (cli/sweep_callbacks.py).
SWEEP_FLAGS = $(if $(RESUME),hydra.callbacks.sweep.resume=true) $(if $(FAIL_FAST),hydra.callbacks.sweep.fail_fast=true) \
	$(if $(ALLOW_FAILED),hydra.callbacks.sweep.allow_failed=true)
# While the sweep trains, its models' ONNX exports (which depend on the architecture, not the weights) are
# made at the lowest CPU priority (nice 19: they run when a core has no job, e.g. while the last job runs
# alone), into DIR/onnx, where the bench after the sweep finds them. The sweep never waits for them: when
# it ends the export stops, and the bench exports whatever is not there yet.
define sweep_and_table
	@stamp=$$(date +%Y-%m-%d_%H-%M-%S-%N); dir=$(if $(RESUME),$(RESUME),multirun/$(1)/$$stamp); mkdir -p $$dir; \
	nice -n 19 $(VENV)/bin/gradgroup-bench --prepare-only --sweep-file sweeps/$(1).yaml --onnx-dir $$dir/onnx \
	  --threads $(BENCH_THREADS) $(SWEEP_BENCH_BACKENDS) > $$dir/onnx-prepare.log 2>&1 & prep=$$!; \
	$(VENV)/bin/gradgroup-train --config-dir sweeps --config-name $(1) preset=$(PRESET) hydra.sweep.dir=$$dir $(LAUNCH_ARGS) $(3) $(SWEEP_FLAGS) $(ARGS) \
	  || { rc=$$?; kill $$prep 2>/dev/null; wait $$prep 2>/dev/null; exit $$rc; }; \
	kill $$prep 2>/dev/null; wait $$prep 2>/dev/null; \
	$(VENV)/bin/gradgroup-bench --sweep $$dir --size 1024x512 --threads $(BENCH_THREADS) $(SWEEP_BENCH_BACKENDS) $(BENCH_ARGS) && \
	$(VENV)/bin/gradgroup-table $$dir $(if $(ALLOW_FAILED),--allow-failed) $(TABLE_ARGS) $(2)
endef

demo: install ## the trade-off demo: ERFNet, D*, DG4* direct and gradual at the quick preset, table + pareto.png
	@last=$$(ls -td multirun/demo/*/ 2>/dev/null | head -1); \
	if [ -n "$$last" ] && [ -f "$$last/results.md" ] && grep -qx "preset_name: $(PRESET)" "$$last/multirun.yaml"; then \
	  s=$$(( $$(stat -c %Y "$$last/results.md") - $$(stat -c %Y "$$last/multirun.yaml") )); \
	  echo "demo: 4 jobs, 2 at a time; estimate ~$$(( (s + 59) / 60 )) min (the last demo here, $$last, took $$((s / 60))m$$((s % 60))s)"; \
	elif grep -qw avx512f /proc/cpuinfo 2>/dev/null; then \
	  echo "demo: 4 jobs, 2 at a time; estimate ~5 min on 2 AVX-512 cores (the measured time: README, What the demo prints), plus install and data on a first run"; \
	else echo "demo: 4 jobs, 2 at a time; estimate ~10 min on 2 AVX2 cores (the measured time: README, What the demo prints), plus install and data on a first run; each job prints its ETA"; fi
	$(call sweep_and_table,demo,,$(DEMO_ARGS))

# The notebook as an HTML report next to a sweep's results.md: the latest sweep with a results.csv, or SWEEP=DIR.
notebook: install ## execute notebooks/tradeoffs.ipynb on the latest sweep (or SWEEP=dir) -> <sweep>/tradeoffs.html
	@sweep=$${SWEEP:-$$(ls -td multirun/*/*/results.csv multirun/*/*/*/results.csv 2>/dev/null | head -1 | xargs -r dirname)}; \
	test -n "$$sweep" || { echo "make notebook: no sweep with a results.csv under multirun/; run make demo, or pass SWEEP=DIR" >&2; exit 2; }; \
	GRADGROUP_SWEEP=$$sweep $(VENV)/bin/jupyter nbconvert --execute --to html notebooks/tradeoffs.ipynb \
	  --output-dir $$sweep --output tradeoffs --log-level ERROR && echo "wrote $$sweep/tradeoffs.html"

# The committed notebook with its outputs, so GitHub shows its plots: executed in place on a sweep (SWEEP=DIR, or
# the latest with a results.csv), its images re-encoded as palette PNGs (scripts/notebook_outputs.py).
notebook-commit: install ## execute notebooks/tradeoffs.ipynb in place on a sweep, images compressed, to commit it
	@sweep=$${SWEEP:-$$(ls -td multirun/*/*/results.csv multirun/*/*/*/results.csv 2>/dev/null | head -1 | xargs -r dirname)}; \
	test -n "$$sweep" || { echo "make notebook-commit: no sweep with a results.csv under multirun/; run make demo, or pass SWEEP=DIR" >&2; exit 2; }; \
	GRADGROUP_SWEEP=$$sweep $(VENV)/bin/jupyter nbconvert --execute --to notebook --inplace notebooks/tradeoffs.ipynb \
	  --log-level ERROR && $(PY) scripts/notebook_outputs.py notebooks/tradeoffs.ipynb

table3: install ## Table 3 (starred variants): sweep, then results.md / results.csv / pareto.png
	$(call sweep_and_table,table3)

table4: install ## Table 4 (two-phase, light decoder, gradual grouping)
	$(call sweep_and_table,table4)

table5: install ## Table 5 (selective variants)
	$(call sweep_and_table,table5)

ablation: install ## does gradual grouping help? direct vs gradual DG{2,4,8}*, D* ceiling, 3 seeds
	@stamp=$$(date +%Y-%m-%d_%H-%M-%S-%N); dir=$(if $(RESUME),$(RESUME),multirun/ablation_gradual/$$stamp); \
	$(VENV)/bin/gradgroup-train --config-dir sweeps --config-name ablation_gradual preset=$(PRESET) hydra.sweep.dir=$$dir $(LAUNCH_ARGS) $(SWEEP_FLAGS) $(ABLATION_ARGS) $(ARGS) && \
	$(VENV)/bin/gradgroup-train --config-dir sweeps --config-name ablation_dense preset=$(PRESET) hydra.sweep.dir=$$dir/dense $(LAUNCH_ARGS) $(SWEEP_FLAGS) $(ABLATION_ARGS) $(ARGS) && \
	$(VENV)/bin/gradgroup-table $$dir --no-latency $(if $(ALLOW_FAILED),--allow-failed) $(TABLE_ARGS) && \
	$(VENV)/bin/gradgroup-ablation $$dir --out $$dir/ablation.md \
	  --header "Produced by \`make ablation PRESET=$(PRESET)\` on $$(nproc) CPU cores ($$(uname -m)), $$(date -u +%Y-%m-%d)."

# The gradual grouping study (docs/gradual_study_plan.md, pre-registered): up to six sweeps into one study dir,
# multirun/study/<timestamp>/<part>, in order of importance (sweeps/study_<part>.yaml hold the design):
#   primary  DG4* direct_matched vs gradual, 16 paired seeds          (32 jobs)
#   abrupt   DG4* abrupt (secondary 1)                                (16 jobs)
#   dense    D*, the ceiling                                          (16 jobs)
#   groups   DG2*/DG8* direct_matched vs gradual (secondary 2 and 3)  (64 jobs)
#   explore  DG4* direct (default init), cosine, fixed 6-epoch anneal (48 jobs, exploratory)
#   budget   DG4* direct_matched vs gradual at 6 and 12 epochs        (64 jobs, exploratory)
# every job at the preset's full budget (32 epochs at the quick preset) but the budget part, scored on the
# 512-image generated test split (sweeps/study_base.yaml); then the report: statistics, plots and
# gradual_study.md in the study dir (cli/study.py), at the quick preset also published as $(STUDY_DOC).
# STUDY_PARTS picks parts (default all six, in the order above); RESUME=<study dir> resumes them (finished jobs
# are skipped, cut-off ones continue from their last.ckpt), so the study can run across sessions: `make study RESUME=multirun/study/<ts> STUDY_PARTS=...`.
# STUDY_REPORT=0 skips the report (a part run alone). PRESET=smoke: 2 seeds, 1 epoch, a 16-image test split.
STUDY_PARTS ?= primary abrupt dense groups explore budget
STUDY_SMOKE_ARGS := seed=0,1 data.synthetic.num_test=16
STUDY_ARGS ?= $(if $(filter smoke,$(PRESET)),$(STUDY_SMOKE_ARGS),)
STUDY_BUDGET_ARGS ?= $(if $(filter smoke,$(PRESET)),trainer.max_epochs=1,)
STUDY_REPORT ?= 1
STUDY_DOC ?= $(if $(filter quick,$(PRESET)),docs/gradual_study.md,)
STUDY_CMD = make study PRESET=$(PRESET) STUDY_PARTS="$(STUDY_PARTS)"

study: install ## gradual grouping study (pre-registered): primary DG4* direct_matched vs gradual x 16 seeds, then the rest
	@stamp=$$(date +%Y-%m-%d_%H-%M-%S-%N); dir=$(if $(RESUME),$(RESUME),multirun/study/$$stamp); n=0; \
	parts="$(STUDY_PARTS)"; total=$$(echo $$parts | wc -w); \
	for name in $$parts; do n=$$((n + 1)); \
	  test -f sweeps/study_$$name.yaml || { echo "make study: STUDY_PARTS names '$$name', which is not a part; parts: primary abrupt dense groups explore budget" >&2; exit 2; }; \
	  echo "study: part $$n/$$total, $$name -> $$dir/$$name (resume: make study RESUME=$$dir STUDY_PARTS=\"$$parts\")"; \
	  $(VENV)/bin/gradgroup-train --config-dir sweeps --config-name study_$$name preset=$(PRESET) \
	    hydra.sweep.dir=$$dir/$$name $(LAUNCH_ARGS) $(SWEEP_FLAGS) $(STUDY_ARGS) $$([ $$name = budget ] && echo $(STUDY_BUDGET_ARGS)) $(ARGS) || exit $$?; \
	done; \
	if [ "$(STUDY_REPORT)" = 1 ]; then \
	  $(VENV)/bin/gradgroup-table $$dir --no-latency $(if $(ALLOW_FAILED),--allow-failed) --wandb disabled && \
	  $(PY) -m gradgroup.cli.study $$dir --command "$(STUDY_CMD)" $(if $(STUDY_DOC),--publish $(STUDY_DOC)) \
	    --plan-commit "$$(git log --diff-filter=A --format=%h -1 -- docs/gradual_study_plan.md 2>/dev/null)" $(STUDY_REPORT_ARGS); fi

# The placement search (issue 17, docs/search.md): N_TRIALS trained trials of sweeps/search.yaml into SEARCH_DIR
# (default multirun/search/<timestamp>), its front and the paper's rows retrained on 3 fresh seeds, the roofline
# check (quick preset), the results table and the report (front.md, search_pareto.png, search.md; at the quick
# preset published as $(SEARCH_DOC)). Rerun with SEARCH_DIR=<dir> to resume: finished trials are never rerun.
# PRESET=smoke: latency at 256x128, 1 front trial and 3 paper rows confirmed on 2 seeds, no roofline check.
# At the quick preset every job gets 12 epochs, as in `make ablation`: 16 trials (two NSGA-II generations of 8, so
# the second is bred from the first, not drawn at random) plus (2 front trials + 5 paper rows) x 3 seeds = 37 jobs,
# about an hour on 2 cores with the latency timing and the roofline check.
N_TRIALS ?= $(if $(filter smoke,$(PRESET)),4,16)
SEARCH_SMOKE_ARGS := hydra.sweeper.latency.size=256x128 hydra.sweeper.latency.rounds=2 hydra.sweeper.confirm.k=1 \
	'hydra.sweeper.confirm.seeds=[1,2]' 'hydra.sweeper.confirm.paper_rows=[table3/erfnet,table4/d_proposed,table4/dg4_proposed]'
SEARCH_ARGS ?= $(if $(filter smoke,$(PRESET)),$(SEARCH_SMOKE_ARGS),$(ABLATION_ARGS))
SEARCH_DOC ?= $(if $(filter quick,$(PRESET)),docs/search.md,)
SEARCH_CMD = make search PRESET=$(PRESET) N_TRIALS=$(N_TRIALS)

search: install ## placement search: Pareto front of mIoU vs measured latency, confirmed on 3 seeds, vs the paper's rows
	@dir=$${SEARCH_DIR:-multirun/search/$$(date +%Y-%m-%d_%H-%M-%S-%N)}; \
	echo "search: $(N_TRIALS) trials at preset $(PRESET) -> $$dir (resume: $(SEARCH_CMD) SEARCH_DIR=$$dir)"; \
	run() { $(VENV)/bin/gradgroup-train --config-dir sweeps --config-name search preset=$(PRESET) hydra.sweep.dir=$$dir \
	  hydra.sweeper.n_trials=$(N_TRIALS) $(LAUNCH_ARGS) $(SEARCH_ARGS) "$$@" $(ARGS); }; \
	run && run hydra.sweeper.mode=confirm && \
	$(if $(filter quick paper,$(PRESET)),$(VENV)/bin/gradgroup-roofline --threads $(BENCH_THREADS) --out $$dir/roofline.json &&,) \
	$(VENV)/bin/gradgroup-table $$dir $(TABLE_ARGS) && \
	$(VENV)/bin/gradgroup-search report $$dir --command "$(SEARCH_CMD)" \
	  $(if $(filter quick paper,$(PRESET)),--roofline $$dir/roofline.json) $(if $(SEARCH_DOC),--publish $(SEARCH_DOC))

reproduce: table3 table4 table5 ablation ## every table of the paper plus the ablation

counts: install ## params and GMACs of every paper row beside the paper's (docs/counts.md)
	$(PY) -m gradgroup.cli.counts

bench-gradual: install ## training-step time: gradual DG4* vs direct DG4* vs D* (side by side, one process)
	$(PY) -m gradgroup.measure.step_bench

bench-latency: install ## batch-1 latency at 1024x512 of the Table 3/4 models vs ERFNet, every backend side by side
	$(VENV)/bin/gradgroup-bench table3/d table3/dg2 table3/dg4 table3/dg8 table3/dg4s table4/d_proposed table4/dg4_proposed \
	  --size 1024x512 --threads $(BENCH_THREADS) $(BENCH_BACKENDS) $(BENCH_ARGS)

# On an AVX-512 host the pins run a second time with torch's AVX2 kernels forced, so a change that holds on
# one kernel family only fails here, not on a user's machine (tests/test_behaviour_pins.py says what is pinned).
AVX2_KERNELS := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
# pytest-xdist runs the suite TEST_WORKERS tests at a time (most of a test's time is a subprocess importing torch
# and Lightning, or waiting on one); TEST_WORKERS=0 runs it in one process. --durations lists the slowest tests.
TEST_WORKERS ?= 2
test: install ## the test suite (TEST_WORKERS at a time), and the pins with AVX2 kernels on AVX-512 hosts
	$(PY) -m pytest -q -n $(TEST_WORKERS) --durations=15
	@if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then echo "pins again with torch's AVX2 kernels forced ($(AVX2_KERNELS))"; \
	  $(AVX2_KERNELS) $(PY) -m pytest -q -p no:cacheprovider tests/test_behaviour_pins.py; \
	else echo "no AVX-512 on this host: the pins above already ran on AVX2 kernels"; fi

test-slow: install ## the long end-to-end tests
	$(PY) -m pytest -q -m slow

# Two search processes on one sweep dir (issue 24): the test that once failed 1 run in 4, RUNS times in a row,
# each run its own pytest process; HOGS=<n> busy-loops n processes beside it (the race under load). Stops at
# the first failure, keeping its output in $(RACE_LOG).
RUNS ?= 50
HOGS ?= 0
RACE_LOG ?= search-race.log
test-search-race: install ## the two-process search test RUNS times in a row (HOGS=n: beside n CPU hogs)
	@hogs=; for i in $$(seq 1 $(HOGS)); do $(PY) -c 'while True: pass' & hogs="$$hogs $$!"; done; \
	trap '[ -z "$$hogs" ] || kill $$hogs' EXIT; start=$$(date +%s); \
	for i in $$(seq 1 $(RUNS)); do \
	  if ! $(PY) -m pytest -q -p no:cacheprovider -x "tests/test_search.py::test_two_processes_on_one_storage_share_the_trials_without_duplicates" > $(RACE_LOG) 2>&1; then \
	    echo "test-search-race: run $$i of $(RUNS) FAILED ($(HOGS) hogs, load $$(cut -d' ' -f1 /proc/loadavg)); see $(RACE_LOG)"; exit 1; fi; \
	  echo "test-search-race: $$i/$(RUNS) passed ($$(( $$(date +%s) - start )) s, load $$(cut -d' ' -f1 /proc/loadavg))"; \
	done; echo "test-search-race: $(RUNS) of $(RUNS) runs passed in a row, $(HOGS) CPU hogs beside, $$(( $$(date +%s) - start )) s on $$(nproc) cores"

# On a 2-node cluster (TEST_SLURM_NODES, each node 1 CPU in its own namespaces), brought up here unless
# one runs already, and down again after; if two nodes cannot come up on this host, one line says why and
# the tests run on the one-node cluster. Where no cluster can start (not root, no apt-get, a real
# cluster's slurm.conf) one line says why and nothing runs.
TEST_SLURM_NODES ?= 2
test-slurm: install ## the SLURM tests against a 2-node cluster on this host (root; scripts/slurm_local.sh)
	@why=$$(scripts/slurm_local.sh check) || { echo "make test-slurm: skipped: $$why"; exit 0; }; \
	start=$$(date +%s); brought=; \
	if ! sinfo -h >/dev/null 2>&1; then brought=1; err=$$(mktemp); \
	  SLURM_NODES=$(TEST_SLURM_NODES) scripts/slurm_local.sh up 2>$$err || { \
	    echo "make test-slurm: $(TEST_SLURM_NODES) nodes did not come up ($$(tail -1 $$err)); running on one node"; \
	    scripts/slurm_local.sh down; SLURM_NODES=1 scripts/slurm_local.sh up || exit 1; }; fi; \
	$(PY) -m pytest -q -m slurm tests/test_slurm.py; rc=$$?; \
	[ -z "$$brought" ] || scripts/slurm_local.sh down; \
	echo "make test-slurm: $$(( $$(date +%s) - start )) s on $$(nproc) cores"; exit $$rc

SLURM_NODES ?= 1
slurm-up: ## a SLURM cluster on this host, SLURM_NODES nodes (default 1; root: installs slurm-wlm and munge if missing)
	SLURM_NODES=$(SLURM_NODES) scripts/slurm_local.sh up

slurm-down: ## stop that cluster: no slurmctld, slurmd, munged, namespace, veth or bridge left
	scripts/slurm_local.sh down

clean: ## remove generated outputs (keeps .venv and the data cache)
	rm -rf outputs multirun lightning_logs
