"""Batch prediction: `hf_predict` against `transformers.pipeline` on the same model and texts.

MiniLM with a 28-label multi-label head (the weights do not matter for speed; both sides use the same
model object), the first N GoEmotions dev texts. Configurations, each timed on the whole list:

- `pipeline bs=B`: `pipeline("text-classification", top_k=None, function_to_apply="sigmoid")` called
  on the list with `batch_size=B` for each B in --pipeline-bs (its default is 1), `truncation=True`;
- `get_preds (before)`: what `hf_predict` did before: fastai `test_dl` + `get_preds` at the
  validation batch size (16);
- `hf_predict bs=B`: the direct path (tokenize once, sort by tokens, inference_mode), fp32;
- `hf_predict bf16`: the same after `learn.to_bf16()` (bf16 autocast, on a CPU with bf16 instructions).

Order rotates between repeats; medians are reported, with the load average. It checks that every
configuration's probabilities equal the first pipeline's (max |dp|). Not a test: always exits 0.

    python bench/predict_throughput.py                       # 1000 texts, 3 repeats
    python bench/predict_throughput.py --texts 200 --repeats 1 --pipeline-bs 1,64 --bs 64   # smoke run
"""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pipeline-bs", default="1,8,16,32,64,128")
    ap.add_argument("--bs", default="32,64,128")
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()

    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    from transformers import AutoConfig, pipeline
    from fastai_hf import (BCEWithLogitsLossFlat, ColReader, DataBlock, HF_BaseModelCallback, HF_BaseModelWrapper,
                           HF_TextBlock, Learner, MultiCategoryBlock, RandomSplitter, cpu_bf16_support,
                           get_hf_objects, hf_predict, hf_splitter, load_goemotions, minilm_path, set_seed)
    from fastai_hf.predict import activation

    train = load_goemotions("original", split="train", n_rows=64)
    labels = [c for c in train.columns if c not in ("text", "labels", "id")]
    texts = load_goemotions("original", split="dev", n_rows=a.texts).text.tolist()
    set_seed(42)
    config = AutoConfig.from_pretrained(minilm_path(), num_labels=len(labels))
    arch, _, tok, model = get_hf_objects(minilm_path(), config=config)
    dls = DataBlock(blocks=[HF_TextBlock(hf_arch=arch, hf_tokenizer=tok), MultiCategoryBlock(encoded=True, vocab=labels)],
                    get_x=ColReader("text"), get_y=ColReader(labels), splitter=RandomSplitter(seed=0)).dataloaders(train, bs=16)
    learn = Learner(dls, HF_BaseModelWrapper(model), loss_func=BCEWithLogitsLossFlat(), cbs=HF_BaseModelCallback(),
                    splitter=hf_splitter)
    model.eval()
    pipe = pipeline("text-classification", model=model, tokenizer=tok, top_k=None, function_to_apply="sigmoid",
                    device="cpu")
    col = {l: i for i, l in enumerate(model.config.id2label[i] for i in range(len(labels)))}

    def run_pipeline(bs):
        out = pipe(texts, batch_size=bs, truncation=True)
        probs = np.zeros((len(texts), len(labels)), dtype=np.float32)
        for r, scores in enumerate(out):
            for s in scores: probs[r, col[s["label"]]] = s["score"]
        return probs

    def run_get_preds():
        learn.to_fp32()
        with learn.no_bar():
            p, _ = learn.get_preds(dl=learn.dls.test_dl(texts, bs=16), act=activation(learn))
        return p.numpy()

    def run_hf(bs, bf16=False):
        learn.to_bf16() if bf16 else learn.to_fp32()
        return hf_predict(learn, texts, bs=bs)[labels].to_numpy(dtype=np.float32)

    configs = {f"pipeline bs={b}": (lambda b=b: run_pipeline(b)) for b in map(int, a.pipeline_bs.split(","))}
    configs["get_preds (before), bs=16"] = run_get_preds
    for b in map(int, a.bs.split(",")): configs[f"hf_predict bs={b}"] = (lambda b=b: run_hf(b))
    bf16_ok, how = cpu_bf16_support()
    if not a.no_bf16 and bf16_ok: configs["hf_predict bf16 bs=64"] = lambda: run_hf(64, bf16=True)
    if not bf16_ok: print(f"no bf16 row: {how}")

    # warm-up: first-call costs (thread pools, kernel selection) outside the timings
    saved = texts[:]
    texts[:] = saved[:64]
    for f in configs.values(): f()
    texts[:] = saved

    names = list(configs)
    times = {n: [] for n in names}
    cpu = {n: [] for n in names}
    results = {}
    loads = [load()]
    for r in range(a.repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t, c = time.perf_counter(), time.process_time()
            results[n] = configs[n]()
            times[n].append(time.perf_counter() - t)
            cpu[n].append(time.process_time() - c)
            loads.append(load())
    ref_name = names[0]
    rows = []
    best_pipe = max((n for n in names if n.startswith("pipeline")), key=lambda n: len(texts) / statistics.median(times[n]))
    for n in names:
        med = statistics.median(times[n])
        rows.append({"config": n, "seconds": med, "texts_per_s": len(texts) / med, "runs": times[n],
                     "cpu_s": statistics.median(cpu[n]), "cpu_runs": cpu[n],
                     "max_abs_dp": float(np.abs(results[n] - results[ref_name]).max())})
    print(f"\n{len(texts)} GoEmotions dev texts, MiniLM (28 labels), torch threads {a.threads}, repeats {a.repeats}; "
          f"1-min load average during the runs: {min(loads):.1f}-{max(loads):.1f}")
    print(f"{'config':32s} {'s':>7s} {'texts/s':>8s} {'vs best pipeline':>16s} {'cpu s':>7s} {'cpu ratio':>9s} {'max|dp|':>9s}")
    best = len(texts) / statistics.median(times[best_pipe])
    best_cpu = statistics.median(cpu[best_pipe])
    for row in rows:
        print(f"{row['config']:32s} {row['seconds']:7.2f} {row['texts_per_s']:8.1f} "
              f"{row['texts_per_s'] / best:15.2f}x {row['cpu_s']:7.2f} {best_cpu / row['cpu_s']:8.2f}x {row['max_abs_dp']:9.1e}")
    hf = [r for r in rows if r["config"].startswith("hf_predict bs=")]
    top = max(hf, key=lambda r: r["texts_per_s"])
    ratio = top["texts_per_s"] / best
    print(f"best fp32 hf_predict ({top['config']}) vs best pipeline ({best_pipe}): {ratio:.2f}x "
          f"(target >= 1.5x) {'PASS' if ratio >= 1.5 else 'FAIL'}; by CPU time {best_cpu / top['cpu_s']:.2f}x")
    bf = next((r for r in rows if "bf16" in r["config"]), None)
    if bf: print(f"hf_predict bf16 vs best pipeline (fp32): {bf['texts_per_s'] / best:.2f}x; by CPU time {best_cpu / bf['cpu_s']:.2f}x")
    print("cpu s: CPU time of the process (all threads), less exposed to other jobs than wall time; cpu ratio: best pipeline's / this one's")
    if a.json:
        with open(a.json, "w") as f: json.dump({"rows": rows, "loads": loads, "best_pipeline": best_pipe}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
