# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory transport that applies the contract's write normalisations (section 4.7).

It lets the manager be tested for idempotency without a node: a create or set
stores what Proxmox would store (hwaddr and type=veth added, tags lower-cased and
sorted, description with a trailing newline, rootfs allocation turned into a
volume with a size), and a running CT keeps non-hotpluggable keys pending.
"""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import model
from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps

HOT = set(model.FASTPLUG_KEYS) | set(model.HOTPLUG_KEYS)


class FakePve:
    name = "pct"
    supports_raw_lxc = True
    supports_password_update = True

    def __init__(self):
        self.node = "pve"
        self.cts = {}  # vmid -> {"conf": raw, "pending": raw, "delete": set, "status": str, "lock": None, "lxc": []}
        self.reads = []
        self.calls = []
        self.locked_attempts = 0
        self.fail_create_after_alloc = False

    # reads
    def list(self):
        self.reads.append(["list"])
        return [{"vmid": v, "status": c["status"], "lock": c["lock"], "name": c["conf"].get("hostname"), "node": self.node}
                for v, c in sorted(self.cts.items())]

    def view(self, vmid):
        ct = self.cts[vmid]
        raw = dict(ct["conf"])
        raw.update(ct["pending"])
        for key in ct["delete"]:
            raw.pop(key, None)
        return raw

    def read(self, vmid, node=None):
        self.reads.append(["pending", vmid])
        if vmid not in self.cts:
            return None
        ct = self.cts[vmid]
        return self.view(vmid), set(ct["pending"]) | set(ct["delete"]), None

    def read_lxc(self, vmid, node=None):
        self.reads.append(["config", vmid])
        return [list(x) for x in self.cts[vmid]["lxc"]]

    def read_config(self, vmid, node=None):
        self.reads.append(["config", vmid])
        return self.view(vmid), [list(x) for x in self.cts[vmid]["lxc"]]

    def read_digest(self, vmid, node=None):
        self.reads.append(["config", vmid])
        return "0" * 40

    def nextid(self):
        self.reads.append(["nextid"])
        vmid = 100
        while vmid in self.cts:
            vmid += 1
        return vmid

    # normalisation
    def _normalise(self, vmid, key, value, count):
        if model.is_net(key):
            net = ps.parse_propstring(key, value)
            net.setdefault("hwaddr", "BC:24:11:00:00:%02X" % count)
            net.setdefault("type", "veth")
            return ps.format_propstring(key, net)
        if key == "rootfs" or model.is_mp(key):
            mount = ps.parse_propstring(key, value)
            if model.is_alloc_volume(mount["volume"]):
                store, size = mount["volume"].split(":")
                mount["volume"] = "%s:vm-%s-disk-%d" % (store, vmid, count)
                mount["size"] = ps.canonical_size(size)
            return ps.format_propstring(key, mount)
        if key == "tags":
            return ";".join(ps.parse_tags(value))
        if key == "description":
            return value + "\n"
        if key == "cpuunits":
            return str(min(int(value), 10000))
        return value

    def _check_lock(self, vmid):
        ct = self.cts.get(vmid)
        if ct and ct["lock"]:
            if self.locked_attempts > 0:
                self.locked_attempts -= 1
                if self.locked_attempts == 0:
                    ct["lock"] = None
            raise LxcriError("CT is locked (%s)" % (ct["lock"] or "backup"), errors.LOCKED)

    # mutations
    def create(self, vmid, ostemplate, params, password=None, ssh_public_keys=None, node=None, check=False):
        argv = ["pct", "create", str(vmid), ostemplate] + ["--%s=%s" % kv for kv in sorted(params.items())]
        if check:
            return argv
        self.calls.append(argv)
        if vmid in self.cts:
            raise LxcriError("CT %s already exists on node 'pve'" % vmid, errors.CONFLICT)
        conf = {"arch": "amd64", "ostype": "debian", "memory": "512", "swap": "512", "hostname": "CT%s" % vmid, "unprivileged": "1",
                "rootfs": "%s:vm-%s-disk-0,size=4G" % (params.get("storage", "local"), vmid)}
        count = 0
        for key, value in params.items():
            if key == "storage":
                continue
            conf[key] = self._normalise(vmid, key, value, count)
            count += 1
        self.cts[vmid] = {"conf": conf, "pending": {}, "delete": set(), "status": "stopped", "lock": None, "lxc": []}
        if self.fail_create_after_alloc:
            raise LxcriError("unable to create CT %s - volume '%s' does not exist" % (vmid, ostemplate), errors.NOT_FOUND)
        return argv

    def update(self, vmid, values, delete, digest=None, node=None, check=False):
        argv = ["pct", "set", str(vmid)] + ["--%s=%s" % kv for kv in sorted(values.items())] + (["--delete", ",".join(delete)] if delete else [])
        if check:
            return argv
        self.calls.append(argv)
        self._check_lock(vmid)
        ct = self.cts[vmid]
        running = ct["status"] == "running"
        for index, (key, value) in enumerate(sorted(values.items())):
            value = self._normalise(vmid, key, value, 10 + index)
            if running and key not in HOT and not model.is_net(key) and not (model.is_mp(key) and key not in ct["conf"]):
                ct["pending"][key] = value
            else:
                ct["conf"][key] = value
        for key in delete:
            if running and key not in model.HOT_DELETE_KEYS and not model.is_net(key) and key not in model.FASTPLUG_KEYS:
                ct["delete"].add(key)
            else:
                ct["conf"].pop(key, None)
        return argv

    def resize(self, vmid, disk, size, node=None, check=False):
        argv = ["pct", "resize", str(vmid), disk, size]
        if not check:
            self.calls.append(argv)
            mount = ps.parse_propstring(disk, self.cts[vmid]["conf"][disk])
            mount["size"] = size
            self.cts[vmid]["conf"][disk] = ps.format_propstring(disk, mount)
        return argv

    def _apply_pending(self, ct):
        ct["conf"].update(ct["pending"])
        for key in ct["delete"]:
            ct["conf"].pop(key, None)
        ct["pending"] = {}
        ct["delete"] = set()

    def start(self, vmid, node=None, check=False):
        argv = ["pct", "start", str(vmid)]
        if not check:
            self.calls.append(argv)
            self._check_lock(vmid)
            self._apply_pending(self.cts[vmid])
            self.cts[vmid]["status"] = "running"
        return argv

    def shutdown(self, vmid, timeout, node=None, check=False):
        argv = ["pct", "shutdown", str(vmid)]
        if not check:
            self.calls.append(argv)
            self.cts[vmid]["status"] = "stopped"
        return argv

    stop = None

    def reboot(self, vmid, timeout, node=None, check=False):
        argv = ["pct", "reboot", str(vmid)]
        if not check:
            self.calls.append(argv)
            self._apply_pending(self.cts[vmid])
        return argv

    def destroy(self, vmid, purge, node=None, check=False):
        argv = ["pct", "destroy", str(vmid)]
        if not check:
            self.calls.append(argv)
            self._check_lock(vmid)
            del self.cts[vmid]
        return argv

    def template(self, vmid, node=None, check=False):
        argv = ["pct", "template", str(vmid)]
        if not check:
            self.calls.append(argv)
            self.cts[vmid]["conf"]["template"] = "1"
        return argv

    def set_raw_lxc(self, vmid, entries, node=None, check=False):
        argv = ["edit", "lxc", str(vmid)]
        if not check:
            self.calls.append(argv)
            self.cts[vmid]["lxc"] = [list(e) for e in entries]
        return argv

    def set_password(self, vmid, password=None, ssh_public_keys=None, node=None, check=False):
        argv = ["pct exec %s -- chpasswd" % vmid]
        if not check:
            self.calls.append(argv)
        return argv


def _stop(self, vmid, node=None, check=False):
    argv = ["pct", "stop", str(vmid)]
    if not check:
        self.calls.append(argv)
        self.cts[vmid]["status"] = "stopped"
    return argv


FakePve.stop = _stop
