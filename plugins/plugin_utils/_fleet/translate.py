# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A container spec of ``lxcri_containers`` -> the parameters of the backend that runs it.

Precedence, lowest first: the role-wide settings, the role-wide defaults of the backend, the
fields of the spec translated, the spec's own per-backend override (``lxc``, ``vm``, ``oci.bundle``,
``oci.container``).  Dicts are merged one level deep, as the ``combine`` filter does.
"""

from __future__ import annotations

import math
import shlex

# The connection options of pve_container and pve_vm: one pve_containers/pve_vms run per distinct set of them.
CONNECTION_KEYS = ("transport", "node", "api_host", "api_port", "api_user", "api_token_id", "api_token_secret", "api_password",
                   "validate_certs", "api_timeout")
OCI_RUNTIMES = ("crun", "runc")


def _merge(*layers: dict) -> dict:
    merged: dict = {}
    for layer in layers:
        merged.update(layer or {})
    return merged


def spec_state(spec: dict, default_state: str) -> str:
    return spec.get("state") or default_state


def _cpu_params(cpu) -> dict:
    """``cpu`` (possibly fractional) -> ``cores`` rounded up, plus ``cpulimit`` when fractional (CTs and VMs alike)."""
    if cpu is None:
        return {}
    cores = int(math.ceil(float(cpu)))
    params: dict = {"cores": max(cores, 1)}
    if float(cpu) != float(cores):
        params["cpulimit"] = float(cpu)
    return params


def _bridged(spec: dict) -> dict | None:
    """The spec's network when it is a bridge interface (the default for Proxmox guests), else None."""
    network = spec.get("network") or {}
    return network if (network.get("mode") or "bridge") == "bridge" else None


def _address(network: dict) -> dict:
    """``ip`` (default ``dhcp``) and ``gw`` when set: LXC's ``netN`` and cloud-init's ``ipconfigN`` spell them alike."""
    address = {"ip": network.get("ip") or "dhcp"}
    if network.get("gw"):
        address["gw"] = network["gw"]
    return address


def lxc_params(spec: dict, settings: dict) -> dict:
    """``pve_container`` parameters of a spec routed to ``lxc`` (connection options included)."""
    params: dict = {"hostname": spec.get("hostname") or spec["name"], "state": spec_state(spec, settings["default_state"])}
    source = spec.get("source") or {}
    if source.get("template"):
        params["ostemplate"] = source["template"]
    if spec.get("memory") is not None:
        params["memory"] = spec["memory"]
    params.update(_cpu_params(spec.get("cpu")))
    network = _bridged(spec)
    if network is not None:
        params["net"] = {"net0": dict({"name": network.get("interface") or "eth0", "bridge": network.get("bridge") or settings["lxc_bridge"]},
                                      **_address(network))}
    mounts = spec.get("mounts") or []
    if mounts:
        params["mp"] = dict(("mp%d" % index, {"volume": mount["source"], "mp": mount["destination"], "ro": bool(mount.get("readonly"))})
                            for index, mount in enumerate(mounts))
    env = spec.get("env") or {}
    if env:
        params["lxc"] = [["lxc.environment", "%s=%s" % (key, value)] for key, value in env.items()]
    if spec.get("command"):
        params["entrypoint"] = " ".join(shlex.quote(str(part)) for part in spec["command"])
    return _merge(settings["pve"], settings["lxc_defaults"], params, spec.get("lxc") or {})


def vm_params(spec: dict, settings: dict) -> dict:
    """``pve_vm`` parameters of a spec routed to ``vm`` (connection options included).

    The VM is a clone of ``source.vm_template``; its interface is ``net0`` (virtio on the bridge) and its
    address reaches the guest through cloud-init's ``ipconfig0``.  ``transport: pct`` in the role's
    connection settings means "on the node", which for VMs is ``qm``.
    """
    params: dict = {"name": spec.get("hostname") or spec["name"], "state": spec_state(spec, settings["default_state"])}
    source = spec.get("source") or {}
    if source.get("vm_template") is not None:
        params["clone"] = {"source": source["vm_template"]}
    if spec.get("memory") is not None:
        params["memory"] = spec["memory"]
    params.update(_cpu_params(spec.get("cpu")))
    network = _bridged(spec)
    if network is not None:
        params["net"] = [{"model": "virtio", "bridge": network.get("bridge") or settings["vm_bridge"]}]
        params["ipconfig"] = [_address(network)]
    connection = dict(settings["pve"])
    if connection.get("transport") == "pct":
        connection["transport"] = "qm"
    return _merge(connection, settings["vm_defaults"], params, spec.get("vm") or {})


def split_connection(params: dict) -> tuple[dict, dict]:
    """``(connection options, the container's own options)``."""
    connection = dict((key, params[key]) for key in CONNECTION_KEYS if params.get(key) is not None)
    own = dict((key, value) for key, value in params.items() if key not in CONNECTION_KEYS)
    return connection, own


def bundle_path(spec: dict, settings: dict) -> str:
    return "%s/%s" % (settings["oci_bundle_dir"].rstrip("/") or "", spec["name"])


def bundle_vars(spec: dict, settings: dict, role_defaults: dict) -> dict:
    """The ``oci_bundle_*`` variables of a spec routed to crun or runc (the role's defaults filled in).

    ``oci_bundle_rootfs_source`` is ``auto`` for ``source.rootfs``: the host decides whether it is a
    directory (used as it is) or a tar archive (unpacked).
    """
    base = _merge(role_defaults, dict(("oci_bundle_" + key, value) for key, value in (settings["oci_bundle_defaults"] or {}).items()))
    translated = {
        "oci_bundle_path": bundle_path(spec, settings),
        "oci_bundle_args": spec.get("command") or [],
        "oci_bundle_env": spec.get("env") or {},
        "oci_bundle_hostname": spec.get("hostname") or spec["name"],
    }
    source = spec.get("source") or {}
    if source.get("oci_layout"):
        translated.update(oci_bundle_rootfs_source="oci_layout", oci_bundle_rootfs_image=source["oci_layout"],
                          oci_bundle_rootfs_image_tag=source.get("tag") or "latest")
    elif source.get("rootfs"):
        translated.update(oci_bundle_rootfs_source="auto", oci_bundle_rootfs_dir=source["rootfs"])
    if spec.get("memory") is not None:
        translated["oci_bundle_memory"] = "%sM" % spec["memory"]
    if spec.get("cpu") is not None:
        translated.update(oci_bundle_cpu_quota=int(float(spec["cpu"]) * 100000), oci_bundle_cpu_period=100000)
    if spec.get("mounts"):
        translated["oci_bundle_mounts"] = [{"destination": mount["destination"], "type": "bind", "source": mount["source"],
                                            "options": ["rbind", "ro" if mount.get("readonly") else "rw"]} for mount in spec["mounts"]]
    if ((spec.get("network") or {}).get("mode") or "none") == "host":
        translated["oci_bundle_namespaces"] = [item for item in base["oci_bundle_namespaces"] if item != "network"]
    own = ((spec.get("oci") or {}).get("bundle")) or {}
    return _merge(base, translated, dict(("oci_bundle_" + key, value) for key, value in own.items()))


def oci_params(spec: dict, route_backend: str, settings: dict) -> dict:
    """``oci_container`` parameters of a spec routed to crun or runc."""
    params = {"name": spec["name"], "state": spec_state(spec, settings["default_state"]), "runtime": route_backend,
              "bundle": bundle_path(spec, settings)}
    root = (settings["oci_roots"] or {}).get(route_backend)
    if root:
        params["root"] = root
    return _merge(settings["oci_container_defaults"], params, ((spec.get("oci") or {}).get("container")) or {})


def bundle_config(variables: dict, config: dict) -> dict:
    """The ``bundle_config`` item option of ``oci_containers`` for a rendered document."""
    source = variables["oci_bundle_rootfs_source"]
    return {
        "config": config,
        "rootfs_source": source,
        "rootfs_dir": variables.get("oci_bundle_rootfs_dir") or None,
        "rootfs_tar": variables.get("oci_bundle_rootfs_tar") or None,
        "rootfs_image": variables.get("oci_bundle_rootfs_image") or None,
        "rootfs_image_tag": variables.get("oci_bundle_rootfs_image_tag") or "latest",
        "rootfs_prune": bool(variables.get("oci_bundle_rootfs_prune", True)),
        "runtimes": list(variables.get("oci_bundle_runtimes") or ["runc", "crun"]),
        "oci_version_fallback": str(variables.get("oci_bundle_oci_version_fallback") or "1.0.2"),
    }
