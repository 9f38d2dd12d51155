#' Hugging Face tasks
#'
#' `HF_TASKS_ALL()` and `HF_TASKS_AUTO()` return the Python enums of task names (blurr's API):
#' pick one with `$`, e.g. `HF_TASKS_ALL()$SequenceClassification`, and pass it to
#' [get_hf_objects()]. `HF_TASKS_AUTO` holds the tasks with an `AutoModelFor<Task>` class,
#' `HF_TASKS_ALL` every `<Arch>For<Task>` suffix in transformers.
#'
#' @param ... With arguments, the enum is called (looks a member up by value).
#' @return A Python `Enum` class.
#' @export
#' @examplesIf fastai_available()
#' task <- HF_TASKS_ALL()$SequenceClassification
#' task$name
HF_TASKS_ALL <- py_wrapper("HF_TASKS_ALL", "class")

#' @rdname HF_TASKS_ALL
#' @export
HF_TASKS_AUTO <- py_wrapper("HF_TASKS_AUTO", "class")

#' transformers' Auto classes
#'
#' `AutoConfig()` and `AutoTokenizer()` with no arguments return the classes, so
#' `AutoConfig()$from_pretrained(name)` reads as in Python; `AutoConfig_from_pretrained(name)`
#' is the same call. A config is a Python object: set fields with `$`, e.g.
#' `config$num_labels <- 6L`.
#'
#' @param ... Arguments of `from_pretrained`: the model id or folder, then keyword arguments.
#' @return The class, or the loaded config / tokenizer.
#' @export
#' @examplesIf fastai_available()
#' config <- AutoConfig()$from_pretrained(minilm_path())
#' config$num_labels <- 3L
AutoConfig <- py_wrapper("AutoConfig", "class")

#' @rdname AutoConfig
#' @export
AutoConfig_from_pretrained <- py_method("AutoConfig", "from_pretrained")

#' @rdname AutoConfig
#' @export
AutoTokenizer <- py_wrapper("transformers.AutoTokenizer", "class")

#' @rdname AutoConfig
#' @export
AutoTokenizer_from_pretrained <- py_method("transformers.AutoTokenizer", "from_pretrained")

#' Load a model's architecture name, config, tokenizer and model
#'
#' From a Hugging Face Hub id (online, e.g. `"distilroberta-base"`) or a local folder saved with
#' `save_pretrained()` (e.g. [minilm_path()]). Destructure the result with zeallot's `%<-%`.
#'
#' @param pretrained_model_name_or_path Hub id or folder.
#' @param task A task from [HF_TASKS_ALL()] / [HF_TASKS_AUTO()] or its name (default
#'   `SequenceClassification`).
#' @param config A config from [AutoConfig()], e.g. with `num_labels` set.
#' @param ... Further arguments of the Python function (`tokenizer_cls`, `model_cls`,
#'   `config_kwargs`, `tokenizer_kwargs`, `model_kwargs`).
#' @return A list: `hf_arch` (a string such as `"bert"`), `hf_config`, `hf_tokenizer`,
#'   `hf_model` (Python objects).
#' @export
#' @examplesIf fastai_available()
#' c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(minilm_path())
#' hf_arch
get_hf_objects <- function(pretrained_model_name_or_path, task = NULL, config = NULL, ...) {
  args <- capture_args(list(pretrained_model_name_or_path = string_arg()))
  res <- fastai_call("get_hf_objects", args)
  stats::setNames(res, c("hf_arch", "hf_config", "hf_tokenizer", "hf_model"))
}

#' A data block of raw texts tokenized per batch
#'
#' Items stay strings until a batch is drawn; then the whole batch is tokenized at once and padded
#' to its longest text. Use it as the input block of a [DataBlock()]. Training batches hold texts
#' of similar length: the loader tokenizes 50 batches' texts in one call and regroups them by token
#' count before padding (each text is still tokenized once); `dataloaders(..., pool_batches = 1)`
#' turns the regrouping off.
#'
#' The arguments are blurr's, in its order: `HF_TextBlock(hf_arch, hf_config, hf_tokenizer,
#' hf_model)` (positionally, as blurr and its R package wrote it) works, and so does
#' `HF_TextBlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer)`.
#'
#' @param hf_arch,hf_config,hf_tokenizer,hf_model From [get_hf_objects()]; only the tokenizer is needed.
#' @param max_length Truncate texts to this many tokens (default: the tokenizer's limit).
#' @param padding,truncation Passed to the tokenizer (default `TRUE`).
#' @param tok_kwargs A named list of further tokenizer arguments.
#' @param ... Further arguments of the Python class (`before_batch_tfm`, `before_batch_kwargs`,
#'   `is_split_into_words`, `dl_type`), or of the DataLoaders (`pool_batches`).
#' @return A fastai `TransformBlock` (Python object).
#' @export
HF_TextBlock <- function(hf_arch = NULL, hf_config = NULL, hf_tokenizer = NULL, hf_model = NULL, max_length,
                         padding, truncation, tok_kwargs, ...) {
  args <- capture_args(list(max_length = count_arg(), padding = flag_arg(), truncation = flag_arg()))
  fastai_call("HF_TextBlock", args)
}

#' Wrap a Hugging Face model for a fastai Learner
#'
#' `HF_BaseModelWrapper()` makes a transformers model take fastai's batch (a dict of tensors); it
#' returns the model's whole output, as blurr's did (`learn$model(x)$logits`).
#' `HF_BaseModelCallback()` (pass it in `cbs =`; the learner needs it) hands fastai the logits,
#' checks the model's `num_labels` against the data, writes `id2label` / `label2id` into its config
#' and, with `use_model_loss = TRUE`, trains on the model's own loss. `hf_splitter()` with no arguments is
#' the parameter-group splitter for `splitter =`: embeddings | each transformer layer | head (an
#' encoder-decoder model: embeddings | each encoder layer | each decoder layer | head), so
#' [freeze()] trains the head and [lr_slice()] spreads learning rates.
#'
#' @param hf_model The model from [get_hf_objects()].
#' @param ... `HF_BaseModelWrapper()`: `output_hidden_states`, `output_attentions`,
#'   `hf_model_kwargs`. `HF_BaseModelCallback()`: `use_model_loss`. `hf_splitter()`: a model, to get
#'   its parameter groups.
#' @return A Python object: the wrapped model (an `nn.Module`), a callback, or the splitter function.
#' @export
HF_BaseModelWrapper <- function(hf_model, ...) {
  fastai_call("HF_BaseModelWrapper", capture_args())
}

#' @rdname HF_BaseModelWrapper
#' @export
HF_BaseModelCallback <- py_wrapper("HF_BaseModelCallback", "instance")

#' @rdname HF_BaseModelWrapper
#' @export
hf_splitter <- py_wrapper("hf_splitter", "function")

#' Save a learner as a self-describing Hugging Face folder, and load it back
#'
#' `hf_save_pretrained()` writes a standard Hugging Face model folder that also carries what the
#' learner needs to predict and train as before, and a model card:
#'
#' - `config.json`: the transformers config, with `id2label` / `label2id` and `problem_type`;
#' - `model.safetensors`: the weights (safetensors only: loading them runs no code);
#' - `tokenizer.json`, `tokenizer_config.json`, ...: the tokenizer;
#' - `fastai_hf.json`: the task, labels and decision thresholds (one per label after
#'   [find_thresholds()] with `apply = TRUE`), the predict-time settings (text column,
#'   `max_length`, truncation, padding, batch sizes), the learner's loss, optimizer, metrics and
#'   frozen groups, the [run_record()] of every fit, the versions that wrote it (R's and this
#'   package's included) and a SHA-256 of every other file;
#' - `README.md`: the model card, with the Hugging Face Hub's metadata header: labels and
#'   thresholds, how to use the model (here, in Python, with plain `transformers`), the training
#'   recipe, the last validation, data size and versions.
#'
#' The folder is written all or nothing: if saving fails, nothing is left at `path`, and a folder
#' already there is replaced only once the new one is complete. `transformers.pipeline()` loads it
#' as any Hugging Face model.
#'
#' `hf_load_learner()` rebuilds the learner from such a folder in any session, without unpickling
#' anything: it predicts exactly as the learner that saved it, thresholds included. It checks every
#' file against its recorded SHA-256 first and names a file that is missing or changed. Without
#' data it predicts only; give `df` (a data frame with the same text and label columns as the
#' training data) or `dls` to train it further. Its run record continues the saved one.
#'
#' Token classifiers ([HF_TokenClassBlock()]) and extractive QA models ([HF_QABlock()]) are saved
#' and loaded the same way: the folder keeps their tags (also in `config.json`'s `id2label`), word
#' and tag columns and `add_prefix_space`, or their windows (`max_length`, `stride`), maximum answer
#' length and question/context/answer columns, so [predict_tokens()] / [predict_qa()] on the loaded
#' learner give the same data frames; `df` is then laid out as their training data (list columns of
#' words and tags; question, context, answer text and answer start). Their folders also work with
#' `transformers.pipeline("token-classification", aggregation_strategy = "simple")` and (transformers
#' 4) `pipeline("question-answering")`.
#'
#'
#' Classifiers, seq2seq learners ([HF_Seq2SeqBlock()]: T5, BART, [get_hf_encoder_decoder()]) and
#' language models ([HF_LMBlock()], causal or masked) are saved and loaded alike. A generative
#' folder also holds the generation settings (`generation_config.json`, as
#' [HF_Seq2SeqMetricsCallback()]'s `text_gen_kwargs` set them), the source and target columns,
#' `max_target_length`, the masking settings; the reloaded learner generates the same texts
#' ([hf_generate()], `predict()`) and fills masks as before ([hf_fill_mask()]), with its metrics
#' callback and [HF_Perplexity()] back.
#'
#' @param learn A [Learner()] built from [HF_BaseModelWrapper()] and an HF block ([HF_TextBlock()],
#'   [HF_TokenClassBlock()], [HF_QABlock()], [HF_Seq2SeqBlock()], [HF_LMBlock()]).
#' @param path The folder to write, or to load.
#' @param card Write the model card `README.md` (default `TRUE`).
#' @param card_data A named list of metadata for the card's header, e.g.
#'   `list(base_model = "sentence-transformers/all-MiniLM-L6-v2", license = "apache-2.0")` (the
#'   header names a base model only when it is a Hub id).
#' @param df A data frame to train on after loading, laid out as the training data was (the same
#'   text and label, target or source columns).
#' @param dls Instead of `df`, DataLoaders with the same labels (from [dataloaders()]).
#' @param valid_pct,valid_col,seed How `df` is split: at random (`valid_pct`, default 0.2, with
#'   `seed`), or by `valid_col`, a logical column that is `TRUE` for validation rows.
#' @param bs Batch size for `df` (default: the saved one).
#' @param verify Check the files against their recorded SHA-256 (default `TRUE`).
#' @param ... `hf_save_pretrained()`: arguments of the model's `save_pretrained()`.
#'   `hf_load_learner()`: arguments of [Learner()] that replace the saved ones (`loss_func`,
#'   `metrics`, `opt_func`, `cbs`, `wd`, ...).
#' @return `hf_save_pretrained()`: `path`, invisibly. `hf_load_learner()`: a Learner.
#' @export
#' @examples
#' \dontrun{
#' learn %>% find_thresholds(apply = TRUE)
#' hf_save_pretrained(learn, "emotions-model")
#' # in another session:
#' learn <- hf_load_learner("emotions-model")
#' predict(learn, c("What a lovely surprise!", "That is awful."))
#' }
hf_save_pretrained <- function(learn, path, card, card_data, ...) {
  args <- capture_args(list(learn = learner_arg(), path = path_arg(), card = flag_arg(), card_data = card_data_arg))
  args$versions <- r_versions()
  fastai_call("hf_save_pretrained", args)
  invisible(path)
}

#' @rdname hf_save_pretrained
#' @export
hf_load_learner <- function(path, df, dls, valid_pct, valid_col, seed, bs, verify, ...) {
  args <- capture_args(list(
    path = path_arg(), df = function(x, name, call) if (is.null(x)) x else check_data_frame(x, name, call),
    dls = function(x, name, call) if (is.null(x)) x else check_dls(x, name, call),
    valid_pct = number_arg(min = 0, max = 1), valid_col = string_arg(), seed = int_arg(), bs = count_arg(),
    verify = flag_arg()
  ))
  fastai_call("hf_load_learner", args)
}

# Metadata for a model card's header: a named list (a Python dict).
card_data_arg <- function(x, name, call) {
  if (is.null(x)) return(x)
  if (!is.list(x) || is.data.frame(x) || is.null(names(x)) || any(!nzchar(names(x)))) {
    abort_input(sprintf("%s must be a named list, e.g. list(license = \"apache-2.0\"), not %s", name, describe(x)),
                call)
  }
  x
}

# The versions R adds to a saved folder's record and card.
r_versions <- function() {
  list(R = paste(R.version$major, R.version$minor, sep = "."),
       `fastai (R package)` = as.character(utils::packageVersion("fastai")),
       reticulate = as.character(utils::packageVersion("reticulate")))
}

#' Load a dataset as R data frames
#'
#' Hugging Face `datasets.load_dataset()`: a hub dataset (online) or local files with a builder
#' (`"csv"`, `"tsv"`, `"json"`, `"parquet"`, `"text"`) and `data_files`.
#'
#' @param path Dataset name or builder.
#' @param name Dataset configuration.
#' @param split A split, with slices such as `"train[:1%]"` or `"train[:500]"`; `NULL` for all.
#' @param data_files Files for a builder.
#' @param ... Further arguments of `load_dataset()` (e.g. `delimiter`).
#' @return A data frame for one split, else a named list of data frames.
#' @export
#' @examplesIf fastai_available()
#' csv <- tempfile(fileext = ".csv")
#' write.csv(data.frame(text = c("good", "bad"), label = 1:0), csv, row.names = FALSE)
#' HF_load_dataset("csv", data_files = csv, split = "train")
HF_load_dataset <- function(path, name, split, data_files, ...) {
  files_arg <- function(x, name, call) if (is.null(x)) x else as.list(path.expand(unlist(strings_arg()(x, name, call))))
  args <- capture_args(list(path = string_arg(), name = string_arg(), split = string_arg(), data_files = files_arg))
  fastai_call("HF_load_dataset", args)
}

#' Local models and data of the project
#'
#' `minilm_path()`: the folder of all-MiniLM-L6-v2 (a 6-layer BERT, 22.7M parameters) installed
#' with the Python side, a pretrained model that loads without network. `goemotions_path()`: the
#' folder of the project's GoEmotions copy (`$GOEMOTIONS_DIR/<taxonomy>` if set).
#' `load_goemotions()`: one split of it as a data frame: `text`, `labels` (names joined by `;`),
#' then one 0/1 column per label.
#'
#' @param taxonomy `"original"` (28 labels) or `"ekman"` (7 labels).
#' @param folder A GoEmotions folder, or just `"original"` / `"ekman"`.
#' @param split `"train"`, `"dev"` or `"test"`.
#' @param n_rows Keep the first `n_rows` rows (`NULL`: all).
#' @param single_label Keep rows with exactly one label and add a `label` column.
#' @return A path, or a data frame.
#' @export
#' @examplesIf fastai_available()
#' minilm_path()
#' head(load_goemotions("ekman", n_rows = 5))
minilm_path <- function() {
  fastai_call("minilm_path")
}

#' @rdname minilm_path
#' @export
goemotions_path <- function(taxonomy) {
  fastai_call("goemotions_path", capture_args(list(taxonomy = string_arg())))
}

#' @rdname minilm_path
#' @export
load_goemotions <- function(folder = "ekman", split, n_rows, single_label) {
  args <- capture_args(list(folder = path_arg(), split = string_arg(), n_rows = count_arg(),
                            single_label = flag_arg()))
  if (is.null(args$folder)) args$folder <- folder  # the R default: the 7 Ekman labels
  fastai_call("load_goemotions", args)
}
