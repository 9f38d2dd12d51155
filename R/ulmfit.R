# ULMFiT from R (fastbook ch. 10): fastai's text blocks and data loaders, AWD-LSTM language models
# and classifiers, encoder hand-over and text generation. The Python side is fastai's text API plus
# python/fastai_hf/ulmfit.py (offline pretrained weights, LM generation, plain values back).


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
TextBlock_from_df <- function(text_cols = "text", vocab, is_lm, seq_len, backwards, min_freq, max_vocab, tok, rules,
                              n_workers = 0L, ...) {
  text_block("from_df", capture_args(text_block_args, ignore = "text_cols"), as.list(as.character(text_cols)))
}

#' @rdname TextBlock_from_df
#' @export
TextBlock_from_folder <- function(path, vocab, is_lm, seq_len, backwards, min_freq, max_vocab, tok, rules,
                                  n_workers = 0L, ...) {
  args <- capture_args(text_block_args, ignore = "path")
  path <- check_path(path, "path")
  if (!dir.exists(path)) abort_input(sprintf("folder '%s' does not exist", path))
  text_block("from_folder", args, path)
}

text_block_args <- list(
  vocab = strings_arg(), is_lm = flag_arg(), seq_len = count_arg(), backwards = flag_arg(),
  min_freq = count_arg(min = 0L), max_vocab = count_arg(), rules = rules_arg(as_functions = TRUE),
  n_workers = count_arg(min = 0L)
)

# fastai's TextBlock.<method>(what, ...). Tokenizing runs in this session (n_workers = 0, the R
# default) and batches are drawn in it unless dataloaders(num_workers =) says otherwise: the items are
# token ids already, and worker processes forked from R cost more than they save.
text_block <- function(method, args, what, call = sys.call(sys.parent())) {
  if (is.null(args$n_workers)) args$n_workers <- 0L
  block <- fastai_call(reticulate::py_get_attr(py_fastai()$TextBlock, method), c(list(what), args), call = call)
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
TextDataLoaders_from_df <- function(df, text_col = "text", label_col = "label", path, valid_pct, seed, valid_col,
                                    is_lm = FALSE, text_vocab, bs, seq_len, num_workers = 0L, ...) {
  args <- capture_args(list(df = function(x, name, call) check_data_frame(x, name, call),
                            path = path_arg(), valid_pct = number_arg(min = 0, max = 1), seed = int_arg(),
                            is_lm = flag_arg(), text_vocab = strings_arg(), bs = count_arg(), seq_len = count_arg(),
                            num_workers = count_arg(min = 0L)),
                       ignore = c("text_col", "label_col", "valid_col", "is_lm", "num_workers"))
  text_col <- check_columns(df, text_col, "text_col")
  check_texts(df[[text_col]], sprintf("column '%s': texts", text_col))
  label_col <- if (is_lm) NULL else check_columns(df, label_col, "label_col")
  if (!missing(valid_col) && !is.null(valid_col)) args$valid_col <- check_columns(df, valid_col, "valid_col")
  args <- c(args, list(text_col = text_col, label_col = if (length(label_col) > 1L) as.list(label_col) else label_col,
                       is_lm = is_lm, num_workers = num_workers))
  fastai_call(reticulate::py_get_attr(py_fastai()$TextDataLoaders, "from_df"), args)
}

#' @rdname TextDataLoaders_from_df
#' @export
TextDataLoaders_from_folder <- function(path, train, valid, valid_pct, seed, vocab, text_vocab, is_lm, bs, seq_len,
                                        num_workers = 0L, ...) {
  args <- capture_args(list(path = path_arg(), train = string_arg(), valid = string_arg(),
                            valid_pct = number_arg(min = 0, max = 1), seed = int_arg(), vocab = strings_arg(),
                            text_vocab = strings_arg(), is_lm = flag_arg(), bs = count_arg(), seq_len = count_arg(),
                            num_workers = count_arg(min = 0L)))
  if (!dir.exists(path)) abort_input(sprintf("folder '%s' does not exist", path))
  args$num_workers <- num_workers
  fastai_call(reticulate::py_get_attr(py_fastai()$TextDataLoaders, "from_folder"), args)
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
LMDataLoader <- function(dataset, bs, seq_len, shuffle, ...) {
  ids_arg <- function(x, name, call) {
    if (inherits(x, "python.builtin.object")) return(x)
    ok <- is.list(x) && length(x) && all(vapply(x, function(s) is.numeric(s) && length(s) && !anyNA(s) &&
                                                   all(s >= 0 & s == round(s)), logical(1)))
    if (!ok) abort_input("dataset must be a list of non-empty vectors of token ids (whole numbers from 0)", call)
    lapply(x, function(s) as.list(as.integer(s)))
  }
  args <- capture_args(list(dataset = ids_arg, bs = count_arg(), seq_len = count_arg(), shuffle = flag_arg()))
  fastai_call(fastai_call_attr("ulmfit", "lm_dataloader"), args)
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
  args <- capture_args(list(task = choice_arg(c("lm", "classifier"))))
  if (is.null(args$task)) args <- c(list(task = "lm"), args)
  fastai_call("awd_lstm_config", args)
}

# A config (named list) as Python wants it.
config_arg <- function() {
  function(x, name, call) {
    if (is.null(x) || inherits(x, "python.builtin.object")) return(x)
    if (!is.list(x) || is.null(names(x)) || any(!nzchar(names(x)))) {
      abort_input(sprintf("config must be a named list such as awd_lstm_config(), not %s", describe(x)), call)
    }
    x
  }
}

# Two local files: the weights (.pth) and the vocab (.pkl).
fnames_arg <- function() {
  function(x, name, call) {
    if (is.null(x)) return(NULL)
    if (!(is.character(x) && length(x) == 2L && !anyNA(x))) {
      abort_input(sprintf(paste0("pretrained_fnames must be two files, the weights (.pth) and the vocab (.pkl), ",
                                 "not %s"), describe(x)), call)
    }
    as.list(path.expand(x))
  }
}

#' ULMFiT learners: an AWD-LSTM language model and classifier
#'
#' fastai's `language_model_learner()` and `text_classifier_learner()`. ULMFiT fine-tunes a
#' language model pretrained on WikiText-103 on your texts, saves its encoder with
#' [save_encoder()], and trains a classifier on that encoder ([load_encoder()]) with gradual
#' unfreezing ([freeze_to()]) and discriminative learning rates ([lr_slice()]).
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
language_model_learner <- function(dls, arch, config, drop_mult, backwards, pretrained, pretrained_fnames, metrics,
                                   path, ...) {
  args <- capture_args(ulmfit_learner_args)
  if (is.null(args$arch)) args <- c(args[1L], list(arch = AWD_LSTM()), args[-1L])
  fastai_call("language_model_learner", args)
}

# The arguments of the ULMFiT learners, checked before anything runs.
ulmfit_learner_args <- list(
  dls = dls_arg(), config = config_arg(), drop_mult = number_arg(min = 0), backwards = flag_arg(),
  pretrained = flag_arg(), pretrained_fnames = fnames_arg(), path = path_arg(), seq_len = count_arg(),
  n_out = count_arg(), max_len = count_arg(),
  lin_ftrs = function(x, name, call) if (is.null(x)) x else as.list(vapply(x, check_count, integer(1), name = name)),
  ps = function(x, name, call) if (is.null(x)) x else as.list(check_number(x, name, min = 0, max = 1, len = NA, call = call)),
  y_range = function(x, name, call) if (is.null(x)) x else as.list(check_number(x, name, len = 2L, call = call))
)

#' @rdname language_model_learner
#' @export
text_classifier_learner <- function(dls, arch, seq_len, config, backwards, pretrained, drop_mult, n_out, lin_ftrs, ps,
                                    max_len, y_range, pretrained_fnames, metrics, path, ...) {
  args <- capture_args(ulmfit_learner_args)
  if (is.null(args$arch)) args <- c(args[1L], list(arch = AWD_LSTM()), args[-1L])
  fastai_call("text_classifier_learner", args)
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
  capture_args(list(learn = function(x, name, call) check_text_learner(x, name, call), file = string_arg()))
  fastai_call(reticulate::py_get_attr(learn, "save_encoder"), list(file))
  invisible(learn)
}

#' @rdname save_encoder
#' @export
load_encoder <- function(learn, file, device) {
  args <- capture_args(list(learn = function(x, name, call) check_text_learner(x, name, call), file = string_arg()))
  fastai_call(reticulate::py_get_attr(learn, "load_encoder"), args[-1L])
  invisible(learn)
}


#' Predict with ULMFiT learners
#'
#' A language model continues a text: `predict(lm, "I feel", n_words = 20)` returns the prompt as
#' given followed by `n_words` sampled words, as one string (`n` strings with `n > 1`).
#' `temperature` below 1 samples more conservatively, above 1 more freely.
#'
#' A classifier from [text_classifier_learner()] predicts as an HF learner does, with the same
#' method: see [predict()][predict.fastai.learner.Learner].
#'
#' @param object A learner from [language_model_learner()].
#' @param newdata The prompt (one string).
#' @param n_words Words to generate.
#' @param temperature Sampling temperature, above 0.
#' @param n Number of continuations.
#' @param no_unk Never generate `xxunk`.
#' @param min_p Sample only among tokens of at least this probability.
#' @param seed Seed the sampling, for a reproducible text.
#' @param ... Unused.
#' @return A string (or `n` strings).
#' @method predict fastai.text.learner.LMLearner
#' @export
#' @examplesIf fastai_available()
#' df <- load_goemotions("ekman", n_rows = 300, single_label = TRUE)
#' dls_lm <- TextDataLoaders_from_df(df, is_lm = TRUE, path = tempdir(), bs = 16, seq_len = 24)
#' lm <- language_model_learner(dls_lm, pretrained = FALSE,
#'                              config = awd_lstm_config("lm", emb_sz = 32, n_hid = 64, n_layers = 2))
#' predict(lm, "I feel", n_words = 5)
predict.fastai.text.learner.LMLearner <- function(object, newdata, n_words, temperature, n, no_unk, min_p, seed,
                                                  ...) {
  args <- capture_args(list(newdata = function(x, name, call) check_string(x, "newdata (the prompt)", call = call),
                            n_words = count_arg(min = 0L), temperature = number_arg(min = .Machine$double.eps),
                            n = count_arg(), no_unk = flag_arg(), min_p = number_arg(min = 0, max = 1),
                            seed = int_arg()))
  names(args)[1:2] <- c("learn", "text")
  as.character(fastai_call("lm_predict", args))
}
