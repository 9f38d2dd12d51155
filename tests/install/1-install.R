# Step 3 of run.sh: install_fastai() with no arguments, as a new user runs it, from a folder that is
# not a checkout. Fails (non-zero exit) on the first unmet expectation.
check <- function(ok, ...) if (!isTRUE(ok)) stop("test-install: ", ..., call. = FALSE)

library(fastai)
lib <- normalizePath(Sys.getenv("R_LIBS"))
check(startsWith(find.package("fastai"), lib), "fastai loaded from ", find.package("fastai"), ", not ", lib)
check(!nzchar(Sys.getenv("RETICULATE_PYTHON")), "RETICULATE_PYTHON is set")
check(!reticulate::virtualenv_exists("r-fastai"), "an r-fastai env exists before install_fastai()")
check(!reticulate::py_available(), "library(fastai) started Python")

# The core comes from the installed package, not from a checkout around the working directory.
core <- fastai:::core_source()
check(identical(core, normalizePath(system.file("fastai_hf", package = "fastai"))),
      "install_fastai() would take fastai_hf from ", core)
check(inherits(tryCatch(fastai:::find_fastai_hf_source(), error = identity), "fastai_input_error"),
      "the working directory ", getwd(), " is inside a checkout")

started <- Sys.time()
py <- install_fastai()
message(sprintf("install_fastai() took %.0f s", as.numeric(Sys.time() - started, units = "secs")))
check(file.exists(py), "install_fastai() returned ", py)
check(reticulate::virtualenv_exists("r-fastai"), "no r-fastai env after install_fastai()")
check(startsWith(py, normalizePath(Sys.getenv("WORKON_HOME"))),  # (not normalised: bin/python is a symlink)
      "the env is not under WORKON_HOME: ", py)
# the plan's torchvision removal ran (fastai pulls it; it breaks transformers beside CPU torch)
check(system2(py, c("-c", shQuote("import importlib.util as u; raise SystemExit(u.find_spec('torchvision') is not None)"))) == 0,
      "torchvision is still installed in the env")
