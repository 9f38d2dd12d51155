# R/checks.R and the checks on the Python side: user mistakes give classed errors that name the
# argument or data at fault, in R's terms (1-based rows, R values, R code in the advice).

# ---- R's checks, before anything crosses ----

test_that("check_count names the argument and describes the wrong value", {
  expect_identical(fastai:::check_count(8, "bs"), 8L)
  expect_error(fastai:::check_count(0, "bs"), class = "fastai_input_error")
  expect_error(fastai:::check_count(2.5, "bs"), "bs must be a positive whole number, not 2.5")
  expect_error(fastai:::check_count("8", "bs"), "not \"8\" \\(character\\)")
  expect_error(fastai:::check_count(c(8, 16), "bs"), "not a double vector of length 2")
})

test_that("a wrong argument type gives a fastai_input_error naming the argument", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  expect_error(fit_one_cycle(learn, "1"), "n_epoch must be a positive whole number, not \"1\" \\(character\\)",
               class = "fastai_input_error")
  expect_error(fit_one_cycle("learn", 1), "learn must be a fastai Learner", class = "fastai_input_error")
  expect_error(fit(learn, 1, lr = -1), "lr must be a number", class = "fastai_input_error")
  expect_error(freeze_to(learn, "a"), "n must be a whole number", class = "fastai_input_error")
  expect_error(show_batch(learn), "dls must be DataLoaders", class = "fastai_input_error")
  expect_error(Learner(learn$dls, "model"), "model must be a torch model", class = "fastai_input_error")
  expect_error(Learner("dls", NULL), "DataLoaders", class = "fastai_input_error")
})

test_that("argument checks of the helpers that build Python values", {
  skip_if_no_fastai()
  expect_error(set_seed(1.5), "seed must be a whole number", class = "fastai_input_error")
  expect_error(lr_slice("a"), "start must be", class = "fastai_input_error")
  expect_error(py_partial(42), "f must be a function", class = "fastai_input_error")
  expect_error(IndexSplitter(c(0, 2)), "valid_idx must be row numbers", class = "fastai_input_error")
  expect_error(predict(structure(list(), class = "fastai.learner.Learner"), NA_character_),
               "newdata at positions 1 are missing or empty", class = "fastai_input_error")
})

test_that("lr_find checks its range before running", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  expect_error(lr_find(learn, start_lr = 1, end_lr = 0.1), "start_lr must be smaller", class = "fastai_input_error")
})

test_that("dataloaders() checks bs and the source in R", {
  skip_if_no_fastai()
  dblock <- DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model())),
                                    CategoryBlock()),
                      get_x = ColReader("text"), get_y = ColReader("label"))
  df <- data.frame(text = c("good", "bad", "fine", "awful"), label = c("pos", "neg", "pos", "neg"))
  for (bad in list(0, -1, 2.5, "8", NA, c(8, 16))) {
    expect_error(dataloaders(dblock, df, bs = bad), "bs must be a positive whole number", class = "fastai_input_error")
  }
  expect_error(dataloaders("dblock", df), "a DataBlock", class = "fastai_input_error")
  expect_error(dataloaders(dblock, list(1, 2)), "must be a data frame", class = "fastai_input_error")
  expect_error(dataloaders(dblock), "source must be a data frame", class = "fastai_input_error")
})

# ---- Python's checks, worded for R users ----

text_label_block <- function() {
  DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model())), CategoryBlock()),
            get_x = ColReader("text"), get_y = ColReader("label"))
}

test_that("an NA text is reported by its R row number, with R code to drop it", {
  skip_if_no_fastai()
  df <- data.frame(text = c("good", "bad", NA, "fine"), label = c("pos", "neg", "neg", "pos"))
  err <- expect_error(dataloaders(text_label_block(), df), class = "fastai_ValueError")
  msg <- conditionMessage(err)
  expect_match(msg, "1 row whose text is missing (NA) (row 3)", fixed = TRUE)
  expect_match(msg, "df[!is.na(df[[\"text\"]]), ]", fixed = TRUE)
  expect_false(grepl("dropna|rows \\[", msg))  # no pandas advice, no 0-based rows
  expect_match(msg, "Hint: .*\\?dataloaders")
})

test_that("a missing text column is named with R's quotes and the columns there are", {
  skip_if_no_fastai()
  err <- expect_error(dataloaders(text_label_block(), data.frame(txt = "a", label = "pos")), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "column \"text\" is not in the data; its columns are c(\"txt\", \"label\")",
               fixed = TRUE)
})

test_that("empty data is refused with a message saying so", {
  skip_if_no_fastai()
  df <- data.frame(text = character(0), label = character(0))
  expect_error(dataloaders(text_label_block(), df), "zero rows", class = "fastai_error")
})

test_that("label columns that are not 0/1 are named, with R code to fix them", {
  skip_if_no_fastai()
  df <- goemotions_rows(24L)
  df$joy[5] <- 0.7
  dblock <- DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model())),
                                    MultiCategoryBlock(encoded = TRUE, vocab = ekman_labels)),
                      get_x = ColReader("text"), get_y = ColReader(ekman_labels))
  err <- expect_error(dataloaders(dblock, df), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "column \"joy\" has c(0.7) in row 5", fixed = TRUE)
  expect_match(conditionMessage(err), "as.integer(round(x))", fixed = TRUE)
})
