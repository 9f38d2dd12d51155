# Nothing lost, nothing silent: what an R user gets for bad input and faults, and what is left after.
#
# Each case of the matrix makes one bad call and checks the error class, that the message names the
# culprit and says what to do (in R: 1-based rows, R code, R values), and that nothing was lost: the
# learner still validates and predicts the same probabilities; an existing export still loads and
# predicts the same. Then faults (a write failing part-way, an exception and a KeyboardInterrupt from a
# callback mid-fit), reproducibility with set_seed() and a missing Python. Self-contained: its own
# tiny BERT, data and learners (function-scoped).

bi <- new.env(parent = emptyenv())
bi_labels <- c("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
bi_texts <- c("thank you, this made my day", "I can't believe they did that, awful")

bi_tiny <- function() {
  if (is.null(bi$tiny)) bi$tiny <- reticulate::import("fastai_hf.testing")$tiny_bert()
  bi$tiny
}

bi_data <- function(n = 80L, single = FALSE) {
  key <- paste(n, single)
  if (is.null(bi$data[[key]])) {
    df <- load_goemotions("ekman", n_rows = n, single_label = single)
    bi$data[[key]] <- if (single) df[, c("text", "label")] else df[, c("text", bi_labels)]
  }
  bi$data[[key]]
}

bi_dblock <- function(single = FALSE, splitter = RandomSplitter(seed = 1L), num_labels = 7L) {
  config <- AutoConfig()$from_pretrained(bi_tiny())
  config$num_labels <- num_labels
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(bi_tiny(), config = config)
  y <- if (single) CategoryBlock(vocab = bi_labels) else MultiCategoryBlock(encoded = TRUE, vocab = bi_labels)
  bi$model <- hf_model
  DataBlock(blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer), y),
            get_x = ColReader("text"), get_y = ColReader(if (single) "label" else bi_labels), splitter = splitter)
}

bi_learner <- function(df = bi_data(), single = FALSE, bs = 8L, splitter = RandomSplitter(seed = 1L),
                       num_labels = 7L, path = NULL) {
  dls <- bi_dblock(single, splitter, num_labels) %>% dataloaders(df, bs = bs)
  learn <- Learner(dls, HF_BaseModelWrapper(bi$model), loss_func = if (single) CrossEntropyLossFlat() else
                     BCEWithLogitsLossFlat(), cbs = HF_BaseModelCallback(), splitter = hf_splitter())
  if (!is.null(path)) learn$path <- reticulate::import("pathlib")$Path(path)
  learn
}

bi_probs <- function(learn) as.matrix(hf_predict(learn, bi_texts)[, bi_labels])

# A learner with what it predicts and its data sizes recorded, to check that nothing was lost.
bi_watch <- function(learn) {
  list(learn = learn, probs = bi_probs(learn),
       n = c(reticulate::py_len(learn$dls$train_ds), reticulate::py_len(learn$dls$valid_ds)))
}

expect_nothing_lost <- function(w, export = NULL) {
  learn <- w$learn
  expect_identical(c(reticulate::py_len(learn$dls$train_ds), reticulate::py_len(learn$dls$valid_ds)), w$n)
  expect_true(is.finite(validate(learn)[["valid_loss"]]))
  expect_identical(bi_probs(learn), w$probs)
  if (!is.null(export)) {
    expect_identical(readBin(export$path, "raw", file.size(export$path)), export$bytes)
    expect_identical(bi_probs(load_learner(export$path)), w$probs)
  }
}

bi_export <- function(learn, path) {
  export(learn, path)
  list(path = path, bytes = readBin(path, "raw", file.size(path)))
}

# One case: the error's class, the culprit and the advice in its message, no traceback, no Python.
expect_bad <- function(expr, class, culprit, fix) {
  err <- expect_error(expr, class = class)
  msg <- conditionMessage(err)
  expect_match(msg, culprit)
  expect_match(msg, fix)
  expect_false(grepl("Traceback|np\\.int|\\.dropna|pd\\.read|\\brow \\[", msg), info = msg)
  invisible(err)
}

quiet <- function(expr) withr::with_options(list(fastai.progress = "silent"), expr)

# ------------------------------------------------------------------------------ data, kept held

test_that("bad data frames fail with the culprit, R rows and R code", {
  skip_if_no_fastai()
  df <- bi_data()
  na <- df
  na$text[4] <- NA
  expect_bad(bi_learner(na), "fastai_ValueError", "text column \"text\" has 1 row whose text is missing \\(NA\\) \\(row 4\\)",
             "df\\[!is.na\\(df\\[\\[\"text\"\\]\\]\\), \\]")
  empty <- df
  empty$text[2] <- "  "
  expect_bad(bi_learner(empty), "fastai_ValueError", "empty \\(row 2\\)", "nzchar\\(trimws")
  expect_bad(bi_learner(setNames(df, sub("^text$", "txt", names(df)))), "fastai_ValueError",
             "column \"text\" is not in the data; its columns are c\\(\"txt\"", "ColReader")
  twos <- df
  twos$joy <- twos$joy * 2
  expect_bad(bi_learner(twos), "fastai_ValueError", "column \"joy\" has c\\(2\\) in rows", "as.integer\\(round\\(x\\)\\)")
  single <- bi_data(single = TRUE)
  expect_bad(bi_learner(transform(single, label = "bliss"), single = TRUE), "fastai_ValueError",
             "labels that are not in the vocab: c\\(\"bliss\"\\)", "add them to vocab=")
  expect_bad(bi_learner(df, num_labels = 3L), "fastai_ValueError", "num_labels=3 but the data has 7 labels",
             "config.num_labels = 7")
  expect_bad(bi_learner(df[0, ]), "fastai_error", "zero rows", "at least a few rows")
})

# --------------------------------------------------------------------------- degenerate data

test_that("degenerate data is refused or warned about in words", {
  skip_if_no_fastai()
  single <- bi_data(single = TRUE)
  expect_bad(bi_learner(transform(single, label = "joy"), single = TRUE), "fastai_ValueError",
             "label column \"label\" has one class \\(\"joy\"\\) in all 80 rows", "Add rows of the other classes")
  expect_bad(bi_learner(splitter = IndexSplitter(1:80)), "fastai_ValueError",
             "training set empty: 0 rows went to training and 80 to validation", "smaller validation share")
  expect_bad(bi_learner(splitter = IndexSplitter(c(5, 200))), "fastai_ValueError",
             "puts row 200 in the validation set, but the data has 80 rows \\(rows 1 to 80\\)", "row numbers from 1 to 80")
  csv <- withr::local_tempfile(fileext = ".csv")
  write.csv(bi_data(), csv, row.names = FALSE)
  expect_bad(bi_dblock() %>% dataloaders(csv), "fastai_TypeError", "the data source is a path \\(\".*\\.csv\"\\)",
             "read.csv\\(path\\)")
  expect_bad(bi_learner(bi_data()[1:6, ], bs = 8L), "fastai_ValueError",
             "the training set has 5 rows, fewer than the batch size bs = 8", "dataloaders\\(dblock, df, bs = 5\\)")
  expect_bad(bi_learner(bs = 0), "fastai_input_error", "bs must be a positive whole number, not 0", "positive whole")
  w <- expect_warning(learn <- bi_learner(bi_data()[1:2, ], bs = 1L, splitter = RandomSplitter(valid_pct = 0.1)),
                      class = "fastai_input_warning")
  expect_match(conditionMessage(w), "validation set empty: 2 rows went to training and 0 to validation")
  expect_identical(reticulate::py_len(learn$dls$valid_ds), 0L)
})

# ------------------------------------------------------------------------- training arguments

test_that("training arguments are checked before anything runs, and nothing is lost", {
  skip_if_no_fastai()
  w <- bi_watch(bi_learner())
  learn <- w$learn
  expect_bad(fit_one_cycle(learn, 0), "fastai_input_error", "n_epoch must be a positive whole number, not 0", "positive")
  expect_bad(fit(learn, -1, lr = 1e-3), "fastai_input_error", "n_epoch must be", "positive whole number")
  for (lr in list(NaN, Inf, -1e-3, 0)) {
    expect_bad(fit_one_cycle(learn, 1, lr), "fastai_input_error", sprintf("lr_max must be a number > 0 .* not %s", lr),
               "typically 1e-5 to 1e-2")
  }
  expect_bad(fit_one_cycle(learn, 1, c(1e-3, 1e-4)), "fastai_ValueError",
             "lr_max has 2 learning rates but the model has 4 parameter groups", "give one number, a slice .* or 4 numbers")
  expect_bad(fit_one_cycle(learn, 1, slice(1e-5, -1)), "fastai_input_error", "stop must be a number > 0", "slice")
  expect_bad(fit(learn, 1, lr = c(1e-3, -1)), "fastai_input_error", "lr must be .* not c\\(0.001, -1\\)", "> 0")
  expect_bad(fine_tune(learn, 0), "fastai_input_error", "epochs must be a positive whole number", "positive")
  expect_bad(freeze_to(learn, -100), "fastai_ValueError", "freeze_to\\(n = -100\\) is outside this model's 4 parameter groups",
             "between -4 and 3")
  expect_bad(fit_sgdr(learn, 1, 1, cycle_mult = 1), "fastai_ValueError", "cycle_mult must be a whole number >= 2, not 1",
             ">= 2")
  expect_bad(lr_find(learn, start_lr = 1, end_lr = 0.1), "fastai_input_error", "start_lr must be smaller", "smaller")
  expect_bad(predict(learn, "x", thresh = 1.5), "fastai_input_error", "thresh must be", "between 0 and 1")
  learn$loss_func$thresh <- 1.5
  err <- expect_bad(fit_one_cycle(learn, 1), "fastai_ValueError", "learn\\$loss_func\\$thresh: .* got 1.5",
                    "between 0 and 1")
  expect_match(err$hint, "change the value or data the message names; see \\?fit_one_cycle")
  learn$loss_func$thresh <- 0.5
  expect_nothing_lost(w)
})

test_that("a data frame where a learner goes says what to pass", {
  skip_if_no_fastai()
  df <- bi_data()
  expect_bad(fit_one_cycle(df, 1), "fastai_input_error", "must be a fastai Learner .*, not a data frame",
             "build one from the data first")
  expect_bad(hf_predict(df, "x"), "fastai_input_error", "not a data frame", "build one from the data first")
  expect_bad(export(df), "fastai_input_error", "not a data frame", "build one")
  expect_bad(Learner(df, NULL), "fastai_input_error", "dls must be DataLoaders", "dataloaders\\(\\)")
})

# ------------------------------------------------------------------------------------- files

test_that("loading something that is not an export names the file and says so", {
  skip_if_no_fastai()
  dir <- withr::local_tempdir()
  csv <- file.path(dir, "emotions.csv")
  write.csv(bi_data()[1:3, ], csv, row.names = FALSE)
  expect_bad(load_learner(csv), "fastai_ValueError",
             "emotions.csv\" is not a learner exported with export\\(learn, \"export.pkl\"\\) \\(it looks like a text file",
             "export the learner again")
  file.create(file.path(dir, "empty.pkl"))
  expect_bad(load_learner(file.path(dir, "empty.pkl")), "fastai_ValueError", "empty.pkl\" is empty \\(0 bytes\\)",
             "export the learner again")
  expect_bad(load_learner(file.path(dir, "nope.pkl")), "fastai_input_error", "nope.pkl' does not exist",
             "export\\(learn, \"export.pkl\"\\)")
  err <- expect_bad(load_learner(dir), "fastai_IsADirectoryError", "is a folder", "get_hf_objects\\(folder\\)")
  expect_match(err$hint, "give a file name")
  expect_bad(HF_load_dataset("xlsx", data_files = file.path(dir, "a.xlsx")), "fastai_ValueError",
             "does not read \"xlsx\" files; it reads the formats \"csv\", \"tsv\"", "readxl::read_excel\\(path\\)")
  err <- expect_bad(HF_load_dataset("csv", data_files = file.path(dir, "nope.csv")), "fastai_FileNotFoundError",
                    "nope.csv\" does not exist", "check the path")
  expect_match(err$hint, "getwd\\(\\)")
})

test_that("a failed export or save leaves the learner and an earlier export as they were", {
  skip_if_no_fastai()
  dir <- withr::local_tempdir()
  w <- bi_watch(bi_learner(path = dir))
  learn <- w$learn
  good <- bi_export(learn, file.path(dir, "good.pkl"))
  err <- expect_bad(export(learn, file.path(dir, "nope", "l.pkl")), "fastai_FileNotFoundError",
                    "its folder \".*nope\" does not exist", "create it first")
  expect_match(err$hint, "check the path")
  dir.create(file.path(dir, "dir"))
  expect_bad(export(learn, file.path(dir, "dir")), "fastai_IsADirectoryError", "a folder of that name exists",
             "give a file name")
  learn$connection <- reticulate::import("threading")$Lock()
  expect_bad(export(learn, good$path), "fastai_TypeError", "could not export the learner to \".*good.pkl\".*cannot pickle",
             "learn\\$remove_cb\\(cb\\).*save_model\\(learn, name\\)")
  reticulate::py_del_attr(learn, "connection")
  expect_bad(hf_save_pretrained(learn, good$path), "fastai_NotADirectoryError", "a file of that name exists",
             "give a folder name")
  expect_bad(hf_save_pretrained(learn, dir), "fastai_FileExistsError", "holds other files", "give a new folder name")
  expect_identical(sort(list.files(dir, all.files = TRUE, no.. = TRUE)), c("dir", "good.pkl"))
  expect_nothing_lost(w, good)
})

# Run `code` with torch.save writing 100 bytes and then failing with a full disk (ENOSPC).
with_full_disk <- function(code) {
  reticulate::py_run_string(paste(
    "import errno, torch",
    "_fastai_test_save = torch.save",
    "def _enospc(obj, f, *a, **k):",
    "    open(f, 'wb').write(b'\\0' * 100)",
    "    raise OSError(errno.ENOSPC, 'No space left on device')",
    "torch.save = _enospc", sep = "\n"))
  on.exit(reticulate::py_run_string("torch.save = _fastai_test_save"))
  code
}

test_that("a write failing part-way (full disk) loses nothing", {
  skip_if_no_fastai()
  dir <- withr::local_tempdir()
  w <- bi_watch(bi_learner(path = dir))
  learn <- w$learn
  good <- bi_export(learn, file.path(dir, "good.pkl"))
  save_model(learn, "weights")
  weights <- file.path(dir, "models", "weights.pth")
  saved <- readBin(weights, "raw", file.size(weights))
  err <- with_full_disk(expect_bad(export(learn, good$path), "fastai_OSError",
                                   "could not write \".*good.pkl\": No space left on device. Nothing was written; the file that was there is unchanged",
                                   "free disk space"))
  expect_match(err$hint, "all or nothing")
  with_full_disk(expect_bad(save_model(learn, "weights"), "fastai_OSError", "weights.pth\": No space left", "free disk"))
  expect_identical(readBin(weights, "raw", file.size(weights)), saved)
  expect_identical(sort(list.files(dir, all.files = TRUE, no.. = TRUE, recursive = TRUE)),
                   c("good.pkl", "models/weights.pth"))
  expect_nothing_lost(w, good)
})

# ---------------------------------------------------------------------------------- faults

bi_fail_at <- function(exception) {
  reticulate::py_run_string(paste(
    "from fastai.callback.core import Callback",
    "class _FailAt(Callback):",
    "    def __init__(self, exc): self.exc = exc",
    "    def after_batch(self):",
    "        if self.training and self.iter == 1: raise self.exc", sep = "\n"))
  main <- reticulate::import_main()
  main$`_FailAt`(reticulate::py_eval(exception))
}

test_that("an exception or an interrupt from a callback mid-fit leaves a usable learner", {
  skip_if_no_fastai()
  classes <- c("RuntimeError('a callback failed')" = "fastai_RuntimeError", "KeyboardInterrupt()" = "fastai_KeyboardInterrupt")
  for (exception in names(classes)) {
    learn <- bi_learner(bi_data()[1:40, ])
    quiet(fit_one_cycle(learn, 1, 1e-3))
    n <- reticulate::py_len(learn$dls$train_ds)
    err <- expect_error(quiet(fit_one_cycle(learn, 1, 1e-3, cbs = bi_fail_at(exception))), class = classes[[exception]])
    if (inherits(err, "fastai_KeyboardInterrupt")) {
      expect_match(conditionMessage(err), "KeyboardInterrupt: the call was interrupted")
      expect_match(err$hint, "keeps its data and the weights of the last finished batch")
    }
    expect_identical(nrow(get_history(learn)), 1L)  # the unfinished epoch is not in the history
    expect_identical(reticulate::py_len(learn$dls$train_ds), n)
    expect_true(is.finite(validate(learn)[["valid_loss"]]))
    expect_true(all(is.finite(bi_probs(learn))))
    quiet(fit_one_cycle(learn, 1, 1e-3))  # trains on
    expect_identical(nrow(get_history(learn)), 2L)
  }
})

# ------------------------------------------------------------------------------ reproducible

test_that("set_seed() before the data and the learner gives identical histories and predictions", {
  skip_if_no_fastai()
  run <- function(seed) {
    set_seed(seed)
    learn <- bi_learner(bi_data()[1:40, ], splitter = RandomSplitter())
    quiet(fit_one_cycle(learn, 2, 1e-3))
    list(history = get_history(learn)[, c("epoch", "train_loss", "valid_loss")], probs = bi_probs(learn))
  }
  bi_tiny()  # made once before (tiny_bert() seeds torch itself to build it)
  a <- run(42)
  b <- run(42)
  expect_identical(a, b)
  expect_false(identical(a$history, run(7)$history))
})

# ---------------------------------------------------------------------------- missing Python

test_that("a missing Python is the same classed error on every verb's first call", {
  script <- paste(
    "suppressMessages(library(fastai))",
    "csv <- tempfile(fileext = '.csv'); write.csv(data.frame(text = 'a', label = 'x'), csv)",
    "calls <- list(quote(minilm_path()), quote(load_goemotions('ekman', n_rows = 5)),",
    "  quote(HF_load_dataset('csv', data_files = csv)), quote(get_hf_objects('x')), quote(AutoConfig()),",
    "  quote(HF_TASKS_ALL()), quote(Adam()), quote(py_partial(Adam, eps = 1e-6)), quote(lr_slice(1e-3)),",
    "  quote(set_seed(1)), quote(to_pandas(data.frame(a = 1))), quote(DataBlock()), quote(HF_TextBlock()),",
    "  quote(ColReader('text')), quote(IndexSplitter(1:3)), quote(BCEWithLogitsLossFlat()),",
    "  quote(TextBlock_from_df('text')), quote(TextDataLoaders_from_df(data.frame(text = 'a b', label = 'x'))),",
    "  quote(text_tokens('a b')), quote(awd_lstm_config()), quote(load_learner(csv)), quote(hf_splitter()),",
    "  quote(minilm_path()))",
    "for (cl in calls) {",
    "  e <- tryCatch({eval(cl); NULL}, error = identity)",
    "  cat(deparse(cl)[1], '=>', if (is.null(e)) 'no error' else class(e)[1], '\\n')",
    "}", sep = "\n")
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(script)), stdout = TRUE,
                                  stderr = TRUE, env = "RETICULATE_PYTHON=/nonexistent/bin/python"))
  results <- grep("=>", out, value = TRUE)
  expect_length(results, 23L)
  expect_true(all(grepl("=> fastai_python_missing $", results)), info = paste(results, collapse = "\n"))
})
