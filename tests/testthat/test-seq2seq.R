# Seq2seq from R on a tiny T5 built at test time (a tokenizer trained in a second, 2 layers of 32 units):
# blocks and batches, bad targets, the generation-metrics callback, predict() and hf_generate(), scores.

gen_fx <- new.env(parent = emptyenv())

pairs_df <- function() {
  data.frame(
    text = rep(c("The cat sat on the mat all day long.", "A dog runs in the park with a red ball.",
                 "Two men talk about the weather.", "She sells sea shells by the sea shore."), 3),
    summary = rep(c("cat sits", "dog runs", "men talk", "she sells shells"), 3),
    stringsAsFactors = FALSE
  )
}

tiny_t5_path <- function() {
  if (is.null(gen_fx$t5)) gen_fx$t5 <- reticulate::import("fastai_hf.testing")$tiny_t5()
  gen_fx$t5
}

seq2seq_dls <- function(df = pairs_df(), ...) {
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_t5_path(), task = "Seq2SeqLM")
  dblock <- DataBlock(blocks = list(HF_Seq2SeqBlock(hf_arch, hf_config, hf_tokenizer, hf_model, ...),
                                    HF_Seq2SeqTargetBlock()),
                      get_x = ColReader("text"), get_y = ColReader("summary"), splitter = RandomSplitter(0.25, seed = 1))
  list(dls = dataloaders(dblock, df, bs = 4), model = hf_model, tokenizer = hf_tokenizer)
}

seq2seq_learner <- function(cbs = list(HF_BaseModelCallback())) {
  set_seed(1)
  d <- seq2seq_dls()
  Learner(d$dls, HF_BaseModelWrapper(d$model), loss_func = CrossEntropyLossFlat(), cbs = cbs,
          metrics = HF_Perplexity(), splitter = hf_splitter())
}

test_that("a seq2seq batch holds sources, decoder inputs and -100-padded labels", {
  skip_if_no_fastai()
  d <- seq2seq_dls()
  b <- one_batch(d$dls, convert = TRUE)
  x <- b[[1]]
  expect_setequal(names(x), c("input_ids", "attention_mask", "decoder_input_ids"))
  labels <- b[[2]]
  expect_true(is.matrix(labels) && any(labels == -100L))
  expect_identical(dim(x$decoder_input_ids), dim(labels))
  expect_true(all(x$decoder_input_ids[, 1] == d$model$config$decoder_start_token_id))
  shown <- show_batch(d$dls, max_n = 2)
  expect_named(shown, c("text", "target"))
  expect_true(all(shown$target %in% pairs_df()$summary))
})

test_that("missing targets fail before training, naming the R row", {
  skip_if_no_fastai()
  df <- pairs_df()
  df$summary[3] <- NA
  expect_error(seq2seq_dls(df), class = "fastai_ValueError", regexp = "\"summary\" has 1 row .*row 3")
})

test_that("long targets are truncated and the user is told", {
  skip_if_no_fastai()
  if (!reticulate::py_has_attr(reticulate::import("fastai_hf.checks"), "InputWarning")) {
    skip("Python's InputWarning (issue 9) is what reaches R as an R warning")
  }
  expect_warning(d <- seq2seq_dls(max_target_length = 2), "max_target_length=2")
  expect_lte(ncol(one_batch(d$dls, convert = TRUE)[[2]]), 2L)
})

test_that("the metrics callback adds generation scores to the epoch table and validate()", {
  skip_if_no_fastai()
  cb <- HF_Seq2SeqMetricsCallback(metrics = c("rouge1", "chrf"), text_gen_kwargs = list(max_new_tokens = 3))
  learn <- seq2seq_learner(list(HF_BaseModelCallback(), cb))
  expect_identical(learn$model$hf_model$generation_config$max_new_tokens, 3L)
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, 1e-2))
  hist <- get_history(learn)
  expect_true(all(c("perplexity", "rouge1", "chrf") %in% names(hist)))
  res <- validate(learn)
  expect_named(res, c("valid_loss", "perplexity", "rouge1", "chrf"))
  expect_true(res[["rouge1"]] >= 0 && res[["rouge1"]] <= 1 && res[["chrf"]] >= 0 && res[["chrf"]] <= 100)
})

test_that("bad generation settings fail in R terms", {
  skip_if_no_fastai()
  expect_error(HF_Seq2SeqMetricsCallback(text_gen_kwargs = c(max_new_tokens = 3)), class = "fastai_input_error",
               regexp = "named list")
  expect_error(seq2seq_learner(list(HF_BaseModelCallback(), HF_Seq2SeqMetricsCallback(text_gen_kwargs = list(beams = 2)))),
               class = "fastai_ValueError", regexp = "does not know")
})

test_that("predict() and hf_generate() return generated texts with the settings given", {
  skip_if_no_fastai()
  learn <- seq2seq_learner()
  out <- predict(learn, c("a cat", "a dog on a mat"), max_new_tokens = 1)
  expect_type(out, "character")
  expect_length(out, 2L)
  # generation arguments reach transformers' generate(), which checks them
  expect_error(predict(learn, "a cat", do_sample = TRUE, temperature = -1), class = "fastai_ValueError",
               regexp = "temperature")
  df <- pairs_df()[1:2, ]
  with_df <- hf_generate(learn, df, max_new_tokens = 2, num_beams = 2)
  expect_identical(names(with_df), c("text", "summary", "generated"))
  expect_identical(predict(learn, "a cat", max_new_tokens = 1), out[1])
})

test_that("generation refuses bad texts before Python and models that cannot generate", {
  skip_if_no_fastai()
  learn <- seq2seq_learner()
  expect_error(hf_generate(learn, c("fine", NA)), class = "fastai_input_error", regexp = "missing or empty")
  expect_error(predict(learn, ""), class = "fastai_input_error")
  d <- seq2seq_dls()
  c(hf_arch, hf_config, hf_tokenizer, clf) %<-% get_hf_objects(tiny_model())  # a sequence classifier
  not_gen <- Learner(d$dls, HF_BaseModelWrapper(clf), loss_func = CrossEntropyLossFlat(), cbs = HF_BaseModelCallback())
  expect_error(hf_generate(not_gen, "a text"), class = "fastai_TypeError", regexp = "cannot generate")
})

test_that("the exported folder carries the generation settings", {
  skip_if_no_fastai()
  cb <- HF_Seq2SeqMetricsCallback(text_gen_kwargs = list(max_new_tokens = 4, num_beams = 2))
  learn <- seq2seq_learner(list(HF_BaseModelCallback(), cb))
  path <- tempfile("t5-")
  hf_save_pretrained(learn, path)
  gen <- jsonlite::fromJSON(file.path(path, "generation_config.json"))
  expect_identical(c(gen$max_new_tokens, gen$num_beams), c(4L, 2L))
})

test_that("hf_load_learner() gives back a seq2seq learner that generates the same texts", {
  skip_if_no_fastai()
  cb <- HF_Seq2SeqMetricsCallback(metrics = "rouge1", text_gen_kwargs = list(max_new_tokens = 4, num_beams = 2))
  learn <- seq2seq_learner(list(HF_BaseModelCallback(), cb))
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, 1e-2))
  texts <- pairs_df()$text[1:4]
  before <- predict(learn, texts)
  path <- tempfile("t5-")
  hf_save_pretrained(learn, path)
  expect_identical(jsonlite::fromJSON(file.path(path, "fastai_hf.json"))$task, "seq2seq")
  loaded <- expect_silent(hf_load_learner(path))  # the metrics callback comes back: no "not restored" warning
  expect_identical(predict(loaded, texts), before)
})

test_that("ROUGE, BLEU and chrF match hand-computed values", {
  skip_if_no_fastai()
  r <- calculate_rouge("the cat sat", "the cat sat on the mat", use_stemmer = FALSE)
  expect_equal(r[["rouge1"]], 2 / 3, tolerance = 1e-6)
  expect_equal(r[["rouge2"]], 2 * 0.4 / 1.4, tolerance = 1e-6)
  expect_equal(calculate_bleu("the cat sat on the mat", "the cat sat on a mat"),
               100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3)^0.25, tolerance = 1e-6)
  expect_equal(calculate_chrf("abcdefg", "abcdefh"), 100 * (6 / 7 + 5 / 6 + 4 / 5 + 3 / 4 + 2 / 3 + 1 / 2) / 6,
               tolerance = 1e-6)
  expect_equal(calculate_rouge("a dog", list(c("no match", "a dog")))[["rouge1"]], 1)
  expect_error(calculate_rouge(c("a", NA), c("a", "b")), class = "fastai_input_error")
  expect_error(calculate_bleu(c("a", "b"), "a"), class = "fastai_ValueError", regexp = "2 predicted texts but 1")
})

test_that("the local DialogSum and Multi30k data load as data frames", {
  skip_if_no_fastai()
  ds <- load_dialogsum("valid", n_rows = 3)
  expect_identical(names(ds), c("id", "text", "summary", "topic"))
  expect_identical(nrow(ds), 3L)
  mt <- load_multi30k("valid", n_rows = 2)
  expect_identical(names(mt), c("id", "source", "target"))
  expect_error(load_dialogsum("dev"), class = "fastai_ValueError", regexp = "split must be one of")
})
