# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument specs shared by the pve_* modules, and transport selection."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_api import ApiTransport
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import PctTransport


def connection_spec(cli="pct"):
    """The connection options; ``cli`` is the node command of the guest type (``pct`` for CTs, ``qm`` for VMs)."""
    return dict(
        transport=dict(type="str", default="auto", choices=["auto", cli, "api"]),
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


def guest_spec():
    """The life-cycle options every Proxmox guest module has (``pve_container``, ``pve_vm``)."""
    return dict(
        vmid=dict(type="int"),
        state=dict(type="str", default="present", choices=["present", "started", "stopped", "restarted", "absent", "template"]),
        purge=dict(type="bool", default=False),
        force_stop=dict(type="bool", default=False),
        timeout=dict(type="int", default=300),
        lock_timeout=dict(type="int", default=60),
        apply_pending=dict(type="str", default="report", choices=["report", "restart"]),
        exclusive=dict(type="bool", default=False),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
    )


def guest_config_spec():
    """The config options CTs and VMs share, with the same formats (``_pve.model.shared_from_params`` and the scalars)."""
    return dict(
        cores=dict(type="int"),
        cpulimit=dict(type="float"),
        cpuunits=dict(type="int"),
        memory=dict(type="int"),
        nameserver=dict(type="list", elements="str"),
        searchdomain=dict(type="list", elements="str"),
        onboot=dict(type="bool"),
        startup=dict(type="raw"),
        tags=dict(type="list", elements="str"),
        description=dict(type="str"),
        protection=dict(type="bool"),
        hookscript=dict(type="str"),
    )


def container_spec():
    """The options of one container (``pve_container`` without the connection; each item of ``pve_containers``)."""
    return dict(
        guest_spec(),
        **guest_config_spec(),
        hostname=dict(type="str"),
        ostemplate=dict(type="str"),
        oci_bundle=dict(type="path"),
        oci_storage=dict(type="str", default="local"),
        oci_cache_dir=dict(type="path", default="/var/lib/lxcri/oci-templates"),
        storage=dict(type="str"),
        rootfs=dict(type="raw"),
        swap=dict(type="int"),
        net=dict(type="raw"),
        mp=dict(type="raw"),
        features=dict(type="dict"),
        timezone=dict(type="str"),
        ostype=dict(type="str"),
        arch=dict(type="str", choices=["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"]),
        cmode=dict(type="str", choices=["shell", "console", "tty"]),
        console=dict(type="bool"),
        tty=dict(type="int"),
        entrypoint=dict(type="str"),
        debug=dict(type="bool"),
        unprivileged=dict(type="bool"),
        password=dict(type="str", no_log=True),
        ssh_public_keys=dict(type="str", no_log=False),
        lxc=dict(type="list", elements="raw"),
    )


def make_transport(module, timeout=300, cli_class=PctTransport, api_class=ApiTransport):
    """``transport: auto`` is the node command (``cli_class.tool``) where it exists, else the API."""
    params = dict(module.params)
    if params.get("validate_certs") is None:
        params["validate_certs"] = True
    choice = params.get("transport") or "auto"
    if choice == "auto":
        choice = cli_class.tool if module.get_bin_path(cli_class.tool, required=False) else "api"
    if choice == cli_class.tool:
        return cli_class(module, node=params.get("node"), timeout=timeout)
    return api_class(params, node=params.get("node"), timeout=timeout)
