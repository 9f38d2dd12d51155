#!/usr/bin/env Rscript
# R overhead: the same training and one-text prediction from R (the fastai package) and from Python
# (bench/r_overhead.py), in one process, on the same GoEmotions rows and MiniLM, alternating R and
# Python runs so that machine noise hits both. Not a test.
#
#   Rscript bench/r_overhead.R [rows] [repeats] [predict_calls]   # from the repository root
#
# Targets: training wall time R / Python <= 1.05; one-text predict R / Python <= 1.2.
# Progress bars go to stdout on both sides (R: through the package's writer); results go to stderr
# and to build/r_overhead.json.
suppressMessages({
  library(fastai)
  library(magrittr)
})
args <- as.integer(commandArgs(trailingOnly = TRUE))
rows <- if (length(args) >= 1L) args[1] else 800L
repeats <- if (length(args) >= 2L) args[2] else 3L
calls <- if (length(args) >= 3L) args[3] else 30L
options(fastai.progress = "bar")
say <- function(...) message(sprintf(...))

# fastai first: it imports torch so that torch keeps its own BLAS rather than R's (see ?fastai);
# importing the Python half before would load torch the plain way.
stopifnot(fastai_available())
py <- reticulate::import_from_path("r_overhead", path = "bench")
labels <- unlist(py$LABELS)
model_path <- minilm_path()
text <- "Those damned affluent white people should only eat their own food, like cod cakes and boiled potatoes."

# The R flow, as the vignette writes it.
r_learner <- function(df, bs = 8L, seed = 42L) {
  set_seed(seed)
  config <- AutoConfig()$from_pretrained(model_path)
  config$num_labels <- length(labels)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(model_path, config = config)
  dblock <- DataBlock(blocks = list(HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer),
                                    MultiCategoryBlock(encoded = TRUE, vocab = labels)),
                      get_x = ColReader("text"), get_y = ColReader(labels), splitter = RandomSplitter(seed = seed))
  dls <- dblock %>% dataloaders(df, bs = bs)
  learn <- Learner(dls, HF_BaseModelWrapper(hf_model), opt_func = partial(Adam), loss_func = BCEWithLogitsLossFlat(),
                   metrics = partial(accuracy_multi(), thresh = 0.2), cbs = HF_BaseModelCallback(),
                   splitter = hf_splitter())
  learn$create_opt()
  learn %>% freeze()
}

r_train <- function(learn, seed = 42L) {
  set_seed(seed)
  t0 <- Sys.time()
  learn %>% fit_one_cycle(1, lr_max = 1e-2)
  as.numeric(Sys.time() - t0, units = "secs")
}

df_r <- load_goemotions("ekman", n_rows = rows)[, c("text", labels)]
df_py <- py$goemotions(rows)
say("R overhead benchmark: %d GoEmotions rows, MiniLM frozen body, bs 8, 1 epoch, %d repeats, torch threads %d",
    rows, repeats, reticulate::import("torch")$get_num_threads())

# Warm-up (first-touch costs of both paths), not timed.
invisible(py$train(py$make_learner(py$goemotions(64L), model_path), 1L))
invisible(r_train(r_learner(df_r[1:64, ])))

times <- data.frame(run = integer(), side = character(), seconds = numeric())
for (i in seq_len(repeats)) {
  order <- if (i %% 2L) c("R", "Python") else c("Python", "R")
  for (side in order) {
    s <- if (side == "R") r_train(r_learner(df_r)) else py$train(py$make_learner(df_py, model_path))
    times[nrow(times) + 1L, ] <- list(i, side, s)
    say("  run %d %-6s training %.2f s", i, side, s)
  }
}
train_r <- stats::median(times$seconds[times$side == "R"])
train_py <- stats::median(times$seconds[times$side == "Python"])

# One-text predict on the same trained learner: R's predict() against Python's learn.predict().
learn <- r_learner(df_r)
invisible(r_train(learn))
learn$loss_func$thresh <- 0.02
invisible(predict(learn, text))  # warm-up
r_calls <- vapply(seq_len(calls), function(i) {
  t0 <- Sys.time()
  predict(learn, text)
  as.numeric(Sys.time() - t0, units = "secs")
}, numeric(1))
py_calls <- unlist(py$predict_times(learn, text, calls))
pred_r <- stats::median(r_calls)
pred_py <- stats::median(py_calls)

# For reference, the Python path alone in its own process (no R around it). Without R's
# LD_LIBRARY_PATH, which would hand a pyenv Python the system's libpython.
standalone <- jsonlite::fromJSON(system2(reticulate::py_exe(), c("bench/r_overhead.py", rows, repeats, calls),
                                         stdout = TRUE, stderr = FALSE, env = "LD_LIBRARY_PATH="))
res <- list(
  rows = rows, repeats = repeats, predict_calls = calls,
  train_seconds_python_process = standalone$train_median, predict_ms_python_process = standalone$predict_ms_median,
  train_seconds_r = train_r, train_seconds_python = train_py, train_ratio = train_r / train_py,
  predict_ms_r = 1000 * pred_r, predict_ms_python = 1000 * pred_py, predict_ratio = pred_r / pred_py,
  runs = times
)
say("training (median of %d): R %.2f s, Python %.2f s, ratio %.3f (target <= 1.05)", repeats, train_r, train_py,
    res$train_ratio)
say("one-text predict (median of %d): R %.1f ms, Python %.1f ms, ratio %.3f (target <= 1.2)", calls,
    res$predict_ms_r, res$predict_ms_python, res$predict_ratio)
say("standalone Python process: training %.2f s, one-text predict %.1f ms", standalone$train_median,
    standalone$predict_ms_median)
dir.create("build", showWarnings = FALSE)
writeLines(jsonlite::toJSON(res, auto_unbox = TRUE, digits = 4, pretty = TRUE), "build/r_overhead.json")
