# R/predict.R: predict() / hf_predict() for texts, get_preds(), show_results() and the multi-label
# evaluation helpers, on a tiny BERT trained one epoch in each test.

texts <- c("I am so happy today", "this is awful", "what a surprise")

test_that("a multi-label learner predicts one text as probabilities and the labels above the threshold", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  p <- predict(learn, texts[1])
  expect_named(p, c("probabilities", "labels"))
  expect_s3_class(p$probabilities, "data.frame")
  expect_identical(dim(p$probabilities), c(1L, 7L))
  expect_identical(names(p$probabilities), ekman_labels)
  expect_type(p$labels, "character")
  expect_identical(p$labels, ekman_labels[unlist(p$probabilities) >= 0.5])  # the loss's default threshold
})

test_that("thresh sets the threshold: 0 takes every label, 1 none, one per label each its own", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  expect_identical(predict(learn, texts[1], thresh = 0)$labels, ekman_labels)
  expect_identical(predict(learn, texts[1], thresh = 1)$labels, character(0))
  expect_identical(predict(learn, texts[1], thresh = c(0, 1, 1, 1, 1, 1, 1))$labels, "anger")
})

test_that("without thresh, predict uses the threshold set on the loss", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  learn$loss_func$thresh <- 0.02
  p <- predict(learn, texts[1])
  expect_identical(p$labels, ekman_labels[unlist(p$probabilities) >= 0.02])
})

test_that("several texts give one data frame, one row per text in order, the same as one at a time", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  many <- learn %>% predict(texts)
  expect_s3_class(many, "data.frame")
  expect_identical(names(many), c(ekman_labels, "predicted"))
  expect_identical(nrow(many), 3L)
  expect_type(many$predicted, "list")
  expect_true(all(vapply(many$predicted, is.character, logical(1))))
  expect_true(all(many[, ekman_labels] >= 0 & many[, ekman_labels] <= 1))
  expect_equal(unlist(predict(learn, texts[2])$probabilities), unlist(many[2, ekman_labels]), tolerance = 1e-5)
})

test_that("a data frame or data.table of texts predicts from its text column", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  many <- predict(learn, texts)
  from_df <- predict(learn, data.frame(text = texts, other = 1:3))
  expect_equal(from_df[, ekman_labels], many[, ekman_labels], tolerance = 1e-5)
  from_dt <- predict(learn, data.table::data.table(text = texts))
  expect_equal(from_dt[, ekman_labels], many[, ekman_labels], tolerance = 1e-5)
})

test_that("hf_predict() always returns the data frame, also for one text", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  one <- hf_predict(learn, texts[1])
  expect_s3_class(one, "data.frame")
  expect_identical(names(one), c(ekman_labels, "predicted"))
  expect_identical(nrow(one), 1L)
})

test_that("predict checks the texts and thresholds, in R where it can", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  expect_error(predict(learn, c("fine", NA)), "positions 2 are missing or empty", class = "fastai_input_error")
  expect_error(predict(learn, 42), "texts \\(a character vector\\).*or a data frame, not 42", class = "fastai_input_error")
  expect_error(predict(learn, "x", thresh = 2), "thresh", class = "fastai_input_error")
  err <- expect_error(predict(learn, data.frame(txt = "no text column")), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "no text column")
  expect_error(predict(learn, "x", thresh = c(0.1, 0.2)), "2 thresholds for 7 labels", class = "fastai_python_error")
})

test_that("a single-label learner predicts a class label and probabilities that sum to 1", {
  skip_if_no_fastai()
  learn <- single_label_fit()$learn
  labels <- learn$dls$vocab
  one <- predict(learn, "thank you so much")
  expect_named(one, c("label", "probabilities"))
  expect_true(one$label %in% labels)
  expect_identical(names(one$probabilities), labels)
  expect_equal(sum(one$probabilities), 1, tolerance = 1e-5)
  expect_identical(one$label, labels[which.max(unlist(one$probabilities))])
  many <- predict(learn, c("thank you so much", "I hate this"))
  expect_type(many$predicted, "character")
  expect_equal(rowSums(many[, labels]), c(1, 1), tolerance = 1e-5)
})

test_that("get_preds gives a probability matrix named by label, 0/1 targets and decoded predictions", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  p <- get_preds(learn, with_decoded = TRUE)
  expect_true(is.matrix(p$preds))
  expect_identical(colnames(p$preds), ekman_labels)
  expect_identical(nrow(p$preds), 16L)  # 20% of 80 rows
  expect_identical(dim(p$targets), dim(p$preds))
  expect_true(all(p$targets %in% c(0, 1)))
  expect_type(p$decoded, "logical")
  expect_identical(nrow(get_preds(learn, dataset = "train", reorder = FALSE)$preds), 64L)
  expect_error(get_preds(learn, dataset = "test"), "dataset must be one of \"train\", \"valid\"",
               class = "fastai_input_error")
})

test_that("get_preds on new texts gives their probabilities and no targets", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  pt <- get_preds(learn, texts = c("a", "b c"))
  expect_identical(dim(pt$preds), c(2L, 7L))
  expect_null(pt$targets)
  expect_equal(unname(pt$preds[2, ]), unname(unlist(predict(learn, "b c")$probabilities)), tolerance = 1e-5)
})

test_that("get_preds of a single-label learner gives the targets as a factor of the labels", {
  skip_if_no_fastai()
  learn <- single_label_fit()$learn
  g <- get_preds(learn, with_decoded = TRUE)
  expect_s3_class(g$targets, "factor")
  expect_identical(levels(g$targets), ekman_labels)
  expect_equal(rowSums(g$preds), rep(1, nrow(g$preds)), tolerance = 1e-5)
  expect_identical(as.character(g$decoded), ekman_labels[max.col(g$preds, ties.method = "first")])
})

test_that("show_results gives a batch of texts, targets and predictions", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  sr <- show_results(learn, max_n = 4)
  expect_s3_class(sr, "data.frame")
  expect_identical(names(sr), c("text", "target", "predicted"))
  expect_identical(nrow(sr), 4L)
})

test_that("multilabel_metrics scores the validation set at a threshold", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  m <- multilabel_metrics(learn, thresh = 0.3)
  expect_named(m, c("f1_micro", "f1_macro", "roc_auc_micro", "roc_auc_macro", "accuracy_subset", "accuracy_multi"))
  expect_type(m, "double")
  p <- get_preds(learn)
  expect_equal(m[["accuracy_multi"]], mean((p$preds >= 0.3) == (p$targets == 1)), tolerance = 1e-6)
})

test_that("find_thresholds picks a threshold per label from the grid, and apply = TRUE sets them", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner()
  th <- find_thresholds(learn, grid = c(0.1, 0.5, 0.9))
  expect_identical(names(th), c("label", "threshold", "f1", "support"))
  expect_identical(th$label, ekman_labels)
  expect_true(all(th$threshold %in% c(0.1, 0.5, 0.9)))
  find_thresholds(learn, grid = c(0.1, 0.5, 0.9), apply = TRUE)
  p <- predict(learn, texts[1])  # predict now uses them
  expect_identical(p$labels, ekman_labels[unlist(p$probabilities) >= th$threshold])
})
