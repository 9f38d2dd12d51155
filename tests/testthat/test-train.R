# R/train.R: the training verbs (fit is generics::fit's method), freezing, the history and its
# plots, lr_find.

test_that("training verbs return the learner invisibly and chain with both pipes", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 48L)
  withr::local_options(list(fastai.progress = "silent"))
  res <- withVisible(learn %>% fit_one_cycle(1, lr_max = 1e-3))
  expect_false(res$visible)
  expect_identical(res$value, learn)
  learn2 <- learn %>% freeze() %>% fit_one_cycle(1, lr_max = 1e-3) |> unfreeze() |>
    fit_one_cycle(1, lr_max = slice(1e-5, 1e-3)) %>% freeze_to(-2) %>% fit(1, lr = c(1e-5, 1e-4, 1e-4, 1e-3))
  expect_identical(learn2, learn)
  expect_identical(get_history(learn)$epoch, 1:4)
})

test_that("get_history() is a data frame of every epoch across fits", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 48L)
  expect_identical(nrow(get_history(learn)), 0L)
  withr::local_options(list(fastai.progress = "silent"))
  learn %>% fit_one_cycle(2, lr_max = 1e-3) %>% fit(1, lr = 1e-4)
  h <- get_history(learn)
  expect_s3_class(h, c("fastai_history", "data.frame"))
  expect_identical(names(h), c("epoch", "train_loss", "valid_loss", "accuracy_multi", "time"))
  expect_identical(h$epoch, 1:3)
  expect_true(all(is.finite(h$train_loss)) && all(h$time >= 0))
  expect_true(all(h$accuracy_multi >= 0 & h$accuracy_multi <= 1))
})

test_that("plot() of the history and plot_loss() are ggplots; an empty history says to train first", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 48L)
  expect_error(plot(get_history(learn)), "train the learner first", class = "fastai_input_error")
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(2, lr_max = 1e-3))
  p <- plot(get_history(learn))
  expect_s3_class(p, "ggplot")
  expect_setequal(unique(p$data$series), c("train_loss", "valid_loss", "accuracy_multi"))
  pl <- plot_loss(learn, skip_start = 0)
  expect_s3_class(pl, "ggplot")
  expect_setequal(unique(pl$data$series), c("train", "valid"))
})

test_that("validate() gives the loss and metrics of the last epoch, adding no history row", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner(n = 48L)
  v <- validate(learn)
  expect_named(v, c("valid_loss", "accuracy_multi"))
  expect_equal(unname(v[["valid_loss"]]), get_history(learn)$valid_loss[1], tolerance = 1e-5)
  expect_identical(nrow(get_history(learn)), 1L)
  expect_named(validate(learn, dataset = "train"), c("valid_loss", "accuracy_multi"))
})

test_that("fit_one_cycle in table mode prints the epoch table alone", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 48L)
  out <- withr::with_options(list(fastai.progress = "table"),
                             capture.output(learn %>% fit_one_cycle(1, lr_max = 1e-3)))
  expect_length(out, 2L)
  expect_match(out[1], "^epoch +train_loss +valid_loss +accuracy_multi +time")
  expect_match(out[2], "^0 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9:]+$")
})

test_that("fine_tune trains frozen epochs, then unfrozen ones, with the metrics named in the history", {
  skip_if_no_fastai()
  df <- goemotions_rows(120L, single_label = TRUE)
  labels <- c("anger", "joy", "neutral", "surprise")  # the labels with enough rows for both sets
  df <- df[df$label %in% labels, ]
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects(length(labels))
  dls <- DataBlock(blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer), CategoryBlock()),
                   get_x = ColReader("text"), get_y = ColReader("label"), splitter = IndexSplitter(1:16)) %>%
    dataloaders(df, bs = 8)
  learn <- Learner(dls, HF_BaseModelWrapper(hf_model), loss_func = CrossEntropyLossFlat(),
                   metrics = list(accuracy, F1Score(average = "macro")), cbs = HF_BaseModelCallback(),
                   splitter = hf_splitter())
  withr::with_options(list(fastai.progress = "silent"), learn %>% fine_tune(1, freeze_epochs = 1))
  h <- get_history(learn)
  expect_identical(h$epoch, 1:2)
  expect_identical(names(h)[4:5], c("accuracy", "f1_score"))
})

test_that("fit_flat_cos, fit_linear and fit_sgdr train and record their epochs", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 32L)
  withr::local_options(list(fastai.progress = "silent"))
  learn %>% fit_flat_cos(1, lr = 1e-3)
  expect_identical(nrow(get_history(learn)), 1L)
  learn %>% fit_linear(1, lr = 1e-3, cbs = GradientClip())
  expect_identical(nrow(get_history(learn)), 2L)
  lrs <- unlist(learn$recorder$lrs)
  expect_equal(lrs[1], 1e-3)  # from the peak, falling linearly
  expect_true(all(diff(lrs) < 0))
  learn %>% fit_sgdr(2, 1, lr_max = 1e-3)
  expect_identical(nrow(get_history(learn)), 5L)  # cycles of 1 and 2 epochs (fastai's cycle_mult = 2)
  expect_error(fit_linear(learn, 0), "n_epoch must be a positive whole number", class = "fastai_input_error")
  expect_error(fit_linear(learn, 1, lr = 1e-3, pct_start = 1.5), "pct_start", class = "fastai_ValueError")
  expect_identical(nrow(get_history(learn)), 5L)  # nothing trained
})

test_that("freeze() trains the head only, unfreeze() every parameter group", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  learn$create_opt()
  # per parameter group: are all its weights trained? (fastai keeps norm layers and biases trainable)
  all_trained <- reticulate::py_eval("lambda opt: [all(p.requires_grad for p in ps) for ps in opt.param_lists]")
  trainable <- function() unlist(all_trained(learn$opt))
  res <- withVisible(freeze(learn))
  expect_false(res$visible)
  expect_identical(trainable(), c(FALSE, FALSE, FALSE, TRUE))
  freeze_to(learn, -2)
  expect_identical(trainable(), c(FALSE, FALSE, TRUE, TRUE))
  unfreeze(learn)
  expect_identical(trainable(), rep(TRUE, 4))
})

test_that("training verbs check their arguments before training", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  expect_error(fit_one_cycle(learn, 1.5), "n_epoch must be a positive whole number", class = "fastai_input_error")
  expect_error(fine_tune(learn, 1, freeze_epochs = -1), "freeze_epochs", class = "fastai_input_error")
  expect_error(fit(learn, 1, lr = c(1e-3, NA)), "lr must be", class = "fastai_input_error")
  expect_identical(nrow(get_history(learn)), 0L)
})

test_that("lr_find returns the loss curve and a suggestion, printed and plotted", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 80L)
  lrs <- withr::with_options(list(fastai.progress = "silent"), learn %>% lr_find(suggestions = TRUE, num_it = 20))
  expect_s3_class(lrs, "fastai_lr_find")
  expect_named(lrs$suggestions, "valley")
  expect_true(lrs$suggestions > 0)
  expect_true(nrow(lrs$lrs) > 5L && all(diff(lrs$lrs$lr) > 0))
  expect_s3_class(plot(lrs), "ggplot")
  expect_output(print(lrs), "valley")
  expect_identical(nrow(get_history(learn)), 0L)  # lr_find is not training
})
