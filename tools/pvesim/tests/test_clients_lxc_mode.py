# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""proxmoxer (https backend) driving a *real* LXC container through the API (``lxc`` mode).

Uses the ``lxc_state``/``bridge`` fixtures of conftest.py: needs root, the LXC tools and the
bridge vmbr0 (created if missing); skipped with the reason otherwise.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from pvesim.auth import AuthStore
from pvesim.config import lxc_configs
from pvesim.http.testing import api_server

proxmoxer = pytest.importorskip("proxmoxer", reason="proxmoxer is not installed in this interpreter")
ProxmoxAPI = proxmoxer.ProxmoxAPI
Tasks = pytest.importorskip("proxmoxer.tools").Tasks


def _lxc_state(st, vmid):
    proc = subprocess.run(["lxc-info", "-P", str(st.lxcpath), "-n", str(vmid), "-s"], capture_output=True, text=True, check=False)
    return proc.stdout.split()[-1] if proc.returncode == 0 and proc.stdout.split() else None


def _ok(prox, upid):
    st = Tasks.blocking_status(prox, upid, timeout=120, polling_interval=0.2)
    assert st is not None
    return st["exitstatus"]


def test_proxmoxer_runs_a_real_container(lxc_state):
    st = lxc_state
    AuthStore(st.pve_path("")).ensure().set_password("root@pam", "pw")
    with api_server(st) as api:
        prox = ProxmoxAPI(api.hostport, user="root@pam", password="pw", verify_ssl=False, timeout=30)
        node = prox.nodes("pve")
        upid = node.lxc.post(vmid=9170, ostemplate=st.test_template, hostname="apict", rootfs="local-lvm:1",
                             net0="name=eth0,bridge=vmbr0,ip=manual", unprivileged=0)
        assert _ok(prox, upid) == "OK"
        assert _ok(prox, node.lxc(9170).status.start.post()) == "OK"
        cur = node.lxc(9170).status.current.get()
        assert cur["status"] == "running" and cur["pid"] > 1
        assert _lxc_state(st, 9170) == "RUNNING"
        uts = subprocess.run(["lxc-attach", "-P", str(st.lxcpath), "-n", "9170", "--", "uname", "-n"],
                             capture_output=True, text=True, check=False)
        assert uts.stdout == "apict\n"
        # the template's init stops on the halt signal lxc-stop sends, well before the timeout
        t0 = time.monotonic()
        assert _ok(prox, node.lxc(9170).status.shutdown.post(timeout=20)) == "OK"
        assert time.monotonic() - t0 < 15
        assert node.lxc(9170).status.current.get()["status"] == "stopped"
        assert _lxc_state(st, 9170) == "STOPPED"
        assert _ok(prox, node.lxc(9170).delete()) == "OK"
    assert not (st.lxcpath / "9170").exists()
    assert not lxc_configs(st).path(9170).exists()
    assert not any(p.name.startswith("vm-9170-") for p in st.storage_base_path("local-lvm").iterdir())
