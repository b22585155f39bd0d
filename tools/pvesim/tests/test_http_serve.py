# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pvesim serve``: background start, pid/info files, TLS certificate, --status, --stop, refusals."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys

import pytest

from pvesim.auth import AuthStore
from pvesim.http.testing import Api, free_port, login, raw_request
from pvesim.state import State


def pvesim(*argv, timeout=60):
    return subprocess.run([sys.executable, "-m", "pvesim", *argv], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def state(tmp_path):
    st = State(tmp_path / "state").init(node="pve")
    AuthStore(st.pve_path("")).ensure().set_password("root@pam", "pw")
    return st


def test_background_lifecycle(state):
    port = free_port()
    proc = pvesim("serve", "--state-dir", str(state.root), "--port", str(port), "--background")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "https://127.0.0.1:%d/api2/json\n" % port
    try:
        pid = int(state.host_path("/run/pveproxy/pveproxy.pid").read_text())
        os.kill(pid, 0)
        info = json.loads(pvesim("serve", "--state-dir", str(state.root), "--status").stdout)
        assert info["port"] == port and info["pid"] == pid and info["node"] == "pve"
        assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", info["fingerprint"])
        # the certificate is self-signed, for the node name and the loopback addresses
        ctx = ssl.create_default_context(cafile=info["certificate"])
        with socket.create_connection(("127.0.0.1", port)) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            cert = tls.getpeercert()
        assert ("commonName", "pve") in [x for rdn in cert["subject"] for x in rdn]
        api = Api(None, "https://127.0.0.1:%d/api2/json" % port)
        ticket, _csrf = login(api, "root@pam", "pw")
        assert raw_request(api, "GET", "/version", ticket=ticket).status_line == "200 OK"
        again = pvesim("serve", "--state-dir", str(state.root), "--port", str(port), "--background")
        assert again.returncode == 1
        assert again.stderr == "pvesim serve: already running (pid %d) for %s\n" % (pid, state.root)
    finally:
        stop = pvesim("serve", "--state-dir", str(state.root), "--stop")
    assert stop.returncode == 0, stop.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not state.host_path("/run/pveproxy/pveproxy.pid").exists()
    assert pvesim("serve", "--state-dir", str(state.root), "--status").returncode == 1
    assert pvesim("serve", "--state-dir", str(state.root), "--stop").returncode == 1


def test_refuses_non_loopback(state):
    proc = pvesim("serve", "--state-dir", str(state.root), "--port", str(free_port()), "--listen", "0.0.0.0")
    assert proc.returncode == 2
    assert proc.stderr == "pvesim serve: refusing to listen on non-loopback address '0.0.0.0'\n"


def test_busy_port_is_reported(state):
    port = free_port()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        proc = pvesim("serve", "--state-dir", str(state.root), "--port", str(port), "--background")
    assert proc.returncode == 1
    assert proc.stderr.startswith("pvesim serve: ")
    assert "Address already in use" in proc.stderr
