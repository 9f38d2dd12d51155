# The R <-> Python boundary: conversions both ways, argument rules, classed errors.

test_that("to_pandas() keeps types and missing values, from_pandas() brings them back", {
  skip_if_no_fastai()
  df <- data.frame(
    i = c(1L, NA, 3L), d = c(0.5, NA, NaN), s = c("a", NA, "c"), b = c(TRUE, NA, FALSE),
    f = factor(c("x", "y", NA), levels = c("y", "x")), day = as.Date(c("2024-01-02", NA, "2024-03-04")),
    stringsAsFactors = FALSE
  )
  df$l <- list("one", character(0), c("two", "three"))
  pdf <- to_pandas(df)
  expect_s3_class(pdf, "pandas.DataFrame")
  dtypes <- reticulate::py_eval("lambda d: [str(t) for t in d.dtypes]")(pdf)
  expect_equal(unlist(dtypes)[-6], c("float64", "float64", "object", "object", "object", "object"))
  expect_match(dtypes[[6]], "^datetime64\\[.*UTC\\]$")
  # NA strings arrive as None and NA logicals as None (reticulate alone would send "NA" and True)
  col_values <- reticulate::py_eval("lambda d, c: d[c].tolist()")
  expect_null(col_values(pdf, "s")[[2]])
  expect_null(col_values(pdf, "b")[[2]])
  expect_equal(col_values(pdf, "f"), list("x", "y", NULL))

  back <- from_pandas(pdf)
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

test_that("integers stay integers and a one-row table survives reticulate's scalar conversion", {
  skip_if_no_fastai()
  back <- from_pandas(to_pandas(data.frame(n = 7L, x = 2, s = "only")))
  expect_identical(back, data.frame(n = 7L, x = 2, s = "only"))
  dt <- data.table::data.table(text = c("a", "b"), y = 0:1)
  expect_identical(from_pandas(to_pandas(dt)), data.frame(text = c("a", "b"), y = 0:1))
  expect_identical(nrow(from_pandas(to_pandas(data.frame(a = integer(0))))), 0L)
})

test_that("pandas categoricals, wide integers and nullable columns come back as R types", {
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

test_that("arrays come back row-major as matrices and arrays", {
  skip_if_no_fastai()
  arr <- reticulate::py_eval("__import__('torch').arange(24).reshape(2, 3, 4)")
  a <- fastai:::bridge_call("to_r", arr)
  expect_identical(dim(a), c(2L, 3L, 4L))
  expect_identical(a[2, 3, 4], 23L)
  expect_identical(a[1, 2, 1], 4L)
  m <- fastai:::bridge_call("to_r", reticulate::py_eval("__import__('numpy').array([[1.5, 2], [3, 4]])"))
  expect_identical(m, matrix(c(1.5, 2, 3, 4), 2, byrow = TRUE))
})

test_that("arguments: whole scalars become ints, vectors stay floats, wrappers become their objects", {
  skip_if_no_fastai()
  type_of <- function(x) reticulate::import_builtins()$type(fastai:::as_py_arg(x))$`__name__`
  expect_identical(type_of(8), "int")
  expect_identical(type_of(0.2), "float")
  expect_identical(type_of(c(1, 2)), "list")
  expect_identical(type_of(factor("a")), "str")
  expect_identical(reticulate::py_str(fastai:::as_py_arg(accuracy_multi)), reticulate::py_str(accuracy_multi()))
  expect_true(reticulate::py_eval("lambda f: f.func.__name__ == 'Adam'")(partial(Adam)))
  p <- partial(accuracy_multi(), thresh = 0.2)
  expect_equal(p$keywords$thresh, 0.2)
})

test_that("a Python exception becomes a classed R error with the message and a hint, no traceback", {
  skip_if_no_fastai()
  err <- tryCatch(get_hf_objects(file.path(tempdir(), "no", "such", "model")), error = identity)
  expect_s3_class(err, c("fastai_ValueError", "fastai_python_error", "fastai_error", "error"))
  expect_match(conditionMessage(err), "^ValueError: model folder .* does not exist")
  expect_match(conditionMessage(err), "Hint: check the arguments; see \\?get_hf_objects")
  expect_false(grepl("Traceback|File \"", conditionMessage(err)))
  expect_identical(err$python_type, "ValueError")
  expect_identical(deparse(err$call[[1]]), "get_hf_objects")
})

test_that("bad R input fails before crossing, with classed errors", {
  expect_error(fastai:::check_count(0, "bs"), class = "fastai_input_error")
  expect_error(fastai:::check_count(2.5, "bs"), "bs must be a positive whole number, not 2.5")
  expect_error(fastai:::check_count("8", "bs"), "not \"8\" \\(character\\)")
  expect_identical(fastai:::check_count(8, "bs"), 8L)
  expect_error(fit_one_cycle("learn", 1), class = "fastai_input_error")
  expect_error(fit_one_cycle("learn", 1), "a fastai Learner")
  expect_error(predict(structure(list(), class = "fastai.learner.Learner"), NA_character_),
               "positions 1 are missing or empty")
  expect_error(IndexSplitter(c(0, 2)), class = "fastai_input_error")
  withr::with_options(list(fastai.progress = "loud"), expect_error(fastai:::progress_mode(), "fastai.progress"))
})

test_that("progress mode: the epoch table in knitr and logs, bars in a console", {
  withr::with_options(list(fastai.progress = "auto", knitr.in.progress = TRUE),
                      expect_identical(fastai:::progress_mode(), "table"))
  withr::with_options(list(fastai.progress = "bar"), expect_identical(fastai:::progress_mode(), "bar"))
})
