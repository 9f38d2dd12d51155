# R/learner.R: Learner(), the thin wrappers (optimizers, losses, metrics, callbacks), py_partial()
# and lr_slice(), summary(), set_seed(), mixed precision, export / load_learner.

test_that("function wrappers return the Python function without arguments, class wrappers an object", {
  skip_if_no_fastai()
  expect_identical(py_name(Adam()), "Adam")
  expect_identical(py_name(ranger()), "ranger")
  expect_identical(py_name(accuracy_multi()), "accuracy_multi")
  expect_identical(py_name(Accuracy()), "accuracy")
  expect_identical(py_name(hf_splitter()), "hf_splitter")
  expect_identical(py_type(HF_BaseModelCallback()), "HF_BaseModelCallback")
  expect_identical(py_type(F1ScoreMulti(average = "macro")), "AccumMetric")
  expect_identical(RecallScore()$name, "recall_score")
  expect_identical(py_type(EarlyStoppingCallback(patience = 2)), "EarlyStoppingCallback")
  expect_identical(py_type(CrossEntropyLossFlat()), "CrossEntropyLossFlat")
})

test_that("a wrapper passes only the arguments given: Python's defaults apply, given ones are set", {
  skip_if_no_fastai()
  expect_equal(BCEWithLogitsLossFlat()$thresh, 0.5)
  expect_equal(BCEWithLogitsLossFlat(thresh = 0.3)$thresh, 0.3)
})

test_that("a function wrapper called with arguments calls the function and returns an R value", {
  skip_if_no_fastai()
  torch <- reticulate::import("torch")
  acc <- Accuracy(torch$tensor(list(c(0.1, 0.9), c(0.8, 0.2))), torch$tensor(c(1L, 1L)))
  expect_equal(acc, 0.5)
})

test_that("py_partial() and lr_slice() are Python's partial and slice", {
  skip_if_no_fastai()
  p <- py_partial(Adam, eps = 1e-6)
  expect_identical(py_type(p), "partial")
  expect_equal(p$keywords$eps, 1e-6)
  expect_equal(py_partial(accuracy_multi(), thresh = 0.2)$keywords$thresh, 0.2)
  s <- lr_slice(1e-5, 1e-3)
  expect_identical(py_type(s), "slice")
  expect_equal(c(s$start, s$stop), c(1e-5, 1e-3))
  expect_null(lr_slice(1e-3)$start)
  expect_equal(lr_slice(1e-3)$stop, 1e-3)
})

test_that("Learner() takes the seed code's arguments: partial optimizer, partial metric, callback, splitter", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  learn <- Learner(multilabel_dls(n = 24L, hf_tokenizer = hf_tokenizer), HF_BaseModelWrapper(hf_model),
                   opt_func = partial(Adam), loss_func = BCEWithLogitsLossFlat(),
                   metrics = partial(accuracy_multi(), thresh = 0.2), cbs = HF_BaseModelCallback(),
                   splitter = hf_splitter())
  expect_s3_class(learn, "fastai.learner.Learner")
  expect_identical(py_name(learn$opt_func$func), "Adam")
  expect_identical(learn$metrics[[1]]$name, "accuracy_multi")
  expect_equal(learn$metrics[[1]]$func$keywords$thresh, 0.2)
  expect_identical(py_name(learn$splitter), "hf_splitter")
  expect_true("HF_BaseModelCallback" %in% vapply(learn$cbs, py_type, ""))
  learn$create_opt()
  expect_length(learn$opt$param_groups, 4L)  # embeddings, 2 layers, head (an L arrives as an R list)
})

test_that("Learner() leaves unset arguments to fastai: its default learning rate and loss", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  learn <- Learner(multilabel_dls(n = 24L, hf_tokenizer = hf_tokenizer), HF_BaseModelWrapper(hf_model),
                   cbs = HF_BaseModelCallback())
  expect_equal(learn$lr, 1e-3)
  expect_identical(py_type(learn$loss_func), "BCEWithLogitsLossFlat")  # chosen from the multi-label data
})

test_that("summary() gives fastai's summary as text, printed with print()", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  learn$create_opt()
  learn$freeze()
  s <- withr::with_options(list(fastai.progress = "silent"), learn %>% summary())
  expect_s3_class(s, "fastai_summary")
  expect_match(s, "Total trainable params")
  expect_match(s, "frozen up to parameter group")
  expect_match(paste(capture.output(print(s)), collapse = "\n"), "HF_BaseModelWrapper")
})

test_that("set_seed seeds R and torch", {
  skip_if_no_fastai()
  torch <- reticulate::import("torch")
  res <- withVisible(set_seed(3))
  expect_false(res$visible)
  r1 <- runif(1)
  t1 <- torch$rand(1L)$item()
  set_seed(3, reproducible = TRUE)
  expect_identical(runif(1), r1)
  expect_identical(torch$rand(1L)$item(), t1)
})

test_that("to_fp16 and to_fp32 add and remove mixed precision and return the learner invisibly", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  has_mp <- function() "MixedPrecision" %in% vapply(learn$cbs, py_type, "")
  res <- withVisible(to_fp16(learn))
  expect_false(res$visible)
  expect_identical(res$value, learn)
  expect_true(has_mp())
  res <- withVisible(to_fp32(learn))
  expect_false(res$visible)
  expect_false(has_mp())
})

test_that("the seed's partial(Adam) runs the fused step and trains as fastai's per-parameter Adam", {
  skip_if_no_fastai()
  tiny_model()  # built on first use, which draws random numbers: before seeding
  fit_with <- function(opt_func) {
    set_seed(5)
    learn <- multilabel_learner(n = 48L, opt_func = opt_func)
    learn$freeze_to(1L)  # the embeddings stay frozen
    withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(2, lr_max = slice(1e-4, 1e-3)))
    learn
  }
  fastai_adam <- fit_with(reticulate::import("fastai.optimizer")$Adam)
  seed_adam <- fit_with(py_partial(Adam))  # what partial(Adam) is inside Learner()
  expect_identical(py_type(seed_adam$opt), "FusedAdam")
  expect_identical(py_type(fastai_adam$opt), "Optimizer")
  expect_identical(py_type(fit_with(FusedAdam)$opt), "FusedAdam")
  h <- get_history(fastai_adam)
  expect_true(h$train_loss[2] < h$train_loss[1])
  expect_equal(get_history(seed_adam)$train_loss, h$train_loss, tolerance = 1e-5)
  expect_equal(get_history(seed_adam)$valid_loss, h$valid_loss, tolerance = 1e-5)
})

# Records the dtype of the classifier head's output (an nn.Linear) at each forward.
head_dtypes <- function(learn) {
  seen <- reticulate::py_eval("[]", convert = FALSE)
  hook <- reticulate::py_eval("lambda seen: lambda m, i, o: seen.append(str(o.dtype))")(seen)
  learn$model$hf_model$classifier$register_forward_hook(hook)
  function() reticulate::py_to_r(seen)
}

test_that("to_bf16 trains in bf16 on a CPU that supports it, with float32 weights", {
  skip_if_no_fastai()
  prec <- reticulate::import("fastai_hf.precision")
  old <- prec$cpu_bf16_support
  on.exit(reticulate::py_set_attr(prec, "cpu_bf16_support", old))
  reticulate::py_set_attr(prec, "cpu_bf16_support", reticulate::py_eval("lambda: (True, 'test')"))
  learn <- multilabel_learner(n = 32L)
  res <- withVisible(to_bf16(learn))
  expect_false(res$visible)
  dtypes <- head_dtypes(learn)
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit(1, 1e-3))
  expect_true(length(dtypes()) > 0 && all(dtypes() == "torch.bfloat16"))
  expect_identical(reticulate::py_str(learn$model$hf_model$classifier$weight$dtype), "torch.float32")
  p <- predict(learn, c("so happy today", "this is awful"))
  expect_identical(nrow(p), 2L)
})

test_that("to_bf16 on a CPU without bf16 instructions warns in words and stays float32", {
  skip_if_no_fastai()
  prec <- reticulate::import("fastai_hf.precision")
  old <- list(prec$cpu_bf16_support, prec$`_said`)
  on.exit({
    reticulate::py_set_attr(prec, "cpu_bf16_support", old[[1]])
    reticulate::py_set_attr(prec, "_said", old[[2]])
  })
  reticulate::py_set_attr(prec, "cpu_bf16_support", reticulate::py_eval("lambda: (False, 'test: no avx512_bf16')"))
  reticulate::py_set_attr(prec, "_said", FALSE)
  learn <- multilabel_learner(n = 32L)
  expect_warning(to_bf16(learn), "no bfloat16 instructions.*fp32")
  expect_no_warning(to_bf16(multilabel_learner(n = 32L)))  # said once
  dtypes <- head_dtypes(learn)
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit(1, 1e-3))
  expect_true(length(dtypes()) > 0 && all(dtypes() == "torch.float32"))
  expect_type(cpu_bf16_support(), "logical")
})

test_that("export() and load_learner() round-trip a learner that predicts the same", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner(n = 40L)
  dir <- withr::local_tempdir()
  path <- export(learn, file.path(dir, "learner.pkl"))
  expect_true(file.exists(path))
  loaded <- load_learner(path)
  expect_s3_class(loaded, "fastai.learner.Learner")
  texts <- c("hello there", "so angry")
  expect_equal(predict(loaded, texts)[, ekman_labels], predict(learn, texts)[, ekman_labels], tolerance = 1e-5)
})

test_that("load_learner() names a missing file", {
  skip_if_no_fastai()
  expect_error(load_learner(file.path(tempdir(), "missing.pkl")), "missing.pkl' does not exist",
               class = "fastai_input_error")
})
