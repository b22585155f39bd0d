# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of user values that Proxmox would refuse, or that would inject config lines or sub-keys.

Everything here runs before any pct or API call, and every failure is ``invalid_argument``
naming the field.  The formats are PVE's (pve-container ``PVE::LXC::Config`` ``$netconf_desc``,
``verify_lxc_mp_string``, ``$features_desc``; pve-common ``PVE::JSONSchema`` ``pve_verify_ipv4``/
``ipv6``/``dns-name``/``pve_verify_timezone``), checked with full matches (``$`` lets a
trailing newline through).
"""

from __future__ import annotations

import ipaddress
import os
import re

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument

# A newline or CR would start a new line (key) in the config file; NUL ends a C string.
_LINE_BREAKERS = re.compile(r"[\n\r\x00]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but TAB
# In a property string these separate sub-keys (`,`), keys from values (`=`) and list items (`;`).
_PROPSTRING_SEPARATORS = re.compile(r"[,=;]")
_DNS_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?)*")
_NET_NAME = re.compile(r"[-_.\w]+")  # $netconf_desc name/bridge pattern
_FSTYPES = re.compile(r"[a-zA-Z0-9_]+")  # $features_desc mount pattern, per item
RAW_LXC_KEY = re.compile(r"lxc\.[a-z0-9_.\-]+")  # parse_pct_config's raw key pattern
VMID_MIN = 100  # pve-common JSONSchema pve-vmid
VMID_MAX = 999999999
ZONE_TAB = "/usr/share/zoneinfo/zone.tab"


def no_line_breaks(field: str, value: str) -> str:
    """A value written on one config line: no newline, carriage return or NUL."""
    if _LINE_BREAKERS.search(str(value)):
        raise invalid_argument(field, "must not contain a newline, carriage return or NUL character (it would inject config lines)")
    return value


def no_control_chars(field: str, value: str) -> str:
    if _CONTROL.search(str(value)):
        raise invalid_argument(field, "must not contain control characters (newline, carriage return, NUL, ...)")
    return value


def propstring_value(field: str, value: str) -> str:
    """A string sub-value of a property string: no control characters and none of ``, = ;``."""
    no_control_chars(field, value)
    if _PROPSTRING_SEPARATORS.search(str(value)):
        raise invalid_argument(field, "%r must not contain ',', '=' or ';' (they would inject property-string sub-keys)" % (value,))
    return value


def description(value: str) -> str:
    """Multi-line text is fine (Proxmox stores it as comment lines), other control characters are not."""
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", str(value).replace("\r\n", "\n")):
        raise invalid_argument("description", "must not contain control characters other than newline and tab")
    return value


def ip_address(field: str, value: str, version: int) -> str:
    """A plain IPv4 or IPv6 address (a gateway): no prefix length."""
    kind = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    try:
        kind(str(value))
    except ValueError:
        raise invalid_argument(field, "%r is not an IPv%d address" % (value, version)) from None
    return value


def ip_config(field: str, value: str, version: int) -> str:
    """``ip``: dhcp, manual or IPv4/CIDR; ``ip6``: auto, dhcp, manual or IPv6/CIDR (pve-ipv4-config, pve-ipv6-config)."""
    keywords = ("dhcp", "manual") if version == 4 else ("auto", "dhcp", "manual")
    if value in keywords:
        return value
    address, slash, prefix = str(value).partition("/")
    kind = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    try:
        kind(address)
        valid = bool(slash) and prefix.isdigit() and 0 <= int(prefix) <= (32 if version == 4 else 128)
    except ValueError:
        valid = False
    if not valid:
        raise invalid_argument(field, "%r is not %s or an IPv%d address with a prefix length (CIDR, e.g. %s)"
                               % (value, ", ".join(keywords), version, "192.0.2.10/24" if version == 4 else "2001:db8::10/64"))
    return value


def interface_name(field: str, value: str) -> str:
    if not _NET_NAME.fullmatch(str(value)):
        raise invalid_argument(field, "%r is not a valid name (letters, digits, '-', '_' and '.')" % (value,))
    return value


def dns_name(field: str, value: str) -> str:
    if len(str(value)) > 255 or not _DNS_NAME.fullmatch(str(value)):
        raise invalid_argument(field, "%r is not a valid DNS name" % (value,))
    return value


def nameserver(field: str, value: str) -> str:
    """An IPv4 or IPv6 address (a link-local IPv6 may carry ``%iface``)."""
    address = str(value).split("%", 1)[0] if ":" in str(value) else str(value)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise invalid_argument(field, "%r is not an IP address" % (value,)) from None
    return value


def timezone(value: str, zone_tab: str = ZONE_TAB) -> str:
    """``host``, ``UTC`` or a zone of zone.tab, as PVE checks (``pve_verify_timezone``)."""
    no_control_chars("timezone", value)
    if value in ("host", "UTC"):
        return value
    zones = _zones(zone_tab)
    if zones is None:
        # No tz database on the machine that runs the module: Proxmox still checks it.
        if not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", value):
            raise invalid_argument("timezone", "%r is not a time zone name such as Europe/Vienna" % (value,))
        return value
    if value not in zones:
        raise invalid_argument("timezone", "%r is not a time zone of %s (give host, UTC or a zone such as Europe/Vienna)" % (value, zone_tab))
    return value


def _zones(zone_tab: str) -> set[str] | None:
    if not os.path.exists(zone_tab):
        return None
    zones = set()
    with open(zone_tab, encoding="utf-8") as stream:
        for line in stream:
            if line.lstrip().startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 3:
                zones.add(fields[2])
    return zones


def mount_path(field: str, value: str) -> str:
    """The path inside the CT: absolute, and no ``/./``, ``/../`` or trailing ``/.``/``/..`` (verify_lxc_mp_string)."""
    propstring_value(field, value)
    text = str(value)
    if not text.startswith("/"):
        raise invalid_argument(field, "%r must be an absolute path inside the container (starting with /)" % (value,))
    if re.search(r"/\.\.?(/|$)", text):
        raise invalid_argument(field, "%r must not contain /./ or /../ or end in /. or /.." % (value,))
    return value


def fstypes(field: str, items: list[str]) -> list[str]:
    for item in items:
        if not _FSTYPES.fullmatch(str(item)):
            raise invalid_argument(field, "%r is not a file system type name (letters, digits, _)" % (item,))
    return items


def raw_lxc_entry(field: str, key: str, value: str) -> None:
    """A raw ``lxc.*`` line: the whole key matches PVE's pattern, neither part can start a new line."""
    if not RAW_LXC_KEY.fullmatch(str(key)):
        raise invalid_argument(field, "%r is not a raw LXC key (lxc. followed by a-z, 0-9, '_', '.', '-')" % (key,))
    no_line_breaks(field, value)


def guest_identity(params: dict, name_key: str, noun: str) -> None:
    """What every guest module checks first: a vmid in range, or a name to find the guest by; the node
    name free of control characters; timeouts not negative."""
    vmid = params.get("vmid")
    if vmid is not None and not VMID_MIN <= vmid <= VMID_MAX:
        raise invalid_argument("vmid", "must be %d..%d, got %s" % (VMID_MIN, VMID_MAX, vmid))
    if vmid is None and not params.get(name_key):
        raise invalid_argument("vmid", "give vmid or %s (or both) to identify the %s" % (name_key, noun))
    if isinstance(params.get("node"), str):
        no_control_chars("node", params["node"])
    for key in ("timeout", "lock_timeout"):
        if params.get(key) is not None and params[key] < 0:
            raise invalid_argument(key, "must be 0 or more seconds")
