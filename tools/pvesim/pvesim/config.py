# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``<vmid>.conf`` parser and writer (PVE::LXC::Config parse_pct_config / write_pct_config).

A parsed config is a dict as PVE's: scalar keys -> string values, ``description`` (decoded,
each comment line with a trailing newline), ``lxc`` = list of ``[key, value]``, ``env``
(NUL-joined), ``pending`` (dict, may hold ``delete``), ``snapshots`` ({name: dict}) and
``digest`` (SHA-1 of the raw text).
"""

from __future__ import annotations

import hashlib
import re

from .lxcschema import check_type, is_volume_key, parse_volume
from .state import perl_sorted

SKIP_KEYS = ("digest", "description", "pending", "snapshots", "snapname", "env", "lxc")


def encode_text(text):
    """PVE::Tools::encode_text: control chars, bytes >= 0x7F, ':' and '%' -> %XX."""
    out = []
    for b in text.encode("utf-8", "surrogateescape"):
        if b < 0x20 or b >= 0x7F or b in (0x3A, 0x25):
            out.append("%%%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def decode_text(text):
    raw = re.sub(rb"%([A-Fa-f0-9]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "surrogateescape")


def _lxc_key_validity(key):
    if key in ("lxc.rootfs.path", "lxc.rootfs.options", "lxc.rootfs"):
        return "lxc.rootfs.path is not supported, use 'rootfs' instead" if key != "lxc.rootfs.options" else \
            "lxc.rootfs.options is not supported, use mount point options in the 'rootfs' key"
    return True


def parse_config(raw, vmid=None, warn=None, strict=False):
    """Parse the text of a CT config.  ``warn(msg)`` receives non-fatal problems."""
    res = {"digest": hashlib.sha1(raw.encode("utf-8", "surrogateescape")).hexdigest(), "snapshots": {}, "pending": {}}

    def handle_error(msg):
        if strict:
            raise ValueError(msg)
        if warn is not None:
            warn(msg)

    conf = res
    descr = ""
    section = ""
    for line in raw.split("\n"):
        if re.match(r"^\s*$", line):
            continue
        if re.match(r"^\[pve:pending\]\s*$", line, re.I):
            section = "pending"
            if descr:
                conf["description"] = descr
            descr = ""
            conf = res["pending"] = {}
            continue
        m = re.match(r"^\[([a-z][a-z0-9_\-]+)\]\s*$", line, re.I)
        if m:
            section = m.group(1)
            if descr:
                conf["description"] = descr
            descr = ""
            conf = res["snapshots"][section] = {}
            continue
        m = re.match(r"^#(.*)$", line)
        if m:
            descr += decode_text(m.group(1)) + "\n"
            continue
        m = re.match(r"^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$", line)
        if m:
            key, value = m.group(1), m.group(3)
            validity = _lxc_key_validity(key)
            if key == "lxc.environment.runtime":
                conf["env"] = value if conf.get("env") is None else conf["env"] + "\0" + value
            elif validity is True:
                conf.setdefault("lxc", []).append([key, value])
            else:
                handle_error("vm %s - %s: %s" % (vmid, key, validity))
            continue
        m = re.match(r"^(description):\s*(.*\S)\s*$", line)
        if m:
            descr += decode_text(m.group(2))
            continue
        m = re.search(r"snapstate:\s*(prepare|delete)\s*$", line)
        if m:
            conf["snapstate"] = m.group(1)
            continue
        m = re.match(r"^delete:\s*(.*\S)\s*$", line)
        if m:
            if section == "pending":
                conf["delete"] = m.group(1)
            else:
                handle_error("vm %s - property 'delete' is only allowed in [pve:pending]" % vmid)
            continue
        m = re.match(r"^([a-z][a-z_]*\d*):\s*(.+?)\s*$", line)
        if m:
            key, value = m.group(1), m.group(2)
            try:
                value = check_type(key, value)
            except ValueError as exc:
                handle_error("vm %s - unable to parse value of '%s' - %s" % (vmid, key, exc))
            conf[key] = value
            continue
        handle_error("vm %s - unable to parse config: %s" % (vmid, line))
    if descr:
        conf["description"] = descr
    res.pop("snapstate", None)
    return res


def _volumes(conf):
    out = set()
    for k, v in conf.items():
        if isinstance(v, str) and is_volume_key(k):
            try:
                mp = parse_volume(k, v)
            except ValueError:
                continue
            if mp["type"] == "volume":
                out.add(mp["volume"])
    return out


def write_config(conf):
    """Render a config dict (mutates it like PVE: drops snapstate and still-used unusedN)."""
    conf.pop("snapstate", None)
    used = _volumes(conf)  # get_vm_volumes: the current config's rootfs/mpN only
    for k in list(conf):
        if k.startswith("unused") and conf[k] in used:
            del conf[k]

    def gen(c):
        raw = ""
        descr = c.get("description") or ""
        lines = descr.split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        for cl in lines:
            raw += "#" + encode_text(cl) + "\n"
        for key in perl_sorted(c.keys()):
            if key in SKIP_KEYS:
                continue
            value = c[key]
            if value is None:
                continue
            value = str(value)
            if "\n" in value:
                raise ValueError("detected invalid newline inside property '%s'" % key)
            raw += "%s: %s\n" % (key, value)
        if c.get("env"):
            for var in [x for x in re.split("\0+", c["env"]) if x != ""]:
                raw += "lxc.environment.runtime: %s\n" % var
        for k, v in c.get("lxc") or []:
            if k == "lxc.environment.runtime":
                continue
            raw += "%s: %s\n" % (k, v)
        return raw

    raw = gen(conf)
    if conf.get("pending"):
        raw += "\n[pve:pending]\n" + gen(conf["pending"])
    for name in perl_sorted(conf.get("snapshots", {}).keys()):
        raw += "\n[%s]\n" % name + gen(conf["snapshots"][name])
    return raw


# ---- pending delete helpers (PVE::AbstractConfig) -------------------------------------------

def parse_pending_delete(value):
    """``delete: a,!b`` -> {key: {"force": bool}} in file order."""
    out = {}
    for item in [x for x in re.split(r"[,;\s]+", value or "") if x]:
        force = item.startswith("!")
        key = item[1:] if force else item
        out[key] = {"force": force}
    return out


def print_pending_delete(d):
    return ",".join(("!" if v["force"] else "") + k for k, v in d.items())


def add_to_pending_delete(conf, key, force=False):
    pend = conf.setdefault("pending", {})
    d = parse_pending_delete(pend.get("delete"))
    d[key] = {"force": force}
    pend["delete"] = print_pending_delete(d)


def remove_from_pending_delete(conf, key):
    pend = conf.setdefault("pending", {})
    d = parse_pending_delete(pend.get("delete"))
    d.pop(key, None)
    if d:
        pend["delete"] = print_pending_delete(d)
    else:
        pend.pop("delete", None)


def cleanup_pending(conf):
    """Drop pending values equal to the current ones and deletions of unset keys."""
    changes = False
    pend = conf.setdefault("pending", {})
    for k in list(pend):
        if k == "delete":
            continue
        if k in conf and str(conf[k]) == str(pend[k]):
            del pend[k]
            changes = True
    d = parse_pending_delete(pend.get("delete"))
    for k in list(d):
        if k not in conf:
            del d[k]
            changes = True
    if d:
        pend["delete"] = print_pending_delete(d)
    else:
        pend.pop("delete", None)
    return changes


def load_current_config(conf, current=False):
    """GuestHelpers/AbstractConfig load_current_config: merge pending unless ``current``."""
    res = {k: v for k, v in conf.items() if k not in ("snapshots", "pending")}
    if not current:
        pend = conf.get("pending", {})
        for k, v in pend.items():
            if k == "delete":
                continue
            res[k] = v
        for k in parse_pending_delete(pend.get("delete")):
            res.pop(k, None)
    return res
