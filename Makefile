PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test demo clean

setup:
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup.sh

test: setup
	$(PY) -m pytest tests -q

clean:
	rm -rf work_dirs .pytest_cache
