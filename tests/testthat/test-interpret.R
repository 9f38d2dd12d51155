# Error analysis and feature extraction: scores computed in R, then a single-label tiny-BERT learner
# (CategoryBlock on GoEmotions' `label`) through the interpretation tables and plots.

test_that("classification_report and classification_metrics match hand-computed scores", {
  truth <- c("joy", "joy", "joy", "anger", "anger", "fear")
  pred <- c("joy", "joy", "anger", "anger", "joy", "joy")
  rep <- classification_report(truth, pred)
  expect_identical(rep$label, c("anger", "fear", "joy"))
  expect_equal(rep$precision, c(1 / 2, 0, 2 / 4))
  expect_equal(rep$recall, c(1 / 2, 0, 2 / 3))
  expect_equal(rep$f1, c(1 / 2, 0, 2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3)))
  expect_identical(rep$support, c(2L, 1L, 3L))
  m <- classification_metrics(truth, pred)
  expect_named(m, c("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"))
  expect_equal(m[["accuracy"]], 3 / 6)
  expect_equal(m[["macro_f1"]], mean(rep$f1))
  expect_equal(m[["weighted_f1"]], sum(rep$f1 * c(2, 1, 3)) / 6)
  # factor levels set the order; labels neither true nor predicted are left out (as in scikit-learn)
  lv <- c("sadness", "joy", "fear", "anger")
  rep2 <- classification_report(factor(truth, levels = lv), factor(pred, levels = lv))
  expect_identical(rep2$label, c("joy", "fear", "anger"))
  expect_identical(classification_metrics(truth, truth)[["macro_f1"]], 1)

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

interp_fx <- new.env(parent = emptyenv())

# A single-label tiny-BERT learner on 100 rows, trained one epoch, and its data.
single_label_learner <- function() {
  if (is.null(interp_fx$learn)) {
    df <- load_goemotions("ekman", n_rows = 100, single_label = TRUE)
    config <- AutoConfig()$from_pretrained(tiny_model())
    config$num_labels <- length(ekman_labels)
    c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_model(), config = config)
    dblock <- DataBlock(blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer),
                                      CategoryBlock(vocab = ekman_labels)),
                        get_x = ColReader("text"), get_y = ColReader("label"), splitter = RandomSplitter(seed = 1))
    set_seed(1)
    learn <- Learner(dataloaders(dblock, df, bs = 8), HF_BaseModelWrapper(hf_model), cbs = HF_BaseModelCallback(),
                     splitter = hf_splitter(), metrics = list(accuracy(), F1Score(average = "macro")))
    withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, lr_max = 1e-3))
    interp_fx$learn <- learn
    interp_fx$df <- df
    interp_fx$tokenizer <- hf_tokenizer
    interp_fx$model <- hf_model
  }
  interp_fx$learn
}

test_that("confidence_df and top_losses give one row per validation item, linked to the data", {
  skip_if_no_fastai()
  learn <- single_label_learner()
  df <- interp_fx$df
  conf <- confidence_df(learn)
  expect_identical(names(conf), c("row", "text", "label", "predicted", "probability", "label_probability", "loss",
                                  "correct"))
  expect_identical(nrow(conf), 20L)
  expect_identical(levels(conf$label), ekman_labels)
  expect_identical(conf$text, df$text[conf$row])
  expect_identical(as.character(conf$label), df$label[conf$row])
  expect_identical(conf$correct, conf$label == conf$predicted)
  expect_equal(conf$loss, -log(conf$label_probability), tolerance = 1e-4)
  expect_true(all(conf$probability >= conf$label_probability - 1e-7))

  tl <- top_losses(learn, k = 5)
  expect_identical(names(tl), c("row", "text", "label", "predicted", "loss", "probability", "label_probability"))
  expect_identical(nrow(tl), 5L)
  expect_equal(tl$loss, sort(conf$loss, decreasing = TRUE)[1:5])
  expect_identical(tl$text, df$text[tl$row])
  low <- top_losses(learn, k = 3, largest = FALSE)
  expect_equal(low$loss, sort(conf$loss)[1:3])
  expect_identical(nrow(top_losses(learn, k = NULL)), 20L)
  expect_error(top_losses(learn, k = 0), class = "fastai_input_error")
  expect_error(top_losses("learn"), class = "fastai_input_error")
})

test_that("the interpretation gives the confusion matrix, its plot and the most confused pairs", {
  skip_if_no_fastai()
  learn <- single_label_learner()
  interp <- ClassificationInterpretation_from_learner(learn)
  expect_s3_class(interp, "fastai.interpret.ClassificationInterpretation")
  conf <- confidence_df(interp)
  cm <- confusion_matrix(interp)
  expect_identical(dimnames(cm), list(actual = ekman_labels, predicted = ekman_labels))
  expect_equal(unclass(cm), unclass(as.matrix(table(actual = conf$label, predicted = conf$predicted))),
               ignore_attr = TRUE)
  norm <- confusion_matrix(interp, normalize = TRUE)
  totals <- rowSums(cm)
  expect_equal(rowSums(norm)[totals > 0], rep(1, sum(totals > 0)), ignore_attr = TRUE)
  expect_equal(norm[totals > 0, ], (cm / totals)[totals > 0, ])
  # fastai's own matrix agrees
  fastai_cm <- with(learn$no_bar(), fastai:::bridge_call("call", interp$confusion_matrix))
  expect_equal(unclass(cm), fastai_cm, ignore_attr = TRUE)

  p <- plot_confusion_matrix(interp)
  expect_s3_class(p, "ggplot")
  expect_identical(nrow(p$data), 49L)
  expect_equal(sum(p$data$value), sum(totals > 0))
  expect_identical(p$labels$title, "Normalized confusion matrix")
  counts <- plot_confusion_matrix(learn, normalize = FALSE, title = "counts")
  expect_equal(sum(counts$data$value), 20)
  expect_identical(counts$labels$title, "counts")

  mc <- most_confused(interp)
  expect_identical(names(mc), c("actual", "predicted", "n"))
  off <- cm
  diag(off) <- 0
  expect_identical(sum(mc$n), as.integer(sum(off)))
  expect_false(is.unsorted(rev(mc$n)))
  expect_true(all(mc$actual != mc$predicted))
  expect_identical(nrow(most_confused(interp, min_val = 1000)), 0L)

  m <- classification_metrics(interp)
  expect_equal(m, classification_metrics(conf$label, conf$predicted))
  expect_equal(m[["accuracy"]], mean(conf$correct))
  # fastai's F1Score(average = "macro") in the history scores the same predictions
  h <- get_history(learn)
  expect_equal(m[["macro_f1"]], h$f1_score[nrow(h)], tolerance = 1e-6)
  rep <- classification_report(learn)
  expect_identical(sum(rep$support), 20L)
})

test_that("predict on one text gives probabilities to plot", {
  skip_if_no_fastai()
  learn <- single_label_learner()
  p <- predict(learn, "What a lovely surprise!")
  g <- plot_probabilities(p)
  expect_s3_class(g, "ggplot")
  expect_identical(sort(as.character(g$data$label)), sort(ekman_labels))
  expect_equal(sum(g$data$probability), 1, tolerance = 1e-5)
  expect_identical(as.character(g$data$label[which.max(g$data$probability)]), p$label)
})

test_that("hf_hidden_states returns one row per text in input order, for both poolings", {
  skip_if_no_fastai()
  learn <- single_label_learner()
  model <- interp_fx$model
  tok <- interp_fx$tokenizer
  texts <- c(a = "I love it", b = "This is a much longer text about nothing in particular", c = "meh")
  x <- hf_hidden_states(texts, model, tok)
  expect_true(is.matrix(x) && is.double(x))
  expect_identical(dim(x), c(3L, 32L))  # the tiny BERT's hidden size
  expect_identical(rownames(x), c("a", "b", "c"))
  # order and batch size do not change a text's vector
  rev_x <- hf_hidden_states(rev(unname(texts)), model, tok, bs = 1)
  expect_equal(rev_x[3:1, ], unname(x), tolerance = 1e-5, ignore_attr = TRUE)
  mean_x <- hf_hidden_states(texts, model, tok, pooling = "mean")
  expect_false(isTRUE(all.equal(mean_x, x)))
  # a learner brings its own model and tokenizer
  expect_equal(hf_hidden_states(texts, learn, pooling = "mean"), mean_x, tolerance = 1e-5)
  emb <- hf_hidden_states("one", model, tok, layer = 0)
  expect_identical(dim(emb), c(1L, 32L))

  expect_error(hf_hidden_states(texts, model, tok, pooling = "max"), "pooling", class = "fastai_input_error")
  expect_error(hf_hidden_states(c("ok", NA), model, tok), class = "fastai_input_error")
  expect_error(hf_hidden_states("ok", "model", tok), class = "fastai_input_error")
  expect_error(hf_hidden_states("ok", model, tok, layer = 9), "layer", class = "fastai_ValueError")
})
