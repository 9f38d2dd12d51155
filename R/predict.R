#' Predict texts with a Learner
#'
#' One text gives a list; several texts (a character vector or a data frame holding the column the
#' learner was trained on) give one data frame, one row per text in the order given. Multi-label
#' learners return the labels whose probability is at or above the threshold: `thresh` if given,
#' else `learn$loss_func$thresh` (one number, or one per label).
#'
#' @param object A [Learner()] with [HF_TextBlock()] data.
#' @param newdata A string, a character vector, or a data frame of texts.
#' @param thresh Multi-label threshold: `NULL` (the loss function's), one number or one per label.
#' @param bs Batch size for many texts (default: the validation batch size).
#' @param ... Unused.
#' @return For one text, multi-label: `list(probabilities = <1-row data frame, one column per
#'   label>, labels = <character vector>)`; single-label: `list(label = <string>,
#'   probabilities = <1-row data frame>)`. For several texts: a data frame with one probability
#'   column per label and `predicted` (single-label: a character column; multi-label: a list column
#'   of character vectors).
#' @method predict fastai.learner.Learner
#' @export
predict.fastai.learner.Learner <- function(object, newdata, thresh = NULL, bs = NULL, ...) {
  check_learner(object)
  one <- is.character(newdata) && length(newdata) == 1L
  res <- predict_texts(object, newdata, thresh, bs)
  frame <- res$frame
  if (!one) return(frame)
  probs <- frame[, res$labels, drop = FALSE]
  if (res$multilabel) list(probabilities = probs, labels = frame$predicted[[1L]])
  else list(label = frame$predicted[[1L]], probabilities = probs)
}

#' @rdname predict.fastai.learner.Learner
#' @param learn A [Learner()].
#' @param texts As `newdata`.
#' @details `hf_predict()` always returns the data frame, also for one text.
#' @export
hf_predict <- function(learn, texts, thresh = NULL, bs = NULL) {
  check_learner(learn)
  predict_texts(learn, texts, thresh, bs)$frame
}

# One crossing each way: the texts (or a data frame) in, the bridge's table out.
predict_texts <- function(learn, texts, thresh, bs, call = sys.call(sys.parent())) {
  texts <- check_texts(texts, call = call)
  thresh <- check_number(thresh, "thresh", null_ok = TRUE, min = 0, max = 1, len = NA, call = call)
  if (length(thresh) > 1L) thresh <- as.list(thresh)
  if (!is.null(bs)) bs <- check_count(bs, "bs", call = call)
  res <- bridge_call("predict", learn, texts, thresh = thresh, bs = bs, .call = call)
  res$labels <- as.character(unlist(res$labels))
  if (res$multilabel) {
    res$frame$predicted <- lapply(res$frame$predicted, as.character)
  }
  res
}

# Texts to predict: a character vector without NA or empty strings, or a data frame (checked in
# Python for the learner's text column).
check_texts <- function(texts, call = sys.call(sys.parent())) {
  if (is.data.frame(texts)) {
    if (!nrow(texts)) abort_input("newdata has zero rows", call)
    return(texts)
  }
  if (is.factor(texts)) texts <- as.character(texts)
  if (!is.character(texts) || !length(texts)) {
    abort_input(sprintf("texts must be a character vector or a data frame, not %s", describe(texts)), call)
  }
  bad <- which(is.na(texts) | !nzchar(trimws(texts)))
  if (length(bad)) {
    abort_input(sprintf("texts at positions %s are missing or empty; every text must be a non-empty string",
                        paste(utils::head(bad, 10L), collapse = ", ")), call)
  }
  if (length(texts) == 1L) texts else as.list(texts)
}

#' Predictions and targets of a dataset
#'
#' `get_preds()` returns the predictions for the validation (or training) set or for new texts:
#' probabilities as a matrix with one column per label, the targets (a 0/1 matrix for multi-label
#' data, a factor for single-label), and with `with_decoded = TRUE` the decoded predictions (a
#' logical matrix at the loss's threshold, or a factor). `validate()` returns the loss and metrics.
#'
#' @param learn A [Learner()].
#' @param dataset `"valid"` or `"train"`.
#' @param texts New texts instead of a dataset (a character vector or data frame).
#' @param with_decoded Also return decoded predictions.
#' @param reorder Put predictions in item order (fastai sorts text batches by length).
#' @return `get_preds()`: a list with `preds`, `targets` (not for `texts`) and `decoded`.
#'   `validate()`: a named numeric vector, `valid_loss` then the metrics.
#' @export
get_preds <- function(learn, dataset = c("valid", "train"), texts = NULL, with_decoded = FALSE, reorder = TRUE) {
  check_learner(learn)
  ds <- dataset_index(dataset)
  if (!is.null(texts)) texts <- check_texts(texts)
  res <- bridge_call("get_preds", learn, ds_idx = ds, texts = texts,
                     with_decoded = check_flag(with_decoded, "with_decoded"),
                     reorder = check_flag(reorder, "reorder"), .call = sys.call())
  labels <- as.character(unlist(res$labels))
  name_cols <- function(m) {
    if (is.matrix(m) && ncol(m) == length(labels)) colnames(m) <- labels
    m
  }
  as_class <- function(v) if (!is.matrix(v) && length(labels)) factor(labels[v + 1L], levels = labels) else name_cols(v)
  out <- list(preds = name_cols(res$preds))
  if (!is.null(res$targs)) out$targets <- as_class(res$targs)
  if (!is.null(res$decoded)) out$decoded <- as_class(res$decoded)
  out
}

#' @rdname get_preds
#' @export
validate <- function(learn, dataset = c("valid", "train")) {
  check_learner(learn)
  ds <- dataset_index(dataset)
  unlist(bridge_call("validate", learn, ds_idx = ds, .call = sys.call()))
}

#' A batch with its predictions
#'
#' Decodes a batch of the validation (or training) set into a data frame of texts, targets and
#' predicted labels. For fastai's own text data (ULMFiT, `TextBlock`) the columns are those fastai
#' shows: `text` (tokens, with fastai's special tokens), `category` and the prediction
#' `category_`; for a language model `text`, `text_` (the target: one token later) and `text_pred`.
#'
#' @param learn A [Learner()].
#' @param dataset `"valid"` or `"train"`.
#' @param max_n How many rows.
#' @param shuffle Draw a random batch.
#' @return A data frame: `text`, `target`, `predicted` (HF data; see above for fastai text data).
#' @export
show_results <- function(learn, dataset = c("valid", "train"), max_n = 9L, shuffle = TRUE) {
  check_learner(learn)
  ds <- dataset_index(dataset)
  bridge_call("show_results", learn, ds_idx = ds, max_n = check_count(max_n, "max_n"),
              shuffle = check_flag(shuffle, "shuffle"), .call = sys.call())
}

#' Evaluate a multi-label Learner
#'
#' `multilabel_metrics()`: micro and macro F1, micro and macro ROC AUC, subset accuracy and
#' per-label accuracy on the validation set, at `thresh` (default: the loss function's).
#' `find_thresholds()`: the probability threshold of each label that maximises its F1 on the
#' validation set; `apply = TRUE` also sets them as `learn$loss_func$thresh`, so [predict()] uses
#' them. Tuning and scoring on the same rows is optimistic: judge the thresholds on other data.
#'
#' @param learn A [Learner()] with [MultiCategoryBlock()] targets.
#' @param thresh One threshold or one per label; `NULL` for the loss function's.
#' @param grid The thresholds to try (default 0.01, 0.02, ..., 0.99).
#' @param apply Set the found thresholds on the learner.
#' @param dl A Python DataLoader to evaluate instead of the validation set.
#' @return `multilabel_metrics()`: a named numeric vector. `find_thresholds()`: a data frame
#'   `label`, `threshold`, `f1`, `support`.
#' @export
multilabel_metrics <- function(learn, thresh = NULL, dl = NULL) {
  check_learner(learn)
  thresh <- check_number(thresh, "thresh", null_ok = TRUE, min = 0, max = 1, len = NA)
  if (length(thresh) > 1L) thresh <- as.list(thresh)
  unlist(bridge_call("call", py_fastai()$multilabel_metrics, learn, dl = dl, thresh = thresh, .call = sys.call()))
}

#' @rdname multilabel_metrics
#' @export
find_thresholds <- function(learn, grid = NULL, apply = FALSE, dl = NULL) {
  check_learner(learn)
  grid <- check_number(grid, "grid", null_ok = TRUE, min = 0, max = 1, len = NA)
  if (!is.null(grid)) grid <- as.list(grid)
  bridge_call("call", py_fastai()$find_thresholds, learn, dl = dl, grid = grid,
              apply = check_flag(apply, "apply"), .call = sys.call())
}
