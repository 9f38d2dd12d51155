# Every input check of the package, worded for R users, raising fastai_input_error before anything
# crosses to Python. The check_*() functions check one value; the *_arg() constructors turn them into
# modifiers for capture_args() (function(value, name, call)), which let NULL through: an explicit
# NULL is Python's None, which the Python side then accepts or refuses in words of its own.

# Short description of a value for error messages, as R prints it: "0 (double)", "c(0.001, -1)".
describe <- function(x) {
  if (is.null(x)) return("NULL")
  if (inherits(x, "python.builtin.object")) return(sprintf("a Python %s", class(x)[1L]))
  if (is.function(x)) return("a function")
  if (is.data.frame(x)) return("a data frame")
  shown <- function(v) if (is.character(v) && !is.na(v)) sprintf("\"%s\"", v) else format(v)
  if (is.atomic(x) && length(x) == 1L) return(sprintf("%s (%s)", shown(x), typeof(x)))
  if (is.atomic(x) && length(x) > 1L && length(x) <= 6L && is.null(attributes(x))) {
    return(sprintf("c(%s)", paste(vapply(x, shown, ""), collapse = ", ")))
  }
  sprintf("a %s of length %d", if (is.list(x)) "list" else paste(typeof(x), "vector"), length(x))
}

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

# A path for Python: expanded, as a string.
check_path <- function(x, name, call = sys.call(sys.parent())) path.expand(check_string(x, name, call = call))

# One of `choices` (the first when `x` is the whole default vector).
check_choice <- function(x, choices, name, call = sys.call(sys.parent())) {
  if (identical(x, choices)) return(choices[1L])
  if (!(is.character(x) && length(x) == 1L && x %in% choices)) {
    abort_input(sprintf("%s must be one of %s, not %s", name, paste0('"', choices, '"', collapse = ", "),
                        describe(x)), call)
  }
  x
}

# A Python object of the given class (e.g. a fastai Learner), or an input error naming what it is.
check_py <- function(x, class, name, what, call = sys.call(sys.parent())) {
  if (!inherits(x, class)) {
    hint <- if (is.data.frame(x)) "; build one from the data first" else ""
    abort_input(sprintf("%s must be %s, not %s%s", name, what, describe(x), hint), call)
  }
  x
}

check_learner <- function(x, name = "the learner", call = sys.call(sys.parent())) {
  check_py(x, "fastai.learner.Learner", name, "a fastai Learner (from Learner() or load_learner())", call)
}

check_text_learner <- function(x, name = "the learner", call = sys.call(sys.parent())) {
  check_py(x, "fastai.text.learner.TextLearner", name,
           "a fastai text learner (from language_model_learner() or text_classifier_learner())", call)
}

check_dls <- function(x, name = "dls", call = sys.call(sys.parent())) {
  check_py(x, "fastai.data.core.DataLoaders", name, "DataLoaders (from dataloaders() or TextDataLoaders_from_df())",
           call)
}

# An interpretation or a learner, the `x` of the functions below.
check_interp <- function(x, call = sys.call(sys.parent())) {
  if (inherits(x, c("fastai.interpret.Interpretation", "fastai.learner.Learner"))) return(x)
  abort_input(sprintf("x must be a ClassificationInterpretation or a fastai Learner, not %s", describe(x)), call)
}

check_data_frame <- function(x, name, call = sys.call(sys.parent())) {
  if (!is.data.frame(x)) abort_input(sprintf("%s must be a data frame, not %s", name, describe(x)), call)
  if (!nrow(x)) abort_input(sprintf("%s has zero rows", name), call)
  x
}

# Texts: a character vector without NA or empty strings (a factor is taken as its labels). With
# `frame_ok`, a data frame passes too (Python checks it for the learner's text column).
check_texts <- function(texts, name = "texts", frame_ok = FALSE, call = sys.call(sys.parent())) {
  if (frame_ok && is.data.frame(texts)) return(check_data_frame(texts, name, call))
  if (is.factor(texts)) texts <- as.character(texts)
  if (!is.character(texts) || !length(texts)) {
    what <- if (frame_ok) "a character vector or a data frame" else "a character vector"
    abort_input(sprintf("%s must be %s, not %s", name, what, describe(texts)), call)
  }
  bad <- which(is.na(texts) | !nzchar(trimws(texts)))
  if (length(bad)) {
    abort_input(sprintf(paste0("%s at positions %s are missing or empty; every text must be a non-empty string ",
                               "(drop them, e.g. texts[!is.na(texts) & nzchar(trimws(texts))])"),
                        name, paste(utils::head(bad, 10L), collapse = ", ")), call)
  }
  as.list(unname(texts))  # a list crosses as a Python list, also for one text; a named one as a dict
}

# Token lists: a list of character vectors (text_tokens() output); one-token texts stay lists.
check_tokens <- function(tokens, name = "tokens", call = sys.call(sys.parent())) {
  ok <- is.list(tokens) && length(tokens) &&
    all(vapply(tokens, function(t) is.character(t) && !anyNA(t), logical(1)))
  if (!ok) abort_input(sprintf("%s must be a list of character vectors (as text_tokens() returns), not %s",
                               name, describe(tokens)), call)
  lapply(tokens, as.list)
}

# A learning rate: a positive number, one per parameter group, or a Python slice (lr_slice()).
check_lr <- function(lr, name, call = sys.call(sys.parent())) {
  if (inherits(lr, "python.builtin.slice")) return(lr)
  if (!(is.numeric(lr) && length(lr) >= 1L && !anyNA(lr) && all(is.finite(lr) & lr > 0))) {
    abort_input(sprintf(paste0("%s must be a number > 0 and finite (a learning rate, typically 1e-5 to 1e-2), one ",
                               "per parameter group, or slice(lowest, highest); not %s"), name, describe(lr)), call)
  }
  if (length(lr) > 1L) as.list(lr) else lr  # a list crosses as a list; Python makes it an array
}

# Column names from names or R positions (fastai counts positions from 0, R from 1).
check_columns <- function(df, cols, name, call = sys.call(sys.parent())) {
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

# --------------------------------------------------------- modifiers for capture_args() ----

count_arg <- function(min = 1L) function(x, name, call) if (is.null(x)) x else check_count(x, name, min, call)
int_arg <- function() function(x, name, call) if (is.null(x)) x else check_int(x, name, call)
flag_arg <- function() function(x, name, call) if (is.null(x)) x else check_flag(x, name, call)
string_arg <- function() function(x, name, call) if (is.null(x)) x else check_string(x, name, call = call)
path_arg <- function() function(x, name, call) if (is.null(x)) x else check_path(x, name, call)
lr_arg <- function() function(x, name, call) if (is.null(x)) x else check_lr(x, name, call)
learner_arg <- function() function(x, name, call) check_learner(x, name, call)
dls_arg <- function() function(x, name, call) check_dls(x, name, call)
texts_arg <- function(frame_ok = FALSE) function(x, name, call) check_texts(x, name, frame_ok, call)
tokens_arg <- function() function(x, name, call) check_tokens(x, name, call)
number_arg <- function(min = -Inf, max = Inf, len = 1L) {
  function(x, name, call) {
    x <- check_number(x, name, null_ok = TRUE, min = min, max = max, len = len, call = call)
    if (length(x) > 1L) as.list(x) else x
  }
}
choice_arg <- function(choices) function(x, name, call) check_choice(x, choices, name, call)
# Character vectors cross as lists, so that one element stays a list in Python.
strings_arg <- function() {
  function(x, name, call) {
    if (is.null(x)) return(x)
    if (!is.character(x) || anyNA(x)) abort_input(sprintf("%s must be a character vector, not %s", name, describe(x)), call)
    as.list(x)
  }
}

# Texts (a character vector), word lists (a list of character vectors: token classification) or a data
# frame: what predict() takes.
words_input_arg <- function() {
  function(x, name, call) {
    if (is.data.frame(x)) return(check_data_frame(x, name, call))
    if (is.list(x)) {
      ok <- length(x) && all(vapply(x, function(w) (is.character(w) || is.factor(w)) && length(w) && !anyNA(w),
                                    logical(1)))
      if (!ok) {
        abort_input(sprintf("%s must be texts, a list of character vectors (words) or a data frame; a list element %s",
                            name, "is empty, NA or not a character vector"), call)
      }
      return(lapply(x, function(w) as.list(as.character(w))))
    }
    if (!is.character(x) && !is.factor(x)) {
      abort_input(sprintf("%s must be texts (a character vector), a list of character vectors (words) or a data frame, not %s",
                          name, describe(x)), call)
    }
    check_texts(x, name, call = call)
  }
}

# A data frame argument, or NULL.
frame_arg <- function() function(x, name, call) if (is.null(x)) x else check_data_frame(x, name, call)
