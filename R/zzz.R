#' fastai: Hugging Face transformers trained with fastai, from R
#'
#' The R face of the Python core `fastai_hf`: build `DataBlock`s from data frames, train a
#' [Learner()] with pipes and get data frames, vectors and plots back. Python starts at the first
#' call that needs it, not at `library(fastai)`.
#'
#' Python is found in this order: the `RETICULATE_PYTHON` environment variable; the project's
#' virtualenv `.venv/bin/python` in the working directory or one of its parents (what `make setup`
#' builds); the `r-fastai` virtualenv that [install_fastai()] creates. Without one of them, with
#' reticulate 1.41 or later, the environment reticulate builds from the requirements fastai
#' declares with `py_require()` when it loads (see [install_fastai()]); with an older reticulate,
#' reticulate's own discovery picks a Python. A Python that has fastai's dependencies but not the
#' `fastai_hf` module imports the copy shipped in this package.
#'
#' Speed: R loads its own BLAS into the process before Python starts. So that torch keeps its
#' fast matrix routines instead of binding to R's (often the slow reference BLAS, 10-20 times
#' slower), fastai imports torch first with deep symbol binding. On a machine shared with other
#' processes, also set `OMP_WAIT_POLICY=PASSIVE` in the environment before starting R (e.g. in
#' `~/.Renviron`): R's OpenMP runtime, which torch then uses, reads it only at startup, and
#' spinning threads otherwise slow training many times over.
#'
#' Options: `fastai.progress` sets how training reports progress: `"bar"` (fastprogress bars,
#' redrawn in place), `"table"` (only the epoch table: the default in knitr and when output is not
#' a terminal), `"silent"`, or `"auto"` (the default).
#'
#' @keywords internal
"_PACKAGE"

# The Python modules, imported lazily (`delay_load`): assigned in .onLoad, resolved on first use.
fastai_hf <- NULL
verbs_py <- NULL

# Session state: whether the Python side has been checked once.
.state <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  # reticulate >= 1.41 and no Python picked: declare what fastai needs (install.R), keras3's way
  declare_python_requirements()
  hooks <- list(
    before_load = configure_python,
    on_error = function(e) stop(python_missing_error(conditionMessage(e)))
  )
  fastai_hf <<- reticulate::import("fastai_hf", delay_load = hooks)
  verbs_py <<- reticulate::import("fastai_hf.r.verbs", delay_load = hooks)
}

# Pick the interpreter before reticulate starts one; a no-op once Python runs or when the user
# chose one with RETICULATE_PYTHON (reticulate honours it itself).
configure_python <- function() {
  if (reticulate::py_available(initialize = FALSE)) return(invisible(NULL))
  if (nzchar(Sys.getenv("RETICULATE_PYTHON"))) return(invisible(NULL))
  python <- find_python()
  if (!is.null(python)) reticulate::use_python(python, required = TRUE)
  invisible(python)
}

# The project's .venv (working directory or a parent), else the r-fastai virtualenv, else NULL.
find_python <- function(dir = getwd()) {
  d <- normalizePath(dir, mustWork = FALSE)
  repeat {
    for (py in file.path(d, ".venv", c("bin/python", "Scripts/python.exe"))) {
      if (file.exists(py)) return(py)
    }
    parent <- dirname(d)
    if (identical(parent, d)) break
    d <- parent
  }
  if (reticulate::virtualenv_exists("r-fastai")) return(reticulate::virtualenv_python("r-fastai"))
  NULL
}

# Starts Python (once per session) and checks that fastai_hf imports; otherwise one classed error
# that says how to install it, instead of whatever the first `$` on a missing module would give.
ensure_python <- function() {
  if (isTRUE(.state$ready)) return(invisible(TRUE))
  configure_python()
  # Importing (not just finding) the module also catches a broken install; the error says why.
  ok <- tryCatch({
    preload_torch()
    use_shipped_core()
    reticulate::import("fastai_hf")
    TRUE
  }, error = function(e) e)
  if (!isTRUE(ok)) stop(python_missing_error(conditionMessage(ok)))
  sync_pythonpath()
  .state$ready <- TRUE
  invisible(TRUE)
}

# reticulate sets PYTHONPATH while Python starts and gives R's value back afterwards, but Python's
# os.environ keeps the value of the start: code that later writes os.environ back (datasets' download
# manager does, with mock.patch.dict) would put reticulate's path into this process and so into every
# subprocess (system(), Rscript), e.g. making another Python import this session's packages. Give
# Python's copy R's value.
sync_pythonpath <- function() {
  environ <- reticulate::import("os", convert = FALSE)$environ
  value <- Sys.getenv("PYTHONPATH", unset = NA)
  if (is.na(value)) environ$pop("PYTHONPATH", NULL) else reticulate::py_set_item(environ, "PYTHONPATH", value)
  invisible(NULL)
}

# R's BLAS (libblas.so.3, loaded with R) exports sgemm_ and friends; torch's libtorch_cpu exports
# its own (MKL), and the dynamic linker binds torch's calls to the first definition it finds: R's.
# Importing torch with RTLD_DEEPBIND makes torch use its own symbols; measured on Debian's reference
# BLAS: matrix products 14 times and MiniLM training 12 times faster than a plain import from R.
# A no-op where torch is already imported or the flag does not exist (macOS, Windows).
preload_torch <- function() {
  res <- reticulate::py_run_string(paste(
    "import os, sys",
    "late = 'torch' in sys.modules",
    "if not late and hasattr(os, 'RTLD_DEEPBIND'):",
    "    _flags = sys.getdlopenflags()",
    "    sys.setdlopenflags(_flags | os.RTLD_DEEPBIND)",
    "    try:",
    "        import torch",
    "    except ImportError:",
    "        pass  # reported by the fastai_hf import that follows",
    "    finally:",
    "        sys.setdlopenflags(_flags)",
    sep = "\n"
  ), local = TRUE)
  if (isTRUE(res$late) && .Platform$OS.type == "unix") {
    warning(
      "torch was imported (e.g. with reticulate::import()) before fastai's first call, so it may use R's ",
      "BLAS for matrix products, which can make training many times slower. Restart R and call a fastai ",
      "function (or fastai_available()) before importing torch yourself.",
      call. = FALSE
    )
  }
  invisible(NULL)
}

# The py_require() environment holds fastai's dependencies but not its core: let it (or any Python
# without an installed fastai_hf) import the copy shipped in this package. Appended to sys.path, so
# an installed fastai_hf (make setup's editable one, install_fastai()'s) always wins.
use_shipped_core <- function() {
  core <- shipped_core()
  if (is.null(core)) return(invisible(FALSE))
  util <- reticulate::import("importlib.util")
  if (!is.null(util$find_spec("fastai_hf"))) return(invisible(FALSE))
  reticulate::import("sys", convert = FALSE)$path$append(file.path(core, "python"))
  invisible(TRUE)
}

python_missing_error <- function(detail = NULL) {
  python <- if (reticulate::py_available(initialize = FALSE)) tryCatch(reticulate::py_config()$python, error = function(e) NULL)
  where <- if (!is.null(python)) {
    sprintf("the Python in use (%s) cannot import it", python)
  } else {
    "no Python with it was found"
  }
  msg <- paste0(
    "fastai needs Python with the 'fastai_hf' module (fastai, transformers, torch), but ", where, ".\n",
    "Install it with fastai::install_fastai() and restart R, or set RETICULATE_PYTHON to a Python ",
    "that has it (in the project: `make setup`, then .venv/bin/python)",
    if (py_require_supported()) {
      "; or, with no Python picked, let reticulate build one from fastai's py_require() list."
    } else {
      "."
    }
  )
  detail <- trimws(paste(detail, collapse = " "))
  if (length(detail) && nzchar(detail)) msg <- paste0(msg, "\nDetails: ", detail)
  fastai_error(msg, "fastai_python_missing")
}

#' Is the Python side of fastai available?
#'
#' Starts Python if needed and checks that the `fastai_hf` module imports. Useful to skip code
#' (examples, vignettes, tests) on machines without it.
#'
#' @return `TRUE` or `FALSE`.
#' @export
#' @examples
#' fastai_available()
fastai_available <- function() {
  tryCatch(isTRUE(ensure_python()), fastai_python_missing = function(e) FALSE)
}

# The Python modules, after the check above.
py_fastai <- function() {
  ensure_python()
  fastai_hf
}
