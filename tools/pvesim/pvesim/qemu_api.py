# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""QEMU REST handlers: ``/nodes/{node}/qemu/...`` (contract §9) on the guest layer.

Sources (proxmox/qemu-server 9.2.6): ``PVE/API2/Qemu.pm`` ``vmlist``, ``create_vm`` (with
``create_disks``), ``vm_config``, ``vm_pending``, ``$update_vm_api`` (``update_vm`` sync PUT,
``update_vm_async`` POST), ``destroy_vm``, ``vm_status``, ``vm_start``, ``vm_stop``,
``vm_shutdown``, ``vm_reboot``, ``vm_suspend``, ``vm_resume``, ``template``, ``clone_vm``,
``resize_vm``; ``PVE/QemuServer.pm`` ``vmstatus``, ``vm_start`` (``VM <id> already running``
inside the worker), ``_do_vm_stop`` (a stopped VM stops without error), ``destroy_vm``,
``vmconfig_apply_pending``, ``vmconfig_hotplug_pending`` (``$fast_plug_option``),
``template_create``.  The run state comes from :mod:`pvesim.qemu.runtime` (state or real mode).
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
import uuid
from typing import Callable

from . import faults, pending, storage
from .auth import AuthStore
from .guest import GuestConfigs, GuestType, register_guest_type
from .handlers import Env, Perm, PVEError, api, param_error, perm_error
from .lxcschema import parse_size, random_ether_addr, split_list, unique_tags
from .qemu import config as qmconfig
from .qemu import schema as qmschema
from .qemu.runtime import VmRuntime, vm_runtime
from .schema import NODE, STORAGE, VMID, Param, fmt_configid, fmt_configid_list
from .state import perl_sorted
from .tasks import Worker, fork_worker

QEMU = register_guest_type(GuestType(
    name="qemu", conf_dir="qemu-server", label="VM", lock_dir="/var/lock/qemu-server", lock_name="lock-{vmid}.conf",
    parse=qmconfig.parse_vm_config, render=qmconfig.write_vm_config))

# the QEMU version a created VM records in ``meta`` (pve-qemu-kvm of PVE 9.1)
QEMU_VERSION = "10.1.2"
# QemuServer.pm $fast_plug_option plus $confdesc_cloudinit: applied at once even while running
FAST_PLUG = {"description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name", "onboot", "protection",
             "shares", "startup", "tags", "vmstatestorage", "citype", "ciuser", "cipassword", "ciupgrade", "cicustom",
             "searchdomain", "nameserver", "sshkeys"} | {"ipconfig%d" % i for i in range(qmschema.MAX_NETS)}
VM_CONFIG_PRIVS = ("VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
                   "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit")
HIDDEN_VALUE = "**********"
CHANGED_CONFIG = "checksum mismatch (file change by other user?)"  # Qemu.pm $update_vm_api, resize_vm


def configs(env: Env) -> GuestConfigs:
    return GuestConfigs(env.state, QEMU)


def _warn_cli(env: Env) -> Callable[[str], None]:
    if env.rpc != "cli":
        return lambda message: None
    return lambda message: env.stderr.write(message + "\n")


def load_config(env: Env, vmid: int) -> dict:
    return configs(env).load(vmid, warn=_warn_cli(env))


def write_config(env: Env, vmid: int, conf: dict) -> None:
    configs(env).write(vmid, conf)


def lock_config(env: Env, vmid: int, timeout: float = 10):
    return configs(env).lock(vmid, timeout, stderr=env.stderr if env.rpc == "cli" else None)


def is_template(conf: dict) -> bool:
    return str(conf.get("template", "0")) == "1"


def check_protection(conf: dict, msg: str) -> None:
    if str(conf.get("protection", "0")) == "1":
        raise PVEError("%s - protection mode enabled" % msg)


def list_vm_ids(env: Env) -> list[int]:
    d = configs(env).directory()
    if not d.is_dir():
        return []
    return sorted(int(m.group(1)) for m in (re.match(r"^(\d+)\.conf$", f.name) for f in d.iterdir()) if m)


def _mac_prefix(env: Env) -> str:
    return env.state.datacenter_config().get("mac_prefix") or "BC:24:11"


def _memory_mib(conf: dict) -> int:
    if not conf.get("memory"):
        return 512
    return int(qmschema.MEMORY_FORMAT.parse(conf["memory"])["current"])


def _bootdisk_size(env: Env, conf: dict) -> int:
    """Drive.pm ``bootdisk_size``: the size of the first boot disk (0 when none)."""
    order = qmschema.BOOT_FORMAT.parse(conf["boot"]).get("order") if conf.get("boot") else None
    keys = [k for k in (order or "").split(";") if qmschema.is_drive_key(k) and k in conf] or qmconfig.drive_keys(conf)
    for key in keys:
        drive = qmconfig.parse_drive(key, conf[key])
        if qmconfig.drive_is_cdrom(drive) or qmconfig.drive_is_cloudinit(drive):
            continue
        return parse_size(drive["size"]) if drive.get("size") else 0
    return 0


def vmstatus(env: Env, vmid: int, conf: dict, runtime: VmRuntime | None = None) -> dict:
    """QemuServer.pm ``vmstatus`` for one VM (with ``qmpstatus`` as ``$full`` adds it)."""
    runtime = runtime or vm_runtime(env.state)
    qmpstatus = runtime.status(vmid)
    sockets = int(conf.get("sockets") or 1)
    cores = int(conf.get("cores") or 1)
    cpus = min(sockets * cores, env.state.host_cpus)
    if conf.get("vcpus"):
        cpus = int(conf["vcpus"])
    d = {"vmid": int(vmid), "status": "stopped" if qmpstatus == "stopped" else "running", "name": conf.get("name") or "VM %d" % vmid,
         "cpus": cpus, "maxmem": _memory_mib(conf) * 1024 * 1024, "maxdisk": _bootdisk_size(env, conf), "disk": 0,
         "uptime": 0, "cpu": 0, "mem": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
    if conf.get("balloon"):
        d["balloon_min"] = int(conf["balloon"]) * 1024 * 1024
        d["shares"] = int(conf.get("shares") or 1000)
    if is_template(conf):
        d["template"] = 1
    if conf.get("lock"):
        d["lock"] = conf["lock"]
    if conf.get("tags") is not None:
        d["tags"] = conf["tags"]
    if qmpstatus != "stopped":
        info = runtime.info(vmid)
        if info.get("pid"):
            d["pid"] = int(info["pid"])
        d["uptime"] = int(info.get("uptime") or 0)
        d["qmpstatus"] = qmpstatus
        d["running-machine"] = conf.get("machine") or "pc"
        if info.get("accel"):
            d["pvesim-accel"] = info["accel"]
    else:
        d["qmpstatus"] = "stopped"
    return d


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------

_NOT_API_KEYS = ("parent", "snaptime", "vmstate", "runningmachine", "runningcpu", "lock")


def _confdesc_params() -> dict[str, Param]:
    return {k: v for k, v in qmschema.CONFDESC.items() if k not in _NOT_API_KEYS}


NV = {"node": NODE, "vmid": VMID}
SKIPLOCK = Param("boolean")
CREATE_PARAMS = {**_confdesc_params(), **NV, "storage": STORAGE, "pool": Param("string"), "start": Param("boolean", default=0),
                 "archive": Param("string", max_length=255), "force": Param("boolean", requires="archive"),
                 "unique": Param("boolean", requires="archive"), "bwlimit": Param("integer", minimum=0),
                 "ha-managed": Param("boolean", default=0)}
UPDATE_PARAMS = {**_confdesc_params(), **NV, "skiplock": SKIPLOCK,
                 "delete": Param("string", format=fmt_configid_list, list_format=True),
                 "revert": Param("string", format=fmt_configid_list, list_format=True),
                 "force": Param("boolean", requires="delete"), "digest": Param("string", max_length=40)}
ASYNC_UPDATE_PARAMS = {**UPDATE_PARAMS, "background_delay": Param("integer", minimum=1, maximum=30)}


def _nv(**extra: Param) -> dict[str, Param]:
    return {**NV, **extra}


def _config_params(p: dict) -> dict[str, str]:
    """The config keys of a call as the text the config file stores (booleans as 0/1)."""
    out = {}
    for k, v in p.items():
        if k in qmschema.CONFDESC:
            out[k] = str(int(v)) if isinstance(v, bool) else str(v)
    if "cdrom" in out:  # Qemu.pm $resolve_cdrom_alias
        out["ide2"] = out.pop("cdrom")
    return out


def _check_skiplock(env: Env, p: dict) -> None:
    if p.get("skiplock") and not env.is_root_pam:
        raise param_error({"skiplock": "Only root may use this option."})


# --------------------------------------------------------------------------------------------
# permissions (Qemu.pm $check_vm_modify_config_perm, $check_storage_access)
# --------------------------------------------------------------------------------------------

_CPU_OPTS = {"affinity", "cores", "cpu", "cpuunits", "cpulimit", "numa", "sockets", "vcpus"}
_MEMORY_OPTS = {"memory", "balloon", "shares"}
_HWTYPE_OPTS = {"acpi", "agent", "bios", "boot", "bootdisk", "hotplug", "keyboard", "kvm", "localtime", "machine", "ostype",
                "scsihw", "smbios1", "startdate", "tablet", "tdf", "vga", "vmgenid", "watchdog", "arch"}
_CLOUDINIT_OPTS = {"citype", "ciuser", "cipassword", "ciupgrade", "cicustom", "searchdomain", "nameserver", "sshkeys"}


def check_modify_perm(env: Env, vmid: int, keys, values: dict | None = None) -> None:
    """Qemu.pm ``$check_vm_modify_config_perm`` for the keys a call sets or deletes; a drive needs
    ``VM.Config.Disk``, a CD-ROM ``VM.Config.CDROM``, a cloud-init drive either of Cloudinit/CDROM
    (``$check_drive_perms``)."""
    if env.is_root_pam:
        return
    path = "/vms/%d" % vmid
    for opt in keys:
        if qmschema.is_drive_key(opt) or opt.startswith("unused"):
            drive = qmconfig.parse_drive(opt, values[opt]) if values and opt in values and not opt.startswith("unused") else None
            if drive is not None and qmconfig.drive_is_cloudinit(drive):
                env.check_perm(path, ["VM.Config.Cloudinit", "VM.Config.CDROM"], any_of=True)
            elif drive is not None and qmconfig.drive_is_cdrom(drive):
                env.check_perm(path, ["VM.Config.CDROM"])
            else:
                env.check_perm(path, ["VM.Config.Disk"])
        elif opt in _CPU_OPTS:
            env.check_perm(path, ["VM.Config.CPU"])
        elif opt in _MEMORY_OPTS:
            env.check_perm(path, ["VM.Config.Memory"])
        elif opt in _HWTYPE_OPTS or opt.startswith("serial"):
            env.check_perm(path, ["VM.Config.HWType"])
        elif re.match(r"^net\d+$", opt):
            env.check_perm(path, ["VM.Config.Network"])
        elif opt in _CLOUDINIT_OPTS or re.match(r"^ipconfig\d+$", opt):
            env.check_perm(path, ["VM.Config.Cloudinit", "VM.Config.Network"], any_of=True)
        elif opt in ("args", "hookscript"):
            raise perm_error("changing the %s is only allowed for root@pam" % ("hookscript" if opt == "hookscript" else "args"))
        else:
            env.check_perm(path, ["VM.Config.Options"])


# --------------------------------------------------------------------------------------------
# disks (Qemu.pm create_disks)
# --------------------------------------------------------------------------------------------

NEW_DISK_RE = re.compile(r"^(([^/:\s]+):)?(\d+(\.\d+)?)$")


def _images_storage(env: Env, sid: str, opt: str) -> dict:
    scfg = storage.storage_check_enabled(env.state, sid)
    if "images" not in storage.content_set(scfg):
        raise param_error({opt: "storage '%s' does not support vm images" % sid})
    env.check_perm("/storage/%s" % sid, ["Datastore.AllocateSpace"])
    return scfg


def check_drive_values(env: Env, vmid: int, params: dict, default_storage: str | None) -> None:
    """The early checks of ``$check_storage_access``: storages of new disks, existing volumes."""
    for opt in params:
        if not qmschema.is_drive_key(opt):
            continue
        drive = qmconfig.parse_drive(opt, params[opt])
        vol = drive["file"]
        if vol in ("none", "cdrom") or vol.startswith("/"):
            if vol.startswith("/") and not env.is_root_pam:
                raise perm_error("only root can set '%s' config for a host path" % opt)
            continue
        m = NEW_DISK_RE.match(vol)
        if m:
            sid = m.group(2) or default_storage
            if not sid:
                raise param_error({opt: "missing storage for new disk"})
            _images_storage(env, sid, opt)
            continue
        if qmconfig.drive_is_cloudinit(drive) and re.match(r"^[^:]+:cloudinit$", vol):
            _images_storage(env, vol.split(":", 1)[0], opt)
            continue
        sid, _volname = storage.parse_volume_id(vol)
        storage.storage_check_enabled(env.state, sid)
        if not env.is_root_pam:
            env.check_perm("/storage/%s" % sid, ["Datastore.AllocateSpace", "Datastore.Audit"], any_of=True)


def create_disks(env: Env, vmid: int, params: dict, default_storage: str | None, log: Callable[[str], None],
                 vollist: list[str]) -> dict[str, str]:
    """``create_disks``: allocate every ``STORAGE:SIZE`` and ``STORAGE:cloudinit`` drive; returns
    the drive values to store (``local-lvm:vm-100-disk-0,iothread=1,size=32G``)."""
    st = env.state
    out: dict[str, str] = {}
    for opt in perl_sorted(params):
        if not qmschema.is_drive_key(opt):
            continue
        drive = qmconfig.parse_drive(opt, params[opt])
        vol = drive["file"]
        m = NEW_DISK_RE.match(vol)
        if qmconfig.drive_is_cloudinit(drive) and re.match(r"^[^:]+:cloudinit$", vol):
            sid = vol.split(":", 1)[0]
            scfg = storage.storage_check_enabled(st, sid)
            fmt = drive.get("format") or ("qcow2" if scfg["type"] in storage.FILE_TYPES else "raw")
            volid = storage.alloc_image(st, sid, vmid, 4 * 1024, fmt=fmt, name="vm-%d-cloudinit" % vmid, log=log)
            vollist.append(volid)
            drive["file"] = volid
            drive["media"] = "cdrom"
            drive.pop("size", None)
        elif m:
            sid = m.group(2) or default_storage
            size_kib = int(float(m.group(3)) * 1024 * 1024)
            volid = storage.alloc_image(st, sid, vmid, size_kib, fmt=drive.get("format"), log=log)
            vollist.append(volid)
            drive["file"] = volid
            drive["size"] = size_kib * 1024
        elif vol not in ("none", "cdrom") and not vol.startswith("/") and not qmconfig.drive_is_cdrom(drive):
            size = storage.volume_size(st, vol)
            if size is None:
                raise PVEError("volume '%s' does not exist" % vol)
            drive["size"] = size
        out[opt] = qmconfig.print_drive(drive)
    return out


def _volume_of(opt: str, value: str) -> str | None:
    """The managed volume a drive or unusedN value names (cdroms and host paths: none)."""
    try:
        drive = qmconfig.parse_drive(opt, value)
    except (ValueError, qmschema.FormatError):
        return None
    vol = drive["file"]
    if vol in ("none", "cdrom") or vol.startswith("/") or qmconfig.drive_is_cdrom(drive) and not qmconfig.drive_is_cloudinit(drive):
        return None
    return vol


def add_unused_volume(conf: dict, volid: str) -> None:
    """``add_unused_volume``: the first free ``unusedN`` (PVE keeps an already listed volume)."""
    for k, v in conf.items():
        if re.match(r"^unused\d+$", k) and v == volid:
            return
    for i in range(qmschema.MAX_UNUSED):
        if "unused%d" % i not in conf:
            conf["unused%d" % i] = volid
            return
    raise PVEError("too many unused volumes")


def vm_volumes(conf: dict) -> list[str]:
    out = []
    for k in perl_sorted(conf):
        if qmschema.is_drive_key(k) or re.match(r"^unused\d+$", k):
            vol = _volume_of(k, conf[k]) if isinstance(conf[k], str) else None
            if vol is not None:
                out.append(vol)
    return out


# --------------------------------------------------------------------------------------------
# config updates ($update_vm_api, vmconfig_apply_pending / vmconfig_hotplug_pending)
# --------------------------------------------------------------------------------------------

def _encrypt_pw(password: str) -> str:
    """PVE::Tools::encrypt_pw (``$5$``); pre-hashed values are kept as they are."""
    from .backend import crypt_password

    if re.match(r"^\$(?:[156]|2[ay])(\$.+){2}", password):
        return password
    return crypt_password(password, "5")


def validate_ssh_keys(value: str) -> None:
    """``sshkeys`` is URL-encoded; PVE::Tools::validate_ssh_public_keys on the decoded text."""
    for line in urllib.parse.unquote(value).splitlines():
        line = line.strip()
        if line and not line.startswith("#") and not re.match(r"^(\S+\s+)?(ssh-|ecdsa-|sk-)\S+\s+\S+", line):
            raise param_error({"sshkeys": "unable to parse ssh public keys"})


def normalise_params(env: Env, params: dict) -> None:
    """What ``create_vm`` and ``$update_vm_api`` do to values before they are stored: a MAC for
    every NIC (``add_random_macs``/``parse_net``), a UUID for ``vmgenid: 1``, checked ``sshkeys``."""
    for opt in list(params):
        value = params[opt]
        if re.match(r"^net\d+$", opt):
            params[opt] = qmconfig.print_net(qmconfig.parse_net(value, _mac_prefix(env)))
        elif opt == "vmgenid" and value == "1":
            params[opt] = str(uuid.uuid4())
        elif opt == "sshkeys":
            validate_ssh_keys(value)
        elif opt == "tags":
            params[opt] = unique_tags(value)
        elif opt in ("nameserver", "searchdomain"):
            params[opt] = " ".join(split_list(value))


def _check_balloon(conf: dict, params: dict) -> None:
    if params.get("memory") or params.get("balloon") is not None:
        memory = params.get("memory") or conf["pending"].get("memory") or conf.get("memory")
        maxmem = int(qmschema.MEMORY_FORMAT.parse(memory)["current"]) if memory else 512
        balloon = params.get("balloon") if params.get("balloon") is not None else (
            conf["pending"].get("balloon") or conf.get("balloon"))
        if balloon and int(balloon) > maxmem:
            raise PVEError("balloon value too large (must be smaller than assigned memory)")


def _detach_drive(env: Env, conf: dict, opt: str, value: str, force: bool, log: Callable[[str], None]) -> None:
    """``vmconfig_delete_or_detach_drive``: a removed disk becomes ``unusedN`` (freed with ``force``)."""
    vol = _volume_of(opt, value)
    drive = qmconfig.parse_drive(opt, value)
    if vol is None:
        return
    if force or qmconfig.drive_is_cloudinit(drive):
        storage.free_volume(env.state, vol, log=log)
    else:
        add_unused_volume(conf, vol)


def _hotplug_features(conf: dict) -> set[str]:
    """``parse_hotplug_features`` of the config's ``hotplug`` (``1``, the default, is network,disk,usb; ``0`` none)."""
    value = str(conf.get("hotplug", "1"))
    if value == "0":
        return set()
    return {"network", "disk", "usb"} if value == "1" else set(split_list(value))


def _drive_hotplugs(opt: str, features: set[str]) -> bool:
    """vmconfig_hotplug_pending: adding or removing a drive on a running VM needs the ``disk`` hotplug feature and a
    bus that hot-plugs ("skip" for efidisk, ide, sata and tpmstate; vmconfig_update_disk likewise for a new drive)."""
    return qmschema.is_drive_key(opt) and "disk" in features and not re.match(r"^(efidisk|ide|sata|tpmstate)\d+$", opt)


# vmconfig_update_disk: an existing drive keeping its volume changes these only at the next start.
_COLD_DRIVE_OPTS = ("aio", "discard", "iothread", "queues", "product", "cache", "ssd", "vendor", "ro")


def _balloon_enabled(value: str | None) -> bool:
    return value is None or int(value) != 0


def _hot_applies(opt: str, old: str | None, new: str | None, features: set[str]) -> bool:
    """Whether a running VM applies ``old`` -> ``new`` of ``opt`` at once (``new`` None: a delete), as the non-fast-plug
    branches of vmconfig_hotplug_pending do (vmconfig_update_disk, vmconfig_update_agent, the balloon, cgroup and
    hotplug-feature rules); an empty ``features`` (the real mode, which plugs nothing into QEMU) keeps all pending."""
    if not features:
        return False
    if opt in ("cpuunits", "cpulimit"):
        return True
    if opt == "balloon":
        return _balloon_enabled(old) == _balloon_enabled(new) if new is not None else _balloon_enabled(old)
    if opt in ("vcpus", "memory", "tablet"):
        return {"vcpus": "cpu", "memory": "memory", "tablet": "usb"}[opt] in features
    if opt == "agent":
        if new is None or old in (None, "", "0"):  # "die skip if !$conf->{agent}" (Perl: "0" is false)
            return False
        before, after = qmschema.AGENT_FORMAT.parse(old), qmschema.AGENT_FORMAT.parse(new)
        return all(str(before.get(k)) == str(after.get(k)) for k in set(before) | set(after) if k != "fstrim_cloned_disks")
    if re.match(r"^net\d+$", opt):
        return "network" in features
    if not qmschema.is_drive_key(opt) or opt.startswith(("efidisk", "tpmstate")):
        return False
    if new is None or old is None:
        return _drive_hotplugs(opt, features)
    before, after = qmconfig.parse_drive(opt, old), qmconfig.parse_drive(opt, new)
    if qmconfig.drive_is_cdrom(before):
        return True  # change_medium
    if before["file"] != after["file"]:
        return _drive_hotplugs(opt, features)
    return all(str(before.get(k)) == str(after.get(k)) for k in _COLD_DRIVE_OPTS)


def apply_pending(env: Env, vmid: int, conf: dict, running: bool, selection: set[str] | None,
                  log: Callable[[str], None]) -> dict[str, str]:
    """``vmconfig_apply_pending`` (stopped) or ``vmconfig_hotplug_pending`` (running): what can
    change now changes, the rest stays in ``[PENDING]``.  Returns the per-key errors.

    NICs, drives (by the ``hotplug`` option and the bus) and the other hot-pluggable values
    (``_hot_applies``) apply at once in state mode only: the real mode does not ``device_add`` into
    a running QEMU, so there they wait for the next start like every non-fast-plug key."""
    errors: dict[str, str] = {}
    features = _hotplug_features(conf) if vm_runtime(env.state).mode == "state" else set()
    pend = conf["pending"]
    deletions = pending.parse_pending_delete(pend.get("delete"))
    for opt in list(deletions):
        if selection is not None and opt not in selection:
            continue
        if running and not (opt in FAST_PLUG or re.match(r"^unused\d+$", opt) or _hot_applies(opt, conf.get(opt), None, features)):
            continue
        try:
            if re.match(r"^unused\d+$", opt) and conf.get(opt):
                check_protection(conf, "can't remove unused disk '%s'" % conf[opt])
                storage.free_volume(env.state, conf[opt], log=log)
            elif qmschema.is_drive_key(opt) and conf.get(opt):
                _detach_drive(env, conf, opt, conf[opt], deletions[opt]["force"], log)
        except PVEError as exc:
            errors[opt] = "unable to apply pending change %s : %s" % (opt, exc.message)
            continue
        conf.pop(opt, None)
        pending.remove_from_pending_delete(conf, opt)
    for opt in perl_sorted(list(pend)):
        if opt == "delete" or (selection is not None and opt not in selection):
            continue
        if running and not (opt in FAST_PLUG or _hot_applies(opt, conf.get(opt), pend[opt], features)):
            continue
        if qmschema.is_drive_key(opt) and conf.get(opt):
            old = _volume_of(opt, conf[opt])
            if old is not None and old != _volume_of(opt, pend[opt]):
                add_unused_volume(conf, old)
        conf[opt] = pend.pop(opt)
    pending.cleanup_pending(conf)
    return errors


def update_config(env: Env, vmid: int, p: dict, log: Callable[[str], None]) -> None:
    """The body of ``$update_vm_api``'s ``$updatefn`` (run under the config lock)."""
    digest = p.pop("digest", None)
    skiplock = p.pop("skiplock", None)
    force = bool(p.pop("force", None))
    delete = [("ide2" if o == "cdrom" else o) for o in split_list(p.pop("delete", "") or "")]
    revert = split_list(p.pop("revert", "") or "")
    params = _config_params(p)
    conf = load_config(env, vmid)
    if digest and digest != conf["digest"]:
        raise PVEError(CHANGED_CONFIG)
    if not skiplock:
        QEMU.check_lock(conf)
    _check_balloon(conf, params)
    for opt in revert:
        if opt in conf:
            params[opt] = conf[opt]
        elif opt in conf["pending"]:
            delete.append(opt)
    shown = " ".join("-%s %s" % (k, "<hidden>" if k == "cipassword" else v) for k, v in sorted(params.items()))
    log("update VM %d: %s" % (vmid, shown) if shown else "update VM %d:" % vmid)
    vollist: list[str] = []
    modified: set[str] = set()
    for opt in delete:
        value = conf.get(opt, conf["pending"].get(opt))
        if value is None:
            env.stderr.write("cannot delete '%s' - not set in current configuration!\n" % opt) if env.rpc == "cli" else None
            continue
        modified.add(opt)
        was_pending = opt in conf["pending"]
        conf["pending"].pop(opt, None)
        if qmschema.is_drive_key(opt) or re.match(r"^unused\d+$", opt):
            check_protection(conf, "can't remove drive '%s'" % opt if qmschema.is_drive_key(opt)
                             else "can't remove unused disk '%s'" % value)
            if qmschema.is_drive_key(opt) and was_pending:
                vol = _volume_of(opt, value)
                if vol is not None and vol not in vm_volumes({k: v for k, v in conf.items() if k != "pending"}):
                    add_unused_volume(conf, vol)
        if opt == "tags":
            conf.pop(opt, None)
            continue
        pending.add_to_pending_delete(conf, opt, force)
    try:
        for opt in perl_sorted(params):
            value = params[opt]
            modified.add(opt)
            if conf["pending"].get(opt) == value:
                continue
            if qmschema.is_drive_key(opt):
                check_protection(conf, "can't update drive '%s'" % opt) if conf.get(opt) else None
                if conf["pending"].get(opt):
                    vol = _volume_of(opt, conf["pending"][opt])
                    if vol is not None:
                        add_unused_volume(conf, vol)
                value = create_disks(env, vmid, {opt: value}, None, log, vollist)[opt]
            elif opt == "cipassword":
                if not re.match(r"^(wxp|w2k|w2k3|w2k8|wvista|win7|win8|win10|win11)$", conf.get("ostype") or ""):
                    value = _encrypt_pw(value)
                conf["cipassword"] = value
                pending.remove_from_pending_delete(conf, opt)
                continue
            elif opt == "boot":
                order = qmschema.BOOT_FORMAT.parse(value).get("order")
                if order:
                    for dev in split_list(order):
                        if not (conf.get(dev) or conf["pending"].get(dev) or params.get(dev)) or dev in delete:
                            raise PVEError("invalid bootorder: device '%s' does not exist'" % dev)
                    if conf.get("bootdisk"):
                        pending.add_to_pending_delete(conf, "bootdisk")
            conf["pending"][opt] = value
            pending.remove_from_pending_delete(conf, opt)
    except BaseException:
        for volid in vollist:
            with contextlib.suppress(Exception):
                storage.free_volume(env.state, volid)
        raise
    pending.cleanup_pending(conf)
    running = vm_runtime(env.state).is_running(vmid)
    errors = apply_pending(env, vmid, conf, running, modified, log)
    write_config(env, vmid, conf)
    if errors:
        raise param_error(errors)


# --------------------------------------------------------------------------------------------
# handlers
# --------------------------------------------------------------------------------------------

@api("GET", "/nodes/{node}/qemu", params={"node": NODE, "full": Param("boolean")}, name="vmlist", protected=True)
def vmlist(env: Env, p: dict):
    runtime = vm_runtime(env.state)
    out = []
    for vmid in list_vm_ids(env):
        if not env.check_perm("/vms/%d" % vmid, ["VM.Audit"], noerr=True):
            continue
        try:
            conf = load_config(env, vmid)
        except PVEError:
            continue
        d = vmstatus(env, vmid, conf, runtime)
        if not p.get("full"):
            for k in ("qmpstatus", "running-machine", "pvesim-accel"):
                d.pop(k, None)
        out.append(d)
    return out


@api("GET", "/nodes/{node}/qemu/{vmid}", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vmdiridx")
def vmdiridx(env: Env, p: dict):
    load_config(env, p["vmid"])
    return [{"subdir": s} for s in ("config", "pending", "cloudinit", "status", "unlink", "vncproxy", "termproxy", "migrate",
                                    "resize", "move", "rrd", "rrddata", "monitor", "agent", "snapshot", "spiceproxy",
                                    "sendkey", "firewall", "mtunnel", "remote_migrate")]


def _discard_half_made_vm(env: Env, vmid: int, volids: list[str], log: Callable[[str], None]) -> None:
    """What a failed create or clone leaves: its new volumes are freed and its config dropped."""
    for volid in volids:
        with contextlib.suppress(Exception):
            storage.free_volume(env.state, volid, log=log)
    configs(env).remove(vmid)


def _check_vmid_unused(env: Env, vmid: int) -> None:
    info = env.state.vmlist().get(int(vmid))
    if info:
        raise PVEError("%s %d already exists on node '%s'" % ("CT" if info["type"] == "lxc" else "VM", vmid, info["node"]))


@api("POST", "/nodes/{node}/qemu", perm=None, params=CREATE_PARAMS, name="create_vm", protected=True)
def create_vm(env: Env, p: dict):
    st = env.state
    faults.check(st, "create_vm")
    vmid = int(p["vmid"])
    if p.get("archive"):
        raise PVEError("pvesim: restoring a VM from a backup archive is not simulated")
    default_storage = p.get("storage")
    pool = p.get("pool")
    start_after = p.get("start")
    if pool is not None:
        AuthStore(st.pve_path("")).check_pool_exist(pool)
    if default_storage is not None:
        env.check_perm("/storage/%s" % default_storage, ["Datastore.AllocateSpace"])
    if p.get("ha-managed"):
        env.check_perm("/", ["Sys.Console"])
    if start_after and not env.check_perm("/vms/%d" % vmid, ["VM.PowerMgmt"], noerr=True) and \
            not (pool and env.check_perm("/pool/%s" % pool, ["VM.PowerMgmt"], noerr=True)):
        raise perm_error("/vms/%d, VM.PowerMgmt" % vmid)
    if not env.check_perm("/vms/%d" % vmid, ["VM.Allocate"], noerr=True) and \
            not (pool and env.check_perm("/pool/%s" % pool, ["VM.Allocate"], noerr=True)):
        raise perm_error()
    params = _config_params(p)
    if "sshkeys" in params:
        validate_ssh_keys(params["sshkeys"])
    if params:
        check_drive_values(env, vmid, params, default_storage)
        check_modify_perm(env, vmid, params, params)
        normalise_params(env, params)
    if params.get("cipassword") and not re.match(r"^w", params.get("ostype") or ""):
        params["cipassword"] = _encrypt_pw(params["cipassword"])
    emsg = "unable to create VM %d -" % vmid
    try:
        with lock_config(env, vmid, timeout=1):
            _check_vmid_unused(env, vmid)
            write_config(env, vmid, {"lock": "create"})
    except PVEError as exc:
        raise PVEError("%s %s" % (emsg, exc.message)) from None

    def realcmd(worker: Worker) -> None:
        vollist: list[str] = []
        try:
            with lock_config(env, vmid):
                conf = dict(params)
                conf.update(create_disks(env, vmid, params, default_storage, worker.log, vollist))
                msg = faults.take_create_after_alloc(st)
                if msg is not None:
                    raise PVEError(msg)
                qmconfig.add_create_defaults(conf, QEMU_VERSION, mac_prefix=_mac_prefix(env))
                conf["pending"] = {}
                write_config(env, vmid, conf)
                if pool:
                    AuthStore(st.pve_path("")).add_vm_to_pool(vmid, pool)
        except BaseException as exc:
            _discard_half_made_vm(env, vmid, vollist, worker.log)
            raise PVEError("%s %s" % (emsg, getattr(exc, "message", None) or exc)) from None
        if p.get("ha-managed"):
            worker.log("Add as HA resource")
            worker.warn("pvesim: HA is not simulated")
        if start_after:
            worker.log("Execute autostart")
            try:
                with lock_config(env, vmid):
                    _do_start(env, vmid, worker, None)
            except PVEError as exc:
                worker.warn(exc.message)

    return fork_worker(env, "qmcreate", vmid, realcmd)


@api("GET", "/nodes/{node}/qemu/{vmid}/config", perm=Perm("/vms/{vmid}", ("VM.Audit",)),
     params=_nv(current=Param("boolean", default=0), snapshot=Param("string", format=fmt_configid, max_length=40)),
     name="vm_config")
def vm_config(env: Env, p: dict):
    faults.check(env.state, "vm_config")
    res = pending.config_view(load_config(env, p["vmid"]), p.get("snapshot"), p.get("current"))
    res.pop("special-sections", None)
    if res.get("cipassword"):
        res["cipassword"] = HIDDEN_VALUE
    return typed_config(res)


def typed_config(conf: dict) -> dict:
    """API typing: integer and boolean keys as JSON numbers, the rest strings."""
    out = {}
    for k, v in conf.items():
        p = qmschema.CONFDESC.get(k)
        if p is not None and p.type in ("integer", "boolean") and isinstance(v, str) and re.match(r"^\d+$", v):
            out[k] = int(v)
        else:
            out[k] = v
    return out


@api("GET", "/nodes/{node}/qemu/{vmid}/pending", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vm_pending")
def vm_pending(env: Env, p: dict):
    faults.check(env.state, "vm_pending")
    conf = load_config(env, p["vmid"])
    conf.pop("special-sections", None)
    if conf.get("cipassword") is not None:
        conf["cipassword"] = HIDDEN_VALUE
    if conf["pending"].get("cipassword") is not None:
        conf["pending"]["cipassword"] = HIDDEN_VALUE + " "
    return pending.pending_array(conf)


def _update(env: Env, p: dict, sync: bool):
    faults.check(env.state, "update_vm")
    vmid = p.pop("vmid")
    p.pop("node")
    p.pop("background_delay", None)
    _check_skiplock(env, p)
    if not (p.get("delete") or p.get("revert") or _config_params(p)):
        raise PVEError("no options specified")
    delete = split_list(p.get("delete") or "")
    revert = split_list(p.get("revert") or "")
    params = _config_params(p)
    for opt in revert:
        if opt not in qmschema.CONFDESC:
            raise param_error({"revert": "unknown option '%s'" % opt})
        if opt in params:
            raise param_error({"delete": "you can't use '-%s' and -revert %s' at the same time" % (opt, opt)})
    for opt in delete:
        if opt in params:
            raise param_error({"delete": "you can't use '-%s' and -delete %s' at the same time" % (opt, opt)})
        if opt in revert:
            raise param_error({"revert": "you can't use '-delete %s' and -revert %s' at the same time" % (opt, opt)})
        if opt not in qmschema.CONFDESC:
            raise param_error({"delete": "unknown option '%s'" % opt})
    check_drive_values(env, vmid, params, None)
    normalise_params(env, params)
    p.update(params)
    check_modify_perm(env, vmid, delete)
    check_modify_perm(env, vmid, params, params)
    # early checks before locking (the digest and the lock are checked again inside)
    conf = load_config(env, vmid)
    if p.get("digest") and p["digest"] != conf["digest"]:
        raise PVEError(CHANGED_CONFIG)
    if not p.get("skiplock"):
        QEMU.check_lock(conf)

    def locked_update(log: Callable[[str], None]) -> None:
        with lock_config(env, vmid):
            update_config(env, vmid, p, log)

    if sync:
        locked_update(lambda line: env.stdout.write(line + "\n") if env.rpc == "cli" else None)
        return None
    return fork_worker(env, "qmconfig", vmid, lambda worker: locked_update(worker.log))


@api("PUT", "/nodes/{node}/qemu/{vmid}/config", perm=Perm("/vms/{vmid}", VM_CONFIG_PRIVS, any_of=True), params=UPDATE_PARAMS,
     name="update_vm", protected=True)
def update_vm(env: Env, p: dict):
    return _update(env, p, sync=True)


@api("POST", "/nodes/{node}/qemu/{vmid}/config", perm=Perm("/vms/{vmid}", VM_CONFIG_PRIVS, any_of=True),
     params=ASYNC_UPDATE_PARAMS, name="update_vm_async", protected=True)
def update_vm_async(env: Env, p: dict):
    return _update(env, p, sync=False)


@api("GET", "/nodes/{node}/qemu/{vmid}/status", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vmcmdidx")
def vmcmdidx(env: Env, p: dict):
    load_config(env, p["vmid"])
    return [{"subdir": s} for s in ("current", "start", "stop", "reset", "shutdown", "suspend", "reboot", "resume")]


@api("GET", "/nodes/{node}/qemu/{vmid}/status/current", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params=NV, name="vm_status")
def vm_status(env: Env, p: dict):
    faults.check(env.state, "vm_status")
    vmid = p["vmid"]
    conf = load_config(env, vmid)
    d = vmstatus(env, vmid, conf)
    d["ha"] = {"managed": 0}
    if conf.get("agent") and qmschema.AGENT_FORMAT.parse(conf["agent"]).get("enabled"):
        d["agent"] = 1
    return d


def _do_start(env: Env, vmid: int, worker: Worker, skiplock) -> None:
    """QemuServer.pm ``vm_start`` (called with the config lock held)."""
    conf = load_config(env, vmid)
    if is_template(conf):
        raise PVEError("you can't start a vm if it's a template")
    runtime = vm_runtime(env.state)
    if not skiplock and conf.get("lock") != "suspended":
        QEMU.check_lock(conf)
    if runtime.is_running(vmid):
        raise PVEError("VM %d already running" % vmid)
    if conf["pending"]:
        apply_pending(env, vmid, conf, False, None, worker.log)
        write_config(env, vmid, conf)
        conf = load_config(env, vmid)
    runtime.start(worker.log, conf, vmid)


@api("POST", "/nodes/{node}/qemu/{vmid}/status/start", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(skiplock=SKIPLOCK, timeout=Param("integer", minimum=0), machine=Param("string"),
                **{"force-cpu": Param("string")}), name="vm_start", protected=True)
def vm_start(env: Env, p: dict):
    vmid = p["vmid"]
    _check_skiplock(env, p)

    def realcmd(worker: Worker) -> None:
        with lock_config(env, vmid):
            _do_start(env, vmid, worker, p.get("skiplock"))

    return fork_worker(env, "qmstart", vmid, realcmd)


def _locked_stop_checks(env: Env, vmid: int, skiplock) -> None:
    conf = load_config(env, vmid)
    if not skiplock:
        QEMU.check_lock(conf)


@api("POST", "/nodes/{node}/qemu/{vmid}/status/stop", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(skiplock=SKIPLOCK, timeout=Param("integer", minimum=0), keepActive=Param("boolean", default=0),
                **{"overrule-shutdown": Param("boolean", default=0)}), name="vm_stop", protected=True)
def vm_stop(env: Env, p: dict):
    vmid = p["vmid"]
    _check_skiplock(env, p)
    if p.get("keepActive") and not env.is_root_pam:
        raise param_error({"keepActive": "Only root may use this option."})

    def realcmd(worker: Worker) -> None:
        with lock_config(env, vmid):
            _locked_stop_checks(env, vmid, p.get("skiplock"))
            vm_runtime(env.state).stop(vmid, p.get("timeout"))

    return fork_worker(env, "qmstop", vmid, realcmd)


@api("POST", "/nodes/{node}/qemu/{vmid}/status/shutdown", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(skiplock=SKIPLOCK, timeout=Param("integer", minimum=0), forceStop=Param("boolean", default=0),
                keepActive=Param("boolean", default=0)), name="vm_shutdown", protected=True)
def vm_shutdown(env: Env, p: dict):
    vmid = p["vmid"]
    _check_skiplock(env, p)
    runtime = vm_runtime(env.state)
    force_stop = bool(p.get("forceStop"))
    paused = runtime.status(vmid) == "paused"
    if paused and not force_stop:
        raise PVEError("VM is paused - cannot shutdown")

    def realcmd(worker: Worker) -> None:
        with lock_config(env, vmid):
            _locked_stop_checks(env, vmid, p.get("skiplock"))
            if not runtime.is_running(vmid):
                return
            if paused:
                worker.warn("VM is paused - stop instead of shutdown")
                runtime.stop(vmid)
                return
            runtime.shutdown(vmid, p.get("timeout") if p.get("timeout") is not None else 60, force_stop)

    return fork_worker(env, "qmshutdown", vmid, realcmd)


@api("POST", "/nodes/{node}/qemu/{vmid}/status/reboot", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(timeout=Param("integer", minimum=0)), name="vm_reboot", protected=True)
def vm_reboot(env: Env, p: dict):
    vmid = p["vmid"]
    runtime = vm_runtime(env.state)
    if not runtime.is_running(vmid):
        raise PVEError("VM %d not running" % vmid)
    if runtime.status(vmid) == "paused":
        raise PVEError("VM is paused - cannot shutdown")

    def realcmd(worker: Worker) -> None:
        with lock_config(env, vmid):
            QEMU.check_lock(load_config(env, vmid))
            # QemuServer.pm vm_reboot: shutdown (stop after the timeout), then start with pending applied
            runtime.shutdown(vmid, p.get("timeout") if p.get("timeout") is not None else 60, True)
            _do_start(env, vmid, worker, None)

    return fork_worker(env, "qmreboot", vmid, realcmd)


def _pause_or_resume(env: Env, p: dict, task: str, resume: bool):
    """``vm_suspend`` (not to disk: task ``qmpause``) and ``vm_resume``: ``VM <id> not running`` first."""
    vmid = p["vmid"]
    _check_skiplock(env, p)
    runtime = vm_runtime(env.state)
    if not runtime.is_running(vmid):
        raise PVEError("VM %d not running" % vmid)

    def realcmd(worker: Worker) -> None:
        with lock_config(env, vmid):
            _locked_stop_checks(env, vmid, p.get("skiplock"))
            (runtime.resume if resume else runtime.pause)(vmid)

    return fork_worker(env, task, vmid, realcmd)


@api("POST", "/nodes/{node}/qemu/{vmid}/status/suspend", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(skiplock=SKIPLOCK, todisk=Param("boolean", default=0), statestorage=STORAGE), name="vm_suspend",
     protected=True)
def vm_suspend(env: Env, p: dict):
    if p.get("todisk"):
        raise PVEError("pvesim: suspend to disk (hibernation) is not simulated")
    return _pause_or_resume(env, p, "qmpause", resume=False)


@api("POST", "/nodes/{node}/qemu/{vmid}/status/resume", perm=Perm("/vms/{vmid}", ("VM.PowerMgmt",)),
     params=_nv(skiplock=SKIPLOCK, nocheck=Param("boolean")), name="vm_resume", protected=True)
def vm_resume(env: Env, p: dict):
    return _pause_or_resume(env, p, "qmresume", resume=True)


@api("DELETE", "/nodes/{node}/qemu/{vmid}", perm=Perm("/vms/{vmid}", ("VM.Allocate",)),
     params=_nv(skiplock=SKIPLOCK, purge=Param("boolean"), **{"destroy-unreferenced-disks": Param("boolean", default=0)}),
     name="destroy_vm", protected=True)
def destroy_vm(env: Env, p: dict):
    vmid = p["vmid"]
    _check_skiplock(env, p)
    st = env.state
    runtime = vm_runtime(st)

    def early_checks() -> dict:
        conf = load_config(env, vmid)
        check_protection(conf, "can't remove VM %d" % vmid)
        if runtime.is_running(vmid):
            raise PVEError("VM %d is running - destroy failed" % vmid)
        return conf

    early_checks()

    def realcmd(worker: Worker) -> None:
        with lock_config(env, vmid):
            conf = early_checks()
            # QemuServer.pm destroy_vm: check the lock, mark the config, free every owned volume
            if not p.get("skiplock"):
                QEMU.check_lock(conf)
            write_config(env, vmid, {"lock": "destroyed"})
            vols = set(vm_volumes(conf)) | set(vm_volumes(conf["pending"]))
            for snap in conf["snapshots"].values():
                vols |= set(vm_volumes(snap))
            storage.free_owned_volumes(st, vmid, vols, log=worker.log)
            if p.get("destroy-unreferenced-disks"):
                for sid, scfg in st.storage_config().items():
                    if "images" not in storage.content_set(scfg) or scfg.get("disable") in ("1", 1):
                        continue
                    with contextlib.suppress(PVEError):
                        for v in storage.list_volumes(st, sid, vmid=vmid):
                            storage.free_volume(st, v["volid"], log=worker.log)
            if p.get("purge"):
                worker.log("purging VM %d from related configurations.." % vmid)
            configs(env).remove(vmid)

    return fork_worker(env, "qmdestroy", vmid, realcmd)


@api("POST", "/nodes/{node}/qemu/{vmid}/template", perm=Perm("/vms/{vmid}", ("VM.Allocate",)),
     params=_nv(disk=Param("string", enum=[k for k in qmschema.CONFDESC if qmschema.is_drive_key(k)])), name="template",
     protected=True)
def template(env: Env, p: dict):
    """Qemu.pm ``template``: the ``qmtemplate`` task sets ``template: 1``, then ``template_create``
    turns every managed disk (or only ``disk``) into a base volume."""
    vmid = p["vmid"]
    st = env.state
    runtime = vm_runtime(st)

    def load_and_check() -> dict:
        conf = load_config(env, vmid)
        QEMU.check_lock(conf)
        if conf["snapshots"]:
            raise PVEError("unable to create template, because VM contains snapshots")
        if is_template(conf) and not p.get("disk"):
            raise PVEError("you can't convert a template to a template")
        if runtime.is_running(vmid):
            raise PVEError("you can't convert a VM to template if VM is running")
        return conf

    load_and_check()

    def realcmd(worker: Worker) -> None:
        with lock_config(env, vmid):
            conf = load_and_check()
            conf["template"] = "1"
            write_config(env, vmid, conf)
            for key in qmconfig.drive_keys(conf):
                if p.get("disk") and key != p["disk"]:
                    continue
                drive = qmconfig.parse_drive(key, conf[key])
                vol = _volume_of(key, conf[key])
                if vol is None or qmconfig.drive_is_cloudinit(drive) or "base-" in vol:
                    continue
                drive["file"] = storage.create_base(st, vol)
                conf[key] = qmconfig.print_drive(drive)
                write_config(env, vmid, conf)

    return fork_worker(env, "qmtemplate", vmid, realcmd)


def _linked_clone_possible(st, volid: str) -> bool:
    """Storage.pm ``volume_has_feature(clone)``: a base volume on a storage that clones thinly."""
    return "base-" in volid and storage.volume_has_feature(st, "clone", volid)


@api("POST", "/nodes/{node}/qemu/{vmid}/clone", perm=Perm("/vms/{vmid}", ("VM.Clone",)), params=_nv(
    newid=VMID, name=Param("string", format=qmschema.CONFDESC["name"].format), description=Param("string"),
    pool=Param("string"), snapname=Param("string", pattern=r"[a-zA-Z][a-zA-Z0-9_\-]+", max_length=40), storage=STORAGE,
    format=Param("string", enum=["raw", "qcow2", "vmdk"]), full=Param("boolean"), target=Param("string"),
    bwlimit=Param("integer", minimum=0)), name="clone_vm", protected=True)
def clone_vm(env: Env, p: dict):
    st = env.state
    vmid, newid = p["vmid"], p["newid"]
    pool = p.get("pool")
    if pool is not None:
        AuthStore(st.pve_path("")).check_pool_exist(pool)
    if not env.check_perm("/vms/%d" % newid, ["VM.Allocate"], noerr=True) and \
            not (pool and env.check_perm("/pool/%s" % pool, ["VM.Allocate"], noerr=True)):
        raise perm_error("/vms/%d, VM.Allocate" % newid)
    target = p.get("target")
    if target and target not in (st.node, "localhost"):
        raise PVEError("no such cluster node '%s'" % target)
    target_storage = p.get("storage")
    if target_storage:
        _images_storage(env, target_storage, "storage")
    runtime = vm_runtime(st)
    if vmid == newid:
        raise param_error({"newid": "new VM ID has to be different from old ID"})

    def load_and_check() -> tuple[dict, dict, dict[str, dict], set[str]]:
        conf = load_config(env, vmid)
        QEMU.check_lock(conf)
        snapname = p.get("snapname")
        if snapname and snapname not in conf["snapshots"]:
            raise PVEError("snapshot '%s' does not exist" % snapname)
        full = p.get("full")
        if full is None:
            full = not is_template(conf)
        if target_storage is not None and not full:
            raise PVEError("parameter 'storage' not allowed for linked clones")
        if p.get("format") is not None and not full:
            raise PVEError("parameter 'format' not allowed for linked clones")
        if configs(env).exists(newid) or int(newid) in st.vmlist():
            raise PVEError("unable to create VM %d: config file already exists" % newid)
        oldconf = conf["snapshots"][snapname] if snapname else conf
        newconf: dict = {"lock": "clone"}
        drives: dict[str, dict] = {}
        fullclone: set[str] = set()
        for opt in perl_sorted(oldconf):
            value = oldconf[opt]
            if opt in ("snapshots", "pending", "special-sections", "digest", "parent", "snaptime", "vmstate", "snapstate",
                       "runningmachine", "runningcpu", "lock") or re.match(r"^unused\d+$", opt):
                continue
            if re.match(r"^net\d+$", opt):
                net = qmconfig.parse_net(value)
                net["macaddr"] = random_ether_addr(_mac_prefix(env))
                newconf[opt] = qmconfig.print_net(net)
            elif qmschema.is_drive_key(opt):
                drive = qmconfig.parse_drive(opt, value)
                if qmconfig.drive_is_cdrom(drive) and not qmconfig.drive_is_cloudinit(drive):
                    newconf[opt] = value
                    continue
                msg = "clone feature is not supported for%s '%s' (%s)" % (" a snapshot of" if snapname else "", drive["file"], opt)
                if full or qmconfig.drive_is_cloudinit(drive) or opt == "tpmstate0":
                    if _volume_of(opt, value) is None:
                        raise PVEError("Full %s" % msg)
                    fullclone.add(opt)
                elif not _linked_clone_possible(st, drive["file"]):
                    raise PVEError("Linked %s" % msg)
                drives[opt] = drive
            else:
                newconf[opt] = value
        return conf, newconf, drives, fullclone

    load_and_check()

    def clonefn(worker: Worker) -> None:
        with lock_config(env, vmid), lock_config(env, newid):
            conf, newconf, drives, fullclone = load_and_check()
            worker.log("creating a clone of VM %d with ID %d" % (vmid, newid))
            smbios = qmschema.SMBIOS1_FORMAT.parse(newconf.get("smbios1") or "")
            smbios["uuid"] = str(uuid.uuid4())
            newconf["smbios1"] = qmschema.SMBIOS1_FORMAT.print(smbios)
            if newconf.get("vmgenid"):
                newconf["vmgenid"] = str(uuid.uuid4())
            newconf.pop("template", None)
            newconf["name"] = p.get("name") or "Copy-of-VM-%s" % (conf.get("name") or vmid)
            if p.get("description"):
                newconf["description"] = p["description"]
            write_config(env, newid, {"lock": "clone"})
            newvols: list[str] = []
            try:
                for opt in perl_sorted(drives):
                    drive = dict(drives[opt])
                    src = drive["file"]
                    src_sid = src.split(":", 1)[0]
                    sid = (target_storage or src_sid) if opt in fullclone else src_sid
                    if qmconfig.drive_is_cloudinit(drive):
                        scfg = storage.storage_check_enabled(st, sid)
                        fmt = "qcow2" if scfg["type"] in storage.FILE_TYPES else "raw"
                        drive["file"] = storage.alloc_image(st, sid, newid, 4 * 1024, fmt=fmt, name="vm-%d-cloudinit" % newid,
                                                            log=worker.log)
                        newvols.append(drive["file"])
                    else:
                        worker.log("create %s clone of drive %s (%s)" % ("full" if opt in fullclone else "linked", opt, src))
                        size = storage.volume_size(st, src) or 0
                        src_path, _vtype = storage.volume_path(st, src)
                        scfg = storage.storage_check_enabled(st, sid)
                        fmt = p.get("format") or ("qcow2" if str(src_path).endswith(".qcow2") and scfg["type"] in storage.FILE_TYPES
                                                  else "raw")
                        newvol = storage.alloc_image(st, sid, newid, size // 1024, fmt=fmt, log=worker.log)
                        newvols.append(newvol)
                        dst, _vtype = storage.volume_path(st, newvol)
                        storage.copy_volume_data(src_path, dst)
                        drive["file"] = newvol
                        drive["size"] = size
                    newconf[opt] = qmconfig.print_drive(drive)
                    write_config(env, newid, dict(newconf))
                newconf.pop("lock", None)
                newconf["pending"] = {}
                write_config(env, newid, newconf)
                if pool:
                    AuthStore(st.pve_path("")).add_vm_to_pool(newid, pool)
            except BaseException as exc:
                _discard_half_made_vm(env, newid, newvols, worker.log)
                raise PVEError("clone failed: %s" % (getattr(exc, "message", None) or exc)) from None
            if runtime.is_running(vmid) and not p.get("snapname") and fullclone:
                worker.log("pvesim: the disks were copied while the source VM ran (no drive-mirror)")

    return fork_worker(env, "qmclone", vmid, clonefn)


@api("PUT", "/nodes/{node}/qemu/{vmid}/resize", perm=Perm("/vms/{vmid}", ("VM.Config.Disk",)),
     params=_nv(skiplock=SKIPLOCK, disk=Param("string", optional=False, enum=[k for k in qmschema.CONFDESC if qmschema.is_drive_key(k)]),
                size=Param("string", optional=False, pattern=r"\+?\d+(\.\d+)?[KMGT]?"), digest=Param("string", max_length=40)),
     name="resize_vm", protected=True)
def resize_vm(env: Env, p: dict):
    """Qemu.pm ``resize_vm``: a ``resize`` task; every check runs inside it (``qm disk resize`` has no
    ``$upid_exit``, so it exits 0 even when the task fails, as ``pct resize``)."""
    vmid = p["vmid"]
    _check_skiplock(env, p)
    st = env.state
    m = re.match(r"^(\+)?(\d+(\.\d+)?)([KMGT])?$", p["size"])
    ext = m.group(1)
    disk = p["disk"]

    def updatefn(worker: Worker) -> None:
        with lock_config(env, vmid):
            conf = load_config(env, vmid)
            if p.get("digest") and p["digest"] != conf["digest"]:
                raise PVEError(CHANGED_CONFIG)
            if not p.get("skiplock"):
                QEMU.check_lock(conf)
            if not conf.get(disk):
                raise PVEError("disk '%s' does not exist" % disk)
            drive = qmconfig.parse_drive(disk, conf[disk])
            if qmconfig.drive_is_cdrom(drive):
                raise PVEError("you can't resize a cdrom")
            vol = _volume_of(disk, conf[disk])
            if vol is None:
                raise PVEError("disk '%s' has no associated volume" % disk)
            env.check_perm("/storage/%s" % vol.split(":", 1)[0], ["Datastore.AllocateSpace"])
            size = storage.volume_size(st, vol)
            if size is None:
                raise PVEError("Could not determine current size of volume '%s'" % vol)
            newsize = int(parse_size(m.group(2) + (m.group(4) or "")) + (size if ext else 0))
            if newsize < size:
                raise PVEError("shrinking disks is not supported")
            if newsize == size:
                return
            path, _vtype = storage.volume_path(st, vol)
            if path.is_file() and not str(path).endswith(".qcow2"):
                with open(str(path), "r+b") as fh:
                    fh.truncate(newsize)
            storage.set_volume_size(path, newsize)
            drive["size"] = newsize
            conf[disk] = qmconfig.print_drive(drive)
            write_config(env, vmid, conf)

    return fork_worker(env, "resize", vmid, updatefn)


def unlock(env: Env, vmid: int) -> None:
    """qm.pm ``unlock``: drop the lock (no error when there is none, unlike ``pct unlock``)."""
    with lock_config(env, vmid):
        conf = load_config(env, vmid)
        conf.pop("lock", None)
        conf["pending"].pop("lock", None)
        write_config(env, vmid, conf)


@api("GET", "/nodes/{node}/qemu/{vmid}/cloudinit/dump", perm=Perm("/vms/{vmid}", ("VM.Audit",)),
     params=_nv(type=Param("string", optional=False, enum=["user", "network", "meta"])), name="cloudinit_generated_config_dump")
def cloudinit_dump(env: Env, p: dict):
    """Qemu.pm ``cloudinit_generated_config_dump`` (NoCloud, as :mod:`pvesim.qemu.cloudinit` builds it)."""
    from .qemu import cloudinit

    conf = load_config(env, p["vmid"])
    return cloudinit.nocloud_files(conf, p["vmid"])["%s-data" % p["type"] if p["type"] != "network" else "network-config"]
