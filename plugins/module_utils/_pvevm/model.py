# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one canonical model of a Proxmox VM (qemu-server) config, client side.

As ``_pve.model`` for containers: a config is a *flat* dict keyed by Proxmox config keys (``net0``,
``scsi0``, ``ipconfig0``, ``memory`` ...) with canonical Python values: property strings become
dicts, sizes ``32G``, booleans ``True``/``False``, ``boot`` the list of its ``order`` devices,
``sshkeys`` the list of keys, tags and DNS lists lists.  ``from_raw`` reads what ``qm config`` or
``GET .../qemu/{vmid}/config`` prints (``parse_config_text``; ``qm pending`` and ``GET .../pending``
through ``_pve.model``'s parsers, the format is pve-guest-common's for both guest types);
``desired_from_params`` builds the same shape from module parameters; ``value_to_raw`` renders one
value for ``qm set`` or the API; ``public`` is the module's input shape (``net`` and ``ipconfig``
lists, ``disks`` dict), which ``pve_vm_info`` returns so that feeding it back is a no-op.

The property strings go through ``_pve.propstring`` with the VM schemas below (qemu-server 9.2.6
``PVE/QemuServer/Network.pm`` ``$net_fmt``, ``Drive.pm`` ``%drivedesc_base``, ``$ipconfig_fmt``,
``Agent.pm`` ``$agent_fmt``, ``CPUConfig.pm`` ``$cpu_fmt``), plus the one VM speciality: ``netN``
prints model and MAC fused (``virtio=BC:24:11:AA:BB:CC,bridge=vmbr0``).

``cipassword`` is a secret Proxmox never prints back (``GET config`` shows ``**********``, it stores
a salted SHA-256 crypt hash, pve-common Tools.pm encrypt_pw): the current side holds :data:`MASKED_VALUE` when one is set, ``public`` drops it.
"""

from __future__ import annotations

import copy
import re
from urllib.parse import quote, unquote

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._pve import inputcheck
from ansible_collections.lxcri.containers.plugins.module_utils._pve import model as pve_model
from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps
from ansible_collections.lxcri.containers.plugins.module_utils._pve.conffile import MASKED_VALUE

NIC_MODELS = ("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b",
              "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3")
# Highest index per bus (Drive.pm $MAX_IDE_DISKS 4, $MAX_SATA_DISKS 6, $MAX_SCSI_DISKS 31, $MAX_VIRTIO_DISKS 16).
DISK_BUSES = {"ide": 3, "sata": 5, "scsi": 30, "virtio": 15}
MAX_NET = 31
# QemuServer.pm $confdesc enums.
OSTYPES = ("other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris")
BIOSES = ("seabios", "ovmf")
SCSIHWS = ("lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi")
CITYPES = ("configdrive2", "nocloud", "opennebula")

NET_SCHEMA = {"default": "model", "required": ("model",), "keys": {
    "model": "str", "macaddr": "str", "bridge": "str", "firewall": "bool", "link_down": "bool", "mtu": "int",
    "queues": "int", "rate": "number", "tag": "int", "trunks": "intlist"}}
DISK_SCHEMA = {"default": "file", "required": ("file",), "keys": dict(
    {"file": "str", "size": "size", "media": "str", "cache": "str", "format": "str", "aio": "str", "discard": "str",
     "rerror": "str", "werror": "str", "serial": "str", "product": "str", "vendor": "str", "model": "str", "wwn": "str",
     "iothread": "bool", "ssd": "bool", "backup": "bool", "replicate": "bool", "ro": "bool", "shared": "bool",
     "snapshot": "bool", "detect_zeroes": "bool", "queues": "int", "import-from": "str",
     # efidisk0 ($efidisk_fmt) and tpmstate0 ($tpmstate_fmt)
     "efitype": "str", "pre-enrolled-keys": "bool", "ms-cert": "str", "version": "str"},
    **dict((key, "number") for key in ("mbps", "mbps_rd", "mbps_wr", "mbps_max", "mbps_rd_max", "mbps_wr_max")),
    **dict((key, "int") for key in ("iops", "iops_rd", "iops_wr", "iops_max", "iops_rd_max", "iops_wr_max", "bps_max_length",
                                    "bps_rd_max_length", "bps_wr_max_length", "iops_max_length", "iops_rd_max_length",
                                    "iops_wr_max_length")))}
IPCONFIG_SCHEMA = {"default": None, "required": (), "keys": {"ip": "str", "gw": "str", "ip6": "str", "gw6": "str"}}
AGENT_SCHEMA = {"default": "enabled", "required": ("enabled",), "keys": {
    "enabled": "bool", "fstrim_cloned_disks": "bool", "freeze-fs": "bool", "freeze-fs-on-backup": "bool", "type": "str"}}
CPU_SCHEMA = {"default": "cputype", "required": (), "keys": {
    "cputype": "str", "reported-model": "str", "hidden": "bool", "hv-vendor-id": "str", "flags": "list", "phys-bits": "str",
    "guest-phys-bits": "int", "level": "int"}}
MACHINE_SCHEMA = {"default": "type", "required": (), "keys": {"type": "str", "viommu": "str", "enable-s3": "bool"}}
BOOT_SCHEMA = {"default": "legacy", "required": (), "keys": {"order": "str", "legacy": "str"}}
MEMORY_SCHEMA = {"default": "current", "required": (), "keys": {"current": "int"}}

INT_KEYS = ("cores", "sockets", "balloon", "cpuunits", "vcpus")
NUMBER_KEYS = ("cpulimit",)
BOOL_KEYS = ("onboot", "protection", "numa", "acpi", "kvm", "tablet", "template", "ciupgrade")
STR_KEYS = ("name", "ostype", "bios", "scsihw", "hookscript", "ciuser", "citype")
LIST_KEYS = ("nameserver", "searchdomain")
SECRET_KEYS = ("cipassword",)
# Written by Proxmox itself: outside the compared model.
IGNORED_KEYS = ("digest", "lock", "meta", "smbios1", "vmgenid", "parent", "snaptime", "vmstate", "runningmachine", "runningcpu")

# Scalar keys by the kind ``_pve.propstring`` parses and formats.
SCALAR_KINDS = dict([(k, "int") for k in INT_KEYS] + [(k, "number") for k in NUMBER_KEYS] + [(k, "bool") for k in BOOL_KEYS])

NET_RE = re.compile(r"net(\d+)")
IPCONFIG_RE = re.compile(r"ipconfig(\d+)")
DISK_RE = re.compile(r"(ide|sata|scsi|virtio)(\d+)|(efidisk0|tpmstate0)")
UNUSED_RE = re.compile(r"unused(\d+)")
MAC_RE = re.compile(r"[a-f0-9][02468ace](:[a-f0-9]{2}){5}", re.IGNORECASE)
# Drive.pm $NEW_DISK_RE: "<storage>:<GiB>" allocates a new volume.
NEW_DISK_RE = re.compile(r"(?:([^/:\s]+):)?(\d+(?:\.\d+)?)")
# Drive.pm drive_is_cloudinit.
CLOUDINIT_RE = re.compile(r".*[:/](?:vm-\d+-)?cloudinit(?:\.(?:raw|qcow2|vmdk|subvol))?")
BOOT_DEVICE_RE = re.compile(r"(ide|sata|scsi|virtio)\d+|net\d+|hostpci\d+|usb\d+|efidisk0|tpmstate0")

# Options of the module (pve_vm) that hold config; pve_vm_info returns exactly these in ``config``.
CONFIG_OPTIONS = ("name", "cores", "sockets", "cpu", "vcpus", "cpulimit", "cpuunits", "numa", "memory", "balloon", "ostype",
                  "machine", "bios", "scsihw", "net", "disks", "boot", "agent", "acpi", "kvm", "tablet", "ciuser", "citype",
                  "ciupgrade", "sshkeys", "ipconfig", "nameserver", "searchdomain", "onboot", "startup", "tags", "description",
                  "protection", "hookscript")


def is_disk(key):
    match = DISK_RE.fullmatch(key)
    return bool(match) and (match.group(3) is not None or int(match.group(2)) <= DISK_BUSES[match.group(1)])


def is_net(key):
    return bool(NET_RE.fullmatch(key)) and int(key[3:]) <= MAX_NET


def is_ipconfig(key):
    return bool(IPCONFIG_RE.fullmatch(key)) and int(key[8:]) <= MAX_NET


def is_cloudinit(file):
    return bool(CLOUDINIT_RE.fullmatch(str(file or "")))


def is_cdrom(disk):
    return (disk or {}).get("media") == "cdrom"


def volume_storage(file):
    return pve_model.volume_storage(file)


def _schema(key):
    if is_ipconfig(key):
        return IPCONFIG_SCHEMA
    if is_disk(key) or UNUSED_RE.fullmatch(key):
        return DISK_SCHEMA
    return {"agent": AGENT_SCHEMA, "cpu": CPU_SCHEMA, "machine": MACHINE_SCHEMA, "startup": ps.SCHEMAS["startup"]}.get(key)


def parse_net(key, text):
    """``virtio=BC:24:11:AA:BB:CC,bridge=vmbr0`` -> ``{model: virtio, macaddr: ..., bridge: vmbr0}``."""
    parts = []
    for part in str(text).split(","):
        name, sep, value = part.strip().partition("=")
        if sep and name in NIC_MODELS:  # $net_fmt's keyAlias: <model>=<macaddr>
            parts += ["model=" + name, "macaddr=" + value]
        else:
            parts.append(part)
    return ps.parse_propstring(key, ",".join(parts), NET_SCHEMA)


def format_net(key, net):
    """Proxmox's order (print_net): ``<model>=<mac>`` fused first, then the other keys sorted."""
    rest = dict((k, v) for k, v in net.items() if k not in ("model", "macaddr"))
    head = net["model"] if net.get("macaddr") is None else "%s=%s" % (net["model"], net["macaddr"])
    tail = ps.format_propstring(key, rest, dict(NET_SCHEMA, default=None, required=()))
    return head + ("," + tail if tail else "")


def value_from_raw(key, value):
    """One printed value -> canonical value (``None`` for keys outside the model)."""
    if value is None or key in IGNORED_KEYS:
        return None
    if key in SECRET_KEYS:
        return MASKED_VALUE
    if key in SCALAR_KINDS:
        return ps._parse_value(SCALAR_KINDS[key], value, key)
    if key in LIST_KEYS:
        return ps.parse_list(value, r"[\s,;]+")
    if key == "memory":  # '[current=]<MiB>' (Memory.pm $memory_fmt)
        return ps.parse_propstring(key, value, MEMORY_SCHEMA).get("current")
    if key == "tags":
        return ps.parse_tags(value)
    if key == "description":
        return ps.canonical_description(value)
    if key == "sshkeys":  # stored URL-encoded ($confdesc_cloudinit sshkeys format 'urlencoded')
        return [line.strip() for line in unquote(str(value)).split("\n") if line.strip()]
    if key == "boot":
        order = ps.parse_propstring(key, value, BOOT_SCHEMA).get("order")
        # The deprecated 'cdn' form has no order: left alone, outside the model.
        return None if order is None else [dev for dev in order.split(";") if dev]
    if is_net(key):
        return parse_net(key, value)
    schema = _schema(key)
    if schema is not None:
        return ps.parse_propstring(key, value, schema)
    return str(value)


def from_raw(raw):
    """A dict of key -> printed value -> canonical flat config (keys outside the model dropped)."""
    canonical = dict((key, value_from_raw(key, value)) for key, value in raw.items())
    return dict((key, value) for key, value in canonical.items() if value is not None)


def parse_config_text(text):
    """``qm config`` output -> ``{key: printed value}``, description decoded.  qm.pm ``config`` prints what
    pct.pm does (sorted ``key: value``, ``encode_text`` description), so ``_pve.model``'s parser reads it."""
    return pve_model.parse_config_text(text)[0]


def parse_list_text(text):
    """``qm list`` -> rows ``{vmid, name, status, maxmem_mb, bootdisk_gb, pid}`` (qm.pm ``list``:
    ``%10s %-20s %-10s %-10s %12.2f %-10s``).  A VM without a name is listed as ``VM <vmid>``
    (QemuServer.pm vmstatus): ``name`` is None for it.  Names longer than 20 characters push the
    columns right, so the row is read from both ends (a VM name is a DNS name: no spaces)."""
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 6 or not fields[0].isdigit():
            continue
        vmid = int(fields[0])
        name = " ".join(fields[1:-4])
        rows.append({"vmid": vmid, "name": None if name == "VM %d" % vmid else name, "status": fields[-4],
                     "maxmem_mb": ps.parse_number(fields[-3], "maxmem"), "bootdisk_gb": ps.parse_number(fields[-2], "bootdisk"),
                     "pid": ps.parse_int(fields[-1], "pid") or None})
    return rows


# `qm pending` and GET .../qemu/{vmid}/pending print PVE::GuestHelpers::format_pending /
# config_with_pending_array, the same as for CTs: (pending view, pending keys[, digest]).
parse_pending_text = pve_model.parse_pending_text
parse_pending_api = pve_model.parse_pending_api


def value_to_raw(key, value):
    """Canonical value -> the string ``qm set``/``create`` and the API accept."""
    if key in SCALAR_KINDS:
        return ps._format_value(SCALAR_KINDS[key], value)
    if key in LIST_KEYS:
        return " ".join(value)
    if key == "tags":
        return ps.format_tags(value)
    if key == "sshkeys":
        return quote("\n".join(value) + "\n", safe="")
    if key == "boot":
        return "order=" + ";".join(value)
    if is_net(key):
        return format_net(key, value)
    schema = _schema(key)
    if schema is not None:
        if schema is DISK_SCHEMA:
            value = dict((k, v) for k, v in value.items() if k != "storage")
        return ps.format_propstring(key, value, schema)
    return str(value)


# ---------------------------------------------------------------------------
# Module parameters -> desired flat config.

def _sub_values(field, key, value, schema, skip=()):
    """A user dict of property-string sub-values -> typed dict (strings free of separators and control characters)."""
    if isinstance(value, str):  # the whole property string: parsed, then each sub-value checked as if given alone
        inputcheck.no_control_chars(field, value)
        value = parse_net(key, value) if schema is NET_SCHEMA else ps.parse_propstring(key, value, schema)
    if not isinstance(value, dict):
        raise invalid_argument(field, "expected a dict of options, got %r" % (value,))
    parsed = {}
    for sub, sub_value in value.items():
        if sub_value is None or sub in skip:
            continue
        if sub not in schema["keys"]:
            raise invalid_argument("%s.%s" % (field, sub), "unknown option; known: %s" % ", ".join(sorted(schema["keys"])))
        kind = schema["keys"][sub]
        if kind == "intlist" and isinstance(sub_value, (list, tuple)):
            sub_value = ";".join(str(item) for item in sub_value)
        parsed[sub] = pve_model.user_sub_value(kind, sub_value, "%s.%s" % (field, sub))
    return parsed


def _net_from_param(key, value):
    field = "net[%s]" % key[3:]
    net = _sub_values(field, key, value, NET_SCHEMA, skip=("id", "index"))
    if net.get("model") is not None and net["model"] not in NIC_MODELS:
        raise invalid_argument(field + ".model", "%r is not one of %s" % (net["model"], ", ".join(NIC_MODELS)))
    if net.get("macaddr") is not None and not MAC_RE.fullmatch(net["macaddr"]):
        raise invalid_argument(field + ".macaddr", "%r is not a unicast MAC address" % (net["macaddr"],))
    if net.get("bridge") is not None:
        inputcheck.interface_name(field + ".bridge", net["bridge"])
    if net.get("tag") is not None and not 1 <= net["tag"] <= 4094:
        raise invalid_argument(field + ".tag", "VLAN tag must be 1..4094")
    if net.get("mtu") is not None and not 1 <= net["mtu"] <= 65520:
        raise invalid_argument(field + ".mtu", "MTU must be 1..65520 (1 = the bridge's MTU)")
    if net.get("rate") is not None and net["rate"] < 0:
        raise invalid_argument(field + ".rate", "must be 0 or more (MB/s)")
    return net


def _disk_from_param(key, value):
    field = "disks.%s" % key
    if not is_disk(key):
        raise invalid_argument("disks", "%r is not a disk key (ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0)" % (key,))
    if not isinstance(value, dict):
        raise invalid_argument(field, "expected a dict with storage and size (or file), got %r" % (value,))
    value = dict(value)
    storage = value.pop("storage", None)
    size = value.pop("size", None)
    disk = _sub_values(field, key, value, DISK_SCHEMA)
    if storage is not None:
        disk["storage"] = inputcheck.propstring_value(field + ".storage", str(storage))
    if size is not None:
        disk["size"] = ps.canonical_size(size, field + ".size", default_unit="G")
        if ps.parse_size(disk["size"]) <= 0:
            raise invalid_argument(field + ".size", "must be more than 0")
    new = NEW_DISK_RE.fullmatch(str(disk.get("file", "")))
    if new:  # "<storage>:<GiB>" is the allocation form: the same as storage + size
        del disk["file"]
        disk.setdefault("storage", new.group(1))
        disk["size"] = ps.canonical_size(new.group(2), field + ".file", default_unit="G")
    if disk.get("media") not in (None, "cdrom", "disk"):
        raise invalid_argument(field + ".media", "must be cdrom or disk")
    if disk.get("media") is None and (str(disk.get("file")) in ("none", "cdrom") or is_cloudinit(disk.get("file"))):
        disk["media"] = "cdrom"  # as Proxmox adds it (QemuServer.pm parse_drive, API2/Qemu.pm create_disks)
    return disk


def _ipconfig_from_param(key, value):
    field = "ipconfig[%s]" % key[8:]
    ipconfig = _sub_values(field, key, value, IPCONFIG_SCHEMA, skip=("id", "index"))
    for sub, check, version in (("ip", inputcheck.ip_config, 4), ("gw", inputcheck.ip_address, 4),
                                ("ip6", inputcheck.ip_config, 6), ("gw6", inputcheck.ip_address, 6)):
        if ipconfig.get(sub) is not None:
            check("%s.%s" % (field, sub), ipconfig[sub], version)
    # Network.pm parse_ipconfig refuses a gateway without an address.
    for gw, ip in (("gw", "ip"), ("gw6", "ip6")):
        if ipconfig.get(gw) and not ipconfig.get(ip):
            raise invalid_argument("%s.%s" % (field, gw), "a gateway needs %s.%s" % (field, ip))
    return ipconfig


def _enum(key, value, choices):
    if value not in choices:
        raise invalid_argument(key, "%r is not one of %s" % (value, ", ".join(choices)))
    return value


def _propstring_option(key, value, schema):
    """``cpu``/``machine``/``agent``: the whole property string as a string, or a dict of its sub-keys."""
    if isinstance(value, bool) and key == "agent":
        return {"enabled": value}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _sub_values(key, key, value, schema)


def desired_from_params(params):
    """Module parameters -> desired flat config (only declared keys).  Disks keep a ``storage`` helper key."""
    desired = pve_model.shared_from_params(params)
    for key in INT_KEYS + NUMBER_KEYS + BOOL_KEYS:
        if params.get(key) is not None and key != "template":
            desired[key] = ps._parse_value(SCALAR_KINDS[key], params[key], key)
    for key in STR_KEYS:
        if params.get(key) is not None:
            desired[key] = inputcheck.no_control_chars(key, str(params[key]))
    if desired.get("name") is not None:
        inputcheck.dns_name("name", desired["name"])
    for key, choices in (("ostype", OSTYPES), ("bios", BIOSES), ("scsihw", SCSIHWS), ("citype", CITYPES)):
        if desired.get(key) is not None:
            _enum(key, desired[key], choices)
    if params.get("memory") is not None:
        memory = params["memory"]
        desired["memory"] = ps.parse_int(memory, "memory") if not isinstance(memory, dict) else \
            _sub_values("memory", "memory", memory, MEMORY_SCHEMA).get("current")
    for key, low in (("memory", 16), ("cores", 1), ("sockets", 1), ("vcpus", 1), ("balloon", 0), ("cpuunits", 1)):
        if desired.get(key) is not None and desired[key] < low:
            raise invalid_argument(key, "must be at least %d" % low)
    for key, schema in (("cpu", CPU_SCHEMA), ("machine", MACHINE_SCHEMA), ("agent", AGENT_SCHEMA)):
        if params.get(key) is not None:
            desired[key] = _propstring_option(key, params[key], schema)
    for key, value in pve_model.indexed("net", params.get("net"), "net", MAX_NET).items():
        desired[key] = _net_from_param(key, value)
    for key, value in pve_model.indexed("ipconfig", params.get("ipconfig"), "ipconfig", MAX_NET).items():
        desired[key] = _ipconfig_from_param(key, value)
    disks = params.get("disks")
    if disks is not None and not isinstance(disks, dict):
        raise invalid_argument("disks", "expected a dict keyed scsi0, virtio0, sata0, ide2 ...")
    for key, disk in (disks or {}).items():
        desired[key] = _disk_from_param(str(key), disk)
    if params.get("boot") is not None:
        boot = params["boot"]
        if isinstance(boot, str):  # "order=scsi0;net0" as Proxmox prints it, or "scsi0;net0"
            boot = ps.parse_list(boot[6:] if boot.startswith("order=") else boot, r"[;,\s]+")
        if not isinstance(boot, (list, tuple)):
            raise invalid_argument("boot", "expected a list of devices such as [scsi0, net0], got %r" % (boot,))
        devices = [str(dev) for dev in boot]
        for dev in devices:
            if not BOOT_DEVICE_RE.fullmatch(dev):
                raise invalid_argument("boot", "%r is not a boot device (a disk such as scsi0, a netN, hostpciN or usbN)" % (dev,))
        desired["boot"] = devices
    if params.get("sshkeys") is not None:
        keys = params["sshkeys"]
        keys = keys if isinstance(keys, list) else str(keys).split("\n")
        desired["sshkeys"] = [inputcheck.no_control_chars("sshkeys", str(k).strip()) for k in keys if str(k).strip()]
    if params.get("cipassword") is not None:
        desired["cipassword"] = inputcheck.no_control_chars("cipassword", str(params["cipassword"]))
    return desired


# ---------------------------------------------------------------------------
# Flat canonical config -> the module's input shape.

def _indexed_list(items, prefix_len):
    """``{net0: a, net2: b}`` -> ``[a, b]`` with ``id`` on each item when the indexes have gaps."""
    ordered = sorted(items.items(), key=lambda item: int(item[0][prefix_len:]))
    gaps = [int(key[prefix_len:]) for key, _value in ordered] != list(range(len(ordered)))
    return [dict(copy.deepcopy(value), id=int(key[prefix_len:])) if gaps else copy.deepcopy(value) for key, value in ordered]


def public(flat, with_secrets=False):
    """Flat canonical config -> ``(config, extra)``: ``config`` in the module's input shape (``net`` and
    ``ipconfig`` lists, ``disks`` dict, ``cpu``/``machine`` strings), ``extra`` everything else
    (``unusedN``, ``template``, keys the module does not manage).  ``cipassword`` appears only
    ``with_secrets`` (for a diff that masks it)."""
    config = {}
    extra = {}
    nets, ipconfigs, disks = {}, {}, {}
    for key, value in flat.items():
        if is_net(key):
            nets[key] = value
        elif is_ipconfig(key):
            ipconfigs[key] = value
        elif is_disk(key):
            disks[key] = dict((k, v) for k, v in value.items() if k != "storage")
        elif key in ("cpu", "machine"):
            config[key] = value_to_raw(key, value)
        elif key in SECRET_KEYS:
            if with_secrets:
                config[key] = value
        elif key in CONFIG_OPTIONS:
            config[key] = copy.deepcopy(value)
        else:
            extra[key] = copy.deepcopy(value)
    if nets:
        config["net"] = _indexed_list(nets, 3)
    if ipconfigs:
        config["ipconfig"] = _indexed_list(ipconfigs, 8)
    if disks:
        config["disks"] = dict(sorted(copy.deepcopy(disks).items()))
    return config, extra
