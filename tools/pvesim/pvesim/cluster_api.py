# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cluster, node, task and storage handlers (contract §6.1, §6.2)."""

from __future__ import annotations

import os
import platform

from . import PVE_RELEASE, PVE_REPOID, PVE_VERSION, faults, storage, tasks
from .backend import get_backend
from .handlers import Perm, PVEError, api, param_error
from .lxc_api import list_ct_ids, load_config, vmstatus
from .schema import NODE, Param


@api("GET", "/version", params={}, name="version")
def version(env, p):
    return {"version": PVE_VERSION, "release": PVE_RELEASE, "repoid": PVE_REPOID}


@api("GET", "/nodes", params={}, name="nodes_index")
def nodes_index(env, p):
    st = env.state
    return [{"node": st.node, "status": "online", "type": "node", "id": "node/%s" % st.node, "level": "",
             "maxcpu": st.host_cpus, "cpu": 0, "maxmem": st.host_memory, "mem": 0, "uptime": _uptime(),
             "ssl_fingerprint": ""}]


@api("GET", "/nodes/{node}", params={"node": NODE}, name="node_index")
def node_index(env, p):
    return [{"name": n} for n in ("aplinfo", "lxc", "qemu", "status", "storage", "tasks", "version")]


@api("GET", "/nodes/{node}/version", params={"node": NODE}, name="node_version")
def node_version(env, p):
    return {"version": PVE_VERSION, "release": PVE_RELEASE, "repoid": PVE_REPOID}


@api("GET", "/nodes/{node}/status", perm=Perm("/nodes/{node}", ("Sys.Audit",)), params={"node": NODE}, name="node_status")
def node_status(env, p):
    st = env.state
    return {"uptime": _uptime(), "cpu": 0, "loadavg": [str(x) for x in os.getloadavg()],
            "memory": {"total": st.host_memory, "used": 0, "free": st.host_memory},
            "cpuinfo": {"cpus": st.host_cpus, "cores": st.host_cpus, "sockets": 1, "model": platform.processor() or "pvesim"},
            "pveversion": "pve-manager/%s/%s" % (PVE_VERSION, PVE_REPOID), "kversion": " ".join(platform.uname()[:3])}


def _uptime():
    try:
        with open("/proc/uptime") as fh:
            return int(float(fh.read().split()[0]))
    except OSError:
        return 0


@api("GET", "/cluster/nextid", params={"vmid": Param("integer", minimum=100, maximum=999999999)}, name="nextid")
def nextid(env, p):
    faults.check(env.state, "nextid")
    used = env.state.vmlist()
    if p.get("vmid") is not None:
        if int(p["vmid"]) in used:
            raise param_error({"vmid": "VM %d already exists" % p["vmid"]})
        return int(p["vmid"])
    dc = env.state.datacenter_config()
    lower, upper = 100, 1000000
    nid = dc.get("next-id")
    if nid:
        for part in nid.split(","):
            k, _sep, v = part.partition("=")
            if k == "lower" and v.isdigit():
                lower = int(v)
            elif k == "upper" and v.isdigit():
                upper = int(v)
    for i in range(lower, upper):
        if i not in used:
            return i
    raise PVEError("unable to get any free VMID in range [%d, %d]" % (lower, upper - 1))


@api("GET", "/cluster/resources", params={"type": Param("string", enum=["vm", "storage", "node", "sdn"])}, name="resources")
def resources(env, p):
    faults.check(env.state, "resources")
    st = env.state
    want = p.get("type")
    out = []
    if want in (None, "vm"):
        from . import qemu_api
        from .qemu.runtime import vm_runtime

        backend = get_backend(st)
        runtime = vm_runtime(st)
        guests = [("lxc", vmid, load_config, lambda vmid, conf: vmstatus(env, vmid, conf, backend)) for vmid in list_ct_ids(env)]
        guests += [("qemu", vmid, qemu_api.load_config, lambda vmid, conf: qemu_api.vmstatus(env, vmid, conf, runtime))
                   for vmid in qemu_api.list_vm_ids(env)]
        for kind, vmid, load, status in sorted(guests, key=lambda g: g[1]):
            if not env.check_perm("/vms/%d" % vmid, ["VM.Audit"], noerr=True):
                continue
            try:
                conf = load(env, vmid)
            except PVEError:
                continue
            s = status(vmid, conf)
            ent = {"id": "%s/%d" % (kind, vmid), "type": kind, "vmid": vmid, "node": st.node, "status": s["status"],
                   "name": s["name"], "maxcpu": s["cpus"], "cpu": 0, "maxmem": s["maxmem"], "mem": s["mem"],
                   "maxdisk": s["maxdisk"], "disk": s["disk"], "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
                   "uptime": s["uptime"], "template": s.get("template", 0)}
            for k in ("lock", "tags"):
                if s.get(k):
                    ent[k] = s[k]
            out.append(ent)
    if want in (None, "node"):
        out.append({"id": "node/%s" % st.node, "type": "node", "node": st.node, "status": "online", "maxcpu": st.host_cpus,
                    "cpu": 0, "maxmem": st.host_memory, "mem": 0, "maxdisk": 0, "disk": 0, "uptime": _uptime(), "level": ""})
    if want in (None, "storage"):
        for sid, scfg in st.storage_config().items():
            s = storage.storage_status(st, sid, scfg)
            out.append({"id": "storage/%s/%s" % (st.node, sid), "type": "storage", "storage": sid, "node": st.node,
                        "status": "available", "maxdisk": s["total"], "disk": s["used"], "content": s["content"],
                        "plugintype": scfg["type"], "shared": s["shared"]})
    return out


# --- tasks -----------------------------------------------------------------------------------

TASK_ID = {"node": NODE, "upid": Param("string", optional=False, max_length=256)}


def _decode(env, upid):
    try:
        return tasks.upid_decode(upid)
    except ValueError:
        raise param_error({"upid": "unable to parse worker upid '%s'" % upid}) from None


def _check_task_access(env, d):
    user = d["user"]
    if env.user == user or env.userid == user.split("!", 1)[0]:
        return
    env.check_perm("/nodes/%s" % env.state.node, ["Sys.Audit"])


@api("GET", "/nodes/{node}/tasks", params={"node": NODE, "start": Param("integer", minimum=0, default=0),
                                           "limit": Param("integer", minimum=0, default=50), "vmid": Param("integer", minimum=100),
                                           "typefilter": Param("string"), "userfilter": Param("string"),
                                           "source": Param("string", enum=["archive", "active", "all"]),
                                           "errors": Param("boolean"), "statusfilter": Param("string"),
                                           "since": Param("integer"), "until": Param("integer")}, name="node_tasks")
def node_tasks(env, p):
    out = []
    for t in tasks.list_tasks(env.state):
        if p.get("vmid") is not None and t["id"] != str(p["vmid"]):
            continue
        if p.get("typefilter") and t["type"] != p["typefilter"]:
            continue
        ent = {"upid": t["upid"], "node": t["node"], "pid": t["pid"], "pstart": t["pstart"], "starttime": t["starttime"],
               "type": t["type"], "id": t["id"], "user": t["user"]}
        if "status" in t:
            ent["status"] = t["status"]
            ent["endtime"] = t["endtime"]
        out.append(ent)
    start = p.get("start", 0)
    limit = p.get("limit", 50)
    return out[start:start + limit]


@api("GET", "/nodes/{node}/tasks/{upid}", params=TASK_ID, name="upid_index")
def upid_index(env, p):
    _decode(env, p["upid"])
    return [{"name": "log"}, {"name": "status"}]


@api("GET", "/nodes/{node}/tasks/{upid}/status", params=TASK_ID, name="read_task_status")
def read_task_status(env, p):
    d = _decode(env, p["upid"])
    _check_task_access(env, d)
    res = tasks.task_status(env.state, p["upid"])
    if res is None:
        raise PVEError("no such task", status=500)
    return res


@api("GET", "/nodes/{node}/tasks/{upid}/log", params=dict(TASK_ID, start=Param("integer", minimum=0, default=0),
                                                          limit=Param("integer", minimum=0, default=50),
                                                          download=Param("boolean")), name="read_task_log")
def read_task_log(env, p):
    d = _decode(env, p["upid"])
    _check_task_access(env, d)
    try:
        _total, lines = tasks.read_task_log(env.state, p["upid"], p.get("start", 0), p.get("limit", 50))
    except OSError:
        raise PVEError("no such task", status=500) from None
    return lines


@api("DELETE", "/nodes/{node}/tasks/{upid}", params=TASK_ID, name="stop_task", protected=True)
def stop_task(env, p):
    d = _decode(env, p["upid"])
    _check_task_access(env, d)
    # workers are threads or finished processes here; a running one cannot be interrupted
    return None


# --- storage ---------------------------------------------------------------------------------

@api("GET", "/nodes/{node}/storage", params={"node": NODE, "content": Param("string"), "storage": Param("string"),
                                             "enabled": Param("boolean", default=0), "target": Param("string"),
                                             "format": Param("boolean", default=0)}, name="storage_index")
def storage_index(env, p):
    st = env.state
    out = []
    for sid, scfg in st.storage_config().items():
        if p.get("storage") and sid != p["storage"]:
            continue
        if p.get("content"):
            wanted = set(p["content"].split(","))
            if not (wanted & storage.content_set(scfg)):
                continue
        if p.get("enabled") and scfg.get("disable") in ("1", 1):
            continue
        if not env.check_perm("/storage/%s" % sid, ["Datastore.Audit", "Datastore.AllocateSpace"], any_of=True, noerr=True):
            continue
        out.append(storage.storage_status(st, sid, scfg))
    return out


@api("GET", "/nodes/{node}/storage/{storage}", params={"node": NODE, "storage": Param("string", optional=False)},
     name="storage_diridx")
def storage_diridx(env, p):
    storage.storage_check_enabled(env.state, p["storage"])
    return [{"subdir": s} for s in ("content", "download-url", "file-restore", "import-metadata", "prunebackups", "rrd",
                                    "rrddata", "status", "upload")]


@api("GET", "/nodes/{node}/storage/{storage}/status", params={"node": NODE, "storage": Param("string", optional=False)},
     name="storage_read_status")
def storage_read_status(env, p):
    env.check_perm("/storage/%s" % p["storage"], ["Datastore.Audit", "Datastore.AllocateSpace"], any_of=True)
    scfg = storage.storage_check_enabled(env.state, p["storage"])
    s = storage.storage_status(env.state, p["storage"], scfg)
    s.pop("storage", None)
    return s


@api("GET", "/nodes/{node}/storage/{storage}/content", params={"node": NODE, "storage": Param("string", optional=False),
                                                               "content": Param("string"), "vmid": Param("integer", minimum=100)},
     name="storage_content")
def storage_content(env, p):
    env.check_perm("/storage/%s" % p["storage"], ["Datastore.Audit", "Datastore.AllocateSpace"], any_of=True)
    storage.storage_check_enabled(env.state, p["storage"])
    return storage.list_volumes(env.state, p["storage"], content=p.get("content"), vmid=p.get("vmid"))
