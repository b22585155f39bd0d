# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LXC status REST handlers (PVE::API2::LXC::Status): status index, current, start, stop,
shutdown, reboot.  Contract §2, §3."""

from __future__ import annotations

import contextlib

from . import faults
from .backend import get_backend
from .handlers import Perm, PVEError, api, param_error
from .lxc_api import NV, apply_pending, check_lock, is_template, load_config, lock_config, vmstatus, write_config
from .lxcschema import is_volume_key, parse_volume
from .schema import FormatError, Param
from .tasks import fork_worker


@api("GET", "/nodes/{node}/lxc/{vmid}/status", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vmcmdidx")
def vmcmdidx(env, p):
    load_config(env, p["vmid"])
    return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "reboot", "suspend", "resume")]


@api("GET", "/nodes/{node}/lxc/{vmid}/status/current", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vm_status")
def vm_status(env, p):
    faults.check(env.state, "vm_status")
    vmid = p["vmid"]
    conf = load_config(env, vmid)
    d = vmstatus(env, vmid, conf)
    d["ha"] = {"managed": 0}
    return d


def start_ct(env, vmid, worker, skiplock):
    """The start inside a task (PVE::LXC::vm_start): checks, pending changes applied, the backend
    starts the CT.  Also what create --start, rollback --start and reboot run."""
    conf = load_config(env, vmid)
    if is_template(conf):
        raise PVEError("you can't start a CT if it's a template")
    if not skiplock and conf.get("lock") != "mounted":
        check_lock(conf)
    if str(conf.get("unprivileged", "0")) == "1":
        for k in conf:
            if is_volume_key(k):
                with contextlib.suppress(FormatError, ValueError):
                    if str(parse_volume(k, conf[k]).get("quota", 0)) == "1":
                        raise PVEError("Quotas are not supported by unprivileged containers.")
    # vm_start applies pending changes first (PVE::LXC::vm_start -> vmconfig_apply_pending)
    if conf.get("pending"):
        apply_pending(env, vmid, conf, None)  # errors only warn here, as in PVE
        write_config(env, vmid, conf)
        conf = load_config(env, vmid)
    backend = get_backend(env.state)
    if backend.is_running(vmid):
        return  # a racing start won: `systemctl start pve-container@<vmid>` is a no-op then
    backend.start(worker, conf, vmid)


@api("POST", "/nodes/{node}/lxc/{vmid}/status/start", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=dict(NV, skiplock=Param("boolean"), debug=Param("boolean", default=0)),
     name="vm_start", protected=True)
def vm_start(env, p):
    vmid = p["vmid"]
    if p.get("skiplock") and not env.is_root_pam:
        raise param_error({"skiplock": "Only root may use this option."})
    backend = get_backend(env.state)
    if backend.is_running(vmid):
        raise PVEError("CT %d already running" % vmid)

    def realcmd(worker):
        with lock_config(env, vmid):
            start_ct(env, vmid, worker, p.get("skiplock"))

    return fork_worker(env, "vzstart", vmid, realcmd)


def _running_backend(env, vmid, word="CT"):
    """The backend of a CT these calls need running (PVE::LXC::check_running before the worker forks);
    vm_reboot's message says "VM" as pve-container's does."""
    backend = get_backend(env.state)
    if not backend.is_running(vmid):
        raise PVEError("%s %d not running" % (word, vmid))
    return backend


@contextlib.contextmanager
def _unlocked_config(env, vmid):
    """The CT's config under its lock, refused when the config holds a lock (check_lock)."""
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        check_lock(conf)
        yield conf


@api("POST", "/nodes/{node}/lxc/{vmid}/status/stop", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=dict(NV, skiplock=Param("boolean"), **{"overrule-shutdown": Param("boolean", default=0)}),
     name="vm_stop", protected=True)
def vm_stop(env, p):
    vmid = p["vmid"]
    if p.get("skiplock") and not env.is_root_pam:
        raise param_error({"skiplock": "Only root may use this option."})
    backend = _running_backend(env, vmid)

    def realcmd(worker):
        with lock_config(env, vmid):
            conf = load_config(env, vmid)
            if not p.get("skiplock") and conf.get("lock") != "mounted":
                check_lock(conf)
            backend.stop(worker, vmid, kill=True)

    return fork_worker(env, "vzstop", vmid, realcmd)


@api("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=dict(NV, timeout=Param("integer", minimum=0, default=60), forceStop=Param("boolean", default=0)),
     name="vm_shutdown", protected=True)
def vm_shutdown(env, p):
    vmid = p["vmid"]
    timeout = p.get("timeout", 60)
    backend = _running_backend(env, vmid)

    def realcmd(worker):
        with _unlocked_config(env, vmid):
            stopped = backend.stop(worker, vmid, kill=False, timeout=timeout, nokill=not p.get("forceStop"))
            if not stopped:
                raise PVEError("container did not stop")

    return fork_worker(env, "vzshutdown", vmid, realcmd)


@api("POST", "/nodes/{node}/lxc/{vmid}/status/reboot", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=dict(NV, timeout=Param("integer", minimum=0)), name="vm_reboot",
     protected=True)
def vm_reboot(env, p):
    vmid = p["vmid"]
    backend = _running_backend(env, vmid, word="VM")

    def realcmd(worker):
        with _unlocked_config(env, vmid):
            # vm_reboot: shutdown with timeout, killed when the timeout expires, then start
            backend.stop(None, vmid, kill=False, timeout=p.get("timeout") if p.get("timeout") is not None else 60, nokill=False)
            if backend.is_running(vmid):
                backend.stop(worker, vmid, kill=True)
            start_ct(env, vmid, worker, None)

    return fork_worker(env, "vzreboot", vmid, realcmd)
