# The thin wrappers: what each returns with and without arguments, and the learner utilities.

py_name <- function(x) reticulate::py_to_r(reticulate::py_get_attr(x, "__name__"))
py_type <- function(x) py_name(reticulate::import_builtins()$type(x))

test_that("function wrappers return the Python function without arguments, class wrappers an object", {
  skip_if_no_fastai()
  expect_identical(py_name(Adam()), "Adam")
  expect_identical(py_name(ranger()), "ranger")
  expect_identical(py_name(accuracy_multi()), "accuracy_multi")
  expect_identical(py_name(hf_splitter()), "hf_splitter")
  expect_identical(py_type(HF_BaseModelCallback()), "HF_BaseModelCallback")
  expect_identical(py_type(F1ScoreMulti(average = "macro")), "AccumMetric")
  expect_identical(py_type(EarlyStoppingCallback(patience = 2)), "EarlyStoppingCallback")
  expect_equal(BCEWithLogitsLossFlat(thresh = 0.3)$thresh, 0.3)
  expect_identical(py_type(CrossEntropyLossFlat()), "CrossEntropyLossFlat")
  # with arguments a function wrapper calls the function
  acc <- accuracy(reticulate::py_eval("__import__('torch').tensor([[0.1, 0.9], [0.8, 0.2]])"),
                  reticulate::py_eval("__import__('torch').tensor([1, 1])"))
  expect_equal(acc$item(), 0.5)
})

test_that("classes and their methods: Class()$method() and Class_method()", {
  skip_if_no_fastai()
  expect_identical(py_name(AutoConfig()), "AutoConfig")
  a <- AutoConfig()$from_pretrained(minilm_path())
  b <- AutoConfig_from_pretrained(minilm_path())
  expect_identical(a$model_type, b$model_type)
  expect_identical(AutoTokenizer_from_pretrained(minilm_path())$vocab_size, 30522L)
  expect_identical(HF_TASKS_ALL()$SequenceClassification$name, "SequenceClassification")
  expect_identical(HF_TASKS_AUTO()$TokenClassification$name, "TokenClassification")
  err <- expect_error(AutoConfig_from_pretrained(file.path(tempdir(), "nowhere")), class = "fastai_python_error")
  expect_match(conditionMessage(err), "Hint:")
})

test_that("partial and slice are Python's", {
  skip_if_no_fastai()
  p <- partial(Adam, eps = 1e-6)
  expect_identical(py_type(p), "partial")
  expect_equal(p$keywords$eps, 1e-6)
  s <- slice(1e-5, 1e-3)
  expect_identical(py_type(s), "slice")
  expect_equal(c(s$start, s$stop), c(1e-5, 1e-3))
  expect_null(slice(1e-3)$start)
  expect_equal(slice(1e-3)$stop, 1e-3)
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

test_that("set_seed seeds R and torch; to_fp16 and to_fp32 return the learner", {
  skip_if_no_fastai()
  torch <- reticulate::import("torch")
  set_seed(3)
  r1 <- runif(1)
  t1 <- torch$rand(1L)$item()
  set_seed(3)
  expect_identical(runif(1), r1)
  expect_identical(torch$rand(1L)$item(), t1)

  learn <- multilabel_learner(n = 32L)
  has_mp <- function() any(vapply(reticulate::iterate(learn$cbs), py_type, "") == "MixedPrecision")
  res <- withVisible(to_fp16(learn))
  expect_false(res$visible)
  expect_identical(res$value, learn)
  expect_true(has_mp())
  to_fp32(learn)
  expect_false(has_mp())
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

test_that("dataloaders passes pool_batches to HF data, as R numbers", {
  skip_if_no_fastai()
  df <- load_goemotions("ekman", n_rows = 48L)[, c("text", ekman_labels)]
  tok <- AutoTokenizer_from_pretrained(tiny_model())
  dblock <- DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = tok), MultiCategoryBlock(encoded = TRUE, vocab = ekman_labels)),
                      get_x = ColReader("text"), get_y = ColReader(ekman_labels), splitter = RandomSplitter(seed = 1))
  dls <- dblock %>% dataloaders(df, bs = 4, pool_batches = 3)
  expect_identical(dls$train$pool_batches, 3L)
  expect_identical(dls$valid$pool_batches, 3L)
  n_rows <- sum(vapply(reticulate::iterate(dls$train), function(b) reticulate::py_len(b[[2]]), 1L))
  expect_identical(n_rows, 36L)  # every training row (80% of 48, in batches of 4) once
  expect_error(dataloaders(dblock, df, bs = 4, pool_batches = 0), "pool_batches", class = "fastai_ValueError")
})
