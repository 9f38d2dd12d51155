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
DataBlock <- function(blocks, get_x, get_y, splitter, n_inp, ...) {
  one_or_list <- function(x, name, call) if (is.null(x) || is.list(x)) x else list(x)
  fastai_call("DataBlock", capture_args(list(blocks = one_or_list, n_inp = count_arg())))
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
  rows_arg <- function(x, name, call) {
    if (!(is.numeric(x) && length(x) >= 1L && !anyNA(x) && all(x == round(x)) && all(x >= 1))) {
      abort_input(sprintf("valid_idx must be row numbers (whole numbers from 1), not %s", describe(x)), call)
    }
    as.list(as.integer(x) - 1L)  # R counts rows from 1, Python from 0; a list keeps one index a list
  }
  fastai_call("IndexSplitter", capture_args(list(valid_idx = rows_arg)))
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
dataloaders <- function(object, source, bs, ...) {
  source_arg <- function(x, name, call) {
    if (is.data.frame(x) || inherits(x, "python.builtin.object") || (is.character(x) && length(x) == 1L)) return(x)
    abort_input(sprintf("source must be a data frame, not %s", describe(x)), call)
  }
  if (missing(source)) abort_input("source must be a data frame of the items")
  args <- capture_args(list(object = function(x, name, call) {
    check_py(x, "fastai.data.block.DataBlock", name, "a DataBlock (from DataBlock())", call)
  }, source = source_arg, bs = count_arg()))
  fastai_call(reticulate::py_get_attr(object, "dataloaders"), args[-1L])
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
  capture_args(list(dls = dls_arg(), convert = flag_arg()))
  if (convert) return(fastai_call(reticulate::py_get_attr(dls, "one_batch")))
  with_py_errors(dls$one_batch())  # tensors stay Python objects, printed as torch prints them
}

#' @rdname one_batch
#' @export
show_batch <- function(dls, max_n, dataset = c("train", "valid"), ...) {
  args <- capture_args(list(dls = dls_arg(), max_n = count_arg(), dataset = dataset_arg()), ignore = "dataset")
  fastai_call("show_batch_df", c(args, list(ds_idx = dataset_index(dataset))))
}

# fastai numbers datasets 0 (train) and 1 (valid); R users name them.
# The default is the function's own vector, c("train", "valid") or c("valid", "train"): its first.
dataset_arg <- function() {
  function(x, name, call) {
    if (is.character(x) && length(x) == 2L && setequal(x, c("train", "valid"))) x <- x[1L]
    check_choice(x, c("train", "valid"), name, call)
  }
}
dataset_index <- function(dataset) if (identical(dataset_arg()(dataset, "dataset", NULL), "train")) 0L else 1L
