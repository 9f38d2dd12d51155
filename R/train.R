#' Train a Learner
#'
#' fastai's training loops. Each returns the learner invisibly, so verbs chain:
#' `learn %>% freeze() %>% fit_one_cycle(1) %>% unfreeze() %>% fit_one_cycle(2, slice(1e-5, 1e-3))`.
#' Every epoch is added to the learner's history ([get_history()]). Progress shows as fastprogress
#' bars in a console and as the epoch table alone in knitr documents and logs (see the
#' `fastai.progress` option in [fastai-package]).
#'
#' - `fit()`: a constant learning rate `lr` (an S3 method of the generics package's `fit()`, which
#'   tidymodels uses too, so attaching fastai masks nothing).
#' - `fit_one_cycle()`: the one-cycle policy up to `lr_max`.
#' - `fine_tune()`: `freeze_epochs` with the body frozen, then `epochs` unfrozen.
#' - `fit_flat_cos()`: flat, then cosine annealing.
#' - `fit_linear()`: the Hugging Face Trainer's schedule: the rate falls linearly from `lr` to 0 (after
#'   a linear warm-up over the first `pct_start` of the steps, none by default). For one or two
#'   short epochs of fine-tuning, with `cbs = GradientClip()`, it beats `fit_one_cycle()`: entity F1
#'   0.71 against 0.65 after one epoch on 2,000 CoNLL-2003 sentences (`vignette("ner")`).
#' - `fit_sgdr()`: cosine annealing with warm restarts over `n_cycles` cycles.
#'
#' @param object,learn A [Learner()].
#' @param n_epoch,epochs Number of epochs, a positive whole number.
#' @param lr,lr_max,base_lr Learning rate: a number, a [lr_slice()] (`slice()` inside the call) or one
#'   number per parameter group; fastai's default when not given.
#' @param n_cycles,cycle_len,cycle_mult Cycles of `fit_sgdr()`.
#' @param freeze_epochs Frozen epochs of `fine_tune()`.
#' @param ... Further arguments of the Python method (`wd`, `moms`, `cbs`, `pct_start`, `div`, ...).
#' @return The learner, invisibly.
#' @importFrom generics fit
#' @method fit fastai.learner.Learner
#' @export
fit.fastai.learner.Learner <- function(object, n_epoch, lr, ...) {
  train_verb("fit", capture_args(train_args), sys.call())
}

#' @rdname fit.fastai.learner.Learner
#' @export
fit_one_cycle <- function(learn, n_epoch, lr_max, ...) {
  train_verb("fit_one_cycle", capture_args(train_args), sys.call())
}

#' @rdname fit.fastai.learner.Learner
#' @export
fine_tune <- function(learn, epochs, base_lr, freeze_epochs, ...) {
  train_verb("fine_tune", capture_args(train_args), sys.call())
}

#' @rdname fit.fastai.learner.Learner
#' @export
fit_flat_cos <- function(learn, n_epoch, lr, ...) {
  train_verb("fit_flat_cos", capture_args(train_args), sys.call())
}

#' @rdname fit.fastai.learner.Learner
#' @export
fit_linear <- function(learn, n_epoch, lr, ...) {
  train_verb("fit_linear", capture_args(train_args), sys.call())
}

#' @rdname fit.fastai.learner.Learner
#' @export
fit_sgdr <- function(learn, n_cycles, cycle_len, lr_max, cycle_mult, ...) {
  train_verb("fit_sgdr", capture_args(train_args), sys.call())
}

# The arguments of the training verbs, checked before anything runs.
train_args <- list(
  object = learner_arg(), learn = learner_arg(), n_epoch = count_arg(), epochs = count_arg(),
  freeze_epochs = count_arg(min = 0L), n_cycles = count_arg(), cycle_len = count_arg(), cycle_mult = count_arg(),
  lr = lr_arg(), lr_max = lr_arg(), base_lr = lr_arg()
)

# Run a training method with its output in the R console and its epochs in the learner's history;
# the learner comes back invisibly, so verbs chain.
train_verb <- function(method, args, call) {
  learn <- args[[1L]]
  fastai_call("fit", c(list(learn, method), args[-1L]), verb = TRUE, call = call)
  invisible(learn)
}

#' Freeze and unfreeze parameter groups
#'
#' `freeze()` trains only the last parameter group (the head, with [hf_splitter()]);
#' `unfreeze()` trains all; `freeze_to(learn, n)` freezes the groups before `n`
#' (negative `n` counts from the end: `freeze_to(learn, -2)` trains the last two groups).
#' The learner needs an optimizer: fastai creates one at the first fit, or call `learn$create_opt()`.
#'
#' @param learn A [Learner()].
#' @param n The first trained parameter group, 0-based as in fastai; negative counts from the end.
#' @return The learner, invisibly.
#' @export
freeze <- function(learn) {
  capture_args(list(learn = learner_arg()))
  fastai_call(reticulate::py_get_attr(learn, "freeze"))
  invisible(learn)
}

#' @rdname freeze
#' @export
unfreeze <- function(learn) {
  capture_args(list(learn = learner_arg()))
  fastai_call(reticulate::py_get_attr(learn, "unfreeze"))
  invisible(learn)
}

#' @rdname freeze
#' @export
freeze_to <- function(learn, n) {
  capture_args(list(learn = learner_arg(), n = int_arg()))
  fastai_call(reticulate::py_get_attr(learn, "freeze_to"), list(n))
  invisible(learn)
}

#' Training history
#'
#' Every epoch the learner trained, across all fits: `epoch` (counted from 1), `train_loss`,
#' `valid_loss`, the metrics and `time` in seconds. `plot()` draws losses and metrics per epoch.
#' `plot_loss()` draws the last fit's training loss per batch (smoothed, as fastai records it) and
#' the validation loss at the end of each epoch.
#'
#' @param learn A [Learner()].
#' @param x A `fastai_history`.
#' @param skip_start Batches to leave out at the start of `plot_loss()`.
#' @param ... Unused.
#' @return `get_history()`: a data frame of class `fastai_history`. The plots: ggplot objects.
#' @export
get_history <- function(learn) {
  h <- fastai_call("history_df", list(check_learner(learn)))
  class(h) <- c("fastai_history", "data.frame")
  h
}

#' @rdname get_history
#' @export
plot.fastai_history <- function(x, ...) {
  if (!nrow(x)) abort_input("the history is empty: train the learner first (e.g. fit_one_cycle())")
  cols <- setdiff(names(x), c("epoch", "time"))
  long <- data.frame(
    epoch = rep(x$epoch, length(cols)),
    value = unlist(lapply(cols, function(n) x[[n]]), use.names = FALSE),
    series = rep(cols, each = nrow(x))
  )
  long$panel <- ifelse(grepl("loss$", long$series), "loss", "metrics")
  long <- long[!is.na(long$value), , drop = FALSE]
  p <- ggplot2::ggplot(long, ggplot2::aes(x = .data$epoch, y = .data$value, colour = .data$series))
  if (nrow(x) > 1L) p <- p + ggplot2::geom_line()  # a single epoch is a point, not a line
  p + ggplot2::geom_point() +
    ggplot2::facet_wrap(ggplot2::vars(.data$panel), scales = "free_y") +
    ggplot2::scale_x_continuous(breaks = function(lim) unique(round(pretty(lim)))) +
    ggplot2::labs(x = "epoch", y = NULL, colour = NULL, title = "Training history")
}

#' @rdname get_history
#' @export
plot_loss <- function(learn, skip_start = 5L) {
  check_learner(learn)
  skip_start <- check_count(skip_start, "skip_start", min = 0L)
  l <- fastai_call(fastai_call_attr("history", "loss_curve"), list(learn))  # fastai_hf.history, not re-exported
  train <- data.frame(iteration = as.integer(unlist(l$iteration)), loss = as.double(unlist(l$loss)))
  if (!nrow(train)) abort_input("no losses recorded: train the learner first (e.g. fit_one_cycle())")
  train <- train[train$iteration > skip_start, , drop = FALSE]
  train$series <- rep("train", nrow(train))
  valid <- data.frame(iteration = as.integer(unlist(l$valid_iteration)), loss = as.double(unlist(l$valid_loss)))
  valid$series <- rep("valid", nrow(valid))
  ggplot2::ggplot(rbind(train, valid), ggplot2::aes(x = .data$iteration, y = .data$loss, colour = .data$series)) +
    ggplot2::geom_line() +
    ggplot2::geom_point(data = valid) +
    ggplot2::labs(x = "batches", y = "loss", colour = NULL, title = "Loss of the last fit")
}

#' The run record: what each fit did
#'
#' One row per `fit` of the learner (every training verb: [fit()], [fit_one_cycle()],
#' [fine_tune()] (two rows: its frozen and unfrozen stages), ...), recorded as it ran: what a
#' model card says about training ([hf_save_pretrained()]). Learners loaded with
#' [hf_load_learner()] keep the rows of the learner that was saved.
#'
#' @param learn A [Learner()].
#' @return A data frame: `fit` (counted from 1), `method`, `called_from` (`"fine_tune"` for its
#'   stages), `epochs`, `lr_min` / `lr_max` (the lowest and highest parameter group's peak learning
#'   rate), `lr` (a list column: each group's peak, from the embeddings to the head),
#'   `frozen_groups`, `param_groups`, `trainable_params`, `bs`, `n_train`, `n_valid`, `seed`
#'   (torch's seed last set, `NA` if none), `opt`, `wd`, `loss`, `seconds`, `finished` (`FALSE` for a
#'   fit stopped by an error), then the last epoch's `train_loss`, `valid_loss` and metrics.
#' @export
run_record <- function(learn) {
  fastai_call("run_record_df", list(check_learner(learn)))
}

#' Find a good learning rate
#'
#' fastai's learning-rate finder: trains for up to `num_it` batches with an exponentially growing
#' learning rate, records the loss and restores the weights afterwards. Returns the curve and the
#' suggested rates; `plot()` draws the curve (log scale) with the suggestions.
#'
#' @param learn A [Learner()].
#' @param start_lr,end_lr The learning-rate range.
#' @param num_it Number of batches to try.
#' @param stop_div Stop when the loss diverges.
#' @param suggestions Compute suggested learning rates.
#' @param suggest_funcs Which: some of `"valley"`, `"minimum"`, `"steep"`, `"slide"`.
#' @param x A `fastai_lr_find`.
#' @param skip_end Points to leave out at the end of the curve (fastai leaves out 5).
#' @param ... Unused.
#' @return A `fastai_lr_find`: a list with `lrs` (a data frame of `lr` and `loss`) and
#'   `suggestions` (a named numeric vector, e.g. `valley`).
#' @export
lr_find <- function(learn, start_lr = 1e-7, end_lr = 10, num_it = 100L, stop_div = TRUE, suggestions = TRUE,
                    suggest_funcs = "valley") {
  capture_args(list(learn = learner_arg(), start_lr = number_arg(min = 0), end_lr = number_arg(min = 0),
                    num_it = count_arg(), stop_div = flag_arg(), suggestions = flag_arg()))
  if (start_lr >= end_lr) abort_input("start_lr must be smaller than end_lr")
  funcs <- if (suggestions) as.list(as.character(suggest_funcs)) else list()
  # start_lr and end_lr cross as floats, num_it as an int (as_py_arg makes whole numbers ints)
  res <- fastai_call("lr_find", list(learn, suggest_funcs = funcs, start_lr = as.double(start_lr),
                                     end_lr = as.double(end_lr), num_it = num_it, stop_div = stop_div), verb = TRUE)
  sugg <- unlist(res$suggestions)
  out <- list(
    lrs = data.frame(lr = as.double(unlist(res$lr)), loss = as.double(unlist(res$loss))),
    suggestions = if (is.null(sugg)) stats::setNames(numeric(0), character(0)) else sugg
  )
  class(out) <- "fastai_lr_find"
  out
}

#' @rdname lr_find
#' @export
print.fastai_lr_find <- function(x, ...) {
  cat(sprintf("Learning-rate finder: %d learning rates from %.3g to %.3g\n", nrow(x$lrs),
              min(x$lrs$lr), max(x$lrs$lr)))
  if (length(x$suggestions)) {
    cat("Suggestions:", paste(sprintf("%s = %.3g", names(x$suggestions), x$suggestions), collapse = ", "), "\n")
  }
  invisible(x)
}

#' @rdname lr_find
#' @export
plot.fastai_lr_find <- function(x, skip_end = 5L, ...) {
  skip_end <- check_count(skip_end, "skip_end", min = 0L)
  curve <- x$lrs[seq_len(max(0L, nrow(x$lrs) - skip_end)), , drop = FALSE]
  if (!nrow(curve)) abort_input("the learning-rate finder recorded too few points to plot")
  p <- ggplot2::ggplot(curve, ggplot2::aes(x = .data$lr, y = .data$loss)) +
    ggplot2::geom_line() +
    ggplot2::scale_x_log10() +
    ggplot2::labs(x = "learning rate (log scale)", y = "loss", title = "Learning-rate finder")
  if (length(x$suggestions)) {
    # mark each suggestion on the curve, at the recorded point nearest to it
    near <- vapply(x$suggestions, function(s) which.min(abs(log(curve$lr) - log(s))), integer(1))
    pts <- data.frame(lr = curve$lr[near], loss = curve$loss[near], suggestion = names(x$suggestions))
    p <- p + ggplot2::geom_point(data = pts, ggplot2::aes(colour = .data$suggestion), size = 3)
  }
  p
}
