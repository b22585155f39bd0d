# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory's one model of a guest: a ``/cluster/resources`` row (type ``vm``) plus optional details.

``host_vars`` is the only place that turns a guest into Ansible variables, so what the
inventory exposes (and what it never exposes: keys that carry secrets) is decided here.
"""

from __future__ import annotations

import dataclasses
import re

GUEST_TYPES = ("lxc", "qemu")

# Config keys whose values are secrets (a VM's cloud-init password hash); never copied to host vars.
SECRET_CONFIG_KEYS = frozenset(("cipassword",))

# PVE::JSONSchema's tag list accepts ';', ',' and spaces as separators (pve_tag_list).
_TAG_SPLIT = re.compile(r"[;,\s]+")


@dataclasses.dataclass(frozen=True)
class Guest:
    """One CT or VM as ``/cluster/resources`` lists it."""

    vmid: int
    type: str
    node: str
    name: str
    status: str
    tags: tuple[str, ...] = ()
    pool: str | None = None
    template: bool = False
    lock: str | None = None

    @classmethod
    def from_resource(cls, row: dict) -> Guest:
        vmid = int(row["vmid"])
        return cls(vmid=vmid, type=str(row["type"]), node=str(row.get("node") or ""),
                   name=str(row.get("name") or ""), status=str(row.get("status") or "unknown"),
                   tags=parse_tags(row.get("tags")), pool=row.get("pool") or None,
                   template=str(row.get("template") or "0") in ("1", "true", "True"), lock=row.get("lock") or None)

    @property
    def api_path(self) -> str:
        return "/nodes/%s/%s/%d" % (self.node, self.type, self.vmid)


def parse_tags(value: object) -> tuple[str, ...]:
    """``"web;prod"`` -> ``("web", "prod")`` (sorted, unique, as PVE normalises them)."""
    if not value:
        return ()
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = _TAG_SPLIT.split(str(value))
    return tuple(sorted({item for item in items if item}))


def guests_from_resources(rows: list[dict], types: tuple[str, ...] = GUEST_TYPES) -> list[Guest]:
    """The guests of ``types`` among the rows, ordered by vmid (so naming collisions resolve the same way every run)."""
    guests = [Guest.from_resource(row) for row in rows if row.get("type") in types and row.get("vmid") is not None]
    return sorted(guests, key=lambda guest: guest.vmid)


def public_config(config: dict | None) -> dict:
    """A guest's config without its digest and secret keys."""
    return {key: value for key, value in (config or {}).items() if key != "digest" and key not in SECRET_CONFIG_KEYS}


def addresses(interfaces: list[dict] | None) -> dict[str, list[str]]:
    """IPv4 and IPv6 addresses of the non-loopback interfaces of ``GET …/interfaces`` (CTs) or the guest agent (VMs)."""
    found: dict[str, list[str]] = {"ipv4": [], "ipv6": []}
    for iface in interfaces or []:
        if iface.get("name") == "lo":
            continue
        for address in iface.get("ip-addresses") or []:
            family = "ipv6" if address.get("ip-address-type") in ("inet6", "ipv6") else "ipv4"
            ip = address.get("ip-address")
            if ip and not ip.startswith(("127.", "::1", "fe80:")):
                found[family].append(ip)
    return found


def host_vars(guest: Guest, config: dict | None = None, interfaces: list[dict] | None = None,
              connection: str | None = None) -> dict:
    """The variables the inventory sets on a guest's host (prefix ``pve_``)."""
    result = {"pve_vmid": guest.vmid, "pve_name": guest.name, "pve_node": guest.node, "pve_type": guest.type,
              "pve_status": guest.status, "pve_tags": list(guest.tags), "pve_pool": guest.pool,
              "pve_template": guest.template, "pve_lock": guest.lock}
    if config is not None:
        result["pve_config"] = public_config(config)
    if interfaces is not None:
        result["pve_interfaces"] = interfaces
        found = addresses(interfaces)
        result["pve_ipv4_addresses"] = found["ipv4"]
        result["pve_ipv6_addresses"] = found["ipv6"]
    if connection:
        result["ansible_connection"] = connection
    return result
