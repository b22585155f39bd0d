# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many Proxmox containers of one node in one module run, each converged by ``_pve.manager.Manager``.

Reads cost O(1) process starts per node: one ``pct list`` (or one API listing) for every
container, then each container's configuration from its pmxcfs file
``<config_dir>/nodes/<node>/lxc/<vmid>.conf`` (the file ``pct pending`` and the API read:
the main section plus ``[pve:pending]``, and its SHA-1 is the ``digest`` writes are checked
against).  Over the API each container costs one ``GET …/pending``.  Writes go through the
transport exactly as ``pve_container`` makes them.
"""

from __future__ import annotations

import hashlib
import os
import threading

from ansible_collections.lxcri.containers.plugins.module_utils._pve import conffile
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import pve_dir

_PENDING = "pve:pending"
_ENV_KEY = "lxc.environment.runtime"


def pending_view(text: str) -> tuple[dict, set, str, list]:
    """A config file -> what ``pct pending`` + ``pct config`` give: ``(pending view, pending keys, digest, raw lxc list)``.

    As PVE's ``config_with_pending_array`` + ``format_pending``: pending values replace the current
    ones, pending deletions of set keys remove them, ``lxc.environment.runtime`` lines form ``env``.
    """
    digest = hashlib.sha1(text.encode("utf-8", "surrogateescape"), usedforsecurity=False).hexdigest()  # PVE's config digest is SHA-1
    sections = conffile.parse_conf(text)
    main = sections.get("", {"raw": {}, "lxc": []})
    pending = sections.get(_PENDING, {"raw": {}, "lxc": []})
    view = dict(main["raw"])
    lxc = []
    for key, value in main["lxc"]:
        if key == _ENV_KEY:
            view["env"] = value if "env" not in view else view["env"] + "\0" + value
        else:
            lxc.append([key, value])
    pending_raw = dict(pending["raw"])
    deletions = [item.lstrip("!") for item in pending_raw.pop("delete", "").replace(";", ",").replace(" ", ",").split(",") if item]
    keys = set()
    for key, value in pending_raw.items():
        view[key] = value
        keys.add(key)
    for key in deletions:
        if key in main["raw"] or (key == "env" and "env" in view):
            view.pop(key, None)
            keys.add(key)
    return view, keys, digest, lxc


class FleetReads:
    """The reads every container of the run shares: one listing, and the node's config directory."""

    def __init__(self, transport, config_dir: str | None = None) -> None:
        self.transport = transport
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
        """The CT's config file when the pct transport runs on a node whose config directory is readable here."""
        if self.transport.name != "pct":
            return None
        directory = os.path.join(self.config_dir, "nodes", node or self.transport.node, "lxc")
        return os.path.join(directory, "%s.conf" % vmid) if os.path.isdir(directory) else None


class ContainerTransport:
    """What one container's ``Manager`` sees: the fleet's shared reads, the transport's own writes.

    Reads are served from the shared listing and the config file; every other call goes to the
    transport unchanged, so writes are those ``pve_container`` makes.
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
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as stream:
                text = stream.read()
        except FileNotFoundError:
            return False
        self._file[vmid] = pending_view(text)
        return self._file[vmid]

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
    return Manager(ContainerTransport(fleet), params, check_mode=check_mode, warn=warn).run()


def lanes(items: list[dict], rows: list[dict]) -> list[list[int]]:
    """Items that create a CT without a fixed vmid share one lane (each takes ``nextid`` after the last was created)."""
    names = set(row.get("name") for row in rows)
    shared, own = [], []
    for index, params in enumerate(items):
        if params.get("vmid") is None and params.get("hostname") not in names and params.get("state") != "absent":
            shared.append(index)
        else:
            own.append([index])
    return own + ([shared] if shared else [])
