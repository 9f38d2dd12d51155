# Language models from R: a tiny BERT as a masked LM (tiny_model(), MiniLM's vocabulary) and a tiny GPT-2
# (tokenizer trained at test time) as a causal LM, on 80 GoEmotions texts.

lm_fx <- new.env(parent = emptyenv())

lm_texts <- function() {
  if (is.null(lm_fx$df)) lm_fx$df <- load_goemotions("ekman", n_rows = 80)[, "text", drop = FALSE]
  lm_fx$df
}

tiny_gpt2_path <- function() {
  if (is.null(lm_fx$gpt2)) lm_fx$gpt2 <- reticulate::import("fastai_hf.testing")$tiny_gpt2()
  lm_fx$gpt2
}

lm_learner <- function(lm_type = "masked", ...) {
  path <- if (lm_type == "masked") tiny_model() else tiny_gpt2_path()
  task <- if (lm_type == "masked") "MaskedLM" else "CausalLM"
  set_seed(1)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(path, task = task)
  dblock <- DataBlock(blocks = HF_LMBlock(hf_arch, hf_config, hf_tokenizer, hf_model, lm_type = lm_type, ...),
                      get_x = ColReader("text"), splitter = RandomSplitter(0.25, seed = 1))
  Learner(dataloaders(dblock, lm_texts(), bs = 8), HF_BaseModelWrapper(hf_model), loss_func = CrossEntropyLossFlat(),
          metrics = HF_Perplexity(), cbs = HF_BaseModelCallback(), splitter = hf_splitter())
}

test_that("causal LM labels are the next tokens, padding ignored", {
  skip_if_no_fastai()
  learn <- lm_learner("causal")
  b <- one_batch(learn$dls, convert = TRUE)
  ids <- b[[1]]$input_ids
  mask <- b[[1]]$attention_mask
  labels <- b[[2]]
  n <- ncol(ids)
  real <- mask[, -1] == 1L
  expect_identical(labels[, -n][real], ids[, -1][real])
  expect_true(all(labels[, -n][!real] == -100L) && all(labels[, n] == -100L))
})

test_that("masked LM batches mask about 15% of the tokens, and only where the labels say", {
  skip_if_no_fastai()
  learn <- lm_learner("masked")
  b <- one_batch(learn$dls, convert = TRUE)
  labels <- b[[2]]
  chosen <- labels != -100L
  expect_true(any(chosen))
  mask_id <- learn$dls$train$hf_before_batch$hf_tokenizer$mask_token_id
  expect_true(all(chosen[b[[1]]$input_ids == mask_id]))  # every [MASK] is a target
  real <- sum(b[[1]]$attention_mask) - 2L * nrow(labels)  # tokens that may be chosen: not [CLS] / [SEP] / padding
  expect_gt(sum(chosen) / real, 0.03)
  expect_lt(sum(chosen) / real, 0.35)
})

test_that("training reports perplexity, and predict() continues prompts", {
  skip_if_no_fastai()
  learn <- lm_learner("causal")
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, 1e-2))
  res <- validate(learn)
  expect_equal(res[["perplexity"]], exp(res[["valid_loss"]]), tolerance = 0.05)
  out <- predict(learn, c("I love", "This is"), max_new_tokens = 3)
  expect_type(out, "character")
  expect_length(out, 2L)
  df <- predict(learn, data.frame(text = "I love", stringsAsFactors = FALSE), max_new_tokens = 2, do_sample = TRUE,
                top_k = 5)
  expect_identical(names(df), c("text", "generated"))
})

test_that("hf_fill_mask() and predict() fill masks as a data frame", {
  skip_if_no_fastai()
  learn <- lm_learner("masked")
  res <- hf_fill_mask(learn, c("I feel [MASK] today.", "[MASK] is [MASK]."), top_k = 2)
  expect_identical(names(res), c("text", "mask", "rank", "token", "score", "sequence"))
  expect_identical(nrow(res), 6L)
  expect_identical(res$rank, rep(1:2, 3))
  expect_identical(res$mask, c(1L, 1L, 1L, 1L, 2L, 2L))
  expect_true(all(res$score > 0 & res$score < 1))
  one <- predict(learn, "I feel [MASK] today.", top_k = 2)
  expect_identical(one$token, res$token[1:2])
  expect_equal(one$score, res$score[1:2], tolerance = 1e-4)
  expect_error(hf_fill_mask(learn, "no mask here"), class = "fastai_ValueError", regexp = "has no mask token")
})

test_that("hf_load_learner() gives back language models that generate and fill masks as before", {
  skip_if_no_fastai()
  causal <- lm_learner("causal")
  withr::with_options(list(fastai.progress = "silent"), causal %>% fit_one_cycle(1, 1e-2))
  prompts <- c("I love", "This is")
  path <- tempfile("clm-")
  hf_save_pretrained(causal, path)
  expect_identical(predict(hf_load_learner(path), prompts, max_new_tokens = 4),
                   predict(causal, prompts, max_new_tokens = 4))
  masked <- lm_learner("masked")
  path <- tempfile("mlm-")
  hf_save_pretrained(masked, path)
  expect_identical(hf_fill_mask(hf_load_learner(path), "I feel [MASK] today.", top_k = 3),
                   hf_fill_mask(masked, "I feel [MASK] today.", top_k = 3))
})

test_that("bad language-model arguments fail in R terms", {
  skip_if_no_fastai()
  expect_error(lm_learner("mlm"), class = "fastai_input_error", regexp = "lm_type must be one of")
  expect_error(lm_learner("masked", mlm_probability = 1.5), class = "fastai_input_error", regexp = "between 0 and 1")
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_gpt2_path(), task = "CausalLM")
  expect_error(HF_LMBlock(hf_arch, hf_config, hf_tokenizer, lm_type = "masked"), class = "fastai_ValueError",
               regexp = "needs a tokenizer with a mask token")
})
