# fastai's tokenization from R (fastbook ch. 10): special tokens and rules, word and subword
# tokenizers, tokenizing texts and data frames, vocabularies and token ids. The Python side is
# fastai's text API plus python/fastai_hf/ulmfit.py (plain values back).

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
  as.character(fastai_call("spec_tokens"))
}

#' @rdname spec_tokens
#' @export
proc_rules <- function() {
  as.character(fastai_call("proc_rules"))
}

# Rule names from R: a character vector crosses as a list (one name stays a list); NULL keeps
# fastai's defaults. For fastai's Tokenizer the names become the rule functions in Python.
rules_arg <- function(as_functions = FALSE) {
  function(x, name, call) {
    if (is.null(x)) return(NULL)
    if (!is.character(x) || anyNA(x)) {
      abort_input(sprintf("rules must be names from proc_rules(), not %s", describe(x)), call)
    }
    if (as_functions) fastai_call(fastai_call_attr("ulmfit", "text_rules"), list(as.list(x)), call = call)
    else as.list(x)
  }
}

# A function of a submodule of fastai_hf (e.g. ulmfit.text_rules), for fastai_call().
fastai_call_attr <- function(module, name) {
  ensure_python()
  reticulate::py_get_attr(reticulate::import(paste0("fastai_hf.", module)), name)
}

#' Tokenizers
#'
#' `WordTokenizer()` splits words with spaCy's rule-based English tokenizer (no model download).
#' `SubwordTokenizer()` learns a SentencePiece vocabulary of `vocab_sz` pieces: from `texts` right
#' away if given, else from the first texts it tokenizes. `Tokenizer()` wraps one of them with the
#' pre-tokenization rules ([proc_rules()]), as fastai's `TextBlock` does; `Tokenizer_from_df()`
#' builds one that tokenizes data frame columns. Apply any of them with [text_tokens()], or call
#' it: `tkn <- Tokenizer(WordTokenizer()); tkn("Some text")` gives a character vector of tokens.
#'
#' @param lang Language of the tokenizer (fastai's default `"en"`).
#' @param special_toks Special tokens to keep whole (default: [spec_tokens()]).
#' @param vocab_sz Number of subword pieces (default: fastai's guess from the texts).
#' @param texts Texts to train the SentencePiece model on.
#' @param max_vocab_sz Upper limit of fastai's guess.
#' @param model_type SentencePiece model: `"unigram"` (fastai's default) or `"bpe"`.
#' @param cache_dir Where SentencePiece writes its model (default: a new temporary folder).
#' @param rules Pre-tokenization rules: names from [proc_rules()] (default: all of them).
#' @param tok A base tokenizer such as `WordTokenizer()` (the default of `Tokenizer()`).
#' @param sep Separator used when decoding tokens back to text.
#' @param ... Further arguments of the Python class or method.
#' @return A tokenizer (Python object).
#' @export
#' @examplesIf fastai_available()
#' tkn <- Tokenizer(WordTokenizer())
#' tkn("I LOVE it!!!")
WordTokenizer <- function(lang, special_toks, ...) {
  fastai_call("WordTokenizer", capture_args(list(lang = string_arg(), special_toks = strings_arg())))
}

#' @rdname WordTokenizer
#' @export
SubwordTokenizer <- function(vocab_sz, texts = NULL, lang, max_vocab_sz, model_type,
                             cache_dir = tempfile("fastai-spm-"), rules = NULL, ...) {
  args <- capture_args(list(vocab_sz = count_arg(), texts = texts_arg(), lang = string_arg(),
                            max_vocab_sz = count_arg(), model_type = string_arg(), cache_dir = path_arg(),
                            rules = rules_arg()), ignore = c("texts", "rules"))
  dir.create(cache_dir, showWarnings = FALSE, recursive = TRUE)
  args$cache_dir <- path.expand(cache_dir)  # a fresh folder per tokenizer unless given
  tok <- fastai_call("SubwordTokenizer", args)
  if (is.null(texts)) return(tok)
  fastai_call(fastai_call_attr("ulmfit", "setup_subword"), list(tok, texts, rules = rules))
}

#' @rdname WordTokenizer
#' @export
Tokenizer <- function(tok, rules, sep, ...) {
  args <- capture_args(list(rules = rules_arg(as_functions = TRUE), sep = string_arg()))
  if (is.null(args$tok)) args <- c(list(tok = WordTokenizer()), args)
  fastai_call("Tokenizer", args)
}

#' @rdname WordTokenizer
#' @param text_cols Column names of the texts.
#' @export
Tokenizer_from_df <- function(text_cols, tok, rules, ...) {
  args <- capture_args(list(text_cols = strings_arg(), rules = rules_arg(as_functions = TRUE)))
  fastai_call(reticulate::py_get_attr(py_fastai()$Tokenizer, "from_df"), args)
}

#' Tokenize texts
#'
#' Splits texts into tokens as fastai's `TextBlock` does: the rules first (adding `xxbos`,
#' `xxmaj`, `xxup`, `xxrep`, ...; see [spec_tokens()]), then the tokenizer.
#'
#' @param texts A character vector.
#' @param tok `"word"` ([WordTokenizer()], the default), `"subword"` (a [SubwordTokenizer()] trained
#'   on `texts` with `vocab_sz` pieces), or a tokenizer object: a [Tokenizer()] (which brings its own
#'   rules), a `WordTokenizer()` or a set-up `SubwordTokenizer()`.
#' @param rules Rule names from [proc_rules()] (default: all; `character(0)` for none).
#' @param vocab_sz Subword vocabulary size for `tok = "subword"`.
#' @param lang Language for `tok = "word"` / `"subword"`.
#' @return A list with one character vector of tokens per text.
#' @export
#' @examplesIf fastai_available()
#' text_tokens(c("Hello WORLD!!!", "It's fine."))
text_tokens <- function(texts, tok, rules, vocab_sz, lang) {
  tok_arg <- function(x, name, call) {
    if (inherits(x, "python.builtin.object") || (is.character(x) && length(x) == 1L && x %in% c("word", "subword"))) {
      return(x)
    }
    abort_input(sprintf("tok must be \"word\", \"subword\" or a tokenizer such as WordTokenizer(), not %s",
                        describe(x)), call)
  }
  args <- capture_args(list(texts = texts_arg(), tok = tok_arg, rules = rules_arg(), vocab_sz = count_arg(),
                            lang = string_arg()))
  lapply(fastai_call("text_tokens", args), as.character)
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
#' @param tok_text_col Name of the token column (default `"text"`).
#' @param n_workers Worker processes (default 0: tokenize in this R session's Python; a process
#'   pool pays off only for large corpora).
#' @return A list: `df`, the data frame with the token column (a list of character vectors) and
#'   `<tok_text_col>_length`; `counts`, a data frame of `token` and `n` by decreasing count.
#' @export
#' @examplesIf fastai_available()
#' res <- tokenize_df(data.frame(text = c("Hello there", "Hello again"), y = 1:2), "text")
#' res$df$text
#' head(res$counts)
tokenize_df <- function(df, text_cols = "text", tok, rules, mark_fields, tok_text_col, n_workers = 0L) {
  args <- capture_args(list(df = function(x, name, call) check_data_frame(x, name, call),
                            rules = rules_arg(), mark_fields = flag_arg(), tok_text_col = string_arg(),
                            n_workers = count_arg(min = 0L)), ignore = "text_cols")
  text_cols <- check_columns(df, text_cols, "text_cols")
  for (col in text_cols) check_texts(df[[col]], sprintf("column '%s': texts", col))
  args$n_workers <- n_workers
  res <- fastai_call(fastai_call_attr("ulmfit", "tokenize_df_counts"), c(list(df, as.list(text_cols)), args[-1L]))
  stats::setNames(res, c("df", "counts"))
}

#' Vocabularies and token ids
#'
#' `text_vocab()` builds the vocabulary fastai's `Numericalize` builds: the special tokens, then
#' tokens seen at least `min_freq` times (fastai's default 3) by decreasing frequency (at most
#' `max_vocab`, default 60,000), padded with `xxfake` to a multiple of 8. `numericalize_tokens()`
#' turns tokens into ids (tokens outside the vocab become 0, `xxunk`). `Numericalize()` is fastai's
#' transform, set up on `tokens` if given; calling it on tokens gives their ids.
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
text_vocab <- function(tokens, min_freq, max_vocab) {
  args <- capture_args(list(tokens = tokens_arg(), min_freq = count_arg(min = 0L), max_vocab = count_arg()))
  as.character(fastai_call("text_vocab", args))
}

#' @rdname text_vocab
#' @export
numericalize_tokens <- function(tokens, vocab) {
  vocab_arg <- function(x, name, call) {
    if (inherits(x, "python.builtin.object")) x <- x$vocab  # a Numericalize: its vocab, an R vector
    if (!is.character(x) || !length(x) || anyNA(x)) {
      abort_input(sprintf("vocab must be a character vector of tokens (text_vocab() output), not %s", describe(x)), call)
    }
    as.list(x)
  }
  args <- capture_args(list(tokens = tokens_arg(), vocab = vocab_arg))
  lapply(fastai_call("numericalize_tokens", args), as.integer)
}

#' @rdname text_vocab
#' @export
Numericalize <- function(vocab, min_freq, max_vocab, special_toks, tokens = NULL) {
  args <- capture_args(list(vocab = strings_arg(), min_freq = count_arg(min = 0L), max_vocab = count_arg(),
                            special_toks = strings_arg(), tokens = tokens_arg()), ignore = "tokens")
  num <- fastai_call("Numericalize", args)
  if (!is.null(tokens)) fastai_call(reticulate::py_get_attr(num, "setup"), list(tokens))
  num
}
