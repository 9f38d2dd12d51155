# ULMFiT from R on 300 GoEmotions texts: tokenization, vocab, LM data, a small AWD-LSTM language
# model and classifier (sizes 32/64/2 instead of 400/1152/3, so each fit takes about a second).

small_config <- function(task = "lm") awd_lstm_config(task, emb_sz = 32, n_hid = 64, n_layers = 2)

text_fx <- new.env(parent = emptyenv())

ulmfit_df <- function() {
  if (is.null(text_fx$df)) text_fx$df <- load_goemotions("ekman", n_rows = 300, single_label = TRUE)
  text_fx$df
}

# A language model trained one epoch, its encoder saved as "ft" in a temporary folder.
ulmfit_lm <- function() {
  if (is.null(text_fx$lm)) {
    text_fx$path <- tempfile("ulmfit-")
    dir.create(text_fx$path)
    set_seed(1)
    dls_lm <- TextDataLoaders_from_df(ulmfit_df(), text_col = "text", is_lm = TRUE, path = text_fx$path, bs = 16,
                                      seq_len = 24, valid_pct = 0.1, seed = 1)
    lm <- language_model_learner(dls_lm, AWD_LSTM, config = small_config(), drop_mult = 0.3, pretrained = FALSE,
                                 metrics = list(accuracy(), Perplexity()))
    withr::with_options(list(fastai.progress = "silent"), lm %>% fit_one_cycle(1, 1e-2))
    lm %>% save_encoder("ft")
    text_fx$lm <- lm
  }
  text_fx$lm
}

# The classifier of the ULMFiT recipe: a DataBlock on the language model's vocab, its encoder loaded.
ulmfit_classifier <- function() {
  if (is.null(text_fx$clas)) {
    lm <- ulmfit_lm()
    dblock <- DataBlock(blocks = list(TextBlock_from_df("text", vocab = lm$dls$vocab), CategoryBlock()),
                        get_x = ColReader("text"), get_y = ColReader("label"), splitter = RandomSplitter(0.2, seed = 1))
    dls <- dataloaders(dblock, ulmfit_df(), bs = 16, path = text_fx$path)
    clas <- text_classifier_learner(dls, AWD_LSTM, config = small_config("classifier"), pretrained = FALSE,
                                    metrics = accuracy(), seq_len = 24)
    text_fx$clas <- clas %>% load_encoder("ft")
  }
  text_fx$clas
}

encoder_weight <- function(learn) {
  enc <- learn$model[0]  # the AWD_LSTM (inside the classifier's SentenceEncoder)
  if (reticulate::py_has_attr(enc, "module")) enc <- enc$module
  enc$encoder$weight
}

# fastai's classifier data has two vocabs: the tokens' and the labels'.
labels_of <- function(dls) as.character(unlist(fastai:::py_r_text()$label_vocab(dls)))

torch_equal <- function(a, b) reticulate::import("torch")$equal(a$cpu(), b$cpu())

test_that("special tokens and rules are character vectors", {
  skip_if_no_fastai()
  toks <- spec_tokens()
  expect_type(toks, "character")
  expect_identical(toks[1:3], c("xxunk", "xxpad", "xxbos"))
  expect_true(all(c("xxmaj", "xxup", "xxrep", "xxwrep", "xxfld", "xxeos") %in% toks))
  rules <- proc_rules()
  expect_identical(rules[1], "fix_html")
  expect_true(all(c("replace_rep", "replace_all_caps", "replace_maj", "lowercase") %in% rules))
})

test_that("word tokenization adds the special tokens, with the rules chosen", {
  skip_if_no_fastai()
  toks <- text_tokens(c("Hello WORLD it's a test!!!!", "ok"))
  expect_identical(toks, list(c("xxbos", "xxmaj", "hello", "xxup", "world", "it", "'s", "a", "test", "xxrep", "4", "!"),
                              c("xxbos", "ok")))
  expect_identical(text_tokens("Hello WORLD", rules = character(0)), list(c("Hello", "WORLD")))
  expect_identical(text_tokens("Hello WORLD", tok = WordTokenizer(), rules = "lowercase"), list(c("xxbos", "hello", "world")))
  # a Tokenizer brings its own rules
  expect_identical(text_tokens("Hello WORLD", tok = Tokenizer(WordTokenizer(), rules = "lowercase")),
                   list(c("xxbos", "hello", "world")))
  expect_identical(text_tokens(c(a = "fine")), list(c("xxbos", "fine")))

  expect_error(text_tokens("hi", tok = "chars"), class = "fastai_input_error")
  expect_error(text_tokens(c("hi", NA)), "positions 2", class = "fastai_input_error")
  expect_error(text_tokens("hi", rules = "shout"), "unknown text rule", class = "fastai_ValueError")
})

test_that("a subword tokenizer learns its pieces from the texts", {
  skip_if_no_fastai()
  texts <- ulmfit_df()$text
  sp <- SubwordTokenizer(vocab_sz = 200, texts = texts)
  expect_s3_class(sp, "fastai.text.core.SentencePieceTokenizer")  # SubwordTokenizer's class
  toks <- text_tokens(texts[1:20], tok = sp)
  expect_length(toks, 20L)
  expect_true(all(vapply(toks, function(t) t[1] == "\u2581xxbos", logical(1))))
  pieces <- unique(unlist(text_tokens(texts, tok = sp)))
  expect_lte(length(pieces), 200L)
  # the pieces put back together give the (lowercased) text
  expect_match(gsub("\u2581", " ", paste(toks[[1]], collapse = "")), "my favourite food is anything", fixed = TRUE)
  expect_true(all(vapply(text_tokens(texts[1:3], tok = "subword", vocab_sz = 150), length, 1L) > 3L))
})

test_that("tokenize_df replaces the text column by token vectors and counts tokens", {
  skip_if_no_fastai()
  df <- ulmfit_df()[1:30, c("text", "label")]
  res <- tokenize_df(df, "text")
  expect_named(res, c("df", "counts"))
  expect_identical(names(res$df), c("label", "text", "text_length"))
  expect_identical(res$df$label, df$label)
  expect_type(res$df$text, "list")
  expect_identical(res$df$text[[1]], text_tokens(df$text[1])[[1]])
  expect_identical(lengths(res$df$text), res$df$text_length)
  expect_identical(sum(res$counts$n), sum(res$df$text_length))
  expect_false(is.unsorted(rev(res$counts$n)))
  expect_identical(res$counts$n[res$counts$token == "xxbos"], 30L)
  expect_error(tokenize_df(df, "body"), "not in df", class = "fastai_input_error")
})

test_that("vocab, ids and Numericalize agree", {
  skip_if_no_fastai()
  toks <- text_tokens(ulmfit_df()$text)
  vocab <- text_vocab(toks, min_freq = 2)
  expect_identical(vocab[1:9], spec_tokens())
  expect_identical(length(vocab) %% 8L, 0L)
  counts <- table(unlist(toks))
  expect_true(all(counts[setdiff(vocab, c(spec_tokens(), "xxfake"))] >= 2))
  ids <- numericalize_tokens(toks[1:5], vocab)
  expect_type(ids[[1]], "integer")
  for (i in 1:5) {  # ids count from 0; unknown tokens become 0 (xxunk)
    back <- vocab[ids[[i]] + 1L]
    known <- toks[[i]] %in% vocab
    expect_identical(back[known], toks[[i]][known])
    expect_true(all(back[!known] == "xxunk"))
  }
  num <- Numericalize(min_freq = 2, tokens = toks)
  expect_identical(as.character(num$vocab), vocab)
  expect_identical(numericalize_tokens(toks[1:5], num), ids)
  expect_identical(numericalize_tokens(list("hello"), c("xxunk", "hello")), list(1L))
  expect_error(text_vocab(list(1:3)), class = "fastai_input_error")
})

test_that("LMDataLoader batches consecutive tokens with targets shifted by one", {
  skip_if_no_fastai()
  dl <- LMDataLoader(list(0:49, 50:99), bs = 2, seq_len = 5)
  expect_s3_class(dl, "fastai.text.data.LMDataLoader")
  expect_identical(length(dl), 10L)  # 2 streams of 49 input tokens, 5 per batch
  b <- fastai:::bridge_call("call", dl$one_batch)
  x <- b[[1]]
  y <- b[[2]]
  expect_identical(dim(x), c(2L, 5L))
  expect_identical(x[1, ], 0:4)
  expect_identical(y, x + 1L)
  expect_error(LMDataLoader(list(c(1, NA))), class = "fastai_input_error")
  expect_error(LMDataLoader("abc"), class = "fastai_input_error")
})

test_that("a language model trains from scratch offline, reports perplexity and continues texts", {
  skip_if_no_fastai()
  lm <- ulmfit_lm()
  expect_s3_class(lm, "fastai.text.learner.LMLearner")
  vocab <- lm$dls$vocab
  expect_type(vocab, "character")
  expect_identical(vocab[1:9], spec_tokens())
  h <- get_history(lm)
  expect_identical(names(h), c("epoch", "train_loss", "valid_loss", "accuracy", "perplexity", "time"))
  expect_equal(h$perplexity, exp(h$valid_loss), tolerance = 1e-4)
  expect_true(h$accuracy > 0 && h$accuracy < 1)

  out <- predict(lm, "I feel so", n_words = 6, temperature = 0.75, seed = 1)
  expect_type(out, "character")
  expect_length(out, 1L)
  expect_true(startsWith(out, "I feel so ") && nchar(out) > nchar("I feel so "))
  expect_identical(predict(lm, "I feel so", n_words = 6, temperature = 0.75, seed = 1), out)
  two <- lm %>% predict("It's a WONDERFUL day", n_words = 3, n = 2)
  expect_length(two, 2L)
  expect_true(all(startsWith(two, "It's a WONDERFUL day")))
  expect_identical(predict(lm, "Hello", n_words = 0), "Hello")

  expect_error(predict(lm, c("a", "b")), "prompt", class = "fastai_input_error")
  expect_error(predict(lm, "a", temperature = 0), class = "fastai_input_error")
  expect_true(file.exists(file.path(text_fx$path, "models", "ft.pth")))
})

test_that("the classifier gets the LM encoder, trains gradually and predicts in the package's formats", {
  skip_if_no_fastai()
  lm <- ulmfit_lm()
  clas <- ulmfit_classifier()
  expect_s3_class(clas, "fastai.text.learner.TextLearner")
  expect_true(torch_equal(encoder_weight(clas), encoder_weight(lm)))

  emb <- encoder_weight(clas)$detach()$clone()
  withr::with_options(list(fastai.progress = "silent"),
                      res <- withVisible(clas %>% freeze_to(-2) %>% fit_one_cycle(1, slice(1e-3, 1e-2))))
  expect_false(res$visible)
  expect_true(torch_equal(emb, encoder_weight(clas)))  # the embedding group stays frozen
  expect_identical(nrow(get_history(clas)), 1L)

  labels <- sort(unique(ulmfit_df()$label))
  one <- predict(clas, "I am so happy today!")
  expect_named(one, c("label", "probabilities"))
  expect_true(one$label %in% labels)
  expect_identical(names(one$probabilities), labels)
  expect_equal(sum(one$probabilities), 1, tolerance = 1e-5)
  expect_identical(one$label, labels[which.max(unlist(one$probabilities))])

  texts <- c("I am so happy today!", "This is awful and I hate it", "ok")
  many <- clas %>% predict(texts)
  expect_s3_class(many, "data.frame")
  expect_identical(names(many), c(labels, "predicted"))
  expect_identical(nrow(many), 3L)
  expect_equal(unlist(many[1, labels]), unlist(one$probabilities), tolerance = 1e-5)
  from_df <- predict(clas, data.frame(id = 1:3, text = texts))
  expect_equal(from_df, many, tolerance = 1e-5)
  expect_error(predict(clas, data.frame(body = texts)), "no text column", class = "fastai_ValueError")
  expect_error(predict(clas, c("fine", "")), class = "fastai_input_error")
})

test_that("show_batch and show_results give data frames for ULMFiT data", {
  skip_if_no_fastai()
  lm <- ulmfit_lm()
  lm_batch <- show_batch(lm$dls, max_n = 3)
  expect_s3_class(lm_batch, "data.frame")
  expect_identical(names(lm_batch), c("text", "text_"))
  expect_identical(nrow(lm_batch), 3L)
  # a language model's target is its input one token later
  shifted <- mapply(function(x, y) identical(strsplit(x, " ")[[1]][-1], head(strsplit(y, " ")[[1]], -1)),
                    lm_batch$text, lm_batch$text_)
  expect_true(all(shifted))

  clas <- ulmfit_classifier()
  labels <- sort(unique(ulmfit_df()$label))
  batch <- clas$dls %>% show_batch(max_n = 4, dataset = "valid")
  expect_identical(names(batch), c("text", "category"))
  expect_true(all(startsWith(batch$text, "xxbos")))
  expect_true(all(batch$category %in% labels))
  res <- clas %>% show_results(max_n = 5, shuffle = FALSE)
  expect_identical(names(res), c("text", "category", "category_"))
  expect_identical(nrow(res), 5L)
  expect_true(all(res$category_ %in% labels))
})

test_that("save_model and load_model round-trip the weights; to_fp16 works on ULMFiT learners", {
  skip_if_no_fastai()
  clas <- ulmfit_classifier()
  before <- predict(clas, c("I am so happy", "so sad"))
  res <- withVisible(clas %>% save_model("stage1"))
  expect_false(res$visible)
  expect_true(file.exists(file.path(text_fx$path, "models", "stage1.pth")))
  withr::with_options(list(fastai.progress = "silent"), clas %>% unfreeze() %>% fit(1, lr = 0.1))
  changed <- predict(clas, c("I am so happy", "so sad"))
  expect_false(isTRUE(all.equal(changed, before)))
  clas %>% load_model("stage1")
  expect_equal(predict(clas, c("I am so happy", "so sad")), before, tolerance = 1e-6)
  expect_error(load_model(clas, "no-such-stage"), class = "fastai_FileNotFoundError")

  n_cbs <- reticulate::py_len(clas$cbs)
  expect_identical(to_fp16(clas), clas)
  expect_identical(reticulate::py_len(clas$cbs), n_cbs + 1L)
  to_fp32(clas)
  expect_identical(reticulate::py_len(clas$cbs), n_cbs)
})

test_that("local pretrained weights load offline; the default fails with a message saying what to do", {
  skip_if_no_fastai()
  lm <- ulmfit_lm()
  torch <- reticulate::import("torch")
  wgts <- withr::local_tempfile(fileext = ".pth")
  vocab <- withr::local_tempfile(fileext = ".pkl")
  torch$save(lm$model$state_dict(), wgts)
  reticulate::import("fastai_hf")$save_pickle(vocab, as.list(lm$dls$vocab))
  lm2 <- language_model_learner(lm$dls, AWD_LSTM, config = small_config(), pretrained_fnames = c(wgts, vocab))
  real <- which(lm$dls$vocab != "xxfake") - 1L  # fastai fills its padding tokens with the mean embedding
  idx <- torch$tensor(as.list(real))
  expect_true(torch_equal(encoder_weight(lm2)$index_select(0L, idx), encoder_weight(lm)$index_select(0L, idx)))
  expect_error(language_model_learner(lm$dls, config = small_config(), pretrained_fnames = wgts),
               "two files", class = "fastai_input_error")
  expect_error(language_model_learner(lm$dls, config = small_config(), pretrained_fnames = c("missing", vocab)),
               "was not found", class = "fastai_ValueError")

  # No network: fastai's download (untar_data) fails; replaced here so the test never downloads.
  mod <- reticulate::import("fastai.text.learner")
  fetch <- reticulate::py_get_attr(mod, "untar_data")
  withr::defer(reticulate::py_set_attr(mod, "untar_data", fetch))
  offline <- reticulate::py_run_string(paste(
    "def offline(*args, **kwargs):",
    "    from urllib.error import URLError",
    "    raise URLError('[Errno -2] Name or service not known')", sep = "\n"),
    local = TRUE)$offline
  reticulate::py_set_attr(mod, "untar_data", offline)
  err <- expect_error(language_model_learner(lm$dls, AWD_LSTM), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "pretrained=False")
  expect_match(conditionMessage(err), "pretrained_fnames")
  expect_error(text_classifier_learner(ulmfit_classifier()$dls, AWD_LSTM), "could not download",
               class = "fastai_ValueError")
})

test_that("the ULMFiT classifier's errors are analysed like an HF learner's", {
  skip_if_no_fastai()
  clas <- ulmfit_classifier()
  tl <- top_losses(clas, k = 5)
  expect_identical(names(tl), c("row", "text", "label", "predicted", "loss", "probability", "label_probability"))
  expect_false(is.unsorted(rev(tl$loss)))
  expect_false(any(grepl("xxbos|xxmaj|xxpad", tl$text)))
  interp <- ClassificationInterpretation_from_learner(clas)
  cm <- confusion_matrix(interp)
  expect_equal(sum(cm), 60)  # 20% of 300 rows
  expect_identical(rownames(cm), sort(unique(ulmfit_df()$label)))
})

test_that("TextBlock_from_df and TextDataLoaders_from_df take other column names", {
  skip_if_no_fastai()
  df <- data.frame(review = ulmfit_df()$text[1:60], mood = ulmfit_df()$label[1:60])
  path <- withr::local_tempdir()
  dls <- TextDataLoaders_from_df(df, text_col = "review", label_col = 2, path = path, bs = 8, seed = 1)
  expect_identical(reticulate::py_len(dls$train_ds) + reticulate::py_len(dls$valid_ds), 60L)
  expect_identical(sort(labels_of(dls)), sort(unique(df$mood)))
  expect_identical(dls$train$fake_l$num_workers, 0L)
  expect_error(TextDataLoaders_from_df(df, text_col = "text"), "not in df", class = "fastai_input_error")
  expect_error(TextDataLoaders_from_df(df, text_col = "review", label_col = 5), class = "fastai_input_error")
})

test_that("text folders load with TextDataLoaders_from_folder and TextBlock_from_folder", {
  skip_if_no_fastai()
  root <- withr::local_tempdir()
  texts <- ulmfit_df()$text[1:24]
  for (i in seq_along(texts)) {
    split <- if (i <= 16) "train" else "valid"
    label <- if (i %% 2) "odd" else "even"
    dir.create(file.path(root, "data", split, label), recursive = TRUE, showWarnings = FALSE)
    writeLines(texts[i], file.path(root, "data", split, label, sprintf("%02d.txt", i)))
  }
  path <- file.path(root, "data")
  dls <- TextDataLoaders_from_folder(path, bs = 4)
  expect_identical(reticulate::py_len(dls$train_ds), 16L)
  expect_identical(reticulate::py_len(dls$valid_ds), 8L)
  expect_identical(labels_of(dls), c("even", "odd"))

  dblock <- DataBlock(blocks = list(TextBlock_from_folder(path, is_lm = TRUE)), get_items = get_text_files(),
                      splitter = GrandparentSplitter())
  dls_lm <- dataloaders(dblock, path, bs = 2, seq_len = 8)
  expect_true(dir.exists(paste0(path, "_tok")))
  b <- one_batch(dls_lm, convert = TRUE)
  expect_identical(dim(b[[1]]), c(2L, 8L))
  expect_identical(b[[1]][, -1], b[[2]][, -8])
  expect_error(TextBlock_from_folder(file.path(root, "nope")), "does not exist", class = "fastai_input_error")
})

test_that("ULMFiT constructors check their input", {
  skip_if_no_fastai()
  expect_error(language_model_learner("dls"), class = "fastai_input_error")
  expect_error(awd_lstm_config("seq2seq"), class = "fastai_input_error")
  expect_error(awd_lstm_config(emb_size = 3), "unknown AWD_LSTM config keys", class = "fastai_ValueError")
  cfg <- awd_lstm_config("classifier", emb_sz = 32)
  expect_type(cfg, "list")
  expect_identical(cfg$emb_sz, 32L)
  expect_error(save_encoder(Learner, "x"), class = "fastai_input_error")
  expect_s3_class(AWD_LSTM(vocab_sz = 50, emb_sz = 8, n_hid = 16, n_layers = 1), "fastai.text.models.awdlstm.AWD_LSTM")
})
