# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LXC REST handlers (PVE::API2::LXC, ::Config, ::Status, ::Snapshot subset).  Contract §3, §4, §6."""

from __future__ import annotations

import contextlib
import os
import re

from . import config as cfgmod
from . import faults, oci, pending, storage
from .auth import AuthStore
from .backend import get_backend
from .handlers import Perm, PVEError, api, param_error, perm_error
from .lxcschema import (
    API_CONFIG_KEYS,
    FASTPLUG,
    FEATURES_DESC,
    MAX_MOUNT_POINTS,
    MAX_NETS,
    is_volume_key,
    normalise_net,
    parse_property_string,
    parse_volume,
    print_volume,
    split_list,
    unique_tags,
)
from .schema import NODE, STORAGE, VMID, FormatError, Param, fmt_configid, fmt_configid_list
from .state import perl_sorted
from .tasks import fork_worker

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


# update_vm's permission (API2/LXC/Config.pm): any of the VM.Config.* privileges
VM_CONFIG_PRIVS = ("VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
                   "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit")


def _configs(env):
    return cfgmod.lxc_configs(env.state)


def load_config(env, vmid):
    # parse_pct_config warns on STDERR (a CLI shows it; pveproxy only logs it)
    return _configs(env).load(vmid, warn=_config_warning(env))


def _config_warning(env):
    if env.rpc != "cli":
        return lambda message: None
    return lambda message: env.stderr.write(message + "\n")


def write_config(env, vmid, conf):
    _configs(env).write(vmid, conf)


def config_exists(env, vmid):
    return _configs(env).exists(vmid)


def lock_config(env, vmid, timeout=10):
    """PVE::AbstractConfig::lock_config: flock pve-config-<vmid>.lock, 10 s (5 s at create)."""
    return _configs(env).lock(vmid, timeout, stderr=env.stderr if env.rpc == "cli" else None)


check_lock = cfgmod.LXC.check_lock


def check_protection(conf, msg):
    if str(conf.get("protection", "0")) == "1":
        raise PVEError("%s - protection mode enabled" % msg)


def is_template(conf):
    return str(conf.get("template", "0")) == "1"


def clamp_cpu_shares(env, value):
    if value is None:
        return None
    if env.state.cgroup_version == 2 and value > 10000:
        return 10000
    return value


def vm_volumes(conf, include_unused=True):
    out = []
    for k in perl_sorted(conf.keys()):
        v = conf[k]
        if not isinstance(v, str):
            continue
        if is_volume_key(k) or (include_unused and re.match(r"^unused\d+$", k)):
            try:
                mp = parse_volume(k, v)
            except (FormatError, ValueError):
                continue
            if mp["type"] == "volume" and not storage.NEW_DISK_RE.match(mp["volume"]):
                out.append(mp["volume"])
    return out


def vmstatus(env, vmid, conf, backend=None, running=None):
    """PVE::LXC::vmstatus for one CT (§2.1)."""
    backend = backend or get_backend(env.state)
    if running is None:
        running = backend.is_running(vmid)
    d = {}
    d["name"] = re.sub(r"\s", "", conf.get("hostname") or "") or "CT%s" % vmid
    d["status"] = "running" if running else "stopped"
    d["type"] = "lxc"
    d["vmid"] = int(vmid)
    if conf.get("cores"):
        d["cpus"] = int(conf["cores"])
    elif conf.get("cpulimit") and float(conf["cpulimit"]) > 0:
        cl = float(conf["cpulimit"])
        d["cpus"] = int(cl) if cl.is_integer() else cl
    else:
        d["cpus"] = env.state.host_cpus
    size = 4 * 1024 ** 3
    if conf.get("rootfs"):
        try:
            rootfs = parse_volume("rootfs", conf["rootfs"])
            if rootfs.get("size") is not None:
                from .lxcschema import parse_size

                size = parse_size(rootfs["size"]) or size
        except (FormatError, ValueError):
            pass
    d["disk"] = 0
    d["maxdisk"] = size
    d["maxmem"] = int(conf.get("memory") or 512) * 1024 * 1024
    d["maxswap"] = int(conf.get("swap") or 0) * 1024 * 1024
    for k in ("diskread", "diskwrite", "netin", "netout", "mem", "swap", "uptime"):
        d[k] = 0
    d["cpu"] = 0
    if conf.get("lock"):
        d["lock"] = conf["lock"]
    if conf.get("tags"):
        d["tags"] = conf["tags"]
    if is_template(conf):
        d["template"] = 1
    if running:
        info = backend.runtime_info(vmid)
        if info.get("pid"):
            d["pid"] = int(info["pid"])
        d["uptime"] = int(info.get("uptime") or 0)
        if backend.mode == "lxc" and conf.get("rootfs"):
            try:
                path, _vtype = storage.volume_path(env.state, parse_volume("rootfs", conf["rootfs"])["volume"])
                st = os.statvfs(str(path))
                d["disk"] = (st.f_blocks - st.f_bfree) * st.f_frsize
            except (OSError, PVEError, FormatError):
                pass
    return d


def list_ct_ids(env):
    d = _configs(env).directory()
    out = []
    if d.is_dir():
        for f in d.iterdir():
            m = re.match(r"^(\d+)\.conf$", f.name)
            if m:
                out.append(int(m.group(1)))
    return sorted(out)


def check_vmid_unused(env, vmid):
    info = env.state.vmlist().get(int(vmid))
    if info:
        what = "CT" if info["type"] == "lxc" else "VM"
        raise PVEError("%s %s already exists on node '%s'" % (what, vmid, info["node"]))


# --------------------------------------------------------------------------------------------
# permissions (PVE::LXC::check_ct_modify_config_perm)
# --------------------------------------------------------------------------------------------

def check_ct_modify_config_perm(env, vmid, oldconf, newconf, delete, unprivileged):
    if env.is_root_pam:
        return
    vmpath = "/vms/%s" % vmid

    def check(opt, is_delete):
        if opt in ("cores", "cpuunits", "cpulimit"):
            env.check_perm(vmpath, ["VM.Config.CPU"])
        elif opt == "rootfs" or re.match(r"^mp\d+$", opt):
            env.check_perm(vmpath, ["VM.Config.Disk"])
            if is_delete:
                return
            data = parse_volume(opt, newconf[opt])
            if data["type"] != "volume":
                raise perm_error("mount point type %s is only allowed for root@pam" % data["type"])
            m = storage.NEW_DISK_RE.match(data["volume"])
            if m and m.group(2):
                env.check_perm("/storage/%s" % m.group(2), ["Datastore.AllocateSpace"])
        elif opt in ("memory", "swap"):
            env.check_perm(vmpath, ["VM.Config.Memory"])
        elif re.match(r"^net\d+$", opt):
            env.check_perm(vmpath, ["VM.Config.Network"])
        elif re.match(r"^dev\d+$", opt):
            raise perm_error("configuring device passthrough is only allowed for root@pam")
        elif opt in ("nameserver", "searchdomain", "hostname"):
            env.check_perm(vmpath, ["VM.Config.Network"])
        elif opt == "features":
            if not unprivileged:
                raise perm_error("changing feature flags for privileged container is only allowed for root@pam")
            nesting_changed = other_changed = False
            if not is_delete:
                new = parse_property_string(FEATURES_DESC, newconf[opt])
                if oldconf and oldconf.get(opt):
                    old = parse_property_string(FEATURES_DESC, oldconf[opt])
                    for f in list(old) + list(new):
                        if str(old.get(f, "")) != str(new.get(f, "")):
                            if f == "nesting":
                                nesting_changed = True
                            else:
                                other_changed = True
                                break
                elif len(new) == 1 and "nesting" in new:
                    nesting_changed = True
                elif new:
                    other_changed = True
            else:
                old = parse_property_string(FEATURES_DESC, (oldconf or {}).get(opt) or "")
                if len(old) == 1 and "nesting" in old:
                    nesting_changed = True
                elif old:
                    other_changed = True
            if other_changed:
                raise perm_error("changing feature flags (except nesting) is only allowed for root@pam")
            if nesting_changed:
                env.check_perm(vmpath, ["VM.Allocate"])
        elif opt == "hookscript":
            raise perm_error("changing the hookscript is only allowed for root@pam")
        elif opt == "tags":
            env.check_perm(vmpath, ["VM.Config.Options"])
        else:
            env.check_perm(vmpath, ["VM.Config.Options"])

    for opt in newconf:
        check(opt, False)
    for opt in delete:
        check(opt, True)


# --------------------------------------------------------------------------------------------
# update_pct_config + hotplug/apply pending (PVE::LXC::Config)
# --------------------------------------------------------------------------------------------

def _mac_prefix(env):
    return env.state.datacenter_config().get("mac_prefix") or "BC:24:11"


def _stdout_lines(env):
    """Output of storage tools outside a task goes to the caller's STDOUT, a line each."""
    return lambda line: env.stdout.write(line + "\n")


def apply_pending_mountpoint(env, vmid, conf, opt, running):
    mp = parse_volume(opt, conf["pending"][opt])
    if mp["type"] == "volume":
        m = storage.NEW_DISK_RE.match(mp["volume"])
        if m:
            sid = m.group(2)
            if not sid:
                raise PVEError("missing storage for new volume '%s'" % mp["volume"])
            size_kib = int(float(m.group(3)) * 1024) * 1024
            volid = storage.alloc_disk(env.state, sid, int(vmid), size_kib, log=_stdout_lines(env))
            mp["volume"] = volid
            mp["size"] = size_kib * 1024
        else:
            size = storage.volume_size(env.state, mp["volume"])
            if size is not None:
                mp["size"] = size
        if mp.get("size") is not None and not isinstance(mp["size"], int):
            from .lxcschema import parse_size

            mp["size"] = parse_size(mp["size"])
    old = conf.get(opt)
    conf["pending"][opt] = print_volume(opt, mp)
    if old and not running:
        try:
            oldmp = parse_volume(opt, old)
            if oldmp["type"] == "volume" and oldmp["volume"] != mp["volume"]:
                add_unused_volume(conf, oldmp["volume"])
        except (FormatError, ValueError):
            pass


def add_unused_volume(conf, volid):
    for k, v in conf.items():
        if re.match(r"^unused\d+$", k) and v == volid:
            return k
    for i in range(256):
        k = "unused%d" % i
        if k not in conf:
            conf[k] = volid
            return k
    raise PVEError("too many unused volumes")


def _parse_net(value):
    from .lxcschema import NET_DESC

    return parse_property_string(NET_DESC, value)


def hotplug_pending(env, vmid, conf, selection):
    errors = {}
    pend = conf["pending"]
    backend = get_backend(env.state)
    memory_done = []

    def hotplug_memory(memory, swap):
        # PVE passes the pending values (undef = unchanged); the cgroup needs both numbers
        mem = int(memory if memory is not None else conf.get("memory") or 512)
        sw = int(swap if swap is not None else conf.get("swap") or 0)
        backend.hotplug(vmid, "memory", (mem, sw))
        memory_done.append(1)
    for opt in perl_sorted(list(pend.keys())):
        if selection is not None and opt not in selection:
            continue
        if opt in FASTPLUG:
            conf[opt] = pend.pop(opt)
    for opt in perl_sorted(pending.parse_pending_delete(pend.get("delete")).keys()):
        if selection is not None and opt not in selection:
            continue
        if opt in FASTPLUG or re.match(r"^unused\d+$", opt) or opt in ("swap", "cpulimit", "cpuunits") or re.match(r"^net\d$", opt):
            try:
                if re.match(r"^unused\d+$", opt) and conf.get(opt):
                    storage.free_volume(env.state, conf[opt], log=_stdout_lines(env))
                elif opt == "swap":
                    hotplug_memory(None, 0)
                elif opt in ("cpulimit", "cpuunits"):
                    backend.hotplug(vmid, opt, None)
                elif opt.startswith("net") and conf.get(opt):
                    backend.unplug_net(vmid, int(opt[3:]), _parse_net(conf[opt]))
            except PVEError as exc:
                errors[opt] = "unable to hotplug %s: %s" % (opt, exc.message)
                continue
            conf.pop(opt, None)
            pending.remove_from_pending_delete(conf, opt)
    for opt in perl_sorted(list(pend.keys())):
        if opt == "delete" or (selection is not None and opt not in selection):
            continue
        value = pend[opt]
        if opt in ("cpulimit", "cpuunits"):
            try:
                backend.hotplug(vmid, opt, value)
            except PVEError as exc:
                errors[opt] = "unable to hotplug %s: %s" % (opt, exc.message)
                continue
        elif re.match(r"^net\d+$", opt):
            value = normalise_net(value, _mac_prefix(env))
            try:
                backend.hotplug_net(vmid, int(opt[3:]), _parse_net(conf[opt]) if conf.get(opt) else None, _parse_net(value))
            except PVEError as exc:
                errors[opt] = "unable to hotplug %s: %s" % (opt, exc.message)
                continue
        elif opt in ("memory", "swap"):
            if not memory_done:
                try:
                    hotplug_memory(pend.get("memory"), pend.get("swap"))
                except PVEError as exc:
                    errors[opt] = "unable to hotplug %s: %s" % (opt, exc.message)
                    continue
        elif re.match(r"^mp\d+$", opt):
            if opt in conf:
                continue
            try:
                apply_pending_mountpoint(env, vmid, conf, opt, True)
            except PVEError as exc:
                errors[opt] = "unable to hotplug %s: %s" % (opt, exc.message)
                continue
            value = pend[opt]
        elif re.match(r"^dev\d+$", opt):
            if opt in conf:
                continue
        else:
            continue
        conf[opt] = value
        pend.pop(opt, None)
    return errors


def apply_pending(env, vmid, conf, selection):
    errors = {}
    pend = conf["pending"]
    for opt in perl_sorted(pending.parse_pending_delete(pend.get("delete")).keys()):
        if selection is not None and opt not in selection:
            continue
        try:
            if re.match(r"^mp\d+$", opt) and conf.get(opt):
                mp = parse_volume(opt, conf[opt])
                if mp["type"] == "volume":
                    add_unused_volume(conf, mp["volume"])
            elif re.match(r"^unused\d+$", opt) and conf.get(opt):
                storage.free_volume(env.state, conf[opt], log=_stdout_lines(env))
        except PVEError as exc:
            errors[opt] = "unable to apply pending change %s : %s" % (opt, exc.message)
            continue
        conf.pop(opt, None)
        pending.remove_from_pending_delete(conf, opt)
    pending.cleanup_pending(conf)
    for opt in perl_sorted(list(pend.keys())):
        if opt == "delete" or (selection is not None and opt not in selection):
            continue
        try:
            if re.match(r"^mp\d+$", opt):  # as PVE: rootfs is taken verbatim
                apply_pending_mountpoint(env, vmid, conf, opt, False)
            elif re.match(r"^net\d+$", opt):
                pend[opt] = normalise_net(pend[opt], _mac_prefix(env))
        except (PVEError, FormatError) as exc:
            errors[opt] = "unable to apply pending change %s : %s" % (opt, getattr(exc, "message", str(exc)))
            continue
        conf[opt] = pend.pop(opt)
    if not pend:
        conf["pending"] = {}
    return errors


def _check_hookscript(state, volid: str) -> None:
    """pve-guest-common GuestHelpers.pm ``check_hookscript``."""
    path, vtype = storage.volume_path(state, volid)
    if vtype != "snippets":
        raise PVEError("'%s' is not in the snippets directory" % volid)
    if not path.is_file():
        raise PVEError("script '%s' does not exist" % volid)
    if not os.access(str(path), os.X_OK):
        raise PVEError("script '%s' is not executable" % volid)


def update_pct_config(env, vmid, conf, running, param, delete, revert):
    conf.setdefault("pending", {})
    for opt in revert:
        conf["pending"].pop(opt, None)
        pending.remove_from_pending_delete(conf, opt)
    modified = set()
    for opt in delete:
        if opt not in conf and opt not in conf["pending"]:
            warn = "cannot delete '%s' - not set in current configuration!" % opt
            env.stderr.write(warn + "\n") if env.rpc == "cli" else None
            continue
        modified.add(opt)
        if opt in ("memory", "rootfs", "ostype"):
            raise PVEError("unable to delete required option '%s'" % opt)
        if re.match(r"^(unused|mp)\d+$", opt):
            check_protection(conf, "can't remove CT %s drive '%s'" % (vmid, opt))
        elif opt == "unprivileged":
            raise PVEError("unable to delete read-only option: '%s'" % opt)
        pending.add_to_pending_delete(conf, opt)
    scfg_all = env.state.storage_config()
    for opt in perl_sorted(param.keys()):
        modified.add(opt)
        value = param[opt]
        if re.match(r"^mp\d+$", opt) or opt == "rootfs":
            check_protection(conf, "can't update CT %s drive '%s'" % (vmid, opt))
            mp = parse_volume(opt, value)
            if mp["type"] == "volume":
                sid = mp["volume"].split(":", 1)[0] if ":" in mp["volume"] else None
                sc = scfg_all.get(sid) if sid else None
                if sc is None and sid:
                    raise PVEError("storage '%s' does not exist" % sid)
                if sc is not None and "rootdir" not in storage.content_set(sc):
                    raise PVEError("storage '%s' does not allow content type 'rootdir' (Container)" % sid)
        elif opt == "nameserver" or opt == "searchdomain":
            value = " ".join(split_list(value))
        elif opt == "hookscript":
            _check_hookscript(env.state, value)
        elif opt == "unprivileged":
            raise PVEError("unable to modify read-only option: '%s'" % opt)
        elif opt == "tags":
            value = unique_tags(value)
        elif re.match(r"^net\d+$", opt):
            net = parse_property_string(__import__("pvesim.lxcschema", fromlist=["NET_DESC"]).NET_DESC, value)
            if net.get("mtu"):
                br_mtu = _bridge_mtu(net.get("bridge"))
                if br_mtu is not None and int(net["mtu"]) > br_mtu:
                    raise PVEError("%s: MTU size '%s' is bigger than bridge MTU '%s'" % (opt, net["mtu"], br_mtu))
            if str(net.get("link_down", 0)) != "1" and str(net.get("host-managed", 0)) == "1" and net.get("ip6") == "auto":
                raise PVEError("%s: SLAAC is not supported for host-managed network configuration." % opt)
        elif re.match(r"^dev\d+$", opt):
            from .lxcschema import DEV_DESC

            dev = parse_property_string(DEV_DESC, value)
            if not dev.get("path"):
                raise PVEError("Path is not defined for passthrough device %s" % opt)
        conf["pending"][opt] = value if isinstance(value, str) else str(value)
        pending.remove_from_pending_delete(conf, opt)
    pending.cleanup_pending(conf)
    if running:
        return hotplug_pending(env, vmid, conf, modified)
    return apply_pending(env, vmid, conf, modified)


def _bridge_mtu(bridge):
    if not bridge:
        return None
    try:
        with open("/sys/class/net/%s/mtu" % bridge) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        raise PVEError("bridge '%s' does not exist" % bridge) from None


# --------------------------------------------------------------------------------------------
# parameter schemas
# --------------------------------------------------------------------------------------------

def _stringify_config_params(params):
    out = {}
    for k, v in params.items():
        if k in API_CONFIG_KEYS:
            out[k] = v if isinstance(v, str) else (str(int(v)) if isinstance(v, bool) else str(v))
    return out


CONFIG_PARAMS = dict(API_CONFIG_KEYS)

CREATE_PARAMS = dict(CONFIG_PARAMS)
CREATE_PARAMS.update({
    "node": NODE, "vmid": VMID,
    "ostemplate": Param("string", optional=False, max_length=255),
    "password": Param("string", min_length=5),
    "ssh-public-keys": Param("string", cli_filepath=True),
    "storage": STORAGE.copy(default="local"),
    "force": Param("boolean"), "restore": Param("boolean"), "unique": Param("boolean", requires="restore"),
    "pool": Param("string"), "ignore-unpack-errors": Param("boolean"), "bwlimit": Param("number", minimum=0),
    "start": Param("boolean", default=0), "ha-managed": Param("boolean", default=0),
})

UPDATE_PARAMS = dict(CONFIG_PARAMS)
UPDATE_PARAMS.update({
    "node": NODE, "vmid": VMID,
    "delete": Param("string", format=fmt_configid_list, list_format=True),
    "revert": Param("string", format=fmt_configid_list, list_format=True),
    "digest": Param("string", max_length=40),
})

NV = {"node": NODE, "vmid": VMID}


def _nv(**extra):
    d = dict(NV)
    d.update(extra)
    return d


# --------------------------------------------------------------------------------------------
# handlers
# --------------------------------------------------------------------------------------------

@api("GET", "/nodes/{node}/lxc", params={"node": NODE}, name="vmlist")
def vmlist(env, p):
    faults.check(env.state, "vmlist")
    backend = get_backend(env.state)
    out = []
    for vmid in list_ct_ids(env):
        try:
            conf = load_config(env, vmid)
        except PVEError:
            continue
        if not env.check_perm("/vms/%d" % vmid, ["VM.Audit"], noerr=True):
            continue
        out.append(vmstatus(env, vmid, conf, backend))
    return out


@api("GET", "/nodes/{node}/lxc/{vmid}", params=NV, name="vmdiridx")
def vmdiridx(env, p):
    load_config(env, p["vmid"])
    return [{"subdir": s} for s in ("config", "pending", "status", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy",
                                    "migrate", "clone", "rrd", "rrddata", "firewall", "snapshot", "resize", "interfaces")]


@api("POST", "/nodes/{node}/lxc", perm=Perm("/vms/{vmid}", ("VM.Allocate",), or_pool=True), params=CREATE_PARAMS, name="create_vm", protected=True)
def create_vm(env, p):
    st = env.state
    faults.check(st, "create_vm")
    vmid = int(p["vmid"])
    start_after = p.get("start")
    unprivileged = p.get("unprivileged")
    restore = p.get("restore")
    if p.get("cpuunits") is not None:
        p["cpuunits"] = clamp_cpu_shares(env, p["cpuunits"])
    if unprivileged is None:
        unprivileged = 1
    if not unprivileged:
        env.check_perm("/", ["Sys.Modify"])
    if p.get("ha-managed"):
        env.check_perm("/", ["Sys.Console"])
    check_vmid_unused(env, vmid)
    password = p.get("password")
    ssh_keys = p.get("ssh-public-keys")
    if ssh_keys is not None:
        for line in ssh_keys.splitlines():
            if line.strip() and not line.strip().startswith("#") and not re.match(r"^\s*(\S+\s+)?(ssh-|ecdsa-|sk-)\S+\s+\S+", line):
                raise PVEError("unable to parse ssh public keys")
    pool = p.get("pool")
    if pool is not None:
        AuthStore(st.pve_path("")).check_pool_exist(pool)
    if not env.check_perm("/vms/%d" % vmid, ["VM.Allocate"], noerr=True) and \
            not (pool and env.check_perm("/pool/%s" % pool, ["VM.Allocate"], noerr=True)):
        raise perm_error()
    ostemplate = p["ostemplate"]
    stor = p.get("storage") or "local"
    conf_params = {k: v for k, v in p.items() if k in API_CONFIG_KEYS and k != "unprivileged"}
    conf_params = _stringify_config_params(conf_params)
    check_ct_modify_config_perm(env, vmid, None, conf_params, [], unprivileged)

    # template volume access
    if ostemplate == "-":
        raise PVEError("pipe requires cli environment" if env.rpc != "cli" else "pipe can only be used with restore tasks")
    archive_path, archive_display = _resolve_template(env, ostemplate, "backup" if restore else "vztmpl")
    if restore:
        raise PVEError("pvesim: restore from backup archives is not simulated")

    used_storages = set()

    def check_and_activate(sid):
        scfg = storage.storage_check_enabled(st, sid)
        if "rootdir" not in storage.content_set(scfg):
            raise param_error({"storage": "storage '%s' does not support container directories" % sid})
        env.check_perm("/storage/%s" % sid, ["Datastore.AllocateSpace"])
        used_storages.add(sid)

    mp_param = {}
    no_disk = {}
    storage_only = True
    for opt, value in conf_params.items():
        if opt == "rootfs" or re.match(r"^mp\d+$", opt):
            mp_param[opt] = "%s:%s" % (stor, value) if re.match(r"^\d+(\.\d+)?$", value) else value
            storage_only = False
        elif re.match(r"^unused\d+$", opt):
            if env.rpc == "cli":
                env.stderr.write("ignoring '%s', cannot create/restore with unused volume\n" % opt)
        else:
            no_disk[opt] = value
    if not storage_only and "rootfs" not in mp_param:
        raise PVEError("mount points configured, but 'rootfs' not set - aborting")
    for opt, value in mp_param.items():
        mp = parse_volume(opt, value)
        if mp["type"] != "volume":
            if not env.is_root_pam:
                raise PVEError("Only root can pass arbitrary filesystem paths.")
        else:
            check_and_activate(mp["volume"].split(":", 1)[0])
    if "rootfs" not in mp_param:
        check_and_activate(stor)

    conf = {"pending": {}, "snapshots": {}}
    errors = update_pct_config(env, vmid, conf, False, no_disk, [], [])
    if errors:
        raise param_error(errors)
    if unprivileged:
        conf["unprivileged"] = "1"

    emsg = "unable to create CT %d -" % vmid
    try:
        with lock_config(env, vmid, timeout=5):
            if config_exists(env, vmid):
                raise PVEError("CT %d already exists on node '%s'" % (vmid, st.node))
            write_config(env, vmid, {"lock": "create"})
    except PVEError as exc:
        raise PVEError("%s %s" % (emsg, exc.message)) from None

    backend = get_backend(st)

    def code(worker):
        vollist = []
        try:
            if storage_only:
                mp_param["rootfs"] = "%s:4" % stor
            # foreach_volume order: rootfs, mp0, mp1, ...
            for opt in sorted(mp_param.keys(), key=lambda k: -1 if k == "rootfs" else int(k[2:])):
                mp = parse_volume(opt, mp_param[opt])
                m = storage.NEW_DISK_RE.match(mp["volume"]) if mp["type"] == "volume" else None
                if m:
                    sid = m.group(2) or stor
                    size_kib = int(float(m.group(3)) * 1024) * 1024
                    volid = storage.alloc_disk(st, sid, vmid, size_kib, log=worker.log)
                    vollist.append(volid)
                    mp["volume"] = volid
                    mp["size"] = size_kib * 1024
                elif mp["type"] == "volume":
                    size = storage.volume_size(st, mp["volume"])
                    if size is None:
                        raise PVEError("volume '%s' does not exist" % mp["volume"])
                    mp["size"] = size
                conf[opt] = print_volume(opt, mp)
            msg = faults.take_create_after_alloc(st)
            if msg is not None:
                raise PVEError(msg)
            if not archive_path.is_file():
                # PVE's OCI-format probe warns first, then the extraction dies with the same text
                # (pve-storage abs_filesystem_path: a host path that is no file, or activate_volume)
                missing = ("can't find file '%s'" % ostemplate if ostemplate.startswith("/")
                           else "volume '%s' does not exist" % ostemplate)
                worker.log(missing)
                raise PVEError(missing)
            rootfs = parse_volume("rootfs", conf["rootfs"])
            rootdir, _vtype = storage.volume_path(st, rootfs["volume"])
            unpriv = str(conf.get("unprivileged", "0")) == "1"
            is_oci = oci.is_oci_archive(archive_path)
            image_arch = None
            if is_oci:
                worker.log("Detected OCI archive")
                read, image_arch = _populate_from_oci(st, backend, worker, conf, rootdir, archive_path, unpriv)
            else:
                read = backend.populate_rootfs(worker, conf, vmid, rootdir, archive_path, archive_display, unpriv)
            if not conf.get("arch"):
                if backend.mode == "lxc":
                    arch = backend.detect_arch(rootdir)
                else:
                    arch = image_arch or _arch_from_name(archive_path.name)
                if arch:
                    worker.log("Detected container architecture: %s" % arch)
                else:
                    arch = "amd64"
                    if backend.mode == "lxc":
                        worker.log("Architecture detection failed: unable to detect the architecture of /bin/sh")
                    worker.log("Falling back to amd64.\nUse `pct set VMID --arch ARCH` to change.")
                conf["arch"] = arch
            from .backend import detect_ostype

            if conf.get("ostype") != "unmanaged":
                detected = detect_ostype(read, worker.log)
                if not conf.get("ostype"):
                    conf["ostype"] = detected
                elif detected != conf["ostype"]:
                    worker.log("got unexpected ostype (%s != %s)" % (detected, conf["ostype"]))
            write_config(env, vmid, dict(conf))  # "safe config (after OS detection)", as create_vm
            backend.post_create(worker, conf, vmid, rootdir, password, ssh_keys)
            conf.setdefault("hostname", "CT%d" % vmid)
            if not conf.get("hostname"):
                conf["hostname"] = "CT%d" % vmid
            if not conf.get("memory"):
                conf["memory"] = "512"
            if conf.get("swap") is None:
                conf["swap"] = "512"
            # the create lock only lived in the file: a `lock` the caller gave is kept
            write_config(env, vmid, conf)
            if pool:
                AuthStore(st.pve_path("")).add_vm_to_pool(vmid, pool)
        except BaseException as exc:
            _discard_half_made_ct(st, vmid, vollist, worker.log)
            with contextlib.suppress(Exception):
                backend.destroy(vmid)
            raise PVEError("%s %s" % (emsg, getattr(exc, "message", None) or str(exc))) from None

    def realcmd(worker):
        with lock_config(env, vmid):
            code(worker)
        if start_after:
            _do_start(env, vmid, worker, None)
        if p.get("ha-managed"):
            worker.log("Add as HA resource")
            worker.warn("pvesim: HA is not simulated")

    return fork_worker(env, "vzcreate", vmid, realcmd)


def _populate_from_oci(st, backend, worker, conf, rootdir, archive_path, unpriv):
    """restore_oci_archive: layers into the rootfs (lxc mode) and the image config into conf."""
    from .backend import IDMAP_BASE, read_in_root, shift_ids

    tmp = st.root / ".pvesim" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    img = oci.OciImage(archive_path, tmp)
    try:
        arch = {"amd64": "amd64", "386": "i386", "arm64": "arm64", "arm": "armhf", "riscv64": "riscv64"}.get(
            img.image_config.get("architecture"))
        if backend.mode == "lxc":
            rootdir.mkdir(parents=True, exist_ok=True)
            oci.apply_layers(img, rootdir, worker)
            if unpriv:
                shift_ids(rootdir, IDMAP_BASE)

            def read(rel):
                return read_in_root(rootdir, rel)

            def mkdir(path):
                cur = rootdir
                for part in [x for x in path.split("/") if x and x != "."]:
                    if part == "..":
                        return
                    cur = cur / part
                    if cur.is_symlink():
                        return
                    if not cur.exists():
                        cur.mkdir()
                        if unpriv:
                            os.lchown(str(cur), IDMAP_BASE, IDMAP_BASE)
        else:
            # state mode unpacks nothing: read what detection needs straight from the layers
            cache = {rel: img.read_file(rel) for rel in (
                "etc/os-release", "etc/lsb-release", "etc/debian_version", "etc/devuan_version", "etc/SuSE-brand",
                "etc/SuSE-release", "etc/fedora-release", "etc/centos-release", "etc/redhat-release", "etc/arch-release",
                "etc/alpine-release", "etc/gentoo-release", "etc/passwd", "etc/group")}
            read = cache.get
            mkdir = None
        oci.apply_config(img, conf, worker, read, mkdir)
        return read, arch
    finally:
        img.cleanup()


def _arch_from_name(name):
    m = re.search(r"_(amd64|i386|arm64|armhf|riscv64|riscv32)\.tar", name)
    return m.group(1) if m else "amd64"


def _resolve_template(env, ostemplate, content_type):
    st = env.state
    if ostemplate.startswith("/"):
        if not env.is_root_pam:
            raise PVEError("Only root can pass arbitrary filesystem paths.")
        # a missing file fails inside the create task (restore_archive -> abs_filesystem_path)
        return st.host_path(ostemplate), ostemplate
    # pve-storage Storage.pm check_volume_access
    sid, _volname = storage.parse_volume_id(ostemplate)
    scfg = storage.storage_check_enabled(st, sid)
    path, vtype = storage.volume_path(st, ostemplate)
    if vtype != content_type:
        raise PVEError("unable to use volume %s - content type needs to be '%s'" % (ostemplate, content_type))
    if not env.is_root_pam:
        env.check_perm("/storage/%s" % sid, ["Datastore.AllocateSpace", "Datastore.Audit"], any_of=True)
    display = "/var/lib/vz/template/cache/%s" % path.name
    if scfg.get("path"):
        display = "%s/template/cache/%s" % (scfg["path"].rstrip("/"), path.name)
    return path, display


@api("GET", "/nodes/{node}/lxc/{vmid}/config", perm=Perm("/vms/{vmid}", ("VM.Audit",)),
     params=_nv(current=Param("boolean", default=0), snapshot=Param("string", format=fmt_configid, max_length=40)),
     name="vm_config")
def vm_config(env, p):
    faults.check(env.state, "vm_config")
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Audit"])
    conf = load_config(env, vmid)
    res = pending.config_view(conf, p.get("snapshot"), p.get("current"))
    if "lxc" in res:
        res["lxc"] = [list(x) for x in res["lxc"]]
    if res.get("env") is not None and not env.check_perm("/vms/%d" % vmid, ["VM.Config.Options"], noerr=True):
        res.pop("env")
    return typed_config(res)


def typed_config(conf):
    """API typing: integers/booleans as JSON numbers, the rest strings (UNCONFIRMED, §6.3)."""
    from .lxcschema import CONFDESC

    out = {}
    for k, v in conf.items():
        p = CONFDESC.get(k)
        if p is not None and p.type in ("integer", "boolean") and isinstance(v, str) and re.match(r"^\d+$", v):
            out[k] = int(v)
        else:
            out[k] = v
    return out


@api("PUT", "/nodes/{node}/lxc/{vmid}/config", perm=Perm("/vms/{vmid}", VM_CONFIG_PRIVS, any_of=True), params=UPDATE_PARAMS, name="update_vm", protected=True)
def update_vm(env, p):
    faults.check(env.state, "update_vm")
    vmid = p.pop("vmid")
    p.pop("node")
    digest = p.pop("digest", None)
    if not p:
        raise PVEError("no options specified")
    delete = split_list(p.pop("delete", "") or "")
    revert = split_list(p.pop("revert", "") or "")
    if p.get("cpuunits") is not None:
        p["cpuunits"] = clamp_cpu_shares(env, p["cpuunits"])
    param = _stringify_config_params(p)
    from .lxcschema import CONFDESC

    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        check_lock(conf)
        if digest is not None and digest != conf["digest"]:
            raise PVEError("detected modified configuration - file changed by other user? Try again.")
        unpriv = str(conf.get("unprivileged", "0")) == "1"
        check_ct_modify_config_perm(env, vmid, conf, {}, delete, unpriv)
        check_ct_modify_config_perm(env, vmid, conf, {}, revert, unpriv)
        for opt in revert:
            if opt not in CONFDESC:
                raise param_error({"revert": "unknown option '%s'" % opt})
            if opt in param:
                raise param_error({"revert": "you can't use '-%s' and '-revert %s' at the same time" % (opt, opt)})
        for opt in delete:
            if opt not in CONFDESC:
                raise param_error({"delete": "unknown option '%s'" % opt})
            if opt in param:
                raise param_error({"delete": "you can't use '-%s' and -delete %s' at the same time" % (opt, opt)})
            if opt in revert:
                raise param_error({"delete": "you can't use '-delete %s' and '-revert %s' at the same time" % (opt, opt)})
        check_ct_modify_config_perm(env, vmid, conf, param, [], unpriv)
        running = get_backend(env.state).is_running(vmid)
        errors = update_pct_config(env, vmid, conf, running, param, delete, revert)
        if errors:
            raise param_error(errors)
        write_config(env, vmid, conf)
    return None


@api("GET", "/nodes/{node}/lxc/{vmid}/pending", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vm_pending")
def vm_pending(env, p):
    faults.check(env.state, "vm_pending")
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Audit"])
    conf = load_config(env, vmid)
    return pending.pending_array(conf, raw_keys=("lxc",))


@api("GET", "/nodes/{node}/lxc/{vmid}/status", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vmcmdidx")
def vmcmdidx(env, p):
    load_config(env, p["vmid"])
    return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "reboot", "suspend", "resume")]


@api("GET", "/nodes/{node}/lxc/{vmid}/status/current", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vm_status")
def vm_status(env, p):
    faults.check(env.state, "vm_status")
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Audit"])
    conf = load_config(env, vmid)
    d = vmstatus(env, vmid, conf)
    d["ha"] = {"managed": 0}
    return d


def _do_start(env, vmid, worker, skiplock):
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
     params=_nv(skiplock=Param("boolean"), debug=Param("boolean", default=0)),
     name="vm_start", protected=True)
def vm_start(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.PowerMgmt"])
    if p.get("skiplock") and not env.is_root_pam:
        raise param_error({"skiplock": "Only root may use this option."})
    backend = get_backend(env.state)
    if backend.is_running(vmid):
        raise PVEError("CT %d already running" % vmid)

    def realcmd(worker):
        with lock_config(env, vmid):
            _do_start(env, vmid, worker, p.get("skiplock"))

    return fork_worker(env, "vzstart", vmid, realcmd)


@api("POST", "/nodes/{node}/lxc/{vmid}/status/stop", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(skiplock=Param("boolean"), **{"overrule-shutdown": Param("boolean", default=0)}),
     name="vm_stop", protected=True)
def vm_stop(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.PowerMgmt"])
    if p.get("skiplock") and not env.is_root_pam:
        raise param_error({"skiplock": "Only root may use this option."})
    backend = get_backend(env.state)
    if not backend.is_running(vmid):
        raise PVEError("CT %d not running" % vmid)

    def realcmd(worker):
        with lock_config(env, vmid):
            conf = load_config(env, vmid)
            if not p.get("skiplock") and conf.get("lock") != "mounted":
                check_lock(conf)
            backend.stop(worker, vmid, kill=True)

    return fork_worker(env, "vzstop", vmid, realcmd)


@api("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(timeout=Param("integer", minimum=0, default=60), forceStop=Param("boolean", default=0)),
     name="vm_shutdown", protected=True)
def vm_shutdown(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.PowerMgmt"])
    timeout = p.get("timeout", 60)
    backend = get_backend(env.state)
    if not backend.is_running(vmid):
        raise PVEError("CT %d not running" % vmid)

    def realcmd(worker):
        with lock_config(env, vmid):
            conf = load_config(env, vmid)
            check_lock(conf)
            stopped = backend.stop(worker, vmid, kill=False, timeout=timeout, nokill=not p.get("forceStop"))
            if not stopped:
                raise PVEError("container did not stop")

    return fork_worker(env, "vzshutdown", vmid, realcmd)


@api("POST", "/nodes/{node}/lxc/{vmid}/status/reboot", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(timeout=Param("integer", minimum=0)), name="vm_reboot",
     protected=True)
def vm_reboot(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.PowerMgmt"])
    backend = get_backend(env.state)
    if not backend.is_running(vmid):
        raise PVEError("VM %d not running" % vmid)

    def realcmd(worker):
        with lock_config(env, vmid):
            conf = load_config(env, vmid)
            check_lock(conf)
            # vm_reboot: shutdown with timeout, killed when the timeout expires, then start
            backend.stop(None, vmid, kill=False, timeout=p.get("timeout") if p.get("timeout") is not None else 60, nokill=False)
            if backend.is_running(vmid):
                backend.stop(worker, vmid, kill=True)
            _do_start(env, vmid, worker, None)

    return fork_worker(env, "vzreboot", vmid, realcmd)


@api("DELETE", "/nodes/{node}/lxc/{vmid}", perm=Perm("/vms/{vmid}", ("VM.Allocate",)),
     params=_nv(force=Param("boolean", default=0), purge=Param("boolean", default=0),
                **{"destroy-unreferenced-disks": Param("boolean")}),
     name="destroy_vm", protected=True)
def destroy_vm(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Allocate"])
    st = env.state
    conf = load_config(env, vmid)

    def early_checks(c):
        check_protection(c, "can't remove CT %d" % vmid)
        check_lock(c)

    early_checks(conf)
    backend = get_backend(st)
    running_msg = "unable to destroy CT %d - container is running" % vmid
    if not p.get("force") and backend.is_running(vmid):
        raise PVEError(running_msg)

    def realcmd(worker):
        with lock_config(env, vmid):
            c = load_config(env, vmid)
            early_checks(c)
            if backend.is_running(vmid):
                if not p.get("force"):
                    raise PVEError(running_msg)
                worker.log("forced to stop CT %d before destroying!" % vmid)
                backend.stop(worker, vmid, kill=True)
            write_config(env, vmid, {"lock": "destroyed"})
            vols = set(vm_volumes(c))
            for snap in c.get("snapshots", {}).values():
                vols |= set(vm_volumes(snap))
            vols |= set(vm_volumes(c.get("pending", {})))
            storage.free_owned_volumes(st, vmid, vols, log=worker.log)
            if p.get("destroy-unreferenced-disks"):
                # also every volume of this vmid on any storage that the config does not reference
                for sid, scfg in st.storage_config().items():
                    if not (storage.content_set(scfg) & {"images", "rootdir"}):
                        continue
                    with contextlib.suppress(PVEError):
                        for v in storage.list_volumes(st, sid, vmid=vmid):
                            storage.free_volume(st, v["volid"], log=worker.log)
            backend.destroy(vmid)
            if p.get("purge"):
                worker.log("purging CT %d from related configurations.." % vmid)
            with contextlib.suppress(FileNotFoundError):
                cfgmod.lxc_configs(st).remove(vmid)

    return fork_worker(env, "vzdestroy", vmid, realcmd)


@api("POST", "/nodes/{node}/lxc/{vmid}/template", perm=Perm("/vms/{vmid}", ("VM.Allocate",)), params=NV, name="template", protected=True)
def template(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Allocate"])
    backend = get_backend(env.state)
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        check_lock(conf)
        if conf.get("snapshots"):
            raise PVEError("unable to create template, because CT contains snapshots")
        if is_template(conf):
            raise PVEError("you can't convert a template to a template")
        if backend.is_running(vmid):
            raise PVEError("you can't convert a CT to template if the CT is running")

        def realcmd(worker):
            with lock_config(env, vmid):
                c = load_config(env, vmid)
                # PVE::LXC::template_create: every volume becomes a base volume
                for key in sorted((k for k in c if is_volume_key(k)), key=lambda k: -1 if k == "rootfs" else int(k[2:])):
                    mp = parse_volume(key, c[key])
                    if mp["type"] != "volume":
                        continue
                    if not storage.volume_has_feature(env.state, "template", mp["volume"]) and \
                            env.state.storage_config().get(mp["volume"].split(":", 1)[0], {}).get("type") not in storage.FILE_TYPES:
                        raise PVEError("Template feature is not available for '%s'" % mp["volume"])
                    mp["volume"] = storage.create_base(env.state, mp["volume"])
                    c[key] = print_volume(key, mp)
                c["template"] = "1"
                write_config(env, vmid, c)

        fork_worker(env, "vztemplate", vmid, realcmd)
    return None


@api("PUT", "/nodes/{node}/lxc/{vmid}/resize", perm=Perm("/vms/{vmid}", ("VM.Config.Disk",)),
     params=_nv(disk=Param("string", optional=False, enum=["rootfs"] + ["mp%d" % i for i in range(MAX_MOUNT_POINTS)]),
                size=Param("string", optional=False, pattern=r"\+?\d+(\.\d+)?[KMGT]?"),
                digest=Param("string", max_length=40)),
     name="resize_vm", protected=True)
def resize_vm(env, p):
    from .lxcschema import parse_size

    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Config.Disk"])
    st = env.state
    m = re.match(r"^(\+)?(\d+(\.\d+)?)([KMGT])?$", p["size"])
    ext, newsize_s = m.group(1), m.group(2) + (m.group(4) or "")
    newsize = parse_size(newsize_s)
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        check_lock(conf)
        if p.get("digest") and p["digest"] != conf["digest"]:
            raise PVEError("detected modified configuration - file changed by other user? Try again.")
        disk = p["disk"]
        if disk not in conf:
            raise PVEError("disk '%s' does not exist" % disk)
        mp = parse_volume(disk, conf[disk])
        if mp["type"] != "volume":
            raise PVEError("you can't resize a mount point of type %s" % mp["type"])
        size = storage.volume_size(st, mp["volume"])
        if size is None:
            raise PVEError("Could not determine current size of volume '%s'" % mp["volume"])
        if ext:
            newsize += size
        if newsize < size:
            raise PVEError("unable to shrink disk size")
        if newsize == size:
            raise PVEError("disk is already at specified size")

        def realcmd(worker):
            with lock_config(env, vmid):
                c = load_config(env, vmid)
                path, _vtype = storage.volume_path(st, mp["volume"])
                storage.set_volume_size(path, newsize)
                mp2 = parse_volume(disk, c[disk])
                mp2["size"] = newsize
                c[disk] = print_volume(disk, mp2)
                write_config(env, vmid, c)

        return fork_worker(env, "resize", vmid, realcmd)


@api("GET", "/nodes/{node}/lxc/{vmid}/interfaces", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="ip")
def interfaces(env, p):
    """PVE::LXC::get_interfaces: ``ip --json a`` in the CT's netns; null when not running."""
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Audit"])
    conf = load_config(env, vmid)
    backend = get_backend(env.state)
    if not backend.is_running(vmid):
        return None
    if backend.mode == "lxc":
        import json
        import subprocess

        pid = backend.init_pid(vmid)
        if not pid:
            return None
        proc = subprocess.run(["nsenter", "-t", str(pid), "--net", "--", "ip", "--json", "a"], capture_output=True, check=False)
        if proc.returncode != 0:
            raise PVEError("command 'nsenter -t %d --net -- ip --json a' failed: exit code %d" % (pid, proc.returncode))
        data = json.loads(proc.stdout.decode() or "[]")
    else:
        from .lxcschema import NET_DESC

        data = [{"ifname": "lo", "address": "00:00:00:00:00:00",
                 "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8},
                               {"family": "inet6", "local": "::1", "prefixlen": 128}]}]
        for i in range(MAX_NETS):
            if "net%d" % i not in conf:
                continue
            net = parse_property_string(NET_DESC, conf["net%d" % i])
            addrs = []
            for fam, key in (("inet", "ip"), ("inet6", "ip6")):
                v = net.get(key) or ""
                if "/" in v:
                    addrs.append({"family": fam, "local": v.split("/")[0], "prefixlen": int(v.split("/")[1])})
            data.append({"ifname": net["name"], "address": (net.get("hwaddr") or "").lower(), "addr_info": addrs})
    res = []
    for iface in data:
        obj = {"name": iface.get("ifname")}
        lst = []
        for ip in iface.get("addr_info") or []:
            obj[ip["family"]] = "%s/%s" % (ip["local"], ip["prefixlen"])
            lst.append({"ip-address-type": ip["family"], "ip-address": ip["local"], "prefix": ip["prefixlen"]})
        obj["ip-addresses"] = lst
        obj["hardware-address"] = iface.get("address")
        obj["hwaddr"] = iface.get("address")
        res.append(obj)
    return res


@api("GET", "/nodes/{node}/lxc/{vmid}/snapshot", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="snapshot_list")
def snapshot_list(env, p):
    vmid = p["vmid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Audit"])
    conf = load_config(env, vmid)
    res = []
    for name, snap in conf["snapshots"].items():
        item = {"name": name, "description": snap.get("description") or ""}
        if snap.get("parent"):
            item["parent"] = snap["parent"]
        if snap.get("snaptime"):
            item["snaptime"] = int(snap["snaptime"])
        res.append(item)
    cur = {"name": "current", "digest": conf["digest"], "running": 1 if get_backend(env.state).is_running(vmid) else 0,
           "description": "You are here!"}
    if conf.get("parent"):
        cur["parent"] = conf["parent"]
    res.append(cur)
    return res


@api("POST", "/nodes/{node}/lxc/{vmid}/clone", perm=Perm("/vms/{vmid}", ("VM.Clone",)), params=_nv(
    newid=VMID, hostname=Param("string", max_length=255), description=Param("string"), pool=Param("string"),
    snapname=Param("string", pattern=r"[a-zA-Z][a-zA-Z0-9_\-]+", max_length=40), storage=STORAGE, full=Param("boolean"),
    target=Param("string"), bwlimit=Param("number", minimum=0)), name="clone_vm", protected=True)
def clone_vm(env, p):
    """PVE::API2::LXC clone_vm (same node only)."""
    st = env.state
    vmid, newid = p["vmid"], p["newid"]
    env.check_perm("/vms/%d" % vmid, ["VM.Clone"])
    if p.get("pool") is not None:
        AuthStore(st.pve_path("")).check_pool_exist(p["pool"])
    env.check_perm("/vms/%d" % newid, ["VM.Allocate"])
    target = p.get("target")
    if target and target not in (st.node, "localhost"):
        raise PVEError("no such cluster node '%s'" % target)
    storage_id = p.get("storage")
    if storage_id:
        storage.storage_check_enabled(st, storage_id)
    backend = get_backend(st)
    with lock_config(env, vmid):
        src = load_config(env, vmid)
        check_lock(src)
        src["lock"] = "disk"
        write_config(env, vmid, src)

    def unlock_source():
        with contextlib.suppress(PVEError), lock_config(env, vmid):
            c = load_config(env, vmid)
            if c.get("lock") == "disk":
                c.pop("lock")
                write_config(env, vmid, c)

    try:
        with lock_config(env, newid, timeout=5):
            check_vmid_unused(env, newid)
            write_config(env, newid, {"lock": "create"})
    except PVEError:
        unlock_source()
        raise
    mountpoints = {}
    full_opts = set()
    newconf = {}
    try:
        running = backend.is_running(vmid)
        full = p.get("full")
        if full is None:
            full = not is_template(src)
        if storage_id is not None and not full:
            raise PVEError("parameter 'storage' not allowed for linked clones")
        snapname = p.get("snapname")
        if snapname and snapname not in src["snapshots"]:
            raise PVEError("snapshot '%s' does not exist" % snapname)
        sconf = src["snapshots"][snapname] if snapname else src
        for opt in perl_sorted(sconf.keys()):
            if re.match(r"^unused\d+$", opt) or opt in ("pending", "snapshots", "digest"):
                continue
            value = sconf[opt]
            if opt == "rootfs" or re.match(r"^mp\d+$", opt):
                mp = parse_volume(opt, value)
                if mp["type"] != "volume":
                    raise PVEError("unable to clone mountpoint '%s' (type %s)" % (opt, mp["type"]))
                if full:
                    if running and not snapname:
                        raise PVEError("Full clone of a running container is only possible from a snapshot")
                    full_opts.add(opt)
                elif not storage.volume_has_feature(st, "clone", mp["volume"]):
                    raise PVEError("Linked clone feature for '%s' is not available" % mp["volume"])
                mountpoints[opt] = mp
            elif re.match(r"^net\d+$", opt):
                net = _parse_net(value)
                net.pop("hwaddr", None)
                from .lxcschema import NET_DESC, print_property_string

                newconf[opt] = normalise_net(print_property_string(NET_DESC, net), _mac_prefix(env))
            else:
                newconf[opt] = value
        for k in ("snapshots", "parent", "snaptime", "snapstate", "pending", "template", "lock"):
            newconf.pop(k, None)
        newconf["lock"] = "create"
        if p.get("hostname"):
            newconf["hostname"] = p["hostname"]
        if p.get("description"):
            newconf["description"] = p["description"]
        with lock_config(env, newid):
            write_config(env, newid, dict(newconf))
    except PVEError:
        unlock_source()
        with contextlib.suppress(OSError):
            cfgmod.lxc_configs(st).remove(newid)
        raise

    def realcmd(worker):
        newvols = []
        worker.log("creating a clone of container %d with ID %d" % (vmid, newid))
        try:
            if backend.is_running(vmid) != running:
                raise PVEError("unexpected state change")
            for opt in sorted(mountpoints, key=lambda k: -1 if k == "rootfs" else int(k[2:])):
                mp = dict(mountpoints[opt])
                volid = mp["volume"]
                src_path, _vtype = storage.volume_path(st, volid)
                if snapname:
                    src_path = src_path.parent / (src_path.name + storage.SNAP_INFIX + snapname)
                if opt in full_opts:
                    worker.log("create full clone of mountpoint %s (%s)" % (opt, volid))
                else:
                    worker.log("create linked clone of mount point %s (%s)" % (opt, volid))
                target_sid = storage_id or volid.split(":", 1)[0]
                size = storage.volume_size(st, volid) or 0
                newvol = storage.alloc_disk(st, target_sid, newid, size // 1024, log=worker.log)
                newvols.append(newvol)
                dst, _vtype = storage.volume_path(st, newvol)
                storage.copy_volume_data(src_path, dst)
                mp["volume"] = newvol
                mp["size"] = size
                with lock_config(env, newid):
                    c = load_config(env, newid)
                    if c.get("lock") != "create":
                        raise PVEError("Lost 'create' config lock, aborting.")
                    c[opt] = print_volume(opt, mp)
                    write_config(env, newid, c)
            with lock_config(env, newid):
                c = load_config(env, newid)
                if backend.mode == "lxc" and c.get("rootfs"):
                    from .backend import setup_guest

                    rootdir, _vtype = storage.volume_path(st, parse_volume("rootfs", c["rootfs"])["volume"])
                    setup_guest(c, newid, rootdir)
                c.pop("lock", None)
                write_config(env, newid, c)
        except BaseException as exc:
            _discard_half_made_ct(st, newid, newvols, worker.log)
            unlock_source()
            raise PVEError("clone failed: %s" % (getattr(exc, "message", None) or exc)) from None
        unlock_source()

    return fork_worker(env, "vzclone", vmid, realcmd)


def _discard_half_made_ct(st, vmid, volids, log):
    """What a failed create or clone leaves: free its new volumes and drop its config, as PVE does."""
    for volid in volids:
        with contextlib.suppress(Exception):
            storage.free_volume(st, volid, log=log)
    with contextlib.suppress(OSError):
        cfgmod.lxc_configs(st).remove(vmid)
