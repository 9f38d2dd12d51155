# Extractive question answering (SQuAD-style): blocks, loss, metrics and predict. The work is in
# python/fastai_hf/data/qa.py and modeling/qa.py; these wrappers check what R can check, call
# Python once and return R values.

#' Extractive question answering data
#'
#' `HF_QABlock()` is the input block of an extractive QA model: each item is a question and its
#' context (read with `ColReader(c("question", "context"))`), tokenized per batch. A long context is
#' split into overlapping windows of at most `max_length` tokens that share `stride` tokens; each
#' window is a row of the batch, labelled with the first and last token of the answer in it, or
#' with the CLS token when the answer is not wholly inside it. `HF_AnswerBlock()` is the target
#' block, read with `ColReader(c("answer_text", "answer_start"))`: the answer and its character
#' offset in the context, counted from 0 as in SQuAD files (in R,
#' `substr(context, answer_start + 1, answer_start + nchar(answer_text))` is the answer). Building
#' the DataLoaders checks that every answer is found at its offset, and names the rows where not.
#' The learner's default loss is the mean cross-entropy of the start and end positions.
#'
#' @param hf_arch,hf_config,hf_tokenizer,hf_model From [get_hf_objects()] (with
#'   `task = HF_TASKS_AUTO()$QuestionAnswering`); only the tokenizer is needed.
#' @param max_length Tokens per window (default: the tokenizer's limit, at most 384).
#' @param stride Tokens shared by neighbouring windows (default: 128, at most half of `max_length`).
#' @param padding,truncation Passed to the tokenizer (default `TRUE`).
#' @param tok_kwargs A named list of further tokenizer arguments.
#' @param ... Further arguments of the Python class (`before_batch_tfm`, `before_batch_kwargs`,
#'   `dl_type`) or of the DataLoaders.
#' @return A fastai `TransformBlock` (Python object).
#' @seealso [predict_qa()], [squad_metrics()], `vignette("qa")`.
#' @export
#' @examplesIf fastai_available()
#' df <- data.frame(question = c("Who wrote it?", "Where is it?"),
#'                  context = c("It was written by Ada.", "It is in Paris, France."),
#'                  answer_text = c("Ada", "Paris"), answer_start = c(18, 9))
#' c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-%
#'   get_hf_objects(minilm_path(), task = HF_TASKS_AUTO()$QuestionAnswering)
#' dblock <- DataBlock(blocks = list(HF_QABlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer,
#'                                              max_length = 64, stride = 16),
#'                                   HF_AnswerBlock()),
#'                     get_x = ColReader(c("question", "context")),
#'                     get_y = ColReader(c("answer_text", "answer_start")), splitter = IndexSplitter(2))
#' dls <- dataloaders(dblock, df, bs = 1)
#' show_batch(dls)
HF_QABlock <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL, max_length, stride,
                       padding, truncation, tok_kwargs, ...) {
  args <- capture_args(list(max_length = count_arg(), stride = count_arg(min = 0L), padding = flag_arg(),
                            truncation = flag_arg()))
  fastai_call("HF_QABlock", args)
}

#' @rdname HF_QABlock
#' @export
HF_AnswerBlock <- function() fastai_call("HF_AnswerBlock")

#' @rdname HF_QABlock
#' @details `HF_QABeforeBatchTransform()` is the transform inside `HF_QABlock()` (blurr's name), for
#'   custom blocks.
#' @export
HF_QABeforeBatchTransform <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL,
                                      max_length, stride, padding, truncation, tok_kwargs, ...) {
  args <- capture_args(list(max_length = count_arg(), stride = count_arg(min = 0L), padding = flag_arg(),
                            truncation = flag_arg()))
  fastai_call("HF_QABeforeBatchTransform", args)
}

#' Loss and callback of question answering models (blurr's)
#'
#' `MultiTargetLoss()` adds one loss per prediction/target pair, weighted: for QA, the
#' cross-entropies of the start and of the end position (the default of [HF_AnswerBlock()] data
#' is this loss with weights 0.5 and 0.5, the loss transformers' QA models compute).
#' `HF_QstAndAnsModelCallback()` is [HF_BaseModelCallback()] under blurr's QA name: it hands fastai
#' the start and end logits and, with `use_model_loss = TRUE`, trains on the model's own loss.
#'
#' @param weights One weight per loss (default `c(1, 1)`).
#' @param ... Further arguments of the Python class (`loss_classes`, `loss_classes_kwargs`,
#'   `reduction`; `use_model_loss` for the callback).
#' @return A loss or a callback (Python object).
#' @export
#' @examplesIf fastai_available()
#' MultiTargetLoss(weights = c(0.5, 0.5))
MultiTargetLoss <- function(weights, ...) {
  weights_arg <- function(x, name, call) as.list(check_number(x, name, min = 0, len = NA, call = call))
  fastai_call("MultiTargetLoss", capture_args(list(weights = weights_arg)))
}

#' @rdname MultiTargetLoss
#' @export
HF_QstAndAnsModelCallback <- py_wrapper("HF_QstAndAnsModelCallback", "instance")

#' SQuAD metrics of a question answering model
#'
#' For `metrics =` of [Learner()]: `SquadExactMatch()` and `SquadF1()`, SQuAD v1.1's exact match
#' and word-overlap F1 (0-100, normalised answers: lower case, no punctuation or articles) of whole
#' questions, taking for each question the best answer over its windows. `squad_metrics()` computes
#' both on the validation rows or on `data` (e.g. a held-out test split) through [predict_qa()].
#'
#' @param learn A [Learner()] trained on [HF_QABlock()] data.
#' @param data A data frame with the question, context and answer text columns (default: the
#'   validation rows).
#' @param answer_col The column of gold answers in `data` (default: the one the learner reads).
#' @param max_answer_length The longest answer in tokens (default 30).
#' @param bs Batch size in questions (default: the validation batch size).
#' @return A metric (Python object); `squad_metrics()` a named numeric vector `exact_match`,
#'   `f1`, `n` (questions).
#' @export
SquadExactMatch <- function(max_answer_length) {
  fastai_call("SquadExactMatch", capture_args(list(max_answer_length = count_arg())))
}

#' @rdname SquadExactMatch
#' @export
SquadF1 <- function(max_answer_length) {
  fastai_call("SquadF1", capture_args(list(max_answer_length = count_arg())))
}

#' @rdname SquadExactMatch
#' @export
squad_metrics <- function(learn, data, answer_col, bs, max_answer_length) {
  args <- capture_args(list(learn = learner_arg(), data = frame_arg(), answer_col = string_arg(), bs = count_arg(),
                            max_answer_length = count_arg()))
  unlist(fastai_call("squad_metrics", args))
}

#' Answer questions from their contexts
#'
#' The answer to each question is a span of its context: the best over the windows of a long
#' context (the score of a span is P(start) x P(end); answers found in several windows add their
#' scores; spans cover whole words), as transformers' question-answering pipeline finds it. A
#' non-empty context always gets a non-empty answer. `predict()` on such a learner gives the same.
#'
#' @param learn A [Learner()] trained on [HF_QABlock()] data.
#' @param newdata A data frame with question and context columns (the learner's, or `question` and
#'   `context`).
#' @param question,context Instead of `newdata`: character vectors of questions and their contexts.
#' @param max_answer_length The longest answer in tokens (default 30).
#' @param bs Batch size in questions (default: the validation batch size).
#' @return A data frame, one row per question in the order given: `answer`, `score`, `start` and
#'   `end` (characters of the context, from 1: `substr(context, start, end) == answer`).
#' @export
#' @examplesIf fastai_available()
#' \dontrun{
#' predict_qa(learn, question = "Who wrote it?", context = "It was written by Ada Lovelace.")
#' }
predict_qa <- function(learn, newdata, question, context, max_answer_length, bs) {
  args <- capture_args(list(learn = learner_arg(), newdata = frame_arg(), question = texts_arg(),
                            context = texts_arg(), max_answer_length = count_arg(), bs = count_arg()))
  if (is.null(args$newdata) && (is.null(args$question) || is.null(args$context))) {
    abort_input("give a data frame of questions and contexts as newdata, or question = and context =")
  }
  py_args <- c(list(learn, args$newdata), args[intersect(names(args), c("question", "context", "max_answer_length",
                                                                          "bs"))])
  fastai_call("predict", py_args, verb = TRUE)$answers
}
