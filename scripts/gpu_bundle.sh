#!/usr/bin/env bash
# `make gpu-bundle`: the wheels a device machine without a package registry needs to run `make gpu-check`
# (docs/gpu.md): gradgroup's own wheel (built from the tracked files) and every package of
# scripts/gpu_bundle.txt at its constraints.txt version, as CPython 3.12 manylinux x86-64 wheels, into
# BUNDLE (default gpu-bundle/, git-ignored). No torch: the machine has its own CUDA build.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=${BUNDLE:-$REPO/gpu-bundle}
PYTHON=${PYTHON:-python3}
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64
           manylinux2014_x86_64 manylinux1_x86_64)
rm -rf "$BUNDLE" && mkdir -p "$BUNDLE"
# NAME==VERSION of each listed package, its version from constraints.txt (names compared as PEP 503 does)
mapfile -t specs < <(awk -F'==' '
  function norm(s) { s = tolower(s); gsub(/[-_.]+/, "-", s); return s }
  FNR == NR { if ($0 !~ /^#/ && NF == 2) v[norm($1)] = $2; next }
  /^[^#]/ && NF { n = norm($1); if (!(n in v)) { print "MISSING " $1; next } print $1 "==" v[n] }
  ' "$REPO/constraints.txt" "$REPO/scripts/gpu_bundle.txt")
if printf '%s\n' "${specs[@]}" | grep '^MISSING'; then
  echo "gpu-bundle: the packages above (scripts/gpu_bundle.txt) have no version in constraints.txt; add them there" >&2; exit 2
fi
for spec in "${specs[@]}"; do  # a binary wheel for CPython 3.12; else (sdist only) a pure-Python wheel built here
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    $(printf -- '--platform %s ' "${PLATFORMS[@]}") -d "$BUNDLE" "$spec" 2>/dev/null && continue
  "$PYTHON" -m pip wheel -q --no-deps -w "$BUNDLE" "$spec"
  ls "$BUNDLE"/*-none-any.whl | grep -qi "/$(tr -- '-.' '__' <<<"${spec%%==*}")-" \
    || { echo "gpu-bundle: $spec has no CPython 3.12 wheel and is not pure Python" >&2; exit 2; }
done
src=$(mktemp -d); trap 'rm -rf "$src"' EXIT
(cd "$REPO" && git ls-files -z) | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$src"
"$PYTHON" -m pip wheel -q --no-deps -w "$BUNDLE" "$src"
echo "gpu-bundle: $(ls "$BUNDLE" | wc -l) wheels, $(du -sh "$BUNDLE" | cut -f1) in $BUNDLE"
