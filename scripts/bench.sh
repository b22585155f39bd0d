#!/usr/bin/env bash
# Run every benchmark under benchmarks/ and print its figures. Benchmarks measure a baseline in
# the same run and print ratios; nothing here asserts a time. `make bench` runs this.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shopt -s nullglob
benchmarks=("$REPO"/benchmarks/*.py)
[ ${#benchmarks[@]} -gt 0 ] || { echo "bench: no benchmarks under benchmarks/" >&2; exit 1; }
# Benchmarks import the collection as installed by scripts/setup.sh.
export PYTHONPATH="$REPO/.work/collections${PYTHONPATH:+:$PYTHONPATH}"
for bench in "${benchmarks[@]}"; do
  echo "::: $(basename "$bench" .py)"
  "$REPO/.venv/bin/python" "$bench"
done
