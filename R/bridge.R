# The boundary between R and Python, in one place (reusable by every wrapper file):
#
# - arguments:  as_py_args() / as_py_arg()  R values to what fastai expects (whole numbers to
#               ints, fastai wrapper functions to the Python object they stand for, data frames
#               to pandas through to_pandas());
# - results:    from_py()                    the bridge's plain lists and dicts to data frames,
#               vectors and matrices;
# - errors:     with_py_errors() / py_call()  Python exceptions to classed R errors with a hint;
# - generated wrappers: py_wrapper() and py_method() for the many thin fastai functions;
# - input checks (check_*) that fail before crossing, with the same error classes.
#
# Debian's reticulate 1.28 converts neither NumPy 2 arrays nor pandas 3 DataFrames, and its
# r_to_py() turns NA strings into "NA" and NA logicals into TRUE, so tables cross explicitly in
# the column format documented in python/fastai_hf/bridge.py.

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

# What to do about a Python exception of a given type, in one line.
python_hint <- function(type, value, fn) {
  help <- if (nzchar(fn)) sprintf("see ?%s", fn) else "see the function's help page"
  if (type %in% c("ModuleNotFoundError", "ImportError")) {
    return("a Python module is missing: run fastai::install_fastai(), then restart R")
  }
  if (grepl("out of memory", value, ignore.case = TRUE)) {
    return("the model or batch does not fit in memory: lower bs, or shorten texts with max_length")
  }
  switch(type,
    KeyboardInterrupt = "interrupted",
    FileNotFoundError = ,
    NotADirectoryError = ,
    IsADirectoryError = "check the path",
    paste0("check the arguments; ", help)
  )
}

# Turn the error reticulate raised for a Python exception into a classed R condition carrying the
# Python type, message, hint and traceback; the message shows no traceback.
python_error <- function(err, call) {
  fn <- if (is.call(call)) paste(deparse(call[[1L]]), collapse = "") else ""
  fn <- if (grepl("^[A-Za-z._][A-Za-z0-9._]*$", fn)) fn else ""
  type <- err$type %||% "Exception"
  value <- trimws(paste(err$value %||% "", collapse = "\n"))
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

# Call a Python callable with R arguments converted by as_py_args(), errors classed
# (Dot-prefixed parameters, so they never capture a Python keyword argument such as `name =`.)
py_call <- function(.f, ..., .call = sys.call(sys.parent())) {
  args <- as_py_args(list(...))
  # `obj$method` gives an R function; py_get_attr() a Python object, called through py_call()
  if (!is.function(.f)) args <- c(list(.f), args)
  with_py_errors(do.call(if (is.function(.f)) .f else reticulate::py_call, args, quote = TRUE), call = .call)
}

# Call a function of python/fastai_hf/bridge.py and convert its result with from_py().
bridge_call <- function(.fn, ..., .call = sys.call(sys.parent())) {
  f <- reticulate::py_get_attr(py_bridge(), .fn)
  from_py(py_call(f, ..., .call = .call))
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# --------------------------------------------------------------------------------- arguments ----

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
#' pandas with [to_pandas()], factors as strings; lists are converted element by element.
#' @noRd
as_py_arg <- function(x) {
  if (is.null(x) || inherits(x, "python.builtin.object")) return(x)
  if (is_py_wrapper(x)) return(x())
  if (is.data.frame(x)) return(to_pandas(x))
  if (is.factor(x)) return(as.character(x))
  if (is.double(x) && length(x) == 1L && is.null(attributes(x)) && is.finite(x) && x == round(x) &&
      abs(x) <= .Machine$integer.max) {
    return(as.integer(x))
  }
  if (is.list(x) && !is.object(x)) return(lapply(x, as_py_arg))
  x
}

as_py_args <- function(args) {
  out <- lapply(args, as_py_arg)
  # lapply() drops nothing, but keep explicit NULLs as None (reticulate passes them on)
  names(out) <- names(args)
  out
}

# Drop NULL entries, so Python keeps its own defaults for arguments the user did not give.
compact <- function(x) x[!vapply(x, is.null, logical(1))]

# ----------------------------------------------------------------------- tables: R -> pandas ----

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
  if (!is.data.frame(x)) abort_input(sprintf("x must be a data frame, not %s", class(x)[1L]))
  n <- nrow(x)
  x <- unclass(x)
  table <- list(
    names = as.list(names(x)),
    nrow = n,
    columns = unname(lapply(x, column_to_py))
  )
  with_py_errors(py_bridge()$frame_from_r(table))
}

#' @rdname to_pandas
#' @export
from_pandas <- function(x) {
  if (is.data.frame(x)) return(x)
  if (!inherits(x, "python.builtin.object")) {
    abort_input(sprintf("x must be a pandas DataFrame, not %s", class(x)[1L]))
  }
  bridge_call("to_r", x)
}

# ------------------------------------------------------------------------- results: Python -> R ----

#' Convert a bridge result to R values
#'
#' The one place results become R values: tables (`r_type = "frame"`) become data frames, arrays
#' (`r_type = "array"`) vectors, matrices or arrays, other lists are converted element-wise.
#' @noRd
from_py <- function(x) {
  if (inherits(x, "python.builtin.object")) x <- reticulate::py_to_r(x)
  if (!is.list(x) || is.data.frame(x)) return(x)
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
    # list cells: lists of labels and the like; an empty Python list arrives as list()
    list = lapply(v, function(e) if (is.list(e) && !length(e)) character(0) else from_py(e)),
    stop(sprintf("unknown column kind '%s' from Python", kind), call. = FALSE)
  )
  if (length(v) != n) stop(sprintf("a %s column from Python has %d values for %d rows", kind, length(v), n),
                           call. = FALSE)
  if (length(na)) v[na] <- NA
  v
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

# Python's stdout during a verb lands here, so it shows in the console, knitr, sink() and
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
    obj <- py_lookup(.py_name)
    if (.kind != "instance" && ...length() == 0L) return(obj)
    py_call(obj, ..., .call = sys.call())
  }
}

# `Class_method()`: the same as `Class()$method()`, e.g. AutoConfig_from_pretrained(name).
py_method <- function(class, method) {
  .py_name <- paste(class, method, sep = "$")
  function(...) {
    f <- reticulate::py_get_attr(py_lookup(class), method)
    py_call(f, ..., .call = sys.call())
  }
}

# ------------------------------------------------------------------------------ input checks ----

check_count <- function(x, name, min = 1L, call = sys.call(sys.parent())) {
  if (!(is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x) && x == round(x) && x >= min &&
        abs(x) <= .Machine$integer.max)) {
    what <- if (min >= 1L) "a positive whole number" else sprintf("a whole number >= %d", min)
    abort_input(sprintf("%s must be %s, not %s", name, what, describe(x)), call)
  }
  as.integer(x)
}

check_int <- function(x, name, call = sys.call(sys.parent())) {
  if (!(is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x) && x == round(x) &&
        abs(x) <= .Machine$integer.max)) {
    abort_input(sprintf("%s must be a whole number, not %s", name, describe(x)), call)
  }
  as.integer(x)
}

check_number <- function(x, name, null_ok = FALSE, min = -Inf, max = Inf, len = 1L, call = sys.call(sys.parent())) {
  if (is.null(x) && null_ok) return(NULL)
  ok_len <- if (is.na(len)) length(x) >= 1L else length(x) == len
  if (!(is.numeric(x) && ok_len && !anyNA(x) && all(x >= min & x <= max))) {
    range <- if (is.finite(min) && is.finite(max)) sprintf(" between %s and %s", min, max)
      else if (is.finite(min)) sprintf(" >= %s", min)
      else if (is.finite(max)) sprintf(" <= %s", max)
      else ""
    what <- if (is.na(len)) "a number (or several)" else if (len == 1L) "a number" else sprintf("%d numbers", len)
    abort_input(sprintf("%s must be %s%s, not %s", name, what, range, describe(x)), call)
  }
  as.double(x)
}

check_flag <- function(x, name, call = sys.call(sys.parent())) {
  if (!(is.logical(x) && length(x) == 1L && !is.na(x))) {
    abort_input(sprintf("%s must be TRUE or FALSE, not %s", name, describe(x)), call)
  }
  x
}

check_string <- function(x, name, null_ok = FALSE, call = sys.call(sys.parent())) {
  if (is.null(x) && null_ok) return(NULL)
  if (!(is.character(x) && length(x) == 1L && !is.na(x) && nzchar(x))) {
    abort_input(sprintf("%s must be a non-empty string, not %s", name, describe(x)), call)
  }
  x
}

# A Python object of the given class (e.g. a fastai Learner), or an input error naming what it is.
check_py <- function(x, class, name, what, call = sys.call(sys.parent())) {
  if (!inherits(x, class)) {
    abort_input(sprintf("%s must be %s, not %s", name, what, describe(x)), call)
  }
  x
}

check_learner <- function(x, call = sys.call(sys.parent())) {
  check_py(x, "fastai.learner.Learner", "the learner", "a fastai Learner (from Learner() or load_learner())", call)
}

# Short description of a value for error messages.
describe <- function(x) {
  if (is.null(x)) return("NULL")
  if (inherits(x, "python.builtin.object")) return(sprintf("a Python %s", class(x)[1L]))
  if (is.function(x)) return("a function")
  if (is.data.frame(x)) return("a data frame")
  if (is.atomic(x) && length(x) == 1L) {
    shown <- if (is.character(x)) sprintf("\"%s\"", x) else format(x)
    return(sprintf("%s (%s)", shown, typeof(x)))
  }
  sprintf("a %s of length %d", if (is.list(x)) "list" else paste(typeof(x), "vector"), length(x))
}
