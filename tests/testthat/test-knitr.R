# Training output (R/bridge.R's progress modes, python/fastai_hf/r/output.py): the epoch table in
# knitr documents without progress bars, bars in a console, nothing when silent.

test_that("a knitted chunk shows the epoch table and no carriage returns", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 32L)
  withr::local_options(list(fastai.progress = "auto"))
  rmd <- c("```{r}", "learn %>% fit(1, lr = 1e-4)", "```")
  md <- knitr::knit(text = rmd, quiet = TRUE, envir = environment())
  expect_match(md, "## epoch +train_loss +valid_loss +accuracy_multi +time")
  expect_match(md, "## 0 +[0-9.]+ +[0-9.]+")
  expect_false(grepl("\r", md, fixed = TRUE))
  expect_false(grepl("Epoch 1/1", md, fixed = TRUE))
})

test_that("in bar mode the fastprogress bars reach R's console output", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 32L)
  withr::local_options(list(fastai.progress = "bar"))
  out <- paste(capture.output(learn %>% fit(1, lr = 1e-4)), collapse = "\n")
  expect_match(out, "\r", fixed = TRUE)
  expect_match(out, "Epoch 1/1 :", fixed = TRUE)
  expect_match(out, "train_loss", fixed = TRUE)
})

test_that("in silent mode training prints nothing", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 32L)
  withr::local_options(list(fastai.progress = "silent"))
  expect_identical(capture.output(learn %>% fit(1, lr = 1e-4)), character(0))
  expect_identical(nrow(get_history(learn)), 1L)
})
