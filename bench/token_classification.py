#!/usr/bin/env python
"""Token classification training throughput: fastai_hf against the Hugging Face Trainer, side by side.

The same CoNLL-2003 sentences, model (all-MiniLM-L6-v2 with a new 9-tag head), batch size, epochs and
peak learning rate, trained side by side in one run (the default `--configs`):

  fastai_hf        DataBlock(HF_TokenClassBlock, HF_TokenCategoryBlock): word lists tokenized per batch
                   (random pools of 4 batches regrouped by token count), tags aligned to first pieces;
                   Learner(FusedAdam, its default CrossEntropyLossFlat(ignore_index=-100),
                   HF_BaseModelCallback, hf_splitter), fit_one_cycle: fastai's default schedule.
  fastai_hf+linear+clip  the same Learner with the recipe for short fine-tunes of the NER vignette:
                   fit_linear (the Trainer's schedule) and GradientClip(1.0).
  trainer          the transformers token-classification recipe: dataset.map(tokenize_and_align_labels:
                   first piece labelled, the rest -100, truncation), DataCollatorForTokenClassification,
                   Trainer (its default random sampler).

Diagnostics: a config may add modifiers, each one of the other side's choices (`--configs
fastai_hf+linear+clip,trainer+grouped`; `--extra` runs each modifier alone and the Trainer's whole recipe):
  fastai_hf+warm10  fit_one_cycle(pct_start=0.1) (one-cycle warms up over a quarter of the steps by default)
  fastai_hf+eps8    Adam(eps=1e-8), the Trainer's (fastai's is 1e-5)
  fastai_hf+betas   the Trainer's Adam hypers: momentum 0.9 (not cycled 0.95-0.85-0.95), sqr_mom 0.999, eps 1e-8
  fastai_hf+clip    GradientClip(max_norm=1.0), the Trainer's default max_grad_norm
  fastai_hf+linear  the Trainer's schedule: learn.fit_linear, the rate decaying linearly from the peak to 0,
                    no warm-up, momentum 0.9
  fastai_hf+cos     learn.fit_flat_cos(pct_start=0): cosine decay from the peak, no warm-up, momentum 0.9
  fastai_hf+random  plain random batches (pool_batches=1), the Trainer's sampler
  trainer+grouped   train_sampling_strategy="group_by_length"

Only the training call is timed. tokens/s = real (unpadded) word pieces of the training sentences x
epochs / training seconds: the same numerator for every config, so ratios are time ratios. Then every
trained model tags the same held-out sentences through one plain-torch function (each word's first
piece, whole sentences) and seqeval scores entity F1. Needs `accelerate` for the Trainer.

    python bench/token_classification.py                        # 2,000 sentences, F1 on 1,000 test sentences
    python bench/token_classification.py --lrs 3e-4,5e-4 --seeds 42,43,44  # the run of bench/README.md (make bench-ner)
    python bench/token_classification.py --rows 64 --eval-rows 32 # smoke run
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
from functools import partial

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_throughput import Shapes, fmt, load_avg, step_stats  # noqa: E402  (the same bookkeeping)

RECIPES = {"fastai_hf": "fastai_hf (HF_TokenClassBlock, FusedAdam, 1cycle)",
           "trainer": "Trainer + DataCollatorForTokenClassification"}
# Each modifier: the recipe it applies to, what it changes of that runner's defaults, and its label.
MODIFIERS = {"warm10": ("fastai_hf", {"pct_start": 0.1}, "1cycle pct_start 0.1"),
             "eps8": ("fastai_hf", {"eps": 1e-8}, "Adam eps 1e-8"),
             "betas": ("fastai_hf", {"eps": 1e-8, "sqr_mom": 0.999, "moms": (0.9, 0.9, 0.9)}, "Adam (0.9, 0.999, 1e-8)"),
             "clip": ("fastai_hf", {"clip": 1.0}, "GradientClip(1.0)"),
             "linear": ("fastai_hf", {"schedule": "linear"}, "linear decay, no warm-up"),
             "cos": ("fastai_hf", {"schedule": "cos"}, "fit_flat_cos(pct_start=0)"),
             "random": ("fastai_hf", {"pool_batches": 1}, "random batches"),
             "grouped": ("trainer", {"grouped": True}, "group_by_length")}
TRAINER_RECIPE = "fastai_hf+random+linear+betas+clip"  # every optimisation choice of the Trainer at once
EXTRA = [f"{recipe}+{m}" for m, (recipe, _, _) in MODIFIERS.items()] + [TRAINER_RECIPE]
RECOMMENDED = "fastai_hf+linear+clip"  # the short fine-tune recipe of the NER vignette: fit_linear + GradientClip(1.0)
MAIN = ["fastai_hf", RECOMMENDED, "trainer"]
NAMED = {RECOMMENDED: "fastai_hf, fit_linear + GradientClip(1.0)", TRAINER_RECIPE: "  diag: fastai_hf, the Trainer's recipe"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rows", type=int, default=2000, help="CoNLL-2003 training sentences (the first N of train)")
    p.add_argument("--eval-rows", type=int, default=1000, help="test sentences tagged for entity F1 (the first N of test)")
    p.add_argument("--bs", type=int, default=16)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lrs", default="1e-4", help="comma-separated peak learning rates, each run by every config; "
                   "F1 is compared at each side's best")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", default="42", help="comma-separated seeds; every config runs once per seed (the order "
                   "rotates) and medians over the seeds are reported: one seed's entity F1 varies by ~0.03")
    p.add_argument("--max-length", type=int, default=128, help="truncation length (no CoNLL training sentence is cut)")
    p.add_argument("--configs", default=",".join(MAIN), help=f"comma-separated, in run order: {' or '.join(RECIPES)}, "
                   f"each optionally with +modifiers from {list(MODIFIERS)}")
    p.add_argument("--extra", action="store_true", help="also run every diagnostic config (the 'diag:' rows): "
                   "each modifier alone, and the Trainer's whole recipe in fastai_hf")
    p.add_argument("--json", help="also write all figures to this JSON file")
    args = p.parse_args(argv)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    args.lrs = [float(x) for x in args.lrs.split(",") if x.strip()]
    args.seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    if args.extra: args.configs += [c for c in EXTRA if c not in args.configs]
    for c in args.configs:
        try: variant(c)
        except ValueError as e: p.error(str(e))
    return args


def variant(config):
    "A config's runner, the changes to its defaults, and its label, from 'recipe+modifier+...'."
    recipe, *mods = config.split("+")
    if recipe not in RECIPES: raise ValueError(f"unknown recipe {recipe!r} in {config!r}; choose from {list(RECIPES)}")
    changes = {}
    for m in mods:
        if MODIFIERS.get(m, (None,))[0] != recipe:
            ok = [k for k, v in MODIFIERS.items() if v[0] == recipe]
            raise ValueError(f"unknown modifier {m!r} for {recipe} in {config!r}; choose from {ok}")
        changes.update(MODIFIERS[m][1])
    label = NAMED.get(config) or (RECIPES[recipe] if not mods else
                                  f"  diag: {recipe}, " + " + ".join(MODIFIERS[m][2] for m in mods))
    return (run_trainer if recipe == "trainer" else run_fastai_hf), changes, label


# ---------------------------------------------------------------------------------------------
# Shared: data, config, evaluation


def load_data(args):
    import fastai_hf as fh
    return fh.load_conll2003("train", n_rows=args.rows), fh.load_conll2003("test", n_rows=args.eval_rows), fh.conll2003_labels()


def model_config(labels):
    import fastai_hf as fh
    from transformers import AutoConfig
    return AutoConfig.from_pretrained(fh.minilm_path(), num_labels=len(labels), id2label=dict(enumerate(labels)),
                                      label2id={l: i for i, l in enumerate(labels)})


def real_tokens(tokenizer, sentences, max_length):
    "Word pieces (special tokens included) of each sentence after truncation: the tokens/s numerator."
    enc = tokenizer([list(s) for s in sentences], is_split_into_words=True, truncation=True, max_length=max_length)
    return sum(len(ids) for ids in enc["input_ids"])


def tag_words(hf_model, tokenizer, sentences, labels, max_length, bs=64):
    "The one evaluation for every config: each word's tag from its first piece (plain torch, dynamic padding)."
    hf_model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(sentences), bs):
            chunk = [list(s) for s in sentences[i:i + bs]]
            enc = tokenizer(chunk, is_split_into_words=True, truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt")
            pred = hf_model(**enc).logits.argmax(-1)
            for k, words in enumerate(chunk):
                tags, prev = ["O"] * len(words), None
                for j, w in enumerate(enc.word_ids(k)):
                    if w is not None and w != prev: tags[w] = labels[int(pred[k, j])]
                    prev = w
                out.append(tags)
    return out


def entity_scores(targets, preds):
    from seqeval.metrics import accuracy_score, f1_score
    return {"f1": f1_score(targets, preds, zero_division=0), "accuracy": accuracy_score(targets, preds)}


# ---------------------------------------------------------------------------------------------
# fastai_hf


def run_fastai_hf(args, train, test, labels, pct_start=0.25, eps=1e-5, sqr_mom=0.99, moms=(0.95, 0.85, 0.95),
                  clip=None, schedule="one_cycle", pool_batches=4):
    import fastai_hf as fh
    from fastai.callback.core import Callback, CancelValidException

    class SkipValidation(Callback):
        order = -10
        def before_validate(self): raise CancelValidException()

    class StepTimer(Callback):
        order = 100
        def __init__(self): self.ends, self.losses, self.shapes, self.t0 = [], [], Shapes(), None
        def before_train(self): self.t0 = time.perf_counter()
        def before_batch(self):
            if self.training: self.shapes.add(self.xb[0]["input_ids"], self.xb[0]["attention_mask"])
        def after_batch(self):
            if self.training: self.ends.append(time.perf_counter()); self.losses.append(float(self.loss))

    t = time.perf_counter()
    fh.set_seed(args.seed)
    config = model_config(labels)
    torch.manual_seed(args.seed)  # the same new head as the Trainer's
    arch, _, tok, model = fh.get_hf_objects(fh.minilm_path(), task=fh.HF_TASKS_AUTO.TokenClassification, config=config)
    df = pd.concat([train.assign(is_valid=False), test.head(1).assign(is_valid=True)], ignore_index=True)
    dblock = fh.DataBlock(blocks=[fh.HF_TokenClassBlock(hf_arch=arch, hf_tokenizer=tok, max_length=args.max_length),
                                  fh.HF_TokenCategoryBlock(vocab=labels)],
                          get_x=fh.ColReader("tokens"), get_y=fh.ColReader("tags"), splitter=fh.ColSplitter())
    dls = dblock.dataloaders(df, bs=args.bs, pool_batches=pool_batches)
    learn = fh.Learner(dls, fh.HF_BaseModelWrapper(model), opt_func=partial(fh.FusedAdam, eps=eps, sqr_mom=sqr_mom),
                       cbs=fh.HF_BaseModelCallback(), splitter=fh.hf_splitter)
    learn.unfreeze()
    prep_s = time.perf_counter() - t

    timer = StepTimer()
    fh.set_seed(args.seed)
    with learn.no_bar(), learn.no_logging():
        t, c = time.perf_counter(), time.process_time()
        cbs = [SkipValidation(), timer] + ([fh.GradientClip(clip)] if clip else [])
        if schedule == "cos":
            learn.fit_flat_cos(args.epochs, lr=args.lr, pct_start=0, cbs=cbs)
        elif schedule == "linear":
            learn.fit_linear(args.epochs, lr=args.lr, cbs=cbs)
        else:
            learn.fit_one_cycle(args.epochs, lr_max=args.lr, pct_start=pct_start, moms=moms, cbs=cbs)
        train_s, cpu_s = time.perf_counter() - t, time.process_time() - c

    preds = tag_words(model, tok, test["tokens"].tolist(), labels, args.max_length)
    ours = fh.token_metrics(learn, test.head(200))  # the package's own evaluation agrees with the shared one
    shared = entity_scores(test["tags"].head(200).tolist(), preds[:200])
    res = {"train_s": train_s, "cpu_s": cpu_s, "prep_s": prep_s, "train_loss": float(np.mean(timer.losses)),
           "token_metrics_f1_diff": abs(ours["f1"] - shared["f1"]), **step_stats(timer.t0, timer.ends),
           **timer.shapes.summary()}
    return res, preds


# ---------------------------------------------------------------------------------------------
# HF Trainer (the token-classification recipe)


def run_trainer(args, train, test, labels, grouped=False):
    import datasets
    import fastai_hf as fh
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              PrinterCallback, Trainer, TrainerCallback, TrainingArguments)
    datasets.disable_progress_bars()
    path = fh.minilm_path()
    label_id = {l: i for i, l in enumerate(labels)}

    class StepTimer(TrainerCallback):
        def __init__(self): self.ends, self.t0 = [], None
        def on_train_begin(self, args, state, control, **kw): self.t0 = time.perf_counter()
        def on_step_end(self, args, state, control, **kw): self.ends.append(time.perf_counter())

    shapes = Shapes()

    class RecordingCollator(DataCollatorForTokenClassification):
        def __call__(self, features):
            batch = super().__call__(features)
            shapes.add(batch["input_ids"], batch["attention_mask"])
            return batch

    tokenizer = AutoTokenizer.from_pretrained(path)

    def tokenize_and_align_labels(examples):  # the recipe's: first piece labelled, the rest -100
        enc = tokenizer(examples["tokens"], truncation=True, max_length=args.max_length, is_split_into_words=True)
        all_labels = []
        for i, tags in enumerate(examples["tags"]):
            prev, ids = None, []
            for w in enc.word_ids(i):
                ids.append(-100 if w is None or w == prev else label_id[tags[w]])
                prev = w
            all_labels.append(ids)
        enc["labels"] = all_labels
        return enc

    t = time.perf_counter()
    ds = datasets.Dataset.from_pandas(train[["tokens", "tags"]], preserve_index=False)
    ds = ds.map(tokenize_and_align_labels, batched=True, remove_columns=ds.column_names)
    pretok_s = time.perf_counter() - t

    torch.manual_seed(args.seed)
    model = AutoModelForTokenClassification.from_pretrained(path, config=model_config(labels))
    targs = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="bench-ner-"), learning_rate=args.lr, per_device_train_batch_size=args.bs,
        num_train_epochs=args.epochs, weight_decay=0.01, seed=args.seed, use_cpu=True, eval_strategy="no",
        save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True, dataloader_pin_memory=False,
        train_sampling_strategy="group_by_length" if grouped else "random")
    timer = StepTimer()
    trainer = Trainer(model=model, args=targs, train_dataset=ds, processing_class=tokenizer,
                      data_collator=RecordingCollator(tokenizer), callbacks=[timer])
    trainer.remove_callback(PrinterCallback)
    prep_s = time.perf_counter() - t

    t, c = time.perf_counter(), time.process_time()
    result = trainer.train()
    train_s, cpu_s = time.perf_counter() - t, time.process_time() - c
    assert torch.get_num_threads() == args.threads, f"the Trainer changed the thread count to {torch.get_num_threads()}"
    preds = tag_words(model, tokenizer, test["tokens"].tolist(), labels, args.max_length)
    res = {"train_s": train_s, "cpu_s": cpu_s, "prep_s": prep_s, "pretok_s": pretok_s,
           "train_loss": float(result.training_loss), **step_stats(timer.t0, timer.ends), **shapes.summary()}
    return res, preds


def warmup(args, labels):
    "Untimed forward/backward passes, so no config pays the process's first-use costs."
    import fastai_hf as fh
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(fh.minilm_path())
    model = AutoModelForTokenClassification.from_pretrained(fh.minilm_path(), config=model_config(labels))
    for n in (24, 64, 24):
        enc = tok(["warm up"] * args.bs, padding="max_length", max_length=n, return_tensors="pt")
        model(**enc, labels=torch.zeros(args.bs, n, dtype=torch.long)).loss.backward()
    del model
    gc.collect()


def main(argv=None):
    args = parse_args(argv)
    import importlib.util
    if any(c.startswith("trainer") for c in args.configs) and importlib.util.find_spec("accelerate") is None:
        print("token_classification: the Hugging Face Trainer needs `accelerate`: pip install torch==2.13.0 -e '.[bench]'",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import fastai
    import transformers
    import fastai_hf
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    train, test, labels = load_data(args)
    tok = transformers.AutoTokenizer.from_pretrained(fastai_hf.minilm_path())
    n_tokens = real_tokens(tok, train["tokens"].tolist(), args.max_length) * args.epochs
    targets = test["tags"].tolist()
    print(f"token_classification: {len(train)} CoNLL-2003 training sentences ({n_tokens // args.epochs} word pieces), "
          f"{len(test)} test sentences, model all-MiniLM-L6-v2, bs {args.bs}, {args.epochs} epoch(s), lr {', '.join(f'{lr:g}' for lr in args.lrs)}, "
          f"{args.threads} threads, seeds {', '.join(map(str, args.seeds))}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, fastai {fastai.__version__}, python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs; load average at start "
          + ", ".join(f"{x:.2f}" for x in load_avg()), flush=True)
    warmup(args, labels)

    runs = {(c, lr): [] for lr in args.lrs for c in args.configs}
    for r, seed in enumerate(args.seeds):
        order = args.configs[r % len(args.configs):] + args.configs[:r % len(args.configs)]
        for lr in args.lrs:
            for c in order:
                la = load_avg()[0]
                runner, changes, _ = variant(c)
                res, preds = runner(argparse.Namespace(**{**vars(args), "lr": lr, "seed": seed}), train, test, labels, **changes)
                res.update(entity_scores(targets, preds))
                res["tokens_per_s"] = n_tokens / res["train_s"]
                res["sentences_per_s"] = len(train) * args.epochs / res["train_s"]
                res["load_before"], res["load_after"], res["seed"] = la, load_avg()[0], seed
                runs[c, lr].append(res)
                print(f"  [seed {seed}] {c:24s} lr {lr:<7g} train {res['train_s']:7.1f} s  "
                      f"{res['tokens_per_s']:7.0f} tokens/s  entity F1 {res['f1']:.4f}  (load {la:.2f} -> {res['load_after']:.2f})",
                      flush=True)
                gc.collect()

    def med(key, k):
        vals = [x[k] for x in runs[key] if x.get(k) is not None]
        return statistics.median(vals) if vals else None

    print()
    head = (f"{'config':50s} {'lr':>6s} {'train s':>8s} {'cpu s':>6s} {'tokens/s':>8s} {'sent/s':>7s} {'step ms':>8s} "
            f"{'pad len':>7s} {'real len':>8s} {'pad eff':>7s} {'pretok s':>8s} {'loss':>6s} {'entity F1':>9s} {'accuracy':>8s}")
    print(head)
    print("-" * len(head))
    for (c, lr) in runs:
        key = (c, lr)
        ms = med(key, "median_step_s")
        print(f"{variant(c)[2]:50s} {lr:6g} {fmt(med(key, 'train_s'), '8.1f')} {fmt(med(key, 'cpu_s'), '6.0f')} "
              f"{fmt(med(key, 'tokens_per_s'), '8.0f')} {fmt(med(key, 'sentences_per_s'), '7.1f')} "
              f"{fmt(ms * 1000 if ms else None, '8.0f')} {fmt(med(key, 'mean_padded_len'), '7.1f')} "
              f"{fmt(med(key, 'mean_real_len'), '8.1f')} {fmt(med(key, 'pad_efficiency'), '7.2f')} {fmt(med(key, 'pretok_s'), '8.2f')} "
              f"{fmt(med(key, 'train_loss'), '6.3f')} {fmt(med(key, 'f1'), '9.4f')} {fmt(med(key, 'accuracy'), '8.4f')}")
    print("tokens/s: real word pieces of the training sentences x epochs / train s (wall time of fit_one_cycle / "
          "trainer.train()); cpu s: CPU time of the process in it;\npad len / real len: mean padded / real pieces per "
          "sentence in the training batches; pretok s: the Trainer recipe's dataset.map (before its timing);\nentity F1 / "
          "accuracy: seqeval on the test sentences, every model through the same first-piece tagging function.")
    if len(args.seeds) > 1:
        print(f"\nentity F1 by seed ({', '.join(map(str, args.seeds))}), then their mean:")
        for (c, lr), rs in runs.items():
            f1s = [x["f1"] for x in sorted(rs, key=lambda x: args.seeds.index(x["seed"]))]
            print(f"  {c:40s} {lr:6g}  " + " ".join(f"{f:.4f}" for f in f1s) + f"   mean {statistics.mean(f1s):.4f}")
    checked = [x["token_metrics_f1_diff"] for (c, _), rs in runs.items() if c.startswith("fastai_hf") for x in rs]
    if checked:
        print(f"fastai_hf: token_metrics agrees with the shared evaluation to |dF1| = {max(checked):.2e} "
              "(first 200 test sentences)")
    ours = [c for c in MAIN if c.startswith("fastai_hf") and c in args.configs]
    if ours and "trainer" in args.configs:
        # Speed does not depend on the learning rate: all LRs pooled. Quality: each side at its own best
        # LR of the same grid, the fair comparison when the recipes' schedules differ; medians over seeds,
        # and the mean of the per-seed differences (the same seed: the same new head and data).
        def pooled(c, k): return statistics.median([x[k] for lr in args.lrs for x in runs[c, lr]])
        def best(c): return max(args.lrs, key=lambda lr: med((c, lr), "f1"))
        lr_theirs = best("trainer")
        f1_theirs = med(("trainer", lr_theirs), "f1")
        theirs_by_seed = {x["seed"]: x["f1"] for x in runs["trainer", lr_theirs]}
        print()
        for c in ours:
            speed = pooled(c, "tokens_per_s") / pooled("trainer", "tokens_per_s")
            lr_ours = best(c)
            f1_ours = med((c, lr_ours), "f1")
            diff = statistics.mean(x["f1"] - theirs_by_seed[x["seed"]] for x in runs[c, lr_ours])
            print(f"{c} vs trainer: speed {speed:.2f}x (aim: no slower) {'PASS' if speed >= 1 else 'FAIL'};  entity F1 "
                  f"(median of {len(args.seeds)} seed(s)) at each side's best lr of {[f'{lr:g}' for lr in args.lrs]}: "
                  f"{f1_ours:.4f} (lr {lr_ours:g}) vs {f1_theirs:.4f} (lr {lr_theirs:g}), mean per-seed difference "
                  f"{diff:+.4f} (aim: no lower) {'PASS' if f1_ours >= f1_theirs else 'FAIL'};  [median-step ratio "
                  f"{pooled('trainer', 'median_step_s') / pooled(c, 'median_step_s'):.2f}x, CPU-time ratio "
                  f"{pooled('trainer', 'cpu_s') / pooled(c, 'cpu_s'):.2f}x]")
    print("load average at end " + ", ".join(f"{x:.2f}" for x in load_avg()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": [{"config": c, "lr": lr, "runs": rs} for (c, lr), rs in runs.items()],
                       "load_end": load_avg()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
