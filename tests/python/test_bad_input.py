"""Nothing lost, nothing silent: what a user gets for bad input and faults, and what is left afterwards.

The matrix: each case makes one bad call and asserts the error class, that the message names the
culprit and says what to do, and that nothing was lost: a learner still validates and predicts the
same probabilities as before; an existing export still loads and predicts the same. Then the same
errors worded for R users (1-based rows, R code, R values), faults (a write failing part-way, an
exception and a KeyboardInterrupt from a callback mid-fit) and reproducibility with set_seed.

Self-contained (its own tiny BERT and data), so it does not depend on the shared fixtures.
"""
import errno
import os
import re
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from fastai_hf import (HF_TASKS_AUTO, Adam, AutoConfig, BCEWithLogitsLossFlat, Callback, CategoryBlock, ColReader,
                       CrossEntropyLossFlat, DataBlock, HF_BaseModelCallback, HF_BaseModelWrapper, HF_load_dataset,
                       HF_TextBlock, IndexSplitter, InputWarning, Learner, MultiCategoryBlock, RandomSplitter,
                       TextBlock, accuracy_multi, awd_lstm_config, find_thresholds, get_hf_objects, hf_predict,
                       hf_save_pretrained, hf_splitter, history_df, language_model_learner, load_goemotions, load_learner,
                       set_seed)
from fastai_hf.checks import speaking
from fastai_hf.history import history_callback
from fastai_hf.testing import tiny_bert

EKMAN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
TEXTS = ["thank you, this made my day", "I can't believe they did that, awful"]


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_bert(str(tmp_path_factory.mktemp("tiny-bert-bad-input")))


@pytest.fixture(scope="module")
def _frames():
    return {"multi": load_goemotions("ekman", split="train", n_rows=120),
            "single": load_goemotions("ekman", split="train", n_rows=120, single_label=True)}


def learner(tiny, df, multi=True, bs=16, splitter=None, num_labels=7, metrics=None, seed=0):
    """The R vignette's flow: multi-label on the one-hot columns, or single-label on `label`. Seeded with
    `seed`; `seed=None` leaves the random state as the caller set it."""
    if seed is not None: set_seed(seed)
    config = AutoConfig.from_pretrained(tiny)
    config.num_labels = num_labels
    hf_arch, _, hf_tokenizer, hf_model = get_hf_objects(tiny, task=HF_TASKS_AUTO.SequenceClassification, config=config)
    y_block = MultiCategoryBlock(encoded=True, vocab=EKMAN) if multi else CategoryBlock(vocab=EKMAN)
    dblock = DataBlock(blocks=[HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer), y_block],
                       get_x=ColReader("text"), get_y=ColReader(EKMAN if multi else "label"),
                       splitter=splitter or RandomSplitter(seed=seed))
    dls = dblock.dataloaders(df, bs=bs)
    return Learner(dls, HF_BaseModelWrapper(hf_model), opt_func=Adam,
                   loss_func=BCEWithLogitsLossFlat() if multi else CrossEntropyLossFlat(), metrics=metrics or [],
                   cbs=HF_BaseModelCallback(), splitter=hf_splitter)


def probs(learn):
    return learn.hf_predict(TEXTS)[EKMAN].to_numpy()


class Ctx:
    """What a case may use, built when first asked for: `df` / `single_df` (fresh copies), `learn` (a
    learner, its probabilities and validation loss recorded), `export` (a good export on disk, its
    bytes and probabilities recorded), `tmp` (a folder)."""
    def __init__(self, tiny, frames, tmp):
        self.tiny, self.frames, self.tmp = tiny, frames, tmp
        self._learn = self._export = None
        self.rows = 120  # the learner's data; tests that train use fewer rows

    @property
    def df(self): return self.frames["multi"].copy()

    @property
    def single_df(self): return self.frames["single"].copy()

    @property
    def learn(self):
        if self._learn is None:
            self._learn = learner(self.tiny, self.df.iloc[:self.rows])
            self._learn.path = self.tmp
            self.before = probs(self._learn)
            self.n_items = (len(self._learn.dls.train_ds), len(self._learn.dls.valid_ds))
        return self._learn

    @property
    def export(self):
        if self._export is None:
            self._export = self.learn.export(self.tmp / "good.pkl")
            self.export_bytes = self._export.read_bytes()
        return self._export

    def check_nothing_lost(self):
        "The learner keeps its data, validates and predicts as before; the export is byte-identical and loads."
        if self._learn is not None:
            learn = self._learn
            assert (len(learn.dls.train_ds), len(learn.dls.valid_ds)) == self.n_items
            loss = learn.validate()[0]
            assert loss is not None and np.isfinite(loss)
            np.testing.assert_array_equal(probs(learn), self.before)
        if self._export is not None:
            assert self._export.read_bytes() == self.export_bytes
            np.testing.assert_array_equal(probs(load_learner(self._export)), self.before)
        leftovers = [p.name for p in self.tmp.rglob("*") if p.name.endswith((".tmp", ".old"))]
        assert not leftovers, leftovers


@pytest.fixture
def ctx(tiny, _frames, tmp_path):
    return Ctx(tiny, _frames, tmp_path)


def case(id, run, error, culprit, fix):
    return pytest.param(run, error, culprit, fix, id=id)


def with_text(df, row, value):
    df.loc[row, "text"] = value
    return df


def with_thresh(learn, t, run):
    "Run `run(learn)` with the loss function's thresholds set to `t` (restored after: the user set them)."
    old = learn.loss_func.thresh
    learn.loss_func.thresh = t
    try: return run(learn)
    finally: learn.loss_func.thresh = old


def lr_default(learn, lr):
    learn.lr = lr  # as Learner(lr=...) sets it
    return learn


def unpicklable(learn):
    learn.connection = threading.Lock()  # something pickle cannot save
    try: learn.export(learn.path / "good.pkl")
    finally: del learn.connection


def csv_file(tmp, name="data.csv"):
    pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}).to_csv(tmp / name, index=False)
    return tmp / name


CASES = [
    # ---- data the checks already held (kept held)
    case("na-text", lambda c: learner(c.tiny, with_text(c.df, 3, None)), ValueError,
         r"text column 'text' has 1 row whose text is missing \(NA\) \(row \[3\]\)", r"df\.dropna\(subset=\['text'\]\)"),
    case("empty-text", lambda c: learner(c.tiny, with_text(c.df, 5, "  ")), ValueError,
         r"text column 'text' .* empty \(row \[5\]\)", r"str\.strip\(\) != ''"),
    case("non-string-text", lambda c: learner(c.tiny, with_text(c.df.astype({"text": object}), 2, 42)), ValueError,
         r"not strings \(row \[2\]\)", r"astype\(str\)"),
    case("missing-column", lambda c: learner(c.tiny, c.df.rename(columns={"text": "txt"})), ValueError,
         r"column 'text' is not in the data; its columns are \[.*'txt'", r"ColReader\('<column>'\)"),
    case("labels-not-0-1", lambda c: learner(c.tiny, c.df.assign(joy=c.df["joy"] * 2)), ValueError,
         r"label columns \['joy'\] must hold only 0/1 \(column 'joy' has \[2\]", r"round and convert them"),
    case("label-outside-vocab", lambda c: learner(c.tiny, c.single_df.assign(label="bliss"), multi=False), ValueError,
         r"label column 'label' has labels that are not in the vocab: \['bliss'\]", r"add them to vocab="),
    case("missing-label", lambda c: learner(c.tiny, c.single_df.assign(label=[None] + ["joy"] * 119), multi=False),
         ValueError, r"label column 'label' has 1 missing \(NA\) label \(row \[0\]\)", r"drop or fill those rows"),
    case("zero-rows", lambda c: learner(c.tiny, c.df.iloc[:0]), ValueError, r"the data has zero rows",
         r"pass a data frame with at least a few rows"),
    case("num-labels-mismatch", lambda c: learner(c.tiny, c.df, num_labels=3), ValueError,
         r"num_labels=3 but the data has 7 labels", r"config\.num_labels = 7"),
    # ---- degenerate data
    case("one-class", lambda c: learner(c.tiny, c.single_df.assign(label="joy"), multi=False), ValueError,
         r"label column 'label' has one class \('joy'\) in all 120 rows", r"Add rows of the other classes"),
    case("empty-training-split", lambda c: learner(c.tiny, c.df, splitter=IndexSplitter(list(range(120)))), ValueError,
         r"training set empty: 0 rows went to training and 120 to validation", r"smaller validation share"),
    case("index-splitter-past-data", lambda c: learner(c.tiny, c.df, splitter=IndexSplitter([5, 200, 300])),
         ValueError, r"rows \[200, 300\] in the validation set, but the data has 120 rows", r"positions from 0 to 119"),
    case("path-as-data", lambda c: learner(c.tiny, str(csv_file(c.tmp))), TypeError,
         r"the data source is a path \('.*data\.csv'\), not a data frame", r"pd\.read_csv\(path\)"),
    case("bs-zero", lambda c: learner(c.tiny, c.df, bs=0), ValueError, r"bs must be a whole number >= 1, not 0",
         r">= 1"),
    case("bs-above-training-rows", lambda c: learner(c.tiny, c.df.iloc[:10], bs=16), ValueError,
         r"the training set has 8 rows, fewer than the batch size bs = 16", r"Lower bs to at most 8"),
    # ---- training arguments
    case("epochs-zero", lambda c: c.learn.fit_one_cycle(0), ValueError,
         r"fit_one_cycle\(\): n_epoch must be a whole number >= 1, not 0", r">= 1"),
    case("epochs-negative", lambda c: c.learn.fit(-1, 1e-3), ValueError, r"fit\(\): n_epoch .* not -1", r">= 1"),
    case("epochs-fraction", lambda c: c.learn.fit_one_cycle(1.5), ValueError, r"n_epoch .* not 1\.5", r"whole number"),
    case("lr-nan", lambda c: c.learn.fit_one_cycle(1, float("nan")), ValueError, r"lr_max must be finite and > 0.*nan",
         r"typically 1e-5 to 1e-2"),
    case("lr-inf", lambda c: c.learn.fit_one_cycle(1, float("inf")), ValueError, r"lr_max .* not inf", r"1e-5 to 1e-2"),
    case("lr-negative", lambda c: c.learn.fit(1, -1e-3), ValueError, r"fit\(\): lr must be finite and > 0.*-0\.001",
         r"1e-5 to 1e-2"),
    case("lr-zero-in-vector", lambda c: c.learn.fit(1, [1e-3, 0, 1e-3, 1e-3]), ValueError, r"lr .* not \[0\.0\]",
         r"1e-5 to 1e-2"),
    case("lr-vector-length", lambda c: c.learn.fit_one_cycle(1, [1e-3, 1e-4, 1e-5]), ValueError,
         r"lr_max has 3 learning rates but the model has 4 parameter groups", r"give one number, a slice .* or 4 numbers"),
    case("lr-slice-negative", lambda c: c.learn.fit_one_cycle(1, slice(-1e-5, 1e-3)), ValueError,
         r"lr_max \(the slice's start\) must be a finite number > 0, not -1e-05", r"> 0"),
    case("lr-string", lambda c: c.learn.fit_one_cycle(1, "fast"), TypeError, r"lr_max must be a learning rate.*'fast'",
         r"a number, a slice or one number per parameter group"),
    case("default-lr-bad", lambda c: lr_default(learner(c.tiny, c.df), -1).fit(1), ValueError,
         r"learn\.lr \(Learner's lr\) must be finite and > 0", r"1e-5 to 1e-2"),
    case("wd-negative", lambda c: c.learn.fit_one_cycle(1, 1e-3, wd=-0.1), ValueError, r"wd must be a finite number >= 0",
         r">= 0"),
    case("fine-tune-wd", lambda c: c.learn.fine_tune(1, wd=float("nan")), ValueError, r"fine_tune\(\): wd .* not nan",
         r">= 0"),
    case("fine-tune-zero", lambda c: c.learn.fine_tune(0), ValueError, r"fine_tune\(\): epochs .* not 0", r">= 1"),
    case("fine-tune-slice", lambda c: c.learn.fine_tune(1, slice(1e-3)), TypeError,
         r"base_lr of fine_tune must be one number", r"spreads it over the parameter groups itself"),
    case("freeze-to-far-negative", lambda c: c.learn.freeze_to(-100), ValueError,
         r"freeze_to\(n = -100\) is outside this model's 4 parameter groups", r"between -4 and 3"),
    case("freeze-to-past-end", lambda c: c.learn.freeze_to(4), ValueError, r"freeze_to\(n = 4\)", r"between -4 and 3"),
    case("sgdr-cycle-mult-1", lambda c: c.learn.fit_sgdr(1, 1, cycle_mult=1), ValueError,
         r"fit_sgdr\(\): cycle_mult must be a whole number >= 2, not 1", r">= 2"),
    case("lr-find-range", lambda c: c.learn.lr_find(start_lr=1, end_lr=0.1, show_plot=False), ValueError,
         r"start_lr \(1\.0\) must be smaller than end_lr \(0\.1\)", r"smaller than"),
    case("unknown-argument", lambda c: c.learn.fit(1, not_an_arg=1), TypeError, r"fit\(\): .*'not_an_arg'",
         r"unexpected keyword argument"),
    case("thresh-above-1-fit", lambda c: with_thresh(c.learn, 1.5, lambda l: l.fit_one_cycle(1, 1e-3)), ValueError,
         r"learn\.loss_func\.thresh: .* between 0 and 1; got 1\.5", r"between 0 and 1"),
    case("thresh-negative-predict", lambda c: c.learn.hf_predict(TEXTS, thresh=-0.5), ValueError,
         r"thresh: .* got -0\.5", r"between 0 and 1"),
    case("thresh-per-label-length", lambda c: c.learn.hf_predict(TEXTS, thresh=[0.1, 0.2]), ValueError,
         r"got 2 thresholds for 7 labels", r"give one number or one per label"),
    case("thresh-vector-outside", lambda c: with_thresh(c.learn, [0.5] * 6 + [1.2], lambda l: l.predict(TEXTS[0])), ValueError,
         r"learn\.loss_func\.thresh: .* got 1\.2", r"between 0 and 1"),
    case("metric-thresh", lambda c: learner(c.tiny, c.df, metrics=[partial(accuracy_multi, thresh=1.5)])
         .fit_one_cycle(1, 1e-3), ValueError, r"thresh of metric accuracy_multi.*got 1\.5", r"between 0 and 1"),
    case("threshold-grid", lambda c: find_thresholds(c.learn, grid=[0.2, 1.4]), ValueError, r"grid: .* got 1\.4",
         r"between 0 and 1"),
    # ---- a data frame where a learner goes
    case("data-frame-as-learner", lambda c: hf_predict(c.df, TEXTS), TypeError,
         r"learn must be a fastai Learner, not a data frame", r"dblock\.dataloaders\(df\).*Learner\(dls, model"),
    case("data-frame-to-find-thresholds", lambda c: find_thresholds(c.df), TypeError,
         r"learn must be a fastai Learner, not a data frame", r"Learner\(dls, model"),
    # ---- files
    case("load-a-csv", lambda c: load_learner(csv_file(c.tmp, "emotions.csv")), ValueError,
         r"'.*emotions\.csv' is not a learner exported with learn\.export\(.*looks like a text file",
         r"export the learner again"),
    case("load-an-empty-file", lambda c: (c.tmp / "empty.pkl").touch() or load_learner(c.tmp / "empty.pkl"),
         ValueError, r"'.*empty\.pkl' is empty \(0 bytes\), not a learner", r"export the learner again"),
    case("load-a-missing-file", lambda c: load_learner(c.tmp / "nope.pkl"), FileNotFoundError,
         r"file '.*nope\.pkl' does not exist", r"check the path, or export a learner first"),
    case("load-a-folder", lambda c: load_learner(c.tmp), IsADirectoryError, r"is a folder", r"get_hf_objects\(folder\)"),
    case("load-weights", lambda c: load_learner(c.learn.save("weights")), TypeError,
         r"'.*weights\.pth' holds model weights", r"learn\.load\(name\)"),
    case("export-into-missing-folder", lambda c: (c.export, c.learn.export(c.tmp / "nope" / "l.pkl"))[1],
         FileNotFoundError, r"its folder '.*nope' does not exist", r"create it first"),
    case("export-onto-a-folder", lambda c: (c.export, (c.tmp / "dir").mkdir(), c.learn.export(c.tmp / "dir"))[2],
         IsADirectoryError, r"cannot write the file '.*dir': a folder of that name exists", r"give a file name"),
    case("export-unpicklable", lambda c: (c.export, unpicklable(c.learn))[1], TypeError,
         r"could not export the learner to '.*good\.pkl'.*cannot pickle", r"Remove it first .*learn\.remove_cb"),
    case("hf-save-onto-a-file", lambda c: (c.export, hf_save_pretrained(c.learn, c.export))[1], NotADirectoryError,
         r"cannot write the folder '.*good\.pkl': a file of that name exists", r"give a folder name"),
    case("hf-save-onto-other-files", lambda c: (c.export, hf_save_pretrained(c.learn, c.tmp))[1], FileExistsError,
         r"holds other files \(no config\.json", r"give a new folder name"),
    case("load-dataset-xlsx", lambda c: HF_load_dataset("xlsx", data_files=str(c.tmp / "a.xlsx")), ValueError,
         r"does not read 'xlsx' files; it reads the formats 'csv', 'tsv', 'json'", r"pd\.read_excel\(path\)"),
    case("load-dataset-xlsx-file", lambda c: (c.tmp / "a.xlsx").write_bytes(b"PK") and HF_load_dataset(str(c.tmp / "a.xlsx")),
         ValueError, r"does not read 'xlsx' files", r"pd\.read_excel"),
    case("load-dataset-missing-file", lambda c: HF_load_dataset("csv", data_files=str(c.tmp / "nope.csv")),
         FileNotFoundError, r"file '.*nope\.csv' does not exist", r"check the path"),
    case("load-dataset-no-files", lambda c: HF_load_dataset("csv"), ValueError, r"reads local files",
         r"data_files='train\.csv'"),
    case("predict-na-text", lambda c: c.learn.hf_predict(["fine", None]), ValueError,
         r"1 of the texts are missing.*position \[1\]", r"drop or fill them first"),
]


@pytest.mark.parametrize("run,error,culprit,fix", CASES)
def test_bad_input(run, error, culprit, fix, ctx):
    with pytest.raises(error) as info:
        run(ctx)
    msg = str(info.value)
    assert type(info.value) is error or error is OSError, type(info.value)
    assert re.search(culprit, msg), f"culprit {culprit!r} not in: {msg}"
    assert re.search(fix, msg), f"advice {fix!r} not in: {msg}"
    assert "Traceback" not in msg
    ctx.check_nothing_lost()


def test_the_hub_is_not_asked_for_a_format_name(monkeypatch, tmp_path):
    import datasets
    def no_hub(*a, **k): raise AssertionError("went to the hub")
    monkeypatch.setattr(datasets, "load_dataset", no_hub)
    for fmt in ("xlsx", "feather", "rds", "sav"):
        with pytest.raises(ValueError, match=f"does not read '{fmt}' files"):
            HF_load_dataset(fmt, data_files=str(tmp_path / f"a.{fmt}"))


def test_an_empty_validation_set_is_warned_about(ctx):
    with pytest.warns(InputWarning, match=r"validation set empty: 1 row went to training and 0 to validation"):
        learn = learner(ctx.tiny, ctx.df.iloc[:1], bs=1)
    assert len(learn.dls.valid_ds) == 0


def test_fine_tune_without_frozen_epochs_runs(ctx):
    "The checks run at the user's call only: fine_tune(freeze_epochs=0) runs fastai's inner fit_one_cycle(0)."
    ctx.rows = 40
    learn = ctx.learn
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(1, 1e-3, freeze_epochs=0)
    assert len(learn.recorder.values) == 1


# ------------------------------------------------------------------------ the user's language: R
R_CASES = [
    case("na-text", lambda c: learner(c.tiny, with_text(c.df, 3, None)), ValueError,
         r"text column \"text\" has 1 row whose text is missing \(NA\) \(row 4\)", r"df\[!is\.na\(df\[\[\"text\"\]\]\), \]"),
    case("index-splitter-past-data", lambda c: learner(c.tiny, c.df, splitter=IndexSplitter([5, 199])), ValueError,
         r"puts row 200 in the validation set, but the data has 120 rows \(rows 1 to 120\)",
         r"row numbers from 1 to 120"),
    case("one-class", lambda c: learner(c.tiny, c.single_df.assign(label="joy"), multi=False), ValueError,
         r"label column \"label\" has one class \(\"joy\"\)", r"Add rows of the other classes"),
    case("labels-not-0-1", lambda c: learner(c.tiny, c.df.assign(joy=c.df["joy"] * 2.0)), ValueError,
         r"must hold only 0/1 \(column \"joy\" has c\(2\) in rows", r"lapply\(df\[cols\], function\(x\)"),
    case("path-as-data", lambda c: learner(c.tiny, str(csv_file(c.tmp))), TypeError, r"is a path \(\".*data\.csv\"\)",
         r"read\.csv\(path\)"),
    case("thresh", lambda c: c.learn.hf_predict(TEXTS, thresh=float("inf")), ValueError, r"got Inf",
         r"between 0 and 1"),
    case("default-thresh", lambda c: with_thresh(c.learn, 1.5, lambda l: l.fit_one_cycle(1)), ValueError,
         r"learn\$loss_func\$thresh: .* got 1\.5", r"between 0 and 1"),
    case("export-unpicklable", lambda c: (c.export, unpicklable(c.learn))[1], TypeError, r"cannot pickle",
         r"learn\$remove_cb\(cb\).*save_model\(learn, name\)"),
    case("data-frame-as-learner", lambda c: hf_predict(c.df, TEXTS), TypeError, r"not a data frame",
         r"dataloaders\(dblock, df\)"),
    case("load-a-csv", lambda c: load_learner(csv_file(c.tmp, "emotions.csv")), ValueError,
         r"is not a learner exported with export\(learn, \"export\.pkl\"\)", r"export the learner again"),
    case("load-dataset-xlsx", lambda c: HF_load_dataset("xlsx", data_files="a.xlsx"), ValueError,
         r"it reads the formats \"csv\", \"tsv\"", r"readxl::read_excel\(path\)"),
    case("bs-above-training-rows", lambda c: learner(c.tiny, c.df.iloc[:10], bs=16), ValueError,
         r"the training set has 8 rows", r"dataloaders\(dblock, df, bs = 8\)"),
]


@pytest.mark.parametrize("run,error,culprit,fix", R_CASES)
def test_bad_input_worded_for_r(run, error, culprit, fix, ctx):
    with speaking("r"), pytest.raises(error) as info:
        run(ctx)
    msg = str(info.value)
    assert re.search(culprit, msg), f"culprit {culprit!r} not in: {msg}"
    assert re.search(fix, msg), f"advice {fix!r} not in: {msg}"
    assert not re.search(r"np\.|\.dropna|pd\.read|\brow \[", msg), msg  # no pandas, NumPy or 0-based rows
    ctx.check_nothing_lost()


# ------------------------------------------------------------------------------------------ faults
def _partial_writer(monkeypatch, module, name):
    "Make `module.name` (a writer) write 100 bytes to its target and then fail with a full disk."
    def enospc(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"\0" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(module, name, enospc)


@pytest.mark.parametrize("what", ["export", "save", "save_with_opt"])
def test_a_write_failing_part_way_loses_nothing(what, ctx, monkeypatch):
    ctx.rows = 40
    learn = ctx.learn
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-4)  # an optimizer with state to keep
    ctx.before = probs(learn)
    opt, opt_state = learn.opt, {k: v for k, v in learn.opt.state_dict().items()}
    if what == "export":
        target, write = ctx.export, lambda: learn.export(ctx.export)
    else:
        target = learn.save("weights")
        write = lambda: learn.save("weights", with_opt=what == "save_with_opt")  # noqa: E731
    old = target.read_bytes()
    _partial_writer(monkeypatch, torch, "save")
    with pytest.raises(OSError) as info:
        write()
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert re.search(r"could not write '.*': No space left on device\. Nothing was written; the file that was there "
                     r"is unchanged; free disk space", str(info.value))
    assert target.read_bytes() == old
    assert learn.opt is opt and learn.opt.state_dict().keys() == opt_state.keys()
    ctx.check_nothing_lost()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-4)  # and it trains on


def test_save_encoder_failing_part_way_keeps_the_earlier_encoder(tmp_path, _frames, monkeypatch):
    df = _frames["single"].iloc[:80].copy()
    dls = DataBlock(blocks=TextBlock.from_df("text", is_lm=True, n_workers=0), get_x=ColReader("text"),
                    splitter=RandomSplitter(0.2, seed=0)).dataloaders(df, bs=8, seq_len=16, num_workers=0,
                                                                        path=tmp_path)
    lm = language_model_learner(dls, config=awd_lstm_config("lm", emb_sz=16, n_hid=32, n_layers=1), pretrained=False)
    path = lm.save_encoder("enc")
    old = path.read_bytes()
    _partial_writer(monkeypatch, torch, "save")
    with pytest.raises(OSError, match=r"could not write '.*enc\.pth': No space left.*unchanged"):
        lm.save_encoder("enc")
    monkeypatch.undo()
    assert path.read_bytes() == old and sorted(p.name for p in path.parent.iterdir()) == ["enc.pth"]


def test_hf_save_pretrained_failing_part_way_keeps_the_earlier_folder(ctx, monkeypatch):
    learn = ctx.learn
    folder = hf_save_pretrained(learn, ctx.tmp / "hf")
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    model = learn.model.hf_model
    real = model.save_pretrained

    def enospc(path, **kwargs):
        real(path, **kwargs)  # part of the folder is written ...
        raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full

    monkeypatch.setattr(model, "save_pretrained", enospc)
    with pytest.raises(OSError, match=r"could not write '.*hf': No space left.*the folder that was there is unchanged"):
        hf_save_pretrained(learn, folder)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    assert sorted(p.name for p in ctx.tmp.iterdir()) == ["hf"]
    ctx.check_nothing_lost()


class FailAt(Callback):
    "Raises `exc` after training batch `n` of the fit."
    def __init__(self, exc, n=2): self.exc, self.n = exc, n
    def after_batch(self):
        if self.training and self.iter + 1 == self.n: raise self.exc


@pytest.mark.parametrize("exc", [RuntimeError("a callback failed"), KeyboardInterrupt()], ids=["exception", "interrupt"])
def test_a_fit_stopped_mid_epoch_leaves_a_usable_learner(exc, ctx):
    ctx.rows = 48  # 38 training rows: 2 batches of 16
    learn = ctx.learn
    history_callback(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    with pytest.raises(type(exc)):
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3, cbs=FailAt(exc))
    assert not any(isinstance(cb, FailAt) for cb in learn.cbs)
    assert len(history_df(learn)) == 1  # the unfinished epoch is not in the history
    assert (len(learn.dls.train_ds), len(learn.dls.valid_ds)) == ctx.n_items
    assert np.isfinite(learn.validate()[0])
    p = probs(learn)
    assert p.shape == (2, 7) and np.isfinite(p).all()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)  # trains on
    assert len(history_df(learn)) == 2
    np.testing.assert_array_equal(probs(load_learner(learn.export(ctx.tmp / "after.pkl"))), probs(learn))


# --------------------------------------------------------------------------------- reproducibility
def _run(tiny, df, seed):
    set_seed(seed)
    learn = learner(tiny, df, seed=None)  # data split, head weights and batches from the seeded state
    history_callback(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 1e-3)
    return history_df(learn).drop(columns="time"), probs(learn)


def test_set_seed_gives_identical_histories_and_predictions(tiny, _frames):
    df = _frames["multi"].iloc[:48]  # 2 training batches per epoch
    h1, p1 = _run(tiny, df.copy(), 42)
    h2, p2 = _run(tiny, df.copy(), 42)
    pd.testing.assert_frame_equal(h1, h2)
    np.testing.assert_array_equal(p1, p2)
    h3, _ = _run(tiny, df.copy(), 7)
    assert not h1.equals(h3)  # the seed matters


def test_atomic_writes_keep_the_usual_permissions(tmp_path):
    "mkstemp / mkdtemp make private files; a written file or folder gets the usual mode, or the earlier one's."
    from fastai_hf.atomic import atomic_file, atomic_folder
    umask = os.umask(0)
    os.umask(umask)
    with atomic_file(tmp_path / "f.txt") as tmp: tmp.write_text("new")
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(tmp_path / "f.txt", 0o640)
    with atomic_file(tmp_path / "f.txt") as tmp: tmp.write_text("again")
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o640 and (tmp_path / "f.txt").read_text() == "again"
    with atomic_folder(tmp_path / "d") as tmp: (tmp / "a").write_text("x")
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o777 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f.txt"]
