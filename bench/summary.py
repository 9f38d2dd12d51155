#!/usr/bin/env python
"""The figures of `make bench`, side by side: reads the JSON files the benchmarks wrote into build/."""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f: return json.load(f)
    except (OSError, ValueError):
        return None


def main(build="build"):
    print("=" * 100 + "\nmake bench: summary (details in the logs above and in " + build + "/*.json)")
    tq = load(os.path.join(build, "time_to_quality.json"))
    if tq:
        t, best = tq["table"], tq.get("best_trainer_lr")
        bar = tq["args"]["bar"]
        print(f"\nTime to dev macro-F1 {bar} (GoEmotions Ekman, {tq['args']['rows']} rows, MiniLM):")
        print(f"  {'config':24s} {'time to bar s':>13s} {'F1 in budget':>12s} {'final F1':>8s} {'samples/s':>9s} {'peak MB':>8s}")
        for k, r in t.items():
            tb = "not reached" if r["time_to_bar"] is None else f"{r['time_to_bar']:.1f}"
            fib = "-" if r["f1_in_budget"] is None else f"{r['f1_in_budget']:.4f}"
            print(f"  {k + (' (best LR)' if best is not None and k == f'trainer@{best:g}' else ''):24s} {tb:>13s} {fib:>12s} "
                  f"{r['final_f1']:8.4f} {r['samples_per_s']:9.1f} {r['peak_rss_mb']:8.0f}")
    tt = load(os.path.join(build, "train_throughput.json"))
    if tt:
        print("\nTraining throughput (train_throughput.py; samples/s, median over repeats):")
        for c, runs in tt["runs"].items():
            if runs:
                v = sorted(r["samples_per_s"] for r in runs)[len(runs) // 2]
                print(f"  {c:26s} {v:8.1f}")
    pp = load(os.path.join(build, "predict_throughput.json"))
    if pp:
        print(f"\nBatch prediction (predict_throughput.py; texts/s; best pipeline: {pp['best_pipeline']}):")
        for r in pp["rows"]: print(f"  {r['config']:32s} {r['texts_per_s']:8.1f}")
    su = load(os.path.join(build, "startup.json"))
    if su:
        print("\nStart-up (startup.py; median seconds):")
        for k, v in su["median_s"].items(): print(f"  {k:26s} {v:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
