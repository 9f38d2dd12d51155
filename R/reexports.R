# Re-exported so `library(fastai)` is enough for the usual workflow: magrittr's `%>%` chains verbs
# (`learn %>% fit_one_cycle(1)`; R's native `|>` works too) and zeallot's `%<-%` unpacks lists
# (`c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(...)`).

#' @importFrom magrittr %>%
#' @export
magrittr::`%>%`

#' @importFrom zeallot %<-%
#' @export
zeallot::`%<-%`

# The plots name their columns with the `.data` pronoun inside ggplot2::aes(), which ggplot2 (through
# rlang) provides when it evaluates them. It is declared here instead of imported from ggplot2: an
# import would load ggplot2 and its ~20 dependencies at library(fastai) (0.45-0.67 s); now ggplot2
# loads when the first plot is drawn.
utils::globalVariables(".data")

# generics' fit(): fastai's fit() is its S3 method for learners (fit.fastai.learner.Learner), as
# tidymodels' is for its model specifications, so attaching both masks nothing.
#' @importFrom generics fit
#' @export
generics::fit
