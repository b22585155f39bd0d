#!/usr/bin/env bash
# Every quality gate of `make test`, on the two supported lines:
#   ansible-core 2.19 on Python 3.11 and ansible-core 2.21 on Python 3.12.
# Each gate prints its own counts; the last line is "gates: N passed, M failed" and the exit
# status is non-zero when a gate failed or when a gate that must run tests ran none.
# Run scripts/setup.sh first (the Makefile does).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK="$REPO/.work"
COLL="$WORK/src/ansible_collections/lxcri/containers"
LOGS="$WORK/logs"
MOLECULE_ON_2_19=${MOLECULE_ON_2_19:-"oci_bundle pve"}
ONLY=${GATES:-}          # e.g. GATES="units molecule" runs only gates whose name has one of these words
passed=0 failed=0 summary=()

export PATH="$WORK/pybin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$WORK/src"
export ANSIBLE_HOME="$WORK/ansible-home"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
export LC_ALL=C.UTF-8
# The QEMU guest (kernel + initramfs) and the KVM probe, shared by pvesim's QEMU tests and the vm scenario.
export PVESIM_QEMU_CACHE=${PVESIM_QEMU_CACHE:-"$WORK/cache/pvesim-qemu"}
mkdir -p "$LOGS"

wanted() {
  [ -z "$ONLY" ] && return 0
  local word
  for word in $ONLY; do case "$1" in *"$word"*) return 0 ;; esac; done
  return 1
}

# gate NAME COUNTER CMD...: run CMD in the collection copy, keep its log, report counts.
# COUNTER names how to count what ran: sanity, pytest, molecule or none.
gate() {
  local name=$1 counter=$2; shift 2
  wanted "$name" || return 0
  local log="$LOGS/${name// /_}.log" t0=$SECONDS rc count
  echo "::: $name"
  (cd "$COLL" && "$@") >"$log" 2>&1
  rc=$?
  count=$(count_tests "$counter" "$log")
  if [ $rc -eq 0 ] && [ "$count" != "0 tests ran" ]; then
    passed=$((passed + 1)); summary+=("ok      $name: $count ($((SECONDS - t0)) s)")
    echo "::: $name ok: $count ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); summary+=("FAILED  $name: $count, rc $rc ($((SECONDS - t0)) s)")
    tail -n 60 "$log"
    echo "::: $name FAILED: $count, rc $rc ($((SECONDS - t0)) s); full log: ${log#"$REPO"/}"
  fi
}

count_tests() {
  local counter=$1 log=$2 n
  case $counter in
    sanity) n=$(grep -c '^Running sanity test ' "$log"); echo "$n sanity tests ran" | sed 's/^0 .*/0 tests ran/' ;;
    pytest) sum_pytest_counts "$log" ;;
    molecule) n=$(grep -cE '\[[A-Za-z0-9_-]+ > [a-z_]+\] Executing' "$log")
              echo "$n molecule actions ran" | sed 's/^0 .*/0 tests ran/' ;;
    *) echo "done" ;;
  esac
}

# ansible-test units runs pytest once per context (controller, target): add up every summary line.
sum_pytest_counts() {
  grep -E '^(=+ )?[0-9]+ (passed|failed|error).* in [0-9.]+s' "$1" | awk '
    { for (i = 1; i < NF; i++) if ($(i) ~ /^[0-9]+$/) { word = $(i + 1); gsub(/[^a-z]/, "", word); total[word] += $(i) } }
    END { errors = total["errors"] + total["error"]
          if (total["passed"] + total["failed"] + errors == 0) { print "0 tests ran"; exit }
          printf "%d passed, %d failed, %d errors, %d skipped\n", total["passed"], total["failed"], errors, total["skipped"] }'
}

# A pytest gate whose log shows a test module skipped for a missing import (pytest.importorskip)
# fails: the gates install every test dependency, so such a skip hides tests that never ran.
no_import_skips() {
  local log=$1
  if grep -E '^SKIPPED .*(could not import|is not installed)' "$log"; then
    echo "a test dependency is missing: the skips above would hide tests" >&2
    return 1
  fi
}

# pytest with skip reasons shown (-rs), failing on importorskip skips.
pytest_strict() {
  local log
  log=$(mktemp)
  python -m pytest -p no:cacheprovider -q -rs "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  no_import_skips "$log" || rc=1
  rm -f "$log"
  return "$rc"
}

# The security gate: ruff's bandit rules on the collection's code and pvesim (every finding fixed,
# or justified inline or in ruff.toml), then a CycloneDX SBOM of the collection's runtime
# dependencies, from the venv that holds exactly them (no network).
security() {
  ruff check --no-cache --select S --output-format concise plugins tools/pvesim/pvesim || return 1
  "$WORK/venv-security/bin/cyclonedx-py" environment --output-format JSON --output-file "$WORK/sbom.cdx.json" \
    "$WORK/venv-runtime/bin/python" || return 1
  python - "$WORK/sbom.cdx.json" <<'PY' || return 1
import json, sys
names = sorted(c["name"].lower() for c in json.load(open(sys.argv[1]))["components"])
missing = [n for n in ("jsonschema", "proxmoxer", "requests") if n not in names]
print("SBOM: %d components (%s)%s" % (len(names), ", ".join(names), "; MISSING " + ", ".join(missing) if missing else ""))
sys.exit(1 if missing else 0)
PY
}

modules_listed_by_ansible_doc() {
  local venv=$1 module missing=0 listed
  listed=$(ANSIBLE_COLLECTIONS_PATH="$WORK/collections" "$venv/bin/ansible-doc" -l lxcri.containers) || return 1
  shopt -s nullglob
  for module in plugins/modules/*.py; do
    module=$(basename "$module" .py)
    if grep -q "^lxcri\.containers\.$module " <<<"$listed"; then echo "listed: $module"
    else echo "NOT listed by ansible-doc: $module"; missing=1; fi
  done
  return $missing
}

molecule_scenarios() {
  local scenario
  shopt -s nullglob
  for scenario in extensions/molecule/*/molecule.yml; do basename "$(dirname "$scenario")"; done
}

run_line() {
  local core=$1 py=$2 venv=$3 all_pythons=$4
  local tag="core $core py$py" in_venv=(env PATH="$venv/bin:$PATH")
  if [ "$all_pythons" = yes ]; then
    gate "sanity $tag" sanity "${in_venv[@]}" ansible-test sanity --color no
  else
    gate "sanity $tag" sanity "${in_venv[@]}" ansible-test sanity --color no --python "$py"
  fi
  gate "units $tag" pytest "${in_venv[@]}" ansible-test units --color no --local --requirements --python "$py"
}

main() {
  local venv221="$REPO/.venv" venv219="$WORK/venv-2.19" scenario
  run_line 2.19 3.11 "$venv219" no
  run_line 2.21 3.12 "$venv221" yes
  PATH="$venv221/bin:$PATH"
  gate "ruff" none ruff check --no-cache .
  gate "security" none security
  gate "ansible-lint" none ansible-lint --offline --profile production --nocolor
  gate "changelog lint" none antsibull-changelog lint
  gate "plugin docs lint" none antsibull-docs lint-collection-docs --plugin-docs .
  gate "build install doc" none modules_listed_by_ansible_doc "$venv221"
  if [ -d "$COLL/tools/pvesim/tests" ]; then
    gate "pvesim tests" pytest pytest_strict tools/pvesim/tests --ignore=tools/pvesim/tests/test_clients_ansible.py
    # community.proxmox from the pip 'ansible' package of each line, unchanged, against pvesim.
    gate "pvesim clients ansible 12 core 2.19" pytest env PVESIM_CLIENTS_VENV="$WORK/venv-clients-2.19" \
      bash -c "$(declare -f pytest_strict no_import_skips); pytest_strict tools/pvesim/tests/test_clients_ansible.py"
    gate "pvesim clients ansible 14 core 2.21" pytest env PVESIM_CLIENTS_VENV="$WORK/venv-clients-2.21" \
      bash -c "$(declare -f pytest_strict no_import_skips); pytest_strict tools/pvesim/tests/test_clients_ansible.py"
  fi
  for scenario in $(cd "$COLL" && molecule_scenarios); do
    gate "molecule $scenario core 2.21" molecule "$REPO/scripts/cgroup-ns.sh" molecule test -s "$scenario"
  done
  # The scenarios most sensitive to the core version (templating under 2.19 data tagging, the
  # largest module) run on the 2.19 line too; all of them were developed on it.
  for scenario in $MOLECULE_ON_2_19; do
    gate "molecule $scenario core 2.19" molecule env PATH="$venv219/bin:$PATH" "$REPO/scripts/cgroup-ns.sh" molecule test -s "$scenario"
  done
  echo
  echo "::: summary"
  printf '  %s\n' "${summary[@]}"
  echo "gates: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main "$@"
