# Token classification (named entities, part-of-speech tags, ...): blocks, metrics, tables and predict.
# The work is in python/fastai_hf/data/tokens.py and modeling/tokens.py; these wrappers check what
# R can check, call Python once and return R values.

#' Token classification data: word lists with one tag per word
#'
#' `HF_TokenClassBlock()` is the input block of a token classifier: each item is a sentence split
#' into words (a list column of character vectors), tokenized per batch with dynamic padding. The
#' words' tags are aligned to the word pieces: the first piece of each word carries the word's tag,
#' the other pieces (and special tokens, padding, words cut by `max_length`) are ignored by the loss
#' and the metrics (label -100). `HF_TokenCategoryBlock()` is the target block: one tag per word, the
#' tag vocab from the data (`O` first, then `B-`/`I-` per entity type) or given as `vocab`; it makes
#' a cross-entropy that skips the ignored pieces the learner's default loss.
#'
#' The data frame holds a list column of words and one of tags, of equal lengths per row (checked
#' when the DataLoaders are built, naming the rows at fault). Data with one row per word (a
#' sentence id, the word, its tag) becomes that with [words_from_long()].
#'
#' Byte-level BPE tokenizers (RoBERTa, GPT-2, ...) must be loaded with
#' `tokenizer_kwargs = list(add_prefix_space = TRUE)` for pre-split words.
#'
#' @param hf_arch,hf_config,hf_tokenizer,hf_model From [get_hf_objects()] (with
#'   `task = HF_TASKS_AUTO()$TokenClassification`); only the tokenizer is needed.
#' @param max_length Truncate sentences to this many tokens (default: the tokenizer's limit).
#' @param padding,truncation Passed to the tokenizer (default `TRUE`).
#' @param tok_kwargs A named list of further tokenizer arguments.
#' @param vocab The tags in the order of the model's labels (default: from the data).
#' @param ignore_token_id The label of ignored positions (default -100, what the loss skips).
#' @param ... Further arguments of the Python class (`before_batch_tfm`, `before_batch_kwargs`,
#'   `dl_type`) or of the DataLoaders (`pool_batches`).
#' @return A fastai `TransformBlock` (Python object).
#' @seealso [predict_tokens()], [token_metrics()], `vignette("ner")`.
#' @export
#' @examplesIf fastai_available()
#' df <- data.frame(id = 1:2)
#' df$words <- list(c("EU", "rejects", "German", "call"), c("Peter", "Blackburn"))
#' df$tags <- list(c("B-ORG", "O", "B-MISC", "O"), c("B-PER", "I-PER"))
#' c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-%
#'   get_hf_objects(minilm_path(), task = HF_TASKS_AUTO()$TokenClassification)
#' dblock <- DataBlock(blocks = list(HF_TokenClassBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer),
#'                                   HF_TokenCategoryBlock()),
#'                     get_x = ColReader("words"), get_y = ColReader("tags"),
#'                     splitter = IndexSplitter(2))
#' dls <- dataloaders(dblock, df, bs = 1)
#' dls$vocab
#' show_batch(dls)
HF_TokenClassBlock <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL, max_length,
                               padding, truncation, tok_kwargs, ...) {
  args <- capture_args(list(max_length = count_arg(), padding = flag_arg(), truncation = flag_arg()))
  fastai_call("HF_TokenClassBlock", args)
}

#' @rdname HF_TokenClassBlock
#' @export
HF_TokenCategoryBlock <- function(vocab, ignore_token_id) {
  fastai_call("HF_TokenCategoryBlock", capture_args(list(vocab = strings_arg(), ignore_token_id = int_arg())))
}

#' @rdname HF_TokenClassBlock
#' @details `HF_TokenCategorize()` and `HF_TokenClassBeforeBatchTransform()` are the transforms
#'   inside the blocks (blurr's names), for custom blocks.
#' @export
HF_TokenCategorize <- function(vocab, ignore_token_id) {
  fastai_call("HF_TokenCategorize", capture_args(list(vocab = strings_arg(), ignore_token_id = int_arg())))
}

#' @rdname HF_TokenClassBlock
#' @export
HF_TokenClassBeforeBatchTransform <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL,
                                              max_length, padding, truncation, tok_kwargs, ...) {
  args <- capture_args(list(max_length = count_arg(), padding = flag_arg(), truncation = flag_arg()))
  fastai_call("HF_TokenClassBeforeBatchTransform", args)
}

#' One row per word to one row per sentence
#'
#' Many NER data frames (and CoNLL files read into R) hold one row per word: a sentence id, the
#' word and its tag. `words_from_long()` groups them into one row per sentence with list columns
#' `words` and `tags`, the layout [HF_TokenClassBlock()] reads. Sentences keep the order of their
#' first row, words their row order.
#'
#' @param df A data frame with one row per word.
#' @param sentence,word,tag Column names (default `"sentence"`, `"word"`, `"tag"`); `tag = NULL`
#'   for words without tags (to predict).
#' @return A data frame: `sentence` (the id), `words` and `tags` (list columns of character vectors).
#' @export
#' @examples
#' long <- data.frame(sentence = c(1, 1, 1, 2, 2),
#'                    word = c("EU", "rejects", "lamb", "Peter", "Blackburn"),
#'                    tag = c("B-ORG", "O", "O", "B-PER", "I-PER"))
#' if (fastai_available()) words_from_long(long)
words_from_long <- function(df, sentence, word, tag) {
  args <- capture_args(list(df = function(x, name, call) check_data_frame(x, name, call),
                            sentence = string_arg(), word = string_arg(), tag = string_arg()))
  names(args)[names(args) == "sentence"] <- "sentence_col"
  names(args)[names(args) == "word"] <- "word_col"
  names(args)[names(args) == "tag"] <- "tag_col"
  out <- fastai_call("words_from_long", args)
  lists_as_character(out)
}

# List columns of words / tags as character vectors (one-word sentences arrive as a length-1 list).
lists_as_character <- function(df) {
  for (col in names(df)) if (is.list(df[[col]])) df[[col]] <- lapply(df[[col]], function(v) as.character(unlist(v)))
  df
}

#' Metrics of a token classifier
#'
#' For `metrics =` of [Learner()]: `TokenAccuracy()` (the share of words tagged right, `O` included),
#' `EntityPrecision()`, `EntityRecall()` and `EntityF1()` (entities found whole with the right
#' type, micro-averaged over types, or of one `entity_type` such as `"PER"`), with seqeval's
#' definitions (its default, conlleval-compatible mode). `entity_metrics()` gives all four. During
#' training they judge the words inside `max_length`; [token_metrics()] judges every word.
#'
#' @param entity_type One entity type (e.g. `"PER"`), or `NULL` (the default) for all.
#' @return A metric (Python object); `entity_metrics()` a list of four.
#' @export
#' @examplesIf fastai_available()
#' metrics <- c(entity_metrics(), list(EntityF1("PER")))
TokenAccuracy <- function() fastai_call("TokenAccuracy")

#' @rdname TokenAccuracy
#' @export
EntityPrecision <- function(entity_type) fastai_call("EntityPrecision", capture_args(list(entity_type = string_arg())))

#' @rdname TokenAccuracy
#' @export
EntityRecall <- function(entity_type) fastai_call("EntityRecall", capture_args(list(entity_type = string_arg())))

#' @rdname TokenAccuracy
#' @export
EntityF1 <- function(entity_type) fastai_call("EntityF1", capture_args(list(entity_type = string_arg())))

#' @rdname TokenAccuracy
#' @export
entity_metrics <- function() fastai_call("entity_metrics")

#' Evaluate a token classifier
#'
#' `token_metrics()`: token accuracy and entity precision, recall and F1 (seqeval's definitions,
#' micro-averaged over entity types) over every word. `entity_report()`: seqeval's classification
#' report as a data frame, one row per entity type, then `micro avg`, `macro avg` and `weighted avg`.
#' Both score the validation rows, or `data`: a data frame with the learner's word and tag columns
#' (e.g. a held-out test split). Long sentences are predicted in overlapping windows, so no word is
#' left out.
#'
#' @param learn A [Learner()] trained on [HF_TokenClassBlock()] data.
#' @param data A data frame with the word and tag list columns (default: the validation rows).
#' @param bs Batch size (default: the validation batch size).
#' @return `token_metrics()`: a named numeric vector `accuracy`, `precision`, `recall`, `f1`.
#'   `entity_report()`: a data frame `entity`, `precision`, `recall`, `f1`, `support`.
#' @export
token_metrics <- function(learn, data, bs) {
  args <- capture_args(list(learn = learner_arg(), data = frame_arg(), bs = count_arg()))
  unlist(fastai_call("token_metrics", args))
}

#' @rdname token_metrics
#' @export
entity_report <- function(learn, data, bs) {
  args <- capture_args(list(learn = learner_arg(), data = frame_arg(), bs = count_arg()))
  fastai_call("entity_report", args)
}

#' Tag the words of new texts
#'
#' Predicts a tag for every word: of texts (a character vector; the tokenizer splits them into words
#' as the Hugging Face pipeline does, e.g. at spaces and punctuation for BERT), of pre-split
#' sentences (a list of character vectors), of a data frame with the learner's list column of
#' words, or of one-row-per-word data (give `sentence` and `word`, the column names). `predict()`
#' on such a learner gives the same.
#'
#' @param learn A [Learner()] trained on [HF_TokenClassBlock()] data.
#' @param newdata Texts, word lists or a data frame (see above).
#' @param sentence,word With one-row-per-word `newdata`: its sentence id and word columns.
#' @param aggregation How entities are formed: `"first"` (the default: from the word tags, each
#'   word taking its first piece's tag, the rule the model was trained with, and
#'   `transformers.pipeline("token-classification", aggregation_strategy = "first")`'s) or
#'   `"simple"` (from the word pieces, each with its own tag, as the pipeline's `"simple"` strategy).
#' @param bs Batch size (default: the validation batch size).
#' @return A list of two data frames. `words`: one row per word, `sentence` (the position of the
#'   input, from 1), `word`, `start`, `end` (its characters in the text, or in the words joined by
#'   single spaces: `substr(text, start, end)`), `tag` and `probability`. `entities`: one row per
#'   entity, `sentence`, `entity` (its type), `text`, `start`, `end` and `score` (the mean
#'   probability of its words, or pieces).
#' @export
#' @examplesIf fastai_available()
#' \dontrun{
#' res <- predict_tokens(learn, c("EU rejects German call to boycott British lamb."))
#' res$entities
#' predict_tokens(learn, list(c("Peter", "Blackburn")))$words
#' }
predict_tokens <- function(learn, newdata, sentence, word, aggregation, bs) {
  args <- capture_args(list(learn = learner_arg(), newdata = words_input_arg(), sentence = string_arg(),
                            word = string_arg(), aggregation = choice_arg(c("first", "simple")), bs = count_arg()))
  if (!is.null(args$sentence) || !is.null(args$word)) {
    if (is.null(args$sentence) || is.null(args$word) || !is.data.frame(newdata)) {
      abort_input("give both sentence and word (column names) with a one-row-per-word data frame as newdata")
    }
    newdata <- words_from_long(newdata, sentence = args$sentence, word = args$word, tag = NULL)
  }
  res <- fastai_call("predict", c(list(learn, newdata), args[intersect(names(args), c("aggregation", "bs"))]),
                     verb = TRUE)
  res[c("words", "entities")]
}

#' The local CoNLL-2003 and SQuAD data
#'
#' `load_conll2003()`: one split of CoNLL-2003 English NER (`"train"`: 14,041 sentences, `"valid"`:
#' 3,250, `"test"`: 3,453), a data frame with list columns `tokens` (words) and `tags` (BIO tags of
#' PER, ORG, LOC, MISC); `conll2003_labels()` its 9 tags in the usual order. `load_squad()`: one split
#' of the project's SQuAD v1.1 sample (`"train"`: 7,000 questions, `"valid"` and `"test"`: 1,000
#' each, split by article), columns `id`, `title`, `context`, `question`, `answer_text` and
#' `answer_start` (the answer's character offset in `context`, from 0 as in SQuAD). The folders are
#' found through `CONLL2003_DIR` / `SQUAD_DIR`, beside `GOEMOTIONS_DIR`, or as the project's
#' `../shared/data`; each has a README with the source and license.
#'
#' @param split `"train"`, `"valid"` or `"test"`.
#' @param n_rows Keep the first `n_rows` rows (`NULL`: all).
#' @return A data frame; `conll2003_labels()` a character vector.
#' @export
#' @examplesIf fastai_available()
#' head(load_conll2003("valid", n_rows = 3))
#' conll2003_labels()
load_conll2003 <- function(split, n_rows) {
  lists_as_character(fastai_call("load_conll2003", capture_args(list(split = string_arg(), n_rows = count_arg()))))
}

#' @rdname load_conll2003
#' @export
conll2003_labels <- function() as.character(unlist(fastai_call("conll2003_labels")))

#' @rdname load_conll2003
#' @export
load_squad <- function(split, n_rows) {
  fastai_call("load_squad", capture_args(list(split = string_arg(), n_rows = count_arg())))
}
