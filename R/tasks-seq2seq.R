# Sequence-to-sequence tasks (summarization, translation) from R: blocks, the generation-metrics
# callback, a warm-started encoder-decoder, generation and its scores, the local data. The Python side is
# python/fastai_hf/data/seq2seq.py and python/fastai_hf/modeling/seq2seq.py.


#' Blocks for sequence-to-sequence data (summarization, translation)
#'
#' `HF_Seq2SeqBlock()` is the input block: source texts stay strings until a batch is drawn; then the
#' sources are tokenized and padded to the batch's longest, the targets are tokenized in the
#' tokenizer's target mode and padded with -100 (which the loss ignores), and the decoder inputs are
#' built from them the way the model does (shifted right behind its `decoder_start_token_id`).
#' `HF_Seq2SeqTargetBlock()` is the target block: it checks the target column up front (no `NA`, no
#' empty text) and leaves the texts to the input block. A batch is `list(x, labels)`, `x` holding
#' `input_ids`, `attention_mask` and `decoder_input_ids`.
#'
#' Targets longer than `max_target_length` tokens are truncated, with a warning the first time
#' (the model then learns the cut targets); sources longer than `max_length` are truncated.
#' `HF_Text2TextBlock()` is the name the first fastai R package used for the same block.
#' `HF_Seq2SeqBeforeBatchTransform()` is the transform the block builds (for `before_batch_tfm =`).
#'
#' @param hf_arch,hf_config,hf_tokenizer,hf_model From [get_hf_objects()] or [get_hf_encoder_decoder()];
#'   give `hf_model`, so the decoder inputs follow its recipe.
#' @param max_length Truncate sources to this many tokens (default: the tokenizer's limit).
#' @param max_target_length Truncate targets to this many tokens (default: `max_length`).
#' @param padding,truncation Passed to the tokenizer (default `TRUE`).
#' @param tok_kwargs A named list of further tokenizer arguments.
#' @param ... Further arguments of the Python class (`before_batch_tfm`, `before_batch_kwargs`,
#'   `dl_type`), or of the DataLoaders (`pool_batches`).
#' @return A fastai `TransformBlock` (Python object).
#' @export
#' @examplesIf fastai_available()
#' c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_encoder_decoder(minilm_path())
#' df <- load_dialogsum("train", n_rows = 40)
#' dblock <- DataBlock(
#'   blocks = list(HF_Seq2SeqBlock(hf_arch, hf_config, hf_tokenizer, hf_model, max_length = 128,
#'                                 max_target_length = 32),
#'                 HF_Seq2SeqTargetBlock()),
#'   get_x = ColReader("text"), get_y = ColReader("summary"), splitter = RandomSplitter()
#' )
#' dls <- dataloaders(dblock, df, bs = 4)
#' show_batch(dls, max_n = 2)
HF_Seq2SeqBlock <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL, max_length,
                            max_target_length, padding, truncation, tok_kwargs, ...) {
  args <- capture_args(list(max_length = count_arg(), max_target_length = count_arg(), padding = flag_arg(),
                            truncation = flag_arg()))
  fastai_call("HF_Seq2SeqBlock", args)
}

#' @rdname HF_Seq2SeqBlock
#' @export
HF_Seq2SeqTargetBlock <- function() fastai_call("HF_Seq2SeqTargetBlock")

#' @rdname HF_Seq2SeqBlock
#' @export
HF_Text2TextBlock <- HF_Seq2SeqBlock

#' @rdname HF_Seq2SeqBlock
#' @export
HF_Seq2SeqBeforeBatchTransform <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL,
                                           max_length, max_target_length, padding, truncation, tok_kwargs, ...) {
  args <- capture_args(list(max_length = count_arg(), max_target_length = count_arg(), padding = flag_arg(),
                            truncation = flag_arg()))
  fastai_call("HF_Seq2SeqBeforeBatchTransform", args)
}

#' A warm-started encoder-decoder model (bert2bert)
#'
#' An `EncoderDecoderModel` whose encoder and decoder both start from pretrained checkpoints (Rothe
#' et al., 2020; the Hugging Face "bert2bert" recipe): the decoder gets causal self-attention and new,
#' randomly initialised cross-attention layers, so train the whole model rather than a frozen body.
#' The tokenizer is the encoder's; `decoder_start_token_id` is its `[CLS]` (or bos), `eos_token_id`
#' its `[SEP]` (or eos), `pad_token_id` its pad, in the config and the generation config. With
#' [minilm_path()] it gives a real summarizer to fine-tune offline; online, pretrained seq2seq models
#' (`"t5-small"`, `"facebook/bart-base"`) load with `get_hf_objects(name, task = "Seq2SeqLM")`.
#'
#' @param encoder,decoder Hub ids or folders (`decoder` default: the encoder's).
#' @param tie_encoder_decoder Share the weights of both sides ("bert-share"), halving the model
#'   (default `FALSE`).
#' @param ... Further arguments of the Python function (`tokenizer_kwargs`, model arguments).
#' @return A list: `hf_arch` (`"encoder-decoder"`), `hf_config`, `hf_tokenizer`, `hf_model`.
#' @export
#' @examplesIf fastai_available()
#' c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_encoder_decoder(minilm_path())
#' hf_config$decoder_start_token_id == hf_tokenizer$cls_token_id
get_hf_encoder_decoder <- function(encoder, decoder, tie_encoder_decoder, ...) {
  args <- capture_args(list(encoder = path_arg(), decoder = path_arg(), tie_encoder_decoder = flag_arg()))
  res <- fastai_call("get_hf_encoder_decoder", args)
  stats::setNames(res, c("hf_arch", "hf_config", "hf_tokenizer", "hf_model"))
}

#' Score generated texts at each validation
#'
#' A callback for seq2seq learners: at each validation it generates a text for every validation
#' source with your generation settings and scores the generated texts (not teacher-forced tokens)
#' against the references: ROUGE-1/2/L F1 for summarization (`rouge-score`, averaged over texts,
#' 0 to 1), BLEU and chrF for translation (`sacrebleu`, corpus level, 0 to 100). The scores become
#' columns of the epoch table and of [validate()]. The settings are written into the model's
#' generation config when the learner is built, so [hf_generate()], [predict()] and the folder of
#' [hf_save_pretrained()] generate with them too. References are the decoded labels (truncated to
#' `max_target_length`; lowercased for an uncased model); score against the raw references with
#' [calculate_rouge()]. Generation costs time at each validation: keep the validation set small.
#'
#' `HF_SummarizationModelCallback()` is the name the first fastai R package used.
#'
#' @param metrics Some of `"rouge1"`, `"rouge2"`, `"rougeL"`, `"rougeLsum"`, `"bleu"`, `"chrf"`
#'   (default: the three ROUGE scores).
#' @param text_gen_kwargs A named list of generation settings, e.g.
#'   `list(max_new_tokens = 40, num_beams = 2)`.
#' @param ... Further arguments of the Python class.
#' @return A callback (Python object), for `cbs =` of [Learner()] beside [HF_BaseModelCallback()].
#' @export
#' @examplesIf fastai_available()
#' HF_Seq2SeqMetricsCallback(metrics = c("bleu", "chrf"), text_gen_kwargs = list(max_new_tokens = 30))
HF_Seq2SeqMetricsCallback <- function(metrics, text_gen_kwargs, ...) {
  fastai_call("HF_Seq2SeqMetricsCallback", capture_args(list(metrics = strings_arg(), text_gen_kwargs = settings_arg())))
}

#' @rdname HF_Seq2SeqMetricsCallback
#' @export
HF_SummarizationModelCallback <- HF_Seq2SeqMetricsCallback

# Generation settings: a named list (a dict in Python).
settings_arg <- function() {
  function(x, name, call) {
    if (is.null(x)) return(x)
    if (!is.list(x) || (length(x) && (is.null(names(x)) || any(!nzchar(names(x)))))) {
      abort_input(sprintf("%s must be a named list, e.g. list(max_new_tokens = 40, num_beams = 2), not %s", name,
                          describe(x)), call)
    }
    x
  }
}

#' Generate texts with a Learner
#'
#' For a seq2seq learner, the output text of each source (a summary, a translation); for a causal
#' language model, the continuation of each prompt (without the prompt). Generation arguments go to
#' transformers' `generate()` over the model's generation config: `max_new_tokens`, `num_beams`,
#' `do_sample`, `top_k`, `top_p`, `temperature`, `no_repeat_ngram_size`, ... [predict()] on such a
#' learner does the same.
#'
#' @param learn A [Learner()] on [HF_Seq2SeqBlock()] or causal [HF_LMBlock()] data, whose model
#'   generates (a seq2seq or causal LM).
#' @param texts A character vector, or a data frame with the column the learner was trained on.
#' @param bs Texts per `generate()` call (default: the validation batch size).
#' @param ... Generation arguments, e.g. `max_new_tokens = 40, num_beams = 4`.
#' @return For a character vector, a character vector of generated texts in the same order; for a
#'   data frame, the data frame with a `generated` column added.
#' @export
#' @examplesIf fastai_available()
#' \dontrun{
#' hf_generate(learn, c("#Person1#: Hi, how are you?\n#Person2#: Fine, thanks."), max_new_tokens = 20)
#' }
hf_generate <- function(learn, texts, bs, ...) {
  args <- capture_args(list(learn = learner_arg(), texts = texts_arg(frame_ok = TRUE), bs = count_arg()))
  res <- fastai_call("hf_generate", args)
  generated_value(res$generated, texts)
}

# The generated texts as R wants them: a character vector, or the data frame given with a column added.
generated_value <- function(generated, newdata) {
  generated <- as.character(generated)
  if (!is.data.frame(newdata)) return(generated)
  newdata$generated <- generated
  newdata
}

# predict() on a seq2seq learner (the predictor registered as "seq2seq"): as hf_generate().
predict_value_seq2seq <- function(res, newdata) generated_value(res$generated$generated, newdata)

#' ROUGE, BLEU and chrF of generated texts
#'
#' `calculate_rouge()`: ROUGE F1 of each key averaged over the texts, in 0 to 1 (Google's
#' `rouge-score`, Porter stemming by default); `rougeLsum` reads newlines as sentence breaks.
#' `calculate_bleu()` and `calculate_chrf()`: corpus BLEU (13a tokenization) and chrF (character
#' 6-grams, beta 2), in 0 to 100 (`sacrebleu`). A text may have several references: give
#' `reference_txts` as a list of character vectors; ROUGE takes the best, BLEU and chrF use them all.
#'
#' @param predicted_txts A character vector of generated texts (empty strings allowed).
#' @param reference_txts A character vector (one reference per text) or a list of character vectors.
#' @param rouge_keys Some of `"rouge1"`, `"rouge2"`, `"rougeL"`, `"rougeLsum"` (default: the first three).
#' @param use_stemmer Stem words before matching (default `TRUE`).
#' @param ... Further arguments of `sacrebleu.corpus_bleu()` / `corpus_chrf()`.
#' @return `calculate_rouge()`: a named numeric vector; the others: a number.
#' @export
#' @examplesIf fastai_available()
#' calculate_rouge("the cat sat", "the cat sat on the mat")
#' calculate_bleu("the cat sat on the mat", "the cat sat on a mat")
#' calculate_chrf("the cat sat on the mat", list(c("the cat sat on a mat", "a cat sat on the mat")))
calculate_rouge <- function(predicted_txts, reference_txts, rouge_keys, use_stemmer) {
  args <- capture_args(list(predicted_txts = predictions_arg(), reference_txts = references_arg(),
                            rouge_keys = strings_arg(), use_stemmer = flag_arg()))
  unlist(fastai_call("calculate_rouge", args))
}

#' @rdname calculate_rouge
#' @export
calculate_bleu <- function(predicted_txts, reference_txts, ...) {
  fastai_call("calculate_bleu", capture_args(list(predicted_txts = predictions_arg(),
                                                  reference_txts = references_arg())))
}

#' @rdname calculate_rouge
#' @export
calculate_chrf <- function(predicted_txts, reference_txts, ...) {
  fastai_call("calculate_chrf", capture_args(list(predicted_txts = predictions_arg(),
                                                  reference_txts = references_arg())))
}

# Generated texts: a character vector without NA (empty strings are texts a model may generate).
predictions_arg <- function() {
  function(x, name, call) {
    if (!is.character(x) || !length(x) || anyNA(x)) {
      abort_input(sprintf("%s must be a character vector without NA, not %s", name, describe(x)), call)
    }
    as.list(x)
  }
}

# References: a character vector, or a list of character vectors (several references per text).
references_arg <- function() {
  function(x, name, call) {
    ok <- if (is.list(x)) all(vapply(x, function(r) is.character(r) && length(r) && !anyNA(r), logical(1)))
      else is.character(x) && !anyNA(x)
    if (!ok || !length(x)) {
      abort_input(sprintf("%s must be a character vector or a list of character vectors, without NA, not %s", name,
                          describe(x)), call)
    }
    lapply(x, as.list)
  }
}

#' Local summarization and translation data
#'
#' `load_dialogsum()`: DialogSum (Chen et al., 2021), everyday dialogues with human summaries:
#' `id`, `text` (turns separated by newlines, speakers `#Person1#`, `#Person2#`, ...), `summary`,
#' `topic` (test: also `summary2`, `summary3`); train 5,000 sampled rows, valid 500, test 500.
#' CC BY-NC-SA 4.0 (non-commercial). `load_multi30k()`: Multi30k English-German image
#' descriptions: `id`, `source` (English), `target` (German); train 10,000 sampled pairs, valid
#' 1,014, test 1,000; non-commercial research use. Both are read from the project's shared data
#' folder (`$DIALOGSUM_DIR` / `$MULTI30K_DIR` if set).
#'
#' @param split `"train"`, `"valid"` or `"test"`.
#' @param n_rows Keep the first `n_rows` rows (default: all).
#' @return A data frame.
#' @export
#' @examplesIf fastai_available()
#' str(load_dialogsum("valid", n_rows = 2))
#' load_multi30k("valid", n_rows = 2)
load_dialogsum <- function(split, n_rows) {
  fastai_call("load_dialogsum", capture_args(list(split = string_arg(), n_rows = count_arg())))
}

#' @rdname load_dialogsum
#' @export
load_multi30k <- function(split, n_rows) {
  fastai_call("load_multi30k", capture_args(list(split = string_arg(), n_rows = count_arg())))
}
