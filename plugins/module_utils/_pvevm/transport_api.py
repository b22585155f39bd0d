# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VMs over the REST API: ``_pve.transport_api.ApiGuestTransport`` on ``/nodes/{node}/qemu`` plus create
from parameters and clone.  ``cipassword`` travels in the HTTPS body only and is masked in what is shown."""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_api import ApiGuestTransport


class ApiVmTransport(ApiGuestTransport):
    guest = "qemu"
    word = "VM"
    template_task = "qmtemplate"
    secret_params = ("cipassword",)

    def read_config(self, vmid, node=None):
        """``GET …/config`` (pending values merged): the raw config without its digest."""
        config = self.get_config(vmid, node)
        config.pop("digest", None)
        return config

    def create(self, vmid, params, node=None, check=False):
        node = self._node(node)
        body = dict(params, vmid=vmid)
        path = "/nodes/%s/qemu" % node
        if not check:
            upid = self._call("POST", path, "creating VM %s" % vmid, **body)
            self._wait(upid, "creating VM %s" % vmid, node=node)
        return self._shown("POST", path, body)

    def clone(self, vmid, newid, name=None, full=None, storage=None, node=None, check=False):
        node = self._node(node)
        body = {"newid": newid}
        if name is not None:
            body["name"] = name
        if full is not None:
            body["full"] = 1 if full else 0
        if storage:
            body["storage"] = storage
        path = "/nodes/%s/qemu/%s/clone" % (node, vmid)
        if not check:
            upid = self._call("POST", path, "cloning VM %s to %s" % (vmid, newid), **body)
            self._wait(upid, "cloning VM %s to %s" % (vmid, newid), node=node)
        return self._shown("POST", path, body)
