#!/usr/bin/env python
"""Start-up cost: `library(fastai)` against `library(reticulate)`, `import fastai_hf` against `import fastai.text.all`.

Each measurement is a fresh process that times only the attach/import inside itself (R's
`system.time(library(x))`, Python's `time.perf_counter()` around the import), so the interpreter's own
start is left out of both sides; differences of such medians are noisy on a busy machine, so the
increment is also timed alone: `import fastai_hf` right after `import fastai.text.all` in one process,
`library(fastai)` right after `library(reticulate)`. The kinds run alternately, `--repeats` times each; medians are
reported with the load average. Targets (issue 14): library(fastai) <= library(reticulate) + 0.1 s;
import fastai_hf <= import fastai.text.all + 1 s. Not a test: exits 0.

    python bench/startup.py                 # 7 repeats
    python bench/startup.py --repeats 3 --no-r
"""
import argparse
import os
import statistics
import subprocess
import sys

PY_CODE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
R_CODE = "cat(system.time(suppressPackageStartupMessages(library({pkg})))[['elapsed']])"


def run(cmd, env):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--json")
    a = ap.parse_args()
    env = dict(os.environ)
    kinds = {
        "import fastai.text.all": [a.python, "-c", PY_CODE.format(stmt="import fastai.text.all")],
        "import fastai_hf": [a.python, "-c", PY_CODE.format(stmt="import fastai_hf")],
        "from fastai_hf import *": [a.python, "-c", PY_CODE.format(stmt="from fastai_hf import *")],
        # the increment alone: fastai_hf imported after fastai.text.all in the same process
        "fastai_hf after fastai.text.all": [a.python, "-c", "import fastai.text.all; " + PY_CODE.format(stmt="import fastai_hf")],
    }
    if not a.no_r:
        kinds["library(reticulate)"] = ["Rscript", "-e", R_CODE.format(pkg="reticulate")]
        kinds["library(fastai)"] = ["Rscript", "-e", R_CODE.format(pkg="fastai")]
        kinds["fastai after reticulate"] = ["Rscript", "-e", "library(reticulate); " + R_CODE.format(pkg="fastai")]
    times = {k: [] for k in kinds}
    loads = [os.getloadavg()[0]]
    for r in range(a.repeats):
        for k, cmd in kinds.items():
            times[k].append(run(cmd, env))
            loads.append(os.getloadavg()[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"start-up, {a.repeats} fresh processes each (alternating); 1-min load average {min(loads):.1f}-{max(loads):.1f}")
    for k, v in times.items():
        print(f"  {k:26s} median {med[k]:6.3f} s   runs: {', '.join(f'{x:.3f}' for x in v)}")
    d = med["import fastai_hf"] - med["import fastai.text.all"]
    print(f"import fastai_hf - import fastai.text.all = {d:+.3f} s (difference of medians of separate processes)")
    d2 = med["from fastai_hf import *"] - med["import fastai.text.all"]
    print(f"from fastai_hf import * - import fastai.text.all = {d2:+.3f} s")
    inc = med["fastai_hf after fastai.text.all"]
    print(f"import fastai_hf after fastai.text.all, same process (the increment alone): {inc:.3f} s "
          f"(target <= 1 s) {'PASS' if inc <= 1 else 'FAIL'}")
    if not a.no_r:
        d = med["library(fastai)"] - med["library(reticulate)"]
        print(f"library(fastai) - library(reticulate) = {d:+.3f} s (difference of medians of separate processes)")
        inc = med["fastai after reticulate"]
        print(f"library(fastai) after library(reticulate), same process (the increment alone): {inc:.3f} s "
              f"(target <= 0.1 s) {'PASS' if inc <= 0.1 else 'FAIL'}")
    if a.json:
        import json
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f: json.dump({"median_s": med, "runs": times, "loads": loads}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
