# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proxmox property strings and scalar encodings <-> canonical Python values.

A property string is ``[default=]value,key=value,...``.  Proxmox prints it with the
default key first (without ``key=``), then the required keys sorted, then the
rest sorted, booleans as ``1``/``0``.  ``parse_*`` turns what Proxmox writes into
plain dicts with typed values; ``format_*`` renders a dict back in Proxmox's order.
Unknown sub-keys are kept as strings, so a newer Proxmox option survives a round trip.
"""

from __future__ import annotations

import math
import re

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument

_TRUE = ("1", "yes", "on", "true")
_FALSE = ("0", "no", "off", "false")

_UNITS = (("T", 1024 ** 4), ("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024))
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])?(?:iB|B)?", re.IGNORECASE)
TAG_RE = re.compile(r"[a-z0-9_][a-z0-9_\-+.]*", re.IGNORECASE)


def parse_bool(value, field="value"):
    """``1/0/yes/no/on/off/true/false`` (any case) or a Python bool -> bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid_argument(field, "expected a boolean (1/0, yes/no, true/false), got %r" % (value,))


def format_bool(value):
    return "1" if value else "0"


def parse_int(value, field="value"):
    if isinstance(value, bool):
        raise invalid_argument(field, "expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+", text):
        raise invalid_argument(field, "expected an integer, got %r" % (value,))
    return int(text)


def parse_number(value, field="value"):
    """A Proxmox ``number``: int when integral, else float (``"1.0"`` == ``1``)."""
    if isinstance(value, bool):
        raise invalid_argument(field, "expected a number, got a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid_argument(field, "expected a number, got %r" % (value,)) from None
    if not math.isfinite(number):
        raise invalid_argument(field, "expected a finite number, got %r" % (value,))
    return int(number) if number == int(number) else number


def format_number(value):
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value)


def parse_size(value, field="size", default_unit=None):
    """``8G``/``512M``/``1.5T``/``8GiB`` -> bytes.  A bare number uses ``default_unit`` (``G`` for user input, bytes for Proxmox)."""
    if isinstance(value, bool):
        raise invalid_argument(field, "expected a size such as 8G, got a boolean")
    text = str(value).strip()
    match = _SIZE_RE.fullmatch(text)
    if not match:
        raise invalid_argument(field, "expected a size such as 8G, 512M or 0.5T, got %r" % (value,))
    unit = (match.group(2) or default_unit or "").upper()
    factor = dict(_UNITS).get(unit, 1)
    amount = float(match.group(1)) * factor
    # Proxmox converts GiB to KiB with int(): sizes are whole KiB (or whole bytes for bytes).
    if factor >= 1024:
        amount = int(amount / 1024) * 1024
    return int(amount)


def format_size(size):
    """Bytes -> Proxmox ``format_size``: largest unit dividing exactly, ``0T`` for zero."""
    size = int(size)
    if size == 0:
        return "0T"
    for unit, factor in _UNITS:
        if size % factor == 0:
            return "%d%s" % (size // factor, unit)
    return str(size)


def canonical_size(value, field="size", default_unit="G"):
    return format_size(parse_size(value, field, default_unit))


def parse_list(value, separators=r"[,;\s]+"):
    """A string or list -> list of non-empty strings."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            items.extend(parse_list(item, separators))
        return items
    return [item for item in re.split(separators, str(value).strip()) if item]


def parse_tags(value, field="tags"):
    """Tags as Proxmox stores them: lower-cased, de-duplicated, sorted."""
    tags = sorted(set(tag.lower() for tag in parse_list(value)))
    for tag in tags:
        if not TAG_RE.fullmatch(tag):
            raise invalid_argument(field, "tag %r must match [a-z0-9_][a-z0-9_-+.]*" % (tag,))
    return tags


def format_tags(tags):
    return ";".join(tags)


# Description: Proxmox stores it as comment lines, reads each back with a trailing newline, and
# `pct config` prints it URL-escaped.  Canonical = decoded, without trailing newlines.
def decode_text(text):
    raw = str(text).encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i:i + 1] == b"%" and re.fullmatch(rb"[0-9a-fA-F]{2}", raw[i + 1:i + 3]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "replace")


def canonical_description(text):
    if text is None:
        return None
    return str(text).replace("\r\n", "\n").rstrip("\n")


# Schemas of the property strings.  kind: str, bool, int, number, size, list (';'-separated).
_MOUNT_KEYS = {
    "volume": "str", "mp": "str", "size": "size", "acl": "bool", "ro": "bool", "quota": "bool",
    "replicate": "bool", "shared": "bool", "backup": "bool", "keepattrs": "bool",
    "mountoptions": "list", "idmap": "str",
}
SCHEMAS = {
    "rootfs": {"default": "volume", "required": ("volume",), "keys": _MOUNT_KEYS},
    "mp": {"default": "volume", "required": ("volume", "mp"), "keys": _MOUNT_KEYS},
    "net": {
        "default": None, "required": ("name",),
        "keys": {
            "name": "str", "bridge": "str", "firewall": "bool", "gw": "str", "gw6": "str", "host-managed": "bool",
            "hwaddr": "str", "ip": "str", "ip6": "str", "link_down": "bool", "mtu": "int", "rate": "number",
            "tag": "int", "trunks": "intlist", "type": "str",
        },
    },
    "features": {
        "default": None, "required": (),
        "keys": {"nesting": "bool", "keyctl": "bool", "fuse": "bool", "mknod": "bool", "force_rw_sys": "bool", "mount": "list"},
    },
    "startup": {"default": "order", "bare": False, "required": (), "keys": {"order": "int", "up": "int", "down": "int"}},
}


def schema_for(key):
    """The property-string schema for a config key (``net3`` -> net, ``mp0`` -> mp) or None."""
    name = re.sub(r"\d+$", "", key)
    if name in ("net", "mp") and name == key:
        return None
    return SCHEMAS.get(name)


def _parse_value(kind, value, field):
    if kind == "bool":
        return parse_bool(value, field)
    if kind == "int":
        return parse_int(value, field)
    if kind == "number":
        return parse_number(value, field)
    if kind == "size":
        return canonical_size(value, field, default_unit=None)
    if kind == "list":
        return sorted(set(parse_list(value, r"[;\s]+")))
    if kind == "intlist":
        return sorted(set(parse_int(item, field) for item in parse_list(value, r"[;\s]+")))
    return str(value)


def _format_value(kind, value):
    if kind == "bool":
        return format_bool(value)
    if kind == "number":
        return format_number(value)
    if kind in ("list", "intlist"):
        return ";".join(str(item) for item in value)
    return str(value)


def parse_propstring(key, text, schema=None):
    """Parse the property string of config key ``key`` (``net0``, ``rootfs`` ...) into a dict.

    ``schema`` (same shape as :data:`SCHEMAS` entries) overrides the container schema of ``key``.
    """
    schema = schema or schema_for(key)
    if schema is None:
        raise ValueError("%s is not a property-string key" % key)
    result = {}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            name, value = part.split("=", 1)
            name = name.strip()
        elif schema["default"]:
            name, value = schema["default"], part
        else:
            raise invalid_argument(key, "%r is not a key=value pair" % (part,))
        if name in result:
            raise invalid_argument(key, "sub-key %r given twice" % (name,))
        kind = schema["keys"].get(name, "str")
        result[name] = _parse_value(kind, value, "%s.%s" % (key, name))
    return result


def format_propstring(key, values, schema=None):
    """Render a dict in Proxmox's print order: default key bare, required keys, the rest sorted."""
    schema = schema or schema_for(key)
    if schema is None:
        raise ValueError("%s is not a property-string key" % key)
    parts = []
    default = schema["default"]
    done = set()
    if default and values.get(default) is not None and schema.get("bare", True):
        parts.append(_format_value(schema["keys"].get(default, "str"), values[default]))
        done.add(default)
    order = [k for k in sorted(schema["required"]) if k not in done]
    order += sorted(k for k in values if k not in done and k not in order)
    for name in order:
        value = values.get(name)
        if value is None:
            continue
        parts.append("%s=%s" % (name, _format_value(schema["keys"].get(name, "str"), value)))
    return ",".join(parts)
