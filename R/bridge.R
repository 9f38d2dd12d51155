# The boundary between R and Python, in one place (every wrapper file calls Python through it):
#
# - arguments:  capture_args()  the arguments a user gave, and only those, so Python keeps its own
#               defaults; evaluated once, with fastai's meaning of partial(), slice(), Recall() and
#               accuracy() (see fastai_mask()), checked by per-argument modifiers;
# - the call:   fastai_call()   the one way R calls Python: through fastai_hf.r.verbs.call, which
#               converts tables, words errors for R users and sends Python's output to the console;
# - values:     as_py_arg()     R values to what fastai expects (whole numbers to ints, wrapper
#               functions to the Python objects they stand for, data frames to the column format);
#               from_py()       the results back: data frames, vectors, matrices (the one converter);
#               py_to_r methods for the fastai / fastcore types a user meets through `$`;
# - errors:     with_py_errors() Python exceptions to classed R errors with a hint;
# - wrappers:   py_wrapper() / py_method() for the many thin fastai functions.
#
# Debian's reticulate 1.28 converts neither NumPy 2 arrays nor pandas 3 DataFrames, and its
# r_to_py() turns NA strings into "NA" and NA logicals into TRUE, so tables cross explicitly in
# the column format documented in python/fastai_hf/r/convert.py.

# ------------------------------------------------------------------------------------ errors ----

fastai_error <- function(message, class = NULL, call = NULL, ...) {
  structure(
    class = c(class, "fastai_error", "error", "condition"),
    list(message = message, call = call, ...)
  )
}

# An error about R input, raised before anything crosses to Python.
abort_input <- function(message, call = sys.call(sys.parent())) {
  stop(fastai_error(message, "fastai_input_error", call = call))
}

# A warning about the user's data or arguments from Python (fastai_hf's InputWarning), e.g. an empty
# validation set: shown as an R warning of class fastai_input_warning.
fastai_warning <- function(message, call = NULL) {
  structure(class = c("fastai_input_warning", "fastai_warning", "warning", "condition"),
            list(message = message, call = call))
}

# What to do about a Python exception, in one line: specific advice where the kind of error says
# what went wrong; the function's help page otherwise.
python_hint <- function(type, value, fn) {
  help <- if (nzchar(fn)) sprintf("see ?%s", fn) else "see the function's help page"
  if (grepl("out of memory", value, ignore.case = TRUE)) {
    return("the model or batch does not fit in memory: lower bs, or shorten texts with max_length")
  }
  if (grepl("Output' object has no attribute", value, fixed = TRUE)) {
    return("the learner passes the model's whole output to the loss: add cbs = HF_BaseModelCallback() to Learner()")
  }
  if (type == "ModuleNotFoundError" && grepl("was exported with the Python module", value, fixed = TRUE)) {
    return("install that Python module into fastai's Python (reticulate::py_config() shows which), then load again")
  }
  if (type %in% c("ModuleNotFoundError", "ImportError")) {
    return("a Python module is missing: run fastai::install_fastai(), then restart R")
  }
  switch(type,
    KeyboardInterrupt = paste0("interrupted; the learner keeps its data and the weights of the last finished batch, ",
                               "and can validate, predict or train again"),
    FileNotFoundError = "check the path: it must exist; a relative path starts at getwd()",
    NotADirectoryError = "a file stands where a folder goes: give a folder name, or move the file away",
    IsADirectoryError = "a folder stands where a file goes: give a file name",
    FileExistsError = "give a new name, or empty or remove what is there first",
    PermissionError = "write to a folder you may write to, e.g. file.path(tempdir(), \"model\")",
    OSError = paste0("the system refused the read or write (the message says why, e.g. a full disk); fastai writes ",
                     "all or nothing, so a file that was there is unchanged"),
    ConnectionError = "the Hugging Face Hub is unreachable (no network?): use local files and model folders",
    ValueError = paste0("change the value or data the message names; ", help),
    TypeError = paste0("pass the kind of value the message names; ", help),
    paste0("this is likely a bug or an unsupported combination; ", help)
  )
}

# Turn the error reticulate raised for a Python exception into a classed R condition carrying the
# Python type, message, hint and traceback; the message shows no traceback.
python_error <- function(err, call) {
  fn <- if (is.call(call)) paste(deparse(call[[1L]]), collapse = "") else ""
  fn <- if (grepl("^[A-Za-z._][A-Za-z0-9._]*$", fn)) fn else ""
  type <- err$type %||% "Exception"
  value <- trimws(paste(err$value %||% "", collapse = "\n"))
  if (!nzchar(value) && type == "KeyboardInterrupt") value <- "the call was interrupted"
  hint <- python_hint(type, value, fn)
  fastai_error(
    sprintf("%s: %s\nHint: %s", type, value, hint),
    class = c(paste0("fastai_", type), "fastai_python_error"),
    call = call, python_type = type, python_message = value, hint = hint,
    traceback = err$traceback
  )
}

#' Evaluate Python-calling code, turning Python exceptions into classed R errors
#'
#' @param expr Code that calls Python.
#' @param call The call to report (default: the caller's).
#' @return The value of `expr`. A Python exception becomes an error of class
#'   `c("fastai_<PythonType>", "fastai_python_error", "fastai_error", "error", "condition")`
#'   whose message is the Python message and a hint; the condition also holds `python_type`,
#'   `python_message` and `traceback`.
#' @keywords internal
#' @noRd
with_py_errors <- function(expr, call = sys.call(sys.parent())) {
  reticulate::py_clear_last_error()
  tryCatch(expr, error = function(e) {
    if (inherits(e, "fastai_error")) stop(e)
    err <- reticulate::py_last_error()
    if (is.null(err)) stop(e)
    reticulate::py_clear_last_error()
    stop(python_error(err, call))
  })
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# -------------------------------------------------------------------------------- arguments ----

# Inside fastai's verbs these names mean fastai's functions, whatever else is attached: `partial()`
# (purrr's name), `slice()` (dplyr's), `Recall()` (base R's) and `accuracy()` (generics' and
# yardstick's). The package exports them under names that mask nothing (py_partial(), lr_slice(),
# RecallScore(), Accuracy()), so `library(fastai)` masks nothing, and the code users copy
# (`opt_func = partial(Adam)`, `lr_max = slice(1e-5, 1e-3)`) runs as written.
fastai_mask <- function() {
  list(partial = py_partial, slice = lr_slice, Recall = RecallScore, accuracy = Accuracy)
}

#' Capture the arguments a user gave to a fastai function
#'
#' Called first thing in a wrapper, it returns the arguments of the call that were actually given
#' (formals by name, `...` as given, positional ones unnamed), so that Python applies its own
#' defaults to the rest (keras3's capture_args). Each argument is evaluated once, in the caller's
#' environment with [fastai_mask()] on top, and its value is bound back into the wrapper's frame, so
#' the wrapper can use it by name without evaluating it again. `modifiers` (a named list of
#' functions `f(value, name, call)`) check and convert arguments; `ignore` names arguments that are
#' evaluated and bound but not returned.
#' @noRd
capture_args <- function(modifiers = list(), ignore = character()) {
  frame <- parent.frame()
  call <- sys.call(sys.parent())
  fn <- sys.function(sys.parent())
  mask <- fastai_mask()
  out <- list()
  for (nm in setdiff(names(formals(fn)), "...")) {
    if (eval(call("missing", as.name(nm)), frame)) next
    quo <- eval(as.call(list(quote(rlang::enquo), as.name(nm))), frame)
    value <- rlang::eval_tidy(quo, data = mask)
    if (!is.null(modifiers[[nm]])) value <- modifiers[[nm]](value, nm, call)
    assign(nm, value, envir = frame)  # replaces the promise: later uses see this value
    if (!nm %in% ignore) out[nm] <- list(value)
  }
  if ("..." %in% names(formals(fn))) {
    dots <- eval(quote(rlang::enquos(...)), frame)
    values <- lapply(dots, rlang::eval_tidy, data = mask)
    names(values) <- names(dots)
    for (i in seq_along(values)) {
      nm <- names(values)[i]
      if (nzchar(nm) && !is.null(modifiers[[nm]])) values[i] <- list(modifiers[[nm]](values[[i]], nm, call))
    }
    if (length(values) && is.null(names(values))) names(values) <- rep("", length(values))
    out <- c(out, values)
  }
  out
}

# Is `x` a wrapper made by py_wrapper() (e.g. Adam, accuracy_multi, hf_splitter)?
is_py_wrapper <- function(x) {
  is.function(x) && !inherits(x, "python.builtin.object") && !is.null(environment(x)) &&
    exists(".py_name", envir = environment(x), inherits = FALSE)
}

#' Convert an R value for a fastai call
#'
#' Whole-number scalars become Python ints (R's `1` is a double; fastai needs ints for epochs and
#' batch sizes); longer numeric vectors stay floats. A fastai wrapper function passed uncalled
#' (`opt_func = Adam`) becomes the Python object it returns with no arguments. Data frames go to
#' Python in the column format (the Python side makes them pandas), factors as strings; lists are
#' converted element by element.
#' @noRd
as_py_arg <- function(x) {
  if (is.null(x) || inherits(x, "python.builtin.object")) return(x)
  if (is_py_wrapper(x)) return(x())
  if (is.data.frame(x)) return(frame_table(x))
  if (is.factor(x)) return(as.character(x))
  if (is.double(x) && length(x) == 1L && is.null(attributes(x)) && is.finite(x) && x == round(x) &&
      abs(x) <= .Machine$integer.max) {
    return(as.integer(x))
  }
  if (is.list(x) && !is.object(x)) {
    out <- lapply(x, as_py_arg)
    names(out) <- names(x)
    return(out)
  }
  x
}

# ---------------------------------------------------------------------------------- the call ----

# The Python module R calls into (fastai_hf.r.verbs), after the check that Python is ready.
py_verbs <- function() {
  ensure_python()
  verbs_py
}

#' Call Python, the one way
#'
#' `f` is a Python callable, or the name of a function of `fastai_hf` (e.g. `"HF_TextBlock"`) or,
#' with `verb = TRUE`, of `fastai_hf.r.verbs` (e.g. `"fit"`). `args` (a list, names for keyword
#' arguments) are converted with [as_py_arg()]; Python's printed output goes to the R console in the
#' mode of the `fastai.progress` option; its warnings about the user's data or arguments become R
#' warnings (`fastai_input_warning`); the result comes back through [from_py()]; a Python
#' exception becomes a classed R error attributed to `call`.
#' @noRd
fastai_call <- function(f, args = list(), verb = FALSE, call = sys.call(sys.parent())) {
  verbs <- py_verbs()
  if (is.character(f)) f <- reticulate::py_get_attr(if (verb) verbs else py_fastai(), f)
  # Python's InputWarnings arrive here during the call and become R warnings after it (also when it fails).
  warned <- character()
  collect <- function(message) {
    warned <<- c(warned, message)
    invisible(NULL)
  }
  on.exit(for (m in warned) warning(fastai_warning(m, call)), add = TRUE)
  py_args <- c(list(f), lapply(args, as_py_arg), list(write = r_writer, mode = progress_mode(), warn = collect))
  names(py_args) <- c("", names(args) %||% rep("", length(args)), "write", "mode", "warn")
  res <- with_py_errors(do.call(verbs$call, py_args, quote = TRUE), call = call)
  from_py(res)
}

# ----------------------------------------------------------------------- tables: R -> Python ----

column_to_py <- function(v) {
  na <- which(is.na(v))
  if (is.list(v)) na <- integer(0)
  kind <- if (is.factor(v)) "factor"
    else if (inherits(v, "Date")) "datetime"
    else if (inherits(v, "POSIXt")) "datetime"
    else if (is.list(v)) "list"
    else if (is.logical(v)) "logical"
    else if (is.integer(v)) "integer"
    else if (is.double(v)) "double"
    else "character"
  values <- switch(kind,
    factor = replace(as.character(v), na, ""),
    datetime = replace(as.numeric(as.POSIXct(v, tz = "UTC")), na, 0),
    list = lapply(v, function(e) if (is.atomic(e) && !is.null(e)) as.list(as_py_arg(e)) else as_py_arg(e)),
    logical = replace(v, na, FALSE),
    integer = replace(unclass(v), na, 0L),
    double = as.double(v),
    character = replace(as.character(v), na, "")
  )
  if (kind != "list") values <- as.list(unname(values))
  list(kind = kind, values = values, na = as.list(na - 1L))
}

# A data frame in the column format (python/fastai_hf/r/convert.py); Python makes it a DataFrame.
frame_table <- function(x) {
  n <- nrow(x)
  x <- unclass(x)
  list(names = as.list(names(x)), nrow = n, columns = unname(lapply(x, column_to_py)))
}

#' Convert between R data frames and pandas DataFrames
#'
#' `to_pandas()` sends an R data frame (also a data.table or tibble) to Python as a pandas
#' DataFrame, column by column: integers stay `int64` (`float64` with `NaN` where missing),
#' doubles `float64`, logicals `bool` (`object` with `None` where missing), characters and factors
#' strings (`None` where missing), dates and times `datetime64[UTC]`, list columns lists. Row names
#' are dropped. `from_pandas()` converts back, the inverse of the above: `int64` to integer
#' (double beyond 32 bits), categoricals to factors, `NaN`/`None` to `NA`.
#'
#' fastai's own functions call these for you (e.g. [dataloaders()] takes an R data frame).
#'
#' @param x An R data frame (`to_pandas()`) or a pandas DataFrame (`from_pandas()`).
#' @return A pandas DataFrame (a Python object) or an R data frame.
#' @export
#' @examplesIf fastai_available()
#' pdf <- to_pandas(data.frame(text = c("a", NA), n = 1:2))
#' from_pandas(pdf)
to_pandas <- function(x) {
  if (inherits(x, "python.builtin.object")) return(x)
  if (!is.data.frame(x)) abort_input(sprintf("x must be a data frame, not %s", describe(x)))  # zero rows convert too
  ensure_python()
  convert <- reticulate::import("fastai_hf.r.convert", convert = FALSE)
  with_py_errors(convert$frame_from_r(frame_table(x)))
}

#' @rdname to_pandas
#' @export
from_pandas <- function(x) {
  if (is.data.frame(x)) return(x)
  check_py(x, c("pandas.DataFrame", "pandas.core.frame.DataFrame"), "x", "a pandas DataFrame")
  fastai_call("to_r", list(x), verb = TRUE)
}

# ------------------------------------------------------------------------- results: Python -> R ----

#' Convert a result to R values
#'
#' The one place results become R values: tables (`r_type = "frame"`) become data frames, arrays
#' (`r_type = "array"`) vectors, matrices or arrays, other lists are converted element-wise;
#' Python objects (a Learner, a tokenizer) stay as they are.
#' @noRd
from_py <- function(x) {
  if (!is.list(x) || is.data.frame(x) || inherits(x, "python.builtin.object")) return(x)
  type <- x[["r_type"]]
  if (identical(type, "frame")) return(frame_from_py(x))
  if (identical(type, "array")) return(array_from_py(x))
  out <- lapply(x, from_py)
  names(out) <- names(x)
  out
}

frame_from_py <- function(t) {
  n <- as.integer(t$nrow)
  cols <- lapply(t$columns, column_from_py, n = n)
  structure(cols, names = as.character(unlist(t$names)), class = "data.frame",
            row.names = .set_row_names(n))
}

.set_row_names <- function(n) if (n > 0L) c(NA_integer_, -n) else integer(0)

column_from_py <- function(col, n) {
  kind <- col$kind
  na <- as.integer(unlist(col$na)) + 1L
  v <- col$values
  v <- switch(kind,
    integer = as.integer(unlist(v)),
    double = as.double(unlist(v)),
    logical = as.logical(unlist(v)),
    character = as.character(unlist(v)),
    factor = factor(as.character(unlist(v)), levels = as.character(unlist(col$levels))),
    datetime = as.POSIXct(as.double(unlist(v)), origin = "1970-01-01", tz = "UTC"),
    # list cells (label sets, token lists): character vectors; an empty Python list arrives as list()
    list = lapply(v, function(e) if (is.list(e) && !length(e)) character(0) else simplify_cell(from_py(e))),
    stop(sprintf("unknown column kind '%s' from Python", kind), call. = FALSE)
  )
  if (length(v) != n) stop(sprintf("a %s column from Python has %d values for %d rows", kind, length(v), n),
                           call. = FALSE)
  if (length(na)) v[na] <- NA
  v
}

# A list cell of scalars (labels, tokens) as an atomic vector.
simplify_cell <- function(e) {
  if (is.list(e) && length(e) && all(vapply(e, function(v) is.atomic(v) && length(v) == 1L, logical(1)))) unlist(e)
  else e
}

array_from_py <- function(a) {
  v <- unlist(a$values)
  v <- switch(a$kind,
    integer = as.integer(v), double = as.double(v), logical = as.logical(v), as.character(v)
  )
  shape <- as.integer(unlist(a$shape))
  if (length(shape) <= 1L) return(v)
  if (length(shape) == 2L) return(matrix(v, nrow = shape[1L], ncol = shape[2L], byrow = TRUE))
  # row-major (C order) values into R's column-major array
  aperm(array(v, dim = rev(shape)), rev(seq_along(shape)))
}

# R values for the fastai and fastcore types a user meets through `$` or by calling a Python object
# (reticulate's py_to_r hook): fastcore's L (token lists, vocabs) as a vector or list, fastai's
# typed strings and numbers as plain ones, Numericalize's TensorText (token ids) as an integer vector.
# Tensors in batches stay Python objects (see one_batch()).
py_value <- function(x) fastai_call("to_r", list(x), verb = TRUE)

#' @importFrom reticulate py_to_r
#' @method py_to_r fastcore.foundation.L
#' @export
py_to_r.fastcore.foundation.L <- function(x) simplify_cell(py_value(x))

#' @method py_to_r fastai.torch_core.TitledStr
#' @export
py_to_r.fastai.torch_core.TitledStr <- function(x) as.character(reticulate::py_str(x))

#' @method py_to_r fastai.text.data.TensorText
#' @export
py_to_r.fastai.text.data.TensorText <- function(x) py_value(x)

# NumPy scalars (a pipeline's scores, a metric's value) as R numbers, logicals or strings: reticulate
# 1.28 leaves NumPy 2 scalars as Python objects (`round(score, 4)` fails); newer reticulate agrees.
#' @method py_to_r numpy.generic
#' @export
py_to_r.numpy.generic <- function(x) py_value(x)

# A classifier's labels (`dls$vocab` of HF data, `dls$vocab[[2]]` of fastai text data) as a vector.
#' @method py_to_r fastai.data.transforms.CategoryMap
#' @export
py_to_r.fastai.data.transforms.CategoryMap <- function(x) simplify_cell(py_value(reticulate::py_get_attr(x, "items")))

# ------------------------------------------------------------------------------- output ----

# How training reports progress: bars in a console, the epoch table alone in knitr and logs.
progress_mode <- function() {
  mode <- getOption("fastai.progress", "auto")
  modes <- c("bar", "table", "silent")
  if (!identical(mode, "auto")) {
    if (!(is.character(mode) && length(mode) == 1L && mode %in% modes)) {
      abort_input("option fastai.progress must be one of \"auto\", \"bar\", \"table\", \"silent\"")
    }
    return(mode)
  }
  if (isTRUE(getOption("knitr.in.progress")) || !(interactive() || isatty(stdout()))) "table" else "bar"
}

# Python's stdout during a call lands here, so it shows in the console, knitr, sink() and
# capture.output() alike.
r_writer <- function(text) {
  cat(text)
  utils::flush.console()
  invisible(NULL)
}

# --------------------------------------------------------------------- generated wrappers ----

# The Python object a wrapper stands for: "Adam" is fastai_hf.Adam (fastai_hf re-exports
# fastai.text.all); "transformers.AutoTokenizer" is looked up in that module.
py_lookup <- function(name) {
  fh <- py_fastai()
  if (!grepl(".", name, fixed = TRUE)) return(reticulate::py_get_attr(fh, name))
  module <- sub("\\.[^.]+$", "", name)
  reticulate::py_get_attr(reticulate::import(module), sub("^.*\\.", "", name))
}

#' Make a thin wrapper for a Python function or class
#'
#' kind "function": with no arguments, the Python function itself (for `opt_func =`,
#' `metrics =`, `splitter =`); with arguments, its result. kind "instance": always called
#' (a callback, loss or metric object; a splitter or block). kind "class": with no arguments the
#' class itself (for `Class()$method()`), with arguments an instance.
#' @noRd
py_wrapper <- function(name, kind = c("function", "instance", "class")) {
  .py_name <- name
  .kind <- match.arg(kind)
  function(...) {
    args <- capture_args()
    obj <- py_lookup(.py_name)
    if (.kind != "instance" && !length(args)) return(obj)
    fastai_call(obj, args, call = sys.call())
  }
}

# `Class_method()`: the same as `Class()$method()`, e.g. AutoConfig_from_pretrained(name).
py_method <- function(class, method) {
  .py_name <- paste(class, method, sep = "$")
  function(...) {
    args <- capture_args()
    fastai_call(reticulate::py_get_attr(py_lookup(class), method), args, call = sys.call())
  }
}
