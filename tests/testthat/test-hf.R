# R/hf.R: blurr's Hugging Face API from R (tasks, Auto classes, get_hf_objects, HF_TextBlock,
# HF_BaseModelWrapper / HF_BaseModelCallback, hf_save_pretrained), the datasets loader and the
# project's local model and data.

test_that("HF_TASKS_ALL() and HF_TASKS_AUTO() are the task enums, members picked with $", {
  skip_if_no_fastai()
  expect_identical(HF_TASKS_ALL()$SequenceClassification$name, "SequenceClassification")
  expect_identical(HF_TASKS_AUTO()$TokenClassification$name, "TokenClassification")
})

test_that("Class()$method() and Class_method() are the same call", {
  skip_if_no_fastai()
  expect_identical(py_name(AutoConfig()), "AutoConfig")
  a <- AutoConfig()$from_pretrained(minilm_path())
  b <- AutoConfig_from_pretrained(minilm_path())
  expect_identical(a$model_type, b$model_type)
  expect_identical(AutoTokenizer_from_pretrained(minilm_path())$vocab_size, 30522L)
  err <- expect_error(AutoConfig_from_pretrained(file.path(tempdir(), "nowhere")), class = "fastai_python_error")
  expect_match(conditionMessage(err), "Hint:")
})

test_that("get_hf_objects returns the architecture name, config, tokenizer and model, unpacked with %<-%", {
  skip_if_no_fastai()
  config <- AutoConfig()$from_pretrained(tiny_model())
  config$num_labels <- 3L
  res <- get_hf_objects(tiny_model(), task = HF_TASKS_ALL()$SequenceClassification, config = config)
  expect_named(res, c("hf_arch", "hf_config", "hf_tokenizer", "hf_model"))
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% res
  expect_identical(hf_arch, "bert")
  expect_identical(hf_config$num_labels, 3L)
  expect_identical(py_type(hf_model), "BertForSequenceClassification")
  expect_true(grepl("Tokenizer", py_type(hf_tokenizer)))
})

# The first validation batch (not shuffled) of DataLoaders built with `block`, as R arrays.
first_valid_batch <- function(block) {
  dls <- DataBlock(blocks = list(block, MultiCategoryBlock(encoded = TRUE, vocab = ekman_labels)),
                   get_x = ColReader("text"), get_y = ColReader(ekman_labels), splitter = RandomSplitter(seed = 1)) %>%
    dataloaders(goemotions_rows(40L), bs = 8)
  fastai:::fastai_call(reticulate::py_get_attr(dls$valid, "one_batch"))
}

test_that("blurr's positional HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model) works like the keyword form", {
  skip_if_no_fastai()
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  positional <- first_valid_batch(HF_TextBlock(hf_arch, hf_config, hf_tokenizer, hf_model))
  keyword <- first_valid_batch(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer))
  expect_identical(positional, keyword)
  expect_true(all(c("input_ids", "attention_mask") %in% names(positional[[1]])))
  expect_identical(nrow(positional[[1]]$input_ids), 8L)
  # blurr's older two-argument form, the tokenizer second
  expect_identical(first_valid_batch(HF_TextBlock(hf_arch, hf_tokenizer)), keyword)
})

test_that("HF_TextBlock checks its own arguments in R", {
  skip_if_no_fastai()
  expect_error(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model()), max_length = 0),
               "max_length must be a positive whole number", class = "fastai_input_error")
})

test_that("HF_BaseModelWrapper returns the model's whole output: learn$model(x)$logits works", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 40L)
  expect_true(inherits(learn$model, "torch.nn.modules.module.Module"))
  b <- one_batch(learn$dls)
  out <- learn$model(b[[1]])
  expect_true("logits" %in% names(out))
  expect_identical(as.integer(unlist(reticulate::py_eval("tuple")(out$logits$shape))), c(8L, 7L))
})

test_that("hf_save_pretrained writes a Hugging Face folder with the learner's labels and problem type", {
  skip_if_no_fastai()
  learn <- trained_multilabel_learner(n = 40L)
  dir <- withr::local_tempdir()
  res <- withVisible(hf_save_pretrained(learn, file.path(dir, "hf")))
  expect_false(res$visible)
  expect_identical(res$value, file.path(dir, "hf"))
  cfg <- jsonlite::fromJSON(file.path(dir, "hf", "config.json"))
  expect_identical(unname(unlist(cfg$id2label)), ekman_labels)
  expect_identical(cfg$problem_type, "multi_label_classification")
  reloaded <- AutoConfig_from_pretrained(file.path(dir, "hf"))
  expect_identical(reloaded$num_labels, 7L)
})

test_that("HF_load_dataset reads a csv as an R data frame", {
  skip_if_no_fastai()
  csv <- withr::local_tempfile(fileext = ".csv")
  utils::write.csv(data.frame(text = c("good", "bad", "fine"), joy = c(1L, 0L, 1L)), csv, row.names = FALSE)
  df <- HF_load_dataset("csv", data_files = csv, split = "train")
  expect_s3_class(df, "data.frame")
  expect_identical(df$text, c("good", "bad", "fine"))
  expect_identical(df$joy, c(1L, 0L, 1L))
  all_splits <- HF_load_dataset("csv", data_files = csv)
  expect_named(all_splits, "train")
  expect_identical(all_splits$train, df)
})

test_that("minilm_path() is a local model folder and load_goemotions() gives text, labels and 0/1 columns", {
  skip_if_no_fastai()
  expect_true(file.exists(file.path(minilm_path(), "config.json")))
  ge <- load_goemotions("ekman", n_rows = 20)
  expect_identical(names(ge), c("text", "labels", ekman_labels))
  expect_identical(nrow(ge), 20L)
  expect_type(ge$joy, "integer")
  expect_true(all(unlist(ge[, ekman_labels]) %in% 0:1))
  single <- load_goemotions("ekman", n_rows = 20, single_label = TRUE)
  expect_true(all(single$label %in% ekman_labels))
  expect_true(dir.exists(goemotions_path("ekman")))
})
