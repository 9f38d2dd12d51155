# Attaching fastai masks nothing (R/learner.R exports py_partial(), lr_slice(), RecallScore() and
# Accuracy(); R/train.R's fit() is a method of generics::fit), while fastai's own names keep working
# inside its functions (fastai_mask() in R/bridge.R).

# Messages (and warnings) that library(fastai) gives in a new R session after `before`.
attach_messages <- function(before = character()) {
  rscript(paste0(
    paste0("suppressPackageStartupMessages(library(", before, "));", collapse = ""),
    "withCallingHandlers(library(fastai),",
    " message = function(m) cat('MESSAGE:', conditionMessage(m)),",
    " warning = function(w) cat('WARNING:', conditionMessage(w)));",
    "cat('attached:', 'package:fastai' %in% search())"
  ))
}

test_that("library(fastai) in a new R session prints no masking message", {
  out <- attach_messages()
  expect_match(out, "attached: TRUE")
  expect_false(grepl("MESSAGE|WARNING|masked", out))
})

test_that("library(fastai) after purrr, dplyr and generics masks none of their functions", {
  skip_if_not_installed("purrr")
  skip_if_not_installed("dplyr")
  skip_if_not_installed("generics")
  out <- attach_messages(c("purrr", "dplyr", "generics"))
  expect_match(out, "attached: TRUE")
  expect_false(grepl("MESSAGE|WARNING|masked", out))
})

test_that("purrr, dplyr and generics attached after fastai mask none of its functions", {
  skip_if_not_installed("purrr")
  skip_if_not_installed("dplyr")
  skip_if_not_installed("generics")
  out <- rscript(paste(
    "library(fastai)",
    "for (p in c('purrr', 'dplyr', 'generics')) withCallingHandlers(library(p, character.only = TRUE),",
    "  message = function(m) { cat('MESSAGE:', conditionMessage(m)); invokeRestart('muffleMessage') })",
    "cat('partial:', environmentName(environment(partial)), 'slice:', environmentName(environment(slice)))",
    sep = "\n"
  ))
  expect_false(grepl("package:fastai", out, fixed = TRUE))
  expect_match(out, "partial: purrr slice: dplyr")
})

test_that("fastai's fit() is generics' fit(), which dispatches to fastai's method for a learner", {
  skip_if_no_fastai()
  expect_identical(fit, generics::fit)
  learn <- multilabel_learner(n = 24L)
  withr::local_options(list(fastai.progress = "silent"))
  res <- withVisible(generics::fit(learn, 1, lr = 1e-3))
  expect_false(res$visible)
  expect_identical(res$value, learn)
  expect_identical(nrow(get_history(learn)), 1L)
})

test_that("inside fastai's functions partial(), slice(), Recall() and accuracy() are fastai's, with purrr and dplyr attached", {
  skip_if_no_fastai()
  skip_if_not_installed("purrr")
  skip_if_not_installed("dplyr")
  withr::local_package("purrr")
  withr::local_package("dplyr")
  expect_identical(environmentName(environment(partial)), "purrr")
  df <- goemotions_rows(60L, single_label = TRUE)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  dls <- DataBlock(blocks = list(HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model), CategoryBlock(vocab = ekman_labels)),
                   get_x = ColReader("text"), get_y = ColReader("label"), splitter = RandomSplitter(seed = 1)) %>%
    dataloaders(df, bs = 8)
  learn <- Learner(dls, HF_BaseModelWrapper(hf_model), opt_func = partial(Adam, eps = 1e-6),
                   metrics = list(accuracy(), Recall(average = "macro")), cbs = HF_BaseModelCallback(),
                   splitter = hf_splitter())
  expect_identical(py_name(learn$opt_func$func), "Adam")
  expect_equal(learn$opt_func$keywords$eps, 1e-6)
  metric_names <- vapply(learn$metrics, function(m) m$name, "")  # an L arrives as an R list
  expect_identical(metric_names, c("accuracy", "recall_score"))
  withr::local_options(list(fastai.progress = "silent"))
  learn %>% fit_one_cycle(1, slice(1e-5, 1e-3))
  expect_identical(names(get_history(learn)), c("epoch", "train_loss", "valid_loss", "accuracy", "recall_score", "time"))
})
