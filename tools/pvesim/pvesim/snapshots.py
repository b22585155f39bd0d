# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Snapshots: the PVE::AbstractConfig state machine (prepare/commit, delete, rollback) on the
config file, plus the REST handlers and their tasks (contract §5, §10).

Volume snapshots go through :mod:`pvesim.storage` (``volume_has_feature``,
``volume_snapshot``, ``volume_snapshot_delete``, ``volume_snapshot_rollback``,
``volume_rollback_is_possible``), which tests may replace as PVE's own test-suite mocks them.
"""

from __future__ import annotations

import re
import time

from . import storage
from .backend import get_backend
from .handlers import Perm, PVEError, api
from .lxc_api import NV, add_unused_volume, check_lock, is_template, load_config, lock_config, write_config
from .lxcschema import is_volume_key, parse_volume
from .schema import Param
from .tasks import fork_worker

SNAPNAME = Param("string", optional=False, pattern=r"[a-zA-Z][a-zA-Z0-9_\-]+", max_length=40)


def foreach_volume(conf):
    """(key, mountpoint) for rootfs, mp0, mp1, ... in PVE's order."""
    keys = [k for k in conf if is_volume_key(k) and isinstance(conf[k], str)]
    for k in sorted(keys, key=lambda k: -1 if k == "rootfs" else int(k[2:])):
        try:
            yield k, parse_volume(k, conf[k])
        except ValueError:
            continue


def snapshot_copy_config(source, dest):
    for k, v in source.items():
        if k in ("snapshots", "snapstate", "snaptime", "vmstate", "lock", "digest", "description", "pending"):
            continue
        if re.match(r"^unused\d+$", k):
            continue
        dest[k] = v


def has_snapshot_feature(env, conf):
    for _k, mp in foreach_volume(conf):
        if mp["type"] != "volume":
            if _k == "rootfs" or str(mp.get("backup", "0")) == "1":
                return False
            continue
        if not storage.volume_has_feature(env.state, "snapshot", mp["volume"]):
            return False
    return True


def snapshot_prepare(env, vmid, snapname, comment):
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        if is_template(conf):
            raise PVEError("you can't take a snapshot if it's a template")
        check_lock(conf)
        conf["lock"] = "snapshot"
        if snapname in conf["snapshots"]:
            raise PVEError("snapshot name '%s' already used" % snapname)
        if not has_snapshot_feature(env, conf):
            raise PVEError("snapshot feature is not available")
        snap = conf["snapshots"][snapname] = {}
        snapshot_copy_config(conf, snap)
        snap["snapstate"] = "prepare"
        snap["snaptime"] = str(int(time.time()))
        if comment:
            snap["description"] = comment
        write_config(env, vmid, conf)
        return snap


def snapshot_commit(env, vmid, snapname):
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        if conf.get("lock") != "snapshot":
            raise PVEError("missing snapshot lock")
        snap = conf["snapshots"].get(snapname)
        if snap is None:
            raise PVEError("snapshot '%s' does not exist" % snapname)
        if snap.get("snapstate") != "prepare":
            raise PVEError("wrong snapshot state")
        snap.pop("snapstate", None)
        conf.pop("lock", None)
        conf["parent"] = snapname
        write_config(env, vmid, conf)


def snapshot_create(env, vmid, snapname, comment, log=None):
    snap = snapshot_prepare(env, vmid, snapname, comment)
    done = {}
    try:
        for key, mp in foreach_volume(snap):
            if mp["type"] != "volume":
                continue
            storage.volume_snapshot(env.state, mp["volume"], snapname)
            done[key] = 1
    except Exception as exc:
        if log:
            log("snapshot create failed: starting cleanup")
        try:
            snapshot_delete(env, vmid, snapname, True, done)
        except Exception as exc2:
            if log:
                log(getattr(exc2, "message", str(exc2)))
        raise PVEError((getattr(exc, "message", None) or str(exc)) + "\n") from None
    snapshot_commit(env, vmid, snapname)


def snapshot_delete(env, vmid, snapname, force, drivehash=None, log=None):
    conf = load_config(env, vmid)
    if snapname not in conf["snapshots"]:
        raise PVEError("snapshot '%s' does not exist" % snapname)
    expected = "snapshot" if drivehash is not None else "snapshot-delete"
    if drivehash is None:
        with lock_config(env, vmid):
            c = load_config(env, vmid)
            check_lock(c)
            c["lock"] = "snapshot-delete"
            write_config(env, vmid, c)

    def ensure_lock(c):
        if c.get("lock") != expected:
            raise PVEError("encountered invalid lock, expected '%s'" % expected)

    with lock_config(env, vmid):
        c = load_config(env, vmid)
        ensure_lock(c)
        snap = c["snapshots"].get(snapname)
        if snap is None:
            raise PVEError("snapshot '%s' does not exist" % snapname)
        snap["snapstate"] = "delete"
        write_config(env, vmid, c)
    unused = []

    def remove_drive(key):
        with lock_config(env, vmid):
            c = load_config(env, vmid)
            ensure_lock(c)
            sn = c["snapshots"].get(snapname)
            if sn is None:
                raise PVEError("snapshot '%s' does not exist" % snapname)
            value = sn.pop(key, None)
            try:
                mp = parse_volume(key, value) if value else None
            except ValueError:
                mp = None
            if mp and mp["type"] == "volume":
                add_unused_volume(sn, mp["volume"])
            write_config(env, vmid, c)

    for key, mp in list(foreach_volume(snap)):
        if drivehash is None or drivehash.get(key):
            try:
                if mp["type"] == "volume":
                    storage.volume_snapshot_delete(env.state, mp["volume"], snapname)
                    unused.append(mp["volume"])
            except Exception as exc:
                if not force:
                    raise
                if log:
                    log(getattr(exc, "message", str(exc)))
        if not force:
            remove_drive(key)
    with lock_config(env, vmid):
        c = load_config(env, vmid)
        ensure_lock(c)
        snap = c["snapshots"].get(snapname)
        if snap is None:
            raise PVEError("snapshot '%s' does not exist" % snapname)
        new_parent = snap.get("parent")

        def unlink_parent(d):
            if d.get("parent") == snapname:
                if new_parent:
                    d["parent"] = new_parent
                else:
                    d.pop("parent", None)

        unlink_parent(c)
        for name, other in c["snapshots"].items():
            if name != snapname:
                unlink_parent(other)
        del c["snapshots"][snapname]
        c.pop("lock", None)
        for volid in unused:
            add_unused_volume(c, volid)
        write_config(env, vmid, c)


def snapshot_rollback(env, vmid, snapname, worker=None):
    backend = get_backend(env.state)

    def get_snap(c):
        if is_template(c):
            raise PVEError("you can't rollback if vm is a template")
        s = c["snapshots"].get(snapname)
        if s is None:
            raise PVEError("snapshot '%s' does not exist" % snapname)
        return s

    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        snap = get_snap(conf)
        for _k, mp in foreach_volume(snap):
            if mp["type"] == "volume":
                storage.volume_rollback_is_possible(env.state, mp["volume"], snapname)
        if snap.get("snapstate"):
            raise PVEError("unable to rollback to incomplete snapshot (snapstate = %s)" % snap["snapstate"])
        check_lock(conf)
        if backend.is_running(vmid):
            backend.stop(worker, vmid, kill=True)
        if backend.is_running(vmid):
            raise PVEError("unable to rollback vm %s: vm is running" % vmid)
        conf["lock"] = "rollback"
        write_config(env, vmid, conf)
    for _k, mp in foreach_volume(snap):
        if mp["type"] == "volume":
            storage.volume_snapshot_rollback(env.state, mp["volume"], snapname)
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        snap = get_snap(conf)
        if backend.is_running(vmid):
            raise PVEError("unable to rollback vm %s: vm is running" % vmid)
        if conf.get("lock") != "rollback":
            raise PVEError("got wrong lock")
        conf.pop("lock", None)
        snap_vols = {mp["volume"] for _k, mp in foreach_volume(snap) if mp["type"] == "volume"}
        for _k, mp in foreach_volume(conf):
            if mp["type"] == "volume" and mp["volume"] not in snap_vols:
                add_unused_volume(conf, mp["volume"])
        newconf = {"snapshots": conf["snapshots"], "digest": conf.get("digest"), "pending": {}}
        for k, v in conf.items():
            if re.match(r"^unused\d+$", k) or k == "description":
                newconf[k] = v
        snapshot_copy_config(snap, newconf)
        newconf["parent"] = snapname
        write_config(env, vmid, newconf)


# --------------------------------------------------------------------------------------------
# REST handlers
# --------------------------------------------------------------------------------------------

@api("POST", "/nodes/{node}/lxc/{vmid}/snapshot", perm=Perm("/vms/{vmid}", ("VM.Snapshot",)), params=dict(NV, snapname=SNAPNAME, description=Param("string")),
     name="snapshot", protected=True)
def snapshot(env, p):
    vmid = p["vmid"]
    snapname = p["snapname"]
    if snapname in ("current", "vzdump"):
        raise PVEError("unable to use snapshot name '%s' (reserved name)" % snapname)

    def realcmd(worker):
        snapshot_create(env, vmid, snapname, p.get("description"), log=worker.log)

    return fork_worker(env, "vzsnapshot", vmid, realcmd)


@api("DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", perm=Perm("/vms/{vmid}", ("VM.Snapshot",)),
     params=dict(NV, snapname=SNAPNAME, force=Param("boolean")),
     name="delsnapshot", protected=True)
def delsnapshot(env, p):
    vmid = p["vmid"]

    def realcmd(worker):
        snapshot_delete(env, vmid, p["snapname"], bool(p.get("force")), log=worker.log)

    return fork_worker(env, "vzdelsnapshot", vmid, realcmd)


@api("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", params=dict(NV, snapname=SNAPNAME), name="snapshot_cmd_idx")
def snapshot_cmd_idx(env, p):
    return [{"cmd": "rollback"}, {"cmd": "config"}]


@api("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback",
     perm=Perm("/vms/{vmid}", ("VM.Snapshot", "VM.Snapshot.Rollback"), any_of=True),
     params=dict(NV, snapname=SNAPNAME, start=Param("boolean", default=0)), name="rollback", protected=True)
def rollback(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Snapshot.Rollback"])

    def realcmd(worker):
        snapshot_rollback(env, vmid, p["snapname"], worker)
        if p.get("start"):
            from .lxc_status_api import start_ct

            with lock_config(env, vmid):
                start_ct(env, vmid, worker, None)

    return fork_worker(env, "vzrollback", vmid, realcmd)


@api("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config", perm=Perm("/vms/{vmid}", ("VM.Audit",)),
     params=dict(NV, snapname=SNAPNAME), name="get_snapshot_config")
def get_snapshot_config(env, p):
    env.check_perm("/vms/%d" % p["vmid"], ["VM.Audit"])
    conf = load_config(env, p["vmid"])
    snap = conf["snapshots"].get(p["snapname"])
    if snap is None:
        raise PVEError("snapshot '%s' does not exist" % p["snapname"])
    return {k: v for k, v in snap.items() if k not in ("snapshots", "pending")}


@api("PUT", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config", perm=Perm("/vms/{vmid}", ("VM.Snapshot",)),
     params=dict(NV, snapname=SNAPNAME, description=Param("string")),
     name="update_snapshot_config", protected=True)
def update_snapshot_config(env, p):
    vmid = p["vmid"]
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        check_lock(conf)
        snap = conf["snapshots"].get(p["snapname"])
        if snap is None:
            raise PVEError("snapshot '%s' does not exist" % p["snapname"])
        if p.get("description") is not None:
            snap["description"] = p["description"]
        write_config(env, vmid, conf)
    return None
