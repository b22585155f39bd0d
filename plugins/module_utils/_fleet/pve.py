# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many Proxmox guests of one node in one module run, each converged by its single module's manager
(``_pve.manager.Manager`` for CTs, ``_pvevm.manager.VmManager`` for VMs).

Reads cost O(1) process starts per node: one ``pct list``/``qm list`` (or one API listing) for every
guest, then each guest's configuration from its pmxcfs file
``<config_dir>/nodes/<node>/lxc/<vmid>.conf`` or ``…/qemu-server/<vmid>.conf`` (the file ``pct
pending``/``qm pending`` and the API read: the main section plus the pending one, ``[pve:pending]``
for CTs, ``[PENDING]`` for VMs, and its SHA-1 is the ``digest`` writes are checked against).  Over
the API each guest costs one ``GET …/pending``.  Writes go through the transport exactly as the
single module makes them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._fleet.pool import exit_fleet, refuse_duplicates, validate_items
from ansible_collections.lxcri.containers.plugins.module_utils._pve import conffile
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import connection_spec, container_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import make_transport as make_ct_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager, validate_params
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import pve_dir
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import make_transport as make_vm_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import vm_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.manager import VmManager
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.plan import check_params


class GuestKind:
    """What a fleet of CTs and a fleet of VMs do differently: their files, command, manager and options."""

    def __init__(self, word: str, cli: str, config_format: conffile.ConfigFormat, name_key: str, manager: type, item_spec: Callable[[], dict],
                 check_item: Callable[[dict], object], make_transport: Callable, unsupported: tuple[str, ...] = ()) -> None:
        self.word = word                        # CT / VM
        self.cli = cli                          # the node command whose reads the config files replace
        self.config_format = config_format
        self.name_key = name_key                # the option naming the guest
        self.manager = manager
        self.item_spec = item_spec              # each item's options: the single module's, without the connection
        self.check_item = check_item            # the single module's checks that need no Proxmox call
        self.make_transport = make_transport
        self.unsupported = unsupported          # options of the single module a fleet item may not use


CT = GuestKind("CT", "pct", conffile.CT_FORMAT, "hostname", Manager, container_spec, validate_params, make_ct_transport, unsupported=("oci_bundle",))
VM = GuestKind("VM", "qm", conffile.VM_FORMAT, "name", VmManager, vm_spec, check_params, make_vm_transport)


class FleetReads:
    """The reads every guest of the run shares: one listing, and the node's config directory."""

    def __init__(self, transport, config_dir: str | None = None, kind: GuestKind = CT) -> None:
        self.transport = transport
        self.kind = kind
        self.config_dir = config_dir or pve_dir()
        self._rows = None
        self._lock = threading.Lock()
        self.file_reads = 0

    def rows(self) -> list[dict]:
        with self._lock:
            if self._rows is None:
                self._rows = self.transport.list()
            return [dict(row) for row in self._rows]

    def conf_path(self, vmid: int, node: str | None) -> str | None:
        """The guest's config file when the node command runs on a node whose config directory is readable here."""
        if self.transport.name != self.kind.cli:
            return None
        directory = os.path.join(self.config_dir, "nodes", node or self.transport.node, self.kind.config_format.directory)
        return os.path.join(directory, "%s.conf" % vmid) if os.path.isdir(directory) else None


class FleetTransport:
    """What one guest's manager sees: the fleet's shared reads, the transport's own writes.

    Reads are served from the shared listing and the config file; every other call goes to the
    transport unchanged, so writes are those the single module makes.
    """

    def __init__(self, fleet: FleetReads) -> None:
        self.fleet = fleet
        self.inner = fleet.transport
        self.reads: list[list[str]] = []
        self.warnings: list[str] = []
        self._file = {}

    def __getattr__(self, name):
        # Writes, status, nextid and the transport's flags: the transport's own.
        return getattr(self.inner, name)

    def list(self):
        return self.fleet.rows()

    def _read_file(self, vmid, node):
        path = self.fleet.conf_path(vmid, node)
        if path is None:
            return None
        self.reads.append(["read", path])
        self.fleet.file_reads += 1
        found = conffile.read_pending_view(path, self.fleet.kind.config_format)
        if found is None:
            return False
        self._file[vmid] = found
        return found

    def read(self, vmid, node=None):
        found = self._read_file(vmid, node)
        if found is None:
            return self.inner.read(vmid, node)
        if found is False:
            return None
        view, keys, digest, _lxc = found
        return view, keys, digest

    def read_lxc(self, vmid, node=None):
        found = self._file.get(vmid)
        if found is None:
            return self.inner.read_lxc(vmid, node)
        return found[3]


def converge_one(fleet: FleetReads, params: dict, check_mode: bool, warn) -> dict:
    return fleet.kind.manager(FleetTransport(fleet), params, check_mode=check_mode, warn=warn).run()


def lanes(items: list[dict], rows: list[dict], name_key: str = "hostname") -> list[list[int]]:
    """Items that create a guest without a fixed vmid share one lane (each takes ``nextid`` after the last was created)."""
    names = set(row.get("name") for row in rows)
    shared, own = [], []
    for index, params in enumerate(items):
        if params.get("vmid") is None and params.get(name_key) not in names and params.get("state") != "absent":
            shared.append(index)
        else:
            own.append([index])
    return own + ([shared] if shared else [])


def argument_spec(kind: GuestKind) -> dict:
    """The fleet module's options: the connection once, the items, the workers and the config directory."""
    spec = connection_spec(cli=kind.cli)
    spec.update(containers=dict(type="list", elements="dict", required=True), parallel=dict(type="int", default=4),
                config_dir=dict(type="path"))
    return spec


def run_module(module, kind: GuestKind) -> None:
    """``pve_containers`` / ``pve_vms``: every item validated as its single module would, then the fleet converged."""
    shared = {}

    def label(item):
        return str(item.get(kind.name_key) or item.get("vmid"))

    def prepare():
        items, secrets = validate_items(module.params["containers"], kind.item_spec(), label, unsupported=kind.unsupported)
        module.no_log_values.update(secrets)
        for index, item in enumerate(items):
            try:
                kind.check_item(item)
            except LxcriError as exc:
                raise LxcriError("containers[%d] (%s).%s" % (index, label(item), exc.msg), exc.error_kind, details=exc.details) from None
        refuse_duplicates(items, lambda item: item.get("vmid"), label, "vmid")
        refuse_duplicates(items, lambda item: None if item.get("vmid") else item.get(kind.name_key), label, kind.name_key)
        transport = kind.make_transport(module, timeout=max([item["timeout"] for item in items] or [300]))
        fleet = shared["fleet"] = FleetReads(transport, module.params["config_dir"], kind)
        rows = fleet.rows() if items else []
        return items, lambda item, warn: converge_one(fleet, item, module.check_mode, warn), label, lanes(items, rows, kind.name_key)

    def extra():
        fleet = shared.get("fleet")
        for warning in fleet.transport.warnings if fleet else []:
            module.warn(warning)
        return {"reads": [list(read) for read in fleet.transport.reads] if fleet else [], "config_files_read": fleet.file_reads if fleet else 0,
                "transport": fleet.transport.name if fleet else None}

    exit_fleet(module, prepare, extra)
