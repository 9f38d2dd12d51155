# Re-exported so `library(fastai)` is enough for the usual workflow: magrittr's `%>%` chains verbs
# (`learn %>% fit_one_cycle(1)`; R's native `|>` works too) and zeallot's `%<-%` unpacks lists
# (`c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(...)`).

#' @importFrom magrittr %>%
#' @export
magrittr::`%>%`

#' @importFrom zeallot %<-%
#' @export
zeallot::`%<-%`

# ggplot2's .data pronoun names plot columns without global-variable notes.
#' @importFrom ggplot2 .data
NULL

# generics' fit(): fastai's fit() is its S3 method for learners (fit.fastai.learner.Learner), as
# tidymodels' is for its model specifications, so attaching both masks nothing.
#' @importFrom generics fit
#' @export
generics::fit
