#!/usr/bin/env bash
# fastai installed the way an R user installs it, outside any checkout (`make test-install`):
#   1. R CMD build: the tarball must carry the Python core (inst/fastai_hf, symlinks to python/);
#   2. R CMD INSTALL into a temporary library; the installed core must equal python/, file by file;
#   3. from a temporary working directory, with no RETICULATE_PYTHON and an empty virtualenv root
#      (WORKON_HOME), `install_fastai()` with no arguments: 1-install.R;
#   4. a new R session finds the r-fastai environment by itself and trains and predicts with a
#      tiny BERT, getting R values back: 2-use.R.
# pip installs from the local torch wheel and package index, so this takes a few minutes.
# KEEP_TMP=1 keeps the temporary folder (printed) for a look after a failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fastai-install-test.XXXXXX")
if [ "${KEEP_TMP:-}" = 1 ]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
step() { echo "== $(date +%T) $*"; }
fail() { echo "test-install FAILED: $*" >&2; exit 1; }
# A step's full output only when it fails.
quiet() { local log="$tmp/$1.log"; shift; "$@" > "$log" 2>&1 || { cat "$log"; fail "$*"; }; }

cd "$tmp"
step "R CMD build (no vignettes) of $repo"
quiet build R CMD build --no-build-vignettes --no-manual "$repo"
tgz=$(ls fastai_*.tar.gz)
tar tzf "$tgz" > contents.txt  # (not piped into grep -q: pipefail would catch tar's SIGPIPE)
for f in python/fastai_hf/__init__.py pyproject.toml README.md; do
  grep -qx "fastai/inst/fastai_hf/$f" contents.txt || fail "$tgz carries no inst/fastai_hf/$f (the Python core)"
done

step "R CMD INSTALL $tgz into a temporary library"
mkdir lib work venvs
quiet install R CMD INSTALL -l lib "$tgz"
diff -r -x __pycache__ -x '*.egg-info' -x '*.pyc' "$repo/python" lib/fastai/fastai_hf/python ||
  fail "the installed core differs from $repo/python"

# Nothing from the checkout or the caller's Python choice: R_LIBS puts the temporary library first.
# Their output (pip's included) goes to a log, shown whole on failure and by its last lines otherwise.
run_r() {
  local log="$tmp/${1%.R}.log"
  (cd "$tmp/work" && env -u RETICULATE_PYTHON -u RETICULATE_PYTHON_ENV -u VIRTUAL_ENV -u PYTHONPATH \
    R_LIBS="$tmp/lib" WORKON_HOME="$tmp/venvs" HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE \
    Rscript "$repo/tests/install/$1") > "$log" 2>&1 || { cat "$log"; fail "$1"; }
  grep -E '^(Installed|install_fastai\(\) took|trained)' "$log" || true
}
step "install_fastai() from $tmp/work"
run_r 1-install.R
step "a new R session: train and predict"
run_r 2-use.R
step "test-install passed"
