#' Predict texts with a Learner
#'
#' For a text classifier, one text gives a list; several texts (a character vector or a data frame
#' holding the column the learner was trained on) give one data frame, one row per text in the order
#' given. Multi-label learners return the labels whose probability is at or above the threshold:
#' `thresh` if given, else `learn$loss_func$thresh` (one number, or one per label). Learners of
#' other task families predict what their family does: generated texts for seq2seq and causal
#' language models ([hf_generate()]), filled masks for masked language models ([hf_fill_mask()]).
#'
#' Learners of other task families predict what [predict_tokens()] (token classification: a list
#' of the `words` and `entities` data frames; `newdata` may also be a list of word vectors) and
#' [predict_qa()] (question answering: a data frame of answers; `newdata` a data frame of
#' questions and contexts) return.
#'
#' @param object A [Learner()] with [HF_TextBlock()] data (or a task family's, see above).
#' @param newdata A string, a character vector, or a data frame of texts.
#' @param thresh Multi-label threshold: `NULL` (the loss function's), one number or one per label.
#' @param bs Texts per batch for many texts (default: 64 for Hugging Face learners, which predict
#'   in batches sorted by token count, without autograd and in the learner's mixed precision, e.g.
#'   bf16 after [to_bf16()]; the validation batch size for other learners).
#' @param ... Further arguments of a task family's predictor (see its help page), e.g. generation
#'   arguments for a generating learner ([hf_generate()]) or `top_k` for a masked language model
#'   ([hf_fill_mask()]).
#' @return A seq2seq or causal-LM learner: the generated texts, as [hf_generate()] returns them (a
#'   character vector, or `newdata` with a `generated` column). A masked-LM learner: the data frame of
#'   [hf_fill_mask()]. A text classifier: for one text, multi-label: `list(probabilities = <1-row
#'   data frame, one column per label>, labels = <character vector>)`; single-label: `list(label = <string>,
#'   probabilities = <1-row data frame>)`. For several texts: a data frame with one probability
#'   column per label and `predicted` (single-label: a character column; multi-label: a list column
#'   of character vectors).
#' @method predict fastai.learner.Learner
#' @export
predict.fastai.learner.Learner <- function(object, newdata, thresh = NULL, bs = NULL, ...) {
  capture_args(list(object = learner_arg(), newdata = words_input_arg()))
  res <- predict_texts(object, newdata, thresh, bs, ...)
  if (!identical(res$kind, "classification")) return(family_value(res, newdata))
  if (!(is.list(newdata) && !is.data.frame(newdata) && length(newdata) == 1L)) return(res$frame)
  probs <- res$frame[, res$labels, drop = FALSE]
  predicted <- res$frame$predicted[[1L]]
  if (res$multilabel) list(probabilities = probs, labels = predicted) else list(label = predicted, probabilities = probs)
}

# What predict() returns for a task family's learner: `predict_value_<kind>(res, newdata)` where the family
# defines one (e.g. tasks-seq2seq.R: generated texts as a character vector), else the family's tables.
family_value <- function(res, newdata) {
  shape <- get0(paste0("predict_value_", res$kind), envir = asNamespace("fastai"), mode = "function", inherits = FALSE)
  if (!is.null(shape)) return(shape(res, newdata))
  tables <- res[setdiff(names(res), "kind")]  # the family's tables: one data frame, or a list of them
  if (length(tables) == 1L) tables[[1L]] else tables
}

#' @rdname predict.fastai.learner.Learner
#' @param learn A [Learner()].
#' @param texts As `newdata`.
#' @details `hf_predict()` always returns the data frame, also for one text.
#' @export
hf_predict <- function(learn, texts, thresh = NULL, bs = NULL) {
  capture_args(list(learn = learner_arg(), texts = texts_arg(frame_ok = TRUE)))
  predict_texts(learn, texts, thresh, bs)$frame
}

# The one predict path of every text classifier (HF and ULMFiT): texts (checked) in, the table out.
predict_texts <- function(learn, texts, thresh, bs, ..., call = sys.call(sys.parent())) {
  thresh <- number_arg(min = 0, max = 1, len = NA)(thresh, "thresh", call)
  if (!is.null(bs)) bs <- check_count(bs, "bs", call = call)
  res <- fastai_call("predict", list(learn, texts, thresh = thresh, bs = bs, ...), verb = TRUE, call = call)
  if (!identical(res$kind, "classification")) return(res)
  res$labels <- as.character(unlist(res$labels))
  if (res$multilabel) res$frame$predicted <- lapply(res$frame$predicted, as.character)
  res
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
  capture_args(list(learn = learner_arg(), dataset = dataset_arg(), texts = texts_arg(frame_ok = TRUE),
                    with_decoded = flag_arg(), reorder = flag_arg()))
  res <- fastai_call("get_preds", list(learn, ds_idx = dataset_index(dataset), texts = texts,
                                       with_decoded = with_decoded, reorder = reorder), verb = TRUE)
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
  capture_args(list(learn = learner_arg(), dataset = dataset_arg()))
  unlist(fastai_call("validate", list(learn, ds_idx = dataset_index(dataset)), verb = TRUE))
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
#' @param ... Further arguments of the loader's `show_results` (fastai text data: e.g. `trunc_at`).
#' @return A data frame: `text`, `target`, `predicted` (HF data; see above for fastai text data).
#' @export
show_results <- function(learn, dataset = c("valid", "train"), max_n, shuffle, ...) {
  args <- capture_args(list(learn = learner_arg(), dataset = dataset_arg(), max_n = count_arg(),
                            shuffle = flag_arg()), ignore = "dataset")
  fastai_call("show_results_df", c(args, list(ds_idx = dataset_index(dataset))))
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
multilabel_metrics <- function(learn, thresh, dl) {
  args <- capture_args(list(learn = learner_arg(), thresh = number_arg(min = 0, max = 1, len = NA)))
  unlist(fastai_call("multilabel_metrics", args))
}

#' @rdname multilabel_metrics
#' @export
find_thresholds <- function(learn, grid, apply, dl) {
  as_grid <- function(x, name, call) as.list(number_arg(min = 0, max = 1, len = NA)(x, name, call))
  fastai_call("find_thresholds", capture_args(list(learn = learner_arg(), grid = as_grid, apply = flag_arg())))
}
