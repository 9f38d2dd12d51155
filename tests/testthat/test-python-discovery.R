# R/zzz.R: Python is found without starting at library(); a missing module gives one classed error.
# (rscript() is in helper-fastai.R.)

test_that("library(fastai) does not start Python", {
  out <- rscript("suppressMessages(library(fastai)); cat('started:', reticulate::py_available())")
  expect_match(out, "started: FALSE")
})

test_that("the project's .venv is found in the working directory or a parent", {
  root <- withr::local_tempdir()
  dir.create(file.path(root, ".venv", "bin"), recursive = TRUE)
  file.create(file.path(root, ".venv", "bin", "python"))
  deep <- file.path(root, "a", "b")
  dir.create(deep, recursive = TRUE)
  expect_identical(fastai:::find_python(deep), normalizePath(file.path(root, ".venv", "bin", "python")))
})

test_that("a Python without fastai_hf gives one classed error that says how to install", {
  skip_if_no_fastai()
  # A bare virtualenv made from the interpreter in use: Python without fastai_hf.
  base <- reticulate::py_eval("__import__('sys')._base_executable")
  bare <- withr::local_tempdir()
  system2(base, c("-m", "venv", "--without-pip", bare))
  py <- file.path(bare, "bin", "python")
  expect_true(file.exists(py))
  out <- rscript(paste(
    "suppressMessages(library(fastai))",
    "cat('available:', fastai_available(), '\\n')",
    "e <- tryCatch(minilm_path(), error = identity)",
    "cat('class:', class(e), '\\n')",
    "cat(conditionMessage(e))",
    "e2 <- tryCatch(Adam(), error = identity)",
    "cat('\\nagain:', class(e2)[1])",
    sep = "; "
  ), env = paste0("RETICULATE_PYTHON=", py))
  expect_match(out, "available: FALSE")
  expect_match(out, "class: fastai_python_missing fastai_error error condition")
  expect_match(out, "install_fastai()", fixed = TRUE)
  expect_match(out, "RETICULATE_PYTHON")
  expect_match(out, "again: fastai_python_missing")
  expect_false(grepl("$ operator", out, fixed = TRUE))
})

test_that("Python keeps R's PYTHONPATH: code that restores os.environ does not leak reticulate's into subprocesses", {
  skip_if_no_fastai()
  before <- Sys.getenv("PYTHONPATH", unset = NA)
  csv <- withr::local_tempfile(fileext = ".csv")
  utils::write.csv(data.frame(text = c("a", "b")), csv, row.names = FALSE)
  HF_load_dataset("csv", data_files = csv, split = "train")  # datasets restores os.environ on the way out
  expect_identical(Sys.getenv("PYTHONPATH", unset = NA), before)
})
