# Language-model fine-tuning from R: causal (next token) and masked (BERT's MLM) language models on
# raw texts, perplexity, filling masks. The Python side is python/fastai_hf/data/lm.py and
# python/fastai_hf/modeling/lm.py; continuing prompts is hf_generate() (tasks-seq2seq.R).


#' A block for language-model data
#'
#' The one block of a language model's [DataBlock()]: raw texts, tokenized per batch, with the
#' targets made from the texts themselves.
#'
#' - `lm_type = "causal"` (GPT-2 style, the default): the target of each token is the next one
#'   (labels shifted by one, -100 at padding and at the end of each row).
#' - `lm_type = "masked"` (BERT style, for domain adaptation): 15% of the tokens (`mlm_probability`)
#'   are chosen; 80% of those become the mask token, 10% a random token and 10% stay (transformers'
#'   `DataCollatorForLanguageModeling`); the targets are the original tokens there and -100 elsewhere.
#'   A batch is masked the same way each time it is drawn (the draw is seeded by its tokens and
#'   `seed`), so validation loss and perplexity compare across epochs.
#'
#' Texts are padded per batch, or with `concatenate = TRUE` joined (an end-of-text token between
#' them for a causal model) and cut into rows of `max_length` tokens, so no padding is wasted. A
#' tokenizer without a pad token (GPT-2's) pads with its end-of-text token.
#' `HF_LMBeforeBatchTransform()` is the transform the block builds (for `before_batch_tfm =`).
#'
#' @param hf_arch,hf_config,hf_tokenizer,hf_model From [get_hf_objects()] with
#'   `task = "CausalLM"` or `"MaskedLM"`.
#' @param lm_type `"causal"` or `"masked"`.
#' @param max_length Truncate texts to this many tokens (with `concatenate`: the row length).
#' @param concatenate Join the texts of a batch and cut them into rows (default `FALSE`).
#' @param mlm_probability,mask_replace_prob,random_replace_prob The masking rule (default 0.15,
#'   0.8, 0.1).
#' @param seed Seed of the masks (default 0).
#' @param ... Further arguments of the Python class (`padding`, `truncation`, `tok_kwargs`,
#'   `before_batch_tfm`, `dl_type`), or of the DataLoaders (`pool_batches`).
#' @return A fastai `TransformBlock` (Python object).
#' @export
#' @examplesIf fastai_available()
#' c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(minilm_path(), task = "MaskedLM")
#' dblock <- DataBlock(blocks = HF_LMBlock(hf_arch, hf_config, hf_tokenizer, hf_model, lm_type = "masked"),
#'                     get_x = ColReader("text"), splitter = RandomSplitter())
#' dls <- dataloaders(dblock, load_goemotions("ekman", n_rows = 64), bs = 8)
#' show_batch(dls, max_n = 2)
HF_LMBlock <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL, lm_type, max_length,
                       concatenate, mlm_probability, mask_replace_prob, random_replace_prob, seed, ...) {
  fastai_call("HF_LMBlock", capture_args(lm_block_args))
}

#' @rdname HF_LMBlock
#' @export
HF_LMBeforeBatchTransform <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL, lm_type,
                                      max_length, concatenate, mlm_probability, mask_replace_prob,
                                      random_replace_prob, seed, ...) {
  fastai_call("HF_LMBeforeBatchTransform", capture_args(lm_block_args))
}

lm_block_args <- list(
  lm_type = choice_arg(c("causal", "masked")), max_length = count_arg(), concatenate = flag_arg(),
  mlm_probability = number_arg(min = 0, max = 1), mask_replace_prob = number_arg(min = 0, max = 1),
  random_replace_prob = number_arg(min = 0, max = 1), seed = int_arg()
)

#' Perplexity of a language model
#'
#' A metric: exp of the mean cross-entropy over all target tokens of the validation set (tokens
#' marked -100 skipped), weighted by tokens. For a causal LM, how surprised the model is by each next
#' token; for a masked LM, by each masked-out token. Named `perplexity` in the epoch table.
#'
#' @param ... None: `HF_Perplexity()` takes no arguments (the wrapper passes any on to Python,
#'   which refuses them).
#' @return A metric (Python object), for `metrics =` of [Learner()].
#' @export
#' @examplesIf fastai_available()
#' HF_Perplexity()
HF_Perplexity <- py_wrapper("HF_Perplexity", "instance")

#' Fill masks with a masked language model
#'
#' The `top_k` most likely tokens at each mask token of each text, as
#' `transformers.pipeline("fill-mask")` gives them. Write the tokenizer's mask token where a token
#' should be predicted (`"[MASK]"` for BERT models; a text may hold several). [predict()] on a
#' masked-LM learner does the same.
#'
#' @param learn A [Learner()] on masked [HF_LMBlock()] data.
#' @param texts A character vector, or a data frame with the column the learner was trained on.
#' @param top_k Tokens per mask (default 5).
#' @param bs Texts per batch (default: the validation batch size).
#' @return A data frame with one row per text, mask and rank: `text`, `mask` (which mask of the
#'   text, from 1), `rank` (from 1), `token`, `score` (its probability), `sequence` (the text with
#'   that token in the mask).
#' @export
#' @examplesIf fastai_available()
#' \dontrun{
#' hf_fill_mask(learn, "I feel [MASK] today.", top_k = 3)
#' }
hf_fill_mask <- function(learn, texts, top_k, bs) {
  args <- capture_args(list(learn = learner_arg(), texts = texts_arg(frame_ok = TRUE), top_k = count_arg(),
                            bs = count_arg()))
  fastai_call("hf_fill_mask", args)
}

# predict() on a causal LM: continuations, as hf_generate(); on a masked LM: hf_fill_mask()'s table.
predict_value_causal_lm <- function(res, newdata) generated_value(res$generated$generated, newdata)

predict_value_masked_lm <- function(res, newdata) res$filled
