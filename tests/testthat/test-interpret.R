# R/interpret.R: error analysis. Scores computed in R from label vectors, then a single-label
# tiny-BERT learner (CategoryBlock on GoEmotions' `label`, trained one epoch in each test: see
# single_label_fit()) through the interpretation tables and plots.

truth <- c("joy", "joy", "joy", "anger", "anger", "fear")
pred <- c("joy", "joy", "anger", "anger", "joy", "joy")

test_that("classification_report gives hand-computed per-label precision, recall, F1 and support", {
  rep <- classification_report(truth, pred)
  expect_identical(rep$label, c("anger", "fear", "joy"))
  expect_equal(rep$precision, c(1 / 2, 0, 2 / 4))
  expect_equal(rep$recall, c(1 / 2, 0, 2 / 3))
  expect_equal(rep$f1, c(1 / 2, 0, 2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3)))
  expect_identical(rep$support, c(2L, 1L, 3L))
})

test_that("classification_report orders labels by factor levels and leaves out labels never seen", {
  lv <- c("sadness", "joy", "fear", "anger")
  rep <- classification_report(factor(truth, levels = lv), factor(pred, levels = lv))
  expect_identical(rep$label, c("joy", "fear", "anger"))  # as in scikit-learn: seen labels only
})

test_that("classification_metrics gives accuracy and macro and weighted averages of the report", {
  rep <- classification_report(truth, pred)
  m <- classification_metrics(truth, pred)
  expect_named(m, c("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"))
  expect_equal(m[["accuracy"]], 3 / 6)
  expect_equal(m[["macro_precision"]], mean(rep$precision))
  expect_equal(m[["macro_f1"]], mean(rep$f1))
  expect_equal(m[["weighted_f1"]], sum(rep$f1 * c(2, 1, 3)) / 6)
  expect_identical(classification_metrics(truth, truth)[["macro_f1"]], 1)
})

test_that("the scores refuse label vectors of different lengths, missing predictions or NA", {
  expect_error(classification_report(truth, pred[-1]), "same", class = "fastai_input_error")
  expect_error(classification_report(truth), "predicted", class = "fastai_input_error")
  expect_error(classification_metrics(c("a", NA), c("a", "b")), class = "fastai_input_error")
})

test_that("plot_probabilities draws one bar per label, highest on top", {
  p <- plot_probabilities(c(joy = 0.7, surprise = 0.2, neutral = 0.1), title = "one text")
  expect_s3_class(p, "ggplot")
  expect_identical(levels(p$data$label), c("neutral", "surprise", "joy"))
  expect_identical(p$labels$title, "one text")
  pred <- list(label = "joy", probabilities = data.frame(anger = 0.1, joy = 0.9))
  expect_identical(plot_probabilities(pred)$data$probability, c(0.1, 0.9))
  expect_error(plot_probabilities(data.frame(a = 1:2)), "one text", class = "fastai_input_error")
  expect_error(plot_probabilities(c(0.5, 0.5)), class = "fastai_input_error")
})

test_that("confidence_df gives one row per validation item, linked to the data", {
  skip_if_no_fastai()
  fx <- single_label_fit()
  conf <- confidence_df(fx$learn)
  expect_identical(names(conf), c("row", "text", "label", "predicted", "probability", "label_probability", "loss",
                                  "correct"))
  expect_identical(nrow(conf), 20L)
  expect_identical(levels(conf$label), ekman_labels)
  expect_identical(conf$text, fx$df$text[conf$row])
  expect_identical(as.character(conf$label), fx$df$label[conf$row])
  expect_identical(conf$correct, conf$label == conf$predicted)
  expect_equal(conf$loss, -log(conf$label_probability), tolerance = 1e-4)
  expect_true(all(conf$probability >= conf$label_probability - 1e-7))
})

test_that("top_losses gives the k largest (or smallest) losses, linked to the data", {
  skip_if_no_fastai()
  fx <- single_label_fit()
  conf <- confidence_df(fx$learn)
  tl <- top_losses(fx$learn, k = 5)
  expect_identical(names(tl), c("row", "text", "label", "predicted", "loss", "probability", "label_probability"))
  expect_identical(nrow(tl), 5L)
  expect_equal(tl$loss, sort(conf$loss, decreasing = TRUE)[1:5])
  expect_identical(tl$text, fx$df$text[tl$row])
  low <- top_losses(fx$learn, k = 3, largest = FALSE)
  expect_equal(low$loss, sort(conf$loss)[1:3])
  expect_identical(nrow(top_losses(fx$learn, k = NULL)), 20L)
  expect_error(top_losses(fx$learn, k = 0), class = "fastai_input_error")
  expect_error(top_losses("learn"), class = "fastai_input_error")
})

test_that("the interpretation's confusion matrix counts (actual, predicted) pairs and agrees with fastai's", {
  skip_if_no_fastai()
  learn <- single_label_fit()$learn
  interp <- ClassificationInterpretation_from_learner(learn)
  expect_s3_class(interp, "fastai.interpret.ClassificationInterpretation")
  conf <- confidence_df(interp)
  cm <- confusion_matrix(interp)
  expect_identical(dimnames(cm), list(actual = ekman_labels, predicted = ekman_labels))
  expect_equal(unclass(cm), unclass(as.matrix(table(actual = conf$label, predicted = conf$predicted))),
               ignore_attr = TRUE)
  fastai_cm <- fastai:::fastai_call(reticulate::py_get_attr(interp, "confusion_matrix"))
  expect_equal(unclass(cm), fastai_cm, ignore_attr = TRUE)
  expect_identical(confusion_matrix(learn), cm)  # a learner is interpreted on the fly
})

test_that("a normalized confusion matrix shows each actual label's shares", {
  skip_if_no_fastai()
  interp <- ClassificationInterpretation_from_learner(single_label_fit()$learn)
  cm <- confusion_matrix(interp)
  norm <- confusion_matrix(interp, normalize = TRUE)
  totals <- rowSums(cm)
  expect_equal(rowSums(norm)[totals > 0], rep(1, sum(totals > 0)), ignore_attr = TRUE)
  expect_equal(norm[totals > 0, ], (cm / totals)[totals > 0, ])
  expect_true(all(norm[totals == 0, ] == 0))
})

test_that("plot_confusion_matrix draws one tile per label pair, normalized or as counts", {
  skip_if_no_fastai()
  learn <- single_label_fit()$learn
  interp <- ClassificationInterpretation_from_learner(learn)
  totals <- rowSums(confusion_matrix(interp))
  p <- plot_confusion_matrix(interp)
  expect_s3_class(p, "ggplot")
  expect_identical(nrow(p$data), 49L)
  expect_equal(sum(p$data$value), sum(totals > 0))
  expect_identical(p$labels$title, "Normalized confusion matrix")
  counts <- plot_confusion_matrix(learn, normalize = FALSE, title = "counts")
  expect_equal(sum(counts$data$value), 20)
  expect_identical(counts$labels$title, "counts")
})

test_that("most_confused lists the off-diagonal pairs, most frequent first", {
  skip_if_no_fastai()
  interp <- ClassificationInterpretation_from_learner(single_label_fit()$learn)
  off <- confusion_matrix(interp)
  diag(off) <- 0
  mc <- most_confused(interp)
  expect_identical(names(mc), c("actual", "predicted", "n"))
  expect_identical(sum(mc$n), as.integer(sum(off)))
  expect_false(is.unsorted(rev(mc$n)))
  expect_true(all(mc$actual != mc$predicted))
  expect_identical(nrow(most_confused(interp, min_val = 1000)), 0L)
})

test_that("the scores of a learner are those of its validation predictions, and fastai's F1 agrees", {
  skip_if_no_fastai()
  learn <- single_label_fit()$learn
  interp <- ClassificationInterpretation_from_learner(learn)
  conf <- confidence_df(interp)
  m <- classification_metrics(interp)
  expect_equal(m, classification_metrics(conf$label, conf$predicted))
  expect_equal(m[["accuracy"]], mean(conf$correct))
  # fastai's F1Score(average = "macro") in the history scores the same predictions
  h <- get_history(learn)
  expect_equal(m[["macro_f1"]], h$f1_score[nrow(h)], tolerance = 1e-6)
  expect_identical(sum(classification_report(learn)$support), 20L)
  expect_error(classification_report(learn, conf$predicted), "leave predicted = NULL", class = "fastai_input_error")
})

test_that("predict on one text gives probabilities to plot", {
  skip_if_no_fastai()
  learn <- single_label_fit()$learn
  p <- predict(learn, "What a lovely surprise!")
  g <- plot_probabilities(p)
  expect_s3_class(g, "ggplot")
  expect_identical(sort(as.character(g$data$label)), sort(ekman_labels))
  expect_equal(sum(g$data$probability), 1, tolerance = 1e-5)
  expect_identical(as.character(g$data$label[which.max(g$data$probability)]), p$label)
})
