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
#' @param opt_func An optimizer function, e.g. `Adam` (the default; fastai's Adam in one fused
#'   kernel, see [optimizers]) or `partial(Adam, eps = 1e-6)`.
#' @param lr Default learning rate.
#' @param splitter A function splitting the model's parameters into groups, e.g. `hf_splitter()`.
#' @param cbs A callback or list of callbacks.
#' @param metrics A metric or list of metrics.
#' @param path,model_dir Where [export()] and saved models go (`path`: default the data's).
#' @param wd Weight decay.
#' @param ... Further arguments of the Python class (`wd_bn_bias`, `train_bn`, `moms`).
#' @return A fastai `Learner` (Python object).
#' @export
Learner <- function(dls, model, loss_func, opt_func, lr, splitter, cbs, metrics, path, model_dir, wd, ...) {
  args <- capture_args(list(
    dls = dls_arg(),
    model = function(x, name, call) {
      check_py(x, "torch.nn.modules.module.Module", name, "a torch model, e.g. HF_BaseModelWrapper(hf_model)", call)
    },
    lr = lr_arg(), path = path_arg(), wd = number_arg(min = 0)
  ))
  fastai_call("Learner", args)
}

#' Fix some arguments of a function (Python's functools.partial)
#'
#' `py_partial(Adam, eps = 1e-6)` is an optimizer function with `eps` set;
#' `py_partial(accuracy_multi(), thresh = 0.2)` a metric with its threshold. A fastai wrapper may be
#' given uncalled (`Adam`).
#'
#' Inside fastai's functions (e.g. `Learner(opt_func = partial(Adam))`, as fastai code is usually
#' written) `partial()` means `py_partial()`, whatever else is attached; the package exports it
#' under this name so that attaching it does not mask purrr's `partial()`.
#'
#' @param f A Python function or a fastai wrapper function.
#' @param ... Arguments to fix (named).
#' @return A Python `functools.partial`.
#' @export
#' @examplesIf fastai_available()
#' py_partial(accuracy_multi(), thresh = 0.2)
#' # inside fastai's functions, as in Python:
#' # Learner(dls, model, opt_func = partial(Adam), metrics = partial(accuracy_multi(), thresh = 0.2))
py_partial <- function(f, ...) {
  fn_arg <- function(x, name, call) {
    x <- as_py_arg(x)
    if (!(is.function(x) || inherits(x, "python.builtin.object"))) {
      abort_input(sprintf("f must be a function, not %s", describe(x)), call)
    }
    x
  }
  args <- capture_args(list(f = fn_arg))
  fastai_call(reticulate::import("functools")$partial, unname_first(args))
}

# The first argument positionally (Python's partial takes its function that way).
unname_first <- function(args) {
  names(args)[1L] <- ""
  args
}

#' A Python slice of learning rates
#'
#' `lr_slice(1e-5, 1e-3)` spreads learning rates over the parameter groups, from the first (the
#' embeddings, with [hf_splitter()]) to the last (the head); `lr_slice(1e-3)` gives the last group
#' `1e-3` and the others a tenth of it. Pass it as `lr_max =` or `lr =`.
#'
#' Inside fastai's functions (e.g. `fit_one_cycle(learn, 1, slice(1e-5, 1e-3))`, as fastai code is
#' usually written) `slice()` means `lr_slice()`; the package exports it under this name so that
#' attaching it does not mask dplyr's `slice()`.
#'
#' @param start,stop Learning rates; with only `start`, Python's `slice(start)`.
#' @return A Python `slice`.
#' @export
#' @examplesIf fastai_available()
#' lr_slice(1e-5, 1e-3)
lr_slice <- function(start, stop = NULL) {
  start <- check_lr(start, "start")
  ensure_python()
  builtins <- reticulate::import_builtins()
  if (is.null(stop)) return(builtins$slice(start))
  builtins$slice(start, check_lr(stop, "stop"))
}

#' Optimizers
#'
#' fastai's optimizer functions. With no arguments each returns the Python function itself, which
#' is what `opt_func =` of [Learner()] and [py_partial()] take (`opt_func = Adam` works too). With
#' arguments (parameters first) it builds an optimizer, as in Python.
#'
#' `Adam` is fastai's Adam (same arguments and hyper-parameters, the same updates to float
#' rounding, so one-cycle momentum, discriminative learning rates and freezing behave the same)
#' with its step done by torch's fused multi-tensor kernel: about ten times faster per step for a
#' transformer on a CPU (MiniLM: 10 ms against 130 ms). It is also the default `opt_func` of
#' [Learner()], so `opt_func = Adam`, `partial(Adam)` and no `opt_func` all run the fast step.
#' Parameters the kernel would update differently (a model cast to half precision with `$half()`,
#' complex or sparse) take fastai's own per-parameter step. `FusedAdam` is the same optimizer under
#' an explicit name; fastai's original is `reticulate::import("fastai.optimizer")$Adam`.
#'
#' @param ... Arguments of the Python function.
#' @return A Python function, or an optimizer.
#' @name optimizers
#' @examplesIf fastai_available()
#' Adam()
#' py_partial(Adam, eps = 1e-6)
#' py_partial(FusedAdam, wd = 0.1)
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
#' [py_partial()], e.g. `partial(accuracy_multi(), thresh = 0.2)`. Metric classes (`F1Score`,
#' `F1ScoreMulti`, `RocAucMulti`, `Precision`, `Recall`, ...) are called: `F1ScoreMulti()` or
#' `F1ScoreMulti(average = "micro", thresh = 0.3)`. The `*Multi` ones are for multi-label data.
#'
#' Two of fastai's names are exported under others, so that attaching the package masks neither
#' base R's `Recall()` nor the generics `accuracy()` of the generics and yardstick packages:
#' `Accuracy()` is fastai's `accuracy` and `RecallScore()` fastai's `Recall`. Inside fastai's
#' functions (e.g. `Learner(metrics = list(accuracy(), Recall()))`, as fastai code is usually
#' written) the fastai names work too.
#'
#' @param ... Arguments of the Python function or class.
#' @return A Python function or metric object.
#' @name metrics
#' @examplesIf fastai_available()
#' metrics <- list(py_partial(accuracy_multi(), thresh = 0.2), F1ScoreMulti(average = "macro"))
NULL

#' @rdname metrics
#' @export
Accuracy <- py_wrapper("accuracy")

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
RecallScore <- py_wrapper("Recall", "instance")

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
  text <- fastai_call("summary", list(check_learner(object)), verb = TRUE)
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
#' `to_bf16()` trains and predicts in bfloat16 mixed precision: on a GPU with fastai's
#' `MixedPrecision` callback; on a CPU with bf16 instructions (recent x86 with AVX512-BF16 or AMX,
#' ARMv8.6+) under torch's CPU autocast, about 1.3 times faster per training step for a transformer.
#' The weights, gradients and optimizer state stay float32 (only the matrix products run in bf16).
#' On a CPU without bf16 instructions, where bf16 would be emulated and slower, it says so once
#' (a warning) and the learner stays float32. `to_fp16()` adds fastai's `MixedPrecision` callback
#' (half precision, GPU only); `to_fp32()` removes either.
#'
#' @param learn A [Learner()].
#' @param ... Arguments of the Python method.
#' @return The learner, invisibly.
#' @export
#' @examplesIf fastai_available()
#' cpu_bf16_support()
to_fp16 <- function(learn, ...) {
  args <- capture_args(list(learn = learner_arg()))
  fastai_call(reticulate::py_get_attr(learn, "to_fp16"), args[-1L])
  invisible(learn)
}

#' @rdname to_fp16
#' @export
to_bf16 <- function(learn) {
  capture_args(list(learn = learner_arg()))
  fastai_call(reticulate::py_get_attr(learn, "to_bf16"))  # on a CPU without bf16: a fastai_input_warning
  invisible(learn)
}

#' @rdname to_fp16
#' @return `cpu_bf16_support()`: `TRUE` or `FALSE`, with the attribute `how` (what it was read from).
#' @export
cpu_bf16_support <- function() {
  res <- fastai_call("cpu_bf16_support")
  structure(isTRUE(res[[1L]]), how = res[[2L]])
}

#' @rdname to_fp16
#' @export
to_fp32 <- function(learn) {
  capture_args(list(learn = learner_arg()))
  fastai_call(reticulate::py_get_attr(learn, "to_fp32"))
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
set_seed <- function(seed, reproducible) {
  args <- capture_args(list(seed = int_arg(), reproducible = flag_arg()))
  set.seed(seed)
  fastai_call("set_seed", unname_first(args))  # fastai's set_seed(s, reproducible)
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
  capture_args(list(learn = learner_arg(), fname = path_arg()))
  invisible(fastai_call(reticulate::py_get_attr(learn, "export"), list(fname)))
}

#' @rdname export
#' @export
load_learner <- function(fname, cpu = TRUE) {
  args <- capture_args(list(fname = path_arg(), cpu = flag_arg()))
  if (!file.exists(fname)) {
    abort_input(sprintf(paste0("file '%s' does not exist (working directory: %s), so there is no learner to load; ",
                               "check the path, ",
                               "or export a learner first with export(learn, \"export.pkl\")"), fname, getwd()))
  }
  fastai_call("load_learner", c(args["fname"], list(cpu = cpu)))
}

#' Save and load a learner's weights
#'
#' fastai's `learn$save()` and `learn$load()` (named `save_model()` and `load_model()` here so as not
#' to mask R's `save()` and `load()`): the model's weights, and the optimizer state with
#' `with_opt = TRUE`, in `<learn$path>/<learn$model_dir>/<file>.pth`. Use them to keep a training
#' stage and go back to it; to reuse a learner elsewhere, [export()] it.
#'
#' @param learn A [Learner()].
#' @param file A name (without `.pth`) in the learner's model folder.
#' @param with_opt Also save / load the optimizer state.
#' @param device Where to load the weights.
#' @param strict Require the saved weights to match the model exactly.
#' @return The learner, invisibly.
#' @export
save_model <- function(learn, file, with_opt) {
  args <- capture_args(list(learn = learner_arg(), file = string_arg(), with_opt = flag_arg()))
  fastai_call(reticulate::py_get_attr(learn, "save"), args[-1L])
  invisible(learn)
}

#' @rdname save_model
#' @export
load_model <- function(learn, file, device, with_opt, strict) {
  args <- capture_args(list(learn = learner_arg(), file = string_arg(), with_opt = flag_arg(), strict = flag_arg()))
  fastai_call(reticulate::py_get_attr(learn, "load"), args[-1L])
  invisible(learn)
}
