# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument specs shared by the pve_* modules, and transport selection."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_api import ApiTransport
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import PctTransport


def connection_spec():
    return dict(
        transport=dict(type="str", default="auto", choices=["auto", "pct", "api"]),
        node=dict(type="str"),
        api_host=dict(type="str", fallback=(env_fallback, ["PROXMOX_HOST"])),
        api_port=dict(type="int", fallback=(env_fallback, ["PROXMOX_PORT"])),
        api_user=dict(type="str", fallback=(env_fallback, ["PROXMOX_USER"])),
        api_token_id=dict(type="str", no_log=False, fallback=(env_fallback, ["PROXMOX_TOKEN_ID"])),
        api_token_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_TOKEN_SECRET"])),
        api_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PROXMOX_PASSWORD"])),
        validate_certs=dict(type="bool", fallback=(env_fallback, ["PROXMOX_VALIDATE_CERTS"])),
        api_timeout=dict(type="int", fallback=(env_fallback, ["PROXMOX_API_TIMEOUT"])),
    )


def make_transport(module, timeout=300):
    params = dict(module.params)
    if params.get("validate_certs") is None:
        params["validate_certs"] = True
    choice = params.get("transport") or "auto"
    if choice == "auto":
        choice = "pct" if module.get_bin_path("pct", required=False) else "api"
    if choice == "pct":
        return PctTransport(module, node=params.get("node"), timeout=timeout)
    return ApiTransport(params, node=params.get("node"), timeout=timeout)
