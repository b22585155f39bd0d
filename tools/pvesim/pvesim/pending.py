# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pending changes of a guest config, the same for every guest type (pve-guest-common
``PVE::AbstractConfig`` and ``PVE::GuestHelpers``).

A parsed config holds its pending values in ``conf["pending"]``; deletions are
``conf["pending"]["delete"]`` (``a,!b``: ``!`` = forced).  These functions read and change that
dict; they know nothing of LXC or QEMU keys.
"""

from __future__ import annotations

import re

from .state import perl_sorted


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


def config_view(conf, snapshot=None, current=False):
    """What ``GET .../config`` shows (pve-container ``API2/LXC/Config.pm`` and qemu-server
    ``API2/Qemu.pm`` ``vm_config``): a snapshot's config, or the config with its pending changes
    merged unless ``current``; the digest of the file, no ``snapshots``/``pending`` sections."""
    from .handlers import PVEError, param_error

    if snapshot and current:
        conflict = "cannot use 'snapshot' parameter with 'current'"
        raise param_error({"snapshot": conflict, "current": conflict})
    if snapshot:
        snap = conf["snapshots"].get(snapshot)
        if snap is None:
            raise PVEError("snapshot '%s' does not exist" % snapshot)
        res = dict(snap)
    else:
        res = load_current_config(conf, current=bool(current))
    res.pop("snapshots", None)
    res.pop("pending", None)
    res["digest"] = conf["digest"]
    return res


def pending_array(conf, raw_keys=()):
    """``GuestHelpers::config_with_pending_array``: one item per key with its ``value``,
    ``pending`` value and ``delete`` flag (digest included; ``raw_keys`` such as LXC's ``lxc``
    list are left out)."""
    res = []
    pend = dict(conf.get("pending", {}))
    dels = parse_pending_delete(pend.get("delete"))
    for k in perl_sorted(conf.keys()):
        if k in ("pending", "snapshots") or k in raw_keys:
            continue
        item = {"key": k, "value": conf[k]}
        if pend.get(k) is not None:
            item["pending"] = pend.pop(k)
        if k in dels:
            item["delete"] = 2 if dels.pop(k)["force"] else 1
        res.append(item)
    for k in perl_sorted(pend.keys()):
        if k == "delete":
            continue
        res.append({"key": k, "pending": pend[k]})
    for k in dels:
        # PVE tests the {force => ...} hash itself here, which is always true
        res.append({"key": k, "delete": 2})
    return res
