# A row of the support matrix (docs/install.md): oldest | default | newest.
# It picks the defaults of PYTHON, VENV and TORCH_SPEC in scripts/setup.sh;
# set any of them to override.
ROW ?= default
VENV ?= $(if $(filter oldest,$(ROW)),.venv-oldest,$(if $(filter newest,$(ROW)),.venv-newest,.venv))
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-compat demo sweep-demo clean

# Creates the venv and installs the pinned stack (idempotent). The mmcv wheel
# is built once per (torch, Python) by scripts/build_mmcv.py and cached under
# ~/.cache/mmyoloms/wheels (WHEEL_CACHE=...); docs/install.md has what the
# first run costs. PYTHON=, TORCH_SPEC= and VENV= pass through.
setup:
	ROW=$(ROW) VENV=$(VENV) $(if $(PYTHON),PYTHON=$(PYTHON)) \
	    $(if $(TORCH_SPEC),TORCH_SPEC='$(TORCH_SPEC)') bash scripts/setup.sh

# pytest exits 5 when it collects no test: that is a failure here too.
test: setup
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# The support matrix's subset, run in every row by `make test-compat`: the
# official-equivalence and registry/config tests, one training iteration
# plus a COCO validation (test_train_e2e), ONNX export, safe checkpoint
# loading, the version checks and the install requirements. All of it is in
# the default suite too.
COMPAT_TESTS = tests/test_compat.py tests/test_torch_compat.py \
	tests/test_install_requirements.py tests/test_mmcv_ops.py \
	tests/models tests/configs/test_yoloms_configs.py \
	tests/configs/test_family_configs.py tests/configs/test_official_recipes.py \
	tests/test_train_e2e.py tests/deploy/test_export.py tests/deploy/test_nms.py \
	tests/engine/test_optim_wrapper.py
ROWS ?= oldest newest

# Creates (or updates) .venv-oldest and .venv-newest, checks that installing
# mmyoloms keeps their torch and mmcv (scripts/check_install.py) and runs
# COMPAT_TESTS in each (scripts/test_compat.sh); ROWS="oldest" runs one row.
# Not part of .ci/run: docs/install.md has its measured time and result.
# PYTHON_OLDEST= / PYTHON_NEWEST= name the rows' interpreters (default
# python3.10 / python3.12).
test-compat:
	ROWS='$(ROWS)' COMPAT_TESTS='$(COMPAT_TESTS)' \
	    $(if $(PYTHON_OLDEST),PYTHON_OLDEST='$(PYTHON_OLDEST)') \
	    $(if $(PYTHON_NEWEST),PYTHON_NEWEST='$(PYTHON_NEWEST)') \
	    bash scripts/test_compat.sh

# The offline demo: writes the shapes dataset to DATA_ROOT if absent, trains
# YOLO-MS-XS on CPU for as many epochs as fit DEMO_MINUTES (timed on this
# machine; the whole demo, dataset and evaluation included) or exactly
# DEMO_EPOCHS, from seed DEMO_SEED, prints COCO AP and leaves the best
# checkpoint, ground truth beside predictions and the loss/AP curves in
# WORK_DIR (mmyoloms/apis/demo.py).
DATA_ROOT ?= data/shapes
DEMO_MINUTES ?= 18
DEMO_EPOCHS ?=
DEMO_SEED ?= 0
demo: WORK_DIR ?= work_dirs/demo
demo: setup
	$(PY) tools/run_demo.py --work-dir $(WORK_DIR) --data-root $(DATA_ROOT) \
	    --seed $(DEMO_SEED) \
	    $(if $(DEMO_EPOCHS),--epochs $(DEMO_EPOCHS),--minutes $(DEMO_MINUTES))

# The ablation sweep on the shapes dataset (configs/sweeps/shapes_demo.py,
# the demo's data/shapes resized to 160x160): YOLO-MS-XS with kernels
# 3-5-7-9 / 3-3-3-3 / 9-9-9-9, each trained SWEEP_EPOCHS epochs from each
# of SWEEP_SEEDS (tools/sweep.py --epochs rescales the schedule);
# docs/sweeps.md has its measured wall time and table.
# SWEEP_FILE=configs/sweeps/shapes_modules.py sweeps Res2Block, MSFM, SMSL
# and RTMDet-tiny against the same reference. SWEEP_SMOKE=1 trains each run
# from 2 seeds for one epoch of two iterations on a 16-image subset, to
# check the plumbing.
SWEEP_EPOCHS ?= 8
SWEEP_SEEDS ?= 0 1 2 3
SWEEP_FILE ?= configs/sweeps/shapes_demo.py
SWEEP_SMOKE_OPTIONS = --seeds 0 1 --epochs 1 --latency-repeat 2 \
	--latency-rounds 1 --cfg-options train_dataloader.dataset.indices=16 \
	test_dataloader.dataset.indices=8
sweep-demo: WORK_DIR ?= work_dirs/sweep_demo
sweep-demo: setup
	$(PY) tools/generate_shapes.py data/shapes --reuse
	$(PY) tools/sweep.py $(SWEEP_FILE) --out $(WORK_DIR) \
	    $(if $(SWEEP_SMOKE),$(SWEEP_SMOKE_OPTIONS),--seeds $(SWEEP_SEEDS) --epochs $(SWEEP_EPOCHS))

clean:
	rm -rf work_dirs .pytest_cache
