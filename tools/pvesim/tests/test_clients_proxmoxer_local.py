# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""proxmoxer's ``local`` backend (runs ``pvesh ... --output-format json``) against the simulated pvesh.

The launchers come from ``pvesim bin-dir`` and are put first on PATH for proxmoxer's subprocess.
Contract §6.5: the exit code is ignored, a non-empty STDERR without a UPID becomes the status
of its first ``NNN Text`` line (else 500), and task output precedes the UPID on stdout.
"""

from __future__ import annotations

import os

import pytest

from pvesim.cli import write_launchers
from pvesim.config import lxc_configs
from pvesim.state import State
from pvesim.templates import build_busybox_template, install_template

proxmoxer = pytest.importorskip("proxmoxer", reason="proxmoxer is not installed in this interpreter")
ProxmoxAPI = proxmoxer.ProxmoxAPI
ResourceException = pytest.importorskip("proxmoxer.core").ResourceException


@pytest.fixture
def prox(tmp_path, monkeypatch):
    st = State(tmp_path / "state").init(node="pve")
    tmpl = build_busybox_template(str(tmp_path / "debian-12-busybox_1.0-1_amd64.tar.gz"))
    volid = install_template(st, tmpl)
    bindir = tmp_path / "bin"
    write_launchers(bindir, st.root)
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ.get("PATH", "")))
    monkeypatch.setenv("PVESIM_STATE_DIR", str(st.root))
    return ProxmoxAPI(backend="local", service="PVE", timeout=120), volid, st


def test_local_backend_lifecycle(prox):
    api, volid, st = prox
    assert api.version.get()["release"].startswith("9")
    node = api.nodes("pve")
    # task output ("extracting archive ...") precedes the UPID; proxmoxer >= 2.2 skips it
    upid = node.lxc.post(vmid=9180, ostemplate=volid, rootfs="local-lvm:1", hostname="local9180")
    assert isinstance(upid, str) and upid.startswith("UPID:pve:") and ":vzcreate:9180:root@pam:" in upid
    assert node.tasks(upid).status.get()["exitstatus"] == "OK"
    assert node.lxc(9180).config.get()["hostname"] == "local9180"
    # `pvesh set` prints nothing for a `returns => null` handler, which proxmoxer turns into {'errors': ''}
    assert node.lxc(9180).config.put(memory=1024) == {"errors": ""}
    assert node.lxc(9180).config.get()["memory"] == 1024
    # Python True works through pvesh (CLI booleans), unlike the https backend (contract §6.5)
    node.lxc(9180).config.put(onboot=True)
    assert node.lxc(9180).config.get()["onboot"] == 1
    node.lxc(9180).status.start.post()
    assert node.lxc(9180).status.current.get()["status"] == "running"
    node.lxc(9180).status.stop.post()
    node.lxc(9180).delete()
    assert not lxc_configs(st).path(9180).exists()


def test_local_backend_errors(prox):
    api, volid, _st = prox
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc(9181).config.get()
    assert exc.value.status_code == 500
    assert "Configuration file 'nodes/pve/lxc/9181.conf' does not exist" in str(exc.value)
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc.post(vmid="abc", ostemplate=volid)
    assert exc.value.status_code == 400
