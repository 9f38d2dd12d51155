# The self-describing folder: hf_save_pretrained -> hf_load_learner (in a fresh R process too), the
# run record, the model card and the errors for damaged folders.

texts <- c("thank you, this made my day", "I can't believe they did that, awful", "hmm",
           "what a scary night", "so sad to hear that", "wow, did not expect that at all")

# A learner trained frozen then unfrozen through the R verbs, with per-label thresholds at the
# median probability of `texts` (so about half the labels are predicted, and none at 0.5), saved
# once for the tests that only read the folder.
saved_folder <- function() {
  if (is.null(fixtures$saved)) {
    learn <- multilabel_learner()
    withr::with_options(list(fastai.progress = "silent"), {
      learn %>% freeze() %>% fit_one_cycle(1, lr_max = 1e-3)
      learn %>% unfreeze() %>% fit_one_cycle(1, lr_max = slice(1e-5, 1e-3))
    })
    thresh <- apply(as.matrix(predict(learn, texts)[, ekman_labels]), 2, stats::median)
    learn$loss_func$thresh <- reticulate::import("torch")$tensor(unname(as.list(thresh)))
    path <- file.path(tempfile("saved-"), "emotions")
    dir.create(dirname(path))
    hf_save_pretrained(learn, path)
    fixtures$saved <- list(path = path, preds = predict(learn, texts), at_half = predict(learn, texts, thresh = 0.5),
                           thresh = thresh, record = run_record(learn))
  }
  fixtures$saved
}

# A copy of the saved folder that a test may damage.
folder_copy <- function() {
  to <- tempfile("copy-")
  dir.create(to)
  file.copy(saved_folder()$path, to, recursive = TRUE)
  file.path(to, "emotions")
}

test_that("hf_save_pretrained writes safetensors, the tokenizer, fastai_hf.json and a card, and no pickle", {
  skip_if_no_fastai()
  files <- list.files(saved_folder()$path)
  expect_true(all(c("config.json", "model.safetensors", "tokenizer.json", "fastai_hf.json", "README.md") %in% files))
  expect_false(any(grepl("\\.(bin|pkl|pickle|pt|pth|ckpt)$", files)))
  spec <- jsonlite::fromJSON(file.path(saved_folder()$path, "fastai_hf.json"), simplifyVector = FALSE)
  expect_equal(unlist(spec$task_settings$thresholds), saved_folder()$thresh, tolerance = 1e-6)
  expect_equal(spec$versions[["fastai (R package)"]], as.character(utils::packageVersion("fastai")))
  expect_equal(spec$inputs$text_columns[[1]], "text")
})

test_that("a fresh R process loads the folder and predicts the same probabilities and labels", {
  skip_if_no_fastai()
  skip_if_not_installed("callr")
  saved <- saved_folder()
  expect_false(identical(saved$preds$predicted, saved$at_half$predicted))  # the thresholds matter
  python <- reticulate::py_config()$python
  fresh <- callr::r(function(path, texts) {
    library(fastai)
    predict(hf_load_learner(path), texts)
  }, args = list(path = saved$path, texts = texts), libpath = .libPaths(),
  env = c(callr::rcmd_safe_env(), RETICULATE_PYTHON = python))
  expect_identical(fresh[, ekman_labels], saved$preds[, ekman_labels])
  expect_identical(fresh$predicted, saved$preds$predicted)
})

test_that("the run record has one row per fit, with the recipe", {
  skip_if_no_fastai()
  rec <- saved_folder()$record
  expect_s3_class(rec, "data.frame")
  expect_equal(nrow(rec), 2L)
  expect_equal(rec$method, c("fit_one_cycle", "fit_one_cycle"))
  expect_equal(rec$epochs, c(1L, 1L))
  expect_equal(rec$frozen_groups, c(3L, 0L))
  expect_equal(rec$bs, c(8L, 8L))
  expect_equal(rec$n_train, c(64L, 64L))
  expect_equal(length(rec$lr[[2]]), 4L)
  expect_equal(rec$lr[[2]], exp(seq(log(1e-5), log(1e-3), length.out = 4)), tolerance = 1e-6)
  expect_true(all(c("train_loss", "valid_loss", "accuracy_multi") %in% names(rec)))
})

test_that("the card states the learner's thresholds, recipe, metrics and R's versions", {
  skip_if_no_fastai()
  saved <- saved_folder()
  card <- readLines(file.path(saved$path, "README.md"))
  expect_equal(card[1], "---")
  expect_true("pipeline_tag: text-classification" %in% card)
  for (l in ekman_labels) expect_true(sprintf("| %s | %s |", l, signif(saved$thresh[[l]], 3)) %in% card)
  rows <- grep("^\\| [12] \\| fit_one_cycle", card, value = TRUE)
  expect_length(rows, 2L)
  cells <- lapply(strsplit(rows, "|", fixed = TRUE), trimws)
  expect_equal(vapply(cells, `[`, "", 4), c("1", "1"))        # epochs
  expect_equal(vapply(cells, `[`, "", 7), c("8", "8"))        # batch size
  expect_match(cells[[1]][6], "^3 of 4 groups")                # frozen stage
  expect_equal(cells[[2]][6], "none")
  expect_true(sprintf("| fastai (R package) | %s |", utils::packageVersion("fastai")) %in% card)
  expect_true(sprintf("| R | %s.%s |", R.version$major, R.version$minor) %in% card)
  last <- saved$record[nrow(saved$record), ]
  expect_true(sprintf("| valid_loss | %s |", signif(last$valid_loss, 4)) %in% card)
  expect_true(any(grepl("| accuracy_multi (thresh=0.2) |", card, fixed = TRUE)))
})

test_that("a loaded learner trains further on new data and its record continues", {
  skip_if_no_fastai()
  df <- load_goemotions("ekman", n_rows = 40)[, c("text", ekman_labels)]
  learn <- hf_load_learner(saved_folder()$path, df = df, valid_pct = 0.25, seed = 1)
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, lr_max = 1e-3))
  rec <- run_record(learn)
  expect_equal(nrow(rec), 3L)
  expect_equal(rec$n_train[3], 30L)
  expect_true(is.finite(rec$train_loss[3]))
  expect_named(predict(learn, texts[1:2]), c(ekman_labels, "predicted"))
})

test_that("loading a folder with a missing or changed file names the file", {
  skip_if_no_fastai()
  path <- folder_copy()
  file.remove(file.path(path, "tokenizer.json"))
  expect_error(hf_load_learner(path), class = "fastai_FileNotFoundError", regexp = "tokenizer.json is missing")
  path <- folder_copy()
  weights <- file.path(path, "model.safetensors")
  bytes <- readBin(weights, "raw", file.size(weights))
  bytes[length(bytes) - 1L] <- as.raw((as.integer(bytes[length(bytes) - 1L]) + 1L) %% 256L)
  writeBin(bytes, weights)
  expect_error(hf_load_learner(path), class = "fastai_ValueError", regexp = "model.safetensors in .* was changed")
  expect_error(hf_load_learner(path), regexp = "verify = FALSE")  # the advice is R code
  file.remove(file.path(path, "fastai_hf.json"))
  expect_error(hf_load_learner(path), class = "fastai_FileNotFoundError", regexp = "fastai_hf.json is missing")
})

test_that("hf_save_pretrained and hf_load_learner check their arguments in R", {
  skip_if_no_fastai()
  expect_error(hf_save_pretrained(trained_learner(), tempfile(), card_data = "MIT"), class = "fastai_input_error",
               regexp = "named list")
  expect_error(hf_load_learner(saved_folder()$path, df = "a.csv"), class = "fastai_input_error",
               regexp = "df must be a data frame")
  expect_error(hf_load_learner(saved_folder()$path, bs = 0), class = "fastai_input_error")
})
