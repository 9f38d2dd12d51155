# Error analysis of single-label classifiers (HF learners with CategoryBlock targets and ULMFiT
# classifiers) as R values: data frames of losses and confidences, a confusion matrix and its
# ggplot2 plot, per-class scores, and a plot of one prediction's class probabilities. The tables
# come from python/fastai_hf/interpret.py (with R's row numbers); the scores are computed in R.

#' Interpretation of a classifier
#'
#' fastai's `ClassificationInterpretation.from_learner()`: the learner and a DataLoader (default:
#' the validation set) for error analysis, with the predictions of every item computed once (a
#' snapshot: create a new one after more training). Pass it (or the learner itself) to
#' [plot_confusion_matrix()], [confusion_matrix()], [most_confused()], [top_losses()],
#' [confidence_df()] and [classification_report()]. Its Python methods remain reachable with `$`
#' (`interp$print_classification_report()`).
#'
#' @param learn A single-label classifier: an HF [Learner()] with [CategoryBlock()] targets or a
#'   [text_classifier_learner()].
#' @param dataset `"valid"` or `"train"`.
#' @param dl A DataLoader with labels instead, e.g. `learn$dls$test_dl(to_pandas(df), with_labels = TRUE)`.
#' @return A `ClassificationInterpretation` (Python object).
#' @export
ClassificationInterpretation_from_learner <- function(learn, dataset = c("valid", "train"), dl = NULL) {
  capture_args(list(learn = learner_arg(), dataset = dataset_arg()))
  fastai_call("interpretation", list(learn, dl = dl, ds_idx = dataset_index(dataset)))
}

# The table of every item's prediction, the source of every result below. An interpretation keeps
# its table (computed with it), so its tables and plots cost no further pass over the data.
confidence_table <- function(x, dl = NULL, call = sys.call(sys.parent())) {
  fastai_call("confidence", list(check_interp(x, call), dl = dl), verb = TRUE, call = call)
}

#' Predictions, confidence and losses of every item
#'
#' One row per item of the validation set (or of `dl`), in item order: its text, true `label`,
#' `predicted` label, the `probability` of the predicted label, the probability of the true label
#' (`label_probability`), the `loss` and whether the prediction is `correct`. Sort by `probability`
#' for the most and least confident predictions, by `loss` for the worst mistakes. `top_losses()`
#' returns the `k` rows with the largest losses (`largest = FALSE`: smallest).
#'
#' `row` is the item's row in the data frame the DataLoaders were built from. Texts are readable:
#' the raw strings of HF learners, and for ULMFiT classifiers the tokens with fastai's special
#' tokens undone.
#'
#' @param x A [ClassificationInterpretation_from_learner()] or a learner.
#' @param k Number of rows (`NULL` for all, sorted).
#' @param largest Largest losses first.
#' @param dl A DataLoader with labels instead of the validation set.
#' @return A data frame: `row`, `text`, `label`, `predicted` (factors with the labels as levels),
#'   `loss`, `probability`, `label_probability` (and `correct` for `confidence_df()`).
#' @export
confidence_df <- function(x, dl = NULL) {
  confidence_table(x, dl, sys.call())
}

#' @rdname confidence_df
#' @export
top_losses <- function(x, k = 9L, largest = TRUE, dl = NULL) {
  args <- capture_args(list(x = function(x, name, call) check_interp(x, call), k = count_arg(), largest = flag_arg()))
  fastai_call("top_losses", args, verb = TRUE)
}

#' Confusion matrix
#'
#' Counts of each (actual, predicted) pair of labels over the validation set (or `dl`).
#' `confusion_matrix()` returns the matrix (rows actual, columns predicted); with `normalize =
#' TRUE` each row is divided by its total, so it shows the share of each actual label predicted as
#' each label (a row of an absent label is 0). `plot_confusion_matrix()` draws it with ggplot2,
#' normalized by default, as in "NLP with Transformers". `most_confused()` lists the off-diagonal
#' pairs seen at least `min_val` times, most frequent first.
#'
#' @param x A [ClassificationInterpretation_from_learner()] or a learner.
#' @param normalize Divide each row by its total.
#' @param dl A DataLoader with labels instead of the validation set.
#' @param title Plot title.
#' @param digits Digits of the numbers printed in the tiles (normalized plots).
#' @param min_val Minimum count.
#' @return `confusion_matrix()`: a numeric matrix with dimnames `actual` and `predicted`.
#'   `plot_confusion_matrix()`: a ggplot object. `most_confused()`: a data frame of `actual`,
#'   `predicted` and `n`.
#' @export
confusion_matrix <- function(x, normalize = FALSE, dl = NULL) {
  normalize <- check_flag(normalize, "normalize")
  conf <- confidence_table(x, dl, sys.call())
  counts <- unclass(table(actual = conf$label, predicted = conf$predicted))  # levels: all labels
  storage.mode(counts) <- "double"
  if (!normalize) return(counts)
  totals <- rowSums(counts)
  counts / ifelse(totals > 0, totals, 1)  # a row of an absent label stays 0
}

# The matrix in long form, one row per (actual, predicted) pair: actual, predicted, n, proportion.
confusion_long <- function(x, dl, call) {
  conf <- confidence_table(x, dl, call)
  counts <- table(actual = conf$label, predicted = conf$predicted)
  long <- as.data.frame(counts, responseName = "n", stringsAsFactors = TRUE)
  totals <- rowSums(counts)[as.character(long$actual)]
  long$proportion <- ifelse(totals > 0, long$n / totals, 0)
  long
}

#' @rdname confusion_matrix
#' @export
plot_confusion_matrix <- function(x, normalize = TRUE, title = NULL, digits = 2L, dl = NULL) {
  normalize <- check_flag(normalize, "normalize")
  digits <- check_count(digits, "digits", min = 0L)
  long <- confusion_long(x, dl, sys.call())
  long$value <- if (normalize) long$proportion else long$n
  long$label <- if (normalize) formatC(long$value, format = "f", digits = digits) else format(long$n)
  # the first label on top, as in a printed matrix
  long$actual <- factor(long$actual, levels = rev(levels(long$actual)))
  dark <- long$value > max(long$value) / 2
  ggplot2::ggplot(long, ggplot2::aes(x = .data$predicted, y = .data$actual, fill = .data$value)) +
    ggplot2::geom_tile(colour = "white") +
    ggplot2::geom_text(ggplot2::aes(label = .data$label), colour = ifelse(dark, "white", "grey20"), size = 3) +
    ggplot2::scale_fill_gradient(low = "#f7fbff", high = "#08306b", name = if (normalize) "share" else "n") +
    ggplot2::coord_fixed() +
    ggplot2::labs(x = "Predicted", y = "Actual",
                  title = title %||% if (normalize) "Normalized confusion matrix" else "Confusion matrix") +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.x = ggplot2::element_text(angle = 45, hjust = 1), panel.grid = ggplot2::element_blank())
}

#' @rdname confusion_matrix
#' @export
most_confused <- function(x, min_val = 1L, dl = NULL) {
  min_val <- check_count(min_val, "min_val")
  long <- confusion_long(x, dl, sys.call())
  off <- long[long$actual != long$predicted & long$n >= min_val, c("actual", "predicted", "n")]
  off <- off[order(-off$n, as.integer(off$actual), as.integer(off$predicted)), , drop = FALSE]
  rownames(off) <- NULL
  off
}

#' Accuracy, precision, recall and F1 per class
#'
#' `classification_report()` gives per-label precision, recall, F1 and support (the number of
#' items with that true label); `classification_metrics()` the overall accuracy, macro
#' precision, recall and F1 (the unweighted mean over labels, so rare labels count as much as
#' frequent ones) and weighted F1 (weighted by support). Labels are those seen in `truth` or
#' `predicted`; a label never predicted has precision 0, as in scikit-learn. Give either two
#' vectors of labels, or a learner or interpretation to score its validation predictions.
#'
#' @param truth True labels (a factor or character vector), or a learner or
#'   [ClassificationInterpretation_from_learner()].
#' @param predicted Predicted labels, as long as `truth` (not with a learner).
#' @return `classification_report()`: a data frame `label`, `precision`, `recall`, `f1`, `support`.
#'   `classification_metrics()`: a named numeric vector `accuracy`, `macro_precision`,
#'   `macro_recall`, `macro_f1`, `weighted_f1`.
#' @export
#' @examples
#' truth <- c("joy", "joy", "anger", "fear", "joy")
#' pred <- c("joy", "anger", "anger", "joy", "joy")
#' classification_report(truth, pred)
#' classification_metrics(truth, pred)
classification_report <- function(truth, predicted = NULL) {
  lp <- label_pairs(truth, predicted, sys.call())
  labels <- lp$labels
  truth <- factor(lp$truth, levels = labels)
  predicted <- factor(lp$predicted, levels = labels)
  tp <- vapply(labels, function(l) sum(truth == l & predicted == l), numeric(1))
  support <- as.integer(table(truth)[labels])
  n_pred <- as.numeric(table(predicted)[labels])
  precision <- ifelse(n_pred > 0, tp / n_pred, 0)
  recall <- ifelse(support > 0, tp / support, 0)
  f1 <- ifelse(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
  data.frame(label = labels, precision = precision, recall = recall, f1 = f1, support = support,
             row.names = NULL)
}

#' @rdname classification_report
#' @export
classification_metrics <- function(truth, predicted = NULL) {
  lp <- label_pairs(truth, predicted, sys.call())
  rep <- classification_report(lp$truth, lp$predicted)
  c(accuracy = mean(lp$truth == lp$predicted), macro_precision = mean(rep$precision),
    macro_recall = mean(rep$recall), macro_f1 = mean(rep$f1),
    weighted_f1 = sum(rep$f1 * rep$support) / sum(rep$support))
}

# Two equally long label vectors as character, or a learner's validation labels and predictions.
label_pairs <- function(truth, predicted, call) {
  if (inherits(truth, "python.builtin.object")) {
    if (!is.null(predicted)) abort_input("with a learner or interpretation, leave predicted = NULL", call)
    conf <- confidence_table(truth, call = call)
    truth <- conf$label
    predicted <- conf$predicted
  }
  if (is.null(predicted)) abort_input("give the predicted labels (predicted =) beside the true ones", call)
  ok <- function(v) (is.factor(v) || is.character(v)) && !anyNA(v)
  if (!ok(truth) || !ok(predicted)) {
    abort_input("truth and predicted must be factors or character vectors of labels, without NA", call)
  }
  if (length(truth) != length(predicted) || !length(truth)) {
    abort_input(sprintf("truth and predicted must have the same, non-zero length (%d and %d)", length(truth),
                        length(predicted)), call)
  }
  # label order: the factor levels when given (the learner's vocab), else sorted
  lv <- c(if (is.factor(truth)) levels(truth), if (is.factor(predicted)) levels(predicted))
  truth <- as.character(truth)
  predicted <- as.character(predicted)
  seen <- unique(c(truth, predicted))
  labels <- c(intersect(unique(lv), seen), sort(setdiff(seen, lv)))
  list(truth = truth, predicted = predicted, labels = labels)
}

#' Plot class probabilities
#'
#' A bar chart of the probability of each label for one prediction, highest first.
#'
#' @param x The result of [predict()] for one text (a list holding `probabilities`), a one-row
#'   data frame of probabilities, or a named numeric vector.
#' @param title Plot title.
#' @return A ggplot object.
#' @export
#' @examples
#' plot_probabilities(c(joy = 0.7, surprise = 0.2, neutral = 0.1))
plot_probabilities <- function(x, title = NULL) {
  if (is.list(x) && !is.data.frame(x) && !is.null(x$probabilities)) x <- x$probabilities
  if (is.data.frame(x)) {
    if (nrow(x) != 1L) abort_input(sprintf("x must hold the probabilities of one text, not %d rows", nrow(x)))
    x <- unlist(x[1L, vapply(x, is.numeric, logical(1)), drop = FALSE])
  }
  if (!(is.numeric(x) && length(x) && !is.null(names(x)) && !anyNA(x))) {
    abort_input(sprintf("x must be a prediction for one text or a named vector of probabilities, not %s", describe(x)))
  }
  d <- data.frame(label = names(x), probability = as.numeric(x))
  d$label <- factor(d$label, levels = d$label[order(d$probability)])
  ggplot2::ggplot(d, ggplot2::aes(x = .data$probability, y = .data$label)) +
    ggplot2::geom_col(fill = "#2171b5") +
    ggplot2::geom_text(ggplot2::aes(label = sprintf("%.2f", .data$probability)), hjust = -0.15, size = 3) +
    ggplot2::scale_x_continuous(limits = c(0, 1.08), breaks = seq(0, 1, 0.25)) +
    ggplot2::labs(x = "probability", y = NULL, title = title)
}
