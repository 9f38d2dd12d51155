# Shared by the test files: a skip helper (in the spirit of keras3's), read-only fixtures built once
# per run (a tiny model folder, data frames, a trained language model's weight files) and builders
# that make a new DataLoaders or Learner for each test, so no test sees another's changes.

skip_if_no_fastai <- function() {
  if (fastai_available()) return(invisible(TRUE))
  if (identical(tolower(Sys.getenv("FASTAI_REQUIRE_PYTHON")), "true")) {
    stop("FASTAI_REQUIRE_PYTHON=true but the Python side of fastai is not available")
  }
  skip("Python with fastai_hf is not available")
}

# Read-only fixtures: files on disk and R values (a data frame is copied on change), never a Python
# object that a test could change.
fixtures <- new.env(parent = emptyenv())

cached <- function(key, make) {
  if (is.null(fixtures[[key]])) fixtures[[key]] <- make()
  fixtures[[key]]
}

# Folder of a randomly initialised tiny BERT (2 layers, hidden size 32) with MiniLM's vocabulary, in
# R's temporary folder (removed with the session).
tiny_model <- function() {
  cached("model", function() reticulate::import("fastai_hf.testing")$tiny_bert(tempfile("tiny-bert-")))
}

ekman_labels <- c("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

# The first `n` GoEmotions rows: `text` and the 7 Ekman 0/1 columns, or (single_label) `text` and `label`.
goemotions_rows <- function(n = 80L, single_label = FALSE) {
  cached(sprintf("goemotions-%d-%s", n, single_label), function() {
    df <- load_goemotions("ekman", n_rows = n, single_label = single_label)
    if (single_label) df[, c("text", "label")] else df[, c("text", ekman_labels)]
  })
}

# A new tiny BERT with a head of `num_labels`, as get_hf_objects() returns it.
tiny_hf_objects <- function(num_labels = length(ekman_labels)) {
  config <- AutoConfig()$from_pretrained(tiny_model())
  config$num_labels <- num_labels
  get_hf_objects(tiny_model(), config = config)
}

# Multi-label DataLoaders on `n` GoEmotions rows (7 Ekman labels, one 0/1 column each).
multilabel_dls <- function(n = 80L, bs = 8L, hf_tokenizer = NULL) {
  tok <- hf_tokenizer %||% AutoTokenizer_from_pretrained(tiny_model())
  dblock <- DataBlock(
    blocks = list(HF_TextBlock(hf_tokenizer = tok), MultiCategoryBlock(encoded = TRUE, vocab = ekman_labels)),
    get_x = ColReader("text"), get_y = ColReader(ekman_labels), splitter = RandomSplitter(seed = 1)
  )
  dataloaders(dblock, goemotions_rows(n), bs = bs)
}

# The reference multi-label Learner (untrained) on a new tiny BERT; `...` goes to Learner().
multilabel_learner <- function(n = 80L, bs = 8L, ...) {
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  Learner(multilabel_dls(n, bs, hf_tokenizer), HF_BaseModelWrapper(hf_model), loss_func = BCEWithLogitsLossFlat(),
          metrics = partial(accuracy_multi(), thresh = 0.2), cbs = HF_BaseModelCallback(), splitter = hf_splitter(),
          ...)
}

# A new multi-label Learner trained one epoch (about a second).
trained_multilabel_learner <- function(...) {
  learn <- multilabel_learner(...)
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, lr_max = 1e-3))
  learn
}

# A new single-label Learner (CategoryBlock over the 7 Ekman labels) on `n` rows, trained one epoch;
# returned with its data frame, tokenizer and transformers model.
single_label_fit <- function(n = 100L) {
  df <- goemotions_rows(n, single_label = TRUE)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% tiny_hf_objects()
  dblock <- DataBlock(blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer),
                                    CategoryBlock(vocab = ekman_labels)),
                      get_x = ColReader("text"), get_y = ColReader("label"), splitter = RandomSplitter(seed = 1))
  set_seed(1)
  learn <- Learner(dataloaders(dblock, df, bs = 8), HF_BaseModelWrapper(hf_model), cbs = HF_BaseModelCallback(),
                   splitter = hf_splitter(), metrics = list(accuracy(), F1Score(average = "macro")))
  withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, lr_max = 1e-3))
  list(learn = learn, df = df, tokenizer = hf_tokenizer, model = hf_model)
}

# ---- ULMFiT: 300 GoEmotions texts and a small AWD-LSTM (sizes 32/64/2 instead of 400/1152/3) ----

small_config <- function(task = "lm") awd_lstm_config(task, emb_sz = 32, n_hid = 64, n_layers = 2)

ulmfit_df <- function() goemotions_rows(300L, single_label = TRUE)

ulmfit_labels <- function() sort(unique(ulmfit_df()$label))

# Language-model DataLoaders whose learner saves into `path`.
lm_dls <- function(path, text_vocab = NULL) {
  TextDataLoaders_from_df(ulmfit_df(), text_col = "text", is_lm = TRUE, path = path, bs = 16, seq_len = 24,
                          valid_pct = 0.1, seed = 1, text_vocab = text_vocab)
}

new_lm <- function(dls) {
  language_model_learner(dls, AWD_LSTM, config = small_config(), drop_mult = 0.3, pretrained = FALSE,
                         metrics = list(accuracy(), Perplexity()))
}

# A language model trained once per run, kept as files: its weights (lm.pth), its encoder (ft.pth)
# and its vocab. Tests rebuild learners from them.
trained_lm_files <- function() {
  cached("lm", function() {
    path <- tempfile("ulmfit-")
    dir.create(path)
    set_seed(1)
    lm <- new_lm(lm_dls(path))
    withr::with_options(list(fastai.progress = "silent"), lm %>% fit_one_cycle(1, 1e-2))
    lm %>% save_model("lm") %>% save_encoder("ft")
    list(models = file.path(path, "models"), vocab = lm$dls$vocab)
  })
}

# Put a saved file of trained_lm_files() into the model folder of a learner saving into `path`.
copy_model_file <- function(path, name) {
  models <- file.path(path, "models")
  dir.create(models, recursive = TRUE, showWarnings = FALSE)
  stopifnot(file.copy(file.path(trained_lm_files()$models, paste0(name, ".pth")), models, overwrite = TRUE))
}

# A new language model with the trained weights, saving into a temporary folder of the calling test.
trained_lm <- function(env = parent.frame()) {
  path <- withr::local_tempdir(.local_envir = env)
  lm <- new_lm(lm_dls(path, text_vocab = trained_lm_files()$vocab))
  copy_model_file(path, "lm")
  lm %>% load_model("lm")
}

# A new classifier on the language model's vocab with its encoder loaded (untrained head), saving
# into a temporary folder of the calling test.
ulmfit_classifier <- function(env = parent.frame()) {
  path <- withr::local_tempdir(.local_envir = env)
  dblock <- DataBlock(blocks = list(TextBlock_from_df("text", vocab = trained_lm_files()$vocab), CategoryBlock()),
                      get_x = ColReader("text"), get_y = ColReader("label"), splitter = RandomSplitter(0.2, seed = 1))
  dls <- dataloaders(dblock, ulmfit_df(), bs = 16, path = path)
  clas <- text_classifier_learner(dls, AWD_LSTM, config = small_config("classifier"), pretrained = FALSE,
                                  metrics = accuracy(), seq_len = 24)
  copy_model_file(path, "ft")
  clas %>% load_encoder("ft")
}

# ---- other helpers ----

`%||%` <- function(x, y) if (is.null(x)) y else x

py_name <- function(x) reticulate::py_to_r(reticulate::py_get_attr(x, "__name__"))
py_type <- function(x) py_name(reticulate::import_builtins()$type(x))

torch_equal <- function(a, b) reticulate::import("torch")$equal(a$cpu(), b$cpu())

# PYTHONPATH as the test run started (before Python starts in this process).
initial_pythonpath <- Sys.getenv("PYTHONPATH")

# Runs R code in a new R session (Rscript) that finds the package where this one does, with the
# PYTHONPATH the run started with; returns the output and messages as one string.
rscript <- function(code, env = character()) {
  start <- c(paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)),
             paste0("PYTHONPATH=", shQuote(initial_pythonpath)))
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)),
                                  stdout = TRUE, stderr = TRUE, env = c(start, env)))
  paste(out, collapse = "\n")
}
