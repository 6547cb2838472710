#!/usr/bin/env bash
# From a clean copy of the repository to a wheel in a fresh venv, used from a directory outside the
# repository (issue 25): `make test-wheel`, or tests/test_wheel.py (slow). Steps:
#   1. copy the tracked files (git ls-files) to a scratch dir and `pip wheel --no-deps` there;
#   2. a fresh venv: torch ($TORCH_SPEC, the CPU build here), then the wheel *without extras*, with the
#      versions of constraints.txt;
#   3. in an empty working dir: no onnxruntime/optuna/submitit/cityscapesscripts installed; a smoke training
#      job; a 2-job smoke sweep of a sweep file named without --config-dir; gradgroup-table on it;
#      gradgroup-doctor; each command of an extra says which extra, in one line.
# WORK=<dir> keeps everything there (default: a new temp dir, removed at the end unless KEEP=1).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/gradgroup-wheel.XXXXXX)}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PYTHON=${PYTHON:-python3}
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
say() { echo "wheel-check: $*"; }
mkdir -p "$WORK/src" "$WORK/run"
(cd "$REPO" && git ls-files -z) | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$WORK/src"
"$PYTHON" -m venv "$WORK/venv"
V="$WORK/venv/bin"
"$V/pip" install -q --upgrade pip
say "building the wheel from a clean copy"
"$V/pip" wheel -q --no-deps -w "$WORK/dist" "$WORK/src"
WHEEL=$(ls "$WORK"/dist/gradgroup-*.whl)
say "installing $TORCH_SPEC, then $(basename "$WHEEL") without extras (constraints.txt)"
"$V/pip" install -q "$TORCH_SPEC"
"$V/pip" install -q -c "$REPO/constraints.txt" "$WHEEL"
cd "$WORK/run"
export GRADGROUP_DATA_CACHE="$WORK/cache" WANDB_MODE=disabled
for mod in onnxruntime optuna submitit cityscapesscripts; do
  if "$V/python" -c "import $mod" 2>/dev/null; then echo "FAIL: $mod is installed without its extra"; exit 1; fi
done
say "no onnxruntime, optuna, submitit or cityscapesscripts in the core install"
"$V/gradgroup-doctor" | tee doctor.txt
grep -q "packaged with gradgroup" doctor.txt || { echo "FAIL: the doctor does not name the packaged configs"; exit 1; }
say "a smoke training job"
"$V/gradgroup-train" preset=smoke experiment=table3/dg4 hydra.run.dir=run1 > train.log 2>&1 || { tail -20 train.log; exit 1; }
grep -q '"status": "ok"' run1/metrics.json
say "a 2-job smoke sweep of sweeps/table3.yaml, by name"
"$V/gradgroup-train" --config-name table3 preset=smoke experiment=table3/dg4 seed=0,1 hydra.sweep.dir=sweep \
  > sweep.log 2>&1 || { tail -20 sweep.log; exit 1; }
test "$(ls sweep/*/metrics.json | wc -l)" = 2
"$V/gradgroup-table" sweep --no-latency > table.log 2>&1 || { cat table.log; exit 1; }
test -s sweep/results.md && grep -q "DG4\*" sweep/results.md
say "commands of a missing extra name it"
expect() {  # expect EXTRA COMMAND...: exit 2 (or 1 from Hydra) and the extra named on one line
  local extra=$1; shift
  if "$@" > extra.log 2>&1; then echo "FAIL: $* ran without [$extra]"; exit 1; fi
  grep -q "needs the \[$extra\] extra.*pip install 'gradgroup\[$extra\]'" extra.log \
    || { echo "FAIL: $* did not name [$extra]:"; cat extra.log; exit 1; }
  echo "  $* -> $(grep -o "needs the \[$extra\] extra.*" extra.log | head -1)"
}
expect deploy "$V/gradgroup-export" run1
expect deploy "$V/gradgroup-bench" table3/dg4 --backend onnxruntime --size 64x32 --rounds 1
expect search "$V/gradgroup-search" report sweep
expect cluster "$V/gradgroup-train" -m hydra/launcher=slurm preset=smoke
expect cityscapes "$V/gradgroup-eval" run1 --official
say "OK ($WORK)"
