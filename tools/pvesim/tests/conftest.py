# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures for the pvesim tests (pct, config format, lxc mode)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pvesim import pct
from pvesim.state import State

REPO = Path(__file__).resolve().parents[3]
CORPUS_SUFFIX = Path("shared") / "fixtures" / "pve-container-snapshot-configs"


def _find_corpus():
    """``../shared/fixtures/...`` beside the repository, also from the copy the gates make under .work/."""
    for directory in REPO.parents:
        if (directory / CORPUS_SUFFIX).is_dir():
            return directory / CORPUS_SUFFIX
    return REPO.parent / CORPUS_SUFFIX


CORPUS = _find_corpus()


class Result:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out
        self.err = err

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r)" % (self.rc, self.out, self.err)


def run_pct(state, *args):
    """Run ``pct`` in-process against ``state``; returns Result(rc, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    rc = pct.main([str(a) for a in args], stdout=out, stderr=err, state=state)
    return Result(rc, out.getvalue(), err.getvalue())


@pytest.fixture
def state(tmp_path):
    return State(tmp_path / "pve").init(node="pve", mode="state")


@pytest.fixture(scope="session")
def template_file(tmp_path_factory):
    """A small busybox template (the template builder of pvesim.templates)."""
    from pvesim.templates import build_busybox_template

    return build_busybox_template(str(tmp_path_factory.mktemp("tmpl") / "debian-12-busybox_1.0-1_amd64.tar.gz"))


@pytest.fixture
def template(state, template_file):
    """Volume id of the busybox template installed into ``local``."""
    dest = state.template_cache_dir("local") / os.path.basename(template_file)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_file, str(dest))
    return "local:vztmpl/%s" % dest.name


@pytest.fixture
def pctx(state):
    def run(*args):
        return run_pct(state, *args)
    return run


@pytest.fixture
def corpus():
    if not CORPUS.is_dir():
        pytest.skip("conformance corpus not found at %s (it lives outside the repo, in ../shared)" % CORPUS)
    return CORPUS


def _lxc_unavailable():
    if os.geteuid() != 0:
        return "lxc mode needs root"
    for tool in ("lxc-start", "lxc-stop", "lxc-attach", "lxc-info", "lxc-wait"):
        if shutil.which(tool) is None:
            return "%s not installed" % tool
    return None


@pytest.fixture
def bridge():
    """Ensure the bridge ``vmbr0`` exists.  It is created if missing and left in place: other
    containers on the host may be attached to it by then."""
    reason = _lxc_unavailable()
    if reason:
        pytest.skip(reason)
    if not os.path.isdir("/sys/class/net/vmbr0"):
        subprocess.run(["ip", "link", "add", "vmbr0", "type", "bridge"], check=False)
        subprocess.run(["ip", "link", "set", "vmbr0", "up"], check=True)
    return "vmbr0"


@pytest.fixture
def lxc_state(bridge, template_file):
    # not below pytest's tmp_path: that is mode 0700 and an unprivileged CT's root (uid 100000)
    # must be able to walk to its rootfs
    top = tempfile.mkdtemp(prefix="pvesim-lxc-")
    os.chmod(top, 0o711)
    st = State(os.path.join(top, "pve")).init(node="pve", mode="lxc")
    dest = st.template_cache_dir("local") / os.path.basename(template_file)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_file, str(dest))
    st.test_template = "local:vztmpl/%s" % dest.name
    yield st
    # never leave a container running behind
    lxcpath = st.lxcpath
    if lxcpath.is_dir():
        for d in lxcpath.iterdir():
            subprocess.run(["lxc-stop", "-P", str(lxcpath), "-n", d.name, "--kill"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(top, ignore_errors=True)
