# User mistakes give classed errors that name the problem, before or after crossing to Python.

test_that("dataloaders() checks bs and the data, and Python's data checks arrive classed", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_model())
  dblock <- DataBlock(blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer), CategoryBlock()),
                      get_x = ColReader("text"), get_y = ColReader("label"))
  df <- data.frame(text = c("good", "bad", "fine", "awful"), label = c("pos", "neg", "pos", "neg"))
  for (bad in list(0, -1, 2.5, "8", NA, c(8, 16))) {
    expect_error(dataloaders(dblock, df, bs = bad), "bs must be a positive whole number", class = "fastai_input_error")
  }
  expect_error(dataloaders("dblock", df), "a DataBlock", class = "fastai_input_error")
  expect_error(dataloaders(dblock, df[0, ]), "zero rows", class = "fastai_input_error")
  expect_error(dataloaders(dblock, list(1, 2)), "must be a data frame", class = "fastai_input_error")

  err <- expect_error(dataloaders(dblock, data.frame(txt = "a", label = "pos")), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "column 'text' is not in the data")
  expect_match(conditionMessage(err), "Hint: .*\\?dataloaders")
  na_text <- data.frame(text = c("good", NA, "fine"), label = c("pos", "neg", "pos"))
  expect_error(dataloaders(dblock, na_text), "1 rows whose text is missing \\(NA\\)", class = "fastai_python_error")
})

test_that("Learner() and the verbs check their inputs", {
  skip_if_no_fastai()
  expect_error(Learner("dls", NULL), "DataLoaders", class = "fastai_input_error")
  learn <- trained_learner()
  expect_error(Learner(learn$dls, "model"), "a torch model", class = "fastai_input_error")
  expect_error(lr_find(learn, start_lr = 1, end_lr = 0.1), "start_lr must be smaller")
  expect_error(fit(learn, 1, lr = -1), "lr must be a number", class = "fastai_input_error")
  expect_error(set_seed(1.5), "seed must be a whole number")
  expect_error(slice("a"), class = "fastai_input_error")
  expect_error(show_batch(learn), "DataLoaders", class = "fastai_input_error")
  expect_error(partial(42), "f must be a function", class = "fastai_input_error")
})

test_that("a Python error inside a verb arrives once, classed, without re-running the verb", {
  skip_if_no_fastai()
  learn <- trained_learner()
  # An unknown argument fails in Python; the error must name it (not overflow R's stack by
  # re-evaluating the call it reports).
  expect_error(fit(learn, 1, lr = 1e-3, not_an_arg = 1), "not_an_arg", class = "fastai_python_error")
  expect_error(Learner(learn$dls, learn$model, not_an_arg = 1), "not_an_arg", class = "fastai_python_error")
  expect_error(DataBlock(not_an_arg = 1), "not_an_arg", class = "fastai_python_error")
})
