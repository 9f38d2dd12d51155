# Feature extraction with a frozen transformer ("NLP with Transformers", ch. 2): one vector per text.


#' Hidden states of a frozen transformer, one row per text
#'
#' Feature extraction ("NLP with Transformers", ch. 2): each text becomes one fixed vector from a
#' pretrained transformer, used as it is (no training), to feed any classical model, such as
#' `nnet::multinom()` or `glm()`. Texts are tokenized once, batched by length (so little padding)
#' and embedded without gradients; rows come back in the order of `texts`.
#'
#' @param texts A character vector.
#' @param hf_model A transformers model from [get_hf_objects()] (its encoder is used, not its
#'   head), or an HF [Learner()] (its model and tokenizer).
#' @param hf_tokenizer Its tokenizer (not needed with a learner).
#' @param pooling `"cls"`: the hidden state of the first token (BERT's `[CLS]`); `"mean"`: the
#'   mean over the text's tokens (padding excluded), what sentence-embedding models such as
#'   all-MiniLM-L6-v2 are trained for.
#' @param bs Texts per batch.
#' @param max_length Truncate texts to this many tokens (default: the tokenizer's limit).
#' @param layer Which hidden state: -1 the last layer, 0 the embeddings, 1 to n the layers.
#' @return A numeric matrix, one row per text (named after `names(texts)`, if any) and one column
#'   per hidden unit.
#' @export
#' @examplesIf fastai_available()
#' c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(minilm_path())
#' X <- hf_hidden_states(c("I love it", "I hate it"), hf_model, hf_tokenizer, pooling = "mean")
#' dim(X)
hf_hidden_states <- function(texts, hf_model, hf_tokenizer, pooling = c("cls", "mean"), bs, max_length, layer) {
  model_arg <- function(x, name, call) {
    if (inherits(x, "python.builtin.object")) return(x)
    abort_input(sprintf("hf_model must be a transformers model from get_hf_objects() or a Learner, not %s",
                        describe(x)), call)
  }
  nms <- names(texts)
  args <- capture_args(list(texts = texts_arg(), hf_model = model_arg, pooling = choice_arg(c("cls", "mean")),
                            bs = count_arg(), max_length = count_arg(), layer = int_arg()))
  x <- fastai_call("hf_hidden_states", args)
  rownames(x) <- nms
  x
}
