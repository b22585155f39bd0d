# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading the guests from the Proxmox API: one ``/cluster/resources`` call, details only when asked.

The API client is ``_pve.transport_api.ApiTransport`` (the modules' option handling, authentication,
TLS and error texts), reached through its public ``get``.
"""

from __future__ import annotations

import os
from typing import Protocol

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import connection_spec
from ansible_collections.lxcri.containers.plugins.plugin_utils._pveinventory.guests import GUEST_TYPES, Guest, guests_from_resources

API_OPTIONS = ("api_host", "api_port", "api_user", "api_token_id", "api_token_secret", "api_password",
               "validate_certs", "api_timeout")


class ApiReader(Protocol):
    """What the inventory needs of an API client (``ApiTransport`` has it)."""

    def get(self, path: str, what: str, **params): ...


def api_params(options: dict, environ: dict | None = None) -> dict:
    """The API options with the modules' environment fallbacks (``PROXMOX_HOST`` ...) and ``validate_certs`` true by default."""
    environ = os.environ if environ is None else environ
    spec = connection_spec()
    params = {}
    for key in API_OPTIONS:
        value = options.get(key)
        if value is None:
            for name in spec[key]["fallback"][1]:
                if environ.get(name) not in (None, ""):
                    value = environ[name]
                    break
        try:
            if value is not None and spec[key]["type"] == "int":
                value = int(value)
            elif value is not None and spec[key]["type"] == "bool":
                value = boolean(value, strict=True)
        except (TypeError, ValueError):
            raise errors.invalid_argument(key, "%r is not a valid %s" % (value, spec[key]["type"])) from None
        params[key] = value
    if params["validate_certs"] is None:
        params["validate_certs"] = True
    return params


def fetch(reader: ApiReader, types: tuple[str, ...] = GUEST_TYPES, want_config: bool = False,
          want_interfaces: bool = False) -> dict:
    """Everything the inventory is built from, as plain JSON data (what the cache stores).

    ``{"resources": [rows of type lxc/qemu], "config": {vmid: {...}}, "interfaces": {vmid: [...]},
    "warnings": [...]}``; the keys of the two detail maps are strings (JSON object keys).
    """
    rows = reader.get("/cluster/resources", "listing the guests of the cluster", type="vm") or []
    rows = [row for row in rows if row.get("type") in types]
    data: dict = {"resources": rows, "config": {}, "interfaces": {}, "warnings": []}
    for guest in guests_from_resources(rows, types):
        if want_config:
            data["config"][str(guest.vmid)] = reader.get(guest.api_path + "/config", "reading the config of %s %d" % (guest.type, guest.vmid))
        if want_interfaces and guest.status == "running":
            try:
                data["interfaces"][str(guest.vmid)] = _interfaces(reader, guest)
            except LxcriError as exc:
                # A VM without a running guest agent has no addresses to report; the inventory still lists it.
                data["warnings"].append("no interfaces for %s %d: %s" % (guest.type, guest.vmid, exc))
    return data


def _interfaces(reader: ApiReader, guest: Guest) -> list:
    if guest.type == "lxc":
        return reader.get(guest.api_path + "/interfaces", "reading the interfaces of CT %d" % guest.vmid) or []
    answer = reader.get(guest.api_path + "/agent/network-get-interfaces", "asking the guest agent of VM %d" % guest.vmid) or {}
    return answer.get("result") or [] if isinstance(answer, dict) else []
