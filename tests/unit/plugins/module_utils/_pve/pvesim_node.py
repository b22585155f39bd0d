# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The product's real transports wired to pvesim in-process (state mode), an independent implementation.

``PctTransport`` (and ``QmTransport`` for VMs) runs ``pct``/``qm``/``pvesh`` through a module whose ``run_command`` calls pvesim's CLI
entry points; ``ApiTransport`` (``ApiVmTransport``) gets a proxmoxer-shaped client whose calls go to
``pvesim.handlers.call`` as an HTTPS caller would.  Every argv, stdin and API body is recorded
so tests can prove where secrets travel.
"""

from __future__ import annotations

import io
import os
import sys
import time

from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_api import ApiTransport
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import PctTransport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.transport_api import ApiVmTransport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.transport_qm import QmTransport
from pvesim import faults, handlers, pct, pvesh, qm
from pvesim.config import lxc_configs
from pvesim.qemu_api import configs as qemu_configs
from pvesim.state import State
from pvesim.templates import build_busybox_template, install_template

NODE = "pve"
_TEMPLATE_CACHE = {}


class _Stdin(io.StringIO):
    def isatty(self):
        return False


class PveNode:
    """One simulated node: its state dir, a template, and the record of everything sent to it."""

    def __init__(self, tmp_path, monkeypatch):
        self.state = State(tmp_path / "pve").init(node=NODE, mode="state")
        monkeypatch.setenv("PVESIM_STATE_DIR", str(self.state.root))
        key = "busybox"
        if key not in _TEMPLATE_CACHE or not os.path.exists(_TEMPLATE_CACHE[key]):
            _TEMPLATE_CACHE[key] = build_busybox_template(str(tmp_path / "debian-12-busybox_1.0-1_amd64.tar.gz"))
        self.template = install_template(self.state, _TEMPLATE_CACHE[key])
        self.argvs = []       # every argv run (pct transport)
        self.stdins = []      # every stdin sent (pct transport)
        self.bodies = []      # every (method, path, params) sent (api transport)
        self.writes = []      # mutating commands/calls only

    # -- state inspection ---------------------------------------------------------------------
    def conf_text(self, vmid):
        path = lxc_configs(self.state).path(vmid)
        return path.read_text() if path.exists() else None

    def exists(self, vmid):
        return lxc_configs(self.state).path(vmid).exists()

    def vm_conf_text(self, vmid):
        path = qemu_configs(handlers.Env(self.state)).path(vmid)
        return path.read_text() if path.exists() else None

    def fail_next(self, kind, count=1, message=None):
        faults.add_fail(self.state, kind, count=count, message=message)

    def warn_next(self, kind, message):
        faults.add_warn(self.state, kind, message=message)

    # -- pct transport ------------------------------------------------------------------------
    def pct_transport(self, node=None, timeout=60):
        return PctTransport(_PctModule(self), node=node, timeout=timeout)

    def qm_transport(self, node=None, timeout=60):
        return QmTransport(_PctModule(self), node=node, timeout=timeout)

    def run_command(self, argv, data=None):
        self.argvs.append(list(argv))
        self.stdins.append(data)
        tool = os.path.basename(argv[0])
        if tool in ("pct", "qm") and argv[1] not in ("list", "config", "pending", "status"):
            self.writes.append(list(argv))
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdin
        sys.stdin = _Stdin(data.decode() if isinstance(data, bytes) else (data or ""))
        try:
            if tool == "pct":
                rc = pct.main(list(argv[1:]), stdout=out, stderr=err, state=self.state)
            elif tool == "qm":
                rc = qm.main(list(argv[1:]), stdout=out, stderr=err, state=self.state)
            elif tool == "pvesh":
                rc = pvesh.run(list(argv[1:]), stdout=out, stderr=err)
            else:
                raise AssertionError("unexpected command %r" % (argv,))
        finally:
            sys.stdin = saved
        return rc, out.getvalue(), err.getvalue()

    # -- api transport ------------------------------------------------------------------------
    def api_transport(self, user="root@pam", node=NODE, timeout=60, transport_class=ApiTransport, **auth):
        params = dict(api_host="pve.example", api_user=user if "api_token_id" not in auth else None, validate_certs=False)
        if not auth:
            auth = {"api_password": "pam-login-secret"}
        params.update(auth)
        caller = auth.get("api_token_id", user)
        return transport_class(params, node=node, timeout=timeout, api_factory=lambda host, **kw: _ApiClient(self, caller, kw),
                               sleep=lambda seconds: time.sleep(min(seconds, 0.02)))

    def api_vm_transport(self, **kwargs):
        return self.api_transport(transport_class=ApiVmTransport, **kwargs)

    def api_call(self, user, method, path, params):
        self.bodies.append((method, path, dict(params)))
        if method != "GET":
            self.writes.append([method, path])
        env = handlers.Env(self.state, user=user, rpc="https", stdout=io.StringIO(), stderr=io.StringIO())
        if user != "root@pam":
            env.permission_checker = lambda *args: True
        try:
            return handlers.call(env, method, path, dict((k, str(v)) for k, v in params.items()))
        except handlers.PVEError as err:
            raise ApiError(err) from None


class ApiError(Exception):
    """Shaped like proxmoxer's ResourceException: ``status_code``, ``errors`` and its text."""

    def __init__(self, err):
        status, reason, body = handlers.http_error_body(err)
        self.status_code = status
        self.errors = body.get("errors")
        super().__init__("%s %s: %s" % (status, reason, body["message"].strip()) + (" - %s" % self.errors if self.errors else ""))


class _PctModule:
    def __init__(self, node):
        self.node = node

    def get_bin_path(self, name, required=False):
        return {"pct": "/usr/sbin/pct", "qm": "/usr/sbin/qm", "pvesh": "/usr/bin/pvesh"}.get(name)

    def run_command(self, argv, data=None, binary_data=False):
        return self.node.run_command(argv, data=data)


class _ApiClient:
    def __init__(self, node, user, kwargs):
        self.node = node
        self.user = user
        self.kwargs = kwargs

    def __call__(self, path):
        return _Resource(self, "/" + path)


class _Resource:
    def __init__(self, client, path):
        self.client = client
        self.path = path

    def _do(self, method, params):
        return self.client.node.api_call(self.client.user, method, self.path, params)

    def get(self, **params):
        return self._do("GET", params)

    def post(self, **params):
        return self._do("POST", params)

    def put(self, **params):
        return self._do("PUT", params)

    def delete(self, **params):
        return self._do("DELETE", params)
