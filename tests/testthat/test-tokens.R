# Token classification from R: list columns or one row per word in, data frames out.

ner_labels <- c("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")

ner_dblock <- function(vocab = ner_labels) {
  config <- AutoConfig()$from_pretrained(tiny_model())
  config$num_labels <- length(ner_labels)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-%
    get_hf_objects(tiny_model(), task = HF_TASKS_AUTO()$TokenClassification, config = config)
  dblock <- DataBlock(blocks = list(HF_TokenClassBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer),
                                    HF_TokenCategoryBlock(vocab = vocab)),
                      get_x = ColReader("tokens"), get_y = ColReader("tags"), splitter = RandomSplitter(seed = 1))
  list(dblock = dblock, model = hf_model)
}

ner_learner <- function(n = 40L) {
  parts <- ner_dblock()
  dls <- dataloaders(parts$dblock, load_conll2003("train", n_rows = n), bs = 8)
  Learner(dls, HF_BaseModelWrapper(parts$model), cbs = HF_BaseModelCallback(), splitter = hf_splitter(),
          metrics = entity_metrics())
}

test_that("CoNLL data arrives with list columns, and one row per word becomes one row per sentence", {
  skip_if_no_fastai()
  df <- load_conll2003("valid", n_rows = 3)
  expect_identical(names(df), c("tokens", "tags"))
  expect_type(df$tokens, "list")
  expect_identical(lengths(df$tokens), lengths(df$tags))
  expect_identical(conll2003_labels(), ner_labels)

  long <- data.frame(sid = c(4, 4, 4, 9), w = c("EU", "rejects", "lamb", "Peter"), t = c("B-ORG", "O", "O", "B-PER"))
  wide <- words_from_long(long, sentence = "sid", word = "w", tag = "t")
  expect_identical(wide$sentence, c(4, 9))
  expect_identical(wide$words, list(c("EU", "rejects", "lamb"), "Peter"))
  expect_identical(wide$tags, list(c("B-ORG", "O", "O"), "B-PER"))
  expect_false("tags" %in% names(words_from_long(long, sentence = "sid", word = "w", tag = NULL)))
})

test_that("a token classifier trains from R, with entity metrics as numbers and tables", {
  skip_if_no_fastai()
  learn <- ner_learner()
  expect_identical(learn$dls$vocab, ner_labels)  # an R character vector, as fastai's CategoryMap converts
  sb <- show_batch(learn$dls, max_n = 2)
  expect_identical(names(sb), c("words", "target"))
  expect_identical(lengths(sb$words), lengths(sb$target))

  out <- withr::with_options(list(fastai.progress = "table"), capture.output(fit_one_cycle(learn, 1, lr_max = 1e-3)))
  expect_match(out[1], "token_accuracy +precision +recall +f1")

  m <- token_metrics(learn)
  expect_named(m, c("accuracy", "precision", "recall", "f1"))
  expect_true(all(m >= 0 & m <= 1))
  rep <- entity_report(learn, load_conll2003("test", n_rows = 10))
  expect_identical(names(rep), c("entity", "precision", "recall", "f1", "support"))
  expect_identical(tail(rep$entity, 3), c("micro avg", "macro avg", "weighted avg"))
  expect_type(rep$support, "integer")

  sr <- show_results(learn, max_n = 2)
  expect_identical(names(sr), c("words", "target", "predicted"))
})

test_that("predict() tags the words of texts, word vectors and one-row-per-word data", {
  skip_if_no_fastai()
  learn <- ner_learner(24L)
  texts <- c("Peter Blackburn met the European Commission.", "EU rejects German call.")
  res <- predict(learn, texts)
  expect_named(res, c("words", "entities"))
  w <- res$words
  expect_identical(names(w), c("sentence", "word", "start", "end", "tag", "probability"))
  expect_identical(unique(w$sentence), 1:2)
  expect_identical(w$word[w$sentence == 1], c("Peter", "Blackburn", "met", "the", "European", "Commission", "."))
  expect_identical(substr(texts[w$sentence], w$start, w$end), w$word)  # 1-based, inclusive
  expect_true(all(w$tag %in% ner_labels) && all(w$probability > 0 & w$probability <= 1))
  e <- res$entities
  expect_identical(names(e), c("sentence", "entity", "text", "start", "end", "score"))
  expect_identical(substr(texts[e$sentence], e$start, e$end), e$text)

  words <- list(c("Peter", "Blackburn"), c("EU", "rejects", "German", "call"))
  by_list <- predict(learn, words)$words
  expect_identical(by_list$word, unlist(words))
  expect_identical(predict_tokens(learn, words)$words, by_list)
  long <- data.frame(s = c(1, 1, 2, 2, 2, 2), w = unlist(words))
  expect_identical(predict_tokens(learn, long, sentence = "s", word = "w")$words, by_list)
})

test_that("bad token data and inputs fail with the row and the fix, in R's terms", {
  skip_if_no_fastai()
  parts <- ner_dblock()
  df <- load_conll2003("train", n_rows = 8)
  bad <- df
  bad$tags[[3]] <- "O"
  err <- expect_error(dataloaders(parts$dblock, bad, bs = 4), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "different number of words and tags \\(row 3; e\\.g\\. 2 words and 1 tags\\)")
  bad <- df
  bad$tags[[5]][1] <- "B-PERSON"
  expect_error(dataloaders(parts$dblock, bad, bs = 4), "not in the vocab: c\\(\"B-PERSON\"\\) \\(row 5\\)")
  bad <- df
  bad$tokens <- vapply(df$tokens, paste, character(1), collapse = " ")
  expect_error(dataloaders(parts$dblock, bad, bs = 4), "a list of words per row.*strsplit")

  learn <- ner_learner(16L)
  expect_error(predict(learn, list(c("a", NA))), "list of character vectors", class = "fastai_input_error")
  expect_error(predict(learn, c("fine", "")), "positions 2", class = "fastai_input_error")
  expect_error(predict_tokens(learn, "text", sentence = "s"), "both sentence and word", class = "fastai_input_error")
  expect_error(HF_TokenCategoryBlock(vocab = c("O", NA)), "character vector", class = "fastai_input_error")
})

test_that("hf_save_pretrained -> hf_load_learner gives a token classifier that tags as before and trains further", {
  skip_if_no_fastai()
  learn <- ner_learner(24L)
  path <- file.path(withr::local_tempdir(), "ner")
  hf_save_pretrained(learn, path)
  loaded <- hf_load_learner(path)
  texts <- c("Peter Blackburn met the European Commission.", "EU rejects German call.")
  expect_identical(predict(loaded, texts), predict(learn, texts))
  words <- list(c("Peter", "Blackburn"), c("EU", "rejects", "German", "call"))
  expect_identical(predict_tokens(loaded, words, aggregation = "simple"), predict_tokens(learn, words, aggregation = "simple"))
  expect_identical(sapply(loaded$metrics, function(m) m$name), c("token_accuracy", "precision", "recall", "f1"))

  # further training on a data frame laid out as the training data (list columns `tokens` and `tags`)
  more <- hf_load_learner(path, df = load_conll2003("valid", n_rows = 12), valid_pct = 0.25, seed = 1, bs = 4)
  withr::with_options(list(fastai.progress = "silent"), more %>% fit_one_cycle(1, lr_max = 1e-3))
  rec <- run_record(more)
  expect_equal(rec$n_train[nrow(rec)], 9L)
  expect_named(predict(more, texts), c("words", "entities"))
})
