#!/usr/bin/env python
"""Time to a quality bar: the package's documented recipe against the HF Trainer, GoEmotions Ekman.

The question users care about: how long until a model is good enough? Setting: GoEmotions with
Ekman's 7 labels (multi-label), the first 4,000 training rows, all-MiniLM-L6-v2 (offline), the
same dev rows scored after every epoch by one shared function (plain torch, fp32, sigmoid,
sklearn macro-F1). The bar: dev macro-F1 >= 0.45.

Configurations, each run in a fresh Python process (clean peak memory, no shared state):

  fastai_hf        the package's documented recipe (README, examples/multilabel_goemotions.py):
                   DataBlock(HF_TextBlock, MultiCategoryBlock); Learner with the default `Adam`,
                   BCEWithLogitsLossFlat, HF_BaseModelCallback, hf_splitter; `freeze()`, `lr_find()`
                   (its valley suggestion is the head's rate), one epoch of `fit_one_cycle` on the
                   head, `unfreeze()`, `fit_one_cycle(epochs - 1, slice(lo, hi))` (discriminative
                   rates, default 2e-5 .. 2e-4); per-label thresholds tuned after each epoch on
                   separate dev rows (the "tune" rows, never the scored ones).
  fastai_hf_bf16   the same after `learn.to_bf16()` (bf16 autocast on a CPU with bf16 instructions).
  trainer@LR       the HF Trainer with dynamic padding (DataCollatorWithPadding) and length grouping
                   (group_by_length), threshold 0.5 as in the Trainer notebook, for each LR of the
                   sweep {2e-5, 5e-5, 1e-4, 2e-4}; linear decay, AdamW (fused), weight decay 0.01.
  trainer_bf16     the Trainer with `bf16=True` at the sweep's best LR (the like-for-like bf16 row).

Timing: "work" wall time, i.e. everything a user of the recipe waits for from raw rows to a model
with its thresholds: data preparation (DataLoaders / dataset.map tokenization), lr_find, training,
and for fastai_hf the predictions on the tune rows that set the thresholds. Loading the pretrained
model and the shared scoring of the dev rows after each epoch are excluded from both (the
stopwatch is paused). Time to the bar = work time at the end of the first epoch whose score
reaches it. "F1 within budget": each configuration's best score at or before the budget (the
fastai_hf time to the bar, or its total time if it does not reach the bar). samples/s = training
rows x epochs / seconds inside the fit calls. Peak memory: the process's peak resident set size.

    make bench-quality                                     # = the full run below (quiet machine: ~45 min)
    python bench/time_to_quality.py                        # all defaults (4,000 rows, 4 epochs, sweep of 4 LRs)
    python bench/time_to_quality.py --rows 300 --dev-rows 100 --tune-rows 100 --epochs 2 \\
        --trainer-lrs 1e-4 --seeds 42 --no-trainer-bf16    # smoke run (a few minutes)

Not a test: it exits 0 whatever the figures (2 when `accelerate`, needed by the Trainer, is missing).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

BAR = 0.45


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rows", type=int, default=4000, help="training rows (the first N of ekman/train.tsv)")
    p.add_argument("--dev-rows", type=int, default=1000, help="scored dev rows (the first N of ekman/dev.tsv)")
    p.add_argument("--tune-rows", type=int, default=1000, help="dev rows after the scored ones, for fastai_hf's thresholds")
    p.add_argument("--epochs", type=int, default=4, help="epochs for every config (fastai_hf: 1 frozen + the rest unfrozen)")
    p.add_argument("--bs", type=int, default=16, help="training batch size, both sides")
    p.add_argument("--body-lrs", default="2e-5,2e-4", help="fastai_hf: slice(lo, hi) for the unfrozen epochs")
    p.add_argument("--trainer-lrs", default="2e-5,5e-5,1e-4,2e-4", help="the Trainer's learning-rate sweep")
    p.add_argument("--seeds", default="42,43", help="seeds for the fastai_hf configs (fp32 and bf16: the noise of macro-F1)")
    p.add_argument("--trainer-seeds", default="42", help="seeds for each Trainer run")
    p.add_argument("--bar", type=float, default=BAR, help="the dev macro-F1 to reach")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--no-bf16", action="store_true", help="skip fastai_hf_bf16")
    p.add_argument("--no-trainer-bf16", action="store_true", help="skip the Trainer with bf16=True")
    p.add_argument("--json", default="build/time_to_quality.json", help="all figures, per run")
    p.add_argument("--report", metavar="JSON", help="only print the figures of a run saved with --json")
    p.add_argument("--worker", help=argparse.SUPPRESS)          # internal: run one config in this process
    p.add_argument("--worker-out", help=argparse.SUPPRESS)
    p.add_argument("--lr", type=float, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=42, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def floats(s): return [float(x) for x in s.split(",") if x.strip()]
def ints(s): return [int(x) for x in s.split(",") if x.strip()]
def load_avg():
    try: return os.getloadavg()
    except OSError: return (float("nan"),) * 3


class Stopwatch:
    "Accumulates wall time while running; `paused()` excludes a block (the shared scoring)."
    def __init__(self): self.total, self.t0 = 0.0, None
    def start(self): self.t0 = time.perf_counter()
    def stop(self):
        if self.t0 is not None: self.total += time.perf_counter() - self.t0
        self.t0 = None
    @property
    def elapsed(self): return self.total + (time.perf_counter() - self.t0 if self.t0 is not None else 0.0)
    def __enter__(self): self.start(); return self
    def __exit__(self, *exc): self.stop()

    class _Paused:
        def __init__(self, sw): self.sw, self.was = sw, False
        def __enter__(self):
            self.was = self.sw.t0 is not None
            if self.was: self.sw.stop()
        def __exit__(self, *exc):
            if self.was: self.sw.start()
    def paused(self): return Stopwatch._Paused(self)


# ---------------------------------------------------------------------------------- shared pieces
def load_data(args):
    import fastai_hf
    train = fastai_hf.load_goemotions("ekman", split="train", n_rows=args.rows)
    dev = fastai_hf.load_goemotions("ekman", split="dev", n_rows=args.dev_rows + args.tune_rows)
    labels = (fastai_hf.goemotions_path("ekman") / "labels.txt").read_text().split()
    return train, dev.iloc[:args.dev_rows].reset_index(drop=True), dev.iloc[args.dev_rows:].reset_index(drop=True), labels


def model_config(labels):
    import fastai_hf
    from transformers import AutoConfig
    return AutoConfig.from_pretrained(fastai_hf.minilm_path(), num_labels=len(labels), problem_type="multi_label_classification",
                                      id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})


def score_probs(hf_model, tokenizer, texts, max_length, bs=64):
    "The one scoring function for every config: plain torch, fp32, dynamic padding, sigmoid."
    import torch
    was = hf_model.training
    hf_model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), bs):
            enc = tokenizer(list(texts[i:i + bs]), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            out.append(torch.sigmoid(hf_model(**enc).logits.float()))
    hf_model.train(was)
    return torch.cat(out).numpy()


def macro_f1(probs, targets, thresh):
    from sklearn.metrics import f1_score
    return float(f1_score(targets, (probs >= thresh).astype(int), average="macro", zero_division=0))


def tuned_thresholds(probs, targets):
    "Per label, the threshold in 0.01..0.99 with the best F1 (find_thresholds' rule; 0.5 for a label with no positives)."
    import numpy as np
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    pred = probs[None] >= grid[:, None, None]
    tp = (pred & (targets[None] == 1)).sum(1)
    fp = (pred & (targets[None] == 0)).sum(1)
    fn = (~pred & (targets[None] == 1)).sum(1)
    f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    return np.where(targets.sum(0) > 0, grid[f1.argmax(0)], 0.5)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# -------------------------------------------------------------------------------------- fastai_hf
def run_fastai_hf(args, bf16=False):
    import pandas as pd
    import torch
    import fastai_hf as fh
    from fastai.callback.core import Callback, CancelValidException
    from fastai_hf.predict import probabilities

    train, dev, tune, labels = load_data(args)
    score_targets, tune_targets = dev[labels].to_numpy(), tune[labels].to_numpy()
    fh.set_seed(args.seed)
    torch.manual_seed(args.seed)
    arch, _, tok, hf_model = fh.get_hf_objects(fh.minilm_path(), config=model_config(labels))
    sw, fit_s, epochs = Stopwatch(), [0.0], []

    class SkipValidation(Callback):
        "The recipe's own validation pass is replaced by the evaluation below (thresholds + scoring)."
        order = -10
        def before_validate(self): raise CancelValidException()

    class EpochEval(Callback):
        order = 90
        def __init__(self, stage): self.stage = stage
        def before_epoch(self): self.t_fit = time.perf_counter()
        def after_epoch(self):
            epoch_s = time.perf_counter() - self.t_fit
            fit_s[0] += epoch_s
            thresholds = tuned_thresholds(probabilities(self.learn, tune.text.tolist()), tune_targets)  # recipe work: timed
            with sw.paused():
                probs = score_probs(hf_model, tok, dev.text.tolist(), args.max_length)
                epochs.append({"epoch": len(epochs) + 1, "stage": self.stage, "work_s": sw.elapsed, "fit_s": epoch_s,
                               "f1_macro": macro_f1(probs, score_targets, thresholds),
                               "f1_macro_at_0.5": macro_f1(probs, score_targets, 0.5), "load": load_avg()[0]})
                print(f"    epoch {len(epochs)} ({self.stage}): work {sw.elapsed:7.1f} s  macro-F1 {epochs[-1]['f1_macro']:.4f} "
                      f"(at 0.5: {epochs[-1]['f1_macro_at_0.5']:.4f})", flush=True)

    lo, hi = floats(args.body_lrs)
    with sw:
        df = pd.concat([train.assign(is_valid=False), tune.assign(is_valid=True)], ignore_index=True)
        dblock = fh.DataBlock(blocks=(fh.HF_TextBlock(hf_arch=arch, hf_tokenizer=tok, max_length=args.max_length),
                                      fh.MultiCategoryBlock(encoded=True, vocab=labels)),
                              get_x=fh.ColReader("text"), get_y=fh.ColReader(labels), splitter=fh.ColSplitter())
        dls = dblock.dataloaders(df, bs=args.bs)
        learn = fh.Learner(dls, fh.HF_BaseModelWrapper(hf_model), loss_func=fh.BCEWithLogitsLossFlat(),
                           cbs=fh.HF_BaseModelCallback(), splitter=fh.hf_splitter, path=tempfile.mkdtemp(prefix="ttq-"))
        if bf16:
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always")
                learn.to_bf16()
            for w in said: print(f"    {w.message}")
        learn.freeze()
        with learn.no_bar(), learn.no_logging():
            t = time.perf_counter()
            sugg = learn.lr_find(show_plot=False)
            lr_find_s = time.perf_counter() - t
            head_lr = float(sugg.valley)
            print(f"    lr_find: valley {head_lr:.2e} ({lr_find_s:.1f} s)", flush=True)
            learn.fit_one_cycle(1, head_lr, cbs=[SkipValidation(), EpochEval("head")])
            learn.unfreeze()
            if args.epochs > 1:
                learn.fit_one_cycle(args.epochs - 1, slice(lo, hi), cbs=[SkipValidation(), EpochEval("all")])
    assert type(learn.opt).__name__ == "FusedAdam", type(learn.opt)
    return {"epochs": epochs, "head_lr": head_lr, "body_lrs": [lo, hi], "lr_find_s": lr_find_s, "fit_s": fit_s[0],
            "samples_per_s": len(train) * args.epochs / fit_s[0], "work_s": sw.total, "peak_rss_mb": peak_rss_mb(),
            "bf16_active": bool(bf16 and fh.cpu_bf16_support()[0])}


# ---------------------------------------------------------------------------------------- Trainer
def run_trainer(args, bf16=False):
    import datasets
    import numpy as np
    import torch
    import fastai_hf as fh
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, PrinterCallback,
                              Trainer, TrainerCallback, TrainingArguments)
    datasets.disable_progress_bars()
    train, dev, tune, labels = load_data(args)
    score_targets, tune_targets = dev[labels].to_numpy(), tune[labels].to_numpy()
    path = fh.minilm_path()
    tok = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(args.seed)  # the same head initialisation as fastai_hf
    model = AutoModelForSequenceClassification.from_pretrained(path, config=model_config(labels))
    sw, epochs, fit = Stopwatch(), [], {"s": 0.0, "t": None}

    class EpochEval(TrainerCallback):
        def on_epoch_begin(self, a, state, control, **kw): fit["t"] = time.perf_counter()
        def on_epoch_end(self, a, state, control, **kw):
            epoch_s = time.perf_counter() - fit["t"]
            fit["s"] += epoch_s
            with sw.paused():
                probs = score_probs(model, tok, dev.text.tolist(), args.max_length)
                info_thr = tuned_thresholds(score_probs(model, tok, tune.text.tolist(), args.max_length), tune_targets)
                epochs.append({"epoch": len(epochs) + 1, "stage": "all", "work_s": sw.elapsed, "fit_s": epoch_s,
                               "f1_macro": macro_f1(probs, score_targets, 0.5),
                               "f1_macro_tuned_info": macro_f1(probs, score_targets, info_thr), "load": load_avg()[0]})
                print(f"    epoch {len(epochs)}: work {sw.elapsed:7.1f} s  macro-F1 {epochs[-1]['f1_macro']:.4f} "
                      f"(with tuned thresholds, not the Trainer's recipe: {epochs[-1]['f1_macro_tuned_info']:.4f})", flush=True)

    def preprocess(ex):
        enc = tok(ex["text"], truncation=True, max_length=args.max_length)
        m = np.zeros((len(ex["text"]), len(labels)), dtype=np.float32)
        for j, l in enumerate(labels): m[:, j] = ex[l]
        enc["labels"] = m.tolist()
        return enc

    with sw:
        ds = datasets.Dataset.from_pandas(train[["text", *labels]], preserve_index=False)
        ds = ds.map(preprocess, batched=True, remove_columns=ds.column_names)
        ds.set_format("torch")
        targs = TrainingArguments(
            output_dir=tempfile.mkdtemp(prefix="ttq-trainer-"), learning_rate=args.lr, per_device_train_batch_size=args.bs,
            num_train_epochs=args.epochs, weight_decay=0.01, seed=args.seed, use_cpu=True, bf16=bf16,
            eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            dataloader_pin_memory=False, train_sampling_strategy="group_by_length")
        trainer = Trainer(model=model, args=targs, train_dataset=ds, processing_class=tok,
                          data_collator=DataCollatorWithPadding(tok), callbacks=[EpochEval()])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    return {"epochs": epochs, "lr": args.lr, "fit_s": fit["s"], "samples_per_s": len(train) * args.epochs / fit["s"],
            "work_s": sw.total, "peak_rss_mb": peak_rss_mb(), "bf16": bf16}


WORKERS = {"fastai_hf": lambda a: run_fastai_hf(a), "fastai_hf_bf16": lambda a: run_fastai_hf(a, bf16=True),
           "trainer": lambda a: run_trainer(a), "trainer_bf16": lambda a: run_trainer(a, bf16=True)}


def worker(args):
    import torch
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    res = WORKERS[args.worker](args)
    res.update(config=args.worker, seed=args.seed, threads=torch.get_num_threads())
    with open(args.worker_out, "w") as f: json.dump(res, f)
    return 0


# ------------------------------------------------------------------------------------ orchestrator
def time_to_bar(run, bar):
    hit = next((e for e in run["epochs"] if e["f1_macro"] >= bar), None)
    return (hit["work_s"], hit["epoch"]) if hit else (None, None)


def best_within(run, budget):
    vals = [e["f1_macro"] for e in run["epochs"] if e["work_s"] <= budget + 1e-9]
    return max(vals) if vals else None


def full_rate(run, rows):
    "Training samples/s over the epochs that train the whole model (fastai_hf's frozen head epoch left out)."
    full = [e["fit_s"] for e in run["epochs"] if e.get("stage") == "all" and "fit_s" in e]
    return rows * len(full) / sum(full) if full else None


def spawn(args, config, seed, lr=None):
    fd, out = tempfile.mkstemp(prefix=f"ttq-{config}-", suffix=".json")
    os.close(fd)
    os.remove(out)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", config, "--worker-out", out, "--seed", str(seed),
           "--rows", str(args.rows), "--dev-rows", str(args.dev_rows), "--tune-rows", str(args.tune_rows),
           "--epochs", str(args.epochs), "--bs", str(args.bs), "--body-lrs", args.body_lrs, "--threads", str(args.threads),
           "--max-length", str(args.max_length)]
    if lr is not None: cmd += ["--lr", repr(lr)]
    la = load_avg()[0]
    print(f"  {config}{f' lr {lr:g}' if lr else ''} seed {seed} (load {la:.2f})", flush=True)
    t = time.perf_counter()
    rc = subprocess.call(cmd)
    if rc != 0 or not os.path.exists(out):
        print(f"    failed (exit {rc})", flush=True)
        return None
    with open(out) as f: res = json.load(f)
    os.remove(out)
    res.update(load_before=la, load_after=load_avg()[0], process_s=time.perf_counter() - t)
    return res


def fmt(v, spec, none="-"):
    return none.rjust(int(spec.split(".")[0].lstrip("<>") or 0)) if v is None else format(v, spec)


def main(argv=None):
    args = parse_args(argv)
    if args.worker: return worker(args)
    if args.report:
        with open(args.report) as f: saved = json.load(f)
        for k in ("bar", "rows", "epochs", "trainer_lrs", "trainer_seeds"): setattr(args, k, saved["args"][k])
        args.json = None
        return report(args, saved["runs"])
    import importlib.util
    if importlib.util.find_spec("accelerate") is None:
        print("time_to_quality: the Hugging Face Trainer needs `accelerate`; pip install torch==2.13.0 -e '.[bench]'", file=sys.stderr)
        return 2
    import platform
    import torch
    import transformers
    import fastai
    import fastai_hf
    bf16_ok, how = fastai_hf.cpu_bf16_support()
    print(f"time_to_quality: GoEmotions Ekman (7 labels), {args.rows} training rows, {args.dev_rows} scored dev rows, "
          f"{args.tune_rows} tune rows; all-MiniLM-L6-v2; bs {args.bs}; {args.epochs} epochs; bar: dev macro-F1 >= {args.bar}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, fastai {fastai.__version__}, python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {args.threads} threads; CPU bf16: {bf16_ok} ({how}); "
          f"load average at start " + ", ".join(f"{x:.2f}" for x in load_avg()), flush=True)
    if not bf16_ok and not (args.no_bf16 and args.no_trainer_bf16):
        # Without bf16 instructions, to_bf16() stays fp32 (a second fp32 row under a bf16 name) and
        # the Trainer's bf16=True is emulated at a fraction of the speed: neither figure would mean
        # what its label says, so the bf16 rows are skipped and the report says why.
        print("time_to_quality: this CPU has no bf16 instructions; skipping the bf16 rows", flush=True)
        args.no_bf16 = args.no_trainer_bf16 = True

    runs = []
    for seed in ints(args.seeds):
        runs.append(spawn(args, "fastai_hf", seed))
        if not args.no_bf16: runs.append(spawn(args, "fastai_hf_bf16", seed))
    sweep = []
    for lr in floats(args.trainer_lrs):
        for seed in ints(args.trainer_seeds):
            r = spawn(args, "trainer", seed, lr)
            runs.append(r); sweep.append(r)
    runs = [r for r in runs if r]
    best_lr = sweep_summary(args, [r for r in sweep if r])[1]
    if best_lr is not None and not args.no_trainer_bf16:
        for seed in ints(args.trainer_seeds):
            r = spawn(args, "trainer_bf16", seed, best_lr)
            if r: runs.append(r)
    return report(args, runs)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def sweep_summary(args, sweep):
    "Per learning rate of the Trainer sweep: median time to the bar, best and final F1; and the best LR."
    def by_lr(lr): return [r for r in sweep if r["lr"] == lr]
    lr_rows = []
    for lr in floats(args.trainer_lrs):
        rs = by_lr(lr)
        if not rs: continue
        t = [time_to_bar(r, args.bar)[0] for r in rs]
        lr_rows.append({"lr": lr, "time": med(t) if all(x is not None for x in t) else None,
                        "final": med([r["epochs"][-1]["f1_macro"] for r in rs]), "best": med([max(e["f1_macro"] for e in r["epochs"]) for r in rs])})
    reached = [r for r in lr_rows if r["time"] is not None]
    best_lr = (min(reached, key=lambda r: r["time"]) if reached else max(lr_rows, key=lambda r: r["best"]))["lr"] if lr_rows else None
    return lr_rows, best_lr


def report(args, runs):
    "The side-by-side figures of all runs (also: --report FILE re-prints a saved run)."
    lr_rows, best_lr = sweep_summary(args, [r for r in runs if r["config"] == "trainer"])
    groups = {}
    for r in runs:
        key = r["config"] if not r["config"].startswith("trainer") else f"{r['config']}@{r['lr']:g}"
        groups.setdefault(key, []).append(r)
    ours = groups.get("fastai_hf", [])
    our_time = med([time_to_bar(r, args.bar)[0] for r in ours]) if ours and all(time_to_bar(r, args.bar)[0] for r in ours) else None
    budget = our_time if our_time is not None else med([r["work_s"] for r in ours]) if ours else None

    print(f"\nTrainer sweep (threshold 0.5; medians over seeds {args.trainer_seeds}):")
    print(f"  {'lr':>8s} {'time to bar s':>14s} {'best macro-F1':>14s} {'final macro-F1':>15s}")
    for r in lr_rows:
        print(f"  {r['lr']:8.0e} {fmt(r['time'], '14.1f', 'not reached')} {r['best']:14.4f} {r['final']:15.4f}"
              f"{'   <- best' if r['lr'] == best_lr else ''}")

    print(f"\nSide by side (medians over seeds; work s = wall time a user waits, shared scoring excluded; bar {args.bar}):")
    head = (f"  {'config':26s} {'time to bar s':>13s} {'epoch':>5s} {'F1 in budget':>12s} {'best F1':>8s} {'final F1':>8s} "
            f"{'F1 @0.5':>7s} {'work s':>7s} {'samples/s':>9s} {'full s/s':>8s} {'peak MB':>7s} {'seeds':>5s}")
    print(head)
    order = ["fastai_hf", "fastai_hf_bf16"] + [k for k in groups if k.startswith("trainer@")] + [k for k in groups if k.startswith("trainer_bf16")]
    table = {}
    for key in order:
        rs = groups.get(key)
        if not rs: continue
        tb = [time_to_bar(r, args.bar) for r in rs]
        t = med([x[0] for x in tb]) if all(x[0] is not None for x in tb) else None
        row = {"time_to_bar": t, "epoch": med([x[1] for x in tb]) if t is not None else None,
               "f1_in_budget": med([best_within(r, budget) for r in rs]) if budget is not None else None,
               "best_f1": med([max(e["f1_macro"] for e in r["epochs"]) for r in rs]),
               "final_f1": med([r["epochs"][-1]["f1_macro"] for r in rs]),
               "final_f1_at_0.5": med([r["epochs"][-1].get("f1_macro_at_0.5", r["epochs"][-1]["f1_macro"]) for r in rs]),
               "work_s": med([r["work_s"] for r in rs]), "samples_per_s": med([r["samples_per_s"] for r in rs]),
               "samples_per_s_full": med([full_rate(r, args.rows) for r in rs]),
               "peak_rss_mb": med([r["peak_rss_mb"] for r in rs]), "n": len(rs),
               "f1_per_seed": [r["epochs"][-1]["f1_macro"] for r in rs]}
        table[key] = row
        label = key + (" (best LR)" if key == f"trainer@{best_lr:g}" else "")
        print(f"  {label:26s} {fmt(t, '13.1f', 'not reached')} {fmt(row['epoch'], '5.0f')} {fmt(row['f1_in_budget'], '12.4f')} "
              f"{row['best_f1']:8.4f} {row['final_f1']:8.4f} {row['final_f1_at_0.5']:7.4f} {row['work_s']:7.1f} "
              f"{row['samples_per_s']:9.1f} {fmt(row['samples_per_s_full'], '8.1f')} {row['peak_rss_mb']:7.0f} {row['n']:5d}")
    print("  F1 = dev macro-F1 (fastai_hf: per-label thresholds tuned on the tune rows; Trainer: 0.5); F1 in budget: best score "
          f"by {fmt(budget, '.1f')} s of work (fastai_hf's time to the bar); F1 @0.5: the final model at threshold 0.5;\n"
          "  samples/s: training rows x epochs / seconds in the fit calls (fastai_hf's frozen head epoch included); full s/s: the same over\n"
          "  the epochs that train the whole model; peak MB: the process's peak resident memory.")
    best_key = f"trainer@{best_lr:g}" if best_lr is not None else None
    if best_key in table and "fastai_hf" in table:
        t_ours, t_theirs = table["fastai_hf"]["time_to_bar"], table[best_key]["time_to_bar"]
        if t_ours is not None and t_theirs is not None:
            ratio = t_ours / t_theirs
            print(f"\nfastai_hf vs the Trainer at its best LR ({best_lr:g}): time to macro-F1 {args.bar} {t_ours:.1f} s vs {t_theirs:.1f} s "
                  f"= {ratio:.2f}x (target <= 0.5x) {'PASS' if ratio <= 0.5 else 'FAIL'}")
        elif t_ours is not None:
            print(f"\nfastai_hf reaches macro-F1 {args.bar} in {t_ours:.1f} s; the Trainer does not reach it in {args.epochs} epochs at any LR "
                  f"(best {table[best_key]['best_f1']:.4f} at {best_lr:g}): PASS")
        else:
            print(f"\nfastai_hf does not reach macro-F1 {args.bar} in {args.epochs} epochs (best {table['fastai_hf']['best_f1']:.4f}): FAIL")
    if "fastai_hf_bf16" in table and "fastai_hf" in table:
        a, b = table["fastai_hf"], table["fastai_hf_bf16"]
        spread = max(a["f1_per_seed"]) - min(a["f1_per_seed"]) if len(a["f1_per_seed"]) > 1 else None
        print(f"bf16 vs fp32 (fastai_hf): final macro-F1 {b['final_f1']:.4f} vs {a['final_f1']:.4f} (diff {b['final_f1'] - a['final_f1']:+.4f}; "
              f"fp32 seed-to-seed range {fmt(spread, '.4f')}; per seed fp32 {[round(x, 4) for x in a['f1_per_seed']]}, "
              f"bf16 {[round(x, 4) for x in b['f1_per_seed']]}); samples/s {b['samples_per_s']:.1f} vs {a['samples_per_s']:.1f} "
              f"({b['samples_per_s'] / a['samples_per_s']:.2f}x)")
    print("load average at end " + ", ".join(f"{x:.2f}" for x in load_avg()))
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs, "table": table, "trainer_sweep": lr_rows, "best_trainer_lr": best_lr,
                       "budget_s": budget}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
