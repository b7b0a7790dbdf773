PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test demo sweep-demo clean

# Creates .venv and installs the pinned stack (idempotent; the mmcv wheel is
# built once and cached under ~/.cache/mmyoloms/wheels).
setup:
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup.sh

# pytest exits 5 when it collects no test: that is a failure here too.
test: setup
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# The offline demo: writes the shapes dataset to DATA_ROOT if absent, trains
# YOLO-MS-XS on CPU, prints COCO AP and leaves the best checkpoint, a grid of
# val predictions and the loss/AP curves in WORK_DIR.
DATA_ROOT ?= data/shapes
demo: WORK_DIR ?= work_dirs/demo
demo: setup
	$(PY) tools/run_demo.py --work-dir $(WORK_DIR) --data-root $(DATA_ROOT)

# The ablation sweep on the shapes dataset (configs/sweeps/shapes_demo.py):
# YOLO-MS-XS with kernels 3-3-3-3 / 3-5-7-9 / 9-9-9-9, Res2Block, MSFM, SMSL,
# and RTMDet-tiny, each trained SWEEP_EPOCHS epochs; SWEEP_SMOKE=1 trains each
# for one epoch of two iterations on a 16-image subset, to check the plumbing.
# The shapes schedule is one warm-up epoch, then cosine from epoch 1 to the
# end: SWEEP_SCHEDULE(epochs, cosine begin, cosine T_max) rescales it.
SWEEP_EPOCHS ?= 3
SWEEP_SCHEDULE = train_cfg.max_epochs=$(1) train_cfg.val_interval=$(1) \
	param_scheduler.1.begin=$(2) param_scheduler.1.end=$(1) \
	param_scheduler.1.T_max=$(3)
SWEEP_SMOKE_OPTIONS = $(call SWEEP_SCHEDULE,1,0,1) \
	train_dataloader.dataset.indices=16 val_dataloader.dataset.indices=8 \
	test_dataloader.dataset.indices=8
SWEEP_FULL_OPTIONS = $(call SWEEP_SCHEDULE,$(SWEEP_EPOCHS),1,$(shell \
	expr $(SWEEP_EPOCHS) - 1 2>/dev/null))
# SWEEP_FILE picks another sweep file on the same schedule, e.g.
# configs/sweeps/shapes_seeds.py (the seed spread of YOLO-MS-XS).
SWEEP_FILE ?= configs/sweeps/shapes_demo.py
sweep-demo: WORK_DIR ?= work_dirs/sweep_demo
sweep-demo: setup
	@$(if $(SWEEP_SMOKE),true,[ "$(SWEEP_EPOCHS)" -ge 2 ] 2>/dev/null) || { \
	    echo "SWEEP_EPOCHS must be an integer >= 2 (one warm-up epoch," \
	        "then cosine), got '$(SWEEP_EPOCHS)'; SWEEP_SMOKE=1 runs a" \
	        "one-epoch check" >&2; exit 2; }
	$(PY) tools/generate_shapes.py $(DATA_ROOT) --reuse
	$(PY) tools/sweep.py $(SWEEP_FILE) --out $(WORK_DIR) \
	    $(if $(SWEEP_SMOKE),--latency-repeat 2 --latency-rounds 1 --cfg-options $(SWEEP_SMOKE_OPTIONS),--cfg-options $(SWEEP_FULL_OPTIONS))

clean:
	rm -rf work_dirs .pytest_cache
