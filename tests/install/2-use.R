# Step 4 of run.sh: a new R session, outside any checkout, with no RETICULATE_PYTHON: fastai finds
# the r-fastai env install_fastai() made, imports the core installed there, trains a tiny BERT a few
# steps and predicts; every result must be an R value, not a Python object.
check <- function(ok, ...) if (!isTRUE(ok)) stop("test-install: ", ..., call. = FALSE)
is_r_value <- function(x) !inherits(x, "python.builtin.object")

library(fastai)
options(fastai.progress = "silent")
check(fastai_available(), "fastai_available() is FALSE in a new session after install_fastai()")
env <- normalizePath(reticulate::virtualenv_root())
python <- reticulate::py_config()$python
check(startsWith(python, env), "the Python in use is ", python, ", not the r-fastai env under ", env)
core_file <- reticulate::import("fastai_hf")$`__file__`
check(grepl("site-packages", core_file, fixed = TRUE) && startsWith(core_file, env),
      "fastai_hf imported from ", core_file, ", not from the env's site-packages")

model <- reticulate::import("fastai_hf.testing")$tiny_bert(file.path(tempdir(), "tiny-bert"))
labels <- c("joy", "anger")
texts <- c("I love this, what a great day", "this is awful and I hate it", "so happy for you",
           "stop lying, it makes me furious", "wonderful news, thank you", "terrible, I am angry")
df <- data.frame(text = rep(texts, 6), joy = rep(c(1L, 0L), 18), anger = rep(c(0L, 1L), 18))

config <- AutoConfig()$from_pretrained(model)
config$num_labels <- length(labels)
objs <- get_hf_objects(model, config = config)
dblock <- DataBlock(
  blocks = list(HF_TextBlock(hf_arch = objs[[1]], hf_tokenizer = objs[[3]]),
                MultiCategoryBlock(encoded = TRUE, vocab = labels)),
  get_x = ColReader("text"), get_y = ColReader(labels), splitter = RandomSplitter(seed = 1)
)
dls <- dataloaders(dblock, df, bs = 8)
learn <- Learner(dls, HF_BaseModelWrapper(objs[[4]]), loss_func = BCEWithLogitsLossFlat(),
                 cbs = HF_BaseModelCallback(), splitter = hf_splitter())
res <- withVisible(fit_one_cycle(learn, 1, lr_max = 1e-3))
check(!res$visible, "fit_one_cycle() printed its learner")

h <- get_history(learn)
check(is.data.frame(h) && nrow(h) == 1L && all(is.finite(h$train_loss)), "history: ", paste(capture.output(str(h)), collapse = "\n"))
one <- predict(learn, "what a lovely surprise")
check(is.data.frame(one$probabilities) && identical(names(one$probabilities), labels) &&
        is.character(one$labels), "predict(one text): ", paste(capture.output(str(one)), collapse = "\n"))
many <- predict(learn, texts[1:3])
check(is.data.frame(many) && nrow(many) == 3L && identical(names(many), c(labels, "predicted")),
      "predict(texts): ", paste(capture.output(str(many)), collapse = "\n"))
probs <- as.matrix(many[, labels])
check(is.double(probs) && all(probs >= 0 & probs <= 1), "probabilities are not numbers in [0, 1]")
check(all(vapply(c(list(h, one, many), as.list(many), one), is_r_value, logical(1))), "a result is a Python object")
cat("trained 1 epoch (train_loss", format(h$train_loss, digits = 3), ") and predicted from", python, "\n")
