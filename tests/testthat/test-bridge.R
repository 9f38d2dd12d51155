# R/bridge.R, the boundary between R and Python: tables both ways, results as R values (from_py and
# the py_to_r methods), arguments (as_py_arg, capture_args), the one call (fastai_call) with its
# classed errors and console output.

# ---- tables ----

test_that("to_pandas() sends each R column type with its missing values as pandas' own", {
  skip_if_no_fastai()
  df <- data.frame(
    i = c(1L, NA, 3L), d = c(0.5, NA, NaN), s = c("a", NA, "c"), b = c(TRUE, NA, FALSE),
    f = factor(c("x", "y", NA), levels = c("y", "x")), day = as.Date(c("2024-01-02", NA, "2024-03-04")),
    stringsAsFactors = FALSE
  )
  df$l <- list("one", character(0), c("two", "three"))
  pdf <- to_pandas(df)
  expect_s3_class(pdf, "pandas.DataFrame")
  dtypes <- unlist(reticulate::py_eval("lambda d: [str(t) for t in d.dtypes]")(pdf))
  expect_identical(dtypes[-6], c("float64", "float64", "object", "object", "object", "object"))
  expect_match(dtypes[[6]], "^datetime64\\[.*UTC\\]$")
  # NA strings and NA logicals arrive as None (reticulate alone would send "NA" and True)
  col_values <- reticulate::py_eval("lambda d, c: d[c].tolist()")
  expect_null(col_values(pdf, "s")[[2]])
  expect_null(col_values(pdf, "b")[[2]])
  expect_equal(col_values(pdf, "f"), list("x", "y", NULL))
})

test_that("from_pandas() brings a converted data frame back with R's types and NAs", {
  skip_if_no_fastai()
  df <- data.frame(i = c(1L, NA, 3L), d = c(0.5, NA, NaN), s = c("a", NA, "c"), b = c(TRUE, NA, FALSE),
                   f = factor(c("x", "y", NA)), day = as.Date(c("2024-01-02", NA, "2024-03-04")))
  df$l <- list("one", character(0), c("two", "three"))
  back <- from_pandas(to_pandas(df))
  expect_s3_class(back, "data.frame")
  expect_identical(names(back), names(df))
  expect_equal(back$i, c(1, NA, 3))               # pandas' missing integers are floats
  expect_identical(back$d, c(0.5, NA, NA))          # NaN and NA are both pandas' NaN
  expect_identical(back$s, c("a", NA, "c"))
  expect_identical(back$b, c(TRUE, NA, FALSE))
  expect_identical(back$f, c("x", "y", NA))         # factors cross as strings
  expect_identical(format(back$day, "%Y-%m-%d"), c("2024-01-02", NA, "2024-03-04"))
  expect_identical(back$l, list("one", character(0), c("two", "three")))
})

test_that("one-row, zero-row and data.table sources survive the round trip with integers kept", {
  skip_if_no_fastai()
  expect_identical(from_pandas(to_pandas(data.frame(n = 7L, x = 2, s = "only"))), data.frame(n = 7L, x = 2, s = "only"))
  dt <- data.table::data.table(text = c("a", "b"), y = 0:1)
  expect_identical(from_pandas(to_pandas(dt)), data.frame(text = c("a", "b"), y = 0:1))
  expect_identical(nrow(from_pandas(to_pandas(data.frame(a = integer(0))))), 0L)
})

test_that("pandas categoricals, wide integers, nullable and list columns come back as R types", {
  skip_if_no_fastai()
  pdf <- reticulate::py_eval(paste0(
    "__import__('pandas').DataFrame({'c': __import__('pandas').Categorical(['a', None, 'b'], categories=['b', 'a']),",
    " 'big': [1, 2**40, 3], 'ni': __import__('pandas').array([1, None, 3], dtype='Int64'),",
    " 'p': [['x'], [], ['y', 'z']]})"
  ))
  back <- from_pandas(pdf)
  expect_identical(back$c, factor(c("a", NA, "b"), levels = c("b", "a")))
  expect_identical(back$big, c(1, 2^40, 3))
  expect_identical(back$ni, c(1L, NA, 3L))
  expect_identical(back$p, list("x", character(0), c("y", "z")))
})

test_that("from_pandas() refuses what is not a pandas DataFrame, before crossing", {
  skip_if_no_fastai()
  expect_error(from_pandas(reticulate::py_eval("[1, 2]", convert = FALSE)), "a pandas DataFrame",
               class = "fastai_input_error")
  expect_identical(from_pandas(data.frame(a = 1)), data.frame(a = 1))  # already an R data frame
})

# ---- results as R values ----

test_that("arrays and tensors come back row-major as vectors, matrices and arrays", {
  skip_if_no_fastai()
  to_r <- function(x) fastai:::fastai_call("to_r", list(x), verb = TRUE)
  a <- to_r(reticulate::py_eval("__import__('torch').arange(24).reshape(2, 3, 4)", convert = FALSE))
  expect_identical(dim(a), c(2L, 3L, 4L))
  expect_identical(a[2, 3, 4], 23L)
  expect_identical(a[1, 2, 1], 4L)
  m <- to_r(reticulate::py_eval("__import__('numpy').array([[1.5, 2], [3, 4]])", convert = FALSE))
  expect_identical(m, matrix(c(1.5, 2, 3, 4), 2, byrow = TRUE))
  expect_identical(to_r(reticulate::py_eval("__import__('torch').tensor([True, False])", convert = FALSE)),
                   c(TRUE, FALSE))
})

test_that("fastcore's L arrives as an R vector", {
  skip_if_no_fastai()
  L <- reticulate::import("fastcore.foundation", convert = FALSE)$L
  expect_identical(reticulate::py_to_r(L(list("a", "b", "c"))), c("a", "b", "c"))
  expect_identical(reticulate::py_to_r(L(list(1L, 2L))), 1:2)
  expect_identical(reticulate::py_to_r(L(list())), list())
})

test_that("fastai's TitledStr, TensorText and CategoryMap arrive as a string, integers and labels", {
  skip_if_no_fastai()
  torch_core <- reticulate::import("fastai.torch_core", convert = FALSE)
  text_data <- reticulate::import("fastai.text.data", convert = FALSE)
  transforms <- reticulate::import("fastai.data.transforms", convert = FALSE)
  expect_identical(reticulate::py_to_r(torch_core$TitledStr("xxbos hello")), "xxbos hello")
  expect_identical(reticulate::py_to_r(text_data$TensorText(list(2L, 9L, 10L))), c(2L, 9L, 10L))
  expect_identical(reticulate::py_to_r(transforms$CategoryMap(list("joy", "anger", "joy"))), c("anger", "joy"))
})

test_that("NumPy scalars (a pipeline's scores) arrive as R numbers, integers and logicals", {
  skip_if_no_fastai()
  np <- reticulate::import("numpy", convert = FALSE)
  expect_equal(reticulate::py_to_r(np$float32(0.25)), 0.25)
  expect_identical(reticulate::py_to_r(np$int64(3L)), 3L)
  expect_identical(reticulate::py_to_r(np$bool_(TRUE)), TRUE)
})

# ---- arguments ----

test_that("arguments: whole scalars become ints, vectors lists of floats, factors strings", {
  skip_if_no_fastai()
  type_of <- function(x) reticulate::import_builtins()$type(fastai:::as_py_arg(x))$`__name__`
  expect_identical(type_of(8), "int")
  expect_identical(type_of(0.2), "float")
  expect_identical(type_of(c(1, 2)), "list")
  expect_identical(type_of(factor("a")), "str")
  expect_identical(type_of(list(a = 1, b = "x")), "dict")
})

test_that("a fastai wrapper given uncalled becomes the Python object it stands for", {
  skip_if_no_fastai()
  expect_identical(reticulate::py_str(fastai:::as_py_arg(accuracy_multi)), reticulate::py_str(accuracy_multi()))
  expect_identical(py_name(fastai:::as_py_arg(Adam)), "Adam")
})

# A wrapper in the package's style, calling a Python function that shows what it received.
echo <- function(a, b, ...) {
  fastai:::fastai_call(reticulate::py_eval("lambda a, b='python default', *args, **kw: repr((a, b, args, kw))"),
                       fastai:::capture_args())
}

test_that("capture_args passes only the arguments given, so Python's defaults apply", {
  skip_if_no_fastai()
  expect_identical(echo(1), "(1, 'python default', (), {})")
  expect_identical(echo(a = "x", b = 2.5), "('x', 2.5, (), {})")
})

test_that("capture_args passes an explicit NULL as None", {
  skip_if_no_fastai()
  expect_identical(echo(1, NULL), "(1, None, (), {})")
  expect_identical(echo(1, k = NULL), "(1, 'python default', (), {'k': None})")
})

test_that("capture_args passes dots as given: unnamed ones positionally, named ones by name", {
  skip_if_no_fastai()
  echo_dots <- function(...) {
    fastai:::fastai_call(reticulate::py_eval("lambda *args, **kw: repr((args, kw))"), fastai:::capture_args())
  }
  expect_identical(echo_dots(1, "x", k = "v", z = NULL), "((1, 'x'), {'k': 'v', 'z': None})")
  expect_identical(echo_dots(), "((), {})")
})

test_that("capture_args evaluates each argument once and binds the value in the wrapper", {
  n <- 0
  five <- function() {
    n <<- n + 1
    5
  }
  twice <- function(x) {
    args <- fastai:::capture_args()
    c(args$x, x, x)
  }
  expect_identical(twice(five()), c(5, 5, 5))
  expect_identical(n, 1)
})

test_that("capture_args checks arguments with modifiers before anything crosses", {
  counted <- function(bs) fastai:::capture_args(list(bs = fastai:::count_arg()))
  expect_identical(counted(8), list(bs = 8L))
  expect_error(counted("8"), "bs must be a positive whole number, not \"8\" \\(character\\)",
               class = "fastai_input_error")
})

test_that("capture_args gives partial, slice, Recall and accuracy fastai's meaning", {
  skip_if_no_fastai()
  args <- (function(opt_func, lr, metrics) fastai:::capture_args())(
    opt_func = partial(Adam), lr = slice(1e-5, 1e-3), metrics = list(accuracy(), Recall())
  )
  expect_identical(py_type(args$opt_func), "partial")
  expect_identical(py_name(args$opt_func$func), "Adam")
  expect_identical(py_type(args$lr), "slice")
  expect_equal(c(args$lr$start, args$lr$stop), c(1e-5, 1e-3))
  expect_identical(py_name(args$metrics[[1]]), "accuracy")
  expect_identical(args$metrics[[2]]$name, "recall_score")
})

# ---- the call ----

test_that("a Python exception becomes a classed R error with the message and a hint, no traceback", {
  skip_if_no_fastai()
  err <- tryCatch(get_hf_objects(file.path(tempdir(), "no", "such", "model")), error = identity)
  expect_s3_class(err, c("fastai_ValueError", "fastai_python_error", "fastai_error", "error"))
  expect_match(conditionMessage(err), "^ValueError: model folder .* does not exist")
  expect_match(conditionMessage(err), "Hint: change the value or data the message names; see \\?get_hf_objects")
  expect_false(grepl("Traceback|File \"", conditionMessage(err)))
  expect_identical(err$python_type, "ValueError")
  expect_true(nzchar(err$hint))
  expect_identical(deparse(err$call[[1]]), "get_hf_objects")
})

test_that("a Python error inside a verb arrives once, classed, naming the culprit", {
  skip_if_no_fastai()
  learn <- multilabel_learner(n = 24L)
  # An unknown argument fails in Python; the error names it (and reporting the call does not
  # re-run the verb).
  expect_error(fit(learn, 1, lr = 1e-3, not_an_arg = 1), "not_an_arg", class = "fastai_python_error")
  expect_error(Learner(learn$dls, learn$model, not_an_arg = 1), "not_an_arg", class = "fastai_python_error")
  expect_error(DataBlock(not_an_arg = 1), "not_an_arg", class = "fastai_python_error")
})

test_that("what Python prints during a call reaches R's console output", {
  skip_if_no_fastai()
  withr::local_options(list(fastai.progress = "table"))
  say <- reticulate::py_eval("lambda s: print(s)", convert = FALSE)
  expect_output(fastai:::fastai_call(say, list("hello from Python")), "hello from Python")
  withr::local_options(list(fastai.progress = "silent"))
  expect_silent(fastai:::fastai_call(say, list("hello from Python")))
})

test_that("progress mode: the epoch table in knitr and logs, bars in a console, checked option", {
  withr::with_options(list(fastai.progress = "auto", knitr.in.progress = TRUE),
                      expect_identical(fastai:::progress_mode(), "table"))
  withr::with_options(list(fastai.progress = "bar"), expect_identical(fastai:::progress_mode(), "bar"))
  withr::with_options(list(fastai.progress = "loud"),
                      expect_error(fastai:::progress_mode(), "fastai.progress", class = "fastai_input_error"))
})
