#!/usr/bin/env bash
# Run every benchmark under benchmarks/ and print its figures. Benchmarks measure a baseline in
# the same run and print ratios; nothing here asserts a time. `make bench` runs this.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shopt -s nullglob
benchmarks=("$REPO"/benchmarks/*.py)
[ ${#benchmarks[@]} -gt 0 ] || { echo "bench: no benchmarks under benchmarks/" >&2; exit 1; }
# The fleet benchmark compares with Debian's podman (containers.podman comes from the pip 'ansible'
# package of .work/venv-clients-2.21) and counts process starts with strace.
missing=()
for pkg in podman strace; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export LXCRI_PODMAN_COLLECTIONS
LXCRI_PODMAN_COLLECTIONS=$(echo "$REPO"/.work/venv-clients-2.21/lib/python3*/site-packages)
# Benchmarks import the collection as installed by scripts/setup.sh.
export PYTHONPATH="$REPO/.work/collections${PYTHONPATH:+:$PYTHONPATH}"
for bench in "${benchmarks[@]}"; do
  echo "::: $(basename "$bench" .py)"
  "$REPO/.venv/bin/python" "$bench"
done
