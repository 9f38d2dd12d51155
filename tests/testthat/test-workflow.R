# The reference workflow end to end, on a tiny BERT and 80 GoEmotions rows.

test_that("the reference multi-label flow runs from a csv through predict", {
  skip_if_no_fastai()
  ge <- load_goemotions("ekman", n_rows = 80)
  expect_identical(names(ge), c("text", "labels", ekman_labels))
  expect_type(ge$joy, "integer")
  csv <- withr::local_tempfile(fileext = ".csv")
  utils::write.csv(ge[, c("text", ekman_labels)], csv, row.names = FALSE)

  df <- HF_load_dataset("csv", data_files = csv, split = "train")
  expect_s3_class(df, "data.frame")
  expect_identical(dim(df), c(80L, 8L))
  lbl_cols <- ekman_labels
  # The data.table steps run as in a user's script: data.table's `:=` needs a caller outside a
  # namespace that does not import data.table (tests run inside fastai's).
  df <- local(envir = list2env(list(df = df, lbl_cols = lbl_cols), parent = globalenv()), {
    df <- data.table::as.data.table(df)
    df <- df[, (lbl_cols) := round(.SD, 0), .SDcols = lbl_cols]
    df[, (lbl_cols) := lapply(.SD, as.integer), .SDcols = lbl_cols]
  })
  expect_s3_class(df, "data.table")
  expect_type(df$joy, "integer")

  task <- HF_TASKS_ALL()$SequenceClassification
  config <- AutoConfig()$from_pretrained(tiny_model())
  config$num_labels <- length(lbl_cols)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_model(), task = task, config = config)
  expect_identical(hf_arch, "bert")
  blocks <- list(
    HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer),
    MultiCategoryBlock(encoded = TRUE, vocab = lbl_cols)
  )
  dblock <- DataBlock(blocks = blocks, get_x = ColReader("text"), get_y = ColReader(lbl_cols),
                      splitter = RandomSplitter())
  dls <- dblock %>% dataloaders(df, bs = 8)

  b <- dls %>% one_batch()
  expect_length(b, 2L)
  expect_true(all(c("input_ids", "attention_mask") %in% names(b[[1]])))
  expect_match(paste(capture.output(print(b)), collapse = "\n"), "TensorMultiCategory")
  bm <- one_batch(dls, convert = TRUE)
  expect_true(is.matrix(bm[[1]]$input_ids) && nrow(bm[[1]]$input_ids) == 8L)
  expect_identical(dim(bm[[2]]), c(8L, 7L))

  sb <- show_batch(dls, max_n = 3)
  expect_identical(names(sb), c("text", "target"))
  expect_identical(nrow(sb), 3L)

  model <- HF_BaseModelWrapper(hf_model)
  learn <- Learner(dls, model, opt_func = partial(Adam), loss_func = BCEWithLogitsLossFlat(),
                   metrics = partial(accuracy_multi(), thresh = 0.2), cbs = HF_BaseModelCallback(),
                   splitter = hf_splitter())
  learn$loss_func$thresh <- 0.2
  learn$create_opt()
  learn$freeze()

  s <- withr::with_options(list(fastai.progress = "silent"), learn %>% summary())
  expect_s3_class(s, "fastai_summary")
  expect_match(s, "Total trainable params")
  expect_match(s, "frozen up to parameter group")
  expect_match(paste(capture.output(print(s)), collapse = "\n"), "HF_BaseModelWrapper")

  lrs <- withr::with_options(list(fastai.progress = "silent"), learn %>% lr_find(suggestions = TRUE, num_it = 20))
  expect_s3_class(lrs, "fastai_lr_find")
  expect_named(lrs$suggestions, "valley")
  expect_true(lrs$suggestions > 0)
  expect_true(nrow(lrs$lrs) > 5L && all(diff(lrs$lrs$lr) > 0))
  expect_s3_class(plot(lrs), "ggplot")
  expect_output(print(lrs), "valley")

  out <- withr::with_options(list(fastai.progress = "table"),
                             capture.output(res <- withVisible(learn %>% fit_one_cycle(1, lr_max = 1e-2))))
  expect_false(res$visible)
  expect_identical(res$value, learn)
  expect_match(out[1], "^epoch +train_loss +valid_loss +accuracy_multi +time")
  expect_match(out[2], "^0 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9:]+$")

  learn$loss_func$thresh <- 0.02
  p <- learn %>% predict("Those damned affluent white people should only eat their own food ...")
  expect_named(p, c("probabilities", "labels"))
  expect_s3_class(p$probabilities, "data.frame")
  expect_identical(dim(p$probabilities), c(1L, 7L))
  expect_identical(names(p$probabilities), lbl_cols)
  expect_type(p$labels, "character")
  expect_identical(p$labels, lbl_cols[unlist(p$probabilities) >= 0.02])
})

test_that("training verbs chain with both pipes and keep the history", {
  skip_if_no_fastai()
  learn <- multilabel_learner()
  withr::local_options(list(fastai.progress = "silent"))
  expect_identical(nrow(get_history(learn)), 0L)
  learn2 <- learn %>% freeze() %>% fit_one_cycle(1, lr_max = 1e-3) |> unfreeze() |>
    fit_one_cycle(1, lr_max = slice(1e-5, 1e-3)) %>% freeze_to(-2) %>% fit(1, lr = c(1e-5, 1e-4, 1e-4, 1e-3))
  expect_identical(learn2, learn)
  h <- get_history(learn)
  expect_s3_class(h, c("fastai_history", "data.frame"))
  expect_identical(names(h), c("epoch", "train_loss", "valid_loss", "accuracy_multi", "time"))
  expect_identical(h$epoch, 1:3)
  expect_true(all(is.finite(h$train_loss)) && all(h$time >= 0))
  expect_s3_class(plot(h), "ggplot")
  expect_s3_class(plot_loss(learn), "ggplot")
  # validate() and get_preds() add no rows
  v <- validate(learn)
  expect_named(v, c("valid_loss", "accuracy_multi"))
  expect_equal(unname(v[["valid_loss"]]), h$valid_loss[3], tolerance = 1e-5)
  expect_identical(nrow(get_history(learn)), 3L)
  expect_error(fit_one_cycle(learn, 1.5), "n_epoch must be a positive whole number")
  expect_error(freeze_to(learn, "a"), class = "fastai_input_error")
})

test_that("predict: one text, several texts, a data frame, thresholds", {
  skip_if_no_fastai()
  learn <- trained_learner()
  one <- predict(learn, "I am so happy today", thresh = 0)
  expect_identical(one$labels, ekman_labels)              # at threshold 0 every label is in
  expect_identical(predict(learn, "I am so happy today", thresh = 1)$labels, character(0))

  texts <- c("I am so happy today", "this is awful", "what a surprise")
  many <- learn %>% predict(texts)
  expect_s3_class(many, "data.frame")
  expect_identical(names(many), c(ekman_labels, "predicted"))
  expect_identical(nrow(many), 3L)
  expect_type(many$predicted, "list")
  expect_true(all(vapply(many$predicted, is.character, logical(1))))
  expect_true(all(many[, ekman_labels] >= 0 & many[, ekman_labels] <= 1))
  # the same probabilities one at a time, and from a data frame of texts (data.table too)
  expect_equal(unlist(predict(learn, texts[2])$probabilities), unlist(many[2, ekman_labels]), tolerance = 1e-5)
  from_df <- predict(learn, data.frame(text = texts, other = 1:3))
  expect_equal(from_df[, ekman_labels], many[, ekman_labels], tolerance = 1e-5)
  expect_identical(nrow(predict(learn, data.table::data.table(text = texts))), 3L)
  expect_identical(names(hf_predict(learn, texts[1])), c(ekman_labels, "predicted"))
  # per-label thresholds
  per <- predict(learn, texts[1], thresh = c(0, 1, 1, 1, 1, 1, 1))
  expect_identical(per$labels, "anger")

  expect_error(predict(learn, c("fine", NA)), "positions 2 are missing or empty", class = "fastai_input_error")
  expect_error(predict(learn, 42), "character vector or a data frame")
  expect_error(predict(learn, "x", thresh = 2), class = "fastai_input_error")
  err <- expect_error(predict(learn, data.frame(txt = "no text column")), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "no text column")
  expect_error(predict(learn, "x", thresh = c(0.1, 0.2)), "2 thresholds for 7 labels", class = "fastai_python_error")
})

test_that("get_preds, show_results and the multi-label extras return R values", {
  skip_if_no_fastai()
  learn <- trained_learner()
  p <- get_preds(learn, with_decoded = TRUE)
  expect_true(is.matrix(p$preds) && ncol(p$preds) == 7L)
  expect_identical(colnames(p$preds), ekman_labels)
  expect_identical(dim(p$targets), dim(p$preds))
  expect_true(all(p$targets %in% c(0, 1)))
  expect_type(p$decoded, "logical")
  pt <- get_preds(learn, texts = c("a", "b c"))
  expect_identical(dim(pt$preds), c(2L, 7L))
  expect_null(pt$targets)
  expect_identical(nrow(get_preds(learn, dataset = "train", reorder = FALSE)$preds) > 0, TRUE)
  expect_error(get_preds(learn, dataset = "test"), "dataset must be \"train\" or \"valid\"")

  sr <- show_results(learn, max_n = 4)
  expect_identical(names(sr), c("text", "target", "predicted"))
  expect_identical(nrow(sr), 4L)

  m <- multilabel_metrics(learn, thresh = 0.3)
  expect_named(m, c("f1_micro", "f1_macro", "roc_auc_micro", "roc_auc_macro", "accuracy_subset", "accuracy_multi"))
  expect_type(m, "double")
  th <- find_thresholds(learn, grid = c(0.1, 0.5, 0.9))
  expect_identical(names(th), c("label", "threshold", "f1", "support"))
  expect_identical(th$label, ekman_labels)
  expect_true(all(th$threshold %in% c(0.1, 0.5, 0.9)))
})

test_that("export / load_learner and hf_save_pretrained round-trip", {
  skip_if_no_fastai()
  learn <- trained_learner()
  dir <- withr::local_tempdir()
  path <- export(learn, file.path(dir, "learner.pkl"))
  expect_true(file.exists(path))
  loaded <- load_learner(path)
  expect_s3_class(loaded, "fastai.learner.Learner")
  expect_equal(predict(loaded, c("hello there", "so angry"))[, ekman_labels],
               predict(learn, c("hello there", "so angry"))[, ekman_labels], tolerance = 1e-5)
  expect_error(load_learner(file.path(dir, "missing.pkl")), "does not exist")

  saved <- hf_save_pretrained(learn, file.path(dir, "hf"))
  cfg <- jsonlite::fromJSON(file.path(saved, "config.json"))
  expect_identical(unname(unlist(cfg$id2label)), ekman_labels)
  expect_identical(cfg$problem_type, "multi_label_classification")
})

test_that("a single-label learner predicts a class label", {
  skip_if_no_fastai()
  df <- load_goemotions("ekman", n_rows = 120, single_label = TRUE)[, c("text", "label")]
  labels <- c("anger", "joy", "neutral", "surprise")  # the labels with enough rows for both sets
  df <- df[df$label %in% labels, ]
  config <- AutoConfig_from_pretrained(tiny_model())
  config$num_labels <- length(labels)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_model(), config = config)
  dls <- DataBlock(blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer), CategoryBlock()),
                   get_x = ColReader("text"), get_y = ColReader("label"), splitter = IndexSplitter(1:16)) %>%
    dataloaders(df, bs = 8)
  expect_identical(reticulate::py_len(dls$valid_ds), 16L)
  learn <- Learner(dls, HF_BaseModelWrapper(hf_model), loss_func = CrossEntropyLossFlat(),
                   metrics = list(accuracy, F1Score(average = "macro")), cbs = HF_BaseModelCallback(),
                   splitter = hf_splitter())
  withr::with_options(list(fastai.progress = "silent"), learn %>% fine_tune(1, freeze_epochs = 1))
  expect_identical(get_history(learn)$epoch, 1:2)
  expect_identical(names(get_history(learn))[4:5], c("accuracy", "f1_score"))

  one <- predict(learn, "thank you so much")
  expect_named(one, c("label", "probabilities"))
  expect_true(one$label %in% labels)
  expect_equal(sum(one$probabilities), 1, tolerance = 1e-5)
  many <- predict(learn, c("thank you so much", "I hate this"))
  expect_type(many$predicted, "character")
  expect_equal(rowSums(many[, labels]), c(1, 1), tolerance = 1e-5)
  g <- get_preds(learn)
  expect_s3_class(g$targets, "factor")
  expect_identical(levels(g$targets), labels)
})
