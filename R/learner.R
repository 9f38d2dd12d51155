#' Create a Learner
#'
#' fastai's `Learner`: DataLoaders, a model, a loss, an optimizer, metrics and callbacks. Arguments
#' that take Python functions or objects accept the fastai wrappers uncalled or called with no
#' arguments: `opt_func = Adam` or `partial(Adam)`, `metrics = accuracy_multi()` or
#' `partial(accuracy_multi(), thresh = 0.2)`, `cbs = HF_BaseModelCallback()`,
#' `splitter = hf_splitter()`. The learner is a Python object: its fields and methods are
#' reachable with `$` (`learn$loss_func$thresh <- 0.2`, `learn$freeze()`).
#'
#' @param dls DataLoaders from [dataloaders()].
#' @param model The model, e.g. `HF_BaseModelWrapper(hf_model)`.
#' @param loss_func A loss, e.g. [BCEWithLogitsLossFlat()] (default: chosen from the data).
#' @param opt_func An optimizer function, e.g. `Adam` (the default), `FusedAdam` (the same, faster)
#'   or `partial(Adam, eps = 1e-6)`.
#' @param lr Default learning rate.
#' @param splitter A function splitting the model's parameters into groups, e.g. `hf_splitter()`.
#' @param cbs A callback or list of callbacks.
#' @param metrics A metric or list of metrics.
#' @param path,model_dir Where [export()] and saved models go (`path`: default the data's).
#' @param wd Weight decay.
#' @param ... Further arguments of the Python class (`wd_bn_bias`, `train_bn`, `moms`).
#' @return A fastai `Learner` (Python object).
#' @export
Learner <- function(dls, model, loss_func = NULL, opt_func = Adam, lr = 0.001, splitter = NULL, cbs = NULL,
                    metrics = NULL, path = NULL, model_dir = "models", wd = NULL, ...) {
  check_py(dls, "fastai.data.core.DataLoaders", "dls", "DataLoaders (from dataloaders())")
  check_py(model, "torch.nn.modules.module.Module", "model", "a torch model, e.g. HF_BaseModelWrapper(hf_model)")
  lr <- if (inherits(lr, "python.builtin.slice")) lr else check_number(lr, "lr", min = 0)
  wd <- check_number(wd, "wd", null_ok = TRUE, min = 0)
  if (!is.null(path)) path <- path.expand(check_string(path, "path"))
  args <- compact(list(loss_func = loss_func, opt_func = opt_func, lr = lr, splitter = splitter, cbs = cbs,
                       metrics = metrics, path = path, model_dir = model_dir, wd = wd))
  do.call(py_call, c(list(py_fastai()$Learner, dls, model), args, list(...), list(.call = sys.call())), quote = TRUE)
}

#' Fix some arguments of a function (Python's functools.partial)
#'
#' `partial(Adam, eps = 1e-6)` is an optimizer function with `eps` set; `partial(accuracy_multi(),
#' thresh = 0.2)` a metric with its threshold. A fastai wrapper may be given uncalled (`Adam`).
#'
#' @param f A Python function or a fastai wrapper function.
#' @param ... Arguments to fix (named).
#' @return A Python `functools.partial`.
#' @export
#' @examplesIf fastai_available()
#' partial(accuracy_multi(), thresh = 0.2)
partial <- function(f, ...) {
  f <- as_py_arg(f)
  if (!(is.function(f) || inherits(f, "python.builtin.object"))) {
    abort_input(sprintf("f must be a function, not %s", describe(f)))
  }
  py_call(reticulate::import("functools")$partial, f, ..., .call = sys.call())
}

#' A Python slice of learning rates
#'
#' `slice(1e-5, 1e-3)` spreads learning rates over the parameter groups, from the first (the
#' embeddings, with [hf_splitter()]) to the last (the head); `slice(1e-3)` gives the last group
#' `1e-3` and the others a tenth of it. Pass it as `lr_max =` or `lr =`.
#'
#' @param start,stop Learning rates; with only `start`, Python's `slice(start)`.
#' @return A Python `slice`.
#' @export
#' @examplesIf fastai_available()
#' slice(1e-5, 1e-3)
slice <- function(start, stop = NULL) {
  start <- check_number(start, "start", min = 0)
  builtins <- reticulate::import_builtins()
  ensure_python()
  if (is.null(stop)) return(builtins$slice(start))
  builtins$slice(start, check_number(stop, "stop", min = 0))
}

#' Optimizers
#'
#' fastai's optimizer functions. With no arguments each returns the Python function itself, which
#' is what `opt_func =` of [Learner()] and [partial()] take (`opt_func = Adam` works too). With
#' arguments (parameters first) it builds an optimizer, as in Python.
#'
#' `FusedAdam` is fastai's `Adam` (same arguments and hyper-parameters, the same updates to float
#' rounding, so one-cycle momentum, discriminative learning rates and freezing behave the same)
#' with its step done by torch's fused multi-tensor kernel: about ten times faster per step for a
#' transformer on a CPU (MiniLM: 10 ms against 130 ms).
#'
#' @param ... Arguments of the Python function.
#' @return A Python function, or an optimizer.
#' @name optimizers
#' @examplesIf fastai_available()
#' Adam()
#' partial(Adam, eps = 1e-6)
#' partial(FusedAdam, wd = 0.1)
NULL

#' @rdname optimizers
#' @export
Adam <- py_wrapper("Adam")

#' @rdname optimizers
#' @export
FusedAdam <- py_wrapper("FusedAdam")

#' @rdname optimizers
#' @export
SGD <- py_wrapper("SGD")

#' @rdname optimizers
#' @export
RAdam <- py_wrapper("RAdam")

#' @rdname optimizers
#' @export
QHAdam <- py_wrapper("QHAdam")

#' @rdname optimizers
#' @export
Lamb <- py_wrapper("Lamb")

#' @rdname optimizers
#' @export
Larc <- py_wrapper("Larc")

#' @rdname optimizers
#' @export
RMSProp <- py_wrapper("RMSProp")

#' @rdname optimizers
#' @export
Lookahead <- py_wrapper("Lookahead")

#' @rdname optimizers
#' @export
ranger <- py_wrapper("ranger")

#' Loss functions
#'
#' fastai's flattened losses, for `loss_func =` of [Learner()]: `BCEWithLogitsLossFlat()` for
#' multi-label targets (its `thresh` decides which labels [predict()] returns),
#' `CrossEntropyLossFlat()` and `LabelSmoothingCrossEntropyFlat()` for single-label ones. Each
#' call returns a loss object.
#'
#' @param ... Arguments of the Python class, e.g. `thresh`, `weight`, `pos_weight`, `eps`.
#' @return A loss object (Python).
#' @name losses
#' @examplesIf fastai_available()
#' loss <- BCEWithLogitsLossFlat(thresh = 0.3)
#' loss$thresh
NULL

#' @rdname losses
#' @export
BCEWithLogitsLossFlat <- py_wrapper("BCEWithLogitsLossFlat", "instance")

#' @rdname losses
#' @export
CrossEntropyLossFlat <- py_wrapper("CrossEntropyLossFlat", "instance")

#' @rdname losses
#' @export
LabelSmoothingCrossEntropyFlat <- py_wrapper("LabelSmoothingCrossEntropyFlat", "instance")

#' @rdname losses
#' @export
LabelSmoothingCrossEntropy <- py_wrapper("LabelSmoothingCrossEntropy", "instance")

#' @rdname losses
#' @export
FocalLossFlat <- py_wrapper("FocalLossFlat", "instance")

#' @rdname losses
#' @export
BCELossFlat <- py_wrapper("BCELossFlat", "instance")

#' @rdname losses
#' @export
MSELossFlat <- py_wrapper("MSELossFlat", "instance")

#' @rdname losses
#' @export
L1LossFlat <- py_wrapper("L1LossFlat", "instance")

#' Metrics
#'
#' For `metrics =` of [Learner()]. Metric functions (`accuracy`, `accuracy_multi`, `error_rate`,
#' `top_k_accuracy`) with no arguments return the Python function; set their options with
#' [partial()], e.g. `partial(accuracy_multi(), thresh = 0.2)`. Metric classes (`F1Score`,
#' `F1ScoreMulti`, `RocAucMulti`, `Precision`, `Recall`, ...) are called: `F1ScoreMulti()` or
#' `F1ScoreMulti(average = "micro", thresh = 0.3)`. The `*Multi` ones are for multi-label data.
#'
#' `Recall` masks base R's `Recall()` (recursion by name) once fastai is attached; write
#' `base::Recall()` for that one.
#'
#' @param ... Arguments of the Python function or class.
#' @return A Python function or metric object.
#' @name metrics
#' @examplesIf fastai_available()
#' metrics <- list(partial(accuracy_multi(), thresh = 0.2), F1ScoreMulti(average = "macro"))
NULL

#' @rdname metrics
#' @export
accuracy <- py_wrapper("accuracy")

#' @rdname metrics
#' @export
accuracy_multi <- py_wrapper("accuracy_multi")

#' @rdname metrics
#' @export
error_rate <- py_wrapper("error_rate")

#' @rdname metrics
#' @export
top_k_accuracy <- py_wrapper("top_k_accuracy")

#' @rdname metrics
#' @export
F1Score <- py_wrapper("F1Score", "instance")

#' @rdname metrics
#' @export
F1ScoreMulti <- py_wrapper("F1ScoreMulti", "instance")

#' @rdname metrics
#' @export
FBeta <- py_wrapper("FBeta", "instance")

#' @rdname metrics
#' @export
FBetaMulti <- py_wrapper("FBetaMulti", "instance")

#' @rdname metrics
#' @export
Precision <- py_wrapper("Precision", "instance")

#' @rdname metrics
#' @export
PrecisionMulti <- py_wrapper("PrecisionMulti", "instance")

#' @rdname metrics
#' @export
Recall <- py_wrapper("Recall", "instance")

#' @rdname metrics
#' @export
RecallMulti <- py_wrapper("RecallMulti", "instance")

#' @rdname metrics
#' @export
RocAuc <- py_wrapper("RocAuc", "instance")

#' @rdname metrics
#' @export
RocAucBinary <- py_wrapper("RocAucBinary", "instance")

#' @rdname metrics
#' @export
RocAucMulti <- py_wrapper("RocAucMulti", "instance")

#' @rdname metrics
#' @export
MatthewsCorrCoef <- py_wrapper("MatthewsCorrCoef", "instance")

#' @rdname metrics
#' @export
MatthewsCorrCoefMulti <- py_wrapper("MatthewsCorrCoefMulti", "instance")

#' @rdname metrics
#' @export
BalancedAccuracy <- py_wrapper("BalancedAccuracy", "instance")

#' @rdname metrics
#' @export
CohenKappa <- py_wrapper("CohenKappa", "instance")

#' @rdname metrics
#' @export
HammingLoss <- py_wrapper("HammingLoss", "instance")

#' @rdname metrics
#' @export
HammingLossMulti <- py_wrapper("HammingLossMulti", "instance")

#' @rdname metrics
#' @export
Jaccard <- py_wrapper("Jaccard", "instance")

#' @rdname metrics
#' @export
JaccardMulti <- py_wrapper("JaccardMulti", "instance")

#' @rdname metrics
#' @export
APScoreBinary <- py_wrapper("APScoreBinary", "instance")

#' @rdname metrics
#' @export
APScoreMulti <- py_wrapper("APScoreMulti", "instance")

#' @rdname metrics
#' @export
Perplexity <- py_wrapper("Perplexity", "instance")

#' @rdname metrics
#' @export
BrierScore <- py_wrapper("BrierScore", "instance")

#' Callbacks
#'
#' fastai callbacks for `cbs =` of [Learner()] or of the training verbs; each call returns a
#' callback object. `EarlyStoppingCallback(monitor = "valid_loss", patience = 1L)` stops when the
#' monitored value stops improving, `SaveModelCallback()` keeps the best weights,
#' `ReduceLROnPlateau()`, `GradientClip()`, `GradientAccumulation(n_acc = 32L)`, `CSVLogger()`,
#' `MixedPrecision()` (see also [to_fp16()]).
#'
#' @param ... Arguments of the Python class.
#' @return A callback (Python object).
#' @name callbacks
NULL

#' @rdname callbacks
#' @export
EarlyStoppingCallback <- py_wrapper("EarlyStoppingCallback", "instance")

#' @rdname callbacks
#' @export
SaveModelCallback <- py_wrapper("SaveModelCallback", "instance")

#' @rdname callbacks
#' @export
ReduceLROnPlateau <- py_wrapper("ReduceLROnPlateau", "instance")

#' @rdname callbacks
#' @export
GradientClip <- py_wrapper("GradientClip", "instance")

#' @rdname callbacks
#' @export
GradientAccumulation <- py_wrapper("GradientAccumulation", "instance")

#' @rdname callbacks
#' @export
CSVLogger <- py_wrapper("CSVLogger", "instance")

#' @rdname callbacks
#' @export
MixedPrecision <- py_wrapper("MixedPrecision", "instance")

#' Summary of a Learner
#'
#' fastai's `learn.summary()`: the layer table (output shapes, parameters, trainable or not), the
#' total and trainable parameter counts, optimizer, loss, frozen state and callbacks. It runs one
#' batch through the model.
#'
#' @param object A [Learner()].
#' @param x A `fastai_summary`.
#' @param ... Unused.
#' @return A `fastai_summary`: the text, printed with `print()`.
#' @method summary fastai.learner.Learner
#' @export
summary.fastai.learner.Learner <- function(object, ...) {
  text <- bridge_call("summary", object, write = r_writer, mode = progress_mode(), .call = sys.call())
  structure(text, class = "fastai_summary")
}

#' @rdname summary.fastai.learner.Learner
#' @export
print.fastai_summary <- function(x, ...) {
  cat(unclass(x), sep = "\n")
  invisible(x)
}

#' Mixed precision
#'
#' `to_fp16()` adds fastai's `MixedPrecision` callback (half-precision training on a GPU);
#' `to_fp32()` removes it.
#'
#' @param learn A [Learner()].
#' @param ... Arguments of the Python method.
#' @return The learner, invisibly.
#' @export
to_fp16 <- function(learn, ...) {
  check_learner(learn)
  py_call(learn$to_fp16, ..., .call = sys.call())
  invisible(learn)
}

#' @rdname to_fp16
#' @export
to_fp32 <- function(learn) {
  check_learner(learn)
  with_py_errors(learn$to_fp32())
  invisible(learn)
}

#' Set the random seeds
#'
#' Seeds R's generator and, through fastai's `set_seed`, Python's, NumPy's and torch's.
#'
#' @param seed A whole number.
#' @param reproducible Also make torch's cuDNN deterministic (slower on a GPU).
#' @return `seed`, invisibly.
#' @export
set_seed <- function(seed, reproducible = FALSE) {
  seed <- check_int(seed, "seed")
  reproducible <- check_flag(reproducible, "reproducible")
  set.seed(seed)
  py_call(py_fastai()$set_seed, seed, reproducible = reproducible, .call = sys.call())
  invisible(seed)
}

#' Save and load a whole Learner
#'
#' `export()` pickles the learner (model, data pipeline and tokenizer, without the data) to
#' `file.path(learn$path, fname)`; `load_learner()` reads it back, ready for [predict()]. For a
#' folder other libraries can load, see [hf_save_pretrained()].
#'
#' @param learn A [Learner()].
#' @param fname The file name (relative to the learner's path) or an absolute path.
#' @param cpu Load onto the CPU.
#' @return `export()`: the written path, invisibly. `load_learner()`: a Learner.
#' @export
export <- function(learn, fname = "export.pkl") {
  check_learner(learn)
  fname <- path.expand(check_string(fname, "fname"))
  with_py_errors(learn$export(fname))
  invisible(with_py_errors(reticulate::py_str(learn$path$joinpath(fname))))
}

#' @rdname export
#' @export
load_learner <- function(fname, cpu = TRUE) {
  fname <- path.expand(check_string(fname, "fname"))
  if (!file.exists(fname)) abort_input(sprintf("file '%s' does not exist", fname))
  cpu <- check_flag(cpu, "cpu")
  py_call(py_fastai()$load_learner, fname, cpu = cpu, .call = sys.call())
}
