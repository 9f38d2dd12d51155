# R/data.R: DataBlock, blocks, readers and splitters, dataloaders() from R data frames, batches.

test_that("dataloaders() builds training and validation sets from an R data frame", {
  skip_if_no_fastai()
  dls <- multilabel_dls(n = 40L, bs = 8L)
  expect_s3_class(dls, "fastai.data.core.DataLoaders")
  expect_identical(reticulate::py_len(dls$train_ds), 32L)  # RandomSplitter's default: 20% validation
  expect_identical(reticulate::py_len(dls$valid_ds), 8L)
  expect_identical(dls$train$bs, 8L)
})

test_that("a data.table is a source like a data frame", {
  skip_if_no_fastai()
  dblock <- DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model())),
                                    MultiCategoryBlock(encoded = TRUE, vocab = ekman_labels)),
                      get_x = ColReader("text"), get_y = ColReader(ekman_labels), splitter = RandomSplitter(seed = 1))
  dls <- dataloaders(dblock, data.table::as.data.table(goemotions_rows(40L)), bs = 8)
  expect_identical(reticulate::py_len(dls$train_ds) + reticulate::py_len(dls$valid_ds), 40L)
})

test_that("dls$vocab is an R character vector of the labels", {
  skip_if_no_fastai()
  expect_identical(multilabel_dls(n = 24L)$vocab, ekman_labels)
  df <- goemotions_rows(60L, single_label = TRUE)
  dls <- DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model())), CategoryBlock()),
                   get_x = ColReader("text"), get_y = ColReader("label")) %>%
    dataloaders(df, bs = 8)
  expect_type(dls$vocab, "character")
  expect_identical(dls$vocab, sort(unique(df$label)))
})

test_that("one_batch() gives the tensors as fastai does, or R matrices with convert = TRUE", {
  skip_if_no_fastai()
  dls <- multilabel_dls(n = 40L, bs = 8L)
  b <- one_batch(dls)
  expect_length(b, 2L)
  expect_true(all(c("input_ids", "attention_mask") %in% names(b[[1]])))
  expect_match(paste(capture.output(print(b)), collapse = "\n"), "TensorMultiCategory")
  bm <- one_batch(dls, convert = TRUE)
  expect_true(is.matrix(bm[[1]]$input_ids) && is.integer(bm[[1]]$input_ids))
  expect_identical(nrow(bm[[1]]$input_ids), 8L)
  expect_identical(dim(bm[[1]]$attention_mask), dim(bm[[1]]$input_ids))
  expect_identical(dim(bm[[2]]), c(8L, 7L))
  expect_true(all(bm[[2]] %in% c(0, 1)))
})

test_that("show_batch() decodes a batch into a data frame of texts and targets", {
  skip_if_no_fastai()
  dls <- multilabel_dls(n = 40L, bs = 8L)
  sb <- show_batch(dls, max_n = 3)
  expect_s3_class(sb, "data.frame")
  expect_identical(names(sb), c("text", "target"))
  expect_identical(nrow(sb), 3L)
  expect_true(is.character(sb$text) && all(nzchar(sb$text)))  # decoded by the (uncased) tokenizer
  expect_identical(nrow(show_batch(dls, max_n = 2, dataset = "valid")), 2L)
})

test_that("IndexSplitter() takes R's 1-based row numbers", {
  skip_if_no_fastai()
  df <- goemotions_rows(40L, single_label = TRUE)
  dls <- DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model())), CategoryBlock()),
                   get_x = ColReader("text"), get_y = ColReader("label"), splitter = IndexSplitter(1:6)) %>%
    dataloaders(df, bs = 4)
  expect_identical(from_pandas(dls$valid_ds$items)$text, df$text[1:6])
  expect_identical(reticulate::py_len(dls$train_ds), nrow(df) - 6L)
})

test_that("ColSplitter() takes the rows a logical column marks", {
  skip_if_no_fastai()
  df <- goemotions_rows(40L, single_label = TRUE)
  df$is_valid <- seq_len(nrow(df)) > 30
  dls <- DataBlock(blocks = list(HF_TextBlock(hf_tokenizer = AutoTokenizer_from_pretrained(tiny_model())), CategoryBlock()),
                   get_x = ColReader("text"), get_y = ColReader("label"), splitter = ColSplitter("is_valid")) %>%
    dataloaders(df, bs = 4)
  expect_identical(from_pandas(dls$valid_ds$items)$text, df$text[31:40])
})

test_that("dataloaders passes pool_batches to HF data, as R numbers", {
  skip_if_no_fastai()
  df <- goemotions_rows(48L)
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
