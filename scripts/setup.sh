#!/usr/bin/env bash
# Prepare this checkout for `make demo` and `make test` on a Debian machine, as root, with no Galaxy:
# Debian packages when missing, one venv per test line with pinned tools, the pvesim simulator,
# and this collection built and installed locally. Safe to re-run: each step is skipped when done.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK="$REPO/.work"
APT_PACKAGES=(runc crun lxc umoci skopeo busybox-static shellcheck iproute2 openssl zstd xz-utils uidmap debootstrap qemu-system-x86 qemu-utils genisoimage openssh-server)

log() { printf '::: setup: %s\n' "$*"; }

install_debian_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The real interpreter for python X.Y: pyenv's shims do not work under ansible-test.
find_python() {
  local prefix
  if command -v pyenv >/dev/null 2>&1 && prefix=$(pyenv prefix "$1" 2>/dev/null) && [ -x "$prefix/bin/python$1" ]; then
    echo "$prefix/bin/python$1"; return 0
  fi
  "python$1" -c 'import sys; print(sys.executable)' 2>/dev/null
}

# make_venv DIR PYTHON REQUIREMENTS [PVESIM]: (re)install when the requirements or pvesim's metadata
# changed; pvesim is installed too unless the fourth argument is "no".
make_venv() {
  local venv=$1 python=$2 requirements=$3 with_pvesim=${4:-yes} stamp wanted
  local pvesim="$REPO/tools/pvesim/pyproject.toml"
  [ "$with_pvesim" = yes ] || pvesim=/dev/null
  stamp="$venv/.lxcri-requirements"
  wanted=$(cat "$requirements" "$pvesim" 2>/dev/null)
  if [ -x "$venv/bin/python" ] && [ "$wanted" = "$(cat "$stamp" 2>/dev/null)" ]; then return 0; fi
  log "venv $venv ($python)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  quiet_pip "$venv" -r "$requirements"
  if [ -f "$pvesim" ]; then quiet_pip "$venv" -e "$REPO/tools/pvesim"; fi
  # ansible-test bootstraps pip in its own venvs from this cached script (no ci-files host here).
  if [ -x "$venv/bin/ansible-test" ]; then "$venv/bin/python" "$REPO/.ci/ansible-test-get-pip.py" --place >/dev/null; fi
  printf '%s' "$wanted" >"$stamp"
}

# pip, without the notes about index locations this machine's pip configuration names.
quiet_pip() {
  local venv=$1; shift
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" 2>&1 | sed '/is ignored: it is neither a file nor a directory/d'
  return "${PIPESTATUS[0]}"
}

link_pythons() {
  local v p
  mkdir -p "$WORK/pybin"
  for v in 3.9 3.10 3.11 3.12 3.13; do
    if p=$(find_python "$v"); then ln -sfn "$p" "$WORK/pybin/python$v"; fi
  done
}

# ansible-test needs the collection in a real ansible_collections/<ns>/<name> directory.
copy_source_tree() {
  local dest="$WORK/src/ansible_collections/lxcri/containers"
  rm -rf "$dest"
  mkdir -p "$dest"
  (cd "$REPO" && tar --exclude=./.work --exclude=./.venv --exclude=./tests/output --exclude=./.ansible -cf - .) \
    | tar -C "$dest" -xf -
}

build_and_install_collection() {
  local venv=$1
  rm -rf "$WORK/dist" "$WORK/collections"
  mkdir -p "$WORK/dist" "$WORK/collections"
  (cd "$WORK/src/ansible_collections/lxcri/containers" \
    && "$venv/bin/ansible-galaxy" collection build --force --output-path "$WORK/dist" >/dev/null)
  ANSIBLE_COLLECTIONS_PATH="$WORK/collections" "$venv/bin/ansible-galaxy" collection install --offline --force \
    -p "$WORK/collections" "$WORK"/dist/lxcri-containers-*.tar.gz >/dev/null
  log "collection built and installed: $(basename "$WORK"/dist/lxcri-containers-*.tar.gz)"
}

main() {
  [ "$(id -u)" -eq 0 ] || { echo "setup: run as root (it installs Debian packages and runs containers)" >&2; exit 1; }
  mkdir -p "$WORK"
  install_debian_packages
  link_pythons
  local py311 py312
  py311=$(find_python 3.11) || { echo "setup: python3.11 not found (pyenv install 3.11)" >&2; exit 1; }
  py312=$(find_python 3.12) || { echo "setup: python3.12 not found (pyenv install 3.12)" >&2; exit 1; }
  make_venv "$REPO/.venv" "$py312" "$REPO/tests/requirements/core-2.21.txt"
  make_venv "$WORK/venv-2.19" "$py311" "$REPO/tests/requirements/core-2.19.txt"
  # The pip 'ansible' packages, for the third-party client tests against pvesim.
  make_venv "$WORK/venv-clients-2.19" "$py311" "$REPO/tests/requirements/clients-2.19.txt" no
  make_venv "$WORK/venv-clients-2.21" "$py312" "$REPO/tests/requirements/clients-2.21.txt" no
  # The security gate: the SBOM tool, and a venv holding only the collection's runtime dependencies,
  # whose SBOM it writes (offline, from what is installed).
  make_venv "$WORK/venv-security" "$py312" "$REPO/tests/requirements/security.txt" no
  make_venv "$WORK/venv-runtime" "$py312" "$REPO/requirements.txt" no
  copy_source_tree
  build_and_install_collection "$REPO/.venv"
}

main "$@"
