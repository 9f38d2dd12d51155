# The seed's multi-label workflow end to end, as its users wrote it (the original R package's README:
# csv -> data.table -> blurr objects -> DataBlock -> Learner with partial() -> lr_find ->
# fit_one_cycle -> predict), on a tiny BERT and 80 GoEmotions rows instead of distilroberta-base and
# civil_comments. Each step's behaviour is tested on its own in the other files; this test shows
# that the code runs as written, from start to end.

test_that("the seed's multi-label code runs as written, from a csv file to a prediction", {
  skip_if_no_fastai()
  withr::local_options(list(fastai.progress = "silent"))
  csv <- withr::local_tempfile(fileext = ".csv")
  utils::write.csv(goemotions_rows(80L), csv, row.names = FALSE)
  pretrained_model_name <- tiny_model()

  df = HF_load_dataset('csv', data_files = csv, split = 'train')
  lbl_cols = c("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
  # data.table's `:=` needs a caller outside a namespace that does not import data.table, as in a
  # user's script (tests run inside fastai's namespace under R CMD check)
  df <- local(envir = list2env(list(df = df, lbl_cols = lbl_cols), parent = globalenv()), {
    df = data.table::as.data.table(df)
    df <- df[,(lbl_cols) := round(.SD,0), .SDcols=lbl_cols]
    df <- df[, (lbl_cols) := lapply(.SD, as.integer), .SDcols=lbl_cols]
  })

  task = HF_TASKS_ALL()$SequenceClassification
  config = AutoConfig()$from_pretrained(pretrained_model_name)
  config$num_labels = length(lbl_cols)
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(pretrained_model_name, task=task, config=config)

  blocks = list(
    HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer),
    MultiCategoryBlock(encoded=TRUE, vocab=lbl_cols)
  )
  dblock = DataBlock(blocks=blocks,
                     get_x=ColReader('text'), get_y=ColReader(lbl_cols),
                     splitter=RandomSplitter())
  dls = dblock %>% dataloaders(df, bs=8)
  dls %>% one_batch()

  model = HF_BaseModelWrapper(hf_model)
  learn = Learner(dls,
                  model,
                  opt_func=partial(Adam),
                  loss_func=BCEWithLogitsLossFlat(),
                  metrics=partial(accuracy_multi(), thresh=0.2),
                  cbs=HF_BaseModelCallback(),
                  splitter=hf_splitter())
  learn$loss_func$thresh = 0.2
  learn$create_opt()
  learn$freeze()
  learn %>% summary()

  lrs = learn %>% lr_find(suggestions=TRUE, num_it=20)  # num_it: fewer steps than fastai's 100, for speed
  learn %>% fit_one_cycle(1, lr_max=1e-2)

  learn$loss_func$thresh = 0.02
  p = learn %>% predict("Those damned affluent white people should only eat their own food, like cod cakes and boiled potatoes.
No enchiladas for them!")

  expect_s3_class(df, "data.table")
  expect_identical(hf_arch, "bert")
  expect_true(lrs$suggestions[["valley"]] > 0)
  expect_identical(get_history(learn)$epoch, 1L)
  expect_named(p, c("probabilities", "labels"))
  expect_identical(names(p$probabilities), lbl_cols)
  expect_identical(p$labels, lbl_cols[unlist(p$probabilities) >= 0.02])
})
