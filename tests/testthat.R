# Runs the package tests under R CMD check. They need the Python side (fastai_hf); without it they
# skip, unless FASTAI_REQUIRE_PYTHON=true (as in `make test`), which turns a missing Python into a failure.
library(testthat)
library(fastai)

test_check("fastai")
