#' Describe how to build DataLoaders
#'
#' fastai's `DataBlock` (from `fastai_hf`: a data frame source is checked first, so a missing
#' column, NA texts or non-0/1 labels fail at once with a message naming them). Give the blocks
#' (an input block such as [HF_TextBlock()] and a target block such as [MultiCategoryBlock()]),
#' how to read inputs and targets from a row ([ColReader()]) and how to split ([RandomSplitter()]).
#'
#' @param blocks A list of blocks.
#' @param get_x,get_y Readers of inputs and targets, e.g. `ColReader("text")`.
#' @param splitter A splitter, e.g. `RandomSplitter()`.
#' @param n_inp How many of the blocks are inputs (default: all but the last).
#' @param ... Further arguments of the Python class (`dl_type`, `getters`, `item_tfms`,
#'   `batch_tfms`, `get_items`).
#' @return A `DataBlock` (Python object); build DataLoaders with [dataloaders()].
#' @export
DataBlock <- function(blocks = NULL, get_x = NULL, get_y = NULL, splitter = NULL, n_inp = NULL, ...) {
  if (!is.null(n_inp)) n_inp <- check_count(n_inp, "n_inp")
  if (!is.null(blocks) && !is.list(blocks)) blocks <- list(blocks)
  args <- compact(list(blocks = blocks, get_x = get_x, get_y = get_y, splitter = splitter, n_inp = n_inp))
  do.call(py_call, c(list(py_fastai()$DataBlock), args, list(...), list(.call = sys.call())), quote = TRUE)
}

#' Blocks: what the inputs and targets are
#'
#' `CategoryBlock()` for one label per row (single-label classification), `MultiCategoryBlock()`
#' for several (with `encoded = TRUE` and `vocab =` the label columns when the data holds one 0/1
#' column per label), `RegressionBlock()` for numbers, `TransformBlock()` for custom transforms.
#' Each is called: with no arguments it gives a block with fastai's defaults.
#'
#' @param ... Arguments of the Python function, e.g. `vocab`, `encoded`, `add_na`.
#' @return A fastai `TransformBlock` (Python object).
#' @export
#' @examplesIf fastai_available()
#' MultiCategoryBlock(encoded = TRUE, vocab = c("joy", "anger"))
TransformBlock <- py_wrapper("TransformBlock", "instance")

#' @rdname TransformBlock
#' @export
CategoryBlock <- py_wrapper("CategoryBlock", "instance")

#' @rdname TransformBlock
#' @export
MultiCategoryBlock <- py_wrapper("MultiCategoryBlock", "instance")

#' @rdname TransformBlock
#' @export
RegressionBlock <- py_wrapper("RegressionBlock", "instance")

#' Read columns of a row
#'
#' `ColReader("text")` reads one column; `ColReader(c("a", "b"))` several (e.g. one-hot label
#' columns for `MultiCategoryBlock(encoded = TRUE)`).
#'
#' @param ... Arguments of the Python class: `cols`, `pref`, `suff`, `label_delim`.
#' @return A `ColReader` (Python object).
#' @export
ColReader <- py_wrapper("ColReader", "instance")

#' Split the data into training and validation sets
#'
#' `RandomSplitter(valid_pct = 0.2, seed = NULL)` draws a random validation share;
#' `ColSplitter(col = "is_valid")` takes rows where a logical column is `TRUE`;
#' `TrainTestSplitter(test_size = 0.2, random_state = NULL, stratify = NULL)` uses scikit-learn;
#' `EndSplitter(valid_pct = 0.2)` takes the last rows. `IndexSplitter(valid_idx)` takes the
#' given rows, numbered from 1 as in R.
#'
#' @param valid_idx Row numbers (1-based) of the validation set.
#' @param ... Arguments of the Python function.
#' @return A splitter function (Python object) for `splitter =` of [DataBlock()].
#' @export
#' @examplesIf fastai_available()
#' RandomSplitter(valid_pct = 0.1, seed = 42)
RandomSplitter <- py_wrapper("RandomSplitter", "instance")

#' @rdname RandomSplitter
#' @export
ColSplitter <- py_wrapper("ColSplitter", "instance")

#' @rdname RandomSplitter
#' @export
TrainTestSplitter <- py_wrapper("TrainTestSplitter", "instance")

#' @rdname RandomSplitter
#' @export
EndSplitter <- py_wrapper("EndSplitter", "instance")

#' @rdname RandomSplitter
#' @export
IndexSplitter <- function(valid_idx) {
  if (!(is.numeric(valid_idx) && length(valid_idx) >= 1L && !anyNA(valid_idx) &&
        all(valid_idx == round(valid_idx)) && all(valid_idx >= 1))) {
    abort_input(sprintf("valid_idx must be row numbers (whole numbers from 1), not %s", describe(valid_idx)))
  }
  # R counts rows from 1, Python from 0; as.list() keeps a single index a list for Python.
  py_call(py_fastai()$IndexSplitter, as.list(as.integer(valid_idx) - 1L), .call = sys.call())
}

#' Build DataLoaders from a DataBlock and data
#'
#' @param object A [DataBlock()].
#' @param source The data: an R data frame (a data.table or tibble too), converted to pandas with
#'   [to_pandas()]; or a pandas DataFrame or a path.
#' @param bs Batch size, a positive whole number.
#' @param ... Further arguments of fastai's `DataBlock.dataloaders` (e.g. `val_bs`, `shuffle`,
#'   `seed`; for [HF_TextBlock()] data `pool_batches`, see there).
#' @return A fastai `DataLoaders` (Python object): `$train`, `$valid`, `$vocab`, ...
#' @export
dataloaders <- function(object, source, bs = 64L, ...) {
  check_py(object, "fastai.data.block.DataBlock", "object", "a DataBlock (from DataBlock())")
  bs <- check_count(bs, "bs")
  if (missing(source) || is.null(source)) abort_input("source must be a data frame of the items")
  if (!(is.data.frame(source) || inherits(source, "python.builtin.object") ||
        (is.character(source) && length(source) == 1L))) {
    abort_input(sprintf("source must be a data frame, not %s", describe(source)))
  }
  if (is.data.frame(source) && nrow(source) == 0L) abort_input("source has zero rows")
  py_call(object$dataloaders, source, bs = bs, ..., .call = sys.call())
}

#' A batch of DataLoaders
#'
#' `one_batch()` draws a training batch as fastai gives it: a list of the inputs (for text, a
#' named list of tensors `input_ids`, `attention_mask`, ...) and the targets, printed as tensors.
#' With `convert = TRUE` the tensors become R matrices. `show_batch()` decodes a batch into a
#' data frame of texts and targets: `text` and `target` for `HF_TextBlock` data; for fastai's own
#' text data (`TextBlock`), `text` (tokens) and `category`, or `text` and `text_` (the same text one
#' token later) for a language model.
#'
#' @param dls DataLoaders from [dataloaders()].
#' @param convert Convert tensors to R arrays.
#' @param max_n How many rows to show.
#' @param dataset `"train"` or `"valid"`.
#' @param ... Further arguments of the Python `show_batch`.
#' @return `one_batch()`: a list. `show_batch()`: a data frame.
#' @export
one_batch <- function(dls, convert = FALSE) {
  check_py(dls, "fastai.data.core.DataLoaders", "dls", "DataLoaders (from dataloaders())")
  if (check_flag(convert, "convert")) return(bridge_call("call", dls$one_batch, .call = sys.call()))
  with_py_errors(dls$one_batch(), call = sys.call())
}

#' @rdname one_batch
#' @export
show_batch <- function(dls, max_n = 9L, dataset = c("train", "valid"), ...) {
  check_py(dls, "fastai.data.core.DataLoaders", "dls", "DataLoaders (from dataloaders())")
  bridge_call("show_batch", dls, max_n = check_count(max_n, "max_n"), ds_idx = dataset_index(dataset),
              ..., .call = sys.call())
}

# fastai numbers datasets 0 (train) and 1 (valid); R users name them.
dataset_index <- function(dataset, call = sys.call(sys.parent())) {
  if (is.character(dataset) && length(dataset) > 1L) dataset <- dataset[1L]  # the default choices
  if (!(is.character(dataset) && length(dataset) == 1L && dataset %in% c("train", "valid"))) {
    abort_input(sprintf("dataset must be \"train\" or \"valid\", not %s", describe(dataset)), call)
  }
  if (dataset == "train") 0L else 1L
}
