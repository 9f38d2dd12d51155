# R/tokenize.R: fastai's tokenization from R (fastbook ch. 10): special tokens and rules, word and
# subword tokenizers (called as functions, R values back), tokenize_df, vocabularies and token ids.

test_that("special tokens and rules are character vectors", {
  skip_if_no_fastai()
  toks <- spec_tokens()
  expect_type(toks, "character")
  expect_identical(toks[1:3], c("xxunk", "xxpad", "xxbos"))
  expect_true(all(c("xxmaj", "xxup", "xxrep", "xxwrep", "xxfld", "xxeos") %in% toks))
  rules <- proc_rules()
  expect_identical(rules[1], "fix_html")
  expect_true(all(c("replace_rep", "replace_all_caps", "replace_maj", "lowercase") %in% rules))
})

test_that("word tokenization adds the special tokens", {
  skip_if_no_fastai()
  toks <- text_tokens(c("Hello WORLD it's a test!!!!", "ok"))
  expect_identical(toks, list(c("xxbos", "xxmaj", "hello", "xxup", "world", "it", "'s", "a", "test", "xxrep", "4", "!"),
                              c("xxbos", "ok")))
  expect_identical(text_tokens(c(a = "fine")), list(c("xxbos", "fine")))  # names dropped
})

test_that("text_tokens applies the rules chosen, or a Tokenizer's own", {
  skip_if_no_fastai()
  expect_identical(text_tokens("Hello WORLD", rules = character(0)), list(c("Hello", "WORLD")))
  expect_identical(text_tokens("Hello WORLD", tok = WordTokenizer(), rules = "lowercase"),
                   list(c("xxbos", "hello", "world")))
  expect_identical(text_tokens("Hello WORLD", tok = Tokenizer(WordTokenizer(), rules = "lowercase")),
                   list(c("xxbos", "hello", "world")))
})

test_that("text_tokens checks the tokenizer, the texts and the rules", {
  skip_if_no_fastai()
  expect_error(text_tokens("hi", tok = "chars"), "tok must be", class = "fastai_input_error")
  expect_error(text_tokens(c("hi", NA)), "positions 2", class = "fastai_input_error")
  expect_error(text_tokens("hi", rules = "shout"), "unknown text rule", class = "fastai_ValueError")
})

test_that("a tokenizer called on a text gives a character vector of tokens", {
  skip_if_no_fastai()
  txt <- "Hello WORLD it's a test"
  tkn <- Tokenizer(WordTokenizer())
  toks <- tkn(txt)
  expect_type(toks, "character")
  expect_identical(toks, text_tokens(txt)[[1]])
  expect_identical(toks[1:5], c("xxbos", "xxmaj", "hello", "xxup", "world"))
  expect_identical(unlist(toks), toks)
  # decoding gives the text back as a string (fastai's TitledStr)
  expect_identical(tkn$decode(toks), paste(toks, collapse = " "))
})

test_that("a subword tokenizer learns its pieces from the texts", {
  skip_if_no_fastai()
  texts <- ulmfit_df()$text
  sp <- SubwordTokenizer(vocab_sz = 200, texts = texts)
  expect_s3_class(sp, "fastai.text.core.SentencePieceTokenizer")  # SubwordTokenizer's class
  toks <- text_tokens(texts[1:20], tok = sp)
  expect_length(toks, 20L)
  expect_true(all(vapply(toks, function(t) t[1] == "\u2581xxbos", logical(1))))
  pieces <- unique(unlist(text_tokens(texts, tok = sp)))
  expect_lte(length(pieces), 200L)
  # the pieces put back together give the (lowercased) text
  expect_match(gsub("\u2581", " ", paste(toks[[1]], collapse = "")), "my favourite food is anything", fixed = TRUE)
  expect_true(all(vapply(text_tokens(texts[1:3], tok = "subword", vocab_sz = 150), length, 1L) > 3L))
})

test_that("tokenize_df replaces the text column by token vectors and counts tokens", {
  skip_if_no_fastai()
  df <- ulmfit_df()[1:30, c("text", "label")]
  res <- tokenize_df(df, "text")
  expect_named(res, c("df", "counts"))
  expect_identical(names(res$df), c("label", "text", "text_length"))
  expect_identical(res$df$label, df$label)
  expect_type(res$df$text, "list")
  expect_identical(res$df$text[[1]], text_tokens(df$text[1])[[1]])
  expect_identical(lengths(res$df$text), res$df$text_length)
  expect_identical(sum(res$counts$n), sum(res$df$text_length))
  expect_false(is.unsorted(rev(res$counts$n)))
  expect_identical(res$counts$n[res$counts$token == "xxbos"], 30L)
  expect_error(tokenize_df(df, "body"), "not in df", class = "fastai_input_error")
})

test_that("text_vocab keeps the special tokens, then tokens seen min_freq times, padded to a multiple of 8", {
  skip_if_no_fastai()
  toks <- text_tokens(ulmfit_df()$text)
  vocab <- text_vocab(toks, min_freq = 2)
  expect_type(vocab, "character")
  expect_identical(vocab[1:9], spec_tokens())
  expect_identical(length(vocab) %% 8L, 0L)
  counts <- table(unlist(toks))
  expect_true(all(counts[setdiff(vocab, c(spec_tokens(), "xxfake"))] >= 2))
  expect_error(text_vocab(list(1:3)), "list of character vectors", class = "fastai_input_error")
})

test_that("numericalize_tokens gives integer ids from 0, unknown tokens 0 (xxunk)", {
  skip_if_no_fastai()
  toks <- text_tokens(ulmfit_df()$text)
  vocab <- text_vocab(toks, min_freq = 2)
  ids <- numericalize_tokens(toks[1:5], vocab)
  expect_type(ids[[1]], "integer")
  for (i in 1:5) {
    back <- vocab[ids[[i]] + 1L]
    known <- toks[[i]] %in% vocab
    expect_identical(back[known], toks[[i]][known])
    expect_true(all(back[!known] == "xxunk"))
  }
  expect_identical(numericalize_tokens(list("hello"), c("xxunk", "hello")), list(1L))
})

test_that("Numericalize() set up on tokens has the same vocab, and called on tokens gives integer ids", {
  skip_if_no_fastai()
  toks <- text_tokens(ulmfit_df()$text)
  vocab <- text_vocab(toks, min_freq = 2)
  num <- Numericalize(min_freq = 2, tokens = toks)
  expect_identical(num$vocab, vocab)
  ids <- num(toks[[1]])
  expect_type(ids, "integer")
  expect_identical(ids, numericalize_tokens(toks[1], vocab)[[1]])
  expect_identical(numericalize_tokens(toks[1:5], num), numericalize_tokens(toks[1:5], vocab))
})
