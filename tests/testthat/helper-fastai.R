# Shared by the test files: a skip helper (in the spirit of keras3's) and small fixtures built once
# per run: a tiny 2-layer BERT with MiniLM's vocabulary and 80 GoEmotions rows train in seconds.

skip_if_no_fastai <- function() {
  if (fastai_available()) return(invisible(TRUE))
  if (identical(tolower(Sys.getenv("FASTAI_REQUIRE_PYTHON")), "true")) {
    stop("FASTAI_REQUIRE_PYTHON=true but the Python side of fastai is not available")
  }
  skip("Python with fastai_hf is not available")
}

fixtures <- new.env(parent = emptyenv())

# Folder of a randomly initialised tiny BERT (saved once per test run).
tiny_model <- function() {
  if (is.null(fixtures$model)) fixtures$model <- reticulate::import("fastai_hf.testing")$tiny_bert()
  fixtures$model
}

ekman_labels <- c("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

# The reference workflow up to the Learner, on `n` GoEmotions rows (multi-label, 7 Ekman labels).
multilabel_learner <- function(n = 80L, bs = 8L, opt_func = py_partial(Adam)) {
  df <- load_goemotions("ekman", n_rows = n)[, c("text", ekman_labels)]
  config <- AutoConfig()$from_pretrained(tiny_model())
  config$num_labels <- length(ekman_labels)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_model(), config = config)
  dblock <- DataBlock(
    blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer),
                  MultiCategoryBlock(encoded = TRUE, vocab = ekman_labels)),
    get_x = ColReader("text"), get_y = ColReader(ekman_labels), splitter = RandomSplitter(seed = 1)
  )
  dls <- dblock %>% dataloaders(df, bs = bs)
  Learner(dls, HF_BaseModelWrapper(hf_model), opt_func = opt_func, loss_func = BCEWithLogitsLossFlat(),
          metrics = partial(accuracy_multi(), thresh = 0.2), cbs = HF_BaseModelCallback(),
          splitter = hf_splitter())
}

# One trained multi-label learner shared by the tests that only read from it.
trained_learner <- function() {
  if (is.null(fixtures$learn)) {
    learn <- multilabel_learner()
    withr::with_options(list(fastai.progress = "silent"), learn %>% fit_one_cycle(1, lr_max = 1e-3))
    fixtures$learn <- learn
  }
  fixtures$learn
}
