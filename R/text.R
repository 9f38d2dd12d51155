# ULMFiT from R (fastbook ch. 10): fastai's tokenizers, text blocks and data loaders, AWD-LSTM
# language models and classifiers, text generation; and feature extraction with a frozen
# transformer. The Python side is fastai's own text API plus python/fastai_hf/ulmfit.py (offline
# pretrained weights, LM generation) and python/fastai_hf/r_text.py (values R can take).

# The helper module of this file and R/interpret.R, imported once Python runs.
py_r_text <- function() {
  ensure_python()
  reticulate::import("fastai_hf.r_text")
}

# Call a function of python/fastai_hf/r_text.py and convert its result with from_py().
r_text_call <- function(.fn, ..., .call = sys.call(sys.parent())) {
  f <- reticulate::py_get_attr(py_r_text(), .fn)
  from_py(py_call(f, ..., .call = .call))
}

# Token lists from Python (lists of strings, an empty list arriving as list()) as character vectors.
as_token_list <- function(x) lapply(x, function(e) as.character(unlist(e)))

# A character vector of texts, none missing or empty.
check_text_vector <- function(texts, name = "texts", call = sys.call(sys.parent())) {
  if (is.factor(texts)) texts <- as.character(texts)
  if (!is.character(texts) || !length(texts)) {
    abort_input(sprintf("%s must be a character vector, not %s", name, describe(texts)), call)
  }
  bad <- which(is.na(texts) | !nzchar(trimws(texts)))
  if (length(bad)) {
    abort_input(sprintf("%s at positions %s are missing or empty; every text must be a non-empty string",
                        name, paste(utils::head(bad, 10L), collapse = ", ")), call)
  }
  unname(texts)  # a named list would cross as a dict
}

# Token lists: a list of character vectors (text_tokens() output).
check_tokens <- function(tokens, call = sys.call(sys.parent())) {
  ok <- is.list(tokens) && length(tokens) && all(vapply(tokens, function(t) is.character(t) && !anyNA(t), logical(1)))
  if (!ok) abort_input(sprintf("tokens must be a list of character vectors (as text_tokens() returns), not %s",
                               describe(tokens)), call)
  # as.list() keeps a one-token text a list on the Python side
  lapply(tokens, as.list)
}

check_text_learner <- function(x, call = sys.call(sys.parent())) {
  check_py(x, "fastai.text.learner.TextLearner", "the learner",
           "a fastai text learner (from language_model_learner() or text_classifier_learner())", call)
}

check_dls <- function(x, call = sys.call(sys.parent())) {
  check_py(x, "fastai.data.core.DataLoaders", "dls", "DataLoaders (e.g. from TextDataLoaders_from_df())", call)
}

# One of `choices` (the first when `x` is the whole default vector).
check_choice <- function(x, choices, name, call = sys.call(sys.parent())) {
  if (identical(x, choices)) return(choices[1L])
  if (!(is.character(x) && length(x) == 1L && x %in% choices)) {
    abort_input(sprintf("%s must be one of %s, not %s", name, paste0('"', choices, '"', collapse = ", "),
                        describe(x)), call)
  }
  x
}

# A path for Python: expanded, as a string.
check_path <- function(x, name, call = sys.call(sys.parent())) path.expand(check_string(x, name, call = call))

# ------------------------------------------------------------------------------ tokenization ----

#' fastai's special tokens and text rules
#'
#' fastai's tokenization first applies rules to the raw text, then splits it into tokens. The
#' rules add special tokens: `xxbos` marks the start of a text, `xxmaj` a capitalised word
#' (which is then lowercased), `xxup` a word in capitals, `xxrep n c` a character repeated `n`
#' times, `xxwrep n w` a repeated word; `xxunk` stands for tokens outside the vocab, `xxpad` for
#' padding, `xxfld` separates fields, `xxeos` ends a text.
#'
#' @return `spec_tokens()`: the special tokens (a character vector). `proc_rules()`: the names of
#'   the default rules in the order they run; pass some of them as `rules =` of [text_tokens()],
#'   [Tokenizer()] or [TextBlock_from_df()].
#' @export
#' @examplesIf fastai_available()
#' spec_tokens()
#' proc_rules()
spec_tokens <- function() {
  as.character(unlist(py_call(py_fastai()$spec_tokens, .call = sys.call())))
}

#' @rdname spec_tokens
#' @export
proc_rules <- function() {
  as.character(unlist(py_call(py_fastai()$proc_rules, .call = sys.call())))
}

#' Tokenizers
#'
#' `WordTokenizer()` splits words with spaCy's rule-based English tokenizer (no model download).
#' `SubwordTokenizer()` learns a SentencePiece vocabulary of `vocab_sz` pieces: from `texts` right
#' away if given, else from the first texts it tokenizes. `Tokenizer()` wraps one of them with the
#' pre-tokenization rules ([proc_rules()]), as fastai's `TextBlock` does; `Tokenizer_from_df()`
#' builds one that tokenizes data frame columns. Apply any of them with [text_tokens()].
#'
#' @param lang Language of the tokenizer.
#' @param special_toks Special tokens to keep whole (default: [spec_tokens()]).
#' @param vocab_sz Number of subword pieces (default: fastai's guess from the texts).
#' @param texts Texts to train the SentencePiece model on.
#' @param max_vocab_sz Upper limit of fastai's guess.
#' @param model_type SentencePiece model: `"unigram"` or `"bpe"`.
#' @param cache_dir Where SentencePiece writes its model (default: a new temporary folder).
#' @param rules Pre-tokenization rules: names from [proc_rules()] (default: all of them).
#' @param tok A base tokenizer such as `WordTokenizer()`.
#' @param sep Separator used when decoding tokens back to text.
#' @param ... Further arguments of the Python class or method.
#' @return A tokenizer (Python object).
#' @export
#' @examplesIf fastai_available()
#' text_tokens("I LOVE it!!!", tok = Tokenizer(WordTokenizer()))
WordTokenizer <- function(lang = "en", special_toks = NULL, ...) {
  py_call(py_fastai()$WordTokenizer, lang = check_string(lang, "lang"), special_toks = as_tokens_arg(special_toks),
          ..., .call = sys.call())
}

#' @rdname WordTokenizer
#' @export
SubwordTokenizer <- function(vocab_sz = NULL, texts = NULL, lang = "en", max_vocab_sz = 30000L,
                             model_type = "unigram", cache_dir = tempfile("fastai-spm-"), rules = NULL, ...) {
  if (!is.null(vocab_sz)) vocab_sz <- check_count(vocab_sz, "vocab_sz")
  cache_dir <- check_path(cache_dir, "cache_dir")
  dir.create(cache_dir, showWarnings = FALSE, recursive = TRUE)
  tok <- py_call(py_fastai()$SubwordTokenizer, lang = check_string(lang, "lang"), vocab_sz = vocab_sz,
                 max_vocab_sz = check_count(max_vocab_sz, "max_vocab_sz"),
                 model_type = check_string(model_type, "model_type"), cache_dir = cache_dir, ..., .call = sys.call())
  if (is.null(texts)) return(tok)
  texts <- check_text_vector(texts)
  py_call(py_r_text()$setup_subword, tok, as.list(texts), rules = as_rules(rules), .call = sys.call())
}

#' @rdname WordTokenizer
#' @export
Tokenizer <- function(tok = WordTokenizer(), rules = NULL, sep = " ", ...) {
  py_call(py_fastai()$Tokenizer, tok, rules = as_rule_functions(rules), sep = check_string(sep, "sep"), ...,
          .call = sys.call())
}

#' @rdname WordTokenizer
#' @param text_cols Column names of the texts.
#' @export
Tokenizer_from_df <- function(text_cols, tok = NULL, rules = NULL, ...) {
  py_call(py_fastai()$Tokenizer$from_df, as.list(as.character(text_cols)), tok = tok,
          rules = as_rule_functions(rules), ..., .call = sys.call())
}

# Rule names cross as a list (NULL: fastai's defaults), so one name stays a list.
as_rules <- function(rules, call = sys.call(sys.parent())) {
  if (is.null(rules)) return(NULL)
  if (!is.character(rules) || anyNA(rules)) {
    abort_input(sprintf("rules must be names from proc_rules(), not %s", describe(rules)), call)
  }
  as.list(rules)
}

# fastai's Tokenizer wants the rule functions themselves.
as_rule_functions <- function(rules, call = sys.call(sys.parent())) {
  rules <- as_rules(rules, call)
  if (is.null(rules)) return(NULL)
  py_call(py_r_text()$rule_functions, rules, .call = call)
}

as_tokens_arg <- function(x) if (is.null(x)) NULL else as.list(as.character(x))

#' Tokenize texts
#'
#' Splits texts into tokens as fastai's `TextBlock` does: the rules first (adding `xxbos`,
#' `xxmaj`, `xxup`, `xxrep`, ...; see [spec_tokens()]), then the tokenizer.
#'
#' @param texts A character vector.
#' @param tok `"word"` ([WordTokenizer()]), `"subword"` (a [SubwordTokenizer()] trained on `texts`
#'   with `vocab_sz` pieces), or a tokenizer object: a [Tokenizer()] (which brings its own rules),
#'   a `WordTokenizer()` or a set-up `SubwordTokenizer()`.
#' @param rules Rule names from [proc_rules()] (default: all; `character(0)` for none).
#' @param vocab_sz Subword vocabulary size for `tok = "subword"`.
#' @param lang Language for `tok = "word"` / `"subword"`.
#' @return A list with one character vector of tokens per text.
#' @export
#' @examplesIf fastai_available()
#' text_tokens(c("Hello WORLD!!!", "It's fine."))
text_tokens <- function(texts, tok = "word", rules = NULL, vocab_sz = NULL, lang = "en") {
  texts <- check_text_vector(texts)
  if (!is.null(vocab_sz)) vocab_sz <- check_count(vocab_sz, "vocab_sz")
  rule_names <- rules
  rules <- as_rules(rules)
  if (!inherits(tok, "python.builtin.object")) {
    if (!(is.character(tok) && length(tok) == 1L && tok %in% c("word", "subword"))) {
      abort_input(sprintf("tok must be \"word\", \"subword\" or a tokenizer such as WordTokenizer(), not %s",
                          describe(tok)))
    }
    lang <- check_string(lang, "lang")
    tok <- if (tok == "word") WordTokenizer(lang = lang)
      else SubwordTokenizer(vocab_sz = vocab_sz, texts = texts, lang = lang, rules = rule_names)
  }
  as_token_list(py_call(py_r_text()$tokenize, tok, as.list(texts), rules = rules, .call = sys.call()))
}

#' Tokenize the text columns of a data frame
#'
#' fastai's `tokenize_df`: the text columns are replaced by one column of token vectors.
#'
#' @param df A data frame.
#' @param text_cols Names of the text columns (several are joined, each after an `xxfld` token
#'   when `mark_fields` is `TRUE`, the default for several).
#' @param tok A base tokenizer (default `WordTokenizer()`).
#' @param rules Rule names from [proc_rules()] (default: all).
#' @param mark_fields Add `xxfld` before each field.
#' @param tok_text_col Name of the token column.
#' @param n_workers Worker processes (default 0: tokenize in this R session's Python; a process
#'   pool pays off only for large corpora).
#' @return A list: `df`, the data frame with the token column (a list of character vectors) and
#'   `<tok_text_col>_length`; `counts`, a data frame of `token` and `n` by decreasing count.
#' @export
#' @examplesIf fastai_available()
#' res <- tokenize_df(data.frame(text = c("Hello there", "Hello again"), y = 1:2), "text")
#' res$df$text
#' head(res$counts)
tokenize_df <- function(df, text_cols = "text", tok = NULL, rules = NULL, mark_fields = NULL,
                        tok_text_col = "text", n_workers = 0L) {
  if (!is.data.frame(df)) abort_input(sprintf("df must be a data frame, not %s", describe(df)))
  if (!nrow(df)) abort_input("df has zero rows")
  text_cols <- as.character(text_cols)
  missing <- setdiff(text_cols, names(df))
  if (length(missing)) {
    abort_input(sprintf("columns %s are not in df; its columns are %s", paste(missing, collapse = ", "),
                        paste(names(df), collapse = ", ")))
  }
  for (col in text_cols) check_text_vector(df[[col]], sprintf("column '%s': texts", col))
  if (!is.null(mark_fields)) mark_fields <- check_flag(mark_fields, "mark_fields")
  tok_text_col <- check_string(tok_text_col, "tok_text_col")
  res <- r_text_call("tokenize_df", df, as.list(text_cols), n_workers = check_count(n_workers, "n_workers", 0L),
                     rules = as_rules(rules), mark_fields = mark_fields, tok = tok, tok_text_col = tok_text_col,
                     .call = sys.call())
  res$df[[tok_text_col]] <- as_token_list(res$df[[tok_text_col]])
  res
}

#' Vocabularies and token ids
#'
#' `text_vocab()` builds the vocabulary fastai's `Numericalize` builds: the special tokens, then
#' tokens seen at least `min_freq` times by decreasing frequency (at most `max_vocab`), padded with
#' `xxfake` to a multiple of 8. `numericalize_tokens()` turns tokens into ids (tokens outside the
#' vocab become 0, `xxunk`). `Numericalize()` is fastai's transform, set up on `tokens` if given.
#'
#' Ids count from 0 as in fastai: the token of id `i` is `vocab[i + 1]` in R.
#'
#' @param tokens A list of character vectors ([text_tokens()] output).
#' @param min_freq Keep tokens seen at least this often.
#' @param max_vocab At most this many tokens.
#' @param vocab A character vector, or a set-up `Numericalize()`.
#' @param special_toks Special tokens (default: [spec_tokens()]).
#' @return `text_vocab()`: a character vector. `numericalize_tokens()`: a list of integer vectors.
#'   `Numericalize()`: the transform (Python object); its vocab is `$vocab`.
#' @export
#' @examplesIf fastai_available()
#' toks <- text_tokens(c("I love it", "I love them", "I hate it"))
#' vocab <- text_vocab(toks, min_freq = 1)
#' ids <- numericalize_tokens(toks, vocab)
#' vocab[ids[[1]] + 1]
text_vocab <- function(tokens, min_freq = 3L, max_vocab = 60000L) {
  tokens <- check_tokens(tokens)
  as.character(unlist(py_call(py_fastai()$text_vocab, tokens, min_freq = check_count(min_freq, "min_freq", 0L),
                              max_vocab = check_count(max_vocab, "max_vocab"), .call = sys.call())))
}

#' @rdname text_vocab
#' @export
numericalize_tokens <- function(tokens, vocab) {
  tokens <- check_tokens(tokens)
  if (inherits(vocab, "python.builtin.object")) {  # a Numericalize
    vocab <- vocab$vocab
    if (inherits(vocab, "python.builtin.object")) vocab <- reticulate::py_to_r(vocab)
    vocab <- as.character(unlist(vocab))
  }
  if (!is.character(vocab) || !length(vocab) || anyNA(vocab)) {
    abort_input(sprintf("vocab must be a character vector of tokens (text_vocab() output), not %s", describe(vocab)))
  }
  ids <- py_call(py_fastai()$numericalize_tokens, tokens, as.list(vocab), .call = sys.call())
  lapply(ids, function(e) as.integer(unlist(e)))
}

#' @rdname text_vocab
#' @export
Numericalize <- function(vocab = NULL, min_freq = 3L, max_vocab = 60000L, special_toks = NULL, tokens = NULL) {
  if (!is.null(vocab)) vocab <- as.list(as.character(vocab))
  num <- py_call(py_fastai()$Numericalize, vocab = vocab, min_freq = check_count(min_freq, "min_freq", 0L),
                 max_vocab = check_count(max_vocab, "max_vocab"), special_toks = as_tokens_arg(special_toks),
                 .call = sys.call())
  if (!is.null(tokens)) py_call(num$setup, check_tokens(tokens), .call = sys.call())
  num
}

# ------------------------------------------------------------------------------------- data ----

#' Text blocks for a DataBlock
#'
#' fastai's `TextBlock`: texts are tokenized once when the DataLoaders are built, then turned into
#' ids with a vocab. For a language model (`is_lm = TRUE`) the DataLoaders cut the texts into
#' sequences of `seq_len` tokens, the target being the same sequence shifted by one token; for a
#' classifier, texts of similar length are batched and padded. A classifier that fine-tunes a
#' language model's encoder must use the language model's vocab: `vocab = dls_lm$vocab`.
#'
#' `TextBlock_from_df()` tokenizes data frame columns into a new column `text` (read it with
#' `get_x = ColReader("text")`); `TextBlock_from_folder()` tokenizes the `.txt` files below
#' `path` into a folder beside it (`<path>_tok`).
#'
#' @param text_cols Names of the text columns.
#' @param path A folder of `.txt` files.
#' @param vocab A vocab (character vector), e.g. the language model's `dls_lm$vocab`; `NULL` to
#'   build one from the training texts.
#' @param is_lm For a language model.
#' @param seq_len Tokens per sequence (language model) or padding chunk (classifier).
#' @param backwards Read texts backwards (for a backwards model).
#' @param min_freq,max_vocab Vocab building, as in [text_vocab()].
#' @param tok A base tokenizer (default `WordTokenizer()`), e.g. a [SubwordTokenizer()].
#' @param rules Rule names from [proc_rules()] (default: all).
#' @param n_workers Tokenizer processes (default 0: in this session; a pool pays off only for large
#'   corpora).
#' @param ... Further arguments of the Python method (`mark_fields`, `tok_text_col`, `extensions`,
#'   `folders`, `output_dir`, ...).
#' @return A fastai `TransformBlock` (Python object). DataLoaders built from it draw batches in this
#'   session (`num_workers = 0`) unless [dataloaders()] is given another `num_workers`.
#' @export
#' @examplesIf fastai_available()
#' dblock <- DataBlock(blocks = TextBlock_from_df("text", is_lm = TRUE), get_x = ColReader("text"),
#'                     splitter = RandomSplitter(0.1))
TextBlock_from_df <- function(text_cols = "text", vocab = NULL, is_lm = FALSE, seq_len = 72L, backwards = FALSE,
                              min_freq = 3L, max_vocab = 60000L, tok = NULL, rules = NULL, n_workers = 0L, ...) {
  text_block("from_df", as.list(as.character(text_cols)), vocab, is_lm, seq_len, backwards, min_freq, max_vocab,
             tok, rules, n_workers, ...)
}

#' @rdname TextBlock_from_df
#' @export
TextBlock_from_folder <- function(path, vocab = NULL, is_lm = FALSE, seq_len = 72L, backwards = FALSE,
                                  min_freq = 3L, max_vocab = 60000L, tok = NULL, rules = NULL, n_workers = 0L, ...) {
  path <- check_path(path, "path")
  if (!dir.exists(path)) abort_input(sprintf("folder '%s' does not exist", path))
  text_block("from_folder", path, vocab, is_lm, seq_len, backwards, min_freq, max_vocab, tok, rules, n_workers, ...)
}

text_block <- function(method, what, vocab, is_lm, seq_len, backwards, min_freq, max_vocab, tok, rules, n_workers,
                       ..., .call = sys.call(sys.parent())) {
  if (!is.null(vocab)) vocab <- as.list(as.character(vocab))
  block <- py_call(reticulate::py_get_attr(py_fastai()$TextBlock, method), what, vocab = vocab,
          is_lm = check_flag(is_lm, "is_lm", .call), seq_len = check_count(seq_len, "seq_len", call = .call),
          backwards = check_flag(backwards, "backwards", .call),
          min_freq = check_count(min_freq, "min_freq", 0L, .call),
          max_vocab = check_count(max_vocab, "max_vocab", call = .call),
          tok = tok, rules = as_rule_functions(rules, .call),
          n_workers = check_count(n_workers, "n_workers", 0L, .call), ..., .call = .call)
  # Batches are drawn in this process unless dataloaders(num_workers =) says otherwise: the items are
  # token ids already, and worker processes forked from R cost more than they save.
  reticulate::py_set_item(reticulate::py_get_attr(block, "dls_kwargs"), "num_workers", 0L)
  block
}

#' Text DataLoaders in one call
#'
#' fastai's `TextDataLoaders`: tokenization, vocab, split and batching at once, for a language
#' model (`is_lm = TRUE`) or a classifier. From a data frame with a text and a label column, or
#' from a folder with `train` and `valid` subfolders, each holding one folder of `.txt` files per
#' label (the folder names are the labels).
#'
#' @param df A data frame.
#' @param text_col,label_col The text and label columns (names, or positions counted from 1).
#'   Several label columns make a multi-label classifier.
#' @param path Where the learner saves models (`<path>/models`); for `from_folder()`, the folder of
#'   the data.
#' @param valid_pct,seed Random validation share and its seed (`from_folder()`: instead of the
#'   `valid` folder).
#' @param valid_col A logical column marking validation rows, instead of `valid_pct`.
#' @param is_lm For a language model.
#' @param text_vocab The vocab of the texts, e.g. a language model's `dls_lm$vocab`.
#' @param vocab The labels (`from_folder()`).
#' @param train,valid Subfolder names.
#' @param bs Batch size.
#' @param seq_len Tokens per sequence.
#' @param num_workers Processes drawing batches (default 0: this session; the items are token ids
#'   already, and worker processes forked from R cost more than they save).
#' @param ... Further arguments of the Python method (`label_delim`, `y_block`, `tok_tfm`, `val_bs`,
#'   `backwards`, `splitter`, ...).
#' @return `TextDataLoaders` (Python object): `$vocab`, `$train`, `$valid`, ...
#' @export
#' @examplesIf fastai_available()
#' df <- load_goemotions("ekman", n_rows = 300, single_label = TRUE)
#' dls_lm <- TextDataLoaders_from_df(df, text_col = "text", is_lm = TRUE, path = tempdir(), bs = 16)
#' head(dls_lm$vocab, 12)
TextDataLoaders_from_df <- function(df, text_col = "text", label_col = "label", path = ".", valid_pct = 0.2,
                                    seed = NULL, valid_col = NULL, is_lm = FALSE, text_vocab = NULL, bs = 64L,
                                    seq_len = 72L, num_workers = 0L, ...) {
  if (!is.data.frame(df)) abort_input(sprintf("df must be a data frame, not %s", describe(df)))
  if (!nrow(df)) abort_input("df has zero rows")
  is_lm <- check_flag(is_lm, "is_lm")
  text_col <- df_columns(df, text_col, "text_col")
  check_text_vector(df[[text_col]], sprintf("column '%s': texts", text_col))
  label_col <- if (is_lm) NULL else df_columns(df, label_col, "label_col")
  if (length(label_col) > 1L) label_col <- as.list(label_col)
  if (!is.null(valid_col)) valid_col <- df_columns(df, valid_col, "valid_col")
  if (!is.null(seed)) seed <- check_int(seed, "seed")
  if (!is.null(text_vocab)) text_vocab <- as.list(as.character(text_vocab))
  py_call(py_fastai()$TextDataLoaders$from_df, df, path = check_path(path, "path"),
          valid_pct = check_number(valid_pct, "valid_pct", min = 0, max = 1), seed = seed, text_col = text_col,
          label_col = label_col, valid_col = valid_col, is_lm = is_lm, text_vocab = text_vocab,
          bs = check_count(bs, "bs"), seq_len = check_count(seq_len, "seq_len"),
          num_workers = check_count(num_workers, "num_workers", 0L), ..., .call = sys.call())
}

#' @rdname TextDataLoaders_from_df
#' @export
TextDataLoaders_from_folder <- function(path, train = "train", valid = "valid", valid_pct = NULL, seed = NULL,
                                        vocab = NULL, text_vocab = NULL, is_lm = FALSE, bs = 64L, seq_len = 72L,
                                        num_workers = 0L, ...) {
  path <- check_path(path, "path")
  if (!dir.exists(path)) abort_input(sprintf("folder '%s' does not exist", path))
  valid_pct <- check_number(valid_pct, "valid_pct", null_ok = TRUE, min = 0, max = 1)
  if (!is.null(seed)) seed <- check_int(seed, "seed")
  if (!is.null(vocab)) vocab <- as.list(as.character(vocab))
  if (!is.null(text_vocab)) text_vocab <- as.list(as.character(text_vocab))
  py_call(py_fastai()$TextDataLoaders$from_folder, path, train = check_string(train, "train"),
          valid = check_string(valid, "valid"), valid_pct = valid_pct, seed = seed, vocab = vocab,
          text_vocab = text_vocab, is_lm = check_flag(is_lm, "is_lm"), bs = check_count(bs, "bs"),
          seq_len = check_count(seq_len, "seq_len"), num_workers = check_count(num_workers, "num_workers", 0L), ...,
          .call = sys.call())
}

# Column names from names or R positions (fastai counts positions from 0, R from 1).
df_columns <- function(df, cols, name, call = sys.call(sys.parent())) {
  if (is.numeric(cols)) {
    if (anyNA(cols) || any(cols < 1 | cols > ncol(df) | cols != round(cols))) {
      abort_input(sprintf("%s must name columns of df or give their positions 1 to %d", name, ncol(df)), call)
    }
    cols <- names(df)[cols]
  }
  if (!is.character(cols) || !length(cols)) {
    abort_input(sprintf("%s must be column names, not %s", name, describe(cols)), call)
  }
  missing <- setdiff(cols, names(df))
  if (length(missing)) {
    abort_input(sprintf("%s: columns %s are not in df; its columns are %s", name, paste(missing, collapse = ", "),
                        paste(names(df), collapse = ", ")), call)
  }
  cols
}

#' A language-model DataLoader
#'
#' fastai's `LMDataLoader`: concatenates token-id sequences (in random order when `shuffle = TRUE`),
#' cuts the stream into `bs` parallel streams and yields batches of `seq_len` tokens with the same
#' tokens shifted by one as targets. [TextBlock_from_df()] with `is_lm = TRUE` uses it.
#'
#' @param dataset A list of integer vectors of token ids ([numericalize_tokens()] output), or a
#'   fastai dataset.
#' @param bs Batch size (parallel streams).
#' @param seq_len Tokens per batch row.
#' @param shuffle Shuffle the sequences each epoch.
#' @param ... Further arguments of the Python class (`lens`, `cache`, `drop_last`, ...).
#' @return An `LMDataLoader` (Python object); `dl$one_batch()` draws a batch, `length(dl)` counts
#'   batches.
#' @export
#' @examplesIf fastai_available()
#' dl <- LMDataLoader(list(0:49, 50:99), bs = 2, seq_len = 5)
#' length(dl)
LMDataLoader <- function(dataset, bs = 64L, seq_len = 72L, shuffle = FALSE, ...) {
  if (is.list(dataset) && !inherits(dataset, "python.builtin.object")) {
    ok <- length(dataset) && all(vapply(dataset, function(s) is.numeric(s) && length(s) && !anyNA(s) &&
                                          all(s >= 0 & s == round(s)), logical(1)))
    if (!ok) abort_input("dataset must be a list of non-empty vectors of token ids (whole numbers from 0)")
    dataset <- lapply(dataset, function(s) as.list(as.integer(s)))
  } else if (!inherits(dataset, "python.builtin.object")) {
    abort_input(sprintf("dataset must be a list of token-id vectors, not %s", describe(dataset)))
  }
  py_call(py_r_text()$lm_dataloader, dataset, bs = check_count(bs, "bs"), seq_len = check_count(seq_len, "seq_len"),
          shuffle = check_flag(shuffle, "shuffle"), ..., .call = sys.call())
}

#' Items and labels from folders
#'
#' For a [DataBlock()] over a folder of texts: `get_text_files()` (for `get_items =`) lists the
#' `.txt` files, `parent_label()` (for `get_y =`) labels a file by its folder, and
#' `GrandparentSplitter()` (for `splitter =`) puts files below `train` and `valid` folders into the
#' training and validation sets. `get_text_files()` and `parent_label()` with no arguments return
#' the Python function; `get_text_files(path)` lists files.
#'
#' @param ... Arguments of the Python function: `path`, `recurse`, `folders` (`get_text_files`);
#'   `train_name`, `valid_name` (`GrandparentSplitter`).
#' @return A Python function or object, or (with arguments) its result.
#' @export
get_text_files <- py_wrapper("get_text_files", "function")

#' @rdname get_text_files
#' @export
parent_label <- py_wrapper("parent_label", "function")

#' @rdname get_text_files
#' @export
GrandparentSplitter <- py_wrapper("GrandparentSplitter", "instance")

# ------------------------------------------------------------------------------------ models ----

#' AWD-LSTM and its configuration
#'
#' `AWD_LSTM()` with no arguments is fastai's AWD-LSTM class, for `arch =` of
#' [language_model_learner()] and [text_classifier_learner()] (also `arch = AWD_LSTM`); with
#' arguments (`vocab_sz`, `emb_sz`, `n_hid`, `n_layers`, ...) it builds the encoder. Its default size
#' (embeddings of 400, 3 layers of 1,152 units) is what fastai's pretrained WikiText-103 weights
#' fit. `awd_lstm_config()` returns fastai's configuration for a language model or a classifier
#' with some entries changed, e.g. a small model for CPUs; a classifier that loads a language
#' model's encoder needs the same `emb_sz`, `n_hid` and `n_layers`.
#'
#' @param task `"lm"` or `"classifier"`.
#' @param ... `AWD_LSTM()`: arguments of the Python class. `awd_lstm_config()`: entries to change,
#'   e.g. `emb_sz = 100, n_hid = 256, n_layers = 2`.
#' @return `AWD_LSTM()`: the class or a model (Python). `awd_lstm_config()`: a named list, for
#'   `config =` of the learners.
#' @export
#' @examplesIf fastai_available()
#' str(awd_lstm_config("lm", emb_sz = 100, n_hid = 256, n_layers = 2))
AWD_LSTM <- py_wrapper("AWD_LSTM", "class")

#' @rdname AWD_LSTM
#' @export
awd_lstm_config <- function(task = c("lm", "classifier"), ...) {
  task <- check_choice(task, c("lm", "classifier"), "task")
  py_call(py_fastai()$awd_lstm_config, task, ..., .call = sys.call())
}

# A config (named list) as Python wants it; sizes must be whole numbers.
check_config <- function(config, call = sys.call(sys.parent())) {
  if (is.null(config) || inherits(config, "python.builtin.object")) return(config)
  if (!is.list(config) || is.null(names(config)) || any(!nzchar(names(config)))) {
    abort_input(sprintf("config must be a named list such as awd_lstm_config(), not %s", describe(config)), call)
  }
  config
}

check_fnames <- function(fnames, call = sys.call(sys.parent())) {
  if (is.null(fnames)) return(NULL)
  if (!(is.character(fnames) && length(fnames) == 2L && !anyNA(fnames))) {
    abort_input(sprintf(paste0("pretrained_fnames must be two files, the weights (.pth) and the vocab (.pkl), ",
                               "not %s"), describe(fnames)), call)
  }
  as.list(path.expand(fnames))
}

#' ULMFiT learners: an AWD-LSTM language model and classifier
#'
#' fastai's `language_model_learner()` and `text_classifier_learner()`. ULMFiT fine-tunes a
#' language model pretrained on WikiText-103 on your texts, saves its encoder with
#' [save_encoder()], and trains a classifier on that encoder ([load_encoder()]) with gradual
#' unfreezing ([freeze_to()]) and discriminative learning rates ([slice()]).
#'
#' `pretrained = TRUE` (the default) downloads fastai's WikiText-103 weights (for the default
#' [AWD_LSTM()] size) to `~/.fastai`. Without network that fails with an error that says what to
#' do: `pretrained = FALSE` trains from scratch (fine for the classifier, which then loads your
#' language model's encoder), or `pretrained_fnames` gives local copies of the weights and vocab
#' files (e.g. the `.pth` and `.pkl` files in `~/.fastai/models/wt103-fwd` of a machine that
#' downloaded them).
#'
#' @param dls DataLoaders of texts: for a language model with `is_lm = TRUE`; for a classifier
#'   with the language model's vocab (see [TextBlock_from_df()]).
#' @param arch The architecture, [AWD_LSTM()].
#' @param config A configuration from [awd_lstm_config()] (default: fastai's).
#' @param drop_mult Multiplier of all dropout probabilities.
#' @param backwards A backwards model (with backwards data).
#' @param pretrained Load fastai's pretrained WikiText-103 weights (needs network once).
#' @param pretrained_fnames Two local files, the weights (`.pth`) and their vocab (`.pkl`); full
#'   paths, or names without extension in `<path>/models`.
#' @param metrics Metrics, e.g. `list(accuracy(), Perplexity())` for a language model.
#' @param path Where models are saved (`<path>/models`; default: the data's path).
#' @param seq_len,max_len The classifier reads texts in chunks of `seq_len` tokens, at most `max_len`.
#' @param n_out Number of outputs (default: the number of labels).
#' @param lin_ftrs,ps Sizes and dropout of the classifier head's hidden layers.
#' @param y_range A range for regression outputs.
#' @param ... Further arguments of `Learner` (`loss_func`, `opt_func`, `cbs`, `wd`, `moms`, ...).
#' @return A fastai `LMLearner` or `TextLearner` (Python object). Train it with the training verbs
#'   ([fit_one_cycle()], ...), predict with [predict()][predict.fastai.text.learner.LMLearner].
#' @export
#' @examplesIf fastai_available()
#' df <- load_goemotions("ekman", n_rows = 300, single_label = TRUE)
#' dls_lm <- TextDataLoaders_from_df(df, is_lm = TRUE, path = tempdir(), bs = 16, seq_len = 24)
#' lm <- language_model_learner(dls_lm, AWD_LSTM, pretrained = FALSE,
#'                              config = awd_lstm_config("lm", emb_sz = 32, n_hid = 64, n_layers = 2),
#'                              metrics = list(accuracy(), Perplexity()))
language_model_learner <- function(dls, arch = AWD_LSTM, config = NULL, drop_mult = 1, backwards = FALSE,
                                   pretrained = TRUE, pretrained_fnames = NULL, metrics = NULL, path = NULL, ...) {
  check_dls(dls)
  if (!is.null(path)) path <- check_path(path, "path")
  py_call(py_r_text()$learner, "lm", dls, arch, write = r_writer, mode = progress_mode(),
          config = check_config(config), drop_mult = check_number(drop_mult, "drop_mult", min = 0),
          backwards = check_flag(backwards, "backwards"), pretrained = check_flag(pretrained, "pretrained"),
          pretrained_fnames = check_fnames(pretrained_fnames), metrics = metrics, path = path, ...,
          .call = sys.call())
}

#' @rdname language_model_learner
#' @export
text_classifier_learner <- function(dls, arch = AWD_LSTM, seq_len = 72L, config = NULL, backwards = FALSE,
                                    pretrained = TRUE, drop_mult = 0.5, n_out = NULL, lin_ftrs = NULL, ps = NULL,
                                    max_len = 72L * 20L, y_range = NULL, pretrained_fnames = NULL, metrics = NULL,
                                    path = NULL, ...) {
  check_dls(dls)
  if (!is.null(n_out)) n_out <- check_count(n_out, "n_out")
  if (!is.null(lin_ftrs)) lin_ftrs <- as.list(vapply(lin_ftrs, check_count, integer(1), name = "lin_ftrs"))
  if (!is.null(ps)) ps <- as.list(check_number(ps, "ps", min = 0, max = 1, len = NA))
  if (!is.null(y_range)) y_range <- as.list(check_number(y_range, "y_range", len = 2L))
  if (!is.null(path)) path <- check_path(path, "path")
  py_call(py_r_text()$learner, "classifier", dls, arch, write = r_writer, mode = progress_mode(),
          seq_len = check_count(seq_len, "seq_len"), config = check_config(config),
          backwards = check_flag(backwards, "backwards"), pretrained = check_flag(pretrained, "pretrained"),
          drop_mult = check_number(drop_mult, "drop_mult", min = 0), n_out = n_out, lin_ftrs = lin_ftrs, ps = ps,
          max_len = check_count(max_len, "max_len"), y_range = y_range,
          pretrained_fnames = check_fnames(pretrained_fnames), metrics = metrics, path = path, ...,
          .call = sys.call())
}

#' Save and load a text learner's encoder
#'
#' `save_encoder()` writes the AWD-LSTM encoder of a language model (all but its decoder) to
#' `<learn$path>/<learn$model_dir>/<file>.pth`; `load_encoder()` loads it into a classifier built on
#' the same vocab and config: the ULMFiT hand-over from language model to classifier.
#'
#' @param learn A learner from [language_model_learner()] (save) or [text_classifier_learner()] (load).
#' @param file A name (without `.pth`) in the learner's model folder.
#' @param device Where to load the weights (default: the learner's device).
#' @return The learner, invisibly.
#' @export
save_encoder <- function(learn, file) {
  check_text_learner(learn)
  py_call(learn$save_encoder, check_string(file, "file"), .call = sys.call())
  invisible(learn)
}

#' @rdname save_encoder
#' @export
load_encoder <- function(learn, file, device = NULL) {
  check_text_learner(learn)
  py_call(learn$load_encoder, check_string(file, "file"), device = device, .call = sys.call())
  invisible(learn)
}

#' Save and load a learner's weights
#'
#' fastai's `learn$save()` and `learn$load()` (named `save_model()` and `load_model()` here so as not
#' to mask R's `save()` and `load()`): the model's weights, and the optimizer state with
#' `with_opt = TRUE`, in `<learn$path>/<learn$model_dir>/<file>.pth`. Use them to keep a training
#' stage and go back to it; to reuse a learner elsewhere, [export()] it.
#'
#' @param learn A [Learner()].
#' @param file A name (without `.pth`) in the learner's model folder.
#' @param with_opt Also save / load the optimizer state.
#' @param device Where to load the weights.
#' @param strict Require the saved weights to match the model exactly.
#' @return The learner, invisibly.
#' @export
save_model <- function(learn, file, with_opt = TRUE) {
  check_learner(learn)
  py_call(learn$save, check_string(file, "file"), with_opt = check_flag(with_opt, "with_opt"), .call = sys.call())
  invisible(learn)
}

#' @rdname save_model
#' @export
load_model <- function(learn, file, device = NULL, with_opt = TRUE, strict = TRUE) {
  check_learner(learn)
  py_call(learn$load, check_string(file, "file"), device = device, with_opt = check_flag(with_opt, "with_opt"),
          strict = check_flag(strict, "strict"), .call = sys.call())
  invisible(learn)
}

# --------------------------------------------------------------------------------- predict ----

#' Predict with ULMFiT learners
#'
#' A language model continues a text: `predict(lm, "I feel", n_words = 20)` returns the prompt as
#' given followed by `n_words` sampled words, as one string (`n` strings with `n > 1`).
#' `temperature` below 1 samples more conservatively, above 1 more freely.
#'
#' A classifier from [text_classifier_learner()] predicts as an HF learner does (see
#' [predict()][predict.fastai.learner.Learner]): one text gives `list(label, probabilities)` (a
#' one-row data frame with a column per label); several texts (a character vector, or a data frame
#' with the column the texts came from) give a data frame with one probability column per label
#' and `predicted`, one row per text in the order given.
#'
#' @param object A learner from [language_model_learner()] or [text_classifier_learner()].
#' @param newdata The prompt (one string); for a classifier, texts.
#' @param n_words Words to generate.
#' @param temperature Sampling temperature, above 0.
#' @param n Number of continuations.
#' @param no_unk Never generate `xxunk`.
#' @param min_p Sample only among tokens of at least this probability.
#' @param seed Seed the sampling, for a reproducible text.
#' @param thresh Multi-label classifiers: threshold(s) (default the loss function's).
#' @param bs Batch size for many texts.
#' @param ... Unused.
#' @return A string (or `n` strings); for a classifier, as described above.
#' @method predict fastai.text.learner.LMLearner
#' @export
#' @examplesIf fastai_available()
#' df <- load_goemotions("ekman", n_rows = 300, single_label = TRUE)
#' dls_lm <- TextDataLoaders_from_df(df, is_lm = TRUE, path = tempdir(), bs = 16, seq_len = 24)
#' lm <- language_model_learner(dls_lm, pretrained = FALSE,
#'                              config = awd_lstm_config("lm", emb_sz = 32, n_hid = 64, n_layers = 2))
#' predict(lm, "I feel", n_words = 5)
predict.fastai.text.learner.LMLearner <- function(object, newdata, n_words = 20L, temperature = 0.75, n = 1L,
                                                  no_unk = TRUE, min_p = NULL, seed = NULL, ...) {
  text <- check_string(newdata, "newdata (the prompt)")
  if (!is.null(seed)) seed <- check_int(seed, "seed")
  res <- py_call(py_fastai()$lm_predict, object, text, n_words = check_count(n_words, "n_words", 0L),
                 temperature = check_number(temperature, "temperature", min = .Machine$double.eps),
                 n = check_count(n, "n"), no_unk = check_flag(no_unk, "no_unk"),
                 min_p = check_number(min_p, "min_p", null_ok = TRUE, min = 0, max = 1), seed = seed,
                 .call = sys.call())
  as.character(unlist(res))
}

#' @rdname predict.fastai.text.learner.LMLearner
#' @method predict fastai.text.learner.TextLearner
#' @export
predict.fastai.text.learner.TextLearner <- function(object, newdata, thresh = NULL, bs = NULL, ...) {
  one <- is.character(newdata) && length(newdata) == 1L
  texts <- if (is.data.frame(newdata)) {
    if (!nrow(newdata)) abort_input("newdata has zero rows")
    newdata
  } else {
    as.list(check_text_vector(newdata, "newdata"))
  }
  thresh <- check_number(thresh, "thresh", null_ok = TRUE, min = 0, max = 1, len = NA)
  if (length(thresh) > 1L) thresh <- as.list(thresh)
  if (!is.null(bs)) bs <- check_count(bs, "bs")
  res <- r_text_call("predict", object, texts, thresh = thresh, bs = bs, .call = sys.call())
  labels <- as.character(unlist(res$labels))
  frame <- res$frame
  if (res$multilabel) frame$predicted <- lapply(frame$predicted, function(p) as.character(unlist(p)))
  if (!one) return(frame)
  probs <- frame[, labels, drop = FALSE]
  if (res$multilabel) list(probabilities = probs, labels = frame$predicted[[1L]])
  else list(label = frame$predicted[[1L]], probabilities = probs)
}

# ------------------------------------------------------------------------ feature extraction ----

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
hf_hidden_states <- function(texts, hf_model, hf_tokenizer = NULL, pooling = c("cls", "mean"), bs = 64L,
                             max_length = NULL, layer = -1L) {
  nms <- names(texts)
  texts <- check_text_vector(texts)
  pooling <- check_choice(pooling, c("cls", "mean"), "pooling")
  if (!inherits(hf_model, "python.builtin.object")) {
    abort_input(sprintf("hf_model must be a transformers model from get_hf_objects() or a Learner, not %s",
                        describe(hf_model)))
  }
  if (!is.null(max_length)) max_length <- check_count(max_length, "max_length")
  x <- bridge_call("call", py_fastai()$hf_hidden_states, as.list(texts), hf_model, hf_tokenizer = hf_tokenizer,
                   pooling = pooling, bs = check_count(bs, "bs"), max_length = max_length,
                   layer = check_int(layer, "layer"), .call = sys.call())
  rownames(x) <- nms
  x
}
