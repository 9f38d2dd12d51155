#!/usr/bin/env python
"""Training throughput: fastai_hf against the Hugging Face Trainer, same data, model and settings.

Three ways to fine-tune all-MiniLM-L6-v2 on the same GoEmotions rows (28 labels, multi-label):

  fastai_hf         DataBlock + HF_TextBlock (per-batch tokenization, dynamic padding, batches of
                    similar length) + MultiCategoryBlock(encoded=True); Learner with
                    BCEWithLogitsLossFlat, FusedAdam, HF_BaseModelCallback, hf_splitter; fit_one_cycle.
  trainer_maxlen    the seed notebook's recipe: dataset.map(tokenizer(padding="max_length",
                    max_length=128)), float label vectors, Trainer.
  trainer_dynamic   Trainer + dataset.map(tokenizer(truncation only)) + DataCollatorWithPadding +
                    train_sampling_strategy="group_by_length" (transformers 5's group_by_length).

Only the training call is timed (learn.fit_one_cycle / trainer.train()): samples/s = rows / seconds.
Then every trained model scores the same dev rows through the same plain-torch function (sigmoid,
threshold 0.5, sklearn F1). Needs `accelerate` for the Trainer (pip install -e '.[bench]').

    python bench/train_throughput.py                        # the issue's benchmark (2,000 / 1,000 rows)
    python bench/train_throughput.py --rows 64 --dev-rows 32  # smoke run, well under a minute
"""
import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

CONFIGS = {
    "fastai_hf": "fastai_hf (HF_TextBlock, FusedAdam, 1cycle)",
    "trainer_maxlen": "Trainer, padding=max_length 128 (seed)",
    "trainer_dynamic": "Trainer, DataCollatorWithPadding+group_by_length",
    # Diagnostics: what each of the package's two speed features is worth (--extra):
    "fastai_hf_adam": "  diag: fastai_hf with fastai's Adam",
    "fastai_hf_charsort": "  diag: fastai_hf with pool_batches=1",
    "trainer_dynamic_random": "  diag: Trainer, DataCollatorWithPadding only",
}
EXTRA = ["fastai_hf_adam", "fastai_hf_charsort", "trainer_dynamic_random"]
MAIN = ["fastai_hf", "trainer_maxlen", "trainer_dynamic"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rows", type=int, default=2000, help="GoEmotions training rows (the first N of train.tsv)")
    p.add_argument("--dev-rows", type=int, default=1000, help="dev rows scored for F1 (the first N of dev.tsv)")
    p.add_argument("--bs", type=int, default=16, help="training batch size")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-length", type=int, default=128, help="truncation length for all three (and the seed recipe's padding length)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each config; the order rotates between repeats and the median is reported")
    p.add_argument("--configs", default=",".join(MAIN), help=f"comma-separated, in run order; from {list(CONFIGS)}")
    p.add_argument("--extra", action="store_true", help=f"also run the diagnostic configs {EXTRA}")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed process warm-up")
    p.add_argument("--json", help="also write all figures to this JSON file")
    args = p.parse_args(argv)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if args.extra: args.configs += [c for c in EXTRA if c not in args.configs]
    unknown = [c for c in args.configs if c not in CONFIGS]
    if unknown: p.error(f"unknown configs {unknown}; choose from {list(CONFIGS)}")
    return args


def load_avg():
    try: return os.getloadavg()
    except OSError: return (float("nan"),) * 3


# ---------------------------------------------------------------------------------------------
# Shared pieces: data, model config, evaluation


def load_data(args):
    import fastai_hf
    train = fastai_hf.load_goemotions("original", split="train", n_rows=args.rows)
    dev = fastai_hf.load_goemotions("original", split="dev", n_rows=args.dev_rows)
    labels = list(train.columns[2:])
    assert len(labels) == 28 and list(dev.columns[2:]) == labels, "expected the 28-label GoEmotions taxonomy"
    return train, dev, labels


def model_config(labels):
    import fastai_hf
    from transformers import AutoConfig
    return AutoConfig.from_pretrained(fastai_hf.minilm_path(), num_labels=len(labels),
                                      problem_type="multi_label_classification",
                                      id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})


def predict_probs(hf_model, tokenizer, texts, max_length, bs=64):
    "The one evaluation used for every config: plain torch, dynamic padding, sigmoid of the logits."
    hf_model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), bs):
            enc = tokenizer(list(texts[i:i + bs]), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            out.append(torch.sigmoid(hf_model(**enc).logits.float()))
    return torch.cat(out).numpy()


def scores(probs, targets, thresh=0.5):
    "Micro and macro F1 at `thresh` (as the seed notebook), and macro ROC AUC over labels with both classes present."
    from sklearn.metrics import f1_score, roc_auc_score
    pred = (probs >= thresh).astype(int)
    present = (targets.sum(0) > 0) & (targets.sum(0) < len(targets))
    return {"f1_micro": f1_score(targets, pred, average="micro", zero_division=0),
            "f1_macro": f1_score(targets, pred, average="macro", zero_division=0),
            "auc_macro": roc_auc_score(targets[:, present], probs[:, present], average="macro") if present.any() else float("nan")}


class Shapes:
    "Per training batch: padded length and real (unpadded) tokens, recorded as the batches are made."
    def __init__(self): self.padded, self.real, self.rows = [], [], []

    def add(self, input_ids, attention_mask):
        self.rows.append(int(input_ids.shape[0])); self.padded.append(int(input_ids.shape[1]))
        self.real.append(int(attention_mask.sum()))

    def summary(self):
        if not self.padded: return {}
        slots = sum(r * p for r, p in zip(self.rows, self.padded))
        return {"batches": len(self.padded), "mean_padded_len": float(np.mean(self.padded)),
                "mean_real_len": sum(self.real) / sum(self.rows), "pad_efficiency": sum(self.real) / slots,
                "token_slots": slots}


def step_stats(t0, ends):
    "Median and mean seconds between consecutive optimizer steps (the first measured from the start of training)."
    if not ends: return {}
    d = np.diff([t0] + ends)
    return {"steps": len(d), "median_step_s": float(np.median(d)), "mean_step_s": float(np.mean(d)),
            "first_step_s": float(d[0])}


# ---------------------------------------------------------------------------------------------
# fastai_hf


def run_fastai_hf(args, train, dev, labels, optimizer="FusedAdam", pool_batches=None):
    import fastai_hf as fh
    from fastai.callback.core import Callback, CancelValidException

    class SkipValidation(Callback):
        "No evaluation during training (the Trainer recipes run none either): F1 is computed afterwards."
        order = -10
        def before_validate(self): raise CancelValidException()

    class StepTimer(Callback):
        "Timestamps after each training step, and the shape of each batch."
        order = 100
        def __init__(self): self.ends, self.losses, self.shapes, self.t0 = [], [], Shapes(), None
        def before_train(self): self.t0 = time.perf_counter()
        def before_batch(self):
            if self.training: self.shapes.add(self.xb[0]["input_ids"], self.xb[0]["attention_mask"])
        def after_batch(self):
            if self.training: self.ends.append(time.perf_counter()); self.losses.append(float(self.loss))

    from fastai.optimizer import Adam as fastai_adam
    # "Adam": fastai's own per-parameter Adam (fastai_hf's `Adam` is the fused one, as FusedAdam)
    opt_func = {"FusedAdam": fh.FusedAdam, "Adam": fastai_adam}[optimizer]
    t = time.perf_counter()
    fh.set_seed(args.seed)
    config = model_config(labels)
    torch.manual_seed(args.seed)  # same classifier-head initialisation as the Trainer configs
    hf_arch, _, hf_tokenizer, hf_model = fh.get_hf_objects(fh.minilm_path(), config=config)
    df = pd.concat([train.assign(is_valid=False), dev.assign(is_valid=True)], ignore_index=True)
    dblock = fh.DataBlock(blocks=(fh.HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer, max_length=args.max_length),
                                  fh.MultiCategoryBlock(encoded=True, vocab=labels)),
                          get_x=fh.ColReader("text"), get_y=fh.ColReader(labels), splitter=fh.ColSplitter())
    dls = dblock.dataloaders(df, bs=args.bs, **({} if pool_batches is None else {"pool_batches": pool_batches}))
    learn = fh.Learner(dls, fh.HF_BaseModelWrapper(hf_model), loss_func=fh.BCEWithLogitsLossFlat(),
                       opt_func=opt_func, cbs=fh.HF_BaseModelCallback(), splitter=fh.hf_splitter)
    learn.unfreeze()  # full fine-tuning
    prep_s = time.perf_counter() - t

    timer = StepTimer()
    fh.set_seed(args.seed)
    with learn.no_bar(), learn.no_logging():
        t, c = time.perf_counter(), time.process_time()
        learn.fit_one_cycle(args.epochs, lr_max=args.lr, cbs=[SkipValidation(), timer])
        train_s, cpu_s = time.perf_counter() - t, time.process_time() - c

    probs = predict_probs(hf_model, hf_tokenizer, dev.text.tolist(), args.max_length)
    # The package's own prediction path must agree with the shared evaluation.
    ours = fh.hf_predict(learn, dev.text.tolist())[[str(l) for l in labels]].to_numpy()
    agree = float(np.abs(ours - probs).max())
    res = {"train_s": train_s, "cpu_s": cpu_s, "prep_s": prep_s, "train_loss": float(np.mean(timer.losses)) if timer.losses else None,
           "optimizer": optimizer, "pool_batches": dls.train.pool_batches,
           "hf_predict_max_abs_diff": agree, **step_stats(timer.t0, timer.ends), **timer.shapes.summary()}
    return res, probs


# ---------------------------------------------------------------------------------------------
# HF Trainer


def run_trainer(args, train, dev, labels, dynamic, group_by_length=True):
    import datasets
    import fastai_hf as fh
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, PrinterCallback,
                              Trainer, TrainerCallback, TrainingArguments)
    datasets.disable_progress_bars()
    path = fh.minilm_path()

    class StepTimer(TrainerCallback):
        def __init__(self): self.ends, self.t0 = [], None
        def on_train_begin(self, args, state, control, **kw): self.t0 = time.perf_counter()
        def on_step_end(self, args, state, control, **kw): self.ends.append(time.perf_counter())

    shapes = Shapes()

    class RecordingCollator(DataCollatorWithPadding):
        "DataCollatorWithPadding (the Trainer's default when given a tokenizer) that notes each batch's shape."
        def __call__(self, features):
            batch = super().__call__(features)
            shapes.add(batch["input_ids"], batch["attention_mask"])
            return batch

    tokenizer = AutoTokenizer.from_pretrained(path)

    # The seed notebook's preprocessing: tokenized texts and a float matrix of labels.
    def preprocess(examples):
        if dynamic: enc = tokenizer(examples["text"], truncation=True, max_length=args.max_length)
        else: enc = tokenizer(examples["text"], padding="max_length", truncation=True, max_length=args.max_length)
        matrix = np.zeros((len(examples["text"]), len(labels)), dtype=np.float32)
        for j, label in enumerate(labels): matrix[:, j] = examples[label]
        enc["labels"] = matrix.tolist()
        return enc

    t = time.perf_counter()
    ds = datasets.Dataset.from_pandas(train[["text", *labels]], preserve_index=False)
    ds = ds.map(preprocess, batched=True, remove_columns=ds.column_names)
    ds.set_format("torch")
    pretok_s = time.perf_counter() - t

    config = model_config(labels)
    torch.manual_seed(args.seed)  # same classifier-head initialisation as fastai_hf
    model = AutoModelForSequenceClassification.from_pretrained(path, config=config)
    out_dir = tempfile.mkdtemp(prefix="bench-trainer-")
    targs = TrainingArguments(
        output_dir=out_dir, learning_rate=args.lr, per_device_train_batch_size=args.bs, num_train_epochs=args.epochs,
        weight_decay=0.01, seed=args.seed, use_cpu=True,
        eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
        dataloader_pin_memory=False, train_sampling_strategy="group_by_length" if dynamic and group_by_length else "random")
    timer = StepTimer()
    trainer = Trainer(model=model, args=targs, train_dataset=ds, processing_class=tokenizer,
                      data_collator=RecordingCollator(tokenizer), callbacks=[timer])
    trainer.remove_callback(PrinterCallback)  # its one end-of-training print is the only output it makes
    prep_s = time.perf_counter() - t

    t, c = time.perf_counter(), time.process_time()
    result = trainer.train()
    train_s, cpu_s = time.perf_counter() - t, time.process_time() - c
    assert torch.get_num_threads() == args.threads, f"the Trainer changed the thread count to {torch.get_num_threads()}"

    probs = predict_probs(model, tokenizer, dev.text.tolist(), args.max_length)
    res = {"train_s": train_s, "cpu_s": cpu_s, "prep_s": prep_s, "pretok_s": pretok_s, "train_loss": float(result.training_loss),
           "optimizer": f"{getattr(targs.optim, 'value', targs.optim)} (fused={getattr(trainer.optimizer, 'optimizer', trainer.optimizer).defaults.get('fused')})",
           **step_stats(timer.t0, timer.ends), **shapes.summary()}
    return res, probs


RUNNERS = {
    "fastai_hf": lambda a, tr, dv, lb: run_fastai_hf(a, tr, dv, lb),
    "fastai_hf_adam": lambda a, tr, dv, lb: run_fastai_hf(a, tr, dv, lb, optimizer="Adam"),
    "fastai_hf_charsort": lambda a, tr, dv, lb: run_fastai_hf(a, tr, dv, lb, pool_batches=1),
    "trainer_maxlen": lambda a, tr, dv, lb: run_trainer(a, tr, dv, lb, dynamic=False),
    "trainer_dynamic": lambda a, tr, dv, lb: run_trainer(a, tr, dv, lb, dynamic=True),
    "trainer_dynamic_random": lambda a, tr, dv, lb: run_trainer(a, tr, dv, lb, dynamic=True, group_by_length=False),
}


def warmup(args, labels):
    "Untimed: a few forward/backward passes at short and full length, so no config pays the process's first-use costs."
    import fastai_hf as fh
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(fh.minilm_path())
    model = AutoModelForSequenceClassification.from_pretrained(fh.minilm_path(), config=model_config(labels))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-9)
    for n in (24, args.max_length, 24):
        enc = tok(["warm up"] * args.bs, padding="max_length", max_length=n, return_tensors="pt")
        model(**enc, labels=torch.zeros(args.bs, len(labels))).loss.backward()
        opt.step(); opt.zero_grad()
    del model, opt
    gc.collect()


# ---------------------------------------------------------------------------------------------


def fmt(v, spec):
    if v is None or (isinstance(v, float) and np.isnan(v)): return "-".rjust(int(spec.split(".")[0]))
    return format(v, spec)


def main(argv=None):
    args = parse_args(argv)
    import importlib.util
    if any(c.startswith("trainer") for c in args.configs) and importlib.util.find_spec("accelerate") is None:
        print("train_throughput: the Hugging Face Trainer needs `accelerate`; install it with "
              "pip install torch==2.13.0 -e '.[bench]'  (or: pip install torch==2.13.0 accelerate)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import transformers
    import fastai
    import fastai_hf  # noqa: F401  (sets TOKENIZERS_PARALLELISM, fastai's API)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    train, dev, labels = load_data(args)
    targets = dev[labels].to_numpy()
    print(f"train_throughput: {len(train)} training rows, {len(dev)} dev rows, 28 labels, model all-MiniLM-L6-v2, "
          f"bs {args.bs}, {args.epochs} epoch(s), lr {args.lr:g}, {args.threads} threads, seed {args.seed}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, fastai {fastai.__version__}, "
          f"python {platform.python_version()}, {os.cpu_count()} CPUs; load average at start "
          + ", ".join(f"{x:.2f}" for x in load_avg()), flush=True)

    if not args.no_warmup: warmup(args, labels)

    runs = {c: [] for c in args.configs}
    for r in range(args.repeats):
        order = args.configs[r % len(args.configs):] + args.configs[:r % len(args.configs)]
        for c in order:
            la = load_avg()[0]
            res, probs = RUNNERS[c](args, train, dev, labels)
            res.update(scores(probs, targets))
            res["samples_per_s"] = len(train) * args.epochs / res["train_s"]
            res["load_before"], res["load_after"] = la, load_avg()[0]
            runs[c].append(res)
            print(f"  [{r + 1}/{args.repeats}] {c:16s} train {res['train_s']:7.1f} s  {res['samples_per_s']:6.1f} samples/s  "
                  f"macro-F1 {res['f1_macro']:.4f}  AUC {res['auc_macro']:.3f}  (load {la:.2f} -> {res['load_after']:.2f})", flush=True)
            gc.collect()

    def med(c, k):
        vals = [x[k] for x in runs[c] if x.get(k) is not None]
        return statistics.median(vals) if vals else None

    print()
    head = (f"{'config':50s} {'train s':>8s} {'cpu s':>6s} {'samples/s':>9s} {'step ms':>8s} {'pad len':>7s} {'real len':>8s} "
            f"{'pad eff':>7s} {'prep s':>6s} {'pretok s':>8s} {'loss':>6s} {'micro-F1':>8s} {'macro-F1':>8s} {'AUC':>6s}")
    print(head); print("-" * len(head))
    for c in args.configs:
        ms = med(c, "median_step_s")
        print(f"{CONFIGS[c]:50s} {fmt(med(c, 'train_s'), '8.1f')} {fmt(med(c, 'cpu_s'), '6.0f')} {fmt(med(c, 'samples_per_s'), '9.1f')} "
              f"{fmt(ms * 1000 if ms else None, '8.0f')} {fmt(med(c, 'mean_padded_len'), '7.1f')} {fmt(med(c, 'mean_real_len'), '8.1f')} "
              f"{fmt(med(c, 'pad_efficiency'), '7.2f')} {fmt(med(c, 'prep_s'), '6.1f')} {fmt(med(c, 'pretok_s'), '8.2f')} "
              f"{fmt(med(c, 'train_loss'), '6.3f')} {fmt(med(c, 'f1_micro'), '8.4f')} {fmt(med(c, 'f1_macro'), '8.4f')} {fmt(med(c, 'auc_macro'), '6.3f')}")
    print("train s: wall time of the training call only (fit_one_cycle / trainer.train()); cpu s: CPU time of the process "
          "in it (all threads; less sensitive to other load);\nsamples/s = rows x epochs / train s; step ms: median time per optimizer step;\npad len / real len: mean padded / unpadded tokens per text in the "
          "training batches; prep s: data + model set-up (untimed); pretok s: the Trainer recipes' dataset.map; "
          "loss: mean training loss over all steps;\nmicro-/macro-F1: dev rows at threshold 0.5; AUC: macro ROC AUC on the dev rows (threshold-free).")
    if "fastai_hf" in runs and runs["fastai_hf"]:
        print(f"fastai_hf: hf_predict agrees with the shared evaluation to max |dp| = "
              f"{max(x['hf_predict_max_abs_diff'] for x in runs['fastai_hf']):.2e}")

    print()
    print("speed = samples/s ratio (the issue's measure). In brackets, two views less exposed to other jobs on the machine:\n"
          "the ratio of median step times (same number of steps in every config) and of CPU seconds.")
    for ours in [c for c in ("fastai_hf", *EXTRA) if c in runs and c.startswith("fastai_hf")]:
        diag = ours != "fastai_hf"
        for c, target in (("trainer_maxlen", 3.0), ("trainer_dynamic", 1.1), ("trainer_dynamic_random", None)):
            if c not in runs or (diag and target is None): continue
            diag_c = diag or target is None
            ratio = med(ours, "samples_per_s") / med(c, "samples_per_s")
            step_ratio = med(c, "median_step_s") / med(ours, "median_step_s")
            cpu_ratio = med(c, "cpu_s") / med(ours, "cpu_s")
            f1_ours, f1_theirs = med(ours, "f1_macro"), med(c, "f1_macro")
            verdict = "" if diag_c else f" (target >= {target}x) {'PASS' if ratio >= target else 'FAIL'}"
            f1_verdict = "" if diag_c else f" (target: no lower) {'PASS' if f1_ours >= f1_theirs else 'FAIL'}"
            print(f"{'(diag) ' if diag_c else ''}{ours} vs {c}: speed {ratio:.2f}x{verdict};  "
                  f"macro-F1 {f1_ours:.4f} vs {f1_theirs:.4f}{f1_verdict};  "
                  f"[median-step ratio {step_ratio:.2f}x, CPU-time ratio {cpu_ratio:.2f}x]")
    print("load average at end " + ", ".join(f"{x:.2f}" for x in load_avg()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs, "load_end": load_avg()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
