# Extractive question answering from R: data frames of questions and contexts in, answers out.

qa_dblock <- function() {
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-%
    get_hf_objects(tiny_model(), task = HF_TASKS_AUTO()$QuestionAnswering)
  dblock <- DataBlock(blocks = list(HF_QABlock(hf_arch = hf_arch, hf_tokenizer = hf_tokenizer, max_length = 96,
                                               stride = 24),
                                    HF_AnswerBlock()),
                      get_x = ColReader(c("question", "context")), get_y = ColReader(c("answer_text", "answer_start")),
                      splitter = RandomSplitter(seed = 1))
  list(dblock = dblock, model = hf_model)
}

test_that("a QA model trains from R on windows and answers with spans of the context", {
  skip_if_no_fastai()
  squad <- load_squad("train", n_rows = 20)
  expect_identical(names(squad), c("id", "title", "context", "question", "answer_text", "answer_start"))
  expect_identical(substr(squad$context, squad$answer_start + 1, squad$answer_start + nchar(squad$answer_text)),
                   squad$answer_text)
  parts <- qa_dblock()
  dls <- dataloaders(parts$dblock, squad, bs = 4)
  sb <- show_batch(dls, max_n = 3)
  expect_identical(names(sb), c("question", "context", "answer"))
  learn <- Learner(dls, HF_BaseModelWrapper(parts$model), cbs = HF_QstAndAnsModelCallback(), splitter = hf_splitter(),
                   metrics = list(SquadExactMatch(), SquadF1()))
  expect_match(reticulate::py_str(learn$loss_func), "MultiTargetLoss")
  out <- withr::with_options(list(fastai.progress = "table"), capture.output(fit_one_cycle(learn, 1, lr_max = 1e-3)))
  expect_match(out[1], "exact_match +squad_f1")

  m <- squad_metrics(learn)
  expect_named(m, c("exact_match", "f1", "n"))
  expect_identical(unname(m["n"]), 4)

  test <- load_squad("test", n_rows = 3)
  ans <- predict(learn, test)
  expect_identical(names(ans), c("answer", "score", "start", "end"))
  expect_identical(substr(test$context, ans$start, ans$end), ans$answer)  # 1-based, inclusive
  expect_true(all(nzchar(ans$answer)))
  expect_identical(predict_qa(learn, question = test$question, context = test$context), ans)
  expect_named(squad_metrics(learn, test), c("exact_match", "f1", "n"))
})

test_that("bad QA data and inputs fail with the row and the fix, in R's terms", {
  skip_if_no_fastai()
  parts <- qa_dblock()
  squad <- load_squad("train", n_rows = 6)
  bad <- squad
  bad$answer_start <- bad$answer_start + 1  # R users count from 1
  err <- expect_error(dataloaders(parts$dblock, bad, bs = 2), class = "fastai_ValueError")
  expect_match(conditionMessage(err), "6 answer\\(s\\) are not found .*rows 1, 2, 3, 4, 5 and 1 more")
  expect_match(conditionMessage(err), "subtract 1, e\\.g\\. df\\[\\[\"answer_start\"\\]\\] <- df\\[\\[\"answer_start\"\\]\\] - 1")
  bad <- squad
  bad$context[4] <- ""
  expect_error(dataloaders(parts$dblock, bad, bs = 2), "context.*1 row whose text is empty \\(row 4\\)")

  expect_error(HF_QABlock(max_length = 0), "max_length must be a positive whole number", class = "fastai_input_error")
  c(hf_arch, hf_config, hf_tokenizer, hf_model) %<-% get_hf_objects(tiny_model())
  expect_error(HF_QABlock(hf_tokenizer = hf_tokenizer, max_length = 64, stride = 64),
               "stride \\(64\\) must be smaller than max_length", class = "fastai_ValueError")
  expect_error(predict_qa("learn"), "fastai Learner", class = "fastai_input_error")
})

test_that("hf_save_pretrained -> hf_load_learner gives a QA model that answers as before and trains further", {
  skip_if_no_fastai()
  parts <- qa_dblock()
  dls <- dataloaders(parts$dblock, load_squad("train", n_rows = 12), bs = 4)
  learn <- Learner(dls, HF_BaseModelWrapper(parts$model), cbs = HF_QstAndAnsModelCallback(), splitter = hf_splitter(),
                   metrics = list(SquadExactMatch(), SquadF1()))
  path <- file.path(withr::local_tempdir(), "qa")
  hf_save_pretrained(learn, path)
  loaded <- hf_load_learner(path)
  expect_match(reticulate::py_str(loaded$loss_func), "MultiTargetLoss")
  test <- load_squad("test", n_rows = 4)
  expect_identical(predict(loaded, test), predict(learn, test))
  expect_identical(predict_qa(loaded, test, max_answer_length = 5), predict_qa(learn, test, max_answer_length = 5))

  more <- hf_load_learner(path, df = load_squad("train", n_rows = 8), valid_pct = 0.25, seed = 1)
  withr::with_options(list(fastai.progress = "silent"), more %>% fit_one_cycle(1, lr_max = 1e-3))
  rec <- run_record(more)
  expect_equal(rec$n_train[nrow(rec)], 6L)
  expect_named(predict(more, test), c("answer", "score", "start", "end"))
})
