# R/features.R: hf_hidden_states(), one vector per text from a frozen transformer (tiny BERT:
# hidden size 32).

feature_texts <- c(a = "I love it", b = "This is a much longer text about nothing in particular", c = "meh")

test_that("hf_hidden_states returns a numeric matrix, one row per text named after the texts", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  x <- hf_hidden_states(feature_texts, hf_model, hf_tokenizer)
  expect_true(is.matrix(x) && is.double(x))
  expect_identical(dim(x), c(3L, 32L))
  expect_identical(rownames(x), c("a", "b", "c"))
  expect_null(rownames(hf_hidden_states(unname(feature_texts), hf_model, hf_tokenizer)))
})

test_that("neither the order of the texts nor the batch size changes a text's vector", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  x <- hf_hidden_states(feature_texts, hf_model, hf_tokenizer)
  rev_x <- hf_hidden_states(rev(unname(feature_texts)), hf_model, hf_tokenizer, bs = 1)
  expect_equal(rev_x[3:1, ], unname(x), tolerance = 1e-5, ignore_attr = TRUE)
})

test_that("mean pooling differs from the first token's state; a learner brings its model and tokenizer", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  cls <- hf_hidden_states(feature_texts, hf_model, hf_tokenizer)
  mean_x <- hf_hidden_states(feature_texts, hf_model, hf_tokenizer, pooling = "mean")
  expect_false(isTRUE(all.equal(mean_x, cls)))
  learn <- Learner(multilabel_dls(n = 24L, hf_tokenizer = hf_tokenizer), HF_BaseModelWrapper(hf_model),
                   cbs = HF_BaseModelCallback())
  expect_equal(hf_hidden_states(feature_texts, learn, pooling = "mean"), mean_x, tolerance = 1e-5)
})

test_that("layer picks the hidden state: 0 is the embeddings", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  emb <- hf_hidden_states("one", hf_model, hf_tokenizer, layer = 0)
  expect_identical(dim(emb), c(1L, 32L))
  expect_false(isTRUE(all.equal(emb, hf_hidden_states("one", hf_model, hf_tokenizer))))
  expect_error(hf_hidden_states("ok", hf_model, hf_tokenizer, layer = 9), "layer", class = "fastai_ValueError")
})

test_that("hf_hidden_states checks its input", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  expect_error(hf_hidden_states(feature_texts, hf_model, hf_tokenizer, pooling = "max"), "pooling",
               class = "fastai_input_error")
  expect_error(hf_hidden_states(c("ok", NA), hf_model, hf_tokenizer), "positions 2", class = "fastai_input_error")
  expect_error(hf_hidden_states("ok", "model", hf_tokenizer), "hf_model must be", class = "fastai_input_error")
})
