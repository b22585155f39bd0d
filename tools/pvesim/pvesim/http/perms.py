# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``permissions`` attribute of the REST endpoints (checked before the handler runs).

PVE checks each method's ``permissions`` in ``check_api2_permissions`` before calling its
code; handlers then make finer checks themselves (per config key, per storage, list filters)
through ``env.check_perm``.  Sources: pve-container ``API2/LXC.pm``, ``API2/LXC/Status.pm``,
``API2/LXC/Config.pm``, ``API2/LXC/Snapshot.pm``; pve-manager ``API2/Nodes.pm``,
``API2/Cluster.pm``, ``API2/Tasks.pm``.

Each rule is ``(method, path regex, check)`` where ``check`` is ``None`` (any authenticated
user, PVE ``user => 'all'``), or ``(acl path template, [privs], any_of)``.  Templates use the
URI parameters (``{vmid}``, ``{node}``, ``{storage}``).
"""

from __future__ import annotations

import re

_VM_CONFIG_PRIVS = ["VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
                    "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit"]

_CT = r"/nodes/(?P<node>[^/]+)/lxc/(?P<vmid>[^/]+)"

RULES = [
    ("GET", r"/version", None),
    ("GET", r"/nodes", None),
    ("GET", r"/nodes/(?P<node>[^/]+)", None),
    ("GET", r"/nodes/(?P<node>[^/]+)/status", ("/nodes/{node}", ["Sys.Audit"], False)),
    ("GET", r"/nodes/(?P<node>[^/]+)/lxc", None),
    ("POST", r"/nodes/(?P<node>[^/]+)/lxc", ("/vms/{vmid}", ["VM.Allocate"], False)),
    ("GET", _CT, None),
    ("DELETE", _CT, ("/vms/{vmid}", ["VM.Allocate"], False)),
    ("GET", _CT + r"/config", ("/vms/{vmid}", ["VM.Audit"], False)),
    ("PUT", _CT + r"/config", ("/vms/{vmid}", _VM_CONFIG_PRIVS, True)),
    ("GET", _CT + r"/pending", ("/vms/{vmid}", ["VM.Audit"], False)),
    ("GET", _CT + r"/status", ("/vms/{vmid}", ["VM.Audit"], False)),
    ("GET", _CT + r"/status/current", ("/vms/{vmid}", ["VM.Audit"], False)),
    ("POST", _CT + r"/status/(start|stop|shutdown|reboot|suspend|resume)", ("/vms/{vmid}", ["VM.PowerMgmt"], False)),
    ("GET", _CT + r"/snapshot", ("/vms/{vmid}", ["VM.Audit"], False)),
    ("POST", _CT + r"/snapshot", ("/vms/{vmid}", ["VM.Snapshot"], False)),
    ("DELETE", _CT + r"/snapshot/[^/]+", ("/vms/{vmid}", ["VM.Snapshot"], False)),
    ("POST", _CT + r"/snapshot/[^/]+/rollback", ("/vms/{vmid}", ["VM.Snapshot", "VM.Snapshot.Rollback"], True)),
    ("GET", _CT + r"/snapshot/[^/]+/config", ("/vms/{vmid}", ["VM.Audit"], False)),
    ("PUT", _CT + r"/snapshot/[^/]+/config", ("/vms/{vmid}", ["VM.Snapshot"], False)),
    ("POST", _CT + r"/clone", ("/vms/{vmid}", ["VM.Clone"], False)),
    ("POST", _CT + r"/template", ("/vms/{vmid}", ["VM.Allocate"], False)),
    ("PUT", _CT + r"/resize", ("/vms/{vmid}", ["VM.Config.Disk"], False)),
    ("POST", _CT + r"/migrate", ("/vms/{vmid}", ["VM.Migrate"], False)),
    ("POST", _CT + r"/move_volume", ("/vms/{vmid}", ["VM.Config.Disk"], False)),
    ("GET", _CT + r"/interfaces", ("/vms/{vmid}", ["VM.Audit"], False)),
    ("GET", r"/cluster/nextid", None),
    ("GET", r"/cluster/resources", None),
    ("GET", r"/nodes/(?P<node>[^/]+)/tasks(/.*)?", None),
    ("DELETE", r"/nodes/(?P<node>[^/]+)/tasks/[^/]+", None),
    ("GET", r"/storage", None),
    ("GET", r"/nodes/(?P<node>[^/]+)/storage(/.*)?", None),
    ("POST", r"/nodes/(?P<node>[^/]+)/storage/(?P<storage>[^/]+)/upload",
     ("/storage/{storage}", ["Datastore.AllocateTemplate"], False)),
    ("GET", r"/nodes/(?P<node>[^/]+)/aplinfo", None),
    ("POST", r"/nodes/(?P<node>[^/]+)/aplinfo", ("/storage/{storage}", ["Datastore.AllocateTemplate"], False)),
    ("GET", r"/access/domains", None),
    ("GET", r"/access/ticket", None),
    ("POST", r"/access/ticket", None),
]

_COMPILED = [(m, re.compile("^" + rx + "$"), check) for m, rx, check in RULES]


def rule_for(method, rel_path):
    """Return ``(found, check, uri_params)`` for a request; ``found`` False = no rule known."""
    for m, rx, check in _COMPILED:
        if m != method:
            continue
        mt = rx.match(rel_path)
        if mt:
            return True, check, {k: v for k, v in mt.groupdict().items() if v is not None}
    return False, None, {}


def acl_path(template, params):
    """Fill a template; unresolved parameters give None (the check then fails like PVE's)."""
    try:
        return template.format(**{k: params[k] for k in re.findall(r"\{(\w+)\}", template)})
    except KeyError:
        return None
