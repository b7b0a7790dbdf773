PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test demo clean

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
WORK_DIR ?= work_dirs/demo
DATA_ROOT ?= data/shapes
demo: setup
	$(PY) tools/run_demo.py --work-dir $(WORK_DIR) --data-root $(DATA_ROOT)

clean:
	rm -rf work_dirs .pytest_cache
